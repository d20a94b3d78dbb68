"""Unix permission checks (owner/group/other mode bits) for the VFS and syscalls.

The sandbox runs as root with all capabilities for now, so most checks pass;
they are still made so behaviour is right once credentials change. ``creds``
is the Task's credentials object (uid, gid, euid, egid, fsuid, fsgid,
groups) or None for the kernel itself (root).
"""
from snakevisor.abi.errno import EACCES, EPERM, SyscallError

MAY_EXEC = 1
MAY_WRITE = 2
MAY_READ = 4


def _ids(creds, real: bool):
    if creds is None:
        return 0, 0, ()
    if real:
        return getattr(creds, "uid", 0), getattr(creds, "gid", 0), tuple(getattr(creds, "groups", ()) or ())
    return (getattr(creds, "fsuid", getattr(creds, "euid", 0)), getattr(creds, "fsgid", getattr(creds, "egid", 0)),
            tuple(getattr(creds, "groups", ()) or ()))


def is_root(creds, real: bool = False) -> bool:
    return _ids(creds, real)[0] == 0


def check_permission(creds, inode, mask: int, real: bool = False) -> None:
    """Raise EACCES unless ``creds`` may access ``inode`` for ``mask`` (MAY_* bits).

    ``real``: use the real ids (access(2) without AT_EACCESS) instead of the fs ids.
    """
    uid, gid, groups = _ids(creds, real)
    mode = inode.mode
    if uid == 0:
        # Root (CAP_DAC_OVERRIDE) may do anything, except execute a file nobody may execute.
        if mask & MAY_EXEC and not inode.is_dir and not mode & 0o111:
            raise SyscallError(EACCES)
        return
    if uid == inode.uid:
        bits = (mode >> 6) & 7
    elif gid == inode.gid or inode.gid in groups:
        bits = (mode >> 3) & 7
    else:
        bits = mode & 7
    if mask & 7 & ~bits:
        raise SyscallError(EACCES)


def check_owner(creds, inode) -> None:
    """chmod/utimes-with-times: only the owner or root (CAP_FOWNER). EPERM otherwise."""
    uid, _, _ = _ids(creds, False)
    if uid != 0 and uid != inode.uid:
        raise SyscallError(EPERM)


def in_group(creds, gid: int) -> bool:
    _, g, groups = _ids(creds, False)
    return g == gid or gid in groups
