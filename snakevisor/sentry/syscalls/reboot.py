"""reboot(2) as Linux answers it inside a PID namespace (kernel/reboot.c, reboot_pid_ns): the
sandbox is a container, so restarting or powering off ends its PID namespace, whose init dies
as if killed by SIGHUP (restart) or SIGINT (halt, power off), and the caller exits. The
sandbox's `do` then reports 129 or 130, as a container engine reports its container's end."""
from snakevisor.abi import signal as S
from snakevisor.abi.capability import CAP_SYS_BOOT
from snakevisor.abi.errno import EINVAL, EPERM, SyscallError
from snakevisor.abi.reboot import (LINUX_REBOOT_CMD_HALT, LINUX_REBOOT_CMD_POWER_OFF, LINUX_REBOOT_CMD_RESTART,
                                   LINUX_REBOOT_CMD_RESTART2, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2S)
from snakevisor.sentry.syscalls.process import exit as exit_thread

# The signal the namespace's init is reported killed by, per command; any other command
# (Ctrl-Alt-Del on or off, kexec, suspend) is EINVAL outside the initial PID namespace.
INIT_SIGNAL = {LINUX_REBOOT_CMD_RESTART: S.SIGHUP, LINUX_REBOOT_CMD_RESTART2: S.SIGHUP,
               LINUX_REBOOT_CMD_HALT: S.SIGINT, LINUX_REBOOT_CMD_POWER_OFF: S.SIGINT}


def pid_namespace_init(task):
    """The init (child reaper) of ``task``'s own PID namespace (Linux's task_active_pid_ns): the
    sandbox's first process, or the init of a namespace the application made."""
    return task.tg.pidns.init or task.kernel.init


def reboot(t, magic1, magic2, cmd, arg):
    if not t.creds.has_cap(CAP_SYS_BOOT):
        raise SyscallError(EPERM)
    if magic1 & 0xFFFFFFFF != LINUX_REBOOT_MAGIC1 or magic2 & 0xFFFFFFFF not in LINUX_REBOOT_MAGIC2S:
        raise SyscallError(EINVAL)
    sig = INIT_SIGNAL.get(cmd & 0xFFFFFFFF)
    if sig is None:
        raise SyscallError(EINVAL)
    init = pid_namespace_init(t)
    # Linux SIGKILLs the child reaper and records the command's signal as its exit: its parent
    # sees it killed by SIGHUP or SIGINT.
    t.kernel.kill_group(init, S.SIGKILL, status=sig)
    return exit_thread(t, 0)
