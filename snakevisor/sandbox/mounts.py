"""A container's mount namespace in the Sentry, built from config.json as runc builds it.

runc (libcontainer/rootfs_linux.go, standard_init_linux.go) mounts every entry of
``mounts`` in order, creating each mount point in the root first (a directory, or
an empty file for a file bind mount, with the missing parents; symlinks on the
way are followed inside the root, as securejoin does); then (after creating
``process.cwd``: sentry_boot.py does) it writes ``linux.sysctl`` (the net.* keys
to the network namespace, the others to the Sentry's /proc/sys where it has
them), remounts ``linux.readonlyPaths`` read-only and masks ``linux.maskedPaths`` (a file: /dev/null bound on it; a
directory: an empty read-only tmpfs). ``build_oci_mounts`` does the same with the
Sentry's filesystems: binds of host files and directories come from the Gofer
(one connection each), proc, sysfs, devpts, mqueue and tmpfs are the Sentry's
own, a tmpfs at /dev is the Sentry's devfs, a bind of a host device, FIFO or socket is a
node of the Sentry's with its numbers. Mount points are made in the root's
overlay (the Gofer's upper layer), never in the host's image.

A cgroup or cgroup2 mount is the Sentry's cgroup v2 view (sysfs.Cgroup2Filesystem: the
sandbox's limits and use, read-only) whatever the host has: runc would mount the host's
hierarchies (v1 ones on a v1 or hybrid host), which describe nothing the Sentry enforces.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from snakevisor.abi.errno import ELOOP, ENOENT, ENOTDIR, SyscallError
from snakevisor.abi.fs import (MS_BIND, MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_NOSYMFOLLOW, MS_RDONLY,
                               MS_REC, MS_RELATIME, MS_STRICTATIME, O_CREAT, O_WRONLY, SYMLOOP_MAX)
from snakevisor.p9.client import Client
from snakevisor.sandbox.copyup import copy_tree
from snakevisor.sentry.fsimpl.devfs import DevFilesystem
from snakevisor.sentry.fsimpl.gofer.filesystem import GoferFilesystem
from snakevisor.sentry.fsimpl.sysfs import Cgroup2Filesystem, SysFilesystem
from snakevisor.sentry.fsimpl.tmpfs import TmpfsFilesystem
from snakevisor.sentry.vfs.mount import VirtualDentry, anonymous_mount
from snakevisor.sentry.vfs.pathops import mkdir_path, open_path
from snakevisor.sentry.vfs.resolve import ResolveContext, resolve


# The flags a mount keeps per mount point (the others act at mount time only).
MOUNT_FLAGS = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_NOSYMFOLLOW
# A devtmpfs mount's options: it takes none (the Sentry's devfs stands in for it).
DEVTMPFS_PARAMS = {"size": None, "nr_inodes": None, "mode": 0o755, "uid": 0, "gid": 0}
# What a read-only remount of a path keeps from the mount it was on (runc's readonlyPath).
KEPT_ON_REMOUNT = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME


class MountError(Exception):
    """A mount of the config could not be made: one line naming it."""


@dataclass
class OciLayout:
    """What boot.py hands the Sentry: config.json's mounts and the paths to adjust after them."""
    mounts: list = field(default_factory=list)     # [(oci.config.Mount, Gofer socket index or None)], in order
    masked_paths: list = field(default_factory=list)
    readonly_paths: list = field(default_factory=list)
    sysctl: dict = field(default_factory=dict)
    own_netns: bool = False    # the Sentry's network namespace is the container's (net.* sysctls go there)
    nodes: dict = field(default_factory=dict)      # index in mounts -> (st_mode, st_rdev) of a bound host node
    inherited: dict = field(default_factory=dict)  # index in mounts -> a bind's flags from its host mount


def mount_flags(mount):
    """The per-mount MS_* flags of an OCI mount: relatime unless noatime or strictatime, as Linux's
    mount(2) defaults."""
    flags = mount.flags()
    kept = flags & MOUNT_FLAGS
    if not flags & (MS_NOATIME | MS_STRICTATIME):
        kept |= MS_RELATIME
    return kept


def host_bind_flags(mount):
    """The flags a bind of ``mount.source`` keeps from the host mount it lies on, or None: a bind
    mount starts with its source mount's flags, and runc remounts it only when the config sets
    flags beyond bind/rbind, so without those a pod's /dev/shm (a bind of a nosuid, nodev, noexec
    tmpfs) stays so. Read on the host, before the pivot (statvfs's ST_* are the MS_* values)."""
    if mount.flags() & ~(MS_BIND | MS_REC):
        return None
    return os.statvfs(mount.source).f_flag & (KEPT_ON_REMOUNT | MS_RDONLY)


def make_mountpoint(ctx, root, path: bytes, is_dir: bool = True) -> VirtualDentry:
    """The file at ``path`` below ``root``, created if missing (a directory, or an empty file when
    not ``is_dir``, with its missing parents, mode 755 as runc's). Symlinks on the way are
    followed inside the root, so a dangling one gets its target created, as securejoin does."""
    comps = [c for c in path.split(b"/") if c and c != b"."]
    cur, links = root, 0
    while comps:
        comp = comps.pop(0)
        if comp == b"..":
            cur = resolve(ctx, cur, b"..")
            continue
        try:
            nxt = resolve(ctx, cur, comp, follow_final=False)
        except SyscallError as e:
            if e.errno != ENOENT:
                raise
            if comps or is_dir:
                nxt = mkdir_path(ctx, cur, comp, 0o755)
            else:
                open_path(ctx, cur, comp, O_CREAT | O_WRONLY, 0o755).dec_ref()
                nxt = resolve(ctx, cur, comp, follow_final=False)
        if nxt.inode.is_symlink:
            links += 1
            if links > SYMLOOP_MAX:
                raise SyscallError(ELOOP)
            target = nxt.inode.readlink(None)
            comps = [c for c in target.split(b"/") if c and c != b"."] + comps
            if target.startswith(b"/"):
                cur = root
            continue
        cur = nxt
    return cur


class MountBuilder:
    """Builds the mount namespace of ``sentry`` (a sandbox/sentry_boot.py Sentry) from an OciLayout."""

    def __init__(self, sentry, gofer_sockets):
        self.sentry = sentry
        self.vfs = sentry.kernel.vfs
        self.root = sentry.root
        self.ctx = ResolveContext(self.root)
        self.sockets = gofer_sockets
        self.mf = sentry.memory_file

    def build(self, layout: OciLayout) -> None:
        if not any(m.destination == "/dev" for m, _ in layout.mounts):
            # runc fills the root's /dev with the standard nodes whatever the config mounts.
            self._attach(DevFilesystem(self.mf), b"/dev", MS_NOSUID | MS_RELATIME, b"devfs")
        for i, (mount, sock) in enumerate(layout.mounts):
            try:
                if i in layout.nodes:
                    self.node(mount, layout.nodes[i])
                else:
                    self.mount(mount, sock, layout.inherited.get(i))
            except SyscallError as e:
                raise MountError(f"mounting {mount.type or 'bind'} on {mount.destination}: "
                                 f"{os.strerror(e.errno)}") from None
        for key, value in layout.sysctl.items():
            if not key.startswith("net."):   # those went to the network namespace (write_net_sysctls)
                self.write_sysctl(key, value)
        for path in layout.readonly_paths:
            self.readonly_path(path.encode())
        for path in layout.masked_paths:
            self.mask_path(path.encode())

    # -- the mounts -------------------------------------------------------------------------
    def mount(self, mount, sock, inherited=None) -> None:
        """``inherited``: a bind's flags from its host mount (host_bind_flags), or None."""
        dest = mount.destination.encode()
        flags = mount_flags(mount) if inherited is None else inherited | (mount.flags() & MOUNT_FLAGS)
        source = (mount.source or mount.type or "none").encode()
        kind = "bind" if mount.is_bind else mount.type
        if kind == "bind":
            fs = GoferFilesystem(Client(self.sockets[sock]), self.mf, readonly=mount.readonly or bool(flags & MS_RDONLY),
                                 exclusive=False, directfs=self.sentry.config.directfs)
            self.sentry.gofer_filesystems.append(fs)
            self._attach(fs, dest, flags, source, is_dir=fs.root.inode.is_dir)
        elif kind in ("tmpfs", "devtmpfs"):
            self._tmpfs(mount, kind, dest, flags, source)
        elif kind == "proc":
            self._attach(self.sentry.procfs, dest, flags, source)
        elif kind == "mqueue":
            self._attach(self.sentry.kernel.ipc.mqueue, dest, flags, source)
        elif kind == "devpts":
            from snakevisor.oci.config import devpts_params   # OCI only: `do` never loads the OCI model
            p = devpts_params(mount)
            devpts = self.sentry.devpts
            devpts.configure(p["mode"], p["ptmxmode"], p["gid"], p["uid"])
            m = self._attach(devpts, dest, flags, source)
            if devpts.mount is None:
                devpts.set_mount(m)
        elif kind == "sysfs":
            self._attach(SysFilesystem(self.sentry.kernel), dest, flags, source)
        else:   # cgroup, cgroup2 (config.py accepts no other type): the sandbox's own cgroup v2 view
            self._attach(Cgroup2Filesystem(self.sentry.kernel), dest, flags, source)

    def node(self, mount, node) -> None:
        """A bind of a host device, FIFO or socket: a node of the same type, mode and device
        numbers, alone on a tmpfs of its own. It opens as the Sentry's device of those numbers
        (null, zero, full, random, urandom, tty, ptmx), else ENXIO: the host's devices and
        sockets are never reachable from the sandbox."""
        mode, rdev = node
        fs = TmpfsFilesystem(self.mf)
        fs.root.inode.mknod(b"node", mode, rdev)
        self._attach(fs, mount.destination.encode(), mount_flags(mount), mount.source.encode(), is_dir=False,
                     root=fs.root.child(b"node"))

    def _tmpfs(self, mount, kind, dest: bytes, flags: int, source: bytes) -> None:
        """A tmpfs (the Sentry's devfs at /dev). As runc: its root takes the mode of the directory it
        covers, if there was one (the mode= option is what /proc/self/mounts still shows), and
        with ``tmpcopyup`` a copy of that directory's contents."""
        from snakevisor.oci.config import tmpfs_params   # OCI only: `do` never loads the OCI model
        p = tmpfs_params(mount) if kind == "tmpfs" else DEVTMPFS_PARAMS
        cls = DevFilesystem if dest == b"/dev" else TmpfsFilesystem
        fs = cls(self.mf, mode=p["mode"], uid=p["uid"], gid=p["gid"], size_limit=p["size"],
                 nr_inodes=p["nr_inodes"])
        below = self._existing(dest)
        if below is not None and below.inode.is_dir:
            fs.root.inode.setattr(mode=below.inode.mode & 0o7777)
            if "tmpcopyup" in mount.options:
                copy_tree(self.ctx, below, VirtualDentry(anonymous_mount(fs), fs.root))
        self._attach(fs, dest, flags, source)

    def _attach(self, fs, dest: bytes, flags: int, source: bytes, is_dir: bool = True, root=None):
        target = make_mountpoint(self.ctx, self.root, dest, is_dir)
        return self.vfs.mount(fs, target, flags=flags, source=source, root=root)

    # -- after the mounts ---------------------------------------------------------------------
    def _existing(self, path: bytes):
        try:
            return resolve(self.ctx, self.root, path)
        except SyscallError as e:
            if e.errno not in (ENOENT, ENOTDIR):   # ENOENT, ENOTDIR: nothing there, as runc skips it
                raise
            return None

    def readonly_path(self, path: bytes) -> None:
        """runc's readonlyPath: the path bound on itself, remounted read-only."""
        vd = self._existing(path)
        if vd is None:
            return
        under = vd.mount
        self.vfs.mount(under.fs, vd, flags=(under.flags & KEPT_ON_REMOUNT) | MS_RDONLY, source=under.source,
                       root=vd.dentry)

    def mask_path(self, path: bytes) -> None:
        """runc's maskPath: /dev/null bound on a file, an empty read-only tmpfs on a directory."""
        vd = self._existing(path)
        if vd is None:
            return
        if vd.inode.is_dir:
            self.vfs.mount(TmpfsFilesystem(self.mf), vd, flags=MS_RDONLY | MS_RELATIME, source=b"tmpfs")
            return
        null = resolve(self.ctx, self.root, b"/dev/null")
        self.vfs.mount(null.mount.fs, vd, flags=null.mount.flags, source=null.mount.source, root=null.dentry)

    def write_sysctl(self, key: str, value: str) -> None:
        """Write a namespaced sysctl (validated by oci/config.py) where the Sentry implements it."""
        procfs = self.sentry.procfs
        proc_root = VirtualDentry(anonymous_mount(procfs), procfs.root)
        path = b"sys/" + key.replace(".", "/").encode()
        try:
            f = open_path(self.ctx, proc_root, path, O_WRONLY)
        except SyscallError as e:
            _debug("sysctl %s: not implemented by the Sentry (%s), ignored", key, os.strerror(e.errno))
            return
        try:
            f.write(None, value.encode())
        except SyscallError as e:
            # Read-only in the Sentry (the IPC limits are fixed there): as if the kernel had no such key.
            _debug("sysctl %s=%s: not settable in the Sentry (%s), ignored", key, value, os.strerror(e.errno))
        finally:
            f.dec_ref()


def _debug(msg, *args):
    """A debug line of the OCI runtime's log (logging imported here: `do` never loads it)."""
    import logging
    logging.getLogger("snakevisor").debug(msg, *args)


def write_net_sysctls(layout: OciLayout) -> None:
    """The net.* keys of linux.sysctl, written where runc writes them: the network namespace's
    /proc/sys/net, which governs the host sockets the Sentry makes for the application. Call in
    that namespace, before lockdown; keys were checked (oci/config.py: no '/', no empty part)."""
    for key, value in layout.sysctl.items():
        if not key.startswith("net."):
            continue
        if not layout.own_netns:
            _debug("sysctl %s: the Sentry is not in the container's network namespace, ignored", key)
            continue
        try:
            with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
                f.write(value)
        except OSError as e:
            raise MountError(f"sysctl {key}={value!r}: {e.strerror}") from None


def build_oci_mounts(sentry, layout: OciLayout, gofer_sockets) -> None:
    MountBuilder(sentry, gofer_sockets).build(layout)
