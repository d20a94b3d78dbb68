"""pidfd ioctls (linux/pidfd.h, Linux 6.11 and 6.13+): the namespaces of a process as nsfs
descriptors, and PIDFD_GET_INFO's struct pidfd_info."""
import struct

PIDFS_IOCTL_MAGIC = 0xFF
# _IO(PIDFS_IOCTL_MAGIC, n): the /proc/PID/ns name each opens
PIDFD_GET_NAMESPACE = {0xFF01: "cgroup", 0xFF02: "ipc", 0xFF03: "mnt", 0xFF04: "net", 0xFF05: "pid",
                       0xFF06: "pid_for_children", 0xFF07: "time", 0xFF08: "time_for_children", 0xFF09: "user",
                       0xFF0A: "uts"}
PIDFD_GET_INFO_NR = 11   # _IOWR(PIDFS_IOCTL_MAGIC, 11, struct pidfd_info): any size (extensible)

PIDFD_INFO_PID = 1 << 0        # always returned
PIDFD_INFO_CREDS = 1 << 1      # always returned
PIDFD_INFO_CGROUPID = 1 << 2   # always returned if available
PIDFD_INFO_EXIT = 1 << 3       # on request, once the process is reaped
PIDFD_INFO_COREDUMP = 1 << 4   # on request (6.16)
PIDFD_COREDUMP_SKIP, PIDFD_COREDUMP_USER, PIDFD_COREDUMP_ROOT = 1 << 1, 1 << 2, 1 << 3

PIDFD_INFO_SIZE_VER0 = 64
# mask, cgroupid, pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid, exit_code,
# coredump_mask, spare (PIDFD_INFO_SIZE_VER1)
PIDFD_INFO = struct.Struct("<QQ11Iiii")
ROOT_CGROUP_ID = 1   # the root cgroup's id (its kernfs node's): the sandbox's only cgroup
