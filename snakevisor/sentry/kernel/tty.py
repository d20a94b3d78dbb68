"""Terminal: one pseudo-terminal pair's state — termios and line discipline, window size, the
session it controls and its foreground process group — and the tty ioctls and job control.

The master and replica FileDescriptionImpls (fsimpl/devpts.py) call in here. Linux's
rules are followed: ioctls on the master act on the replica's termios and window size;
a process of a background process group reading its controlling terminal gets SIGTTIN
(writing it with TOSTOP, or changing its settings, SIGTTOU) and the call restarts once it
is continued; ISIG characters signal the foreground process group; closing the master
hangs the replica up (reads see EOF, writes EIO, the session leader gets SIGHUP).
The controlling terminal of a session is kept in ``PIDNamespace.session_ttys`` (sid ->
Terminal) and read through ``ThreadGroup.tty``.
"""
import struct

from snakevisor.abi import signal as S
from snakevisor.abi.capability import CAP_CHECKPOINT_RESTORE, CAP_SYS_ADMIN
from snakevisor.abi.errno import EAGAIN, EINVAL, EIO, ENOTTY, EPERM, ERESTARTSYS, ESRCH, SyscallError
from snakevisor.abi.fs import (POLLERR, POLLHUP, POLLIN, POLLOUT, POLLPRI, POLLRDNORM, POLLWRNORM, makedev)
from snakevisor.abi.tty import (TIOCGLCKTRMIOS, TIOCSLCKTRMIOS, FIONREAD, N_TTY, TCFLSH, TCGETS, TCGETS2, TCIFLUSH, TCIOFF, TCIOFLUSH, TCION,
                                TCGETA, TCSETA, TCSETAF, TCSETAW, TERMIO,
                                TCOFLUSH, TCOOFF, TCOON, TCSBRK, TCSBRKP, TCSETS, TCSETS2, TCSETSF, TCSETSF2,
                                TCSETSW, TCSETSW2, TCXONC, TERMIOS, TERMIOS2, TIOCCBRK, TIOCEXCL, TIOCGDEV,
                                TIOCGETD, TIOCGEXCL, TIOCGPGRP, TIOCGPKT, TIOCGPTLCK, TIOCGPTN, TIOCGSID,
                                TIOCGWINSZ, TIOCNOTTY, TIOCNXCL, TIOCOUTQ, TIOCPKT, TIOCPKT_FLUSHREAD,
                                TIOCPKT_FLUSHWRITE, TIOCSBRK, TIOCSCTTY,
                                TIOCSETD, TIOCSIG, TIOCSPGRP, TIOCSPTLCK, TIOCSTI, TIOCSWINSZ, TOSTOP,
                                UNIX98_PTY_SLAVE_MAJOR, VMIN, VTIME, WINSIZE)
from snakevisor.sentry.kernel.ldisc import LineDiscipline
from snakevisor.sentry.kernel.signals import make_siginfo
from snakevisor.sentry.vfs.waiter import WaitQueue

_INT = struct.Struct("<i")
_ALL = POLLIN | POLLPRI | POLLOUT | POLLRDNORM | POLLWRNORM | POLLHUP | POLLERR
_TERMIOS_IOCTLS = frozenset((TCGETS, TCGETS2, TCGETA, TCSETA, TCSETAW, TCSETAF,
                             TCSETS, TCSETSW, TCSETSF, TCSETS2, TCSETSW2, TCSETSF2))
_QUEUE_IOCTLS = frozenset((FIONREAD, TIOCOUTQ, TCSBRK, TCSBRKP, TIOCSBRK, TIOCCBRK, TCFLSH, TCXONC))

# dev.tty.legacy_tiocsti (/proc/sys/dev/tty): 0 leaves TIOCSTI to CAP_SYS_ADMIN (Linux 6.2's
# CONFIG_LEGACY_TIOCSTI, on by default).
LIMITS = {"legacy_tiocsti": 1}


def hung_up_readiness(mask: int) -> int:
    """A hung-up terminal polls ready for everything (hung_up_tty_poll)."""
    return (POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM | POLLERR | POLLHUP) & (mask | POLLHUP | POLLERR)


class Terminal:
    """A pty pair: the master side is the ptmx description, the replica is /dev/pts/N."""

    def __init__(self, kernel, index: int):
        self.kernel = kernel
        self.index = index
        self.ld = LineDiscipline()
        self.termios_locked = bytes(TERMIOS.size)   # TIOCSLCKTRMIOS: bits TCSETS* leave as they are
        self.winsize = (0, 0, 0, 0)        # rows, cols, xpixel, ypixel
        self.session = None                # the session leader's ThreadGroup while this is a ctty
        self.pgrp = 0                      # foreground process group id (0: none)
        self.locked = True                 # TIOCSPTLCK: ptmx hands the pair out locked
        self.exclusive = False             # TIOCEXCL
        self.packet = False                # TIOCPKT on the master
        self.pktstatus = 0                 # TIOCPKT_* events the packet-mode master has yet to read
        self.master_open = True
        self.replicas = 0                  # open replica descriptions
        self.other_closed = False          # the last replica closed (master reads get EIO once drained)
        self.master_queue = WaitQueue()    # POLLIN: output to read; POLLOUT: room for input; POLLHUP
        self.replica_queue = WaitQueue()   # POLLIN: input to read; POLLOUT: room for output; POLLHUP
        self.on_release = None             # devpts forgets the index once both sides are gone
        self.inode = None                  # devpts's /dev/pts/N
        self.hangups = 0                   # vhangup count: replica descriptions opened before one are hung up

    def __repr__(self):
        return f"Terminal(pts/{self.index})"

    @property
    def rdev(self) -> int:
        return makedev(UNIX98_PTY_SLAVE_MAJOR, self.index)

    # --- wake-ups -------------------------------------------------------------------------------
    def _wake(self) -> None:
        """Tell waiters on either side what is ready now (they re-check: a spurious wake is harmless)."""
        ev = self.replica_readiness(_ALL)
        if ev:
            self.replica_queue.notify(ev)
        ev = self.master_readiness(_ALL)
        if ev:
            self.master_queue.notify(ev)

    # --- sessions and process groups ----------------------------------------------------------------
    def session_alive(self) -> bool:
        s = self.session
        return s is not None and s.exit_status is None

    def set_ctty(self, tg) -> None:
        """Make this the controlling terminal of ``tg``'s session, with ``tg``'s group in the foreground."""
        self.session = tg
        self.pgrp = tg.pgid
        tg.notty_sid = None
        self.kernel.pidns.session_ttys[tg.sid] = self

    def clear_ctty(self) -> None:
        if self.session is not None:
            ttys = self.kernel.pidns.session_ttys
            if ttys.get(self.session.sid) is self:
                del ttys[self.session.sid]
        self.session = None
        self.pgrp = 0

    def hangup(self) -> None:
        """tty_vhangup: the replica descriptions open now are hung up (devpts.ReplicaImpl), the
        session loses its terminal and its leader gets SIGHUP and SIGCONT (tty_signal_session_leader)."""
        self.hangups += 1
        leader = self.session if self.session_alive() else None
        self.clear_ctty()
        if leader is not None:
            for sig in (S.SIGHUP, S.SIGCONT):
                self.kernel.signals.send_to_group(leader, sig, make_siginfo(sig, S.SI_KERNEL))
        self.replica_queue.notify(_ALL)   # blocked readers find end-of-file

    def signal_group(self, pgid: int, sig: int) -> None:
        if not pgid:
            return
        kernel = self.kernel
        for tg in kernel.pidns.process_group(pgid):
            kernel.signals.send_to_group(tg, sig, make_siginfo(sig, S.SI_KERNEL))

    def _orphaned(self, pgid: int, sid: int) -> bool:
        """A process group is orphaned when no member has a parent in another group of its session."""
        for tg in self.kernel.pidns.process_group(pgid):
            p = tg.parent
            if p is not None and p.exit_status is None and p.pgid != pgid and p.sid == sid:
                return False
        return True

    def job_control(self, task, sig: int) -> None:
        """Linux's __tty_check_change: may ``task`` read (SIGTTIN) or write/configure (SIGTTOU) us?

        A background process group of our session is signalled and the call restarts (ERESTARTSYS);
        if it ignores or blocks the signal, reading fails with EIO and writing goes ahead; an
        orphaned group gets EIO."""
        if task is None:
            return
        tg = task.tg
        if not self.pgrp or tg.pgid == self.pgrp or tg.tty is not self:
            return
        handler = tg.handlers.get(sig)[0]
        if task.sigmask & S.sigbit(sig) or handler == S.SIG_IGN:
            if sig == S.SIGTTIN:
                raise SyscallError(EIO)
            return
        if self._orphaned(tg.pgid, tg.sid):
            raise SyscallError(EIO)
        self.signal_group(tg.pgid, sig)
        raise SyscallError(ERESTARTSYS)

    # --- the master side ------------------------------------------------------------------------------
    def master_read(self, n: int) -> bytes:
        if self.packet and self.pktstatus:   # a status byte alone, before any data (n_tty_read)
            status, self.pktstatus = self.pktstatus, 0
            return bytes([status])
        if self.packet:
            data = self.ld.take_output(n - 1) if n > 1 else None
            if data is not None:
                self._wake()
                return b"\0" + data       # TIOCPKT_DATA
        else:
            data = self.ld.take_output(n)
            if data is not None:
                self._wake()
                return data
        if self.other_closed:
            raise SyscallError(EIO)
        raise SyscallError(EAGAIN)

    def master_write(self, data) -> int:
        """Input typed at the terminal: through the line discipline to the replica."""
        if not len(data):
            return 0
        n = self._receive(data)
        if n == 0:
            raise SyscallError(EAGAIN)
        return n

    def _receive(self, data) -> int:
        """Input through the line discipline (echo, ISIG's signals); the bytes it took."""
        n, sigs = self.ld.receive(data)
        for sig in sigs:
            self.signal_group(self.pgrp, sig)
        if n:
            self._wake()
        return n

    def master_readiness(self, mask: int) -> int:
        ev = 0
        if self.ld.output_ready():
            ev |= POLLIN | POLLRDNORM
        if self.packet and self.pktstatus:
            ev |= POLLPRI | POLLIN | POLLRDNORM
        if self.other_closed:
            ev |= POLLHUP
        if self.ld.input_room() > 0:   # even with the replica closed (n_tty_poll: pty_write_room)
            ev |= POLLOUT | POLLWRNORM
        return ev & (mask | POLLHUP | POLLERR)

    def master_closed(self) -> None:
        """The last master description went: hang the replica up (Linux's tty_vhangup)."""
        self.master_open = False
        leader = self.session
        if leader is not None and leader.exit_status is None:
            for sig in (S.SIGHUP, S.SIGCONT):
                self.kernel.signals.send_to_group(leader, sig, make_siginfo(sig, S.SI_KERNEL))
        self.clear_ctty()
        self.replica_queue.notify(_ALL)
        self._maybe_release()

    # --- the replica side -----------------------------------------------------------------------------
    def replica_opened(self) -> None:
        self.replicas += 1
        self.other_closed = False
        self._wake()

    def replica_closed(self) -> None:
        self.replicas -= 1
        if self.replicas == 0:
            self.other_closed = True
            self.master_queue.notify(_ALL)
            self._maybe_release()

    def _maybe_release(self) -> None:
        if not self.master_open and self.replicas == 0 and self.on_release is not None:
            self.on_release(self)
            self.on_release = None

    def replica_read(self, task, n: int) -> bytes:
        if not self.master_open:
            return b""                    # hung up
        self.job_control(task, S.SIGTTIN)
        data = self.ld.read(n)
        if data is None:
            raise SyscallError(EAGAIN)
        self._wake()
        return data

    def replica_read_timed(self, task, n: int):
        """A blocking non-canonical read with VTIME set (a generator): VMIN=0 waits at most VTIME
        tenths of a second for any input (then returns b""); VMIN>0 waits for the first byte without
        a limit, then returns once VMIN bytes came or VTIME passed with no new byte (termios(3)).
        A signal after some bytes returns them, as n_tty_read does."""
        got = bytearray()
        vmin, vtime = self.ld.cc[VMIN], self.ld.cc[VTIME] / 10
        want = min(vmin, n) if vmin else 1
        deadline = None if vmin else self.kernel.monotonic() + vtime
        while True:
            try:
                got += self.replica_read(task, n - len(got))
            except SyscallError as e:
                if e.errno != EAGAIN:
                    if got:
                        return bytes(got)
                    raise
            if len(got) >= want or not self.master_open:
                return bytes(got)
            if vmin and got:
                timeout = vtime   # the inter-byte timer restarts with each byte
            elif vmin:
                timeout = None
            else:
                timeout = deadline - self.kernel.monotonic()
                if timeout <= 0:
                    return b""
            try:
                ready = yield from task.block_on(self.replica_queue, POLLIN | POLLHUP, timeout)
            except SyscallError:
                if got:
                    return bytes(got)
                raise
            if not ready and (got or not vmin):
                return bytes(got)

    def replica_write(self, task, data) -> int:
        if not self.master_open:
            raise SyscallError(EIO)
        if self.ld.lflag & TOSTOP:
            self.job_control(task, S.SIGTTOU)
        if not len(data):
            return 0
        n = self.ld.write(data)
        if n == 0:
            raise SyscallError(EAGAIN)
        self._wake()
        return n

    def replica_readiness(self, mask: int) -> int:
        if not self.master_open:
            return hung_up_readiness(mask)
        ev = 0
        if self.ld.readable():
            ev |= POLLIN | POLLRDNORM
        if self.ld.output_room() > 0:
            ev |= POLLOUT | POLLWRNORM
        return ev & mask

    # --- window size ----------------------------------------------------------------------------------
    def set_winsize(self, ws) -> None:
        """TIOCSWINSZ (also the console's host resize): SIGWINCH to the foreground group on a change."""
        ws = tuple(ws)
        if ws == self.winsize:
            return
        self.winsize = ws
        self.signal_group(self.pgrp, S.SIGWINCH)

    # --- termios ----------------------------------------------------------------------------------------
    def termios_bytes(self, v2: bool = False) -> bytes:
        ld = self.ld
        fields = (ld.iflag, ld.oflag, ld.cflag, ld.lflag, ld.line, bytes(ld.cc))
        if v2:
            return TERMIOS2.pack(*fields, ld.ispeed, ld.ospeed)
        return TERMIOS.pack(*fields)

    def set_termios_bytes(self, raw: bytes, v2: bool = False) -> None:
        if v2:
            iflag, oflag, cflag, lflag, line, cc, ispeed, ospeed = TERMIOS2.unpack(raw)
            self.ld.set_termios(*self._unlocked(iflag, oflag, cflag, lflag, line, cc), ispeed, ospeed)
        else:
            self.ld.set_termios(*self._unlocked(*TERMIOS.unpack(raw)))
        self._wake()

    def _unlocked(self, iflag, oflag, cflag, lflag, line, cc):
        """The new settings but for what TIOCSLCKTRMIOS locked, which keeps its current value
        (Linux's unset_locked_termios; the speeds are not locked)."""
        ld = self.ld
        liflag, loflag, lcflag, llflag, lline, lcc = TERMIOS.unpack(self.termios_locked)
        cc = bytes(cc)[:len(ld.cc)].ljust(len(ld.cc), b"\0")
        return (iflag & ~liflag | ld.iflag & liflag, oflag & ~loflag | ld.oflag & loflag,
                cflag & ~lcflag | ld.cflag & lcflag, lflag & ~llflag | ld.lflag & llflag,
                ld.line if lline else line, bytes(ld.cc[i] if lcc[i] else cc[i] for i in range(len(ld.cc))))

    def _lock_ioctl(self, task, cmd, arg):
        """TIOCGLCKTRMIOS, TIOCSLCKTRMIOS: the pty's locked termios bits, one for both ends
        (Linux's tty_mode_ioctl on the replica); setting them is CAP_SYS_ADMIN's or
        CAP_CHECKPOINT_RESTORE's."""
        if cmd == TIOCGLCKTRMIOS:
            task.mm.copy_out(arg, self.termios_locked)
            return 0
        if not (task.creds.has_cap(CAP_SYS_ADMIN) or task.creds.has_cap(CAP_CHECKPOINT_RESTORE)):
            raise SyscallError(EPERM)
        self.termios_locked = bytes(task.mm.copy_in(arg, TERMIOS.size))
        return 0

    # --- ioctl ------------------------------------------------------------------------------------------
    def ioctl(self, task, cmd: int, arg: int, master: bool, file=None) -> int:
        """A tty ioctl through the master (``master``) or a replica description ``file``."""
        mm = task.mm
        if not master and not self.master_open:
            raise SyscallError(EIO if cmd in (TIOCSPGRP, TIOCSCTTY) else ENOTTY)
        if cmd in _TERMIOS_IOCTLS:
            return self._termios_ioctl(task, cmd, arg, master)
        if cmd in _QUEUE_IOCTLS:
            return self._queue_ioctl(task, cmd, arg, master)
        if cmd in (TIOCGLCKTRMIOS, TIOCSLCKTRMIOS):
            return self._lock_ioctl(task, cmd, arg)
        if cmd == TIOCGWINSZ:
            mm.copy_out(arg, WINSIZE.pack(*self.winsize))
            return 0
        if cmd == TIOCSWINSZ:
            self.set_winsize(WINSIZE.unpack(mm.copy_in(arg, WINSIZE.size)))
            return 0
        if cmd == TIOCEXCL or cmd == TIOCNXCL:
            self.exclusive = cmd == TIOCEXCL
            return 0
        if cmd == TIOCGEXCL:
            mm.copy_out(arg, _INT.pack(int(self.exclusive)))
            return 0
        if cmd == TIOCGETD:
            mm.copy_out(arg, _INT.pack(N_TTY))
            return 0
        if cmd == TIOCSETD:
            if _INT.unpack(mm.copy_in(arg, 4))[0] != N_TTY:
                raise SyscallError(EINVAL)
            return 0
        if cmd == TIOCGDEV:
            mm.copy_out(arg, struct.pack("<I", (UNIX98_PTY_SLAVE_MAJOR << 20) | self.index))
            return 0
        if cmd in (TIOCSCTTY, TIOCNOTTY, TIOCGPGRP, TIOCSPGRP, TIOCGSID):
            return self._session_ioctl(task, cmd, arg, master, file)
        if cmd == TIOCSTI:
            return self._inject(task, arg, master)
        if master:
            return self._master_ioctl(task, cmd, arg)
        raise SyscallError(ENOTTY)

    def _inject(self, task, arg, master):
        """TIOCSTI (Linux's tiocsti): one byte taken as if it had come in: typed at the replica's
        side, through its line discipline; on the master, as output the master reads (its own
        line discipline is raw). Only into the caller's controlling terminal (the master is
        none), and with legacy_tiocsti off not at all, but with CAP_SYS_ADMIN; a byte that finds
        the queue full is lost, as n_tty drops it, and the call still succeeds."""
        admin = task.creds.has_cap(CAP_SYS_ADMIN)
        if not LIMITS["legacy_tiocsti"] and not admin:
            raise SyscallError(EIO)
        if (master or task.tg.tty is not self) and not admin:
            raise SyscallError(EPERM)
        ch = task.mm.copy_in(arg, 1)
        if not master:
            self._receive(ch)
        elif self.ld.output_room() > 0:
            self.ld.out += ch
            self._wake()
        return 0

    def _termios_ioctl(self, task, cmd, arg, master):
        """Get or set the line discipline's settings, as struct termios, termios2 or the old termio."""
        mm = task.mm
        ld = self.ld
        if cmd in (TCGETS, TCGETS2):
            mm.copy_out(arg, self.termios_bytes(cmd == TCGETS2))
            return 0
        if cmd == TCGETA:   # the old struct termio: 16-bit flags, line, the first NCC (8) cc
            mm.copy_out(arg, TERMIO.pack(ld.iflag & 0xFFFF, ld.oflag & 0xFFFF, ld.cflag & 0xFFFF,
                                         ld.lflag & 0xFFFF, ld.line, bytes(ld.cc[:8])) + b"\0")  # sizeof is 18
            return 0
        termio = cmd in (TCSETA, TCSETAW, TCSETAF)
        v2 = cmd in (TCSETS2, TCSETSW2, TCSETSF2)
        raw = mm.copy_in(arg, TERMIO.size if termio else TERMIOS2.size if v2 else TERMIOS.size)
        if not master:
            self.job_control(task, S.SIGTTOU)
        if cmd in (TCSETAF, TCSETSF, TCSETSF2):
            ld.flush_input()
        if termio:
            iflag, oflag, cflag, lflag, line, cc = TERMIO.unpack(raw)
            # the upper halves of the flags stay (user_termio_to_kernel_termios)
            ld.set_termios(*self._unlocked(ld.iflag & ~0xFFFF | iflag, ld.oflag & ~0xFFFF | oflag,
                                           ld.cflag & ~0xFFFF | cflag, ld.lflag & ~0xFFFF | lflag, line,
                                           cc + bytes(ld.cc[8:])))
            self._wake()
        else:
            self.set_termios_bytes(raw, v2)  # TCSETSW's drain is immediate: output is already queued
        return 0

    def _queue_ioctl(self, task, cmd, arg, master):
        """The queues' sizes, breaks, flushes and flow control."""
        mm = task.mm
        if cmd == FIONREAD:
            count = len(self.ld.out) if master else self.ld.input_count()
            mm.copy_out(arg, _INT.pack(min(count, 0x7FFFFFFF)))
            return 0
        if cmd == TIOCOUTQ:
            mm.copy_out(arg, _INT.pack(0))   # a pty passes output on at once
            return 0
        if cmd in (TCSBRK, TCSBRKP, TIOCSBRK, TIOCCBRK):
            return 0
        if not master:   # TCFLSH, TCXONC
            self.job_control(task, S.SIGTTOU)
        if cmd == TCFLSH:
            self._flush(arg & 0xFFFFFFFF, master)
            return 0
        action = arg & 0xFFFFFFFF   # TCXONC
        if action == TCOOFF:
            self.ld.stopped = True
        elif action == TCOON:
            self.ld.stopped = False
            self._wake()
        elif action not in (TCIOFF, TCION):
            raise SyscallError(EINVAL)
        return 0

    def _flush(self, which, master):
        """TCFLSH through the master or a replica."""
        if which not in (TCIFLUSH, TCOFLUSH, TCIOFLUSH):
            raise SyscallError(EINVAL)
        # The master's input queue is the replica's output, and the other way round. An output
        # flush empties only the pty's buffer (pty_flush_buffer): the master's TCOFLUSH leaves
        # the replica's line discipline, which takes typed input in at once, as it is; the
        # replica's leaves what the master's line discipline already holds.
        if which in (TCIFLUSH, TCIOFLUSH):
            self.ld.flush_output() if master else self.ld.flush_input()
        if which in (TCOFLUSH, TCIOFLUSH) and not master:
            self.ld.discard_output()
        if self.packet and not master:   # a replica's flushes reach a packet-mode master as status
            self.pktstatus |= (TIOCPKT_FLUSHREAD if which != TCOFLUSH else 0) | (
                TIOCPKT_FLUSHWRITE if which != TCIFLUSH else 0)
        self._wake()

    def _master_ioctl(self, task, cmd, arg):
        mm = task.mm
        if cmd == TIOCGPTN:
            mm.copy_out(arg, struct.pack("<I", self.index))
        elif cmd == TIOCSPTLCK:
            self.locked = _INT.unpack(mm.copy_in(arg, 4))[0] != 0
        elif cmd == TIOCGPTLCK:
            mm.copy_out(arg, _INT.pack(int(self.locked)))
        elif cmd == TIOCPKT:
            on = _INT.unpack(mm.copy_in(arg, 4))[0] != 0
            if on and not self.packet:
                self.pktstatus = 0   # events from before packet mode are not reported
            self.packet = on
        elif cmd == TIOCGPKT:
            mm.copy_out(arg, _INT.pack(int(self.packet)))
        elif cmd == TIOCSIG:
            sig = arg & 0xFFFFFFFF
            if not 0 < sig < S.NSIG:
                raise SyscallError(EINVAL)
            self.signal_group(self.pgrp, sig)
        else:
            raise SyscallError(ENOTTY)
        return 0

    def _session_ioctl(self, task, cmd, arg, master, file):
        tg = task.tg
        mine = tg.tty is self
        if cmd == TIOCSCTTY:
            if self.session is tg or (mine and tg.sid == tg.tgid):
                return 0
            if tg.sid != tg.tgid or tg.tty is not None:
                raise SyscallError(EPERM)
            if self.session_alive():
                if arg == 1 and task.creds.has_cap(CAP_SYS_ADMIN):
                    self.clear_ctty()   # steal it
                else:
                    raise SyscallError(EPERM)
            if file is not None and not file.readable and not task.creds.has_cap(CAP_SYS_ADMIN):
                raise SyscallError(EPERM)
            self.set_ctty(tg)
            return 0
        if cmd == TIOCNOTTY:
            if master or not mine:   # the master is never anyone's terminal (tty_ioctl compares tty, not its link)
                raise SyscallError(ENOTTY)
            if tg.sid == tg.tgid:
                fg = self.pgrp
                self.clear_ctty()
                self.signal_group(fg, S.SIGHUP)
                self.signal_group(fg, S.SIGCONT)
            else:
                tg.notty_sid = tg.sid
            return 0
        if cmd == TIOCGPGRP:
            if not master and not mine:
                raise SyscallError(ENOTTY)
            task.mm.copy_out(arg, _INT.pack(task.tg.pidns.id_of(self.pgrp) if self.session_alive() else 0))
            return 0
        if cmd == TIOCGSID:
            if not master and not mine:
                raise SyscallError(ENOTTY)
            if not self.session_alive():
                raise SyscallError(ENOTTY)
            task.mm.copy_out(arg, _INT.pack(task.tg.pidns.id_of(self.session.sid)))
            return 0
        # TIOCSPGRP
        try:
            self.job_control(task, S.SIGTTOU)
        except SyscallError as e:
            raise SyscallError(ENOTTY if e.errno == EIO else e.errno)
        if not mine or not self.session_alive() or self.session.sid != tg.sid:
            raise SyscallError(ENOTTY)
        pgid = _INT.unpack(task.mm.copy_in(arg, 4))[0]
        if pgid < 0:
            raise SyscallError(EINVAL)
        members = task.tg.pidns.process_group(pgid)   # an id in the caller's PID namespace
        if not members:
            raise SyscallError(ESRCH)
        if members[0].sid != tg.sid:
            raise SyscallError(EPERM)
        self.pgrp = members[0].pgid
        return 0
