"""vhangup(2): hang up the caller's controlling terminal (kernel/tty.py Terminal.hangup), for a
holder of CAP_SYS_TTY_CONFIG; with no controlling terminal there is nothing to do."""
from snakevisor.abi.capability import CAP_SYS_TTY_CONFIG
from snakevisor.abi.errno import EPERM, SyscallError


def vhangup(t):
    if not t.creds.has_cap(CAP_SYS_TTY_CONFIG):
        raise SyscallError(EPERM)
    term = t.tg.tty
    if term is not None:
        term.hangup()
    return 0
