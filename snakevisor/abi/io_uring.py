"""io_uring (<linux/io_uring.h>): struct io_uring_params and its ring offsets, struct io_uring_sqe,
struct io_uring_cqe, the probe and getevents-arg layouts, and the IORING_* / IOSQE_* constants."""
import struct

# struct io_uring_params: sq_entries, cq_entries, flags, sq_thread_cpu, sq_thread_idle, features,
# wq_fd, resv[3], then struct io_sqring_offsets and struct io_cqring_offsets (10 u32 each, the
# last two a u64 user_addr).
PARAMS = struct.Struct("<10I")
SQRING_OFFSETS = struct.Struct("<7IIQ")   # head, tail, ring_mask, ring_entries, flags, dropped, array, resv1, user_addr
CQRING_OFFSETS = struct.Struct("<7IIQ")   # head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1, user_addr
PARAMS_SIZE = PARAMS.size + SQRING_OFFSETS.size + CQRING_OFFSETS.size   # 120

# struct io_uring_sqe: opcode, flags, ioprio, fd, off (addr2), addr, len, op flags (rw_flags,
# fsync_flags, poll32_events, timeout_flags, open_flags, statx_flags...), user_data,
# buf_index, personality, splice_fd_in (file_index), addr3, pad.
SQE = struct.Struct("<BBHiQQIIQHHiQQ")
CQE = struct.Struct("<QiI")               # user_data, res, flags
GETEVENTS_ARG = struct.Struct("<QIIQ")    # sigmask, sigmask_sz, pad, ts
PROBE_HEADER = struct.Struct("<BBH3I")    # last_op, ops_len, resv, resv2[3]
PROBE_OP = struct.Struct("<BBHI")         # op, resv, flags, resv2
RSRC_REGISTER = struct.Struct("<IIQQQ")   # struct io_uring_rsrc_register: nr, flags, resv2, data, tags
RSRC_UPDATE2 = struct.Struct("<IIQQII")   # struct io_uring_rsrc_update2: offset, resv, data, tags, nr, resv2
IORING_RSRC_REGISTER_SPARSE = 1
IORING_REGISTER_FILES_SKIP = -2
IO_URING_OP_SUPPORTED = 1

IORING_MAX_ENTRIES = 32768
IORING_MAX_CQ_ENTRIES = 2 * IORING_MAX_ENTRIES
IORING_MAX_REG_BUFFERS = 1 << 14
IORING_MAX_FIXED_FILES = 1 << 15
UIO_MAXIOV = 1024

IORING_OFF_SQ_RING = 0
IORING_OFF_CQ_RING = 0x8000000
IORING_OFF_SQES = 0x10000000
IORING_OFF_MMAP_MASK = 0xF8000000

# setup flags
IORING_SETUP_IOPOLL = 1 << 0
IORING_SETUP_SQPOLL = 1 << 1
IORING_SETUP_SQ_AFF = 1 << 2
IORING_SETUP_CQSIZE = 1 << 3
IORING_SETUP_CLAMP = 1 << 4
IORING_SETUP_ATTACH_WQ = 1 << 5
IORING_SETUP_R_DISABLED = 1 << 6
IORING_SETUP_SUBMIT_ALL = 1 << 7
IORING_SETUP_COOP_TASKRUN = 1 << 8
IORING_SETUP_SINGLE_ISSUER = 1 << 12

# features
IORING_FEAT_SINGLE_MMAP = 1 << 0
IORING_FEAT_NODROP = 1 << 1
IORING_FEAT_SUBMIT_STABLE = 1 << 2
IORING_FEAT_RW_CUR_POS = 1 << 3
IORING_FEAT_FAST_POLL = 1 << 5
IORING_FEAT_POLL_32BITS = 1 << 6
IORING_FEAT_SQPOLL_NONFIXED = 1 << 7
IORING_FEAT_EXT_ARG = 1 << 8
IORING_FEAT_RSRC_TAGS = 1 << 10
IORING_FEAT_CQE_SKIP = 1 << 11

# io_uring_enter flags
IORING_ENTER_GETEVENTS = 1 << 0
IORING_ENTER_SQ_WAKEUP = 1 << 1
IORING_ENTER_SQ_WAIT = 1 << 2
IORING_ENTER_EXT_ARG = 1 << 3

# cq_ring flags (the application's)
IORING_CQ_EVENTFD_DISABLED = 1 << 0
# sq_ring flags
IORING_SQ_NEED_WAKEUP = 1 << 0
IORING_SQ_CQ_OVERFLOW = 1 << 1

# sqe flags
IOSQE_FIXED_FILE = 1 << 0
IOSQE_IO_DRAIN = 1 << 1
IOSQE_IO_LINK = 1 << 2
IOSQE_IO_HARDLINK = 1 << 3
IOSQE_ASYNC = 1 << 4
IOSQE_BUFFER_SELECT = 1 << 5
IOSQE_CQE_SKIP_SUCCESS = 1 << 6
IOSQE_VALID = (1 << 7) - 1

# opcodes (enum io_uring_op)
(IORING_OP_NOP, IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC, IORING_OP_READ_FIXED, IORING_OP_WRITE_FIXED,
 IORING_OP_POLL_ADD, IORING_OP_POLL_REMOVE, IORING_OP_SYNC_FILE_RANGE, IORING_OP_SENDMSG, IORING_OP_RECVMSG,
 IORING_OP_TIMEOUT, IORING_OP_TIMEOUT_REMOVE, IORING_OP_ACCEPT, IORING_OP_ASYNC_CANCEL, IORING_OP_LINK_TIMEOUT,
 IORING_OP_CONNECT, IORING_OP_FALLOCATE, IORING_OP_OPENAT, IORING_OP_CLOSE, IORING_OP_FILES_UPDATE,
 IORING_OP_STATX, IORING_OP_READ, IORING_OP_WRITE) = range(24)
IORING_OP_CONNECT, IORING_OP_SEND, IORING_OP_RECV = 16, 26, 27
IORING_OP_SENDMSG, IORING_OP_RECVMSG = 9, 10
IORING_OP_SYNC_FILE_RANGE, IORING_OP_FALLOCATE, IORING_OP_FADVISE, IORING_OP_MADVISE = 8, 17, 24, 25
IORING_OP_SHUTDOWN, IORING_OP_RENAMEAT, IORING_OP_UNLINKAT, IORING_OP_MKDIRAT = 34, 35, 36, 37
IORING_OP_SYMLINKAT, IORING_OP_LINKAT = 38, 39
IORING_OP_EPOLL_CTL, IORING_OP_FILES_UPDATE = 29, 20
IORING_OP_LAST = 49   # IORING_OP_SENDMSG_ZC + 1 (Linux 6.1's uapi)

IORING_FSYNC_DATASYNC = 1 << 0
IORING_TIMEOUT_ABS = 1 << 0
IORING_POLL_ADD_MULTI = 1 << 0
IORING_CQE_F_MORE = 1 << 1

# io_uring_register opcodes
IORING_REGISTER_BUFFERS = 0
IORING_UNREGISTER_BUFFERS = 1
IORING_REGISTER_FILES = 2
IORING_UNREGISTER_FILES = 3
IORING_REGISTER_EVENTFD = 4
IORING_UNREGISTER_EVENTFD = 5
IORING_REGISTER_FILES_UPDATE = 6
IORING_REGISTER_EVENTFD_ASYNC = 7
IORING_REGISTER_PROBE = 8
IORING_REGISTER_ENABLE_RINGS = 12
IORING_REGISTER_FILES2, IORING_REGISTER_FILES_UPDATE2 = 13, 14
IORING_REGISTER_BUFFERS2, IORING_REGISTER_BUFFERS_UPDATE = 15, 16
