"""9P2000.L protocol constants: message type numbers, qid types, getattr/setattr
masks, lopen flags, lock constants and the version strings we speak.

Values are those of the Linux kernel's include/net/9p/9p.h (the de-facto
specification of 9P2000.L).
"""

# Version strings.  "9P2000.L.snakevisor" negotiates host-fd donation (see
# p9/client.py); "9P2000.L.Google.N" is what gVisor's Go client sends.
VERSION_9P2000L = b"9P2000.L"
VERSION_SNAKEVISOR = b"9P2000.L.snakevisor"
VERSION_GOOGLE_PREFIX = b"9P2000.L.Google."
VERSION_UNKNOWN = b"unknown"

NOTAG = 0xFFFF
NOFID = 0xFFFFFFFF
NONUNAME = 0xFFFFFFFF

HEADER_SIZE = 7          # size[4] type[1] tag[2]
IOHDRSZ = 24             # room for a Tread/Twrite header (23) rounded as Linux does
READ_REPLY_OVERHEAD = 11  # Rread/Rreaddir: size[4] type[1] tag[2] count[4]
MAXWELEM = 16            # most names in one Twalk
MIN_MSIZE = 4096
DEFAULT_MSIZE = 1 << 20

# Message types (T = request, R = reply = T + 1).
TLERROR, RLERROR = 6, 7
TSTATFS, RSTATFS = 8, 9
TLOPEN, RLOPEN = 12, 13
TLCREATE, RLCREATE = 14, 15
TSYMLINK, RSYMLINK = 16, 17
TMKNOD, RMKNOD = 18, 19
TRENAME, RRENAME = 20, 21
TREADLINK, RREADLINK = 22, 23
TGETATTR, RGETATTR = 24, 25
TSETATTR, RSETATTR = 26, 27
TXATTRWALK, RXATTRWALK = 30, 31
TXATTRCREATE, RXATTRCREATE = 32, 33
TREADDIR, RREADDIR = 40, 41
TFSYNC, RFSYNC = 50, 51
TLOCK, RLOCK = 52, 53
TGETLOCK, RGETLOCK = 54, 55
TLINK, RLINK = 70, 71
TMKDIR, RMKDIR = 72, 73
TRENAMEAT, RRENAMEAT = 74, 75
TUNLINKAT, RUNLINKAT = 76, 77
TVERSION, RVERSION = 100, 101
TAUTH, RAUTH = 102, 103
TATTACH, RATTACH = 104, 105
TFLUSH, RFLUSH = 108, 109
TWALK, RWALK = 110, 111
TREAD, RREAD = 116, 117
TWRITE, RWRITE = 118, 119
TCLUNK, RCLUNK = 120, 121
TREMOVE, RREMOVE = 122, 123
# snakevisor extension (only in the "9P2000.L.snakevisor" dialect): the qids of a walk, no fid bound.
TWALKQIDS, RWALKQIDS = 128, 129
# snakevisor extension: Trenameat with renameat2(2)'s flags (RENAME_NOREPLACE, RENAME_EXCHANGE).
TRENAMEAT2, RRENAMEAT2 = 130, 131
# snakevisor extension (directfs): Twalk whose reply carries an O_PATH descriptor of the file walked to.
TWALKFD, RWALKFD = 132, 133
# snakevisor extension (directfs on shared mounts): the mount's inotify descriptor, donated once.
TNOTIFYFD, RNOTIFYFD = 134, 135

# Qid types (high byte of the Plan 9 mode).
QTDIR = 0x80
QTAPPEND = 0x40
QTEXCL = 0x20
QTMOUNT = 0x10
QTAUTH = 0x08
QTTMP = 0x04
QTSYMLINK = 0x02
QTLINK = 0x01
QTFILE = 0x00

# Tgetattr request mask / Rgetattr valid mask.
GETATTR_MODE = 0x00000001
GETATTR_NLINK = 0x00000002
GETATTR_UID = 0x00000004
GETATTR_GID = 0x00000008
GETATTR_RDEV = 0x00000010
GETATTR_ATIME = 0x00000020
GETATTR_MTIME = 0x00000040
GETATTR_CTIME = 0x00000080
GETATTR_INO = 0x00000100
GETATTR_SIZE = 0x00000200
GETATTR_BLOCKS = 0x00000400
GETATTR_BTIME = 0x00000800
GETATTR_GEN = 0x00001000
GETATTR_DATA_VERSION = 0x00002000
GETATTR_BASIC = 0x000007FF
GETATTR_ALL = 0x00003FFF

# Tsetattr valid mask.
SETATTR_MODE = 0x00000001
SETATTR_UID = 0x00000002
SETATTR_GID = 0x00000004
SETATTR_SIZE = 0x00000008
SETATTR_ATIME = 0x00000010
SETATTR_MTIME = 0x00000020
SETATTR_CTIME = 0x00000040
SETATTR_ATIME_SET = 0x00000080
SETATTR_MTIME_SET = 0x00000100

# Tlopen/Tlcreate flags (P9_DOTL_*): numerically identical to Linux x86_64 O_*.
DOTL_RDONLY = 0o0
DOTL_WRONLY = 0o1
DOTL_RDWR = 0o2
DOTL_NOACCESS = 0o3
DOTL_ACCMODE = 0o3
DOTL_CREATE = 0o100
DOTL_EXCL = 0o200
DOTL_NOCTTY = 0o400
DOTL_TRUNC = 0o1000
DOTL_APPEND = 0o2000
DOTL_NONBLOCK = 0o4000
DOTL_DSYNC = 0o10000
DOTL_FASYNC = 0o20000
DOTL_DIRECT = 0o40000
DOTL_LARGEFILE = 0o100000
DOTL_DIRECTORY = 0o200000
DOTL_NOFOLLOW = 0o400000
DOTL_NOATIME = 0o1000000
DOTL_CLOEXEC = 0o2000000
DOTL_SYNC = 0o4000000
# snakevisor dialect only: Tlcreate with an empty name makes an unnamed file (the host's O_TMPFILE).
DOTL_TMPFILE = 0o20000000

# Tunlinkat flags.
AT_REMOVEDIR = 0x200

# Tlock / Tgetlock.
LOCK_TYPE_RDLCK = 0
LOCK_TYPE_WRLCK = 1
LOCK_TYPE_UNLCK = 2
LOCK_FLAGS_BLOCK = 1
LOCK_FLAGS_RECLAIM = 2
LOCK_SUCCESS = 0
LOCK_BLOCKED = 1
LOCK_ERROR = 2
LOCK_GRACE = 3

# Txattrcreate flags beyond XATTR_CREATE/XATTR_REPLACE, in the snakevisor dialect only: plain
# 9P2000.L takes a size-0 xattrcreate as a removal, so an empty value needs saying.
XATTR_SET_EMPTY = 0x10000
