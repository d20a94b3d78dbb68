"""devpts: the filesystem at /dev/pts — pseudo-terminal pairs, and the /dev/ptmx and /dev/tty devices.

Opening ptmx (the char device 5:2, /dev/ptmx or /dev/pts/ptmx) allocates a
Terminal (kernel/tty.py) and returns its master; /dev/pts/N (136:N) opens the
replica once unlocked (TIOCSPTLCK). /dev/tty (5:0) opens the caller's
controlling terminal (ENXIO without one). A replica opened without O_NOCTTY by
a session leader that has no controlling terminal becomes it, as on Linux.
``DevptsFilesystem.new_pair`` is the console's way to make a pair from the
Sentry itself.
"""
from snakevisor.abi.errno import EINVAL, EIO, ENOENT, ENOSPC, ENOTTY, ENXIO, SyscallError
from snakevisor.abi.fs import DEVPTS_SUPER_MAGIC, DT_CHR, O_ACCMODE, O_CLOEXEC, O_NOCTTY, O_NONBLOCK, O_RDWR, \
    S_IFCHR, S_IFDIR, makedev
from snakevisor.abi.tty import (NR_UNIX98_PTY_MAX, PTMX_MINOR, TIOCGPTPEER, TIOCSPGRP, TTY_GID, TTYAUX_MAJOR,
                                UNIX98_PTY_SLAVE_MAJOR)
from snakevisor.sentry.kernel.tty import Terminal, hung_up_readiness
from snakevisor.sentry.vfs.dentry import Dentry
from snakevisor.sentry.vfs.device import register_char_device
from snakevisor.sentry.vfs.file import FileDescription, FileDescriptionImpl
from snakevisor.sentry.vfs.filesystem import Filesystem
from snakevisor.sentry.vfs.inode import Inode
from snakevisor.sentry.vfs.mount import VirtualDentry, anonymous_mount


class MasterImpl(FileDescriptionImpl):
    """The ptmx side: reads the terminal's output, writes its input."""

    seekable = False

    def __init__(self, fs, terminal, inode):
        super().__init__(inode)
        self.fs = fs
        self.terminal = terminal
        self.released = False

    def read(self, task, n, offset):
        return self.terminal.master_read(n)

    def write(self, task, data, offset):
        return self.terminal.master_write(data)

    def readiness(self, task, mask):
        return self.terminal.master_readiness(mask)

    def waitable(self, task):
        return self.terminal.master_queue

    def ioctl(self, task, cmd, arg):
        if cmd == TIOCGPTPEER:
            return self.fs.open_peer(task, self.terminal, arg & 0xFFFFFFFF)
        return self.terminal.ioctl(task, cmd, arg, master=True, file=self.description)

    def release(self):
        if not self.released:
            self.released = True
            term = self.terminal
            term.master_closed()
            self.fs.unlink_replica(term)


class ReplicaImpl(FileDescriptionImpl):
    """A /dev/pts/N (or /dev/tty) description: the application's end of the terminal. Once the
    terminal is hung up (vhangup) after it was opened, it reads end-of-file, fails writes and
    ioctls with EIO and polls ready for everything, as Linux's hung_up_tty_fops."""

    seekable = False

    def __init__(self, terminal, inode):
        super().__init__(inode)
        self.terminal = terminal
        self.released = False
        self.generation = terminal.hangups
        terminal.replica_opened()

    @property
    def hung_up(self):
        return self.generation != self.terminal.hangups

    def read(self, task, n, offset):
        return b"" if self.hung_up else self.terminal.replica_read(task, n)

    def blocking_read(self, task, n):
        """A blocking read that waits its own way (VMIN/VTIME timers); None: the usual wait."""
        if self.hung_up or not self.terminal.ld.timed():
            return None
        return self.terminal.replica_read_timed(task, n)

    def write(self, task, data, offset):
        if self.hung_up:
            raise SyscallError(EIO)
        return self.terminal.replica_write(task, data)

    def readiness(self, task, mask):
        if self.hung_up:
            return hung_up_readiness(mask)
        return self.terminal.replica_readiness(mask)

    def waitable(self, task):
        return self.terminal.replica_queue

    def ioctl(self, task, cmd, arg):
        if self.hung_up:
            raise SyscallError(ENOTTY if cmd == TIOCSPGRP else EIO)
        return self.terminal.ioctl(task, cmd, arg, master=False, file=self.description)

    def release(self):
        if not self.released:
            self.released = True
            self.terminal.replica_closed()


class DevptsRoot(Inode):
    """/dev/pts: "ptmx" and one entry per pair whose master is open."""

    def __init__(self, fs):
        super().__init__(fs, S_IFDIR | 0o755, ino=1)

    def lookup(self, name):
        if name == b"ptmx":
            return self.fs.ptmx
        if name.isdigit() and (len(name) == 1 or name[:1] != b"0"):
            term = self.fs.terminals.get(int(name))
            if term is not None and term.master_open:
                return term.inode
        raise SyscallError(ENOENT)

    def iterdir(self):
        yield b"ptmx", self.fs.ptmx.ino, DT_CHR
        for index, term in sorted(self.fs.terminals.items()):
            if term.master_open:
                yield str(index).encode(), term.inode.ino, DT_CHR

    def revalidate_child(self, name, child):
        # Pairs come and go: a cached /dev/pts/N stays valid while its master is open.
        if child is self.fs.ptmx:
            return True
        term = getattr(child, "terminal", None)
        return term is not None and term.master_open and self.fs.terminals.get(term.index) is term


class PtmxInode(Inode):
    """/dev/pts/ptmx: the char device 5:2 (opened through the device registry, like /dev/ptmx)."""

    def __init__(self, fs):
        super().__init__(fs, S_IFCHR | 0o666, ino=2, rdev=makedev(TTYAUX_MAJOR, PTMX_MINOR))

    def open(self, task, flags):
        return self.fs.open_ptmx(task, self, flags)


class ReplicaInode(Inode):
    """/dev/pts/N: owned by whoever opened ptmx (or the mount's uid=, gid=), mode the mount's mode=."""

    def __init__(self, fs, terminal, uid, gid, ino):
        super().__init__(fs, S_IFCHR | fs.mode, ino=ino, uid=fs.uid if fs.uid is not None else uid,
                         gid=fs.gid if fs.gid is not None else gid,
                         rdev=makedev(UNIX98_PTY_SLAVE_MAJOR, terminal.index))
        self.terminal = terminal

    def open(self, task, flags):
        term = self.terminal
        if not term.master_open or term.locked:
            raise SyscallError(EIO)
        return self.fs.open_replica(task, term, self, flags)


class DevptsFilesystem(Filesystem):
    name = "devpts"
    magic = DEVPTS_SUPER_MAGIC

    def __init__(self, kernel, max_ptys: int = NR_UNIX98_PTY_MAX):
        super().__init__()
        self.kernel = kernel
        self.max_ptys = max_ptys
        self.terminals: dict[int, Terminal] = {}
        self.root = Dentry(DevptsRoot(self))
        self.root.inc_ref()
        self.ptmx = PtmxInode(self)
        self._ino_base = 3
        self.mount = None   # the Mount at /dev/pts, once mounted (set_mount)
        # Mount options; a container's devpts line: gid=5,mode=620,ptmxmode=666 (configure()).
        self.uid, self.gid, self.mode = None, TTY_GID, 0o620
        # The devices 5:2 and 5:0 wherever their nodes are (devfs, mknod on tmpfs).
        register_char_device(TTYAUX_MAJOR, PTMX_MINOR, self.open_ptmx)
        register_char_device(TTYAUX_MAJOR, 0, self.open_controlling_tty)

    def configure(self, mode: int, ptmxmode: int, gid: int | None, uid: int | None) -> None:
        """The mount's options (Linux's defaults: mode=600, ptmxmode=000, the creator's ids)."""
        self.mode, self.gid, self.uid = mode & 0o777, gid, uid
        self.ptmx.mode = S_IFCHR | (ptmxmode & 0o777)

    def mount_options(self) -> str:
        """As Linux's devpts_show_options."""
        opts = [f"uid={self.uid}"] if self.uid is not None else []
        if self.gid is not None:
            opts.append(f"gid={self.gid}")
        return ",".join(opts + [f"mode={self.mode:03o}", f"ptmxmode={self.ptmx.mode & 0o777:03o}"])

    def set_mount(self, mount) -> None:
        self.mount = mount

    def _vd_of(self, name: bytes) -> VirtualDentry:
        mount = self.mount or anonymous_mount(self)
        return VirtualDentry(mount, self.root.child(name))

    # --- pairs ---------------------------------------------------------------------------------------
    def allocate(self, uid: int = 0, gid: int = 0) -> Terminal:
        index = next((i for i in range(self.max_ptys) if i not in self.terminals), None)
        if index is None:
            raise SyscallError(ENOSPC)
        term = Terminal(self.kernel, index)
        term.inode = ReplicaInode(self, term, uid, gid, self._ino_base + index)
        term.on_release = self._released
        self.terminals[index] = term
        return term

    def unlink_replica(self, term) -> None:
        """The master closed: /dev/pts/N goes away (open replicas keep an unlinked inode)."""
        term.inode.nlink = 0
        self.root.forget_child(str(term.index).encode())

    def _released(self, term) -> None:
        # Both sides are closed: the index may be reused.
        if self.terminals.get(term.index) is term:
            del self.terminals[term.index]

    def open_ptmx(self, task, inode, flags) -> MasterImpl:
        creds = task.creds if task is not None else None
        term = self.allocate(creds.fsuid if creds is not None else 0, creds.fsgid if creds is not None else 0)
        return MasterImpl(self, term, inode)

    def open_replica(self, task, term, inode, flags) -> ReplicaImpl:
        """``term``'s replica opened by ``task`` (None: the Sentry, which never gets a controlling tty)."""
        impl = ReplicaImpl(term, inode)
        if not flags & O_NOCTTY and task is not None:
            tg = task.tg
            # A session leader without a controlling terminal acquires the first one it opens.
            if tg.sid == tg.tgid and tg.tty is None and not term.session_alive():
                term.set_ctty(tg)
        return impl

    def open_controlling_tty(self, task, inode, flags) -> ReplicaImpl:
        term = task.tg.tty if task is not None else None
        if term is None:
            raise SyscallError(ENXIO)
        if not term.master_open:
            raise SyscallError(EIO)
        return ReplicaImpl(term, inode)

    def replica_file(self, task, term, flags: int = O_RDWR | O_NOCTTY) -> FileDescription:
        """A new description (refs=1) of ``term``'s replica at /dev/pts/N, opened by ``task``."""
        vd = self._vd_of(str(term.index).encode())
        impl = self.open_replica(task, term, vd.dentry.inode, flags)
        return FileDescription(impl, vd, flags & ~(O_NOCTTY | O_CLOEXEC))

    def open_peer(self, task, term, flags: int) -> int:
        """TIOCGPTPEER: open the replica of the master's pair, install it and return the fd."""
        if flags & ~(O_ACCMODE | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | 0o100000):
            raise SyscallError(EINVAL)
        if not term.master_open:
            raise SyscallError(EIO)
        f = self.replica_file(task, term, flags)
        try:
            return task.fdtable.install(f, bool(flags & O_CLOEXEC))
        except SyscallError:
            f.dec_ref()
            raise

    def new_pair(self, uid: int = 0) -> tuple[FileDescription, FileDescription, Terminal]:
        """An unlocked pair made by the Sentry itself (the console): (master, replica, Terminal)."""
        vd = self._vd_of(b"ptmx")
        term = self.allocate(uid)
        term.locked = False
        master = FileDescription(MasterImpl(self, term, vd.dentry.inode), vd, O_RDWR)
        try:
            replica = self.replica_file(None, term)
        except BaseException:
            master.dec_ref()
            raise
        return master, replica, term
