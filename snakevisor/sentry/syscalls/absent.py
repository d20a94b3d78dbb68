"""The syscalls the Sentry answers with ENOSYS, each with the reason (``snakevisor syscalls`` lists them).

Imported last: an entry here never replaces a handler registered by a family module.
"""
from snakevisor.sentry.kernel.syscall_table import unimplemented

LINUX_NEITHER = "not implemented by Linux on x86_64 either (ENOSYS there too)"
MOUNTS = "mounts and mount namespaces inside the sandbox: not yet (issue \"Kernel features II\")"
NO_KERNEL = "there is no kernel to change: refused as in any container"

NOTES = {
    "ptrace": "tracing inside the sandbox (strace, gdb): not yet (issue \"Kernel features II\")",
    "process_vm_readv": "needs ptrace access rules: comes with ptrace (issue \"Kernel features II\")",
    "process_vm_writev": "needs ptrace access rules: comes with ptrace (issue \"Kernel features II\")",
    "seccomp": "seccomp filters for applications: not yet (issue \"Kernel features II\")",
    "unshare": "namespaces inside the sandbox: not yet (issue \"Kernel features II\")",
    "setns": "namespaces inside the sandbox: not yet (issue \"Kernel features II\")",
    "mount": MOUNTS, "umount2": MOUNTS, "pivot_root": MOUNTS, "open_tree": MOUNTS, "move_mount": MOUNTS,
    "fsopen": MOUNTS, "fsconfig": MOUNTS, "fsmount": MOUNTS, "fspick": MOUNTS, "mount_setattr": MOUNTS,
    "io_uring_setup": "io_uring: not implemented (programs fall back to epoll or threads)",
    "io_uring_enter": "io_uring: not implemented (programs fall back to epoll or threads)",
    "io_uring_register": "io_uring: not implemented (programs fall back to epoll or threads)",
    "fanotify_init": "fanotify (needs CAP_SYS_ADMIN on the host): not implemented",
    "fanotify_mark": "fanotify (needs CAP_SYS_ADMIN on the host): not implemented",
    "rseq": "restartable sequences: not implemented; glibc then runs without them",
    "futex_waitv": "not yet: futex(2) is implemented",
    "remap_file_pages": "deprecated since Linux 3.16 (emulated there with mmap); not yet here",
    "process_madvise": "advice on another process's memory: not implemented",
    "process_mrelease": "reaping another process's memory early: not implemented",
    "memfd_secret": "secret memory: not implemented (Linux refuses it too unless booted with secretmem.enable)",
    "userfaultfd": "user-space page-fault handling: not implemented",
    "name_to_handle_at": "file handles: not implemented",
    "open_by_handle_at": "file handles (need CAP_DAC_READ_SEARCH on the host): not implemented",
    "perf_event_open": "no performance counters in the sandbox",
    "bpf": "eBPF: not implemented",
    "landlock_create_ruleset": "Landlock: not implemented (programs take ENOSYS as Landlock unavailable)",
    "landlock_add_rule": "Landlock: not implemented (programs take ENOSYS as Landlock unavailable)",
    "landlock_restrict_self": "Landlock: not implemented (programs take ENOSYS as Landlock unavailable)",
    "add_key": "kernel keyrings: not implemented",
    "request_key": "kernel keyrings: not implemented",
    "keyctl": "kernel keyrings: not implemented",
    "acct": "process accounting: not implemented",
    "settimeofday": "the clock is the host's: setting it is not emulated",
    "adjtimex": "the clock is the host's: NTP adjustment is not emulated",
    "clock_adjtime": "the clock is the host's: NTP adjustment is not emulated",
    "vhangup": "hanging up the controlling terminal: not implemented",
    "modify_ldt": "LDT segments (16-bit and 32-bit code): 64-bit programs only",
    "set_thread_area": "32-bit TLS descriptors: 64-bit programs use arch_prctl(ARCH_SET_FS)",
    "get_thread_area": "32-bit TLS descriptors: 64-bit programs use arch_prctl(ARCH_GET_FS)",
    "iopl": "port I/O is never granted in the sandbox",
    "ioperm": "port I/O is never granted in the sandbox",
    "swapon": "the Sentry's memory is not swapped by it",
    "swapoff": "the Sentry's memory is not swapped by it",
    "reboot": NO_KERNEL, "kexec_load": NO_KERNEL, "kexec_file_load": NO_KERNEL,
    "init_module": NO_KERNEL, "finit_module": NO_KERNEL, "delete_module": NO_KERNEL,
    "quotactl": "disk quotas are the host's business",
    "quotactl_fd": "disk quotas are the host's business",
    "ustat": "obsolete (statfs and fstatfs are implemented)",
    "sysfs": "obsolete filesystem-type query (/proc/filesystems is implemented)",
    "_sysctl": "removed from Linux 5.5 (ENOSYS there too); /proc/sys is implemented",
    "lookup_dcookie": "removed from Linux 6.8 (ENOSYS there too)",
    "uselib": "removed from current Linux (CONFIG_USELIB off): ENOSYS there too",
    **{name: LINUX_NEITHER for name in ("create_module", "get_kernel_syms", "query_module", "nfsservctl",
                                        "getpmsg", "putpmsg", "afs_syscall", "tuxcall", "security", "vserver",
                                        "epoll_ctl_old", "epoll_wait_old")},
}

for _name, _note in NOTES.items():
    unimplemented(_name, _note)
