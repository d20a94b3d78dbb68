"""Linux capability numbers (<linux/capability.h>), by the names OCI's config.json uses, and capset(2)'s structures."""
import ctypes

CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID = 0, 1, 2, 3, 4
CAP_KILL, CAP_SETGID, CAP_SETUID, CAP_SETPCAP, CAP_LINUX_IMMUTABLE = 5, 6, 7, 8, 9
CAP_NET_BIND_SERVICE, CAP_NET_BROADCAST, CAP_NET_ADMIN, CAP_NET_RAW = 10, 11, 12, 13
CAP_IPC_LOCK, CAP_IPC_OWNER, CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SYS_CHROOT = 14, 15, 16, 17, 18
CAP_SYS_PTRACE, CAP_SYS_PACCT, CAP_SYS_ADMIN, CAP_SYS_BOOT, CAP_SYS_NICE = 19, 20, 21, 22, 23
CAP_SYS_RESOURCE, CAP_SYS_TIME, CAP_SYS_TTY_CONFIG, CAP_MKNOD, CAP_LEASE = 24, 25, 26, 27, 28
CAP_AUDIT_WRITE, CAP_AUDIT_CONTROL, CAP_SETFCAP, CAP_MAC_OVERRIDE, CAP_MAC_ADMIN = 29, 30, 31, 32, 33
CAP_SYSLOG, CAP_WAKE_ALARM, CAP_BLOCK_SUSPEND, CAP_AUDIT_READ, CAP_PERFMON = 34, 35, 36, 37, 38
CAP_BPF, CAP_CHECKPOINT_RESTORE = 39, 40
CAP_LAST_CAP = CAP_CHECKPOINT_RESTORE

# By name, as OCI's config.json spells them (before the sets below, which are masks, not names).
CAPABILITIES = {name: value for name, value in globals().items()
                if name.startswith("CAP_") and name != "CAP_LAST_CAP"}

ALL_CAPS = (1 << CAP_LAST_CAP + 1) - 1
# CAP_FS_SET (include/linux/capability.h): what a change of fsuid to or from 0 drops or restores.
CAP_FS_SET = sum(1 << c for c in (CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID,
                                  CAP_LINUX_IMMUTABLE, CAP_MKNOD, CAP_MAC_OVERRIDE))


def cap_mask(names):
    """A bit mask from capability names; raises KeyError naming an unknown one."""
    mask = 0
    for name in names:
        mask |= 1 << CAPABILITIES[name.upper() if name.upper().startswith("CAP_") else "CAP_" + name.upper()]
    return mask

# capset(2)'s header version (<linux/capability.h>); the PR_CAP* prctl options are in abi/prctl.py.
LINUX_CAPABILITY_VERSION_3 = 0x20080522


class CapUserHeader(ctypes.Structure):   # struct __user_cap_header_struct
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapUserData(ctypes.Structure):     # struct __user_cap_data_struct (two of them for version 3)
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]

# Securebits (<linux/securebits.h>): each bit's lock is the bit above it.
SECBIT_NOROOT, SECBIT_NO_SETUID_FIXUP, SECBIT_KEEP_CAPS, SECBIT_NO_CAP_AMBIENT_RAISE = 1 << 0, 1 << 2, 1 << 4, 1 << 6
SECURE_ALL_BITS = SECBIT_NOROOT | SECBIT_NO_SETUID_FIXUP | SECBIT_KEEP_CAPS | SECBIT_NO_CAP_AMBIENT_RAISE
SECURE_ALL_LOCKS = SECURE_ALL_BITS << 1
SECBIT_KEEP_CAPS_LOCKED = SECBIT_KEEP_CAPS << 1
