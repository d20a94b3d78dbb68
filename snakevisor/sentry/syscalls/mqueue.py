"""POSIX message queues: mq_open, mq_unlink, mq_timedsend, mq_timedreceive, mq_notify, mq_getsetattr.

Thin over fsimpl/mqueue.py (the queues and their filesystem, one per IPC namespace: ``task.ns.ipc.mqueue``).
A queue descriptor is a file descriptor, as on Linux.
"""
import struct

from snakevisor.abi import signal as S
from snakevisor.abi.capability import CAP_FOWNER
from snakevisor.abi.errno import (EACCES, EAGAIN, EBADF, EEXIST, EINVAL, EMSGSIZE, ENAMETOOLONG, ENOENT, EPERM,
                                  ETIMEDOUT, SyscallError)
from snakevisor.abi.poll import POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM
from snakevisor.abi.fs import NAME_MAX, O_ACCMODE, O_CLOEXEC, O_CREAT, O_EXCL, O_LARGEFILE, O_NONBLOCK, O_RDWR, \
    O_WRONLY, S_ISVTX, to_s32
from snakevisor.abi.ipc import MQ_PRIO_MAX
from snakevisor.abi.signal import SIGEV_NONE, SIGEV_SIGNAL
from snakevisor.sentry.fsimpl.mqueue import MqueueImpl, register_notify, take_notification
from snakevisor.sentry.kernel.pidns import seen_from
from snakevisor.sentry.kernel.userns import id_in
from snakevisor.sentry.kernel.signals import make_siginfo
from snakevisor.abi.time import CLOCK_REALTIME
from snakevisor.sentry.syscalls.time import NSEC, TIMESPEC, clock_ns
from snakevisor.sentry.vfs.file import FileDescription
from snakevisor.sentry.vfs.mount import VirtualDentry
from snakevisor.sentry.vfs.permissions import MAY_EXEC, MAY_READ, MAY_WRITE, check_permission
from snakevisor.sentry.syscalls.newfd import install_new

MQ_ATTR = struct.Struct("<qqqq32x")        # mq_flags, mq_maxmsg, mq_msgsize, mq_curmsgs, reserved
SIGEVENT = struct.Struct("<Qii")          # sigev_value, sigev_signo, sigev_notify (of 64 bytes)
_ACCESS = {0: MAY_READ, O_WRONLY: MAY_WRITE, O_RDWR: MAY_READ | MAY_WRITE}


def _fs(t):
    return t.ns.ipc.mqueue


def _name(t, addr):
    """The queue's name, as getname and lookup_one_len take it: not empty, ".", "..", nor with a slash."""
    name = t.mm.read_cstring(addr, 4096)
    if len(name) > NAME_MAX:
        raise SyscallError(ENAMETOOLONG)
    if not name:
        raise SyscallError(ENOENT)       # getname() refuses an empty string
    if name in (b".", b"..") or b"/" in name:
        raise SyscallError(EACCES)
    return name


def _deadline(t, addr):
    """An absolute CLOCK_REALTIME timeout as seconds from now (None: wait forever)."""
    if not addr:
        return None
    sec, nsec = TIMESPEC.unpack(t.mm.copy_in(addr, TIMESPEC.size))
    if sec < 0 or not 0 <= nsec < NSEC:
        raise SyscallError(EINVAL)
    return t.kernel.monotonic() + (sec * NSEC + nsec - clock_ns(t, CLOCK_REALTIME)) / NSEC


def _queue_file(t, fd):
    f = t.fdtable.get(to_s32(fd))
    if not isinstance(f.impl, MqueueImpl):
        raise SyscallError(EBADF)
    return f


def mq_open(t, name_addr, oflag, mode, attr_addr):
    oflag = to_s32(oflag)
    attr = MQ_ATTR.unpack(t.mm.copy_in(attr_addr, MQ_ATTR.size)) if attr_addr else None
    name = _name(t, name_addr)
    fs = _fs(t)
    root = fs.root
    try:
        dentry = root.child(name)
    except SyscallError as e:
        if e.errno != ENOENT or not oflag & O_CREAT:
            raise
        check_permission(t.creds, root.inode, MAY_WRITE | MAY_EXEC)
        inode = fs.new_queue(name, mode & ~t.fs.umask & 0o777, t.creds, attr and attr[1:3], t.limits)
        dentry = root.add_child(name, inode)
    else:
        if oflag & O_CREAT and oflag & O_EXCL:
            raise SyscallError(EEXIST)
        if oflag & O_ACCMODE == O_ACCMODE:
            raise SyscallError(EINVAL)
        check_permission(t.creds, dentry.inode, _ACCESS[oflag & O_ACCMODE])
    vd = VirtualDentry(fs.internal_mount, dentry)
    f = FileDescription(dentry.inode.open(t, oflag), vd, (oflag & ~(O_CREAT | O_EXCL | O_CLOEXEC)) | O_LARGEFILE)
    return install_new(t, f, bool(oflag & O_CLOEXEC))


def mq_unlink(t, name_addr):
    name = _name(t, name_addr)
    root = _fs(t).root
    inode = root.child(name).inode
    check_permission(t.creds, root.inode, MAY_WRITE | MAY_EXEC)
    if root.inode.mode & S_ISVTX and t.creds.fsuid not in (inode.uid, root.inode.uid) \
            and not t.creds.has_cap(CAP_FOWNER):
        raise SyscallError(EPERM)
    root.inode.unlink(name)
    root.forget_child(name)
    return 0


def _wait(t, q, events, deadline):
    """Sleep until the queue changes; ETIMEDOUT once the deadline has passed."""
    left = None if deadline is None else deadline - t.kernel.monotonic()
    if left is not None and left <= 0:
        raise SyscallError(ETIMEDOUT)
    yield from t.block_on(q.changed, events, left)


def mq_timedsend(t, fd, msg_addr, length, prio, timeout_addr):
    deadline = _deadline(t, timeout_addr)
    if prio >= MQ_PRIO_MAX:
        raise SyscallError(EINVAL)
    f = _queue_file(t, fd)
    if not f.writable:
        raise SyscallError(EBADF)
    q = f.impl.queue
    if length > q.msgsize:
        raise SyscallError(EMSGSIZE)
    data = t.mm.copy_in(msg_addr, length)
    while q.full:
        if f.flags & O_NONBLOCK:
            raise SyscallError(EAGAIN)
        yield from _wait(t, q, POLLOUT | POLLWRNORM, deadline)
    q.send(data, prio)
    note = take_notification(q)
    if note is not None:
        tg, how, signo, value = note
        if how == SIGEV_SIGNAL:   # __do_notify: the sender as the registered process's namespaces name it
            leader = tg.leader
            uid = id_in(leader.creds if leader is not None else None, t.creds.uid)
            t.kernel.signals.send_to_group(tg, signo, make_siginfo(signo, S.SI_MESGQ, seen_from(tg, t.tg.tgid), uid,
                                                                   value=value))
    return 0


def mq_timedreceive(t, fd, msg_addr, length, prio_addr, timeout_addr):
    deadline = _deadline(t, timeout_addr)
    f = _queue_file(t, fd)
    if not f.readable:
        raise SyscallError(EBADF)
    q = f.impl.queue
    if length < q.msgsize:
        raise SyscallError(EMSGSIZE)
    while not q.heap:
        if f.flags & O_NONBLOCK:
            raise SyscallError(EAGAIN)
        q.receivers += 1
        try:
            yield from _wait(t, q, POLLIN | POLLRDNORM, deadline)
        finally:
            q.receivers -= 1
    data, prio = q.receive()
    t.mm.copy_out(msg_addr, data)
    if prio_addr:
        t.mm.copy_out(prio_addr, struct.pack("<I", prio))
    return len(data)


def mq_notify(t, fd, sevp):
    sigevent = None
    if sevp:
        value, signo, how = SIGEVENT.unpack(t.mm.copy_in(sevp, SIGEVENT.size))
        if how not in (SIGEV_NONE, SIGEV_SIGNAL) or how == SIGEV_SIGNAL and not 1 <= signo <= 64:
            raise SyscallError(EINVAL)      # SIGEV_THREAD among them (see the note)
        sigevent = (how, signo if how == SIGEV_SIGNAL else 0, value)
    register_notify(_queue_file(t, fd).impl.queue, t.tg, t.fdtable, sigevent)
    return 0


def mq_getsetattr(t, fd, new_addr, old_addr):
    new = MQ_ATTR.unpack(t.mm.copy_in(new_addr, MQ_ATTR.size)) if new_addr else None
    if new is not None and new[0] & ~O_NONBLOCK:
        raise SyscallError(EINVAL)
    f = _queue_file(t, fd)
    q = f.impl.queue
    old = MQ_ATTR.pack(f.flags & O_NONBLOCK, q.maxmsg, q.msgsize, len(q.heap))
    if new is not None:
        f.flags = (f.flags & ~O_NONBLOCK) | (new[0] & O_NONBLOCK)
    if old_addr:
        t.mm.copy_out(old_addr, old)
    return 0

