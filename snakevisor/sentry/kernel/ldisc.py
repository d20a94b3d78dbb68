"""LineDiscipline: Linux's N_TTY for one terminal, as pure data (no Tasks, no signals sent here).

Input (what the master writes) is processed per termios ``c_iflag``/``c_lflag``:
CR/NL mapping, IXON flow control, ISIG characters (reported back to the caller,
which signals the foreground process group), canonical line editing (VERASE,
VWERASE, VKILL, VEOF, VEOL, VLNEXT, VREPRINT) and echo. Output (what the
replica writes, and the echoes) is processed per ``c_oflag`` (OPOST: ONLCR,
OCRNL, ONOCR, ONLRET, OLCUC, XTABS). kernel/tty.py's Terminal owns one of these
and turns "would block" (a None or 0 result here) into EAGAIN.
"""
from collections import deque

from snakevisor.abi import signal as S
from snakevisor.abi.tty import (DEFAULT_CFLAG, DEFAULT_IFLAG, DEFAULT_LFLAG, DEFAULT_OFLAG, DEFAULT_SPEED,
                                ECHO, ECHOCTL, ECHOE, ECHOK, ECHOKE, ECHONL, ECHOPRT, ICANON, ICRNL, IEXTEN,
                                IGNCR, INIT_C_CC, INLCR, ISIG, ISTRIP, IUCLC, IUTF8, IXANY, IXON, NOFLSH,
                                OCRNL, OLCUC, ONLCR, ONLRET, ONOCR, OPOST, POSIX_VDISABLE, TABDLY, XTABS,
                                VEOF, VEOL, VEOL2, VERASE, VINTR, VKILL, VLNEXT, VMIN, VQUIT, VREPRINT, VSTART,
                                VSTOP, VSUSP, VTIME, VWERASE)

N_TTY_BUF_SIZE = 4096          # a canonical line holds at most this many bytes (the last one for the newline)
# Of the output queued for the master, what Linux's master-side line discipline (a raw n_tty) has
# already taken in from the pty's buffer: an output flush (pty_flush_buffer) does not reach it.
MASTER_LDISC_BYTES = N_TTY_BUF_SIZE - 1
INPUT_MAX = 64 * 1024          # input queued for the replica before the master's writes block
OUTPUT_MAX = 64 * 1024         # output queued for the master before the replica's writes block
ECHO_SLACK = 4096              # echoes may overfill the output queue this much, then are dropped

_ERASE, _WERASE, _KILL = 0, 1, 2
_FAST_IFLAGS = ISTRIP | INLCR | IGNCR | ICRNL | IUCLC | IXON


def _is_ctrl(c: int) -> bool:
    return c < 32 or c == 127


def _is_word(c: int) -> bool:
    # Linux's VWERASE (BSD ALTWERASE): alphanumerics and '_' make a word; bytes of a
    # UTF-8 character count as letters.
    return c >= 0x80 or c == 0x5F or 0x30 <= c <= 0x39 or 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A


class LineDiscipline:
    def __init__(self):
        self.iflag, self.oflag, self.cflag, self.lflag = DEFAULT_IFLAG, DEFAULT_OFLAG, DEFAULT_CFLAG, DEFAULT_LFLAG
        self.line = 0                      # c_line (N_TTY)
        self.cc = bytearray(INIT_C_CC)
        self.ispeed = self.ospeed = DEFAULT_SPEED
        self.lines = deque()               # canonical: completed lines; an empty one is an EOF (VEOF)
        self.lines_bytes = 0
        self.edit = bytearray()            # canonical: the line being edited
        self.raw = bytearray()             # non-canonical: readable input
        self.out = bytearray()             # output the master has not read yet
        self.lnext = False                 # VLNEXT: the next character is literal
        self.column = 0                    # output column (tab expansion, erasing tabs)
        self.canon_column = 0              # the column where the edited line began
        self.stopped = False               # output stopped (VSTOP, TCXONC TCOOFF)

    # --- termios ------------------------------------------------------------------------------
    def set_termios(self, iflag, oflag, cflag, lflag, line, cc, ispeed=None, ospeed=None) -> None:
        was_canon = self.lflag & ICANON
        self.iflag, self.oflag, self.cflag, self.lflag, self.line = iflag, oflag, cflag, lflag, line
        self.cc[:] = bytes(cc)[:len(self.cc)].ljust(len(self.cc), b"\0")
        if ispeed is not None:
            self.ispeed, self.ospeed = ispeed, ospeed
        if was_canon and not lflag & ICANON:
            # What was typed becomes readable as it is (Linux n_tty_set_termios).
            self.raw += b"".join(self.lines) + self.edit
            self.lines.clear()
            self.lines_bytes = 0
            self.edit.clear()
        elif not was_canon and lflag & ICANON and self.raw:
            # Linux's read buffer holds N_TTY_BUF_SIZE - 1 bytes: those become a line; what lies
            # beyond, still in the pty's buffer, comes in afterwards as canonical input.
            keep, rest = N_TTY_BUF_SIZE - 1, bytes(self.raw[N_TTY_BUF_SIZE - 1:])
            self._push(bytearray(self.raw[:keep]))
            self.raw.clear()
            *done, self.edit = rest.split(b"\n")   # (echoed when they came in)
            for line in done:
                self._push(bytearray(line + b"\n"))
            self.edit = bytearray(self.edit[:N_TTY_BUF_SIZE - 1])
        if not iflag & IXON:
            self.stopped = False

    def _is(self, c: int, idx: int) -> bool:
        v = self.cc[idx]
        return v != POSIX_VDISABLE and c == v

    # --- input (master -> replica) -----------------------------------------------------------------
    def input_room(self) -> int:
        if self.lflag & ICANON:
            return INPUT_MAX - self.lines_bytes
        return INPUT_MAX - len(self.raw)

    def receive(self, data) -> tuple[int, list]:
        """Process input bytes; returns (bytes consumed, signals the foreground group gets)."""
        sigs = []
        room = self.input_room()
        if room <= 0:
            return 0, sigs
        iflag, lflag = self.iflag, self.lflag
        if not lflag & (ICANON | ECHO | ISIG | IEXTEN) and not iflag & _FAST_IFLAGS and not self.lnext:
            take = bytes(data[:room])      # plain raw mode: nothing to look at
            self.raw += take
            return len(take), sigs
        n = 0
        for c in bytes(data):
            if self.input_room() <= 0:
                break
            self._receive_char(c, sigs)
            n += 1
        return n, sigs

    def _receive_char(self, c: int, sigs: list) -> None:
        if self.lnext:
            self.lnext = False
            self._store(c)   # its echo overwrites the "^" shown for VLNEXT
            return
        c = self._map_input(c)
        if c is None or self._flow_control(c) or self._signal_char(c, sigs):
            return
        if self.lflag & ICANON and self._canonical_char(c):
            return
        self._store(c)

    def _map_input(self, c: int):
        """c as ISTRIP, IUCLC, IGNCR, ICRNL and INLCR turn it; None where it is dropped."""
        iflag = self.iflag
        if iflag & ISTRIP:
            c &= 0x7F
        if iflag & IUCLC and self.lflag & IEXTEN and 0x41 <= c <= 0x5A:
            c += 32
        if c == 13:
            if iflag & IGNCR:
                return None
            if iflag & ICRNL:
                c = 10
        elif c == 10 and iflag & INLCR:
            c = 13
        return c

    def _flow_control(self, c: int) -> bool:
        """IXON's VSTOP/VSTART (and IXANY's restart); whether c was taken."""
        iflag = self.iflag
        if not iflag & IXON:
            return False
        if self._is(c, VSTOP) and not (self.stopped and self._is(c, VSTART)):
            self.stopped = True
            return True
        if self._is(c, VSTART):
            self.stopped = False
            return True
        if self.stopped and iflag & IXANY:
            self.stopped = False
        return False

    def _signal_char(self, c: int, sigs: list) -> bool:
        """ISIG's VINTR, VQUIT and VSUSP: the signal goes to ``sigs``; whether c was one."""
        lflag = self.lflag
        if not lflag & ISIG:
            return False
        for idx, sig in ((VINTR, S.SIGINT), (VQUIT, S.SIGQUIT), (VSUSP, S.SIGTSTP)):
            if self._is(c, idx):
                if not lflag & NOFLSH:
                    self.flush_input()
                    self.discard_output()
                if self.iflag & IXON:
                    self.stopped = False
                sigs.append(sig)
                if lflag & ECHO:
                    self._echo_char(c)
                return True
        return False

    def _canonical_char(self, c: int) -> bool:
        """The editing and line-ending characters of canonical mode; whether c was one."""
        lflag = self.lflag
        if self._is(c, VERASE) or self._is(c, VKILL) or (lflag & IEXTEN and self._is(c, VWERASE)):
            self._erase(c)
        elif lflag & IEXTEN and self._is(c, VLNEXT):
            self.lnext = True
            if lflag & ECHO and lflag & ECHOCTL:
                self._echo(b"^\b", raw=True)
        elif lflag & IEXTEN and self._is(c, VREPRINT):
            if lflag & ECHO:
                self._echo_char(c)
                self._echo(b"\n")
                self._echo_bytes(self.edit)
        elif c == 10:
            if lflag & (ECHO | ECHONL):
                self._echo(b"\n")
            self.edit.append(c)
            self._push_edit()
        elif self._is(c, VEOF):
            self._push_edit()
        elif self._is(c, VEOL) or self._is(c, VEOL2):
            if lflag & ECHO:
                self._echo_char(c)
            self.edit.append(c)
            self._push_edit()
        else:
            return False
        return True

    def _store(self, c: int) -> None:
        """An ordinary input character: into the edited line (canonical) or the raw queue; echo it."""
        lflag = self.lflag
        if lflag & ICANON:
            if len(self.edit) >= N_TTY_BUF_SIZE - 1:
                return   # Linux keeps the last byte for the newline and drops the rest
            if not self.edit:
                self.canon_column = self.column
            if lflag & ECHO:
                self._echo_char(c)
            self.edit.append(c)
            return
        if lflag & ECHO:
            if c == 10:
                self._echo(b"\n")
            else:
                self._echo_char(c)
        self.raw.append(c)

    def _push(self, line: bytearray) -> None:
        self.lines.append(line)
        self.lines_bytes += len(line)

    def _push_edit(self) -> None:
        self._push(self.edit)
        self.edit = bytearray()

    def _erase(self, c: int) -> None:
        """VERASE, VWERASE and VKILL on the edited line, with Linux's echo rules (n_tty eraser)."""
        lflag = self.lflag
        if not self.edit:
            return
        if self._is(c, VERASE):
            kind = _ERASE
        elif self._is(c, VWERASE) and lflag & IEXTEN:
            kind = _WERASE
        else:
            if not lflag & ECHO:
                self.edit.clear()
                return
            if not (lflag & ECHOK and lflag & ECHOKE and lflag & ECHOE):
                self.edit.clear()
                self._echo_char(c)
                if lflag & ECHOK:
                    self._echo(b"\n")
                return
            kind = _KILL
        seen_word = False
        edit = self.edit
        while edit:
            start = len(edit) - 1
            if self.iflag & IUTF8:
                while start > 0 and edit[start] & 0xC0 == 0x80:
                    start -= 1
                if edit[start] & 0xC0 == 0x80:
                    break   # continuation bytes with no lead byte: never erased in part (n_tty eraser)
            ch = edit[start]
            if kind == _WERASE:
                if _is_word(ch):
                    seen_word = True
                elif seen_word:
                    break
            del edit[start:]
            if lflag & ECHO:
                if kind == _ERASE and not lflag & ECHOE:
                    self._echo_char(self.cc[VERASE])
                elif ch == 9:
                    col = self._width(edit, self.canon_column)
                    self._echo(b"\b" * max(0, self.column - col), raw=True)
                elif _is_ctrl(ch):
                    if lflag & ECHOCTL:
                        self._echo(b"\b \b\b \b", raw=True)
                elif not lflag & ECHOPRT:
                    self._echo(b"\b \b", raw=True)
            if kind == _ERASE:
                break

    def _width(self, text, col: int) -> int:
        """The column reached by echoing ``text`` from column ``col``."""
        for ch in text:
            if ch == 9:
                col = (col | 7) + 1
            elif _is_ctrl(ch):
                col += 2 if self.lflag & ECHOCTL else 0
            elif ch & 0xC0 != 0x80:
                col += 1
        return col

    # --- echo --------------------------------------------------------------------------------------
    def _echo(self, data: bytes, raw: bool = False) -> None:
        # Echoes are dropped once nobody has read the output for a while (Linux drops them too).
        if len(self.out) < OUTPUT_MAX + ECHO_SLACK:
            self._emit(data, raw)

    def _echo_char(self, c: int) -> None:
        if self.lflag & ECHOCTL and _is_ctrl(c) and c != 9:
            self._echo(bytes((0x5E, c ^ 0o100)), raw=True)
        else:
            self._echo(bytes((c,)))

    def _echo_bytes(self, text) -> None:
        for c in text:
            self._echo_char(c)

    # --- reading (replica) ----------------------------------------------------------------------------
    def read(self, n: int):
        """What a replica read returns now; None if it must wait. b"" is EOF (canonical VEOF) or,
        in non-canonical mode with VMIN=VTIME=0, an empty read."""
        if self.lflag & ICANON:
            if not self.lines:
                return None
            line = self.lines[0]
            if len(line) <= n:
                self.lines.popleft()
                self.lines_bytes -= len(line)
                return bytes(line)
            take = bytes(line[:n])
            del line[:n]
            self.lines_bytes -= n
            return take
        if len(self.raw) < self._raw_threshold(n):
            return b"" if self.cc[VMIN] == 0 and self.cc[VTIME] == 0 else None
        take = bytes(self.raw[:n])
        del self.raw[:n]
        return take

    def timed(self) -> bool:
        """Non-canonical with VTIME set: a blocking read runs VTIME's timer (Terminal.replica_read_timed)."""
        return not self.lflag & ICANON and self.cc[VTIME] != 0

    def _raw_threshold(self, n: int) -> int:
        # VMIN bytes (at most what was asked for); with VTIME set any byte satisfies one step
        # and the Terminal's timed read gathers up to VMIN.
        vmin = self.cc[VMIN]
        if vmin > 1 and self.cc[VTIME] == 0:
            return max(1, min(vmin, n))
        return 1

    def readable(self) -> bool:
        if self.lflag & ICANON:
            return bool(self.lines)
        return len(self.raw) >= self._raw_threshold(1 << 30)

    def input_count(self) -> int:
        """FIONREAD on the replica: bytes of completed lines (canonical) or queued bytes."""
        return self.lines_bytes if self.lflag & ICANON else len(self.raw)

    def flush_input(self) -> None:
        self.lines.clear()
        self.lines_bytes = 0
        self.edit.clear()
        self.raw.clear()
        self.lnext = False

    # --- output (replica -> master) --------------------------------------------------------------------
    def write(self, data) -> int:
        """Output-process what fits; returns the bytes of ``data`` consumed (0: the queue is full)."""
        room = OUTPUT_MAX - len(self.out)
        if room <= 0 or not len(data):
            return 0
        chunk = bytes(data[:room])
        self._emit(chunk)
        return len(chunk)

    def _emit(self, data: bytes, raw: bool = False) -> None:
        """Append output (or echo) to the master's queue, through OPOST processing unless ``raw``."""
        if raw or not self.oflag & OPOST:
            self.out += data
            self._track_column(data)
            return
        oflag = self.oflag
        if not oflag & (OLCUC | OCRNL | ONOCR | ONLRET | TABDLY):
            out = data.replace(b"\n", b"\r\n") if oflag & ONLCR else data
            self.out += out
            self._track_column(out)
            return
        buf = bytearray()
        col = self.column
        for c in data:
            if c == 10:
                if oflag & ONLRET:
                    col = 0
                if oflag & ONLCR:
                    buf += b"\r\n"
                    col = 0
                    continue
            elif c == 13:
                if oflag & ONOCR and col == 0:
                    continue
                if oflag & OCRNL:
                    c = 10
                    if oflag & ONLRET:
                        col = 0
                else:
                    col = 0
            elif c == 9:
                spaces = 8 - (col & 7)
                col += spaces
                if oflag & TABDLY == XTABS:
                    buf += b" " * spaces
                    continue
            elif c == 8:
                col = max(0, col - 1)
            elif oflag & OLCUC and 0x61 <= c <= 0x7A:
                c -= 32
                col += 1
            elif not _is_ctrl(c) and c & 0xC0 != 0x80:
                col += 1
            buf.append(c)
        self.out += buf
        self.column = col

    def _track_column(self, data: bytes) -> None:
        cut = max(data.rfind(b"\n"), data.rfind(b"\r"))
        tail = data[cut + 1:]
        col = 0 if cut >= 0 else self.column
        if b"\t" not in tail and b"\b" not in tail:
            self.column = col + sum(1 for c in tail if c >= 32 and c != 127 and c & 0xC0 != 0x80)
            return
        for c in tail:
            if c == 9:
                col = (col | 7) + 1
            elif c == 8:
                col = max(0, col - 1)
            elif c >= 32 and c != 127 and c & 0xC0 != 0x80:
                col += 1
        self.column = col

    def take_output(self, n: int):
        """Master read: up to ``n`` bytes of output, or None if there is none (or output is stopped)."""
        if not self.out or self.stopped or n <= 0:
            return None
        take = bytes(self.out[:n])
        del self.out[:n]
        return take

    def output_ready(self) -> bool:
        return bool(self.out) and not self.stopped

    def output_room(self) -> int:
        return OUTPUT_MAX - len(self.out)

    def flush_output(self) -> None:
        self.out.clear()

    def discard_output(self) -> None:
        """The replica's output flushed (ISIG without NOFLSH, TCOFLUSH on the replica): what waits
        in the pty's buffer goes, what the master's line discipline holds stays readable."""
        del self.out[MASTER_LDISC_BYTES:]
