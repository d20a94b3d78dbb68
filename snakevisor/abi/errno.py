"""The Sentry's one errno vocabulary: Linux errno values and SyscallError.

Every layer below the syscall handlers (vfs, mm, fsimpl, net) reports failure by
raising ``SyscallError(errno)``; the dispatcher turns it into ``-errno`` in rax.
"""
import errno as _host_errno

# Linux x86_64 errno values are the host's (the Sentry only runs on Linux x86_64).
globals().update({name: getattr(_host_errno, name) for name in dir(_host_errno) if name.startswith("E")})

# Kernel-internal restart codes (never seen by applications; see signal handling).
ERESTARTSYS = 512
ERESTARTNOINTR = 513
ERESTARTNOHAND = 514
ERESTART_RESTARTBLOCK = 516

ERRNO_NAMES = dict(_host_errno.errorcode)
ERRNO_NAMES.update({ERESTARTSYS: "ERESTARTSYS", ERESTARTNOINTR: "ERESTARTNOINTR",
                    ERESTARTNOHAND: "ERESTARTNOHAND", ERESTART_RESTARTBLOCK: "ERESTART_RESTARTBLOCK"})


class SyscallError(Exception):
    """A syscall failed with ``errno``; handlers raise it, the dispatcher returns ``-errno``."""

    __slots__ = ("errno",)

    def __init__(self, err: int):
        super().__init__(err)
        self.errno = err

    def __str__(self):
        return ERRNO_NAMES.get(self.errno, str(self.errno))

    def __repr__(self):
        return f"SyscallError({self})"
