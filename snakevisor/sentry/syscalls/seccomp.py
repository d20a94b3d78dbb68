"""seccomp(2) and prctl(PR_SET_SECCOMP): the application's own seccomp modes and filters, which
kernel/seccomp.py keeps and runs at every syscall entry (never on the host)."""
from snakevisor.abi import seccomp as SC
from snakevisor.abi.errno import EINVAL, SyscallError
from snakevisor.sentry.fsimpl.seccomp_notify import new_listener
from snakevisor.sentry.kernel import seccomp as K


def seccomp(t, op, flags, uargs):
    op, flags = op & 0xFFFFFFFF, flags & 0xFFFFFFFF     # unsigned int in Linux's prototype
    if op == SC.SECCOMP_SET_MODE_STRICT:
        if flags or uargs:
            raise SyscallError(EINVAL)
        return K.set_mode_strict(t)
    if op == SC.SECCOMP_SET_MODE_FILTER:
        return K.set_mode_filter(t, flags, uargs, lambda notifier: _install_listener(t, notifier))
    if op == SC.SECCOMP_GET_ACTION_AVAIL and not flags:
        return K.get_action_avail(t, uargs)
    if op == SC.SECCOMP_GET_NOTIF_SIZES and not flags:
        return K.get_notif_sizes(t, uargs)
    raise SyscallError(EINVAL)


def _install_listener(t, notifier):
    """NEW_LISTENER: the listener's descriptor in the caller's table (close-on-exec, as Linux's)."""
    f = new_listener(notifier)
    try:
        return t.fdtable.install(f, cloexec=True)
    except SyscallError:
        f.dec_ref()
        raise


def prctl_set_seccomp(t, mode, filter_addr):
    """PR_SET_SECCOMP: seccomp(2) without flags (strict mode ignores the pointer)."""
    if mode == SC.SECCOMP_MODE_STRICT:
        return seccomp(t, SC.SECCOMP_SET_MODE_STRICT, 0, 0)
    if mode == SC.SECCOMP_MODE_FILTER:
        return seccomp(t, SC.SECCOMP_SET_MODE_FILTER, 0, filter_addr)
    raise SyscallError(EINVAL)


def prctl_get_seccomp(t):
    return K.mode(t)
