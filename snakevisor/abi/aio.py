"""Linux native AIO (io_setup/io_submit/io_getevents): struct iocb, struct io_event, the
IOCB_CMD_* opcodes and IOCB_FLAG_* flags (<linux/aio_abi.h>)."""
import struct

IOCB = struct.Struct("<QIiHhIQQqQII")     # data, key, rw_flags, opcode, reqprio, fildes, buf, nbytes, offset,
#                                         reserved2, flags, resfd
IO_EVENT = struct.Struct("<QQqq")         # data, obj (the iocb's address), res, res2
IOCB_CMD_PREAD, IOCB_CMD_PWRITE, IOCB_CMD_FSYNC, IOCB_CMD_FDSYNC = 0, 1, 2, 3
IOCB_CMD_POLL, IOCB_CMD_NOOP, IOCB_CMD_PREADV, IOCB_CMD_PWRITEV = 5, 6, 7, 8
IOCB_FLAG_RESFD, IOCB_FLAG_IOPRIO = 1, 2
