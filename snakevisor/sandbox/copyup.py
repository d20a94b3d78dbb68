"""The ``tmpcopyup`` mount option (runc's and crun's extension): a new tmpfs starts with a copy of
the directory it covers, so a ``--read-only`` container's tmpfs /run or /var/cache keeps what the
image put there.

``copy_tree(ctx, src, dst)`` copies the tree below the VirtualDentry ``src`` (the mount point,
before the tmpfs covers it) into ``dst`` (the tmpfs's root, not yet mounted): directories, regular
files with their data, symlinks, device nodes, FIFOs and sockets, each with its mode and owner.
The walk keeps its own stack (an image's deep tree cannot exhaust Python's), crosses no mount
(what is mounted below the mount point is not the image's) and is bounded by the tmpfs's size limit
(ENOSPC ends it, as the host's copy would end).
"""
from __future__ import annotations

from snakevisor.abi.errno import EEXIST, SyscallError
from snakevisor.abi.fs import O_CREAT, O_EXCL, O_RDONLY, O_WRONLY
from snakevisor.sentry.vfs.mount import VirtualDentry
from snakevisor.sentry.vfs.pathops import chown_vd, mkdir_path, mknod_path, open_path, open_vd, symlink_path

CHUNK = 1 << 20


def _copy_data(ctx, src: VirtualDentry, dst: VirtualDentry, name: bytes, mode: int) -> VirtualDentry:
    fin = open_vd(ctx, src, O_RDONLY)
    try:
        fout = open_path(ctx, dst, name, O_CREAT | O_EXCL | O_WRONLY, mode)
        try:
            while True:
                data = fin.read(None, CHUNK)
                if not data:
                    break
                fout.write(None, data)
        finally:
            fout.dec_ref()
    finally:
        fin.dec_ref()
    return VirtualDentry(dst.mount, dst.dentry.child(name))


def _copy_one(ctx, src: VirtualDentry, dst: VirtualDentry, name: bytes) -> VirtualDentry | None:
    """``name`` of ``src`` made in ``dst``; the new file, or None when ``dst`` has the name already
    (a devfs's own node). Its permission bits are set after the owner (chown clears set-ID bits)."""
    inode = src.inode
    perm = inode.mode & 0o7777
    try:
        if inode.is_dir:
            made = mkdir_path(ctx, dst, name, perm)
        elif inode.is_symlink:
            made = symlink_path(ctx, dst, name, inode.readlink(None))
        elif inode.is_reg:
            made = _copy_data(ctx, src, dst, name, perm)
        else:
            made = mknod_path(ctx, dst, name, inode.mode, inode.stat().rdev)
    except SyscallError as e:
        if e.errno == EEXIST:
            return None
        raise
    chown_vd(ctx, made, inode.uid, inode.gid)
    if not inode.is_symlink:
        made.inode.setattr(mode=perm)
    return made


def copy_tree(ctx, src: VirtualDentry, dst: VirtualDentry) -> None:
    """Copy what is below the directory ``src`` into the directory ``dst`` (see the module)."""
    stack = [(src, dst)]
    while stack:
        sdir, ddir = stack.pop()
        for name, _ino, _dtype in list(sdir.inode.iterdir()):
            child = VirtualDentry(sdir.mount, sdir.dentry.child(name))
            made = _copy_one(ctx, child, ddir, name)
            if made is not None and child.inode.is_dir:
                stack.append((child, made))
