"""Console: bridges the host terminal to a Sentry pseudo-terminal for ``snakevisor do -t``.

The host terminal is put in raw mode (the sandbox's own line discipline does the
editing, echo and ^C), a pty pair is made in the Sentry's devpts with the host
terminal's modes and window size, and the replica
becomes the init process's stdin/stdout/stderr and controlling terminal. Then,
inside the Sentry loop: host input (``loop.watch_fd`` on the host stdin) is
written to the master; master output (a callback on the master's WaitQueue) is
written to the host stdout; a host SIGWINCH (a signalfd) becomes TIOCSWINSZ on
the pty. The host terminal's settings come back at exit, whatever happens.
"""
import fcntl
import os
import select
import signal as host_signal
import termios

from snakevisor.abi import signal as S
from snakevisor.abi.errno import SyscallError
from snakevisor.abi.fs import POLLHUP, POLLIN, POLLOUT
from snakevisor.abi.tty import TIOCGWINSZ, VEOF, WINSIZE
from snakevisor.sentry.kernel.loop import signalfd

READ_CHUNK = 64 * 1024


def _readable(fd) -> bool:
    p = select.poll()
    p.register(fd, select.POLLIN)
    try:
        return bool(p.poll(0))
    except InterruptedError:
        return False


def _set_raw(fd):
    """cfmakeraw on the host terminal; returns the settings to restore."""
    saved = termios.tcgetattr(fd)
    mode = termios.tcgetattr(fd)
    mode[0] &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP | termios.INLCR
                 | termios.IGNCR | termios.ICRNL | termios.IXON)
    mode[1] &= ~termios.OPOST
    mode[2] = (mode[2] & ~(termios.CSIZE | termios.PARENB)) | termios.CS8
    mode[3] &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN)
    mode[6][termios.VMIN] = 1
    mode[6][termios.VTIME] = 0
    termios.tcsetattr(fd, termios.TCSAFLUSH, mode)
    return saved


class Console:
    def __init__(self, devpts, host_in: int = 0, host_out: int = 1):
        self.devpts = devpts
        self.host_in = host_in
        self.host_out = host_out
        self.host_tty = next((fd for fd in (host_in, host_out) if os.isatty(fd)), None)
        self.saved_termios = None
        self.master = self.replica = self.terminal = None
        self.loop = None
        self.pending = bytearray()      # host input the pty had no room for yet
        self.watching = False
        self.winch_fd = None
        self.input_closed = False       # host input reached its end
        self._pumping = self._again = False
        self._reading = False
        self._queue_handle = None

    # --- before the init process exists --------------------------------------------------------------
    def setup(self):
        """Make the pair; returns the replica description for the init process's stdio (refs=1)."""
        self.master, self.replica, self.terminal = self.devpts.new_pair()
        if self.host_tty is not None:
            self._copy_termios()
            self._copy_winsize()
        return self.replica

    def attach(self, init_tg):
        """The replica becomes the controlling terminal of the init process's session."""
        self.terminal.set_ctty(init_tg)

    # --- running -----------------------------------------------------------------------------------------
    def start(self, loop):
        self.loop = loop
        if self.host_tty is not None:
            try:
                self.saved_termios = _set_raw(self.host_tty)
            except termios.error:
                self.saved_termios = None
            host_signal.pthread_sigmask(host_signal.SIG_BLOCK, {host_signal.SIGWINCH})
            self.winch_fd = signalfd(S.SIGWINCH)
            loop.watch_fd(self.winch_fd, self._on_winch)
            # A resize between setup and now sent no SIGWINCH we could catch (an OCI engine sizes
            # the console once the container is created): take the size again.
            self._copy_winsize()
        self._queue_handle = self.terminal.master_queue.register(self._on_master, POLLIN | POLLOUT | POLLHUP)
        self._pump()

    def foreground_pgid(self):
        """For signals sent to snakevisor itself (kill -INT): the pty's foreground group."""
        return self.terminal.pgrp or None

    def _watch_input(self, on: bool):
        if on and not self.watching:
            self.loop.watch_fd(self.host_in, self._on_host_input)
            self.watching = True
            # The loop may be told only of input that arrives from now on (SIGIO): take what
            # is already there.
            self._on_host_input()
        elif not on and self.watching:
            self.loop.unwatch_fd(self.host_in)
            self.watching = False

    def _on_host_input(self):
        """Read the host input while it is readable (the descriptor is shared: never O_NONBLOCK)."""
        if self._reading:
            return
        self._reading = True
        try:
            while self.watching and not self.pending and _readable(self.host_in):
                try:
                    data = os.read(self.host_in, READ_CHUNK)
                except BlockingIOError:
                    return
                except OSError:
                    data = b""   # EIO: the host terminal is gone
                if not data:
                    self.input_closed = True
                    self._watch_input(False)
                    self._host_eof()
                    return
                self.pending += data
                self._pump()
        finally:
            self._reading = False

    def _pump(self):
        """Move host input into the master and master output to the host until neither moves.

        Master writes and reads notify the master's WaitQueue, whose callback is this again:
        the guard turns that recursion into another turn of this loop."""
        if self._pumping:
            self._again = True
            return
        self._pumping = True
        try:
            self._again = True
            while self._again:
                self._again = False
                self._feed()
                self._drain_output()
        finally:
            self._pumping = False
        self._watch_input(not self.pending and not self.input_closed)

    def _feed(self):
        """Write pending host input into the master (what does not fit waits for POLLOUT)."""
        while self.pending and self.master is not None:
            try:
                n = self.terminal.master_write(self.pending)
            except SyscallError:
                break
            del self.pending[:n]

    def _host_eof(self):
        if self.host_tty is not None and self.host_tty == self.host_in:
            # The terminal itself went away: hang the pty up (SIGHUP to the session leader).
            self.close_master()
        else:
            # Input from a file or pipe ended: an EOF character, as typing ^D would give.
            eof = self.terminal.ld.cc[VEOF]
            if eof:
                self.pending += bytes((eof,))
                self._pump()

    def _on_master(self, events):
        self._pump()

    def _drain_output(self):
        """Copy everything the sandbox wrote to the terminal out to the host."""
        while self.master is not None:
            try:
                data = self.terminal.master_read(READ_CHUNK)
            except SyscallError:
                break
            self._write_host(data)

    def _write_host(self, data):
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.host_out, view)
            except BlockingIOError:
                continue
            except OSError:
                return   # the host side is gone; the output is lost as on a hung-up terminal
            view = view[n:]

    def _copy_termios(self):
        """The pty starts with the host terminal's modes, as script(1) and sshd give theirs: the
        erase character the user's terminal sends, IUTF8 (^? then erases a whole UTF-8 character
        in a canonical read, not its last byte), ... A host terminal not in canonical mode (left raw
        by whatever started us) has no modes worth copying: the pty keeps Linux's defaults."""
        try:
            iflag, oflag, _cflag, lflag, _ispeed, _ospeed, cc = termios.tcgetattr(self.host_tty)
        except termios.error:
            return
        if not lflag & termios.ICANON:
            return
        ld = self.terminal.ld
        chars = bytes(c if isinstance(c, int) else (c[0] if c else 0) for c in cc)
        ld.set_termios(iflag, oflag, ld.cflag, lflag, ld.line, chars[:len(ld.cc)])

    def _copy_winsize(self):
        try:
            raw = fcntl.ioctl(self.host_tty, TIOCGWINSZ, bytes(WINSIZE.size))
        except OSError:
            return
        self.terminal.set_winsize(WINSIZE.unpack(raw))

    def _on_winch(self):
        try:
            os.read(self.winch_fd, 128 * 8)
        except BlockingIOError:
            return
        self._copy_winsize()

    # --- the end --------------------------------------------------------------------------------------
    def close_master(self):
        if self.master is not None:
            self._pump()
            if self._queue_handle is not None:
                self.terminal.master_queue.unregister(self._queue_handle)
                self._queue_handle = None
            master, self.master = self.master, None
            master.dec_ref()

    def restore(self):
        """Give the host terminal its settings back (called at exit, also after errors)."""
        self.input_closed = True
        if self.terminal is not None and self.master is not None:
            try:
                self._pump()
            except (OSError, ValueError):
                pass
        if self.loop is not None:
            try:   # the loop's epoll may already be closed
                self._watch_input(False)
                if self.winch_fd is not None:
                    self.loop.unwatch_fd(self.winch_fd)
            except (OSError, ValueError):
                pass
        if self.winch_fd is not None:
            os.close(self.winch_fd)
            self.winch_fd = None
        try:   # the loop may have asked for SIGIO on the (shared) host descriptor
            flags = fcntl.fcntl(self.host_in, fcntl.F_GETFL)
            if flags & os.O_ASYNC:
                fcntl.fcntl(self.host_in, fcntl.F_SETFL, flags & ~os.O_ASYNC)
        except OSError:
            pass
        if self.saved_termios is not None:
            try:
                termios.tcsetattr(self.host_tty, termios.TCSADRAIN, self.saved_termios)
            except termios.error:
                pass
            self.saved_termios = None
