"""inotify instances: the anon_inode:[inotify] file, its watches and its event queue (fs/notify/inotify/).

A ``Watch`` is a mark (vfs/fsnotify.py) on one inode for one instance, with a watch descriptor
and a mask; the VFS's events reach it and it queues what its mask asks for. The queue merges an
event identical to the last one not yet read, and past ``max_queued_events`` keeps a single
IN_Q_OVERFLOW. A watch removed (inotify_rm_watch, IN_ONESHOT, the inode deleted) queues
IN_IGNORED. Reads return whole events (EINVAL if the first does not fit), FIONREAD the bytes
queued, poll POLLIN while anything is queued.
"""
import struct
from collections import deque

from snakevisor.abi import inotify as N
from snakevisor.abi.errno import EAGAIN, EEXIST, EINVAL, EMFILE, ENOSPC, ENOTTY, SyscallError
from snakevisor.abi.fs import FIONREAD, O_NONBLOCK, O_RDONLY
from snakevisor.abi.poll import POLLIN, POLLRDNORM
from snakevisor.sentry.fsimpl.anon import anon_inode_file
from snakevisor.sentry.vfs import fsnotify
from snakevisor.sentry.vfs.file import FileDescriptionImpl
from snakevisor.sentry.vfs.waiter import WaitQueue

LIMITS = {"max_queued_events": N.MAX_QUEUED_EVENTS, "max_user_instances": N.MAX_USER_INSTANCES,
          "max_user_watches": N.MAX_USER_WATCHES}
_instances_of = {}     # uid -> instances open
_watches_of = {}       # uid -> watches held
OVERFLOW = (-1, N.IN_Q_OVERFLOW, 0, b"")
_USER_MASK = N.IN_ALL_EVENTS | N.IN_EXCL_UNLINK | N.IN_ONESHOT   # what inotify_mark_user_mask shows


def _encode(event):
    wd, mask, cookie, name = event
    if not name:
        return N.INOTIFY_EVENT.pack(wd, mask, cookie, 0)
    padded = (len(name) + 1 + N.INOTIFY_EVENT.size - 1) // N.INOTIFY_EVENT.size * N.INOTIFY_EVENT.size
    return N.INOTIFY_EVENT.pack(wd, mask, cookie, padded) + name.ljust(padded, b"\0")


class Watch:
    __slots__ = ("instance", "wd", "inode", "mask")

    def __init__(self, instance, wd, inode, mask):
        self.instance, self.wd, self.inode, self.mask = instance, wd, inode, mask

    def deliver(self, inode, mask, cookie, name, unlinked=False):
        if unlinked and self.mask & N.IN_EXCL_UNLINK:
            return   # an event through a name that was unlinked (inotify_handle_inode_event)
        wanted = mask & self.mask & N.IN_ALL_EVENTS
        if not wanted:
            return
        # inotify never reported IN_ISDIR with IN_MOVE_SELF and IN_DELETE_SELF, and still masks
        # it out (inotify_handle_inode_event), though fsnotify now passes it
        isdir = 0 if mask & (N.IN_MOVE_SELF | N.IN_DELETE_SELF) else mask & N.IN_ISDIR
        self.instance.queue(self.wd, wanted | isdir, cookie, name)
        if self.mask & N.IN_ONESHOT:
            self.instance.remove_watch(self)

    def on_inode_gone(self, inode):
        self.instance.remove_watch(self)


class InotifyImpl(FileDescriptionImpl):
    seekable = False

    def fdinfo(self):
        """inotify_fdinfo's line per watch: its wd, the inode's number and device (the kernel's
        MKDEV encoding), the user's mask with its flags, and the inode's file id (show_mark_fhandle;
        FILEID_INO32_GEN: its number and generation 0)."""
        lines = []
        for wd, w in reversed(list(self.watches.items())):   # the group's marks list: newest first
            st = w.inode.stat()
            major, minor = (st.dev >> 8) & 0xFFF, (st.dev & 0xFF) | ((st.dev >> 12) & 0xFFF00)
            handle = (st.ino & 0xFFFFFFFF).to_bytes(4, "little").hex() + "00000000"
            lines.append(f"inotify wd:{wd:x} ino:{st.ino:x} sdev:{major << 20 | minor:x} mask:{w.mask & _USER_MASK:x} "
                         f"ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:{handle}\n")
        return "".join(lines)

    def __init__(self, uid):
        super().__init__()
        self.uid = uid
        self.events = deque()
        self.size = 0                   # bytes of the queued events
        self.watches = {}               # wd -> Watch
        self.by_inode = {}              # Inode -> Watch
        self.next_wd = 1
        self.waiters = WaitQueue()

    # -- the queue -----------------------------------------------------------------
    def queue(self, wd, mask, cookie, name):
        event = (wd, mask, cookie, name)
        if self.events and self.events[-1] == event:
            return                      # merged with the identical event not yet read
        if len(self.events) >= LIMITS["max_queued_events"]:
            if self.events[-1] == OVERFLOW:
                return
            event = OVERFLOW
        self.events.append(event)
        self.size += len(_encode(event))
        self.waiters.notify(POLLIN | POLLRDNORM)

    def read(self, task, n, offset):
        if not self.events:
            raise SyscallError(EAGAIN)
        out = []
        used = 0
        while self.events:
            blob = _encode(self.events[0])
            if used + len(blob) > n:
                break
            out.append(blob)
            used += len(blob)
            self.events.popleft()
            self.size -= len(blob)
        if not out:
            raise SyscallError(EINVAL)   # the next event does not fit in the buffer
        return b"".join(out)

    def readiness(self, task, mask):
        return (POLLIN | POLLRDNORM) & mask if self.events else 0

    def waitable(self, task):
        return self.waiters

    def ioctl(self, task, cmd, arg):
        if cmd == FIONREAD:
            task.mm.copy_out(arg, struct.pack("<i", self.size))
            return 0
        raise SyscallError(ENOTTY)

    # -- watches --------------------------------------------------------------------
    def add_watch(self, inode, mask):
        watch = self.by_inode.get(inode)
        if watch is not None:
            if mask & N.IN_MASK_CREATE:
                raise SyscallError(EEXIST)
            watch.mask = (watch.mask | mask) if mask & N.IN_MASK_ADD else mask
            return watch.wd
        if _watches_of.get(self.uid, 0) >= LIMITS["max_user_watches"]:
            raise SyscallError(ENOSPC)
        wd = self.next_wd
        while wd in self.watches:
            wd = wd + 1 if wd < 0x7FFFFFFF else 1
        self.next_wd = wd + 1 if wd < 0x7FFFFFFF else 1
        watch = Watch(self, wd, inode, mask)
        self.watches[wd] = watch
        self.by_inode[inode] = watch
        _watches_of[self.uid] = _watches_of.get(self.uid, 0) + 1
        fsnotify.add_mark(inode, watch)
        return wd

    def remove_watch(self, watch, announce=True):
        if self.watches.get(watch.wd) is not watch:
            return
        del self.watches[watch.wd]
        del self.by_inode[watch.inode]
        _watches_of[self.uid] -= 1
        if announce:
            self.queue(watch.wd, N.IN_IGNORED, 0, b"")
        fsnotify.remove_mark(watch.inode, watch)

    def rm_watch(self, wd):
        watch = self.watches.get(wd)
        if watch is None:
            raise SyscallError(EINVAL)
        self.remove_watch(watch)

    def release(self):
        for watch in list(self.watches.values()):
            self.remove_watch(watch, announce=False)
        _instances_of[self.uid] -= 1


def new_inotify(uid, nonblock):
    if _instances_of.get(uid, 0) >= LIMITS["max_user_instances"]:
        raise SyscallError(EMFILE)
    _instances_of[uid] = _instances_of.get(uid, 0) + 1
    return anon_inode_file("inotify", InotifyImpl(uid), O_RDONLY | (O_NONBLOCK if nonblock else 0))
