"""Landlock in the Sentry (security/landlock/ in Linux): rulesets, domains and their access checks.

A Ruleset is what landlock_create_ruleset's file holds while rules are added: one layer, what it
handles (filesystem and TCP rights, scopes) and its rules, keyed by inode ((filesystem, inode
number), so a file's rules survive its Inode object being looked up again) or by TCP port.
landlock_restrict_self stacks a copy of it on the caller's Domain: an immutable stack of at most
16 layers kept in the thread's Credentials (``creds.landlock``), so fork, clone and execve
inherit it and other threads keep theirs, as Linux's per-thread cred.

The checks follow Linux's: an access is allowed if, in every layer that handles it, a rule on the
object or on one of its ancestors grants it, walking up through the mounts to the real root of
the mount namespace (fs.c is_access_to_paths_allowed); reparenting a file (link or rename to
another directory) needs REFER on both sides and must not give the file rights it lacked (EXDEV);
a scope confines signals and abstract unix sockets to the domain and its descendants. The VFS and
the syscall handlers reach these methods through the task's domain, one attribute test when it
has none.
"""
from snakevisor.abi import landlock as L
from snakevisor.abi.errno import E2BIG, EACCES, EAFNOSUPPORT, EINVAL, EXDEV, SyscallError
from snakevisor.abi.socket import AF_INET, AF_INET6, AF_UNSPEC
from snakevisor.abi.fs import S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFSOCK
from snakevisor.sentry.vfs.file import FileDescriptionImpl

# The right creating each type of file needs (get_mode_access); a regular file's is the default
_MAKE = {S_IFLNK: L.ACCESS_FS_MAKE_SYM, S_IFDIR: L.ACCESS_FS_MAKE_DIR, S_IFCHR: L.ACCESS_FS_MAKE_CHAR,
         S_IFBLK: L.ACCESS_FS_MAKE_BLOCK, S_IFIFO: L.ACCESS_FS_MAKE_FIFO, S_IFSOCK: L.ACCESS_FS_MAKE_SOCK}


def make_access(mode: int) -> int:
    return _MAKE.get(mode & S_IFMT, L.ACCESS_FS_MAKE_REG)


def remove_access(inode) -> int:
    """The right removing ``inode``'s name needs (maybe_remove); 0 for no file."""
    if inode is None:
        return 0
    return L.ACCESS_FS_REMOVE_DIR if inode.is_dir else L.ACCESS_FS_REMOVE_FILE


def _key(inode):
    return (inode.fs, inode.ino)


class Ruleset:
    """One layer being built: handled rights and scopes, rules by inode and by port."""

    def __init__(self, fs: int, net: int, scoped: int):
        self.fs, self.net, self.scoped = fs, net, scoped
        self.fs_rules = {}    # (fs, ino) -> (Inode, allowed rights): the Inode is kept alive
        self.net_rules = {}   # port -> allowed rights

    def add_path(self, inode, allowed: int) -> None:
        if not inode.is_dir and allowed & ~L.ACCESS_FILE:
            raise SyscallError(EINVAL)   # only file rights make sense on a file
        # Rights this layer does not handle are granted (REFER is always handled)
        allowed |= L.MASK_ACCESS_FS & ~(self.fs | L.ACCESS_FS_REFER)
        key = _key(inode)
        self.fs_rules[key] = (inode, self.fs_rules.get(key, (None, 0))[1] | allowed)

    def add_port(self, port: int, allowed: int) -> None:
        allowed |= L.MASK_ACCESS_NET & ~self.net
        self.net_rules[port] = self.net_rules.get(port, 0) | allowed


class RulesetFile(FileDescriptionImpl):
    """The file of landlock_create_ruleset ("anon_inode:[landlock-ruleset]"): reads and writes EINVAL."""

    def __init__(self, ruleset: Ruleset):
        super().__init__()
        self.ruleset = ruleset


class _Layer:
    """One layer's identity (Linux's landlock_hierarchy): scopes compare these."""
    __slots__ = ()


class Domain:
    """An immutable stack of layers, oldest first. ``fs`` holds each layer's handled filesystem
    rights (REFER included, even in a layer restricting no file: Linux denies reparenting there
    too); ``fs_rules`` map (filesystem, inode number) to ((layer, allowed, Inode), ...) and
    ``net_rules`` a port to ((layer, allowed), ...)."""

    __slots__ = ("fs", "any_fs", "net", "scoped", "fs_rules", "net_rules", "hierarchy")

    def __init__(self, parent: "Domain | None", ruleset: Ruleset):
        p = parent
        self.fs = (p.fs if p else ()) + (ruleset.fs | L.ACCESS_FS_REFER,)
        self.any_fs = bool(ruleset.fs) or (p is not None and p.any_fs)
        self.net = (p.net if p else ()) + (ruleset.net,)
        self.scoped = (p.scoped if p else ()) + (ruleset.scoped,)
        self.hierarchy = (p.hierarchy if p else ()) + (_Layer(),)
        layer = len(self.fs) - 1
        # A file rule keeps its Inode (Linux's landlock_object), so that one whose file is gone
        # (no link left) cannot lend its rights to a new file given the same inode number
        self.fs_rules = _stack(p.fs_rules if p else {}, layer,
                               {k: (allowed, inode) for k, (inode, allowed) in ruleset.fs_rules.items()})
        self.net_rules = _stack(p.net_rules if p else {}, layer, {k: (v,) for k, v in ruleset.net_rules.items()})

    # -- filesystem -------------------------------------------------------------------------
    def _unmask(self, inode, unmet: list, mask: int = L.MASK_ACCESS_FS) -> bool:
        """Apply the rules on ``inode`` (if any) to ``unmet`` (per layer, the rights still denied);
        True if a rule exists and leaves nothing of ``mask`` denied (landlock_unmask_layers)."""
        rule = self.fs_rules.get((inode.fs, inode.ino))
        return rule is not None and _grant(rule, inode, unmet, mask)

    def denied(self, vd, access: int) -> int:
        """The rights of ``access`` some layer denies on the file ``vd`` names."""
        if not self.any_fs:
            return 0
        unmet = [access & h for h in self.fs]
        if not any(unmet) or vd.mount.anonymous:
            return 0   # nothing handled; or a pipe, socket or anon file, in no namespace
        rules = self.fs_rules
        for inode in _walk(vd.mount, vd.dentry):   # most levels have no rule: no call for them
            rule = rules.get((inode.fs, inode.ino))
            if rule is not None and _grant(rule, inode, unmet, L.MASK_ACCESS_FS):
                return 0
        out = 0
        for u in unmet:
            out |= u
        return out

    def check(self, vd, access: int) -> None:
        if self.denied(vd, access):
            raise SyscallError(EACCES)

    def check_make(self, dir_vd, mode: int) -> None:
        """Creating a file of type ``mode`` in ``dir_vd`` (mkdir, mknod, symlink, open's O_CREAT)."""
        self.check(dir_vd, make_access(mode))

    def check_remove(self, dir_vd, is_dir: bool) -> None:
        """rmdir (``is_dir``) or unlink of a name in ``dir_vd``, whatever the file's type."""
        self.check(dir_vd, L.ACCESS_FS_REMOVE_DIR if is_dir else L.ACCESS_FS_REMOVE_FILE)

    def open_file(self, vd, flags: int, ftype: int, exec_: bool = False) -> int:
        """file_open: EACCES unless reading (a directory: listing), writing and executing as
        ``flags`` ask are granted; returns what of TRUNCATE and, for a device, IOCTL_DEV is
        denied, which the open file keeps for ftruncate, O_TRUNC and ioctl."""
        fmode = (flags + 1) & 3        # FMODE_READ 1, FMODE_WRITE 2 (O_ACCMODE 3 has neither)
        if fmode & 1 and ftype == S_IFDIR:
            request = L.ACCESS_FS_READ_DIR
        else:
            request = (L.ACCESS_FS_READ_FILE if fmode & 1 else 0) | (L.ACCESS_FS_WRITE_FILE if fmode & 2 else 0)
            if exec_:
                request |= L.ACCESS_FS_EXECUTE
        optional = L.ACCESS_FS_TRUNCATE | (L.ACCESS_FS_IOCTL_DEV if ftype in (S_IFCHR, S_IFBLK) else 0)
        denied = self.denied(vd, request | optional)
        if denied & request:
            raise SyscallError(EACCES)
        return denied

    def check_refer(self, old, new_dir, new, removable: bool, exchange: bool) -> None:
        """link (``removable`` False) or rename of VirtualDentry ``old`` to a name in ``new_dir``
        (``new``: the VirtualDentry there, or None): current_check_refer_path."""
        if not self.any_fs:
            return
        req1 = make_access(new.inode.mode) if exchange else 0
        req2 = make_access(old.inode.mode)
        if removable:
            req1 |= remove_access(old.inode)
            req2 |= remove_access(new.inode if new is not None else None)
        if old.dentry.parent is new_dir.dentry:   # no reparenting: no REFER needed
            return self.check(new_dir, req1 | req2)
        req1 |= L.ACCESS_FS_REFER
        req2 |= L.ACCESS_FS_REFER
        mount = new_dir.mount
        old_parent = old.dentry if old.dentry is mount.root else old.dentry.parent
        p1, ok1 = self._collect(mount.root, old_parent)
        p2, ok2 = self._collect(mount.root, new_dir.dentry)
        if ok1 and ok2:
            return
        c1 = self._child(old.inode)
        c2 = self._child(new.inode) if exchange else None
        if self._paths_allowed(mount, req1, p1, old.inode.is_dir, c1, req2, p2,
                               new.inode.is_dir if exchange else True, c2):
            return
        if any(u & req1 & ~L.ACCESS_FS_REFER for u in p1) or any(u & req2 & ~L.ACCESS_FS_REFER for u in p2):
            raise SyscallError(EACCES)   # EACCES before EXDEV, whichever side
        raise SyscallError(EXDEV)

    def _collect(self, mnt_root, d):
        """Every handled right still denied per layer after the rules from ``d`` up to the mount's
        root (collect_domain_accesses), and whether none is."""
        unmet = list(self.fs)
        while True:
            if self._unmask(d.inode, unmet):
                return unmet, True
            if d is mnt_root or d.parent is None:
                return unmet, False
            d = d.parent

    def _child(self, inode) -> list:
        unmet = list(self.fs)
        self._unmask(inode, unmet)
        return unmet

    def _paths_allowed(self, mount, req1, p1, dir1, c1, req2, p2, dir2, c2) -> bool:
        """is_access_to_paths_allowed for two parents from the common mount's root up: first with
        every handled right, until the destination is as restricted as the source (then only what
        the operation asks)."""
        mask1 = mask2 = L.MASK_ACCESS_FS
        ok1 = ok2 = False
        dom_check = True
        for inode in _walk(mount, mount.root):
            if dom_check and _no_more_access(p1, c1, dir1, p2, c2, dir2):
                dom_check = False
                mask1, mask2 = req1, req2
                ok1 = ok1 or not any(u & req1 for u in p1)
                ok2 = ok2 or not any(u & req2 for u in p2)
                if ok1 and ok2:
                    return True
            ok1 = ok1 or self._unmask(inode, p1, mask1)
            ok2 = ok2 or self._unmask(inode, p2, mask2)
            if ok1 and ok2:
                return True
        return False

    # -- network and scopes -------------------------------------------------------------------
    def check_tcp(self, sock_family: int, addr: bytes, access: int) -> None:
        """bind or connect of a TCP socket of ``sock_family`` to ``addr`` (the raw sockaddr):
        current_check_access_socket."""
        if not any(h & access for h in self.net):
            return
        if len(addr) < 2:
            raise SyscallError(EINVAL)
        family = int.from_bytes(addr[:2], "little")
        if family in (AF_UNSPEC, AF_INET):
            if len(addr) < 16:
                raise SyscallError(EINVAL)
        elif family == AF_INET6:
            if len(addr) < 24:        # SIN6_LEN_RFC2133
                raise SyscallError(EINVAL)
        else:
            return
        if family == AF_UNSPEC:
            if access == L.ACCESS_NET_CONNECT_TCP:
                return                # disconnecting is always allowed
            if sock_family != AF_INET:
                raise SyscallError(EINVAL)
            if addr[4:8] != b"\0\0\0\0":
                raise SyscallError(EAFNOSUPPORT)
        elif family != sock_family:
            raise SyscallError(EINVAL)
        unmet = [access & h for h in self.net]
        rule = self.net_rules.get(int.from_bytes(addr[2:4], "big"))
        for layer, allowed in rule or ():
            unmet[layer] &= ~allowed
        if rule is None or any(unmet):
            raise SyscallError(EACCES)

    def scoped_out(self, other: "Domain | None", scope: int) -> bool:
        """True if a layer of ours with ``scope`` does not contain ``other`` (the domain of the
        signal's target or of the abstract socket's creator): domain_is_scoped."""
        h = self.hierarchy
        for layer, s in enumerate(self.scoped):
            if s & scope and (other is None or len(other.hierarchy) <= layer or other.hierarchy[layer] is not h[layer]):
                return True
        return False

    def may_reach(self, other: "Domain | None") -> bool:
        """ptrace: the target's domain is ours or nested in it (domain_scope_le)."""
        n = len(self.hierarchy)
        return other is not None and len(other.hierarchy) >= n and other.hierarchy[n - 1] is self.hierarchy[-1]


def _grant(rule, inode, unmet: list, mask: int) -> bool:
    """Apply ``rule`` (the entries on ``inode``'s key) to ``unmet``; True if nothing of ``mask`` is
    left denied."""
    for layer, allowed, owner in rule:
        if owner is inode or owner.nlink > 0:   # the same file, perhaps a new Inode object of it
            unmet[layer] &= ~(allowed & mask)
    for u in unmet:
        if u & mask:
            return False
    return True


def _stack(parent_rules: dict, layer: int, rules: dict) -> dict:
    """The parent's rules and ``rules`` (key -> (allowed, ...)) of the new ``layer``:
    key -> ((layer, allowed, ...), ...)."""
    out = dict(parent_rules)
    for key, entry in rules.items():
        out[key] = out.get(key, ()) + ((layer,) + entry,)
    return out


def _walk(mount, d):
    """The inodes whose rules apply to Dentry ``d`` of ``mount``: its own, then its ancestors' up to
    the namespace's root, from a mount's root on to its mountpoint's parent (the covered directory
    is hidden). A Dentry with no parent that is no mount's root ends the walk."""
    while True:
        yield d.inode
        while d is mount.root:
            if mount.parent is None:
                return
            d, mount = mount.mountpoint, mount.parent
        d = d.parent
        if d is None:
            return


def _no_more_access(p1, c1, dir1, p2, c2, dir2) -> bool:
    """The destination is at least as restricted as the source, for each layer (and the other way
    for RENAME_EXCHANGE): what the moved file is denied is denied at its new place."""
    for layer in range(len(p1)):
        applicable = L.MASK_ACCESS_FS if dir1 else L.ACCESS_FILE
        if p1[layer] & c1[layer] & applicable & ~p2[layer]:
            return False
        if c2 is not None:
            applicable = L.MASK_ACCESS_FS if dir2 else L.ACCESS_FILE
            if p2[layer] & c2[layer] & applicable & ~p1[layer]:
                return False
    return True


def restrict(creds, ruleset: Ruleset) -> None:
    """landlock_restrict_self's stacking: E2BIG past 16 layers."""
    parent = creds.landlock
    if parent is not None and len(parent.fs) >= L.LANDLOCK_MAX_NUM_LAYERS:
        raise SyscallError(E2BIG)
    creds.landlock = Domain(parent, ruleset)
