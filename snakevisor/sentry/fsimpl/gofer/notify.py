"""Revalidation by change notification on shared gofer mounts with directfs (issue 14).

The Gofer keeps one inotify instance per shared mount, watches each directory whose descriptor it
donates (gofer/watches.py), and donates the instance once (Tnotifyfd); each Rwalkfd names the
directory's watch. A watched directory (``GoferDirectory.wd``) keeps ``trusted``: the names whose
cached child was checked against the host since the last event naming them. At the first
revalidation of each path walk (vfs/resolve.py counts walks) the Sentry asks how many bytes are
queued (ioctl FIONREAD: 0.2 us, without the exception of a read that would block), reads them and
forgets what the events name: a child's name (created, deleted, moved, chmod'ed, written), every
name of a directory on its own DELETE_SELF/MOVE_SELF, every name of the mount on IN_Q_OVERFLOW; IN_IGNORED (the watch is gone) makes the directory unwatched. With
nothing pending, a trusted name costs no host call; any other name is checked with an fstatat
as before (directfs.check_child), and so is every name of a directory without a watch.

inotify reports a change when it is made, through any mount or namespace (it watches inodes):
drained at the start of the walk, it shows every change finished before the syscall began.
"""
import fcntl
import os
import struct

from snakevisor.abi.errno import SyscallError
from snakevisor.abi.fs import FIONREAD
from snakevisor.abi.inotify import INOTIFY_EVENT, IN_IGNORED, IN_Q_OVERFLOW

_HEAD = INOTIFY_EVENT.size
_unpack = INOTIFY_EVENT.unpack_from
_READ = 64 * 1024   # at most this much a read (then the rest: FIONREAD again)
_NBYTES = struct.Struct("<i")
_ioctl = fcntl.ioctl


class Notifier:
    """A shared mount's inotify descriptor and its watched directories by watch descriptor."""

    __slots__ = ("fd", "dirs", "walk", "_pending")

    def __init__(self, fd):
        self.fd = fd
        self._pending = bytearray(4)   # FIONREAD's int
        self.dirs = {}    # wd -> GoferDirectory
        self.walk = -1    # the walk whose revalidations the last drain serves

    def watched(self, directory, wd):
        """The Gofer reports ``directory`` watched as ``wd`` (0: not watched: checked per name)."""
        if directory.wd == wd:
            return
        self.forget(directory)
        if wd:
            other = self.dirs.get(wd)
            if other is not None:
                self.forget(other)   # a stale inode of the same host directory
            directory.wd = wd
            self.dirs[wd] = directory

    def forget(self, directory):
        """``directory`` is no longer watched (evicted, or its watch gone): nothing of it trusted."""
        if directory.wd and self.dirs.get(directory.wd) is directory:
            del self.dirs[directory.wd]
        directory.wd = 0
        directory.trusted.clear()

    def drain(self, walk):
        """Apply every pending event (once per ``walk``). FIONREAD says how many bytes are
        queued (0: nothing, the common case, without a failed read's exception)."""
        self.walk = walk
        pending = self._pending
        while True:
            try:
                _ioctl(self.fd, FIONREAD, pending)
                n = _NBYTES.unpack(pending)[0]
                if not n:
                    return
                data = os.read(self.fd, min(n, _READ))
            except OSError:
                self.overflow()   # cannot tell what changed: trust nothing
                return
            self._apply(data)

    def _apply(self, data):
        pos, end, dirs = 0, len(data), self.dirs
        while pos + _HEAD <= end:
            wd, mask, _cookie, n = _unpack(data, pos)
            name = data[pos + _HEAD:pos + _HEAD + n].rstrip(b"\0")
            pos += _HEAD + n
            if mask & IN_Q_OVERFLOW:
                self.overflow()
                continue
            d = dirs.get(wd)
            if d is None:
                continue
            if mask & IN_IGNORED:
                self.forget(d)
            elif name:
                d.trusted.discard(name)
            else:
                d.trusted.clear()   # the directory itself: moved, removed, chmod'ed

    def overflow(self):
        """Events were lost (the queue overflowed): every name is checked again."""
        for d in self.dirs.values():
            d.trusted.clear()

    def close(self):
        for d in list(self.dirs.values()):
            self.forget(d)
        os.close(self.fd)


def start(root_fid):
    """The mount's Notifier (Tnotifyfd from the root's fid), or None (a Gofer without it)."""
    try:
        fd = root_fid.notify_fd()
    except SyscallError:
        return None
    return None if fd is None else Notifier(fd)
