"""Signal state syscalls: dispositions, masks, alternate stacks.

Dispositions and masks are kept per thread group / Task; delivery of signals
to handlers is built on this by the signal subsystem.
"""
from snakevisor.abi import signal as S
from snakevisor.abi.errno import EINVAL, ENOMEM, EPERM, SyscallError
from snakevisor.abi.fs import to_s32
from snakevisor.sentry.syscalls.table import PARTIAL, syscall

SIGSET_SIZE = 8


@syscall("rt_sigaction", ("signal", "ptr", "ptr", "uint"), PARTIAL, "dispositions recorded")
def rt_sigaction(t, sig, act, oldact, sigsetsize):
    sig = to_s32(sig)
    if sigsetsize != SIGSET_SIZE or not 1 <= sig <= S.NSIG:
        raise SyscallError(EINVAL)
    new = None
    if act:
        new = S.KSIGACTION.unpack(t.mm.copy_in(act, S.KSIGACTION.size))
        if sig in (S.SIGKILL, S.SIGSTOP):
            raise SyscallError(EINVAL)
    if oldact:
        old = t.tg.sigactions.get(sig, (S.SIG_DFL, 0, 0, 0))
        t.mm.copy_out(oldact, S.KSIGACTION.pack(*old))
    if new is not None:
        handler, flags, restorer, mask = new
        t.tg.sigactions[sig] = (handler, flags, restorer, mask & ~S.UNBLOCKABLE)
    return 0


@syscall("rt_sigprocmask", ("int", "ptr", "ptr", "uint"))
def rt_sigprocmask(t, how, set_ptr, oldset, sigsetsize):
    if sigsetsize != SIGSET_SIZE:
        raise SyscallError(EINVAL)
    new = None
    if set_ptr:
        new = int.from_bytes(t.mm.copy_in(set_ptr, 8), "little")
        if how not in (S.SIG_BLOCK, S.SIG_UNBLOCK, S.SIG_SETMASK):
            raise SyscallError(EINVAL)
    if oldset:
        t.mm.copy_out(oldset, t.sigmask.to_bytes(8, "little"))
    if new is not None:
        if how == S.SIG_BLOCK:
            mask = t.sigmask | new
        elif how == S.SIG_UNBLOCK:
            mask = t.sigmask & ~new
        else:
            mask = new
        t.sigmask = mask & ~S.UNBLOCKABLE
    return 0


@syscall("rt_sigpending", ("ptr", "uint"), PARTIAL)
def rt_sigpending(t, addr, sigsetsize):
    if sigsetsize > SIGSET_SIZE:
        raise SyscallError(EINVAL)
    t.mm.copy_out(addr, getattr(t, "pending", 0).to_bytes(8, "little")[:sigsetsize])
    return 0


@syscall("sigaltstack", ("ptr", "ptr"))
def sigaltstack(t, ss, old_ss):
    current = getattr(t, "altstack", (0, S.SS_DISABLE, 0))
    new = None
    if ss:
        sp, flags, size = S.STACK_T.unpack(t.mm.copy_in(ss, S.STACK_T.size))
        mode = flags & ~S.SS_AUTODISARM
        if mode not in (0, S.SS_DISABLE, S.SS_ONSTACK):
            raise SyscallError(EINVAL)
        if getattr(t, "on_altstack", False):
            raise SyscallError(EPERM)
        if mode == S.SS_DISABLE:
            new = (0, S.SS_DISABLE, 0)
        else:
            if size < S.MINSIGSTKSZ:
                raise SyscallError(ENOMEM)
            new = (sp, flags & S.SS_AUTODISARM, size)
    if old_ss:
        sp, flags, size = current
        if getattr(t, "on_altstack", False):
            flags |= S.SS_ONSTACK
        t.mm.copy_out(old_ss, S.STACK_T.pack(sp, flags, size))
    if new is not None:
        t.altstack = new
    return 0


