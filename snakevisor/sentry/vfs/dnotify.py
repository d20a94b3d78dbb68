"""dnotify: fcntl(F_NOTIFY) on a directory signals its owner when something in it changes
(Linux's fs/notify/dnotify). A registration is an fsnotify mark (vfs/fsnotify.py) on the
directory's inode, held by the description; events about its entries and their contents map to
DN_* bits, and a matching one sends the description's F_SETSIG signal (POLL_MSG, si_fd) or
SIGIO to its owner, then ends the registration unless DN_MULTISHOT asked for more.
"""
from snakevisor.abi import inotify as N
from snakevisor.abi.errno import EINVAL, ENOTDIR, SyscallError
from snakevisor.abi.fs import (DN_ACCESS, DN_ATTRIB, DN_CREATE, DN_DELETE, DN_MODIFY, DN_MULTISHOT, DN_RENAME,
                               F_OWNER_PID)
from snakevisor.abi.signal import POLL_MSG
from snakevisor.sentry.vfs import fasync, fsnotify

# fs.dir-notify-enable (/proc/sys/fs): 0 turns F_NOTIFY off (EINVAL), as on Linux
LIMITS = {"dir_notify_enable": 1}

_DN_OF = ((N.IN_ACCESS, DN_ACCESS), (N.IN_MODIFY, DN_MODIFY), (N.IN_CREATE, DN_CREATE),
          (N.IN_DELETE, DN_DELETE), (N.IN_ATTRIB, DN_ATTRIB))


class DnotifyMark:
    __slots__ = ("kernel", "file", "fd", "mask", "move_cookie")

    def __init__(self, kernel, file, fd, mask):
        self.kernel, self.file, self.fd, self.mask = kernel, file, fd, mask
        self.move_cookie = None

    def deliver(self, inode, mask, cookie, name, unlinked=False):
        # The directory's own events count too (its attributes, reads of it: dnotify_handle_event
        # takes an event without a parent when it is a directory's); DN_RENAME is a rename within
        # the directory only (fsnotify_move's FS_DN_RENAME): a MOVED_TO here after its MOVED_FROM.
        if mask & N.IN_MOVED_FROM:
            self.move_cookie = cookie
            return
        renamed = bool(mask & N.IN_MOVED_TO) and cookie == self.move_cookie
        if renamed:
            self.move_cookie = None
        if not (renamed and self.mask & DN_RENAME) and not any(mask & ev and self.mask & dn for ev, dn in _DN_OF):
            return
        fasync.send_sigio(self.kernel, self.file, POLL_MSG, self.fd)
        if not self.mask & DN_MULTISHOT:
            release(self.file)

    def on_inode_gone(self, inode):
        release(self.file)


def fcntl_notify(task, f, fd, arg):
    """F_NOTIFY: ``arg`` with no event bits ends the registration; else the directory's events in
    ``arg`` are added to it, and the caller becomes the description's owner (as Linux does)."""
    if not LIMITS["dir_notify_enable"]:
        raise SyscallError(EINVAL)
    if not arg & ~DN_MULTISHOT:
        release(f)
        return 0
    inode = f.inode
    if inode is None or not inode.is_dir:
        raise SyscallError(ENOTDIR)
    f.owner, f.owner_type = task.tg.tgid, F_OWNER_PID
    if f.dnotify is not None:
        f.dnotify.mask |= arg
        f.dnotify.fd = fd
        return 0
    f.dnotify = DnotifyMark(task.kernel, f, fd, arg)
    fsnotify.add_mark(inode, f.dnotify)
    return 0


def release(f) -> None:
    mark, f.dnotify = f.dnotify, None
    if mark is not None:
        fsnotify.remove_mark(f.inode, mark)
