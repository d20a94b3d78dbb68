"""Making an overlay superblock from its options (mount(2)'s data, fsconfig's keys): the layers'
paths resolved for the mounting Task and checked as fs/overlayfs/super.c checks them (EINVAL
for a missing lowerdir or workdir, a read-only upper, a workdir on another mount than the
upperdir or nested with it, a layer that is not a directory). Linux makes
workdir/work on mounting; so do we. The filesystem itself is fsimpl/overlay.py's."""
from snakevisor.abi.errno import EEXIST, EINVAL, SyscallError
from snakevisor.abi.fs import AT_FDCWD
from snakevisor.abi.mount_options import overlay_options
from snakevisor.sentry.fsimpl.overlay import OverlayFilesystem
from snakevisor.sentry.vfs.at import resolve_at


def _layer(t, path):
    vd = resolve_at(t, AT_FDCWD, path.encode())
    if not vd.dentry.inode.is_dir:
        raise SyscallError(EINVAL)   # Linux 6.18: EINVAL, not ENOTDIR
    return vd


def _check_work(upper, work):
    if upper.mount is not work.mount:
        raise SyscallError(EINVAL)   # "workdir and upperdir must reside under the same mount"
    if upper.dentry.is_ancestor_of(work.dentry) or work.dentry.is_ancestor_of(upper.dentry):
        raise SyscallError(EINVAL)   # "workdir and upperdir must be separate subtrees"
    try:
        work.dentry.inode.mkdir(b"work", 0)
    except SyscallError as e:
        if e.errno != EEXIST:
            raise


def new_overlay(t, pairs):
    try:
        o = overlay_options("overlay", pairs)
    except ValueError:
        raise SyscallError(EINVAL) from None
    if not o["lowers"] or (o["upperdir"] is None) != (o["workdir"] is None) and o["upperdir"] is not None:
        raise SyscallError(EINVAL)   # "missing 'lowerdir'", "missing 'workdir'"
    lowers = [_layer(t, p) for p in o["lowers"]]
    upper = None
    if o["upperdir"] is not None:
        upper = _layer(t, o["upperdir"])
        if upper.mount.readonly:
            raise SyscallError(EINVAL)   # "upper fs is r/o, try multi-lower layers mount"
        _check_work(upper, _layer(t, o["workdir"]))
    shown = ["lowerdir=" + ":".join(p.replace(":", "\\:") for p in o["lowers"])]
    if upper is not None:
        shown += [f"upperdir={o['upperdir']}", f"workdir={o['workdir']}"]
    if upper is not None and o.get("uuid", "auto") == "auto":
        o["uuid"] = "on"   # uuid=auto: on when the upper filesystem has a uuid (a tmpfs's, in Linux 6.18)
    shown += [f"{k}={o[k]}" for k in ("redirect_dir", "index", "xino", "metacopy", "uuid") if k in o]
    shown += [k for k in ("userxattr", "volatile") if o.get(k)]
    return OverlayFilesystem(upper.dentry if upper is not None else None, [vd.dentry for vd in lowers],
                             ",".join(shown), userxattr=bool(o.get("userxattr")))
