"""Making an overlay superblock from its options (mount(2)'s data, fsconfig's keys): the layers'
paths resolved for the mounting Task and checked as fs/overlayfs/super.c checks them (EINVAL
for a missing lowerdir or workdir, a single lowerdir without an upper, a read-only upper, a
workdir on another mount than the upperdir or nested with it, a layer that is not a directory;
ELOOP for overlapping layers). Linux makes workdir/work on mounting; so do we. The filesystem
itself is fsimpl/overlay.py's."""
from snakevisor.abi.errno import EEXIST, EINVAL, ELOOP, SyscallError
from snakevisor.abi.fs import AT_FDCWD
from snakevisor.abi.mount_options import OVL_MAX_STACK, overlay_options, split_lowerdir
from snakevisor.sentry.fsimpl.overlay import OverlayFilesystem
from snakevisor.sentry.vfs.at import resolve_at

PATH_KEYS = ("lowerdir", "lowerdir+", "upperdir", "workdir")


def _layer(t, path, ctx=None):
    vd = resolve_at(t, AT_FDCWD, path.encode())
    if not vd.dentry.inode.is_dir:
        if ctx is not None:
            ctx.fail(f"{path} is not a directory")
        raise SyscallError(EINVAL)   # Linux 6.18: EINVAL, not ENOTDIR
    return vd


def check_fsconfig_path(t, ctx, key, value):
    """fsconfig(2) of an overlay's layer: Linux 6.18 resolves the path(s) then (ENOENT; EINVAL
    logging "... is not a directory"), before the parameter is taken."""
    if ctx.fstype != "overlay" or not isinstance(value, str) or key not in PATH_KEYS:
        return
    try:
        paths = split_lowerdir(value) if key == "lowerdir" else [value]
    except ValueError:
        return   # the parameter's own check says so
    if key == "lowerdir+" and len(ctx.params.get(key, ())) >= OVL_MAX_STACK:
        ctx.fail(f"too many lower directories, limit is {OVL_MAX_STACK}")
    for path in paths:
        _layer(t, path, ctx)


def _check_layers(lowers, upper, work):
    """Linux's checks of the layers' places: EINVAL for a workdir on another mount than the
    upperdir or nested with it, ELOOP for any other two layers one inside the other (the same
    directory twice included)."""
    if upper is not None:
        if upper.mount is not work.mount:
            raise SyscallError(EINVAL)   # "workdir and upperdir must reside under the same mount"
        if _nested(upper, work):
            raise SyscallError(EINVAL)   # "workdir and upperdir must be separate subtrees"
    layers = [vd.dentry for vd in lowers + ([upper, work] if upper is not None else [])]
    places = set(layers)
    if len(places) < len(layers):
        raise SyscallError(ELOOP)        # the same directory twice
    for d in layers:   # one walk up from each layer (500 lowers at most), not a test per pair
        p = d.parent
        while p is not None:
            if p in places:
                raise SyscallError(ELOOP)    # "overlapping ... path"
            p = p.parent


def _nested(a, b):
    return a.dentry.is_ancestor_of(b.dentry) or b.dentry.is_ancestor_of(a.dentry)


def _make_work(work):
    """workdir/work, as Linux makes it on mounting."""
    try:
        work.dentry.inode.mkdir(b"work", 0)
    except SyscallError as e:
        if e.errno != EEXIST:
            raise
    work.dentry.forget_child(b"work")


def _samefs(lowers, upper):
    return len({id(vd.dentry.inode.fs) for vd in lowers + ([upper] if upper is not None else [])}) == 1


def _shown(o, has_upper, samefs, readonly):
    """mountinfo's super options, as ovl_show_options (Linux 6.18, its default configuration:
    redirect_dir follow, index, xino, metacopy and nfs_export off): the layers, then what differs
    from the defaults once resolved as ovl_fs_params_verify resolves them."""
    redirect = o.get("redirect_dir") or ("nofollow" if o.get("userxattr") else "follow")
    if redirect == "off":
        redirect = "follow"   # redirect_always_follow
    if redirect == "follow" and not has_upper:
        redirect = "on"       # without an upper, following is all "on" can mean
    uuid = o.get("uuid", "auto")
    if uuid == "auto":   # on when a writable upper's filesystem has a uuid (a tmpfs has)
        uuid = "on" if has_upper and not readonly else None
    shown = ["lowerdir=" + ":".join(p.replace(":", "\\:") for p in o["lowers"])]
    if has_upper:
        shown += [f"upperdir={o['upperdir']}", f"workdir={o['workdir']}"]
    shown += ["default_permissions"] if o.get("default_permissions") else []
    shown += [f"redirect_dir={redirect}"] if redirect != "follow" else []
    shown += [f"uuid={uuid}"] if uuid else []
    shown += ["xino=auto"] if o.get("xino") == "auto" and not samefs else []
    shown += ["fsync=volatile"] if o.get("volatile") and has_upper else []
    shown += ["userxattr"] if o.get("userxattr") else []
    return ",".join(shown)


def new_overlay(t, pairs):
    try:
        o = overlay_options("overlay", pairs)
    except ValueError:
        raise SyscallError(EINVAL) from None
    if not o["lowers"] or (o["upperdir"] is None) != (o["workdir"] is None) and o["upperdir"] is not None:
        raise SyscallError(EINVAL)   # "missing 'lowerdir'", "missing 'workdir'"
    lowers = [_layer(t, p) for p in o["lowers"]]
    upper = work = None
    if o["upperdir"] is not None:
        upper, work = _layer(t, o["upperdir"]), _layer(t, o["workdir"])
        if upper.mount.readonly:
            raise SyscallError(EINVAL)   # "upper fs is r/o, try multi-lower layers mount"
    elif len(lowers) < 2:
        raise SyscallError(EINVAL)   # "at least 2 lowerdir are needed while upperdir nonexistent"
    _check_layers(lowers, upper, work)
    if work is not None:
        _make_work(work)
    return OverlayFilesystem(upper.dentry if upper is not None else None, [vd.dentry for vd in lowers],
                             lambda fs: _shown(o, upper is not None, _samefs(lowers, upper), fs.readonly),
                             userxattr=bool(o.get("userxattr")),
                             mounter=t.creds.copy())
