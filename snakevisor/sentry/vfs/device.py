"""The device registry: which FileDescriptionImpl a device special file opens.

A character or block device inode (devfs's, or one made by mknod on tmpfs)
opens whatever is registered for its (kind, major, minor), like Linux's
chrdev table. devfs registers null, zero, full, random, urandom, tty.
"""
from snakevisor.abi.errno import ENXIO, SyscallError
from snakevisor.abi.fs import S_IFCHR

_devices: dict[tuple[int, int, int], object] = {}


def register_device(kind: int, major: int, minor: int, opener) -> None:
    """``opener(task, inode, flags) -> FileDescriptionImpl`` (``task``: who opens); kind is S_IFCHR or S_IFBLK."""
    _devices[(kind, major, minor)] = opener


def register_char_device(major: int, minor: int, opener) -> None:
    register_device(S_IFCHR, major, minor, opener)


def open_device(task, kind: int, major: int, minor: int, inode, flags: int):
    opener = _devices.get((kind, major, minor))
    if opener is None:
        raise SyscallError(ENXIO)
    return opener(task, inode, flags)


_fifo_opener = None


def register_fifo_opener(opener) -> None:
    """pipefs registers how a named pipe opens: ``opener(inode, flags) -> FileDescriptionImpl``."""
    global _fifo_opener
    _fifo_opener = opener


def open_fifo(inode, flags: int):
    if _fifo_opener is None:
        raise SyscallError(ENXIO)
    return _fifo_opener(inode, flags)
