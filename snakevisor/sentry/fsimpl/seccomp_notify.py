"""The seccomp listener file ("anon_inode:[seccomp notify]"): the supervisor's side of user
notification, its ioctls and poll, over kernel/seccomp_notify.py's Notifier."""
from snakevisor.abi import seccomp as SC
from snakevisor.abi.errno import EINVAL, SyscallError
from snakevisor.abi.fs import O_RDWR
from snakevisor.sentry.fsimpl.anon import anon_inode_file
from snakevisor.sentry.vfs.file import FileDescriptionImpl


class ListenerImpl(FileDescriptionImpl):
    seekable = False

    def __init__(self, notifier):
        super().__init__()
        self.notifier = notifier

    def blocking_ioctl(self, task, cmd, arg):
        """Every ioctl of the listener (a generator: NOTIF_RECV waits for a notification)."""
        notifier = self.notifier
        if cmd == SC.SECCOMP_IOCTL_NOTIF_RECV:
            return (yield from notifier.receive(task, arg))
        if cmd == SC.SECCOMP_IOCTL_NOTIF_SEND:
            return notifier.send(task, arg)
        if cmd in (SC.SECCOMP_IOCTL_NOTIF_ID_VALID, SC.SECCOMP_IOCTL_NOTIF_ID_VALID_WRONG_DIR):
            return notifier.id_valid(task, arg)
        if cmd == SC.SECCOMP_IOCTL_NOTIF_SET_FLAGS:
            return notifier.set_flags(arg)
        if cmd & 0xFFFF == SC.SECCOMP_IOCTL_NOTIF_ADDFD_NR:
            return notifier.add_fd(task, arg, cmd >> 16 & 0x3FFF)
        raise SyscallError(EINVAL)

    def readiness(self, task, mask):
        return self.notifier.readiness(mask)

    def waitable(self, task):
        return self.notifier.queue

    def release(self):
        self.notifier.detach()


def new_listener(notifier):
    return anon_inode_file("seccomp notify", ListenerImpl(notifier), O_RDWR)
