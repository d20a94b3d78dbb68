"""host: FileDescriptions over host descriptors the Sentry was given (the caller's stdio).

The host descriptor is shared with the user's shell, so its O_NONBLOCK flag is
never touched: readiness comes from ``poll(fd, 0)``, a read that would block
raises EAGAIN (the syscall layer then waits on ``HostFdWaitable(fd)``), and
writes go out in bounded chunks, each after a POLLOUT check. Terminal ioctls
are passed through when the descriptor is a tty. Regular host files are
seekable (pread/pwrite); pipes and ttys are not (ESPIPE).
"""
import fcntl
import os
import select
import stat as _stat
import struct

from snakevisor.abi.errno import EAGAIN, EBADF, EINVAL, ENOTTY, ENXIO, SyscallError
from snakevisor.abi.fs import (FIONREAD, O_ACCMODE, O_APPEND, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM,
                               POLLWRNORM, StatResult, TCGETS, TCSETS, TCSETSF, TCSETSW, TERMIOS_SIZE,
                               TIOCGPGRP, TIOCGWINSZ, TIOCSPGRP, TIOCSWINSZ, WINSIZE_SIZE)
from snakevisor.abi.sched import KCMP_FILE
from snakevisor.abi.syscall_numbers import SYSCALL_NUMBERS
from snakevisor.hostos.libc import syscall as host_syscall
from snakevisor.sentry.vfs.dentry import Dentry
from snakevisor.sentry.vfs.file import FileDescription, FileDescriptionImpl
from snakevisor.sentry.vfs.filesystem import Filesystem
from snakevisor.sentry.vfs.inode import Inode
from snakevisor.sentry.vfs.mount import VirtualDentry, anonymous_mount
from snakevisor.sentry.vfs.waiter import HostFdWaitable

WRITE_CHUNK = 64 * 1024
PIPE_CHUNK = 4096            # a pipe reporting POLLOUT has room for at least one page
MAX_WRITE_PER_CALL = 1 << 20  # then return a short write rather than hog the loop


def _oserror(e: OSError) -> SyscallError:
    return SyscallError(e.errno or EINVAL)


class HostFilesystem(Filesystem):
    name = "host"


class HostInode(Inode):
    """Attributes come from the host descriptor each time."""

    def __init__(self, fs, host_fd: int, owns_fd: bool = True):
        st = os.fstat(host_fd)
        super().__init__(fs, st.st_mode, ino=st.st_ino)
        self.host_fd = host_fd
        self.owns_fd = owns_fd
        self.opens = 0        # HostFileImpls over host_fd: the last to go closes it (if owned)
        self.direct_io = self.is_reg

    def open(self, task, flags):
        """A new open file description of the same host file, as opening /proc/self/fd/N (or
        /dev/stdin, /dev/stdout, /dev/stderr) gives on Linux: its own offset and flags, over the
        same host descriptor (the Sentry opens no host path). A direction the host descriptor was
        not opened for cannot be had from it: ENXIO."""
        try:
            host_mode = fcntl.fcntl(self.host_fd, fcntl.F_GETFL) & O_ACCMODE
        except OSError as e:
            raise _oserror(e)
        want = flags & O_ACCMODE
        if want != host_mode and host_mode != os.O_RDWR:
            raise SyscallError(ENXIO)
        return HostFileImpl(self, self.host_fd)

    def opened(self):
        self.opens += 1

    def closed(self):
        self.opens -= 1
        if self.opens == 0 and self.owns_fd:
            try:
                os.close(self.host_fd)
            except OSError:
                pass

    def stat(self) -> StatResult:
        try:
            st = os.fstat(self.host_fd)
        except OSError as e:
            raise _oserror(e)
        return StatResult(dev=self.fs.dev, ino=st.st_ino, nlink=st.st_nlink, mode=st.st_mode, uid=st.st_uid,
                          gid=st.st_gid, rdev=st.st_rdev, size=st.st_size, blksize=st.st_blksize,
                          blocks=st.st_blocks, atime_ns=st.st_atime_ns, mtime_ns=st.st_mtime_ns,
                          ctime_ns=st.st_ctime_ns)

    @property
    def size(self):
        try:
            return os.fstat(self.host_fd).st_size
        except OSError:
            return 0

    @size.setter
    def size(self, value):
        pass  # Inode.__init__ assigns it; the host owns the real value


def _host_pollable(fd: int) -> bool:
    """Does the host poll ``fd``? epoll refuses (EPERM) a file without a poll method."""
    ep = select.epoll()
    try:
        ep.register(fd, select.EPOLLIN)
    except OSError:
        return False
    finally:
        ep.close()
    return True


def _poll(fd: int, events: int) -> int:
    p = select.poll()
    p.register(fd, events)
    try:
        res = p.poll(0)
    except InterruptedError:
        return 0
    return res[0][1] if res else 0


class HostFileImpl(FileDescriptionImpl):
    def __init__(self, inode: HostInode, host_fd: int):
        super().__init__(inode)
        self.host_fd = host_fd
        inode.opened()
        mode = os.fstat(host_fd).st_mode
        self.seekable = _stat.S_ISREG(mode) or _stat.S_ISBLK(mode)
        self.is_fifo = _stat.S_ISFIFO(mode) or _stat.S_ISSOCK(mode)
        self.is_tty = os.isatty(host_fd)
        self.pollable = _host_pollable(host_fd)

    def read(self, task, n, offset):
        try:
            if self.seekable:
                data = os.pread(self.host_fd, n, offset)
                self._sync_host_offset(offset + len(data))
                return data
            if not _poll(self.host_fd, select.POLLIN) & (select.POLLIN | select.POLLHUP | select.POLLERR):
                raise SyscallError(EAGAIN)
            return os.read(self.host_fd, n)
        except OSError as e:
            raise _oserror(e)

    def write(self, task, data, offset):
        fd = self.host_fd
        try:
            if self.seekable:
                n = os.pwrite(fd, data, offset)
                self._sync_host_offset(offset + n)
                return n
            mv = memoryview(data)
            chunk = PIPE_CHUNK if self.is_fifo else WRITE_CHUNK
            done = 0
            while done < len(mv) and done < MAX_WRITE_PER_CALL:
                ev = _poll(fd, select.POLLOUT)
                if ev & select.POLLERR and not ev & select.POLLOUT:
                    # A broken pipe: let write(2) report EPIPE.
                    return os.write(fd, mv[done:done + chunk]) + done
                if not ev & select.POLLOUT:
                    break
                done += os.write(fd, mv[done:done + chunk])
            if done == 0 and len(mv):
                raise SyscallError(EAGAIN)
            return done
        except OSError as e:
            raise _oserror(e)

    def _sync_host_offset(self, offset):
        """The host description is shared with whoever gave it to us (``cmd > file; echo more >> file``):
        keep its offset where the sandbox's offset is, so their writes and ours do not overlap."""
        try:
            os.lseek(self.host_fd, offset, os.SEEK_SET)
        except OSError:
            pass

    def end_offset(self):
        return self.inode.size

    def stat(self):
        return self.inode.stat()

    def readiness(self, task, mask):
        if self.seekable or not self.pollable:
            return mask & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)   # Linux's DEFAULT_POLLMASK
        ev = _poll(self.host_fd, select.POLLIN | select.POLLOUT)
        out = 0
        if ev & select.POLLIN:
            out |= POLLIN | POLLRDNORM
        if ev & select.POLLOUT:
            out |= POLLOUT | POLLWRNORM
        if ev & select.POLLHUP:
            out |= POLLHUP
        if ev & select.POLLERR:
            out |= POLLERR
        return out & (mask | POLLHUP | POLLERR)

    def waitable(self, task):
        # Nothing to wait for on a file the host cannot poll: it never changes readiness.
        return HostFdWaitable(self.host_fd) if self.pollable else None

    def ioctl(self, task, cmd, arg):
        fd = self.host_fd
        if cmd == FIONREAD and not self.seekable:
            buf = fcntl.ioctl(fd, FIONREAD, bytes(4))
            task.mm.copy_out(arg, buf)
            return 0
        if not self.is_tty:
            raise SyscallError(ENOTTY)
        try:
            if cmd == TCGETS:
                task.mm.copy_out(arg, fcntl.ioctl(fd, TCGETS, bytes(TERMIOS_SIZE)))
            elif cmd in (TCSETS, TCSETSW, TCSETSF):
                fcntl.ioctl(fd, cmd, task.mm.copy_in(arg, TERMIOS_SIZE))
            elif cmd == TIOCGWINSZ:
                task.mm.copy_out(arg, fcntl.ioctl(fd, TIOCGWINSZ, bytes(WINSIZE_SIZE)))
            elif cmd == TIOCSWINSZ:
                fcntl.ioctl(fd, TIOCSWINSZ, task.mm.copy_in(arg, WINSIZE_SIZE))
            elif cmd == TIOCGPGRP:
                # The host's process group id means nothing inside the sandbox's pid
                # namespace; report the caller's own group when the kernel exposes it.
                pgid = _task_pgid(task)
                if pgid is None:
                    task.mm.copy_out(arg, fcntl.ioctl(fd, TIOCGPGRP, bytes(4)))
                else:
                    task.mm.copy_out(arg, struct.pack("<i", pgid))
            elif cmd == TIOCSPGRP:
                task.mm.copy_in(arg, 4)   # accepted: job control stays inside the sandbox
            else:
                raise SyscallError(ENOTTY)
        except OSError as e:
            raise _oserror(e)
        return 0

    def truncate(self, size):
        try:
            os.ftruncate(self.host_fd, size)
        except OSError as e:
            raise _oserror(e)

    def fsync(self):
        if not self.seekable:
            raise SyscallError(EINVAL)   # a pipe, socket or terminal has no ->fsync
        try:
            os.fsync(self.host_fd)
        except OSError:
            pass

    def release(self):
        self.inode.closed()


def _task_pgid(task):
    getter = getattr(task, "process_group_id", None)
    if callable(getter):
        try:
            return int(getter())
        except Exception:   # kernel not wired yet: fall back to the host's answer
            return None
    return None


_fs = None
_mount = None


def _host_mount():
    global _fs, _mount
    if _fs is None:
        _fs = HostFilesystem()
        _fs.root = None
        _mount = anonymous_mount(_fs)
    return _mount


_NR_KCMP = SYSCALL_NUMBERS["kcmp"]


def _same_open_file(fd_a: int, fd_b: int) -> bool:
    """Do two host descriptors share one open file description (dups: ``cmd > log 2>&1``)?
    kcmp(2) (in the Sentry's lock-down whitelist, for exec); False where it is unavailable."""
    pid = os.getpid()
    return host_syscall(_NR_KCMP, pid, pid, KCMP_FILE, fd_a, fd_b) == 0


def new_host_files(host_fds, dup: bool = True) -> list:
    """FileDescriptions for the caller's descriptors (stdio). Descriptors that are dups of one
    open file share one FileDescription, so they share one offset as on Linux (separate ones
    wrote over each other's output). With ``dup`` the descriptors are dup'ed; otherwise they
    are taken over (an extra one sharing a description is closed)."""
    out = []
    for i, fd in enumerate(host_fds):
        same = next((j for j in range(i) if _same_open_file(fd, host_fds[j])), None)
        if same is not None:
            out.append(out[same].inc_ref())
            if not dup:
                os.close(fd)
            continue
        out.append(new_host_file(os.dup(fd) if dup else fd))
    return out


def new_host_file(host_fd: int, flags: int | None = None, name: bytes | None = None,
                  owns_fd: bool = True) -> FileDescription:
    """A FileDescription (refs=1) over ``host_fd``; flags default to the host's access mode."""
    try:
        host_flags = fcntl.fcntl(host_fd, fcntl.F_GETFL)
    except OSError:
        raise SyscallError(EBADF)
    if flags is None:
        flags = host_flags & (O_ACCMODE | O_APPEND)
    mount = _host_mount()
    inode = HostInode(mount.fs, host_fd, owns_fd)
    if name is None:
        mode = os.fstat(host_fd).st_mode
        if os.isatty(host_fd):
            name = f"/dev/pts/{os.minor(os.fstat(host_fd).st_rdev)}".encode()
        elif _stat.S_ISFIFO(mode):
            name = f"pipe:[{inode.ino}]".encode()
        elif _stat.S_ISSOCK(mode):
            name = f"socket:[{inode.ino}]".encode()
        else:
            name = f"host:[{inode.ino}]".encode()
    dentry = Dentry(inode, name)
    impl = HostFileImpl(inode, host_fd)
    description = FileDescription(impl, VirtualDentry(mount, dentry), flags)
    if impl.seekable:
        try:
            description.offset = os.lseek(host_fd, 0, os.SEEK_CUR)  # continue where the caller is
        except OSError:
            pass
    return description
