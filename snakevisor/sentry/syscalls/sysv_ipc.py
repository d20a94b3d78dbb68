"""System V IPC: shmget/shmat/shmdt/shmctl, semget/semop/semtimedop/semctl, msgget/msgsnd/msgrcv/msgctl.

Thin over kernel/ipc/ (the calling task's IPC namespace, ``task.ns.ipc``).
"""
from snakevisor.abi.errno import EINVAL, SyscallError
from snakevisor.abi.fs import to_s32
from snakevisor.sentry.kernel.ipc import check_ipc_cmd
from snakevisor.sentry.syscalls.time import TIMESPEC


def _ipc(t):
    return t.ns.ipc


def _ctl_args(ident, cmd):
    """shmctl, semctl and msgctl refuse a negative identifier or command before anything else."""
    if to_s32(ident) < 0:
        raise SyscallError(EINVAL)
    return check_ipc_cmd(cmd)


def shmget(t, key, size, flags):
    return _ipc(t).shm.shmget(t, key, size, flags)


def shmat(t, shmid, addr, flags):
    return _ipc(t).shm.shmat(t, to_s32(shmid), addr, flags)


def shmdt(t, addr):
    return _ipc(t).shm.shmdt(t, addr)


def shmctl(t, shmid, cmd, buf):
    return _ipc(t).shm.shmctl(t, shmid, _ctl_args(shmid, cmd), buf)


def semget(t, key, nsems, flags):
    return _ipc(t).sem.semget(t, key, nsems, flags)


def semop(t, semid, sops, nsops):
    return (yield from _ipc(t).sem.semtimedop(t, semid, sops, nsops, None))


def semtimedop(t, semid, sops, nsops, timeout_ptr):
    timeout = TIMESPEC.unpack(t.mm.copy_in(timeout_ptr, TIMESPEC.size)) if timeout_ptr else None
    return (yield from _ipc(t).sem.semtimedop(t, semid, sops, nsops, timeout))


def semctl(t, semid, semnum, cmd, arg):
    return _ipc(t).sem.semctl(t, semid, semnum, _ctl_args(semid, cmd), arg)


def msgget(t, key, flags):
    return _ipc(t).msg.msgget(t, key, flags)


def msgsnd(t, msqid, msgp, msgsz, flags):
    return (yield from _ipc(t).msg.msgsnd(t, msqid, msgp, msgsz, flags))


def msgrcv(t, msqid, msgp, msgsz, msgtyp, flags):
    return (yield from _ipc(t).msg.msgrcv(t, msqid, msgp, msgsz, msgtyp, flags))


def msgctl(t, msqid, cmd, buf):
    return _ipc(t).msg.msgctl(t, msqid, _ctl_args(msqid, cmd), buf)
