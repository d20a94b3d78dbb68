"""The LSM syscalls' ABI (<linux/lsm.h>, Linux 6.8): module ids, attributes, struct lsm_ctx."""
import struct

LSM_ID_CAPABILITY = 100
LSM_ID_LANDLOCK = 110
LSM_FLAG_SINGLE = 1
LSM_CTX = struct.Struct("<QQQQ")   # struct lsm_ctx {u64 id; u64 flags; u64 len; u64 ctx_len; u8 ctx[];}
