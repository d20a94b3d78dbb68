"""Boots a Sentry in this process: MemoryFile, platform, mount namespace, stdio, and the init process.

Used by ``snakevisor do`` and by the OCI runtime's sandbox process (sandbox/boot.py), which
calls ``load_init`` and ``kernel.start_task`` itself so that the init waits for ``start``.
"""
import os
import time
import types
from dataclasses import dataclass, field

from snakevisor.abi.errno import EACCES, ENOENT, ENOTDIR, SyscallError
from snakevisor.abi.inotify import IN_OPEN
from snakevisor.abi.fs import MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RELATIME, O_RDONLY, S_IFREG
from snakevisor.p9.client import Client
from snakevisor.sentry.fsimpl.devfs import DevFilesystem
from snakevisor.sentry.fsimpl.devpts import DevptsFilesystem
from snakevisor.sentry.fsimpl.gofer.filesystem import GoferFilesystem
from snakevisor.sentry.fsimpl.host import new_host_files
from snakevisor.sentry.fsimpl.procfs import ProcFilesystem
from snakevisor.sentry.fsimpl.sysfs import SysFilesystem, host_caches
from snakevisor.sentry.fsimpl.tmpfs import TmpfsFilesystem
from snakevisor.sentry.kernel.kernel import Kernel
from snakevisor.sentry.kernel.strace import Strace
from snakevisor.sentry.mm.memoryfile import MemoryFile
from snakevisor.sentry.net import mib
from snakevisor.sentry.net.inet import load_ping_group_range
from snakevisor.sentry.syscalls import linux64
from snakevisor.sentry.platform.ptrace import PtracePlatform
from snakevisor.sentry.vfs.context import FSContext
from snakevisor.abi.resource import RLIMIT_NOFILE
from snakevisor.abi.signal import NSIG, SIG_IGN, SIG_KERNEL_ONLY
from snakevisor.hostos import become_subreaper, libc, lift_address_space_limit, raise_nofile_limit
from snakevisor.sentry.vfs import fsnotify
from snakevisor.sentry.vfs.fdtable import FDTable
from snakevisor.sentry.vfs.file import FileDescription
from snakevisor.sentry.vfs.mount import VirtualDentry
from snakevisor.sentry.vfs.permissions import MAY_EXEC, check_permission
from snakevisor.sentry.vfs.resolve import ResolveContext, resolve
from snakevisor.sentry.vfs.vfs import VirtualFilesystem
from snakevisor.sandbox.mounts import build_oci_mounts, make_mountpoint, write_net_sysctls
from snakevisor.sandbox.network import provide_etc_files, setup_network
from snakevisor.sentry import platform as platform_names

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SYSFS_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME


@dataclass
class SentryConfig:
    argv: list
    env: dict
    cwd: str = "/"
    strace: bool = False
    hostname: str = "snakevisor"
    cpu: int | None = None            # pin the Sentry and its stubs to this CPU (None: the current one; -1: none)
    memory_limit: int | None = None
    stdio: tuple = (0, 1, 2)
    extra_mounts: list = field(default_factory=list)   # [(sandbox path, readonly)]: gofer sockets 1..n
    oci: object = None                # sandbox/mounts.py's OciLayout: config.json's mounts instead of do's
    tmpfs_size: int | None = None     # size limit of the /tmp and /dev/shm tmpfs (None: the memory limit)
    creds: object = None              # the init's Credentials (None: root with every capability)
    rlimits: dict = field(default_factory=dict)        # RLIMIT_* -> (soft, hard) for the init
    nice: int = 0                     # the init's niceness (do: its caller's)
    max_tasks: int | None = None      # pids limit
    root_readonly: bool = False       # the root mount is made read-only once mount points exist
    network: str = "none"             # "none": own namespace, loopback only; "host": the host's (sandbox/network.py)
    tty: bool = False                 # -t (OCI: process.terminal): a Sentry pty bridged to the host terminal is the init's stdio
    net_raw: bool = False             # --net-raw: raw and packet sockets for tasks with CAP_NET_RAW
    # A cwd the root lacks: "fallback" to / (do's implicit cwd, the caller's), "error" (do --cwd),
    # or "create" it (OCI, as runc does before the root goes read-only).
    cwd_missing: str = "fallback"
    ignored_signals: list = field(default_factory=list)   # the init starts with these ignored (do: its caller's)
    platform: str = platform_names.DEFAULT   # "ptrace" or "systrap" (sentry/platform/)
    sysfs: bool = True                # do: the Sentry's sysfs on /sys (OCI: where config.json mounts sysfs)
    # /etc/hosts and /etc/resolv.conf made to work (sandbox/network.py): do, the Python API; not an
    # engine's container, whose files are the image's and the engine's binds, as under runc.
    etc_files: bool = True
    directfs: bool = False            # --directfs: host calls on Gofer-donated descriptors (fsimpl/gofer/directfs.py)


class BootError(Exception):
    """The sandbox cannot be set up as configured; ``str(e)`` is one line naming the setting
    ("cwd /x: no such directory"), which the caller prefixes with its own name for it."""


class HostLimitError(Exception):
    """A limit of the host's on this process leaves the Sentry no room to run; ``str(e)`` says which."""


class GoferGone(Exception):
    """The Gofer closed the root's connection before serving it: it failed to set itself up
    (its own message, on stderr, says why)."""


def _connect_root(sock):
    try:
        return Client(sock)
    except SyscallError:
        raise GoferGone("the Gofer exited before serving the root (its message above says why)") from None


def _pick_cpu():
    """The CPU to pin the Sentry and its stubs to: where the scheduler puts us on a wake-up
    (it prefers an idle CPU), so concurrent sandboxes spread over the machine instead of all
    taking the first CPU. (os has no sched_getcpu; glibc's is asked through ctypes.)"""
    allowed = sorted(os.sched_getaffinity(0))
    time.sleep(0.001)   # a wake-up: the scheduler's idle-CPU choice
    try:
        cur = libc.sched_getcpu()
    except (OSError, AttributeError):
        cur = -1
    return cur if cur in allowed else allowed[0]


def open_exec(task, path):
    """Open ``path`` (or an already resolved VirtualDentry: execveat of a descriptor) for
    execution, as execve does: a regular file the caller may execute."""
    if isinstance(path, VirtualDentry):
        vd = path
    else:
        vd = resolve(ResolveContext.for_task(task), task.fs.cwd, path, follow_final=True)
    inode = vd.dentry.inode
    if not inode.is_reg or vd.mount.flags & MS_NOEXEC:
        raise SyscallError(EACCES)
    check_permission(task.creds, inode, MAY_EXEC)
    if not inode.mode & 0o111:
        raise SyscallError(EACCES)
    if task.creds.landlock is not None:   # Landlock's EXECUTE and READ_FILE
        task.creds.landlock.open_file(vd, O_RDONLY, S_IFREG, exec_=True)
    f = FileDescription(inode.open(task, O_RDONLY), vd, O_RDONLY)
    if fsnotify.marks:   # an open like any other to inotify (do_open_execat)
        fsnotify.file_event(vd.dentry, IN_OPEN)
    return f


def find_program(task, name, path_env):
    """Resolve a command name through PATH inside the sandbox, like execvp."""
    if b"/" in name:
        return name
    for d in (path_env or DEFAULT_PATH).encode().split(b":"):
        cand = (d or b".") + b"/" + name
        try:
            vd = resolve(ResolveContext.for_task(task), task.fs.cwd, cand, follow_final=True)
        except SyscallError:
            continue
        if vd.dentry.inode.is_reg and vd.dentry.inode.mode & 0o111:
            return cand
    raise SyscallError(ENOENT)


def find_new_program(kernel, fs, creds, name, path_env):
    """find_program for a process not made yet: its FSContext and credentials stand in for its Task."""
    return find_program(types.SimpleNamespace(fs=fs, creds=creds, kernel=kernel), name, path_env)


class Sentry:
    def __init__(self, config, gofer_sockets):
        self.config = config
        setup_network(config.network)   # before any socket: INET sockets are host sockets of this process
        if config.oci is not None:
            write_net_sysctls(config.oci)
        load_ping_group_range()         # of that namespace, while files can still be opened
        mib.load()                      # its SNMP counters (/proc/net/snmp), likewise
        host_caches()                   # the host CPU's caches, for /sys (fsimpl/sysfs.py)
        become_subreaper()
        raise_nofile_limit()   # room for host sockets and Gofer descriptors (bounded by OPEN_HANDLES)
        lift_address_space_limit()
        try:
            self.memory_file = MemoryFile(limit=config.memory_limit)
        except OSError as e:
            raise HostLimitError(f"cannot map the sandbox's memory ({os.strerror(e.errno)}): "
                                 "is the address space limited (ulimit -v)?") from None
        cpu = config.cpu if config.cpu is not None else _pick_cpu()
        cpu = None if cpu == -1 else cpu   # -1: not pinned
        platform_class = PtracePlatform
        if config.platform == "systrap":
            from snakevisor.sentry.platform.systrap import SystrapPlatform as platform_class
        self.platform = platform_class(self.memory_file, cpu=cpu)
        linux64.install()   # the syscall table the Tasks dispatch through
        vfs = VirtualFilesystem()
        self.kernel = Kernel(self.platform, self.memory_file, vfs,
                             strace=Strace() if config.strace else None, hostname=config.hostname.encode())
        self.kernel.net_raw = config.net_raw
        # The root is served to this sandbox alone (an overlay): it may cache freely.
        root_fs = GoferFilesystem(_connect_root(gofer_sockets[0]), self.memory_file, readonly=False, exclusive=True,
                                  directfs=config.directfs)
        self.gofer_filesystems = [root_fs]
        vfs.mount(root_fs, None, source=b"/")
        self.root = vfs.root
        ctx = ResolveContext(self.root)
        self.procfs = ProcFilesystem(self.kernel)
        self.devpts = DevptsFilesystem(self.kernel)
        self.kernel.procfs, self.kernel.devpts = self.procfs, self.devpts   # what mount(2) mounts
        self.console = None   # sandbox/console.py's Console with ``tty``
        self.init_task = None   # load_init's
        if config.oci is not None:
            build_oci_mounts(self, config.oci, gofer_sockets)
        else:
            self._default_mounts(vfs, ctx)
            for (path, readonly), sock in zip(config.extra_mounts, gofer_sockets[1:]):
                self._mount_volume(vfs, ctx, path, readonly, sock)
        self.kernel.max_tasks = config.max_tasks
        if config.etc_files:
            provide_etc_files(vfs, self.root, self.memory_file, config.network, config.hostname)
        if config.cwd_missing == "create":
            try:
                self._mountpoint(ctx, config.cwd)
            except SyscallError as e:
                raise BootError(f"cwd {config.cwd}: cannot be made: {os.strerror(e.errno)}") from None
        if config.root_readonly:
            vfs.root_mount.flags |= 1   # MS_RDONLY: mount points were made in the overlay before
        for fs in self.gofer_filesystems:
            fs.client.use_loop(self.kernel.loop)   # Tasks wait for the Gofer while others run

    def _default_mounts(self, vfs, ctx):
        """``do``'s namespace: the Sentry's /dev, /proc, /sys, /tmp, /dev/shm, /dev/mqueue and
        /dev/pts, where the root has the directory."""
        tmp_size = self.config.tmpfs_size
        sysfs = SysFilesystem(self.kernel) if self.config.sysfs else None
        for path, fs, source in ((b"/dev", DevFilesystem(self.memory_file), b"tmpfs"), (b"/proc", self.procfs, b"proc"),
                                 (b"/sys", sysfs, b"sysfs"),
                                 (b"/tmp", TmpfsFilesystem(self.memory_file, size_limit=tmp_size), b"tmpfs"),
                                 (b"/dev/shm", TmpfsFilesystem(self.memory_file, size_limit=tmp_size), b"shm"),
                                 (b"/dev/mqueue", self.kernel.ipc.mqueue, b"mqueue"),   # where Docker and runc have it
                                 (b"/dev/pts", self.devpts, b"devpts")):
            if fs is None:
                continue
            try:
                target = resolve(ctx, self.root, path)
            except SyscallError:
                continue  # the image has no such directory: nothing to mount on
            # sysfs as containers have it (runc's default config.json): ro,nosuid,nodev,noexec,relatime.
            m = vfs.mount(fs, target, source=source, flags=SYSFS_FLAGS if fs is sysfs else 0)
            if fs is self.devpts:
                self.devpts.set_mount(m)

    def _mount_volume(self, vfs, ctx, path, readonly, sock):
        """A host directory volume: its own 9P connection; host processes may change it too."""
        fs = GoferFilesystem(Client(sock), self.memory_file, readonly=readonly, exclusive=False,
                             directfs=self.config.directfs)
        self.gofer_filesystems.append(fs)
        vfs.mount(fs, self._mountpoint(ctx, path), flags=1 if readonly else 0, source=path.encode())

    def _mountpoint(self, ctx, path):
        """The directory ``path``, made (in the root's overlay, not on the host) if missing."""
        return make_mountpoint(ctx, self.root, path.encode())

    # What nearly every dynamically linked program's start looks up (the ELF interpreter, the
    # loader's cache, the C library, the directories of PATH): the same host files for every
    # sandbox, so nothing of one command reaches another.
    COMMON_PATHS = (b"/lib64/ld-linux-x86-64.so.2", b"/etc/ld.so.cache", b"/lib/x86_64-linux-gnu/libc.so.6",
                    b"/usr/local/bin", b"/usr/bin", b"/bin")

    def prefetch_common_paths(self):
        """Look COMMON_PATHS up ahead (in the dentry cache, with the Gofer's walks done): a sandbox
        booted before its command comes (a warm server's spare) then loads it ~10 walks sooner."""
        for path in self.COMMON_PATHS:
            try:
                resolve(ResolveContext(self.root), self.root, path, follow_final=True)
            except SyscallError:
                pass

    def lookup_dir(self, path):
        """The directory ``path`` of the sandbox's root, for a new process's cwd (SyscallError:
        there is none, or it is not a directory)."""
        vd = resolve(ResolveContext(self.root), self.root, path.encode())
        if not vd.dentry.inode.is_dir:
            raise SyscallError(ENOTDIR)
        return vd

    def load_init(self):
        """Load the init process (pid 1) with the config's argv, env, cwd, stdio, credentials
        and rlimits; it does not run until ``kernel.start_task(task)``. Returns the Task."""
        cfg = self.config
        try:
            cwd = self.lookup_dir(cfg.cwd)
        except SyscallError as e:
            if cfg.cwd_missing != "fallback":
                raise BootError(f"cwd {cfg.cwd}: {os.strerror(e.errno)} in the sandbox") from None
            cwd = self.root
        fdtable = FDTable()
        if cfg.tty:
            from snakevisor.sandbox.console import Console
            self.console = Console(self.devpts, cfg.stdio[0], cfg.stdio[1])
            replica = self.console.setup()
            for fd in range(len(cfg.stdio)):
                fdtable.install_at(fd, replica.inc_ref())
            replica.dec_ref()
        else:
            for fd, f in enumerate(new_host_files(cfg.stdio)):
                fdtable.install_at(fd, f)
        fs = FSContext(self.root, cwd)
        env = dict(cfg.env)
        env.setdefault("PATH", DEFAULT_PATH)
        envp = [f"{k}={v}".encode() for k, v in env.items()]
        argv = [a.encode() if isinstance(a, str) else a for a in cfg.argv]
        prog = find_new_program(self.kernel, fs, None, argv[0], env.get("PATH"))
        task = self.kernel.create_init(prog, argv, envp, fdtable, fs, creds=cfg.creds, open_exec=open_exec)
        task.tg.limits.update(cfg.rlimits)
        task.nice = max(-20, min(19, cfg.nice))
        for sig in cfg.ignored_signals:   # as exec keeps them ignored
            if 0 < sig <= NSIG and sig not in SIG_KERNEL_ONLY:
                task.tg.handlers.actions[sig] = (SIG_IGN, 0, 0, 0)
        fdtable.set_limit(task.tg.limits[RLIMIT_NOFILE][0])
        if self.console is not None:
            self.console.attach(task.tg)
        self.init_task = task
        return task

    def run(self):
        """Run the init process (loading it first unless ``load_init`` was called) until it exits;
        returns its wait status."""
        if self.init_task is None:
            self.load_init()
        self.start_host_io()
        try:
            return self.kernel.run()
        finally:
            self.stop_host_io()
            for fs in self.gofer_filesystems:
                fs.sync_all()   # shared mappings not yet written back

    def start_host_io(self):
        """Before the loop runs: the host's signals go to the sandbox (with a console, ^C's and the
        like to its foreground process group), and the console starts bridging the host terminal."""
        if self.console is not None:
            self.kernel.forward_host_signals(foreground=self.console.foreground_pgid)
            self.console.start(self.kernel.loop)
        else:
            self.kernel.forward_host_signals()

    def stop_host_io(self):
        """After the loop: the host terminal gets its settings back."""
        if self.console is not None:
            self.console.restore()
