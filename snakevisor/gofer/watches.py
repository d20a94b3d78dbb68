"""Change notification for shared mounts (directfs): one inotify instance per mount, a watch on
each directory whose O_PATH descriptor the Gofer donates, the instance donated to the Sentry once.

The Sentry (sentry/fsimpl/gofer/notify.py) drains the instance at the start of each syscall
that walks the mount and trusts a cached name of a watched directory until an event names it:
inotify watches inodes, so a change through any mount or namespace is reported. Where no watch
can be had (the kernel's fs.inotify.max_user_watches: ENOSPC; or our own cap, below) the
directory's wd is 0 and the Sentry keeps checking each name with the host. Watches stay until
the mount ends (the kernel drops one whose directory is removed).
"""
import os

from snakevisor.abi.inotify import (IN_ATTRIB, IN_CLOEXEC, IN_CREATE, IN_DELETE, IN_DELETE_SELF, IN_MODIFY,
                                    IN_MOVE_SELF, IN_MOVED_FROM, IN_MOVED_TO, IN_NONBLOCK, IN_ONLYDIR)
from snakevisor.hostos.libc import get_errno, libc

from .hostfs import proc_path

# What changes a name, or the attributes a walk refreshes (modes and owners: search permission;
# sizes and times: a stat right after a host write must see it).
WATCH_MASK = (IN_ATTRIB | IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF
              | IN_MOVE_SELF | IN_ONLYDIR)


# Watches hold kernel memory and count against the host user's fs.inotify.max_user_watches, which
# host tools share: a mount takes at most this many (more directories are checked per name).
DEFAULT_CAP = 8192


def _cap():
    """A mount's bound on watches: SNAKEVISOR_GOFER_MAX_WATCHES (the tests' way to reach a limit
    without changing the host's sysctl; 0: the kernel's limit alone), else DEFAULT_CAP."""
    try:
        return max(0, int(os.environ.get("SNAKEVISOR_GOFER_MAX_WATCHES") or DEFAULT_CAP))
    except ValueError:
        return DEFAULT_CAP


class Watches:
    """A mount's inotify instance (non-blocking: the Sentry reads it without waiting)."""

    def __init__(self):
        fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            raise OSError(get_errno(), "inotify_init1")
        self.fd = fd
        self.cap = _cap()
        self.wds = set()

    def watch(self, path_fd: int) -> int:
        """The watch on the directory ``path_fd`` holds (the existing one if it is watched
        already: inotify returns the same wd for an inode), or 0 if none could be added."""
        if self.cap and len(self.wds) >= self.cap:
            return 0
        wd = libc.inotify_add_watch(self.fd, proc_path(path_fd), WATCH_MASK)
        if wd <= 0:
            return 0   # ENOSPC (the watch limit), or gone meanwhile: the Sentry checks each name
        self.wds.add(wd)
        return wd

    def close(self):
        os.close(self.fd)

