"""mqueue: POSIX message queues and their filesystem (Linux's ipc/mqueue.c), mounted at /dev/mqueue.

Each queue is a file in the root directory of the sandbox's one mqueue filesystem: mq_open and
mq_unlink work on it by name, open(2), unlink(2), ls and cat on /dev/mqueue see the same files
(reading one gives Linux's "QSIZE:... NOTIFY:... SIGNO:... NOTIFY_PID:..." line). Messages are
kept highest priority first, in arrival order within a priority; senders wait while the queue is
full, receivers while it is empty. One process may register for notification (mq_notify); it gets
a signal when a message arrives in the empty queue while nobody waits to receive.
"""
import heapq
import itertools

from snakevisor.abi.capability import CAP_SYS_RESOURCE
from snakevisor.abi.errno import EBUSY, EEXIST, EINVAL, EMFILE, ENOSPC, EPERM, SyscallError
from snakevisor.abi.fs import MQUEUE_MAGIC, NAME_MAX, S_IFDIR, S_IFREG
from snakevisor.abi.ipc import HARD_MSGMAX, HARD_MSGSIZEMAX
from snakevisor.abi.poll import POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM
from snakevisor.abi.resource import RLIMIT_MSGQUEUE
from snakevisor.sentry.fsimpl.tmpfs import TmpfsDir
from snakevisor.sentry.vfs.dentry import Dentry
from snakevisor.sentry.vfs.file import FileDescriptionImpl
from snakevisor.sentry.vfs.filesystem import Filesystem
from snakevisor.sentry.vfs.inode import Inode
from snakevisor.sentry.vfs.mount import anonymous_mount
from snakevisor.sentry.vfs.waiter import WaitQueue

LIMITS = {"queues_max": 256, "msg_max": 10, "msgsize_max": 8192, "msg_default": 10, "msgsize_default": 8192}
FILENT_SIZE = 80


class Queue:
    """The messages of one queue and who waits on them."""

    def __init__(self, maxmsg, msgsize):
        self.maxmsg, self.msgsize = maxmsg, msgsize
        self.heap = []                       # (-prio, seq, data)
        self.seq = itertools.count()
        self.bytes = 0
        self.changed = WaitQueue()           # POLLIN when a message arrives, POLLOUT when room appears
        self.receivers = 0                   # tasks blocked in mq_timedreceive
        self.notify = None                   # (ThreadGroup, sigev_notify, signo, value) of mq_notify
        self.notify_files = None             # the registrant's FDTable: a close there unregisters

    def send(self, data, prio):
        heapq.heappush(self.heap, (-prio, next(self.seq), data))
        self.bytes += len(data)
        self.changed.notify(POLLIN | POLLRDNORM)

    def receive(self):
        neg_prio, _, data = heapq.heappop(self.heap)
        self.bytes -= len(data)
        self.changed.notify(POLLOUT | POLLWRNORM)
        return data, -neg_prio

    @property
    def full(self):
        return len(self.heap) >= self.maxmsg

    def status(self):
        if self.notify is None:
            return f"QSIZE:{self.bytes:<10} NOTIFY:{0:<5} SIGNO:{0:<5} NOTIFY_PID:{0:<6}\n"
        tg, how, signo, _ = self.notify
        return f"QSIZE:{self.bytes:<10} NOTIFY:{how:<5} SIGNO:{signo:<5} NOTIFY_PID:{tg.tgid:<6}\n"


class MqueueImpl(FileDescriptionImpl):
    """An open queue: read(2) gives its status line (then EOF, as a file); poll says whether it can
    send or receive."""
    seekable = True

    def __init__(self, inode):
        super().__init__(inode)
        self.queue = inode.queue

    def read(self, task, n, offset):
        return self.queue.status().encode()[offset:offset + n]

    def end_offset(self):
        return len(self.queue.status())

    def readiness(self, task, mask):
        q = self.queue
        ev = (POLLIN | POLLRDNORM if q.heap else 0) | (0 if q.full else POLLOUT | POLLWRNORM)
        return ev & mask

    def waitable(self, task):
        return self.queue.changed

    def on_close(self, fdtable):
        """mqueue_flush_file: the registered process closing a descriptor of the queue (also as it
        exits) gives up its mq_notify registration, so another process may register."""
        if self.queue.notify_files is fdtable:
            self.queue.notify = self.queue.notify_files = None


class QueueInode(Inode):
    def __init__(self, fs, mode, uid, gid, queue):
        super().__init__(fs, S_IFREG | (mode & 0o7777), uid=uid, gid=gid)
        self.queue = queue
        self.size = FILENT_SIZE

    def open(self, task, flags):
        return MqueueImpl(self)


class MqueueDir(TmpfsDir):
    """The root: queues only (no subdirectories, links, symlinks or devices, as Linux's mqueue)."""

    def __init__(self, fs):
        super().__init__(fs, S_IFDIR | 0o1777)

    def create(self, name, mode, creds=None):
        """open(2) with O_CREAT in /dev/mqueue: a queue with the default attributes."""
        return self.fs.new_queue(name, mode, creds, None)

    def unlink(self, name):
        super().unlink(name)
        self.fs.count -= 1

    def add_queue(self, name, inode):
        self._add(name, inode)

    def _refuse(self, *args, **kwargs):
        raise SyscallError(EPERM)

    mkdir = mknod = symlink = link = rename = _refuse


class MqueueFilesystem(Filesystem):
    name = "mqueue"
    magic = MQUEUE_MAGIC

    def __init__(self):
        super().__init__()
        self.root = Dentry(MqueueDir(self))
        self.count = 0                      # queues that exist (queues_max)
        self.internal_mount = anonymous_mount(self)   # what mq_open's descriptors are opened on

    def new_queue(self, name, mode, creds, attr, limits=None):
        """A new queue ``name`` with ``attr`` (maxmsg, msgsize) or the defaults, as mqueue_create_attr
        checks it: the count of queues, the attributes, the creator's RLIMIT_MSGQUEUE."""
        d = self.root.inode
        if name in d.entries:
            raise SyscallError(EEXIST)
        if len(name) > NAME_MAX:
            raise SyscallError(EINVAL)
        privileged = creds is not None and creds.has_cap(CAP_SYS_RESOURCE)
        if self.count >= LIMITS["queues_max"] and not privileged:
            raise SyscallError(ENOSPC)
        if attr is None:
            maxmsg = min(LIMITS["msg_default"], LIMITS["msg_max"])
            msgsize = min(LIMITS["msgsize_default"], LIMITS["msgsize_max"])
        else:
            maxmsg, msgsize = attr
            if maxmsg <= 0 or msgsize <= 0:
                raise SyscallError(EINVAL)
            top = (HARD_MSGMAX, HARD_MSGSIZEMAX) if privileged else (LIMITS["msg_max"], LIMITS["msgsize_max"])
            if maxmsg > top[0] or msgsize > top[1]:
                raise SyscallError(EINVAL)
        if limits is not None:
            cost = maxmsg * (msgsize + 48)   # mq_bytes: the messages and their per-message bookkeeping
            if cost > limits.get(RLIMIT_MSGQUEUE, (819200, 819200))[0]:
                raise SyscallError(EMFILE)
        uid = creds.fsuid if creds is not None else 0
        gid = creds.fsgid if creds is not None else 0
        inode = QueueInode(self, mode, uid, gid, Queue(maxmsg, msgsize))
        d.add_queue(name, inode)
        self.count += 1
        return inode


def register_notify(queue, tg, files, sigevent):
    """mq_notify: ``sigevent`` None unregisters (if ``tg`` is registered); else EBUSY if another is.
    ``files``: the registrant's FDTable, whose closing of the queue ends the registration."""
    if sigevent is None:
        if queue.notify is not None and queue.notify[0] is tg:
            queue.notify = queue.notify_files = None
        return
    if queue.notify is not None:
        raise SyscallError(EBUSY)
    queue.notify, queue.notify_files = (tg, *sigevent), files


def take_notification(queue):
    """A message arrived in the empty queue: the registration, if any and nobody waits to receive,
    is consumed and returned (the caller sends its signal)."""
    if queue.notify is None or queue.receivers or len(queue.heap) != 1:
        return None
    note, queue.notify, queue.notify_files = queue.notify, None, None
    return note
