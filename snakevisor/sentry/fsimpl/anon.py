"""Anonymous files: descriptions that live on a mount in no namespace (anon_inode, pipefs, sockfs).

``new_anon_file`` builds the FileDescription for an impl over an inode of one
of these filesystems, with a Dentry named as Linux's readlink of
/proc/self/fd/N shows it ("pipe:[12]", "socket:[34]", "anon_inode:[eventfd]").
``anon_inode_file`` is the shared anon_inode filesystem's entry point (eventfd,
epoll, timerfd).
"""
import functools

from snakevisor.abi.fs import ANON_INODE_FS_MAGIC, O_RDWR
from snakevisor.sentry.vfs.dentry import Dentry
from snakevisor.sentry.vfs.file import FileDescription
from snakevisor.sentry.vfs.filesystem import Filesystem
from snakevisor.sentry.vfs.inode import Inode
from snakevisor.sentry.vfs.mount import VirtualDentry, anonymous_mount


class AnonFilesystem(Filesystem):
    """A pseudo filesystem with no root: pipefs, sockfs and anon_inodefs are instances."""

    def __init__(self, name: str, magic: int):
        super().__init__()
        self.name = name
        self.magic = magic
        self.mount = anonymous_mount(self)


def shared_anon_filesystem(name: str, magic: int):
    """A getter of the one AnonFilesystem ``name`` of the Sentry (pipefs, sockfs), made at first use."""
    return functools.cache(lambda: AnonFilesystem(name, magic))


def new_anon_file(fs: AnonFilesystem, inode: Inode, name: bytes, impl, flags: int) -> FileDescription:
    """A fresh FileDescription (refs=1) of ``impl`` at an unlinked Dentry ``name`` over ``inode``."""
    dentry = Dentry(inode, name)
    # The Dentry is in no directory: it goes (and drops its inode) with the last description.
    dentry.dead = True
    return FileDescription(impl, VirtualDentry(fs.mount, dentry), flags)


_anon_fs = None
_anon_inode = None


def anon_inode_file(kind: str, impl, flags: int = O_RDWR) -> FileDescription:
    """An anon_inode file ("anon_inode:[eventfd]"); like Linux, all share one inode."""
    global _anon_fs, _anon_inode
    if _anon_fs is None:
        _anon_fs = AnonFilesystem("anon_inodefs", ANON_INODE_FS_MAGIC)
        _anon_inode = Inode(_anon_fs, 0o600, nlink=1)
        _anon_inode.inc_ref()   # never evicted
    impl.inode = _anon_inode
    impl.splice_read = impl.splice_write = False   # no anon_inode file of Linux has them
    return new_anon_file(_anon_fs, _anon_inode, f"anon_inode:[{kind}]".encode(), impl, flags)
