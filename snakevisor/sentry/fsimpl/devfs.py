"""devfs: /dev as a tmpfs tree populated with the standard character devices.

Devices (registered in the VFS device registry, so a mknod'ed node with the
same numbers behaves the same): null (1,3), zero (1,5), full (1,7),
random (1,8), urandom (1,9), tty (5,0), ptmx (5,2); the last two are opened
by fsimpl/devpts.py once it is mounted (until then ENXIO). Plus the usual symlinks
(/dev/fd -> /proc/self/fd, stdin/stdout/stderr) and the shm and pts
directories the kernel mounts on.
"""
import os
import struct

from snakevisor.abi.capability import CAP_SYS_ADMIN
from snakevisor.abi.errno import EINVAL, ENOSPC, ENXIO, EPERM, SyscallError
from snakevisor.abi.fs import (MEM_MAJOR, RNDADDENTROPY, RNDADDTOENTCNT, RNDCLEARPOOL, RNDGETENTCNT, RNDRESEEDCRNG,
                               RNDZAPENTCNT, S_IFCHR, S_IFDIR, makedev)
from snakevisor.abi.tty import TTYAUX_MAJOR
from snakevisor.sentry.fsimpl.tmpfs import TmpfsFilesystem
from snakevisor.sentry.mm.memoryfile import fill_view
from snakevisor.sentry.vfs.device import register_char_device
from snakevisor.sentry.vfs.file import FileDescriptionImpl


class _CharDeviceImpl(FileDescriptionImpl):
    # Linux lets lseek succeed on these (the position is meaningless, and stays 0).
    seekable = True
    seek_always_zero = True

    def end_offset(self):
        return 0


class NullImpl(_CharDeviceImpl):
    always_eof = True
    splice_read = False   # Linux's /dev/null has splice_write only

    def read(self, task, n, offset):
        return b""

    def write(self, task, data, offset):
        return len(data)

    def write_discarding(self, count):
        """write(2) without copying the data in: /dev/null never looks at it."""
        return count


class ZeroImpl(_CharDeviceImpl):
    # mmap of /dev/zero is an anonymous mapping: mm checks this attribute.
    anonymous_mapping = True

    def read(self, task, n, offset):
        return bytes(n)

    def copy_read(self, task, buf, n, offset):
        """A large read (``dd bs=64M``) zeroes application memory in place: it may be as large as
        Linux's MAX_RW_COUNT, so no bytes object of its size is made."""
        for view in task.mm.io_views(buf, n, write=True):
            fill_view(view, 0, len(view))
        return n

    def write(self, task, data, offset):
        return len(data)


class FullImpl(ZeroImpl):
    anonymous_mapping = False

    def write(self, task, data, offset):
        raise SyscallError(ENOSPC)

    def write_discarding(self, count):
        raise SyscallError(ENOSPC)


class RandomImpl(_CharDeviceImpl):
    def read(self, task, n, offset):
        return os.urandom(n)

    def copy_read(self, task, buf, n, offset):
        """A large read, in place, as ZeroImpl's."""
        for view in task.mm.io_views(buf, n, write=True):
            fill_view(view, 0, len(view), os.urandom)
        return n

    def write(self, task, data, offset):
        return len(data)   # "mixing into the pool": accepted and ignored

    def ioctl(self, task, cmd, arg):
        """random_ioctl: the entropy count (the pool is the host's, always full); the pool
        changes need CAP_SYS_ADMIN and change nothing here; anything else is EINVAL."""
        if cmd == RNDGETENTCNT:
            task.mm.copy_out(arg, struct.pack("<i", 256))
            return 0
        if cmd in (RNDADDTOENTCNT, RNDADDENTROPY, RNDZAPENTCNT, RNDCLEARPOOL, RNDRESEEDCRNG):
            if not task.creds.has_cap(CAP_SYS_ADMIN):
                raise SyscallError(EPERM)
            if cmd == RNDADDTOENTCNT:
                task.mm.copy_in(arg, 4)
            elif cmd == RNDADDENTROPY:
                count, size = struct.unpack("<ii", task.mm.copy_in(arg, 8))
                if count < 0 or size < 0:
                    raise SyscallError(EINVAL)
            return 0
        raise SyscallError(EINVAL)


def _open_tty(task, inode, flags):
    # Without a devpts filesystem there are no terminals: DevptsFilesystem replaces this opener.
    raise SyscallError(ENXIO)


register_char_device(MEM_MAJOR, 3, lambda task, inode, flags: NullImpl(inode))
register_char_device(MEM_MAJOR, 5, lambda task, inode, flags: ZeroImpl(inode))
register_char_device(MEM_MAJOR, 7, lambda task, inode, flags: FullImpl(inode))
register_char_device(MEM_MAJOR, 8, lambda task, inode, flags: RandomImpl(inode))
register_char_device(MEM_MAJOR, 9, lambda task, inode, flags: RandomImpl(inode))
register_char_device(TTYAUX_MAJOR, 0, _open_tty)
register_char_device(TTYAUX_MAJOR, 2, _open_tty)

DEVICES = (
    (b"null", MEM_MAJOR, 3, 0o666),
    (b"zero", MEM_MAJOR, 5, 0o666),
    (b"full", MEM_MAJOR, 7, 0o666),
    (b"random", MEM_MAJOR, 8, 0o666),
    (b"urandom", MEM_MAJOR, 9, 0o666),
    (b"tty", TTYAUX_MAJOR, 0, 0o666),
    (b"ptmx", TTYAUX_MAJOR, 2, 0o666),
)
SYMLINKS = (
    (b"fd", b"/proc/self/fd"),
    (b"stdin", b"/proc/self/fd/0"),
    (b"stdout", b"/proc/self/fd/1"),
    (b"stderr", b"/proc/self/fd/2"),
)
DIRS = ((b"shm", 0o1777), (b"pts", 0o755), (b"mqueue", 0o1777))


class DevFilesystem(TmpfsFilesystem):
    """A tmpfs whose root starts out holding the standard /dev entries."""

    def __init__(self, memory_file, **kw):
        kw.setdefault("mode", 0o755)
        super().__init__(memory_file, **kw)
        root = self.root.inode
        for name, major, minor, perm in DEVICES:
            root.mknod(name, S_IFCHR | perm, makedev(major, minor))
        for name, target in SYMLINKS:
            root.symlink(name, target)
        for name, perm in DIRS:
            d = root.mkdir(name, S_IFDIR | perm)
            d.mode = S_IFDIR | perm   # exact modes, whatever the umask of whoever boots us
