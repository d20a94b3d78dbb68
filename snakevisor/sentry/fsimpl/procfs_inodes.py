"""procfs's inodes: generated files (made when read, as seq_file's), writable sysctls, symlinks,
magic links and directories whose entries are made on each lookup (procfs.py builds /proc of them)."""
from snakevisor.abi.errno import EACCES, EINVAL, ENOENT, ENOTDIR, EPERM, SyscallError
from snakevisor.abi.fs import O_ACCMODE, S_IFDIR, S_IFLNK, S_IFREG
from snakevisor.abi.poll import POLLERR, POLLIN, POLLOUT, POLLPRI, POLLRDNORM, POLLWRNORM
from snakevisor.sentry.fsimpl import procfs_pid
from snakevisor.sentry.vfs.file import FileDescriptionImpl
from snakevisor.sentry.vfs.inode import Inode
from snakevisor.sentry.vfs.resolve import display_path
from snakevisor.sentry.vfs.waiter import WaitQueue

_NEVER = WaitQueue()   # what an unwatched sysctl's pollers wait on: nothing ever fires it


class ProcInode(Inode):
    """Entries are regenerated on each lookup; cached Dentries are never trusted."""

    sysctl = False   # under /proc/sys (Directory.lookup passes it down)
    gone = None      # a /proc/PID file's check, raising ESRCH once its process (or thread) is gone

    def revalidate_child(self, name, child):
        return False

    # Nothing is created or removed in /proc: a new name does not exist (ENOENT, as Linux's
    # lookups fail), an existing one may not go (EPERM); modes and owners are fixed.
    def _no_dir_op(self):
        raise SyscallError(EPERM if self.is_dir else ENOTDIR)

    def _no_new_name(self, *args, **kw):
        raise SyscallError(ENOENT if self.is_dir else ENOTDIR)

    create = mkdir = mknod = symlink = link = rename = _no_new_name

    def setattr(self, *, mode=None, uid=None, gid=None, size=None, atime=None, mtime=None):
        if mode is not None or uid is not None or gid is not None:
            raise SyscallError(EPERM)


def _ns(kernel, task):
    """The namespaces a file shows: the opener's (the initial ones for the Sentry itself)."""
    return task.ns if task is not None else kernel.init_ns


class GeneratedFile(ProcInode):
    """``generate()`` (``generate(task)`` with ``per_task``: what the opener sees) makes the content at open."""

    def __init__(self, fs, generate, mode=0o444, per_task=False, watch=None):
        super().__init__(fs, S_IFREG | mode)
        self.generate = generate
        self.per_task = per_task
        self.watch = watch   # watch(task): (object with .events and .changed, key): poll sees changes

    def _content(self, task):
        return self.generate(task) if self.per_task else self.generate()

    def _watched(self, impl, task):
        if self.watch is not None:
            impl.watched = self.watch(task)
            impl.seen = impl.watched[0].events[impl.watched[1]]
        return impl

    def open(self, task, flags):
        return self._watched(SnapshotImpl(self, lambda: self._content(task)), task)

    def seek_end(self):
        """Where SEEK_END seeks from: seq_file's seq_lseek cannot (EINVAL); a sysctl's
        default_llseek seeks from its size, 0."""
        if self.sysctl:
            return 0
        raise SyscallError(EINVAL)


class TracedFile(GeneratedFile):
    """A /proc/PID file only a reader with ptrace read access to the process opens (maps, smaps:
    proc_maps_open's mm_access; EACCES otherwise)."""

    def __init__(self, fs, task, generate, mode=0o444, per_task=False):
        super().__init__(fs, generate, mode, per_task)
        self.task = task

    def open(self, task, flags):
        procfs_pid.check_access(task, self.task)
        return super().open(task, flags)


class ReadOnlySysctl(GeneratedFile):
    """A /proc/sys file nobody may write: opening it for writing is EACCES, for root too (Linux's
    sysctl_perm applies the mode's owner bits to root, without capability overrides)."""

    def open(self, task, flags):
        if flags & O_ACCMODE:
            raise SyscallError(EACCES)
        return super().open(task, flags)


class SnapshotImpl(FileDescriptionImpl):
    """The content, made by ``generate()`` at the first read and again at each read from offset 0
    (seq_file's: a file opened earlier shows the process as it is when read, and a reader that
    preads it again sees it anew)."""
    seekable = True

    def __init__(self, inode, generate):
        super().__init__(inode)
        self.generate = generate
        self.data = None

    def _snapshot(self):
        gone = self.inode.gone
        if gone is not None:
            gone()   # ESRCH once the process it shows is gone
        data = self.generate()
        # Text may carry bytes that are not UTF-8 (file names, comm) as surrogates: they go out raw.
        self.data = data if isinstance(data, bytes) else data.encode("utf-8", "surrogateescape")

    def read(self, task, n, offset):
        if offset == 0 or self.data is None:
            self._snapshot()
        return self.data[offset:offset + n]

    def end_offset(self):
        if self.data is None:
            self._snapshot()
        return len(self.data)

    # A sysctl polls (proc_sys_poll): always readable and writable; a /proc/PID/mounts or
    # mountinfo (mounts_poll) readable. One that is watched (hostname, domainname, the mount
    # tree) adds POLLERR and POLLPRI once per change since the description last saw one.
    # Other /proc files, seq_files, have no poll (epoll refuses them).
    watched = None
    seen = 0

    def waitable(self, task):
        if self.watched is not None:
            return self.watched[0].changed
        return _NEVER if self.inode.sysctl else None

    def readiness(self, task, mask):
        ev = POLLIN | POLLRDNORM | (POLLOUT | POLLWRNORM if self.inode.sysctl else 0)
        w = self.watched
        if w is not None and w[0].events[w[1]] != self.seen:
            self.seen = w[0].events[w[1]]
            ev |= POLLERR | POLLPRI
        return ev & (mask | POLLERR)

    def seek_end(self):
        return self.inode.seek_end()


class WritableFile(GeneratedFile):
    """A file that also takes writes: ``write(task, data)`` applies what ``task`` wrote at offset 0
    (a sysctl ignores writes further on, as Linux's strict sysctl writes do)."""

    def __init__(self, fs, generate, write, mode=0o644, per_task=False, watch=None):
        super().__init__(fs, generate, mode, per_task, watch)
        self.write_fn = write

    def open(self, task, flags):
        return self._watched(WritableImpl(self, lambda: self._content(task)), task)


class WritableImpl(SnapshotImpl):
    def write(self, task, data, offset):
        data = bytes(data)
        if not offset:
            self.inode.write_fn(task, data)
        return len(data)


def _parse_int(data: bytes) -> int:
    try:
        return int(data.split(b"\0")[0].strip() or b"x", 0)
    except ValueError:
        raise SyscallError(EINVAL) from None


class Symlink(ProcInode):
    """``target_fn(task)`` gives the target as ``task`` (the reader; None: the Sentry) sees it."""

    def __init__(self, fs, target_fn):
        super().__init__(fs, S_IFLNK | 0o777)
        self.target_fn = target_fn

    def readlink(self, task):
        return self.target_fn(task)


class MagicLink(ProcInode):
    """Resolves to a VirtualDentry (exe, cwd, root, fd/N); readlink gives its path.
    ``vd_fn(task)``: the target, for ``task`` following or reading the link (ns checks its access).
    Never a mount point (Linux's dont_mount on them: a mount there is ENOENT), though an O_PATH
    file of the link itself, followed through /proc/self/fd, reaches it."""

    cant_mount = True

    def __init__(self, fs, vd_fn, mode=0o777):
        super().__init__(fs, S_IFLNK | mode)
        self.vd_fn = vd_fn

    def resolve_link(self, task):
        vd = self.vd_fn(task)
        if vd is None:
            raise SyscallError(ENOENT)
        return vd

    def readlink(self, task):
        if self.gone is not None:
            self.gone()
        vd = self.vd_fn(task)
        if vd is None:
            raise SyscallError(ENOENT)
        root = task.fs.root if task is not None else vd
        return display_path(vd, root)


class Directory(ProcInode):
    """A directory whose entries come from ``entries()`` -> {name: factory() -> Inode}."""

    def __init__(self, fs, entries, mode=0o555, sysctl=False):
        super().__init__(fs, S_IFDIR | mode)
        self.entries = entries
        self.sysctl = sysctl

    def lookup(self, name):
        factory = self.entries().get(name)
        if factory is None:
            raise SyscallError(ENOENT)
        inode = factory()
        if self.sysctl:
            inode.sysctl = True
        return inode

    def revalidate_child(self, name, child):
        # /proc/sys is the same for everyone and for ever (its files make their content when
        # read): its names stay, so an inotify watch or a stat's inode number holds
        return self.sysctl

    def iterdir(self):
        if self.gone is not None:   # a /proc/PID directory (or one of its) whose process is gone
            try:
                self.gone()
            except SyscallError:
                raise SyscallError(ENOENT) from None
        out = []
        for name, factory in self.entries().items():
            inode = factory()
            out.append((name, inode.ino, inode.dtype))
        return iter(out)


def _reader(task):
    """The Task /proc/self names: the one resolving or reading it (none for the Sentry itself)."""
    if task is None:
        raise SyscallError(ENOENT)
    return task
