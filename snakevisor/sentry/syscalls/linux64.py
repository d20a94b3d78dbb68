"""The x86_64 syscall table, one line per number in number order (as gVisor's linux64.go).

This is the page to read for what the sandbox supports. Each line is one of
  ``full(nr, name, handler, args)``: the handler does what Linux does;
  ``partial(nr, name, handler, args, note)``: it does part of it, and the note says which part;
  ``enosys(nr, name, note)``: the Sentry answers ENOSYS, and the note says why.
``snakevisor syscalls`` prints the table with its notes. tests/test_syscall_table.py checks that
it is in number order with no gap or duplicate, that every partial or unimplemented entry has a
note, and that each handler takes as many arguments as its entry names.

A handler is a function of a family module (``sentry/syscalls/``, one module per family), called
as ``handler(task, *args)`` with exactly as many raw register values (unsigned 64-bit ints) as
``args`` names; it returns an int or raises ``SyscallError``. A handler that may block is a
generator function (it ``yield``s to the Task's scheduler); its entry records that once.

``args`` names each argument's kind, space-separated, used by ``--strace`` to print it:
  int, uint, hex, ptr, fd, dirfd, path (C string), str:N (buffer whose length is argument N,
  printed before the call), outstr:N (printed after the call), oflags, atflags, mode, prot,
  mapflags, signal, clockid, ... (see kernel/strace.py); ``returns`` says how it prints the
  result (int, hex or fd).
The kinds live here, not beside each handler: like the status, they describe the syscall (its
arguments as strace shows them), so one line says all there is about a number and the handler
modules carry no registration at all; the test of each handler's arity keeps the two in step.

The boot code installs this table (``install()``) as kernel/syscall_table.py's TABLE, through
which the Task dispatches: the kernel imports nothing from the handler modules.
"""
from snakevisor.sentry.syscalls import mount_api   # a line of its own: branches change the block below
from snakevisor.abi.syscall_numbers import SYSCALL_NAMES
from snakevisor.sentry.kernel.syscall_table import FULL, PARTIAL, TABLE, UNIMPLEMENTED, SyscallEntry
from snakevisor.sentry.syscalls import (aio, clone, epoll, eventfd, fadvise, fcntl, file, fileattr, fs, fsinfo,
                                        futex, handles, host_admin, info, inotify, io_uring, kcmp, keys, lsm,
                                        membarrier, mm, mount, mqueue, namespace, nonlinear, ntp, numa, pidfd, pipe,
                                        pkey, poll, process, process_mm, ptrace, reboot, sched, seccomp, signal,
                                        signalfd, socket, splice, sysv_ipc, terminal, time, timer, timerfd, wait,
                                        xattr)
from snakevisor.sentry.syscalls import landlock


def _entry(nr, name, handler, args, status, note, returns):
    if SYSCALL_NAMES.get(nr) != name:
        raise ValueError(f"syscall {nr} is {SYSCALL_NAMES.get(nr)}, not {name}")
    return SyscallEntry(nr, name, handler, tuple(args.split()), status, note, returns)


def full(nr, name, handler, args, returns="int"):
    return _entry(nr, name, handler, args, FULL, "", returns)


def partial(nr, name, handler, args, note, returns="int"):
    return _entry(nr, name, handler, args, PARTIAL, note, returns)


def enosys(nr, name, note):
    return _entry(nr, name, None, "", UNIMPLEMENTED, note, "int")


# Notes that several entries share, or too long for their line.
FILEATTR = "inode flags on tmpfs (as shmem: immutable, append-only, nodump, noatime); EOPNOTSUPP on Gofer mounts"
FUTEX2 = "32-bit futexes only (FUTEX2_NUMA and FUTEX2_MPOL EINVAL, as a kernel without CONFIG_FUTEX_NUMA)"
LSM_NOTE = "the Sentry's modules are capabilities (and Landlock); none has process attributes: EOPNOTSUPP"
CLONE_VM = "CLONE_VM without CLONE_THREAD (vfork, posix_spawn) copies the address space"
CLONE = CLONE_VM + ("; of the CLONE_NEW* flags CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWPID, "
                    "CLONE_NEWUSER, CLONE_NEWCGROUP and CLONE_NEWNET (its sockets made by the network-namespace broker)")
NICE = "nice values are kept per thread and reported; the host schedules the stubs"
PTRACE_NOTE = ("tracer and tracee are sandboxed Tasks (kernel/ptrace.py): stops, events, registers, "
               "memory, options, syscall info, seccomp filters read back, single-step (the CPU's trap flag), "
               "debug registers (kernel/debugregs.py: hardware breakpoints and watchpoints loaded into the host thread "
               "on the ptrace platform; on systrap they are read and written but enabling one is EIO); "
               "PTRACE_EVENT_EXIT stops only "
               "the thread that exits or takes the fatal signal, not the others it takes along")
UNSHARE = ("CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWPID and CLONE_NEWTIME (the caller's children's), "
           "CLONE_NEWUSER, CLONE_NEWCGROUP, CLONE_NEWNET, CLONE_FS, CLONE_FILES, CLONE_SYSVSEM (a thread of a "
           "multi-threaded process keeps its process's undo list); a process running when it enters a time "
           "namespace keeps host clocks in its vDSO until it execs")
SETNS = ("nsfs fds and pidfds; UTS, IPC, mount, PID (the caller's own or one below it, for its children), "
         "user, cgroup, time and network namespaces are per task")
# open_tree_attr (Linux 6.15; its table line comes from another branch) is open_tree, then mount_setattr on the clone.
MOUNTS = "open_tree_attr: not yet; open_tree(OPEN_TREE_CLONE) then mount_setattr(AT_EMPTY_PATH) on its fd do the same"
FSOPEN = "tmpfs, ramfs, proc, sysfs, devpts, mqueue, cgroup2 and overlay (others ENODEV); proc and devpts are the sandbox's single instances"
FSCONFIG = ("parameters checked as Linux's (tmpfs's values; other types' names) with its messages; superblock "
            "flags other than ro/rw accepted and ignored; reconfigure changes ro/rw, size and nr_inodes of a tmpfs")
MOVE_MOUNT = "propagation is recorded, not emulated: SET_GROUP joins the peer group or master; BENEATH skips Linux's checks of propagation onto the mounts"
MOUNT_SETATTR = ("MOUNT_ATTR_IDMAP: EPERM for the sandbox's user namespace (Linux's for the initial one); a shared "
                 "writable mapping whose fd is closed does not keep the mount writable; propagation types recorded only")
MOUNT = ("bind (MS_REC), tmpfs, ramfs, proc, sysfs, devpts, mqueue, cgroup2, overlay (without redirect_dir, "
         "index, metacopy, xino=on, verity, data-only layers: EINVAL), remount (the mount's flags; without "
         "MS_BIND a tmpfs superblock's ro/rw and limits too), MS_MOVE; propagation types are recorded and shown in "
         "mountinfo but events do not propagate; proc is the mounter's PID namespace's, devpts the sandbox's "
         "single instance")
UMOUNT = "MNT_DETACH, MNT_EXPIRE, UMOUNT_NOFOLLOW; MNT_FORCE has nothing to abort; unmounting / is EBUSY (Linux remounts it ro)"
PIVOT_ROOT = "Linux's checks; the namespace root counts as attached (as on rootfs)"
IO_URING_OPS = ("NOP, READV/WRITEV, READ/WRITE, READ_FIXED/WRITE_FIXED, FSYNC, POLL_ADD (and multishot), "
                "POLL_REMOVE, TIMEOUT (monotonic), TIMEOUT_REMOVE, ASYNC_CANCEL, OPENAT, CLOSE, STATX, ACCEPT, CONNECT, "
                "SEND, RECV, SENDMSG, RECVMSG, FILES_UPDATE, and as their syscalls SYNC_FILE_RANGE, FALLOCATE, FADVISE, MADVISE, SHUTDOWN, "
                "RENAMEAT, UNLINKAT, MKDIRAT, SYMLINKAT, LINKAT, EPOLL_CTL; other opcodes "
                "complete with -EINVAL; no IOPOLL, no direct descriptors, no provided buffers, no multishot "
                "accept/recv")
FANOTIFY = "fanotify (needs CAP_SYS_ADMIN on the host): not implemented"
LANDLOCK = ("Landlock ABI 7 (filesystem, TCP ports, scopes); the audit-logging flags are accepted and change "
            "nothing: the sandbox has no audit log")
REQUEST_KEY = ("finds keys from the caller's keyrings; there is no /sbin/request-key upcall: with a callout, "
               "a negative key for a minute and ENOKEY, as Linux without the helper")
KEYCTL = ("user, logon and keyring keys (kernel/keys.py), at most 65536 in a sandbox (then EDQUOT, whatever "
          "the quotas); DH_COMPUTE, PKEY_* and WATCH_KEY: EOPNOTSUPP (no "
          "asymmetric keys, no notifications); RESTRICT_KEYRING only without a type (no more links); no "
          "authorisation keys (INSTANTIATE, NEGATE, REJECT: EPERM)")
HANDLES = ("handles for tmpfs and Gofer files (opaque numbers the Sentry maps back while the inode lives); "
           "other filesystems EOPNOTSUPP; a handle does not outlive the sandbox")
NTP = ("reads the state of a clock no NTP daemon disciplines (TIME_ERROR, STA_UNSYNC) with the current time; "
       "adjusting it needs CAP_SYS_TIME over the host's clock: EPERM, as in a container")
NO_KERNEL = "there is no kernel to change: refused as in any container"
PORT_IO = "port I/O is never granted in the sandbox"
HOST_ADMIN = ("acts on the host's kernel, which needs a capability in the initial user namespace: after Linux's "
              "argument checks, EPERM as for any container's process (syscalls/host_admin.py)")
QUOTAS = "disk quotas are the host's business"
PRCTL = ("name, pdeath signal, dumpable, keepcaps, securebits, no_new_privs, subreaper, capability bounding "
         "set (read, drop) and ambient, seccomp (as seccomp(2)), tid address, VMA names, syscall user dispatch; THP disabling, timer "
         "slack and the TSC mode are recorded and reported only (PR_TSC_SIGSEGV does not trap rdtsc); other "
         "options EINVAL")
SECCOMP = ("strict and filter modes, run by the Sentry at each syscall (all actions; every flag: TSYNC, LOG, "
           "SPEC_ALLOW, NEW_LISTENER with RECV/SEND/ID_VALID/ADDFD/SET_FLAGS, WAIT_KILLABLE_RECV; TRACE stops "
           "in PTRACE_EVENT_SECCOMP); LOG writes no audit record")
LINUX_NEITHER = "not implemented by Linux on x86_64 either (ENOSYS there too)"

ENTRIES = (
    full(0,      "read",                   file.read,                     "fd outstr:2 uint"),
    full(1,      "write",                  file.write,                    "fd str:2 uint"),
    full(2,      "open",                   fs.open_,                      "path oflags mode", returns="fd"),
    full(3,      "close",                  file.close,                    "fd"),
    full(4,      "stat",                   fs.stat,                       "path ptr"),
    full(5,      "fstat",                  file.fstat,                    "fd ptr"),
    full(6,      "lstat",                  fs.lstat,                      "path ptr"),
    full(7,      "poll",                   poll.poll,                     "ptr uint int"),
    full(8,      "lseek",                  file.lseek,                    "fd int int"),
    full(9,      "mmap",                   mm.mmap,                       "hex uint prot mapflags fd hex", returns="hex"),
    full(10,     "mprotect",               mm.mprotect,                   "hex uint prot"),
    full(11,     "munmap",                 mm.munmap,                     "hex uint"),
    full(12,     "brk",                    mm.brk,                        "hex", returns="hex"),
    full(13,     "rt_sigaction",           signal.rt_sigaction,           "signal ptr ptr uint"),
    full(14,     "rt_sigprocmask",         signal.rt_sigprocmask,         "int ptr ptr uint"),
    full(15,     "rt_sigreturn",           signal.rt_sigreturn,           ""),
    full(16,     "ioctl",                  file.ioctl,                    "fd hex hex"),
    full(17,     "pread64",                file.pread64,                  "fd outstr:2 uint int"),
    full(18,     "pwrite64",               file.pwrite64,                 "fd str:2 uint int"),
    full(19,     "readv",                  file.readv,                    "fd ptr int"),
    full(20,     "writev",                 file.writev,                   "fd ptr int"),
    full(21,     "access",                 fs.access,                     "path int"),
    full(22,     "pipe",                   pipe.pipe,                     "ptr"),
    full(23,     "select",                 poll.select,                   "int ptr ptr ptr ptr"),
    full(24,     "sched_yield",            sched.sched_yield,             ""),
    full(25,     "mremap",                 mm.mremap,                     "hex uint uint int hex", returns="hex"),
    full(26,     "msync",                  mm.msync,                      "hex uint int"),
    partial(27,  "mincore",                mm.mincore,                    "hex uint ptr",
                 "reports every mapped page resident"),
    full(28,     "madvise",                mm.madvise,                    "hex uint int"),
    full(29,     "shmget",                 sysv_ipc.shmget,               "hex uint hex"),
    full(30,     "shmat",                  sysv_ipc.shmat,                "int hex hex", returns="hex"),
    full(31,     "shmctl",                 sysv_ipc.shmctl,               "int int ptr"),
    full(32,     "dup",                    file.dup,                      "fd", returns="fd"),
    full(33,     "dup2",                   file.dup2,                     "fd fd", returns="fd"),
    full(34,     "pause",                  signal.pause,                  ""),
    full(35,     "nanosleep",              time.nanosleep,                "ptr ptr"),
    full(36,     "getitimer",              timer.getitimer,               "int ptr"),
    full(37,     "alarm",                  timer.alarm,                   "uint"),
    full(38,     "setitimer",              timer.setitimer,               "int ptr ptr"),
    full(39,     "getpid",                 process.getpid,                ""),
    full(40,     "sendfile",               splice.sendfile,               "fd fd ptr uint"),
    partial(41,  "socket",                 socket.socket,                 "int hex int",
                 "AF_UNIX, AF_INET, AF_INET6, AF_NETLINK (route, sock_diag)", returns="fd"),
    full(42,     "connect",                socket.connect,                "fd ptr int"),
    full(43,     "accept",                 socket.accept,                 "fd ptr ptr", returns="fd"),
    full(44,     "sendto",                 socket.sendto,                 "fd str:2 uint hex ptr int"),
    full(45,     "recvfrom",               socket.recvfrom,               "fd outstr:2 uint hex ptr ptr"),
    full(46,     "sendmsg",                socket.sendmsg,                "fd ptr hex"),
    full(47,     "recvmsg",                socket.recvmsg,                "fd ptr hex"),
    full(48,     "shutdown",               socket.shutdown,               "fd int"),
    full(49,     "bind",                   socket.bind,                   "fd ptr int"),
    full(50,     "listen",                 socket.listen,                 "fd int"),
    full(51,     "getsockname",            socket.getsockname,            "fd ptr ptr"),
    full(52,     "getpeername",            socket.getpeername,            "fd ptr ptr"),
    full(53,     "socketpair",             socket.socketpair,             "int hex int ptr"),
    full(54,     "setsockopt",             socket.setsockopt,             "fd int int ptr int"),
    full(55,     "getsockopt",             socket.getsockopt,             "fd int int ptr ptr"),
    partial(56,  "clone",                  clone.clone,                   "hex ptr ptr ptr hex", CLONE),
    full(57,     "fork",                   clone.fork,                    ""),
    partial(58,  "vfork",                  clone.vfork,                   "", CLONE_VM),
    full(59,     "execve",                 clone.execve,                  "path ptr ptr"),
    full(60,     "exit",                   process.exit,                  "int"),
    full(61,     "wait4",                  wait.wait4,                    "int ptr hex ptr"),
    full(62,     "kill",                   signal.kill,                   "int signal"),
    full(63,     "uname",                  info.uname,                    "ptr"),
    full(64,     "semget",                 sysv_ipc.semget,               "hex int hex"),
    full(65,     "semop",                  sysv_ipc.semop,                "int ptr uint"),
    full(66,     "semctl",                 sysv_ipc.semctl,               "int int int hex"),
    full(67,     "shmdt",                  sysv_ipc.shmdt,                "hex"),
    full(68,     "msgget",                 sysv_ipc.msgget,               "hex hex"),
    full(69,     "msgsnd",                 sysv_ipc.msgsnd,               "int ptr uint hex"),
    full(70,     "msgrcv",                 sysv_ipc.msgrcv,               "int ptr uint int hex"),
    full(71,     "msgctl",                 sysv_ipc.msgctl,               "int int ptr"),
    full(72,     "fcntl",                  fcntl.fcntl,                   "fd int hex"),
    full(73,     "flock",                  fcntl.flock,                   "fd hex"),
    full(74,     "fsync",                  file.fsync,                    "fd"),
    full(75,     "fdatasync",              file.fdatasync,                "fd"),
    full(76,     "truncate",               fs.truncate,                   "path int"),
    full(77,     "ftruncate",              file.ftruncate,                "fd int"),
    full(78,     "getdents",               file.getdents,                 "fd ptr uint"),
    full(79,     "getcwd",                 fs.getcwd,                     "ptr uint"),
    full(80,     "chdir",                  fs.chdir,                      "path"),
    full(81,     "fchdir",                 fs.fchdir,                     "fd"),
    full(82,     "rename",                 fs.rename,                     "path path"),
    full(83,     "mkdir",                  fs.mkdir,                      "path mode"),
    full(84,     "rmdir",                  fs.rmdir,                      "path"),
    full(85,     "creat",                  fs.creat,                      "path mode", returns="fd"),
    full(86,     "link",                   fs.link,                       "path path"),
    full(87,     "unlink",                 fs.unlink,                     "path"),
    full(88,     "symlink",                fs.symlink,                    "path path"),
    full(89,     "readlink",               fs.readlink,                   "path ptr int"),
    full(90,     "chmod",                  fs.chmod,                      "path mode"),
    full(91,     "fchmod",                 file.fchmod,                   "fd mode"),
    full(92,     "chown",                  fs.chown,                      "path int int"),
    full(93,     "fchown",                 file.fchown,                   "fd int int"),
    full(94,     "lchown",                 fs.lchown,                     "path int int"),
    full(95,     "umask",                  fs.umask,                      "mode"),
    full(96,     "gettimeofday",           time.gettimeofday,             "ptr ptr"),
    full(97,     "getrlimit",              info.getrlimit,                "int ptr"),
    partial(98,  "getrusage",              info.getrusage,                "int ptr",
                 "CPU times per process; ru_maxrss the resident memory's high-water mark as sampled at "
                 "exit, execve, the call and each MiB unmapped or discarded; other fields 0"),
    full(99,     "sysinfo",                info.sysinfo,                  "ptr"),
    partial(100, "times",                  info.times,                    "ptr",
                 "the return value counts clock ticks since the sandbox booted, not since the host did"),
    partial(101, "ptrace",                 ptrace.ptrace,                 "int int hex hex", PTRACE_NOTE),
    full(102,    "getuid",                 process.getuid,                ""),
    partial(103, "syslog",                 info.syslog,                   "int ptr int", "an empty kernel log"),
    full(104,    "getgid",                 process.getgid,                ""),
    full(105,    "setuid",                 process.setuid,                "int"),
    full(106,    "setgid",                 process.setgid,                "int"),
    full(107,    "geteuid",                process.geteuid,               ""),
    full(108,    "getegid",                process.getegid,               ""),
    full(109,    "setpgid",                process.setpgid,               "int int"),
    full(110,    "getppid",                process.getppid,               ""),
    full(111,    "getpgrp",                process.getpgrp,               ""),
    full(112,    "setsid",                 process.setsid,                ""),
    full(113,    "setreuid",               process.setreuid,              "int int"),
    full(114,    "setregid",               process.setregid,              "int int"),
    full(115,    "getgroups",              process.getgroups,             "int ptr"),
    full(116,    "setgroups",              process.setgroups,             "int ptr"),
    full(117,    "setresuid",              process.setresuid,             "int int int"),
    full(118,    "getresuid",              process.getresuid,             "ptr ptr ptr"),
    full(119,    "setresgid",              process.setresgid,             "int int int"),
    full(120,    "getresgid",              process.getresgid,             "ptr ptr ptr"),
    full(121,    "getpgid",                process.getpgid,               "int"),
    full(122,    "setfsuid",               process.setfsuid,              "int"),
    full(123,    "setfsgid",               process.setfsgid,              "int"),
    full(124,    "getsid",                 process.getsid,                "int"),
    full(125,    "capget",                 process.capget,                "ptr ptr"),
    full(126,    "capset",                 process.capset,                "ptr ptr"),
    full(127,    "rt_sigpending",          signal.rt_sigpending,          "ptr uint"),
    full(128,    "rt_sigtimedwait",        signal.rt_sigtimedwait,        "ptr ptr ptr uint"),
    full(129,    "rt_sigqueueinfo",        signal.rt_sigqueueinfo,        "int signal ptr"),
    full(130,    "rt_sigsuspend",          signal.rt_sigsuspend,          "ptr uint"),
    full(131,    "sigaltstack",            signal.sigaltstack,            "ptr ptr"),
    full(132,    "utime",                  fs.utime,                      "path ptr"),
    full(133,    "mknod",                  fs.mknod,                      "path mode hex"),
    enosys(134,  "uselib",                 "removed from current Linux (CONFIG_USELIB off): ENOSYS there too"),
    partial(135, "personality",            info.personality,              "hex",
                 "recorded, inherited and reported; READ_IMPLIES_EXEC makes mmap's and mprotect's PROT_READ "
                 "executable, no other flag changes behaviour"),
    full(136,    "ustat",                  fsinfo.ustat,                  "hex ptr"),
    full(137,    "statfs",                 fs.statfs,                     "path ptr"),
    full(138,    "fstatfs",                file.fstatfs,                  "fd ptr"),
    full(139,    "sysfs",                  fsinfo.sysfs,                  "int hex hex"),
    partial(140, "getpriority",            sched.getpriority,             "int int", NICE),
    partial(141, "setpriority",            sched.setpriority,             "int int int", NICE),
    partial(142, "sched_setparam",         sched.sched_setparam,          "int ptr",
                 "recorded and reported; the host schedules the sandbox, so no policy takes effect"),
    full(143,    "sched_getparam",         sched.sched_getparam,          "int ptr"),
    partial(144, "sched_setscheduler",     sched.sched_setscheduler,      "int int ptr",
                 "every policy checked and recorded as Linux (RLIMIT_RTPRIO, CAP_SYS_NICE, reset-on-fork), "
                 "none takes effect: the host schedules the sandbox; no SCHED_DEADLINE admission control"),
    full(145,    "sched_getscheduler",     sched.sched_getscheduler,      "int"),
    full(146,    "sched_get_priority_max", sched.sched_get_priority_max,  "int"),
    full(147,    "sched_get_priority_min", sched.sched_get_priority_min,  "int"),
    full(148,    "sched_rr_get_interval",  sched.sched_rr_get_interval,   "int ptr"),
    full(149,    "mlock",                  mm.mlock,                      "hex uint"),
    full(150,    "munlock",                mm.munlock,                    "hex uint"),
    full(151,    "mlockall",               mm.mlockall,                   "int"),
    full(152,    "munlockall",             mm.munlockall,                 ""),
    full(153,    "vhangup",                terminal.vhangup,              ""),
    enosys(154,  "modify_ldt",             "LDT segments (16-bit and 32-bit code): 64-bit programs only"),
    partial(155, "pivot_root",             mount.pivot_root,              "path path", PIVOT_ROOT),
    enosys(156,  "_sysctl",                "removed from Linux 5.5 (ENOSYS there too); /proc/sys is implemented"),
    partial(157, "prctl",                  process.prctl,                 "int hex hex hex hex",
                 PRCTL),
    full(158,    "arch_prctl",             process.arch_prctl,            "hex hex"),
    partial(159, "adjtimex",               ntp.adjtimex,                  "ptr", NTP),
    full(160,    "setrlimit",              info.setrlimit,                "int ptr"),
    full(161,    "chroot",                 fs.chroot,                     "path"),
    full(162,    "sync",                   fs.sync,                       ""),
    partial(163, "acct",                   host_admin.acct,               "path", HOST_ADMIN),
    partial(164, "settimeofday",           host_admin.settimeofday,       "ptr ptr", HOST_ADMIN),
    partial(165, "mount",                  mount.mount,                   "path path path hex ptr", MOUNT),
    partial(166, "umount2",                mount.umount2,                 "path hex", UMOUNT),
    partial(167, "swapon",                 host_admin.swapon,             "path hex", HOST_ADMIN),
    partial(168, "swapoff",                host_admin.swapoff,            "path", HOST_ADMIN),
    full(169,    "reboot",                 reboot.reboot,                 "hex hex hex ptr"),
    full(170,    "sethostname",            info.sethostname,              "str:1 int"),
    full(171,    "setdomainname",          info.setdomainname,            "str:1 int"),
    enosys(172,  "iopl",                   PORT_IO),
    enosys(173,  "ioperm",                 PORT_IO),
    enosys(174,  "create_module",          LINUX_NEITHER),
    enosys(175,  "init_module",            NO_KERNEL),
    enosys(176,  "delete_module",          NO_KERNEL),
    enosys(177,  "get_kernel_syms",        LINUX_NEITHER),
    enosys(178,  "query_module",           LINUX_NEITHER),
    enosys(179,  "quotactl",               QUOTAS),
    enosys(180,  "nfsservctl",             LINUX_NEITHER),
    enosys(181,  "getpmsg",                LINUX_NEITHER),
    enosys(182,  "putpmsg",                LINUX_NEITHER),
    enosys(183,  "afs_syscall",            LINUX_NEITHER),
    enosys(184,  "tuxcall",                LINUX_NEITHER),
    enosys(185,  "security",               LINUX_NEITHER),
    full(186,    "gettid",                 process.gettid,                ""),
    full(187,    "readahead",              file.readahead,                "fd int uint"),
    full(188,    "setxattr",               xattr.setxattr,                "path path ptr uint int"),
    full(189,    "lsetxattr",              xattr.lsetxattr,               "path path ptr uint int"),
    full(190,    "fsetxattr",              xattr.fsetxattr,               "fd path ptr uint int"),
    full(191,    "getxattr",               xattr.getxattr,                "path path ptr uint"),
    full(192,    "lgetxattr",              xattr.lgetxattr,               "path path ptr uint"),
    full(193,    "fgetxattr",              xattr.fgetxattr,               "fd path ptr uint"),
    full(194,    "listxattr",              xattr.listxattr,               "path ptr uint"),
    full(195,    "llistxattr",             xattr.llistxattr,              "path ptr uint"),
    full(196,    "flistxattr",             xattr.flistxattr,              "fd ptr uint"),
    full(197,    "removexattr",            xattr.removexattr,             "path path"),
    full(198,    "lremovexattr",           xattr.lremovexattr,            "path path"),
    full(199,    "fremovexattr",           xattr.fremovexattr,            "fd path"),
    full(200,    "tkill",                  signal.tkill,                  "int signal"),
    full(201,    "time",                   time.time,                     "ptr"),
    partial(202, "futex",                  futex.futex,                   "ptr int uint ptr ptr uint",
            "PI futexes without the priority boost (their waiters are served in arrival order); no FUTEX_FD"),
    partial(203, "sched_setaffinity",      sched.sched_setaffinity,       "int uint ptr",
                 "recorded; the Sentry places stub threads itself"),
    full(204,    "sched_getaffinity",      sched.sched_getaffinity,       "int uint ptr"),
    enosys(205,  "set_thread_area",        "32-bit TLS descriptors: 64-bit programs use arch_prctl(ARCH_SET_FS)"),
    full(206,    "io_setup",               aio.io_setup,                  "uint ptr"),
    full(207,    "io_destroy",             aio.io_destroy,                "hex"),
    full(208,    "io_getevents",           aio.io_getevents,              "hex int int ptr ptr"),
    partial(209, "io_submit",              aio.io_submit,                 "hex int ptr",
                 "requests run to completion inside io_submit (as Linux's buffered AIO); no IOCB_CMD_POLL"),
    full(210,    "io_cancel",              aio.io_cancel,                 "hex ptr ptr"),
    enosys(211,  "get_thread_area",        "32-bit TLS descriptors: 64-bit programs use arch_prctl(ARCH_GET_FS)"),
    enosys(212,  "lookup_dcookie",         "removed from Linux 6.8 (ENOSYS there too)"),
    full(213,    "epoll_create",           epoll.epoll_create,            "int", returns="fd"),
    enosys(214,  "epoll_ctl_old",          LINUX_NEITHER),
    enosys(215,  "epoll_wait_old",         LINUX_NEITHER),
    partial(216, "remap_file_pages",       nonlinear.remap_file_pages,    "ptr uint hex uint hex",
            "as Linux's emulation, a new mapping of the file at the offset; in a shared anonymous mapping, "
            "offsets past the object's end are EINVAL (Linux maps pages that raise SIGBUS)"),
    full(217,    "getdents64",             file.getdents64,               "fd ptr uint"),
    full(218,    "set_tid_address",        process.set_tid_address,       "ptr"),
    full(219,    "restart_syscall",        signal.restart_syscall,        ""),
    full(220,    "semtimedop",             sysv_ipc.semtimedop,           "int ptr uint ptr"),
    full(221,    "fadvise64",              fadvise.fadvise64,             "fd int int int"),
    full(222,    "timer_create",           timer.timer_create,            "clockid ptr ptr"),
    full(223,    "timer_settime",          timer.timer_settime,           "int int ptr ptr"),
    full(224,    "timer_gettime",          timer.timer_gettime,           "int ptr"),
    full(225,    "timer_getoverrun",       timer.timer_getoverrun,        "int"),
    full(226,    "timer_delete",           timer.timer_delete,            "int"),
    full(227,    "clock_settime",          time.clock_settime,            "clockid ptr"),
    full(228,    "clock_gettime",          time.clock_gettime,            "clockid ptr"),
    full(229,    "clock_getres",           time.clock_getres,             "clockid ptr"),
    full(230,    "clock_nanosleep",        time.clock_nanosleep,          "clockid int ptr ptr"),
    full(231,    "exit_group",             process.exit_group,            "int"),
    full(232,    "epoll_wait",             epoll.epoll_wait,              "fd ptr int int"),
    full(233,    "epoll_ctl",              epoll.epoll_ctl,               "fd int fd ptr"),
    full(234,    "tgkill",                 signal.tgkill,                 "int int signal"),
    full(235,    "utimes",                 fs.utimes,                     "path ptr"),
    enosys(236,  "vserver",                LINUX_NEITHER),
    partial(237, "mbind",                  numa.mbind,                    "hex uint int ptr uint hex",
                 "one node: validated, not remembered per range"),
    partial(238, "set_mempolicy",          numa.set_mempolicy,            "int ptr uint",
                 "one node: the policy is validated and reported, placement is the same"),
    full(239,    "get_mempolicy",          numa.get_mempolicy,            "ptr ptr uint hex hex"),
    full(240,    "mq_open",                mqueue.mq_open,                "path oflags mode ptr", returns="fd"),
    full(241,    "mq_unlink",              mqueue.mq_unlink,              "path"),
    full(242,    "mq_timedsend",           mqueue.mq_timedsend,           "fd str:2 uint uint ptr"),
    full(243,    "mq_timedreceive",        mqueue.mq_timedreceive,        "fd ptr uint ptr ptr"),
    partial(244, "mq_notify",              mqueue.mq_notify,              "fd ptr",
                 "SIGEV_SIGNAL and SIGEV_NONE; SIGEV_THREAD (a netlink cookie) is EINVAL"),
    full(245,    "mq_getsetattr",          mqueue.mq_getsetattr,          "fd ptr ptr"),
    enosys(246,  "kexec_load",             NO_KERNEL),
    full(247,    "waitid",                 wait.waitid,                   "int int ptr hex ptr"),
    full(248,    "add_key",                keys.add_key,                  "path path str:3 uint int"),
    partial(249, "request_key",            keys.request_key,              "path path path int", REQUEST_KEY),
    partial(250, "keyctl",                 keys.keyctl,                   "int hex hex hex hex", KEYCTL),
    partial(251, "ioprio_set",             sched.ioprio_set,              "int int int",
                 "recorded and reported; the Sentry schedules no I/O"),
    full(252,    "ioprio_get",             sched.ioprio_get,              "int int"),
    full(253,    "inotify_init",           inotify.inotify_init,          "", returns="fd"),
    full(254,    "inotify_add_watch",      inotify.inotify_add_watch,     "fd path hex"),
    full(255,    "inotify_rm_watch",       inotify.inotify_rm_watch,      "fd int"),
    full(256,    "migrate_pages",          numa.migrate_pages,            "int uint ptr ptr"),
    full(257,    "openat",                 fs.openat,                     "dirfd path oflags mode", returns="fd"),
    full(258,    "mkdirat",                fs.mkdirat,                    "dirfd path mode"),
    full(259,    "mknodat",                fs.mknodat,                    "dirfd path mode hex"),
    full(260,    "fchownat",               fs.fchownat,                   "dirfd path int int atflags"),
    full(261,    "futimesat",              fs.futimesat,                  "dirfd path ptr"),
    full(262,    "newfstatat",             fs.newfstatat,                 "dirfd path ptr atflags"),
    full(263,    "unlinkat",               fs.unlinkat,                   "dirfd path atflags"),
    full(264,    "renameat",               fs.renameat,                   "dirfd path dirfd path"),
    full(265,    "linkat",                 fs.linkat,                     "dirfd path dirfd path atflags"),
    full(266,    "symlinkat",              fs.symlinkat,                  "path dirfd path"),
    full(267,    "readlinkat",             fs.readlinkat,                 "dirfd path ptr int"),
    full(268,    "fchmodat",               fs.fchmodat,                   "dirfd path mode"),
    full(269,    "faccessat",              fs.faccessat,                  "dirfd path int"),
    full(270,    "pselect6",               poll.pselect6,                 "int ptr ptr ptr ptr ptr"),
    full(271,    "ppoll",                  poll.ppoll,                    "ptr uint ptr ptr uint"),
    partial(272, "unshare",                namespace.unshare,             "hex", UNSHARE),
    full(273,    "set_robust_list",        process.set_robust_list,       "ptr uint"),
    full(274,    "get_robust_list",        process.get_robust_list,       "int ptr ptr"),
    full(275,    "splice",                 splice.splice,                 "fd ptr fd ptr uint hex"),
    full(276,    "tee",                    splice.tee,                    "fd fd uint hex"),
    partial(277, "sync_file_range",        fadvise.sync_file_range,       "fd int int hex",
                 "validates and succeeds: writes already reach the host at once (mapped gofer pages on fsync/munmap)"),
    full(278,    "vmsplice",               splice.vmsplice,               "fd ptr uint hex"),
    partial(279, "move_pages",             numa.move_pages,               "int uint ptr ptr ptr hex",
                 "a mapped page reports node 0 even before its first touch (Linux: -EFAULT until present)"),
    full(280,    "utimensat",              fs.utimensat,                  "dirfd path ptr atflags"),
    full(281,    "epoll_pwait",            epoll.epoll_pwait,             "fd ptr int int ptr uint"),
    full(282,    "signalfd",               signalfd.signalfd,             "fd ptr uint"),
    full(283,    "timerfd_create",         timerfd.timerfd_create,        "clockid hex", returns="fd"),
    full(284,    "eventfd",                eventfd.eventfd,               "uint", returns="fd"),
    partial(285, "fallocate",              file.fallocate,                "fd hex int int",
                 "modes 0, KEEP_SIZE and PUNCH_HOLE on tmpfs"),
    full(286,    "timerfd_settime",        timerfd.timerfd_settime,       "fd hex ptr ptr"),
    full(287,    "timerfd_gettime",        timerfd.timerfd_gettime,       "fd ptr"),
    full(288,    "accept4",                socket.accept4,                "fd ptr ptr hex", returns="fd"),
    full(289,    "signalfd4",              signalfd.signalfd4,            "fd ptr uint hex"),
    full(290,    "eventfd2",               eventfd.eventfd2,              "uint hex", returns="fd"),
    full(291,    "epoll_create1",          epoll.epoll_create1,           "hex", returns="fd"),
    full(292,    "dup3",                   file.dup3,                     "fd fd oflags", returns="fd"),
    full(293,    "pipe2",                  pipe.pipe2,                    "ptr oflags"),
    full(294,    "inotify_init1",          inotify.inotify_init1,         "hex", returns="fd"),
    full(295,    "preadv",                 file.preadv,                   "fd ptr int int int"),
    full(296,    "pwritev",                file.pwritev,                  "fd ptr int int int"),
    full(297,    "rt_tgsigqueueinfo",      signal.rt_tgsigqueueinfo,      "int int signal ptr"),
    enosys(298,  "perf_event_open",        "no performance counters in the sandbox"),
    full(299,    "recvmmsg",               socket.recvmmsg,               "fd ptr uint hex ptr"),
    enosys(300,  "fanotify_init",          FANOTIFY),
    enosys(301,  "fanotify_mark",          FANOTIFY),
    full(302,    "prlimit64",              info.prlimit64,                "int int ptr ptr"),
    partial(303, "name_to_handle_at",      handles.name_to_handle_at,     "dirfd path ptr ptr atflags", HANDLES),
    partial(304, "open_by_handle_at",      handles.open_by_handle_at,     "fd ptr oflags", HANDLES, returns="fd"),
    partial(305, "clock_adjtime",          ntp.clock_adjtime,             "clockid ptr", NTP),
    full(306,    "syncfs",                 file.syncfs,                   "fd"),
    full(307,    "sendmmsg",               socket.sendmmsg,               "fd ptr uint hex"),
    partial(308, "setns",                  namespace.setns,               "fd hex", SETNS),
    full(309,    "getcpu",                 sched.getcpu,                  "ptr ptr ptr"),
    full(310,    "process_vm_readv",       ptrace.process_vm_readv,       "int ptr uint ptr uint uint"),
    full(311,    "process_vm_writev",      ptrace.process_vm_writev,      "int ptr uint ptr uint uint"),
    full(312,    "kcmp",                   kcmp.kcmp,                     "int int int uint uint"),
    enosys(313,  "finit_module",           NO_KERNEL),
    partial(314, "sched_setattr",          sched.sched_setattr,           "int ptr hex",
                 "as sched_setscheduler (recorded, not in effect); utilization clamps ignored"),
    full(315,    "sched_getattr",          sched.sched_getattr,           "int ptr uint hex"),
    full(316,    "renameat2",              fs.renameat2,                  "dirfd path dirfd path hex"),
    partial(317, "seccomp",                seccomp.seccomp,               "int hex ptr", SECCOMP),
    full(318,    "getrandom",              info.getrandom,                "ptr uint hex"),
    full(319,    "memfd_create",           mm.memfd_create,               "str hex", returns="fd"),
    enosys(320,  "kexec_file_load",        NO_KERNEL),
    enosys(321,  "bpf",                    "eBPF: not implemented"),
    full(322,    "execveat",               clone.execveat,                "dirfd path ptr ptr atflags"),
    enosys(323,  "userfaultfd",            "user-space page-fault handling: not implemented"),
    full(324,    "membarrier",             membarrier.membarrier,         "int hex int"),
    full(325,    "mlock2",                 mm.mlock2,                     "hex uint hex"),
    full(326,    "copy_file_range",        splice.copy_file_range,        "fd ptr fd ptr uint hex"),
    full(327,    "preadv2",                file.preadv2,                  "fd ptr int int int hex"),
    full(328,    "pwritev2",               file.pwritev2,                 "fd ptr int int int hex"),
    full(329,    "pkey_mprotect",          pkey.pkey_mprotect,            "hex uint prot int"),
    full(330,    "pkey_alloc",             pkey.pkey_alloc,               "hex hex"),
    full(331,    "pkey_free",              pkey.pkey_free,                "int"),
    full(332,    "statx",                  fs.statx,                      "dirfd path atflags hex ptr"),
    full(333,    "io_pgetevents",          aio.io_pgetevents,             "hex int int ptr ptr ptr"),
    enosys(334,  "rseq",                   "restartable sequences: not implemented; glibc then runs without them"),
    # 335-423: not x86_64 syscall numbers (from 424 on, every architecture shares the numbers)
    full(424,    "pidfd_send_signal",      pidfd.pidfd_send_signal,       "fd signal ptr hex"),
    partial(425, "io_uring_setup",         io_uring.io_uring_setup,       "uint ptr",
                 "CQSIZE, CLAMP, SUBMIT_ALL, R_DISABLED, SQPOLL (no thread: the SQ is consumed at each enter, "
                 "IORING_SQ_NEED_WAKEUP always set), COOP_TASKRUN, SINGLE_ISSUER; IOPOLL, ATTACH_WQ, "
                 "DEFER_TASKRUN, SQE128, CQE32: EINVAL"),
    partial(426, "io_uring_enter",         io_uring.io_uring_enter,       "fd uint uint hex ptr uint", IO_URING_OPS),
    partial(427, "io_uring_register",      io_uring.io_uring_register,    "fd int ptr uint",
                 "FILES, BUFFERS (tagged and sparse: FILES2, BUFFERS2; FILES_UPDATE(2), BUFFERS_UPDATE), "
                 "EVENTFD(_ASYNC), their UNREGISTER, PROBE, ENABLE_RINGS; others (PERSONALITY, RING_FDS...) EINVAL"),
    full(428,    "open_tree",              mount_api.open_tree,           "dirfd path hex", returns="fd"),
    partial(429, "move_mount",             mount_api.move_mount,          "dirfd path dirfd path hex", MOVE_MOUNT),
    partial(430, "fsopen",                 mount_api.fsopen,              "path hex", FSOPEN, returns="fd"),
    partial(431, "fsconfig",               mount_api.fsconfig,            "fd int path ptr int", FSCONFIG),
    full(432,    "fsmount",                mount_api.fsmount,             "fd hex hex", returns="fd"),
    partial(433, "fspick",                 mount_api.fspick,              "dirfd path hex", FSCONFIG, returns="fd"),
    full(434,    "pidfd_open",             pidfd.pidfd_open,              "int hex", returns="fd"),
    partial(435, "clone3",                 clone.clone3,                  "ptr uint", CLONE),
    full(436,    "close_range",            file.close_range,              "uint uint hex"),
    full(437,    "openat2",                fs.openat2,                    "dirfd path ptr uint", returns="fd"),
    full(438,    "pidfd_getfd",            pidfd.pidfd_getfd,             "fd fd hex", returns="fd"),
    full(439,    "faccessat2",             fs.faccessat2,                 "dirfd path int atflags"),
    full(440,    "process_madvise",        process_mm.process_madvise,    "fd ptr uint int hex"),
    full(441,    "epoll_pwait2",           epoll.epoll_pwait2,            "fd ptr int ptr ptr uint"),
    partial(442, "mount_setattr",          mount_api.mount_setattr,       "dirfd path hex ptr uint", MOUNT_SETATTR),
    enosys(443,  "quotactl_fd",            QUOTAS),
    full(444,    "landlock_create_ruleset",landlock.landlock_create_ruleset, "ptr uint hex"),
    full(445,    "landlock_add_rule",      landlock.landlock_add_rule,    "fd int ptr hex"),
    partial(446, "landlock_restrict_self", landlock.landlock_restrict_self, "fd hex", LANDLOCK),
    partial(447, "memfd_secret",           mm.memfd_secret,               "hex",
                 "sized once, mapped shared and locked, never read or written; the Sentry still maps the "
                 "pages (Linux removes them from its direct map)", returns="fd"),
    full(448,    "process_mrelease",       process_mm.process_mrelease,   "fd hex"),
    full(449,    "futex_waitv",            futex.futex_waitv,             "ptr uint uint ptr int"),
    full(450,    "set_mempolicy_home_node", numa.set_mempolicy_home_node,  "hex uint int hex"),
    partial(451, "cachestat",              fadvise.cachestat,             "fd ptr ptr hex",
                 "tmpfs and memfd pages exactly; a Gofer file counts the pages the Sentry caches for its "
                 "mappings, not the host's page cache"),
    full(452,    "fchmodat2",              fs.fchmodat2,                  "dirfd path mode atflags"),
    enosys(453,  "map_shadow_stack",
                 "no user shadow stacks in the sandbox: ENOSYS, as a kernel without CONFIG_X86_USER_SHADOW_STACK"),
    partial(454, "futex_wake",             futex.futex_wake,              "ptr hex int hex", FUTEX2),
    partial(455, "futex_wait",             futex.futex_wait,              "ptr hex hex hex ptr int", FUTEX2),
    partial(456, "futex_requeue",          futex.futex_requeue,           "ptr hex int int", FUTEX2),
    enosys(457,  "statmount",              "mount information by id: not implemented (/proc/PID/mountinfo is)"),
    enosys(458,  "listmount",              "mount ids of a namespace: not implemented (/proc/PID/mountinfo is)"),
    partial(459, "lsm_get_self_attr",      lsm.lsm_get_self_attr,         "int ptr ptr hex", LSM_NOTE),
    partial(460, "lsm_set_self_attr",      lsm.lsm_set_self_attr,         "int ptr uint hex", LSM_NOTE),
    partial(461, "lsm_list_modules",       lsm.lsm_list_modules,          "ptr ptr hex", LSM_NOTE),
    full(462,    "mseal",                  mm.mseal,                      "hex uint hex"),
    full(463,    "setxattrat",             xattr.setxattrat,              "dirfd path atflags path ptr uint"),
    full(464,    "getxattrat",             xattr.getxattrat,              "dirfd path atflags path ptr uint"),
    full(465,    "listxattrat",            xattr.listxattrat,             "dirfd path atflags ptr uint"),
    full(466,    "removexattrat",          xattr.removexattrat,           "dirfd path atflags path"),
    enosys(467,  "open_tree_attr",         MOUNTS),
    partial(468, "file_getattr",           fileattr.file_getattr,         "dirfd path ptr uint atflags", FILEATTR),
    partial(469, "file_setattr",           fileattr.file_setattr,         "dirfd path ptr uint atflags", FILEATTR),
)


def install():
    """Make this the table the Task dispatches through (the boot code, once, before any Task runs)."""
    TABLE.install(ENTRIES)
