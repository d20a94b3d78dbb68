"""Landlock (<linux/landlock.h>): the ABI version and errata the Sentry reports, the syscalls' flags,
access rights and scopes, and the layouts of struct landlock_ruleset_attr, landlock_path_beneath_attr
and landlock_net_port_attr."""
import struct

# The ABI version the Sentry implements (landlock_create_ruleset(NULL, 0, VERSION)) and the errata it
# has the fixes of (ERRATA): 1 TCP sockets only (ABI 4), 2 signals within a process always allowed
# (ABI 6), 3 disconnected directories (ABI 1): Linux 6.15's list.
LANDLOCK_ABI_VERSION = 7
LANDLOCK_ERRATA = 0b111

# landlock_create_ruleset's flags
LANDLOCK_CREATE_RULESET_VERSION = 1 << 0
LANDLOCK_CREATE_RULESET_ERRATA = 1 << 1

# landlock_add_rule's rule types
LANDLOCK_RULE_PATH_BENEATH = 1
LANDLOCK_RULE_NET_PORT = 2

# landlock_restrict_self's flags (ABI 7: audit logging; the sandbox has no audit log to write to)
LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF = 1 << 0
LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON = 1 << 1
LANDLOCK_RESTRICT_SELF_LOG_SUBDOMAINS_OFF = 1 << 2
LANDLOCK_MASK_RESTRICT_SELF = 0b111

# Filesystem access rights
ACCESS_FS_EXECUTE = 1 << 0
ACCESS_FS_WRITE_FILE = 1 << 1
ACCESS_FS_READ_FILE = 1 << 2
ACCESS_FS_READ_DIR = 1 << 3
ACCESS_FS_REMOVE_DIR = 1 << 4
ACCESS_FS_REMOVE_FILE = 1 << 5
ACCESS_FS_MAKE_CHAR = 1 << 6
ACCESS_FS_MAKE_DIR = 1 << 7
ACCESS_FS_MAKE_REG = 1 << 8
ACCESS_FS_MAKE_SOCK = 1 << 9
ACCESS_FS_MAKE_FIFO = 1 << 10
ACCESS_FS_MAKE_BLOCK = 1 << 11
ACCESS_FS_MAKE_SYM = 1 << 12
ACCESS_FS_REFER = 1 << 13         # ABI 2
ACCESS_FS_TRUNCATE = 1 << 14      # ABI 3
ACCESS_FS_IOCTL_DEV = 1 << 15     # ABI 5
MASK_ACCESS_FS = (1 << 16) - 1
# The rights that make sense on a file (a rule on a non-directory may grant only these)
ACCESS_FILE = (ACCESS_FS_EXECUTE | ACCESS_FS_WRITE_FILE | ACCESS_FS_READ_FILE | ACCESS_FS_TRUNCATE
               | ACCESS_FS_IOCTL_DEV)

# Network access rights (ABI 4)
ACCESS_NET_BIND_TCP = 1 << 0
ACCESS_NET_CONNECT_TCP = 1 << 1
MASK_ACCESS_NET = 0b11

# Scopes (ABI 6)
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0
SCOPE_SIGNAL = 1 << 1
MASK_SCOPE = 0b11

# ioctl commands Landlock never restricts (fs.c is_masked_device_ioctl): the file's flags, which
# fcntl also sets, and those on the filesystem rather than the device
MASKED_IOCTLS = frozenset((
    0x5451, 0x5450, 0x5421, 0x5452,   # FIOCLEX, FIONCLEX, FIONBIO, FIOASYNC
    0x5460,                           # FIOQSIZE
    0xC0045877, 0xC0045878,           # FIFREEZE, FITHAW
    0xC020660B,                       # FS_IOC_FIEMAP
    0x2,                              # FIGETBSZ
    0x40049409, 0x4020940D, 0xC0189436,   # FICLONE, FICLONERANGE, FIDEDUPERANGE
    0x80111500, 0x80811501,           # FS_IOC_GETFSUUID, FS_IOC_GETFSSYSFSPATH
))

LANDLOCK_MAX_NUM_LAYERS = 16

# struct landlock_ruleset_attr: handled_access_fs, handled_access_net, scoped (a u64 each); a caller
# may pass only the first field (an older ABI's struct), never less
RULESET_ATTR = struct.Struct("<QQQ")
RULESET_ATTR_MIN = 8
# struct landlock_path_beneath_attr (packed): allowed_access u64, parent_fd s32
PATH_BENEATH_ATTR = struct.Struct("<Qi")
# struct landlock_net_port_attr: allowed_access u64, port u64 (host byte order)
NET_PORT_ATTR = struct.Struct("<QQ")
