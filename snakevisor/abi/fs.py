"""Linux x86_64 filesystem ABI: open/at/stat/fcntl/ioctl constants and struct layouts.

Owns every constant and packed structure the VFS and the fs/file syscalls
exchange with applications: O_*, AT_*, S_IF*, DT_*, F_*, SEEK_*, RENAME_*,
UTIME_*, filesystem magics, terminal/file ioctl numbers, poll bits, and the
packers for struct stat (144 bytes), statx (256), linux_dirent64 /
linux_dirent, statfs (120), timespec/timeval and struct flock. Also the
helpers that decode raw 64-bit register values into signed C ints.
"""
import ctypes
import struct
from dataclasses import dataclass

# --- register decoding -------------------------------------------------------


def to_s32(x: int) -> int:
    """A register's low 32 bits as a signed C int (dirfd AT_FDCWD arrives as 0xffffffffffffff9c)."""
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x & 0x80000000 else x


def to_u32(x: int) -> int:
    return x & 0xFFFFFFFF


def to_s64(x: int) -> int:
    """A register as a signed 64-bit value (off_t, ssize_t, long)."""
    x &= 0xFFFFFFFFFFFFFFFF
    return x - (1 << 64) if x & (1 << 63) else x


to_int = to_s32

# --- limits --------------------------------------------------------------------
PATH_MAX = 4096          # including the NUL: a path may hold 4095 bytes
NAME_MAX = 255
SYMLOOP_MAX = 40
MAX_RW_COUNT = 0x7FFFF000
LOFF_MAX = (1 << 63) - 1   # the largest file position (loff_t)
IOV_MAX = 1024

# --- open(2) flags ---------------------------------------------------------------
O_RDONLY = 0
O_WRONLY = 0o1
O_RDWR = 0o2
O_ACCMODE = 0o3
O_CREAT = 0o100
O_EXCL = 0o200
O_NOCTTY = 0o400
O_TRUNC = 0o1000
O_APPEND = 0o2000
O_NONBLOCK = 0o4000
O_DSYNC = 0o10000
O_ASYNC = FASYNC = 0o20000
O_DIRECT = 0o40000
O_LARGEFILE = 0o100000
O_DIRECTORY = 0o200000
O_NOFOLLOW = 0o400000
O_NOATIME = 0o1000000
O_CLOEXEC = 0o2000000
__O_SYNC = 0o4000000
O_SYNC = __O_SYNC | O_DSYNC
O_PATH = 0o10000000
__O_TMPFILE = 0o20000000
O_TMPFILE = __O_TMPFILE | O_DIRECTORY
O_NDELAY = O_NONBLOCK

# Every flag open(2) knows (openat2 refuses any other bit); O_LARGEFILE is always set on x86_64.
VALID_OPEN_FLAGS = (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC
                    | O_ASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC
                    | __O_SYNC | O_PATH | __O_TMPFILE)
# openat2(2): struct open_how (flags, mode, resolve) and its RESOLVE_* flags.
OPEN_HOW_SIZE_VER0 = 24
RESOLVE_NO_XDEV, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS = 0x01, 0x02, 0x04
RESOLVE_BENEATH, RESOLVE_IN_ROOT, RESOLVE_CACHED = 0x08, 0x10, 0x20
RESOLVE_ALL = 0x3F

# Flags that only matter at open time and are not kept in the description.
O_OPEN_ONLY = O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC
# Status flags F_SETFL may change (the rest of its argument is ignored).
O_SETFL_MASK = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME
# Flags kept on an O_PATH description (the rest are ignored by open).
O_PATH_KEEP = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC

# --- *at(2) flags ------------------------------------------------------------------
AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_EACCESS = 0x200
AT_REMOVEDIR = 0x200
AT_SYMLINK_FOLLOW = 0x400
AT_NO_AUTOMOUNT = 0x800
AT_EMPTY_PATH = 0x1000
# name_to_handle_at(2) flags, and struct file_handle's limits (include/linux/exportfs.h).
AT_HANDLE_MNT_ID_UNIQUE = 0x001
AT_HANDLE_CONNECTABLE = 0x002
AT_HANDLE_FID = 0x200
MAX_HANDLE_SZ = 128
FILEID_INVALID = 255
AT_STATX_SYNC_TYPE = 0x6000
AT_STATX_FORCE_SYNC = 0x2000
AT_STATX_DONT_SYNC = 0x4000
AT_RECURSIVE = 0x8000

# --- access(2) -------------------------------------------------------------------------
F_OK = 0
X_OK = 1
W_OK = 2
R_OK = 4

# --- file types and mode bits --------------------------------------------------------
S_IFMT = 0o170000
S_IFSOCK = 0o140000
S_IFLNK = 0o120000
S_IFREG = 0o100000
S_IFBLK = 0o060000
S_IFDIR = 0o040000
S_IFCHR = 0o020000
S_IFIFO = 0o010000
S_ISUID = 0o4000
S_ISGID = 0o2000
S_ISVTX = 0o1000
S_IXGRP = 0o010
S_IRWXUGO = 0o777
S_IALLUGO = 0o7777
S_IXUGO = 0o111

DT_UNKNOWN = 0
DT_FIFO = 1
DT_CHR = 2
DT_DIR = 4
DT_BLK = 6
DT_REG = 8
DT_LNK = 10
DT_SOCK = 12


def S_ISDIR(m): return m & S_IFMT == S_IFDIR
def S_ISREG(m): return m & S_IFMT == S_IFREG
def S_ISLNK(m): return m & S_IFMT == S_IFLNK
def S_ISCHR(m): return m & S_IFMT == S_IFCHR
def S_ISBLK(m): return m & S_IFMT == S_IFBLK
def S_ISFIFO(m): return m & S_IFMT == S_IFIFO
def S_ISSOCK(m): return m & S_IFMT == S_IFSOCK


def dtype_of(mode: int) -> int:
    """The DT_* value of an S_IF* mode (they are the type bits shifted down)."""
    return (mode & S_IFMT) >> 12

# --- fcntl(2) ------------------------------------------------------------------------------
F_DUPFD = 0
F_GETFD = 1
F_SETFD = 2
F_GETFL = 3
F_SETFL = 4
F_GETLK = 5
F_SETLK = 6
F_SETLKW = 7
F_SETOWN = 8
F_GETOWN = 9
F_SETSIG = 10
F_GETSIG = 11
F_SETOWN_EX = 15
F_GETOWN_EX = 16
F_OWNER_TID, F_OWNER_PID, F_OWNER_PGRP = 0, 1, 2   # struct f_owner_ex's type
F_OFD_GETLK = 36
F_OFD_SETLK = 37
F_OFD_SETLKW = 38
F_SETLEASE = 1024
F_GETLEASE = 1025
F_NOTIFY = 1026
DN_ACCESS, DN_MODIFY, DN_CREATE, DN_DELETE, DN_RENAME, DN_ATTRIB = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20   # F_NOTIFY
DN_MULTISHOT = 0x80000000
F_DUPFD_CLOEXEC = 1030
F_SETPIPE_SZ = 1031
F_GETPIPE_SZ = 1032
F_ADD_SEALS = 1033
F_GET_SEALS = 1034
F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE, F_SEAL_FUTURE_WRITE, F_SEAL_EXEC = 1, 2, 4, 8, 0x10, 0x20
FD_CLOEXEC = 1
F_RDLCK = 0
F_WRLCK = 1
F_UNLCK = 2

LOCK_SH = 1
LOCK_EX = 2
LOCK_NB = 4
LOCK_UN = 8

# struct flock: short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid.
FLOCK = struct.Struct("<hh4xqqi4x")

# --- lseek(2) --------------------------------------------------------------------------------
SEEK_SET = 0
SEEK_CUR = 1
SEEK_END = 2
SEEK_DATA = 3
SEEK_HOLE = 4

# --- renameat2(2) ----------------------------------------------------------------------------
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
RENAME_WHITEOUT = 4
WHITEOUT_DEV = 0      # an overlay whiteout: a character device 0:0 (mknod needs no CAP_MKNOD, Linux >= 5.8)

# --- utimensat(2) ----------------------------------------------------------------------------
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2

# --- fallocate(2), preadv2(2), close_range(2) -------------------------------------------------
FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02
FALLOC_FL_ZERO_RANGE = 0x10
FALLOC_FL_COLLAPSE_RANGE = 0x08
FALLOC_FL_INSERT_RANGE = 0x20
RWF_HIPRI = 0x01
RWF_DSYNC = 0x02
RWF_SYNC = 0x04
RWF_NOWAIT = 0x08
RWF_APPEND = 0x10
RWF_SUPPORTED = RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND
CLOSE_RANGE_UNSHARE = 1 << 1
CLOSE_RANGE_CLOEXEC = 1 << 2

# --- extended attributes (<linux/xattr.h>, <linux/limits.h>) ------------------------------------
XATTR_CREATE, XATTR_REPLACE = 1, 2
XATTR_NAME_MAX = 255
XATTR_SIZE_MAX = 65536
XATTR_LIST_MAX = 65536
XATTR_NAME_CAPS = b"security.capability"   # file capabilities (struct vfs_cap_data)
# POSIX ACLs (<linux/posix_acl_xattr.h>): a header {u32 version} then {u16 tag, u16 perm, u32 id} entries
XATTR_NAME_POSIX_ACL_ACCESS = b"system.posix_acl_access"
XATTR_NAME_POSIX_ACL_DEFAULT = b"system.posix_acl_default"
POSIX_ACL_XATTR_VERSION = 2
ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_GROUP, ACL_MASK, ACL_OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
ACL_UNDEFINED_ID = 0xFFFFFFFF
# vfs_cap_data's first word: its revision, and the size of each revision's struct
VFS_CAP_REVISION_MASK, VFS_CAP_SIZES = 0xFF000000, {0x02000000: 20, 0x03000000: 24}
# Inode flags (chattr/lsattr, <linux/fs.h>) and their XFS-style view (struct fsxattr, struct file_attr).
FS_IOC_GETFLAGS, FS_IOC_SETFLAGS = 0x80086601, 0x40086602
FS_IOC_FSGETXATTR, FS_IOC_FSSETXATTR = 0x801C581F, 0x401C5820
FS_SYNC_FL, FS_IMMUTABLE_FL, FS_APPEND_FL, FS_NODUMP_FL, FS_NOATIME_FL = 0x8, 0x10, 0x20, 0x40, 0x80
FS_DAX_FL, FS_PROJINHERIT_FL = 0x02000000, 0x20000000
FS_COMMON_FL = FS_SYNC_FL | FS_IMMUTABLE_FL | FS_APPEND_FL | FS_NODUMP_FL | FS_NOATIME_FL | FS_DAX_FL | FS_PROJINHERIT_FL
FS_XFLAG_SYNC, FS_XFLAG_IMMUTABLE, FS_XFLAG_APPEND, FS_XFLAG_NOATIME, FS_XFLAG_NODUMP = 0x20, 0x8, 0x10, 0x40, 0x80
FS_XFLAG_DAX, FS_XFLAG_PROJINHERIT = 0x8000, 0x200
# (flag, xflag) pairs that mean the same (fileattr_fill_flags / fileattr_fill_xflags)
FS_FLAG_XFLAG = ((FS_SYNC_FL, FS_XFLAG_SYNC), (FS_IMMUTABLE_FL, FS_XFLAG_IMMUTABLE), (FS_APPEND_FL, FS_XFLAG_APPEND),
                 (FS_NODUMP_FL, FS_XFLAG_NODUMP), (FS_NOATIME_FL, FS_XFLAG_NOATIME), (FS_DAX_FL, FS_XFLAG_DAX),
                 (FS_PROJINHERIT_FL, FS_XFLAG_PROJINHERIT))
FS_XFLAG_COMMON = sum(x for _, x in FS_FLAG_XFLAG)
FSXATTR = struct.Struct("<5I8x")          # fsx_xflags, fsx_extsize, fsx_nextents, fsx_projid, fsx_cowextsize
FILE_ATTR = struct.Struct("<QIIII")       # struct file_attr (file_getattr/file_setattr, 6.17)
STATX_ATTR_IMMUTABLE, STATX_ATTR_APPEND, STATX_ATTR_NODUMP = 0x10, 0x20, 0x40
# (inode flag, statx attribute) pairs
FS_FLAG_STATX_ATTR = ((FS_IMMUTABLE_FL, STATX_ATTR_IMMUTABLE), (FS_APPEND_FL, STATX_ATTR_APPEND),
                      (FS_NODUMP_FL, STATX_ATTR_NODUMP))
CACHESTAT_RANGE = struct.Struct("<QQ")   # struct cachestat_range {u64 off; u64 len}
CACHESTAT = struct.Struct("<5Q")   # struct cachestat: nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted
XATTR_ARGS = struct.Struct("<QII")   # struct xattr_args {u64 value; u32 size; u32 flags} (*xattrat, 6.13)

# --- mount flags (MS_*) and statfs f_flags (ST_*) ------------------------------------------
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_SYNCHRONOUS = 16
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_REMOUNT = 32
MS_MANDLOCK = 64
MS_DIRSYNC = 128
MS_NOSYMFOLLOW = 256
MS_BIND = 4096
MS_REC = 16384
MS_SILENT = 32768
MS_RELATIME = 1 << 21
MS_I_VERSION = 1 << 23
MS_STRICTATIME = 1 << 24
MS_LAZYTIME = 1 << 25
MS_MOVE = 8192
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_PROPAGATION = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE
MS_MGC_VAL = 0xC0ED0000   # the old magic in the top 16 bits of mount(2)'s flags (MS_MGC_MSK)
MS_MGC_MSK = 0xFFFF0000
MNT_FORCE = 1           # umount2(2) flags
MNT_DETACH = 2
MNT_EXPIRE = 4
UMOUNT_NOFOLLOW = 8
# open_tree(2) and move_mount(2), the new mount API
OPEN_TREE_CLONE = 1
MOVE_MOUNT_F_EMPTY_PATH = 0x4
ST_RDONLY = 1
ST_NOSUID = 2
ST_NODEV = 4
ST_NOEXEC = 8
ST_SYNCHRONOUS = 16
ST_NOATIME = 1024
ST_NODIRATIME = 2048
ST_RELATIME = 4096

# --- filesystem magics (statfs f_type) ---------------------------------------------------------
TMPFS_MAGIC = 0x01021994
RAMFS_MAGIC = 0x858458F6
DEVPTS_SUPER_MAGIC = 0x1CD1
PROC_SUPER_MAGIC = 0x9FA0
SYSFS_MAGIC = 0x62656572
V9FS_MAGIC = 0x01021997
PIPEFS_MAGIC = 0x50495045
SOCKFS_MAGIC = 0x534F434B
ANON_INODE_FS_MAGIC = 0x09041934
NSFS_MAGIC = 0x6E736673
MQUEUE_MAGIC = 0x19800202
CGROUP2_SUPER_MAGIC = 0x63677270
# /proc/PID/ns entries and their inode numbers: Linux's initial namespaces' (include/linux/proc_ns.h;
# net and mnt take the first dynamic ones), since the sandbox's are its kernel's first.
PROC_NS_INODES = {"cgroup": 0xEFFFFFFB, "ipc": 0xEFFFFFFF, "mnt": 0xF0000001, "net": 0xF0000000,
                  "pid": 0xEFFFFFFC, "pid_for_children": 0xEFFFFFFC, "time": 0xEFFFFFFA,
                  "time_for_children": 0xEFFFFFFA, "user": 0xEFFFFFFD, "uts": 0xEFFFFFFE}

# --- ioctl numbers (terminal and generic file) --------------------------------------------------
TCGETS = 0x5401
TCSETS = 0x5402
TCSETSW = 0x5403
TCSETSF = 0x5404
TIOCSCTTY = 0x540E
TIOCGPGRP = 0x540F
TIOCSPGRP = 0x5410
TIOCOUTQ = 0x5411
TIOCGWINSZ = 0x5413
TIOCSWINSZ = 0x5414
FIONREAD = 0x541B
TIOCINQ = FIONREAD
TIOCNOTTY = 0x5422
FIONBIO = 0x5421
FIOASYNC = 0x5452
FIOSETOWN, SIOCSPGRP, FIOGETOWN, SIOCGPGRP = 0x8901, 0x8902, 0x8903, 0x8904   # sockets' F_SETOWN/F_GETOWN
FIONCLEX = 0x5450
FIOCLEX = 0x5451
TIOCGPTN = 0x80045430
TERMIOS_SIZE = 36   # struct termios as TCGETS copies it (kernel layout, not glibc's)
WINSIZE_SIZE = 8

# --- poll(2) bits (also the readiness masks of FileDescription) --------------------------------
POLLIN = 0x001
POLLPRI = 0x002
POLLOUT = 0x004
POLLERR = 0x008
POLLHUP = 0x010
POLLNVAL = 0x020
POLLRDNORM = 0x040
POLLRDBAND = 0x080
POLLWRNORM = 0x100
POLLWRBAND = 0x200
POLLRDHUP = 0x2000

# /dev/random and /dev/urandom ioctls (<linux/random.h>)
RNDGETENTCNT, RNDADDTOENTCNT, RNDADDENTROPY = 0x80045200, 0x40045201, 0x40085203
RNDZAPENTCNT, RNDCLEARPOOL, RNDRESEEDCRNG = 0x5204, 0x5206, 0x5207

# --- device numbers ------------------------------------------------------------------------------
MEM_MAJOR = 1   # /dev/null, zero, full, random, urandom (<linux/major.h>)


def makedev(major: int, minor: int) -> int:
    """glibc's 64-bit dev_t encoding (what struct stat carries)."""
    return (((major & 0xFFFFF000) << 32) | ((major & 0xFFF) << 8)
            | ((minor & 0xFFFFFF00) << 12) | (minor & 0xFF))


def dev_major(dev: int) -> int:
    return ((dev >> 32) & 0xFFFFF000) | ((dev >> 8) & 0xFFF)


def dev_minor(dev: int) -> int:
    return ((dev >> 12) & 0xFFFFFF00) | (dev & 0xFF)

# --- struct stat / statx ---------------------------------------------------------------------


@dataclass
class StatResult:
    """Everything struct stat and struct statx report; times are nanoseconds since the epoch."""
    dev: int = 0
    ino: int = 0
    nlink: int = 1
    mode: int = 0
    uid: int = 0
    gid: int = 0
    rdev: int = 0
    size: int = 0
    blksize: int = 4096
    blocks: int = 0
    atime_ns: int = 0
    mtime_ns: int = 0
    ctime_ns: int = 0
    btime_ns: int | None = None   # None: no birth time (statx leaves STATX_BTIME out)
    mnt_id: int = 0
    attributes: int = 0
    attributes_mask: int = 0      # the STATX_ATTR_* bits this filesystem can report


# <asm/stat.h> x86_64: dev, ino, nlink (u64); mode, uid, gid (u32); pad; rdev (u64);
# size, blksize, blocks (s64); atime, atime_nsec, mtime, ..., ctime_nsec; 3 unused longs.
STAT = struct.Struct("<QQQIIIiQqqqQQQQQQ3q")
assert STAT.size == 144


def pack_stat(st: StatResult) -> bytes:
    # divmod inline, not a helper: every stat(2) packs three times.
    a, an = divmod(st.atime_ns, 1_000_000_000)
    m, mn = divmod(st.mtime_ns, 1_000_000_000)
    c, cn = divmod(st.ctime_ns, 1_000_000_000)
    return STAT.pack(st.dev & (2**64 - 1), st.ino & (2**64 - 1), st.nlink, st.mode & 0xFFFFFFFF,
                     st.uid & 0xFFFFFFFF, st.gid & 0xFFFFFFFF, 0, st.rdev & (2**64 - 1), st.size,
                     st.blksize, st.blocks, a & (2**64 - 1), an, m & (2**64 - 1), mn, c & (2**64 - 1), cn,
                     0, 0, 0)


STATX_TYPE = 0x1
STATX_MODE = 0x2
STATX_NLINK = 0x4
STATX_UID = 0x8
STATX_GID = 0x10
STATX_ATIME = 0x20
STATX_MTIME = 0x40
STATX_CTIME = 0x80
STATX_INO = 0x100
STATX_SIZE = 0x200
STATX_BLOCKS = 0x400
STATX_BASIC_STATS = 0x7FF
STATX_BTIME = 0x800
STATX_MNT_ID = 0x1000
STATX__RESERVED = 0x80000000

# struct statx: mask, blksize (u32); attributes (u64); nlink, uid, gid (u32); mode (u16), pad;
# ino, size, blocks, attributes_mask (u64); atime, btime, ctime, mtime (statx_timestamp:
# s64 sec, u32 nsec, s32 pad); rdev_major/minor, dev_major/minor (u32); mnt_id (u64); spare.
STATX_HEAD = struct.Struct("<IIQIIIH2xQQQQqI4xqI4xqI4xqI4xIIIIQ")
STATX_SIZE_BYTES = 256
STATX = struct.Struct(STATX_HEAD.format + f"{STATX_SIZE_BYTES - STATX_HEAD.size}x")   # the whole struct, spare zeroed


def pack_statx(st: StatResult, mask: int = STATX_BASIC_STATS | STATX_MNT_ID) -> bytes:
    """struct statx of ``st``; STATX_BTIME joins ``mask`` when ``st`` has a birth time."""
    btime = st.btime_ns
    if btime is not None:
        mask |= STATX_BTIME
    # As pack_stat, divmod inline, and the spare bytes packed with the rest: ls statx-es every file.
    a, an = divmod(st.atime_ns, 1_000_000_000)
    b, bn = divmod(btime or 0, 1_000_000_000)
    c, cn = divmod(st.ctime_ns, 1_000_000_000)
    m, mn = divmod(st.mtime_ns, 1_000_000_000)
    rdev, dev = st.rdev, st.dev
    return STATX.pack(mask, st.blksize, st.attributes, st.nlink & 0xFFFFFFFF, st.uid & 0xFFFFFFFF,
                      st.gid & 0xFFFFFFFF, st.mode & 0xFFFF, st.ino & (2**64 - 1), st.size, st.blocks,
                      st.attributes_mask,
                      a, an, b, bn, c, cn, m, mn,
                      dev_major(rdev) if rdev else 0, dev_minor(rdev) if rdev else 0, dev_major(dev), dev_minor(dev),
                      st.mnt_id)

# --- directory entries -----------------------------------------------------------------------


DIRENT64_HEAD = struct.Struct("<QqHB")   # d_ino, d_off, d_reclen, d_type, then d_name NUL-terminated
DIRENT_HEAD = struct.Struct("<QQH")      # old linux_dirent: d_ino, d_off, d_reclen, d_name, pad, d_type last


def _align8(n: int) -> int:
    return (n + 7) & ~7


def dirent64_reclen(name: bytes) -> int:
    return _align8(DIRENT64_HEAD.size + len(name) + 1)


def pack_dirent64(ino: int, off: int, dtype: int, name: bytes) -> bytes:
    reclen = dirent64_reclen(name)
    rec = DIRENT64_HEAD.pack(ino & (2**64 - 1), off, reclen, dtype) + name
    return rec + bytes(reclen - len(rec))


def dirent_reclen(name: bytes) -> int:
    return _align8(DIRENT_HEAD.size + len(name) + 2)  # NUL, then d_type in the last byte


def pack_dirent(ino: int, off: int, dtype: int, name: bytes) -> bytes:
    reclen = dirent_reclen(name)
    rec = DIRENT_HEAD.pack(ino & (2**64 - 1), off, reclen) + name
    return rec + bytes(reclen - len(rec) - 1) + bytes((dtype,))

# --- statfs ------------------------------------------------------------------------------------


@dataclass
class StatfsResult:
    type: int = TMPFS_MAGIC
    bsize: int = 4096
    blocks: int = 0
    bfree: int = 0
    bavail: int = 0
    files: int = 0
    ffree: int = 0
    fsid: tuple = (0, 0)
    namelen: int = NAME_MAX
    frsize: int = 4096
    flags: int = 0


# struct statfs x86_64: f_type, f_bsize (long); blocks, bfree, bavail, files, ffree (u64);
# f_fsid (2 ints); f_namelen, f_frsize, f_flags, f_spare[4] (long).
STATFS = struct.Struct("<qqQQQQQiiqqq4q")
assert STATFS.size == 120


class Statfs(ctypes.Structure):   # the same struct statfs, for host calls (fstatfs)
    _fields_ = [("f_type", ctypes.c_long), ("f_bsize", ctypes.c_long),
                ("f_blocks", ctypes.c_uint64), ("f_bfree", ctypes.c_uint64),
                ("f_bavail", ctypes.c_uint64), ("f_files", ctypes.c_uint64),
                ("f_ffree", ctypes.c_uint64), ("f_fsid", ctypes.c_int * 2),
                ("f_namelen", ctypes.c_long), ("f_frsize", ctypes.c_long),
                ("f_flags", ctypes.c_long), ("f_spare", ctypes.c_long * 4)]


def pack_statfs(s: StatfsResult) -> bytes:
    return STATFS.pack(s.type, s.bsize, s.blocks, s.bfree, s.bavail, s.files, s.ffree,
                       s.fsid[0], s.fsid[1], s.namelen, s.frsize, s.flags, 0, 0, 0, 0)

# --- time structures -----------------------------------------------------------------------------


TIMESPEC = struct.Struct("<qq")   # tv_sec, tv_nsec
TIMEVAL = struct.Struct("<qq")    # tv_sec, tv_usec
UTIMBUF = struct.Struct("<qq")    # actime, modtime

# getrandom(2) flags (<linux/random.h>)
GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE = 1, 2, 4

# posix_fadvise(2) advice (the first and last); sync_file_range(2) flags
POSIX_FADV_NORMAL, POSIX_FADV_NOREUSE = 0, 5
SYNC_FILE_RANGE_ALL = 1 | 2 | 4        # WAIT_BEFORE | WRITE | WAIT_AFTER

# FICLONE/FICLONERANGE ioctls (<linux/fs.h>)
FICLONE, FICLONERANGE = 0x40049409, 0x4020940D

# memfd_create(2) flags and name limit (<linux/memfd.h>)
MFD_CLOEXEC, MFD_ALLOW_SEALING, MFD_HUGETLB, MFD_NOEXEC_SEAL, MFD_EXEC = 1, 2, 4, 8, 0x10
MFD_NAME_MAX = 249   # NAME_MAX minus the "memfd:" prefix

# UIO_MAXIOV: the most iovecs one readv/writev/process_vm_* call takes
IOV_MAX = 1024
