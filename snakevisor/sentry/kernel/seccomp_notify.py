"""seccomp user notification: the listener of a filter installed with SECCOMP_FILTER_FLAG_NEW_LISTENER.

A syscall whose filters answer SECCOMP_RET_USER_NOTIF (from a filter with a listener) waits in
``Notifier.wait_reply`` until the supervisor, through the listener's ioctls (fsimpl/seccomp_notify.py),
receives it (NOTIF_RECV), then answers it (NOTIF_SEND: a value or an error, or CONTINUE: run
the syscall) or installs a descriptor in the waiting task (NOTIF_ADDFD). As Linux's
kernel/seccomp.c: a signal ends the wait with ERESTARTSYS (the syscall restarts and is filtered
again; with WAIT_KILLABLE_RECV, only until the supervisor has received it); closing the listener answers every pending notification with ENOSYS, as later ones;
the listener polls readable while a notification waits to be received, writable while one
waits for its answer, and hangs up when no task uses the filter any more (here: when the last
one exits; Linux waits for a zombie to be reaped).
"""
import os

from snakevisor.abi import seccomp as SC
from snakevisor.abi.errno import E2BIG, EBADF, EINPROGRESS, EINVAL, ENOENT, ENOSYS, ERESTARTSYS, SyscallError
from snakevisor.abi.fs import O_CLOEXEC
from snakevisor.abi.poll import POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM
from snakevisor.sentry.vfs.waiter import WaitQueue

INIT, SENT, REPLIED = range(3)
_PAGE = 4096


class Notification:
    __slots__ = ("id", "task", "data", "state", "val", "error", "flags", "ready")

    def __init__(self, nid, task, data):
        self.id, self.task, self.data = nid, task, data
        self.state = INIT
        self.val = self.error = self.flags = 0
        self.ready = WaitQueue()     # the waiting task's, notified when the answer is in

    def answer(self, val, error=0, flags=0):
        self.state, self.val, self.error, self.flags = REPLIED, val, error, flags
        self.ready.notify(1)


class Notifier:
    """One listener's state: the notifications of its filter, in arrival order."""

    def __init__(self, wait_killable=False):
        self.wait_killable = wait_killable   # WAIT_KILLABLE_RECV: once received, only death ends a wait
        self.notifications = {}      # id -> Notification
        self.next_id = int.from_bytes(os.urandom(8), "little")   # ids are cookies, as Linux's (random start)
        self.queue = WaitQueue()     # poll and NOTIF_RECV wait here
        self.users = 0               # tasks whose filter stack holds this filter
        self.detached = False        # the listener was closed
        self.flags = 0               # NOTIF_SET_FLAGS's (SYNC_WAKE_UP: a scheduling hint only)

    # -- the filtered task's side --------------------------------------------------------------
    def wait_reply(self, task, data):
        """Queue a notification for ``task`` and wait for its answer (a generator); returns it."""
        n = Notification(self.next_id, task, data)
        self.next_id = (self.next_id + 1) & (1 << 64) - 1
        self.notifications[n.id] = n
        self.queue.notify(POLLIN | POLLRDNORM)
        try:
            while n.state != REPLIED:
                killable = self.wait_killable and n.state == SENT
                try:
                    yield from task.block_on(n.ready, 1, interruptible=not killable)
                except SyscallError as e:
                    # A signal: the syscall restarts, unless the answer is in already, or the
                    # supervisor has it and asked for killable waits (a fatal signal ends the
                    # Task, not this loop).
                    if e.errno != ERESTARTSYS or n.state == INIT or n.state == SENT and not self.wait_killable:
                        raise
        finally:
            self.notifications.pop(n.id, None)
        return n

    def hold(self, delta):
        self.users += delta
        if self.users == 0:
            self.queue.notify(POLLHUP)

    # -- the listener's side -------------------------------------------------------------------
    def readiness(self, mask):
        ev = POLLHUP if self.users <= 0 else 0
        for n in self.notifications.values():
            ev |= POLLIN | POLLRDNORM if n.state == INIT else POLLOUT | POLLWRNORM if n.state == SENT else 0
        return ev & (mask | POLLHUP)

    def detach(self):
        """The listener is closed: whoever waits gets ENOSYS, as any later USER_NOTIF."""
        self.detached = True
        for n in list(self.notifications.values()):
            n.answer(0, -ENOSYS)

    def receive(self, task, addr):
        """NOTIF_RECV (a generator): the oldest notification not yet received, into ``addr``
        (which must hold zeros). Waits for one (a signal ends the wait with ERESTARTSYS, as
        since Linux 6.6); ENOENT once no task uses the filter."""
        if any(task.mm.copy_in(addr, SC.SECCOMP_NOTIF_SIZE)):
            raise SyscallError(EINVAL)
        while True:
            n = next((n for n in self.notifications.values() if n.state == INIT), None)
            if n is not None:
                break
            if self.users <= 0:
                raise SyscallError(ENOENT)
            yield from task.block_on(self.queue, POLLIN | POLLHUP)
        n.state = SENT
        self.queue.notify(POLLOUT | POLLWRNORM)
        try:
            task.mm.copy_out(addr, SC.SECCOMP_NOTIF.pack(n.id, task.tg.pidns.id_of(n.task.tid), 0, n.data))
        except SyscallError:
            n.state = INIT     # the supervisor's mistake must not strand the task
            self.queue.notify(POLLIN | POLLRDNORM)
            raise
        return 0

    def _sent(self, nid):
        n = self.notifications.get(nid)
        if n is None:
            raise SyscallError(ENOENT)
        if n.state != SENT:
            raise SyscallError(EINPROGRESS)
        return n

    def send(self, task, addr):
        nid, val, error, flags = SC.SECCOMP_NOTIF_RESP.unpack(task.mm.copy_in(addr, SC.SECCOMP_NOTIF_RESP_SIZE))
        if flags & ~SC.SECCOMP_USER_NOTIF_FLAG_CONTINUE:
            raise SyscallError(EINVAL)
        if flags & SC.SECCOMP_USER_NOTIF_FLAG_CONTINUE and (error or val):
            raise SyscallError(EINVAL)
        self._sent(nid).answer(val, error, flags)
        return 0

    def id_valid(self, task, addr):
        n = self.notifications.get(int.from_bytes(task.mm.copy_in(addr, 8), "little"))
        if n is None or n.state != SENT:
            raise SyscallError(ENOENT)
        return 0

    def set_flags(self, flags):
        if flags & ~SC.SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP:
            raise SyscallError(EINVAL)
        self.flags = flags
        return 0

    def add_fd(self, task, addr, size):
        """NOTIF_ADDFD: a descriptor of the supervisor's installed in the waiting task (the
        Sentry does it at once, where Linux has the task do it); with SEND it is also the
        syscall's result. Returns the task's new descriptor number."""
        if size < SC.SECCOMP_NOTIF_ADDFD.size or size >= _PAGE:
            raise SyscallError(EINVAL)
        raw = task.mm.copy_in(addr, size)
        if any(raw[SC.SECCOMP_NOTIF_ADDFD.size:]):
            raise SyscallError(E2BIG)
        nid, flags, srcfd, newfd, newfd_flags = SC.SECCOMP_NOTIF_ADDFD.unpack_from(raw)
        setfd, send = flags & SC.SECCOMP_ADDFD_FLAG_SETFD, flags & SC.SECCOMP_ADDFD_FLAG_SEND
        if newfd_flags & ~O_CLOEXEC or flags & ~(SC.SECCOMP_ADDFD_FLAG_SETFD | SC.SECCOMP_ADDFD_FLAG_SEND) \
                or newfd and not setfd:
            raise SyscallError(EINVAL)
        try:
            file = task.fdtable.get(srcfd if srcfd < 1 << 31 else -1)
        except SyscallError:
            raise SyscallError(EBADF) from None
        n = self._sent(nid)
        target, cloexec = n.task.fdtable, bool(newfd_flags & O_CLOEXEC)
        file.inc_ref()
        try:
            fd = target.install_at(newfd, file, cloexec) if setfd else target.install(file, cloexec)
        except BaseException:
            file.dec_ref()
            raise
        if send:
            n.answer(fd)
        return fd

