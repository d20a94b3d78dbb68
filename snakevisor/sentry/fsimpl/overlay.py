"""overlay: Linux's overlayfs (Documentation/filesystems/overlayfs.rst) over the Sentry's own VFS.

A mount stacks directories of any filesystems the Sentry has (tmpfs, Gofer mounts, another
overlay): one optional writable *upper* and one or more read-only *lowers* (lowerdir=A:B:C, A on
top). Directories merge: a name in a higher layer hides the same name below, a *whiteout* (a
character device 0:0, or in a lower directory marked overlay.opaque "x" an empty regular file
with the trusted./user.overlay.whiteout xattr) hides it without showing anything, an *opaque*
directory (trusted./user.overlay.opaque "y") hides the lower contents of its name. Any change
to a lower file first *copies it up* (data, mode, owner, times, xattrs) with its parent
directories; removing a lower name leaves a whiteout in the upper. Without redirect_dir,
renaming a directory that has a lower part is EXDEV.

Each name is an ``OverlayInode`` holding its upper Dentry (or None) and the lower Dentries
merged under it (a non-directory: the one it shows); layers are used through their own Dentry
trees, so their caches stay right for their own mounts. A directory keeps the OverlayInodes of
its children it has handed out (weakly), so the VFS's cached Dentries and the inode a later
operation looks up are one object, and a copy-up or rename is seen by both. Attributes are the
topmost real inode's; st_dev/st_ino as Linux's without xino (``OverlayFilesystem.identity``);
a merged directory's nlink is 1. A lower file opened read-only is the lower file's own open
(``LowerOpen``: its upper copy's once copied up; mappings made before stay the lower file's);
opening it for writing copies it up first. Hard links of lower files copy up separately
(Linux without index). Permission checks are the VFS's, on these attributes (the caller's
credentials); the layers' own changes are checked with the mounter's (writing and searching an
upper directory, reading a lower file to copy it up), and new files get the caller's ids.
"""
import dataclasses
import weakref

from snakevisor.abi.errno import (EEXIST, EINVAL, EROFS, EISDIR, ENODATA, ENOENT, ENOTDIR, ENOTEMPTY, EXDEV,
                                  SyscallError)
from snakevisor.abi.fs import (DT_CHR, DT_REG, FS_APPEND_FL, FS_IMMUTABLE_FL, FS_NOATIME_FL, FS_SYNC_FL, O_ACCMODE,
                               O_RDONLY, O_TRUNC, O_WRONLY, RENAME_EXCHANGE, RENAME_NOREPLACE, S_IFCHR, WHITEOUT_DEV,
                               XATTR_NAME_CAPS)
from snakevisor.sentry.vfs.dentry import Dentry
from snakevisor.sentry.vfs.filesystem import Filesystem, new_anon_dev
from snakevisor.sentry.vfs import posix_acl
from snakevisor.sentry.vfs.inode import Inode
from snakevisor.sentry.vfs.permissions import MAY_EXEC, MAY_READ, MAY_WRITE, check_permission

OVERLAYFS_SUPER_MAGIC = 0x794C7630
PROT_FLAGS = FS_APPEND_FL | FS_IMMUTABLE_FL    # kept in the overlay.protattr xattr of the upper
COPIED_FLAGS = FS_SYNC_FL | FS_NOATIME_FL      # what copy-up copies of the others (OVL_COPY_FS_FLAGS_MASK)
COPY_CHUNK = 1 << 20


def _child(directory, name):
    """The Dentry ``name`` in a layer's ``directory`` (a Dentry of that layer's tree, whose cache
    stays the one its own mounts use), or None."""
    if directory is None:
        return None
    try:
        return directory.child(name)
    except SyscallError as e:
        if e.errno in (ENOENT, ENOTDIR):
            return None
        raise


def _xattr(inode, name):
    try:
        return inode.getxattr(name)
    except SyscallError:
        return None


class OverlayFilesystem(Filesystem):
    name = "overlay"
    magic = OVERLAYFS_SUPER_MAGIC
    readonly_apart = True   # mountinfo: "ro" in the super options of an overlay without an upper
    kill_unmounted = True   # an fs context closed before fsmount lets go of the layers (fscontext.py)
    _ro = False
    has_upper = True

    @property
    def readonly(self):
        return self._ro or not self.has_upper   # a remount cannot make an upper-less overlay writable

    @readonly.setter
    def readonly(self, value):
        if not value and not self.has_upper and self.root is not None:
            raise SyscallError(EROFS)   # ovl_reconfigure: no upper, no read-write
        self._ro = value

    def __init__(self, upper, lowers, show, userxattr=False, mounter=None):
        """``upper`` (or None) and ``lowers``: the layers' root Dentries; ``mounter``: the
        credentials the layers' own operations are checked with (None: the Sentry's, unchecked)."""
        super().__init__(readonly=False)
        self.has_upper, self.mounter = upper is not None, mounter
        self.show = show                  # fs -> mountinfo's super options
        self.prefix = b"user.overlay." if userxattr else b"trusted.overlay."
        self._layers = lowers + ([upper] if upper is not None else [])   # held while the filesystem lives
        for d in self._layers:
            d.inc_ref()
        # Linux's overlay holds private clones of the layers' mounts: their filesystems stay
        # active (not killed, their files kept) when the mounts they were reached by go.
        self._layer_fss = list({id(d.inode.fs): d.inode.fs for d in self._layers}.values())
        for f in self._layer_fss:
            f.active_mounts = getattr(f, "active_mounts", 0) + 1
        # Layers on one filesystem: everything shows the overlay's st_dev. Otherwise (Linux without
        # xino) directories do, with numbers of the overlay's own, and other files a pseudo device
        # of their origin's filesystem (the upper's first) with their real inode number.
        layer_fss = [d.inode.fs for d in ([upper] if upper is not None else []) + lowers]
        self.samefs = all(f is layer_fss[0] for f in layer_fss)
        self.pseudo_devs = {}
        for f in layer_fss:
            if f not in self.pseudo_devs:
                self.pseudo_devs[f] = new_anon_dev()
        self.dir_inos = weakref.WeakKeyDictionary()   # origin inode -> a directory's number here
        self.next_ino()   # the root is 2, as Linux's
        self.root = Dentry(OverlayInode(self, upper, lowers, None, b""))

    def identity(self, origin):
        """st_dev and st_ino of a name whose origin (lowest copied-from) real inode is ``origin``."""
        if self.samefs:
            return self.dev, origin.ino
        if origin.is_dir:
            if origin not in self.dir_inos:
                self.dir_inos[origin] = self.next_ino()
            return self.dev, self.dir_inos[origin]
        return self.pseudo_devs.get(origin.fs, self.dev), origin.ino

    def mount_options(self) -> str:
        return self.show(self)

    def kill(self) -> None:
        for d in self._layers:
            d.dec_ref()
        self._layers = []
        fss, self._layer_fss = self._layer_fss, []
        for f in fss:   # as the clones' mntput: the last active user of a layer's filesystem kills it
            f.active_mounts -= 1
            if f.active_mounts == 0 and hasattr(f, "kill"):
                f.kill()

    def is_whiteout(self, d, lower_dir=None) -> bool:
        """A char 0:0; in a lower directory marked overlay.opaque "x" (Linux 6.8's xwhiteouts),
        also an empty regular file with the overlay.whiteout xattr."""
        inode = d.inode
        if inode.type == S_IFCHR and inode.rdev == WHITEOUT_DEV:
            return True
        return (lower_dir is not None and inode.is_reg and inode.size == 0
                and _xattr(inode, self.prefix + b"whiteout") is not None
                and _xattr(lower_dir.inode, self.prefix + b"opaque") == b"x")

    def is_opaque(self, d) -> bool:
        return d.inode.is_dir and _xattr(d.inode, self.prefix + b"opaque") == b"y"


class OverlayInode(Inode):
    """One name of the overlay: ``upper`` (a layer Dentry or None) over ``lowers`` (layer Dentries,
    topmost first: the merged directories, or the one non-directory shown)."""

    def __init__(self, fs, upper, lowers, parent, name):
        self.fs = fs
        self.upper, self.lowers = upper, list(lowers)
        self.parent, self.name = parent, name
        self.st_dev, self.ino = fs.identity((lowers[0] if lowers else upper).inode)
        self.refs = self.writers = self.exec_users = 0
        self._held = []
        self.kids = weakref.WeakValueDictionary()

    # --- attributes: the topmost real inode's ------------------------------------------------
    real = property(lambda self: (self.upper if self.upper is not None else self.lowers[0]).inode)
    mode = property(lambda self: self.real.mode)
    uid = property(lambda self: self.real.uid)
    gid = property(lambda self: self.real.gid)
    rdev = property(lambda self: self.real.rdev)
    size = property(lambda self: self.real.size)
    atime = property(lambda self: self.real.atime)
    mtime = property(lambda self: self.real.mtime)
    ctime = property(lambda self: self.real.ctime)
    direct_io = property(lambda self: self.real.direct_io)

    # chattr's flags: the real inode's; setting them copies up first (Linux's ovl_fileattr_set)
    user_flags = property(lambda self: self.real.user_flags)

    @property
    def iflags(self):
        if self.upper is None:
            return self.real.iflags
        real = self.upper.inode
        return real.iflags & ~PROT_FLAGS | _prot_flags(_xattr(real, self.fs.prefix + b"protattr"))

    @iflags.setter
    def iflags(self, flags):
        """Immutable and append-only go to the overlay.protattr xattr, the rest to the upper
        inode (ovl_fileattr_set: the upper stays changeable by the overlay itself)."""
        self.copy_up()
        _set_iflags(self.fs, self.upper.inode, flags)

    @property
    def merged(self) -> bool:
        return self.is_dir and bool(self.lowers) and (self.upper is not None or len(self.lowers) > 1)

    @property
    def nlink(self):
        return 1 if self.merged else self.real.nlink

    def stat(self):
        st = self.real.stat()
        st.dev, st.ino = self.st_dev, self.ino
        if self.merged:
            st.nlink = 1
        return st

    def blocks(self):
        return self.real.blocks()

    def touch_atime(self):
        pass    # the real file's own reads and writes keep its times

    def touch_mtime(self):
        if self.upper is not None:
            self.upper.inode.touch_mtime()

    def touch_ctime(self):
        if self.upper is not None:
            self.upper.inode.touch_ctime()

    # --- references: the real inodes stay alive while this one is referenced ---------------------
    def inc_ref(self):
        if self.refs == 0:
            self._hold()
        self.refs += 1

    def _hold(self):
        for r in [self.upper] + self.lowers[:1]:
            if r is not None and r not in self._held:
                r.inc_ref()
                self._held.append(r)

    def dec_ref(self):
        self.refs -= 1
        if self.refs == 0:
            held, self._held = self._held, []
            for r in held:
                r.dec_ref()

    # --- copy-up -------------------------------------------------------------------------------
    def copy_up(self, data=True):
        """Give this name an upper inode (a copy of the lower one), its parents first; without
        ``data`` for an open that truncates it anyway (Linux's O_TRUNC copy-up)."""
        if self.upper is not None:
            return
        if self.parent is None:
            raise SyscallError(EXDEV)   # a read-only overlay's root: no upper at all
        self.parent.copy_up()
        parent, lo = self.parent, self.lowers[0].inode
        parent.drop_whiteout(self.name)
        d = self._copy_object(parent, lo)
        try:
            if lo.is_reg and data:
                if self.fs.mounter is not None:
                    check_permission(self.fs.mounter, lo, MAY_READ)
                _copy_data(lo, d.inode)
            _copy_attrs(self.fs, lo, d.inode)
            if lo.is_reg and not data and lo.size:
                d.inode.touch_mtime()   # the truncation the open does to the copy (now empty already)
        except SyscallError:   # no half-made copy left (Linux makes it in workdir, then renames)
            parent.in_upper("rmdir" if lo.is_dir else "unlink", self.name)
            raise
        self.upper = d
        if not self.is_dir:
            self.lowers = []   # a copied-up file shows its upper only (its st_ino stays the lower's,
            if lo.nlink > 1:   # unless a hard link of it stays below: then the upper's, as Linux)
                self.st_dev, self.ino = self.fs.identity(d.inode)
        if self.refs:
            self._hold()

    def _copy_object(self, parent, lo):
        """The upper copy of lower inode ``lo`` in ``parent``'s upper directory: its Dentry."""
        if lo.is_dir:
            return parent.in_upper("mkdir", self.name, lo.mode & 0o7777)
        if lo.is_symlink:
            return parent.in_upper("symlink", self.name, lo.readlink(None))
        if not lo.is_reg:
            return parent.in_upper("mknod", self.name, lo.mode, lo.rdev)
        return parent.in_upper("create", self.name, lo.mode & 0o7777)

    # --- files ---------------------------------------------------------------------------------
    def open(self, task, flags):
        if self.is_dir:
            return super().open(task, flags)
        if flags & O_ACCMODE != O_RDONLY or flags & O_TRUNC:
            self.copy_up(data=not flags & O_TRUNC)
        impl = self.real.open(task, flags)
        if self.upper is None:
            return LowerOpen(self, impl, flags)
        impl.stat = self.stat   # fstat shows the overlay's view, as stat does
        return impl

    def readlink(self, task):
        return self.real.readlink(task)

    def setattr(self, **attrs):
        self.copy_up()
        self.upper.inode.setattr(**attrs)

    def statfs(self):
        return dataclasses.replace(self.real.statfs(), type=OVERLAYFS_SUPER_MAGIC)   # the layer's own copy untouched

    def ioctl(self, task, cmd, arg):
        return self.real.ioctl(task, cmd, arg)

    # --- extended attributes: the topmost real inode's, the overlay's own hidden -----------------
    def _private(self, name):
        return name.startswith(self.fs.prefix)

    def keeps_acls(self):
        # An ACL is set on the copy up: the upper layer's filesystem says what it does with it.
        return self.fs.has_upper and self.fs._layers[-1].inode.keeps_acls()

    def access_acl(self):
        return self.real.access_acl()

    def check_acl_removal(self, name):
        """ovl_set_or_remove_acl: removing an ACL a file not yet copied up lacks is ENODATA, and
        copies nothing up."""
        if self.upper is None:
            self.real.getxattr(name)

    def default_acl(self):
        return self.real.default_acl()

    def getxattr(self, name):
        if self._private(name):
            raise SyscallError(ENODATA)
        return self.real.getxattr(name)

    def listxattr(self):
        return [k for k in self.real.listxattr() if not self._private(k)]

    def setxattr(self, name, value, flags):
        if self._private(name):
            raise SyscallError(EINVAL)
        self.copy_up()
        self.upper.inode.setxattr(name, value, flags)

    def has_file_caps(self):
        if self.upper is None:   # a lower file's go up with it (copy-up copies xattrs), to be dropped there
            return _xattr(self.real, XATTR_NAME_CAPS) is not None
        return self.real.has_file_caps()

    def kill_priv(self):
        if self.has_file_caps():   # a lower file's go with its copy-up (ovl_setattr)
            self.copy_up()
            self.upper.inode.kill_priv()

    def removexattr(self, name):
        if self._private(name):
            raise SyscallError(ENODATA)
        self.real.getxattr(name)   # ENODATA before any copy-up
        self.copy_up()
        self.upper.inode.removexattr(name)

    # --- directories: lookup and listing merge the layers --------------------------------------
    def lookup(self, name):
        if not self.is_dir:
            raise SyscallError(ENOTDIR)
        kid = self.kids.get(name)
        if kid is None:
            kid = self._merge(name)
            self.kids[name] = kid
        return kid

    def _merge(self, name):
        fs, upper, lowers = self.fs, _child(self.upper, name), []
        if upper is not None:
            if fs.is_whiteout(upper):
                raise SyscallError(ENOENT)
            if not upper.inode.is_dir or fs.is_opaque(upper):
                return OverlayInode(fs, upper, [], self, name)
        for lo in self.lowers:
            c = _child(lo, name)
            if c is None:
                continue
            if fs.is_whiteout(c, lo) or (lowers or upper is not None) and not c.inode.is_dir:
                break
            lowers.append(c)
            if not c.inode.is_dir or fs.is_opaque(c):
                break
        if upper is None and not lowers:
            raise SyscallError(ENOENT)
        return OverlayInode(fs, upper, lowers, self, name)

    def iterdir(self):
        """The merged listing: each name's topmost entry, whiteouts left out. d_ino as Linux's
        without xino: on one filesystem st_ino's number, else the topmost entry's real one."""
        if not self.is_dir:
            raise SyscallError(ENOTDIR)
        top = {}
        for layer in ([self.upper] if self.upper is not None else []) + self.lowers:
            xmarked = layer is not self.upper and _xattr(layer.inode, self.fs.prefix + b"opaque") == b"x"
            for name, ino, dtype in layer.inode.iterdir():
                top.setdefault(name, (ino, dtype, xmarked))
        out = []
        for name, (ino, dtype, xmarked) in top.items():
            if self.fs.samefs or dtype == DT_CHR or dtype == DT_REG and xmarked:
                try:
                    kid = self.lookup(name)   # a whiteout candidate (or the number Linux shows)
                except SyscallError:
                    continue
                ino = kid.ino if self.fs.samefs else ino
            out.append((name, ino, dtype))
        return out

    def lower_positive(self, name) -> bool:
        """Does a lower layer show ``name`` here (so removing it needs a whiteout)?"""
        for lo in self.lowers:
            c = _child(lo, name)
            if c is not None:
                return not self.fs.is_whiteout(c, lo)
        return False

    def drop_whiteout(self, name) -> bool:
        """Remove a whiteout of ``name`` from the upper directory; was there one?"""
        c = _child(self.upper, name)
        if c is not None and self.fs.is_whiteout(c):
            self.in_upper("unlink", name)
            return True
        return False

    def _whiteout(self, name):
        self.in_upper("mknod", name, S_IFCHR, WHITEOUT_DEV)

    def in_upper(self, op, name, *args):
        """The upper directory's ``op`` (an Inode method) on ``name``, the upper layer's Dentry
        cache kept in step; the Dentry of ``name`` afterwards (None when gone)."""
        if self.fs.mounter is not None:
            check_permission(self.fs.mounter, self.upper.inode, MAY_WRITE | MAY_EXEC)
        getattr(self.upper.inode, op)(name, *args)
        self.upper.forget_child(name)
        return _child(self.upper, name)

    # --- directories: changes go to the upper layer ---------------------------------------------
    def _prepare_new(self, name):
        if self.nlink == 0:
            raise SyscallError(ENOENT)
        try:
            self.lookup(name)
            raise SyscallError(EEXIST)
        except SyscallError as e:
            if e.errno != ENOENT:
                raise
        self.copy_up()
        self.kids.pop(name, None)
        return self.drop_whiteout(name) or self.lower_positive(name)

    def _made(self, name, d):
        kid = OverlayInode(self.fs, d, [], self, name)
        self.kids[name] = kid
        return kid

    def create(self, name, mode, creds=None):
        self._prepare_new(name)
        return self._made(name, self.in_upper("create", name, mode, creds))

    def mkdir(self, name, mode, creds=None):
        hides = self._prepare_new(name)
        d = self.in_upper("mkdir", name, mode, creds)
        if hides:   # a new directory where a lower name was removed: none of it shows
            d.inode.setxattr(self.fs.prefix + b"opaque", b"y", 0)
        return self._made(name, d)

    def mknod(self, name, mode, rdev, creds=None):
        self._prepare_new(name)
        return self._made(name, self.in_upper("mknod", name, mode, rdev, creds))

    def symlink(self, name, target, creds=None):
        self._prepare_new(name)
        return self._made(name, self.in_upper("symlink", name, target, creds))

    def link(self, name, inode):
        if not isinstance(inode, OverlayInode) or inode.fs is not self.fs:
            raise SyscallError(EXDEV)
        inode.copy_up()
        self._prepare_new(name)
        d = self.in_upper("link", name, inode.upper.inode)
        self.kids[name] = inode
        if inode.parent is None:   # an O_TMPFILE file's first name: its upper Dentry now a named one
            inode.parent, inode.name, inode.upper = self, name, d
            if inode.refs:
                inode._hold()

    def tmpfile(self, mode, exclusive, creds=None):
        """open(O_TMPFILE): an unnamed file of the upper directory (Linux 6.6+)."""
        if not self.is_dir:
            raise SyscallError(ENOTDIR)
        self.copy_up()
        real = self.upper.inode.tmpfile(mode, exclusive, creds)
        d = Dentry(real, b"#%d" % real.ino)
        kid = OverlayInode(self.fs, d, [], None, b"")
        d.inc_ref()
        kid._held.append(d)   # as if held: dropped with the overlay inode's last reference
        d.kill()
        return kid

    def unlink(self, name):
        kid = self.lookup(name)
        if kid.is_dir:
            raise SyscallError(EISDIR)
        self._remove(name, kid)

    def rmdir(self, name):
        kid = self.lookup(name)
        if not kid.is_dir:
            raise SyscallError(ENOTDIR)
        if kid.iterdir():
            raise SyscallError(ENOTEMPTY)
        kid.clear_whiteouts()
        self._remove(name, kid)

    def clear_whiteouts(self):
        """An empty merged directory about to go: its upper holds only whiteouts."""
        if self.upper is not None:
            for n, _, _ in list(self.upper.inode.iterdir()):
                self.in_upper("unlink", n)

    def _remove(self, name, kid):
        self.copy_up()
        if kid.upper is not None:
            self.in_upper("rmdir" if kid.is_dir else "unlink", name)
        if self.lower_positive(name):
            self._whiteout(name)
        self.kids.pop(name, None)

    def rename(self, oldname, newdir, newname, flags=0, creds=None):
        if not isinstance(newdir, OverlayInode) or newdir.fs is not self.fs:
            raise SyscallError(EXDEV)
        if flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE) or flags & RENAME_NOREPLACE and flags & RENAME_EXCHANGE:
            raise SyscallError(EINVAL)   # RENAME_WHITEOUT: EINVAL, as Linux's overlay
        src = self.lookup(oldname)
        if flags & RENAME_EXCHANGE:
            return self._exchange(src, newdir, newdir.lookup(newname))
        try:
            dst = newdir.lookup(newname)
        except SyscallError as e:
            if e.errno != ENOENT:
                raise
            dst = None
        if src is dst:
            return
        if dst is not None:
            _check_replace(src, dst, flags)
        if src.is_dir and src.lowers:
            raise SyscallError(EXDEV)   # redirect_dir=off
        src.copy_up()
        newdir.copy_up()
        if dst is not None and dst.is_dir:
            dst.clear_whiteouts()
        if dst is not None and dst.upper is not None:
            newdir.in_upper("rmdir" if dst.is_dir else "unlink", newname)
        newdir.drop_whiteout(newname)
        if src.is_dir and newdir.lower_positive(newname) and not self.fs.is_opaque(src.upper):
            src.upper.inode.setxattr(self.fs.prefix + b"opaque", b"y", 0)
        self.upper.inode.rename(oldname, newdir.upper.inode, newname)
        newdir.upper.forget_child(newname)
        moved = self.upper.children.get(oldname)
        if moved is not None:
            moved.move_to(newdir.upper, newname)
        src.upper = _child(newdir.upper, newname)
        if self.lower_positive(oldname):
            self._whiteout(oldname)
        self.kids.pop(oldname, None)
        newdir.kids[newname] = src
        src.parent, src.name = newdir, newname

    def _exchange(self, a, newdir, b):
        """RENAME_EXCHANGE of ``a`` (here) and ``b`` (in ``newdir``): both copied up, swapped in
        the upper layer; a directory landing on a lower name there becomes opaque."""
        if a is b:
            return
        if any(k.is_dir and k.lowers for k in (a, b)):
            raise SyscallError(EXDEV)   # redirect_dir=off
        a.copy_up()
        b.copy_up()
        for k, where, name in ((a, newdir, b.name), (b, self, a.name)):
            if k.is_dir and where.lower_positive(name) and not self.fs.is_opaque(k.upper):
                k.upper.inode.setxattr(self.fs.prefix + b"opaque", b"y", 0)
        aname, bname = a.name, b.name
        self.upper.inode.rename(aname, newdir.upper.inode, bname, RENAME_EXCHANGE)
        self.upper.forget_child(aname)
        newdir.upper.forget_child(bname)
        a.upper, b.upper = _child(newdir.upper, bname), _child(self.upper, aname)
        self.kids[aname], newdir.kids[bname] = b, a
        a.parent, a.name, b.parent, b.name = newdir, bname, self, aname
        for k in (a, b):
            if k.refs:
                k._hold()


class LowerOpen:
    """A read-only open of a lower file: the lower file's own description (its impl: reads,
    mappings...) until the name is copied up, then the upper file's, opened alike (Linux's
    ovl_real_fdget reopening a copied-up file). Mappings made before keep the lower file."""

    def __init__(self, inode, impl, flags):
        object.__setattr__(self, "_state", [inode, impl, flags])

    def _current(self):
        state = self._state
        inode, impl, flags = state
        if inode.upper is not None and impl.inode is not inode.upper.inode:
            new = inode.upper.inode.open(None, flags)
            new.description = impl.description
            impl.release()
            state[1] = impl = new
        return impl

    def __getattr__(self, name):
        return getattr(self._current(), name)

    def __setattr__(self, name, value):
        setattr(self._state[1], name, value)

    def stat(self):
        return self._state[0].stat()   # fstat shows the overlay's view, as stat does

    def release(self):
        self._state[1].release()


def _check_replace(src, dst, flags):
    if flags & RENAME_NOREPLACE:
        raise SyscallError(EEXIST)
    if src.is_dir and not dst.is_dir:
        raise SyscallError(ENOTDIR)
    if dst.is_dir and not src.is_dir:
        raise SyscallError(EISDIR)
    if dst.is_dir and dst.iterdir():
        raise SyscallError(ENOTEMPTY)


def _copy_attrs(fs, lo, up):
    """Copy-up's metadata: xattrs (not the overlay's own), owner, mode and times. The copy has no
    ACL but the lower one's: what the upper parent's default ACL gave it goes (Linux makes the
    copy in workdir, which has none)."""
    for key in posix_acl.NAMES:
        if key in up.listxattr() and key not in lo.listxattr():
            up.removexattr(key)
    for key in lo.listxattr():
        if not key.startswith(fs.prefix):
            up.setxattr(key, lo.getxattr(key), 0)
    mode = None if lo.is_symlink else lo.mode & 0o7777
    up.setattr(mode=mode, uid=lo.uid, gid=lo.gid, atime=lo.atime, mtime=lo.mtime)
    if lo.iflags & (PROT_FLAGS | COPIED_FLAGS) and up.user_flags:   # ovl_copy_fileattr
        _set_iflags(fs, up, lo.iflags & (PROT_FLAGS | COPIED_FLAGS))


def _prot_flags(value):
    return (FS_APPEND_FL if value and b"a" in value else 0) | (FS_IMMUTABLE_FL if value and b"i" in value else 0)


def _set_iflags(fs, real, flags):
    prot = (b"a" if flags & FS_APPEND_FL else b"") + (b"i" if flags & FS_IMMUTABLE_FL else b"")
    if prot:
        real.setxattr(fs.prefix + b"protattr", prot, 0)
    elif _xattr(real, fs.prefix + b"protattr") is not None:
        real.removexattr(fs.prefix + b"protattr")
    real.iflags = flags & ~PROT_FLAGS & (real.user_flags or 0)


def _copy_data(lower, upper):
    """A regular file's data from ``lower`` into the new ``upper``."""
    src, dst = lower.open(None, O_RDONLY), upper.open(None, O_WRONLY)
    offset = 0
    try:
        while True:
            data = src.read(None, COPY_CHUNK, offset)
            if not data:
                break
            dst.write(None, data, offset)
            offset += len(data)
    finally:
        src.release()
        dst.release()

