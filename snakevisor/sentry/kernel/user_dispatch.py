"""Syscall User Dispatch (prctl PR_SET_SYSCALL_USER_DISPATCH; Linux's
kernel/entry/syscall_user_dispatch.c): a thread's syscalls made from outside the region
[offset, offset + len) while its selector byte reads SYSCALL_DISPATCH_FILTER_BLOCK (or with no
selector) do not run: SIGSYS (SYS_USER_DISPATCH) is forced on it and rax keeps the number, so a
handler can emulate the call (Wine, stress-ng's usersyscall). ALLOW lets it run, any other
byte kills the process with SIGSYS, an unreadable selector with SIGSEGV. Per thread, not
inherited by a new task. Here it is looked at after a tracer's syscall-entry stop (Linux: before).
"""
from snakevisor.abi import signal as S
from snakevisor.abi import seccomp as SC
from snakevisor.abi.errno import EFAULT, EINVAL, SyscallError
from snakevisor.abi.mm import TASK_SIZE_MAX
from snakevisor.abi.prctl import (PR_SYS_DISPATCH_OFF, PR_SYS_DISPATCH_ON, SYSCALL_DISPATCH_FILTER_ALLOW,
                                  SYSCALL_DISPATCH_FILTER_BLOCK)

_MASK64 = (1 << 64) - 1


class UserDispatch:
    __slots__ = ("offset", "length", "selector")

    def __init__(self, offset, length, selector):
        self.offset, self.length, self.selector = offset, length, selector


def set_dispatch(task, mode, offset, length, selector):
    """prctl(PR_SET_SYSCALL_USER_DISPATCH, mode, offset, len, selector)."""
    if mode == PR_SYS_DISPATCH_OFF:
        if offset or length or selector:
            raise SyscallError(EINVAL)
        task.user_dispatch = None
        return 0
    if mode != PR_SYS_DISPATCH_ON:
        raise SyscallError(EINVAL)
    if offset and (offset + length) & _MASK64 <= offset:
        raise SyscallError(EINVAL)   # an empty region, or one that wraps around
    if selector and selector >= TASK_SIZE_MAX:
        raise SyscallError(EFAULT)   # access_ok
    task.user_dispatch = UserDispatch(offset, length, selector)
    return 0


def intercepts(task, regs):
    """A handler for the call ``task`` stopped in if dispatch takes it (else None)."""
    sd = task.user_dispatch
    if (regs.rip - sd.offset) & _MASK64 < sd.length:
        return None   # made from the allowed region
    if sd.selector:
        try:
            state = task.mm.copy_in(sd.selector, 1)[0]
        except SyscallError:
            return _killed_by(S.SIGSEGV)
        if state == SYSCALL_DISPATCH_FILTER_ALLOW:
            return None
        if state != SYSCALL_DISPATCH_FILTER_BLOCK:
            return _killed_by(S.SIGSYS)
    nr = regs.orig_rax
    number = nr & 0xFFFFFFFF
    info = SC.SIGINFO_SYS.pack(S.SIGSYS, 0, SC.SYS_USER_DISPATCH, regs.rip,
                               number - (1 << 32) if number >> 31 else number,
                               SC.AUDIT_ARCH_X86_64).ljust(S.SIGINFO_SIZE, b"\0")

    def dispatch(t, *args):
        t.kernel.signals.force_fault(t, S.SIGSYS, info)
        return nr   # syscall_rollback: rax holds the number again
    return dispatch


def _killed_by(sig):
    def kill(t, *args):
        t.kernel.kill_group(t.tg, sig)
    return kill
