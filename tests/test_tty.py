"""Terminals: the line discipline (unit), devpts pairs without a sandbox (unit), pty semantics
natively vs in snakevisor (a C program and python3's pty module), and ``snakevisor do -t``
(with piped input, and an interactive bash driven through tmux)."""
import os
import shlex
import shutil
import sys
import time

import pytest

from harness import BUILD_DIR, PROGRAMS, REPO, compile_c, run_native, run_sandboxed, sandbox_cmd
from tmux_util import Tmux, needs_tmux

from snakevisor.abi import signal as S
from snakevisor.abi.errno import EAGAIN, EIO, ENXIO, SyscallError
from snakevisor.abi.fs import O_NOCTTY, O_RDWR, POLLHUP, POLLIN, POLLOUT
from snakevisor.abi.tty import (ECHO, ICANON, ICRNL, ISIG, IXON, NOFLSH, OPOST, TABDLY, VMIN, VTIME,
                                XTABS)
from snakevisor.sentry.kernel.ldisc import LineDiscipline
from snakevisor.sentry.kernel.pidns import PIDNamespace


# --- the line discipline ------------------------------------------------------------------------


def feed(ld, data):
    n, sigs = ld.receive(data)
    assert n == len(data)
    return sigs


def out(ld):
    data = bytes(ld.out)
    ld.out.clear()
    return data


def test_canonical_lines_erase_kill_and_eof():
    ld = LineDiscipline()
    feed(ld, b"ab\x7fc\rdef")            # VERASE, ICRNL, a line still being edited
    assert ld.read(100) == b"ac\n"
    assert ld.read(100) is None          # "def" is not a line yet
    feed(ld, b"\x15xyz\x17w\x04")        # VKILL, VWERASE, VEOF ends the line without a newline
    assert ld.read(100) == b"w"
    feed(ld, b"\x04")                    # VEOF on an empty line: a 0-byte read
    assert ld.read(100) == b""
    assert ld.read(100) is None
    feed(ld, b"hello\n")
    assert ld.read(2) == b"he" and ld.read(100) == b"llo\n"


def test_echo_and_output_processing():
    ld = LineDiscipline()
    feed(ld, b"hi\x01\x7f\n")
    assert out(ld) == b"hi^A\b \b\b \b\r\n"   # ^A shown as two columns, erased as two
    assert ld.read(100) == b"hi\n"
    assert ld.write(b"x\ny\n") == 4 and out(ld) == b"x\r\ny\r\n"
    ld.oflag |= TABDLY & XTABS
    ld.write(b"ab\tc")
    assert out(ld) == b"ab      c"
    ld.oflag &= ~OPOST
    ld.write(b"a\nb")
    assert out(ld) == b"a\nb"
    ld.lflag &= ~ECHO
    feed(ld, b"secret\n")
    assert out(ld) == b"" and ld.read(100) == b"secret\n"


def test_isig_characters_and_flush():
    ld = LineDiscipline()
    feed(ld, b"pending")
    assert feed(ld, b"\x03") == [S.SIGINT]
    assert out(ld).endswith(b"^C") and ld.edit == b""        # the edited line was flushed
    assert feed(ld, b"\x1c\x1a") == [S.SIGQUIT, S.SIGTSTP]
    ld.lflag |= NOFLSH
    feed(ld, b"kept\x03\n")
    assert ld.read(100) == b"kept\n"
    ld.lflag &= ~ISIG
    assert feed(ld, b"\x03\n") == [] and ld.read(100) == b"\x03\n"


def test_raw_mode_vmin_vtime_and_mode_switch():
    ld = LineDiscipline()
    feed(ld, b"half")
    ld.set_termios(ld.iflag & ~(ICRNL | IXON), ld.oflag, ld.cflag, ld.lflag & ~(ICANON | ECHO | ISIG),
                   ld.line, ld.cc)
    assert ld.read(100) == b"half"                      # the edited text became readable
    feed(ld, b"\r\x03")
    assert ld.read(1) == b"\r" and ld.read(100) == b"\x03"
    ld.cc[VMIN] = 3
    feed(ld, b"ab")
    assert ld.read(100) is None and not ld.readable()   # waits for VMIN bytes
    feed(ld, b"c")
    assert ld.readable() and ld.read(100) == b"abc"
    ld.cc[VMIN] = 0
    ld.cc[VTIME] = 0
    assert ld.read(100) == b""                          # polling read
    feed(ld, b"typed")
    ld.set_termios(ld.iflag, ld.oflag, ld.cflag, ld.lflag | ICANON, ld.line, ld.cc)
    assert ld.read(100) == b"typed"


def test_ixon_stops_output_and_capacity_is_bounded():
    ld = LineDiscipline()
    ld.write(b"out")
    feed(ld, b"\x13")                    # VSTOP
    assert ld.take_output(10) is None
    feed(ld, b"\x11")                    # VSTART
    assert ld.take_output(10) == b"out"
    total = 0
    while True:
        n = ld.write(b"x" * 10000)
        if n == 0:
            break
        total += n
    assert 60000 < total <= 70000        # the replica's writes block once the master lags
    ld.out.clear()
    ld.lflag &= ~ECHO
    n, _ = ld.receive(b"y" * 5000)       # one canonical line keeps at most 4095 bytes
    assert n == 5000 and len(ld.edit) == 4095


# --- devpts pairs without a sandbox --------------------------------------------------------------


class _Signals:
    def __init__(self):
        self.sent = []

    def send_to_group(self, tg, sig, info=None):
        self.sent.append((tg.tgid, sig))


class _TG:
    def __init__(self, kernel, tgid, pgid, sid):
        self.kernel, self.tgid, self.pgid, self.sid = kernel, tgid, pgid, sid
        self.exit_status = None
        self.notty_sid = None
        self.parent = None

    tty = property(lambda self: _tty_of(self))


def _tty_of(tg):
    from snakevisor.sentry.kernel.threadgroup import ThreadGroup
    return ThreadGroup.tty.fget(tg)


class _Kernel:
    def __init__(self):
        self.pidns = PIDNamespace()
        self.signals = _Signals()


@pytest.fixture
def devpts():
    from snakevisor.sentry.fsimpl.devpts import DevptsFilesystem
    kernel = _Kernel()
    fs = DevptsFilesystem(kernel)
    yield kernel, fs
    # Leave /dev/tty and /dev/ptmx to a devpts without a fake kernel behind it.
    DevptsFilesystem(_Kernel())


def test_pair_data_flow_readiness_and_hangup(devpts):
    kernel, fs = devpts
    master, replica, term = fs.new_pair()
    assert fs.root.inode.lookup(b"0") is term.inode
    assert master.readiness(None, POLLIN | POLLOUT) == POLLOUT
    assert master.write(None, b"ls\n") == 3
    assert replica.readiness(None, POLLIN) == POLLIN
    assert replica.read(None, 100) == b"ls\n"
    assert master.read(None, 100) == b"ls\r\n"                # the echo
    with pytest.raises(SyscallError) as e:
        master.read(None, 100)
    assert e.value.errno == EAGAIN
    # A session leader's foreground group gets VINTR's SIGINT.
    leader = _TG(kernel, 1, 1, 1)
    kernel.pidns.thread_groups[1] = leader
    term.set_ctty(leader)
    assert leader.tty is term
    master.write(None, b"\x03")
    assert kernel.signals.sent == [(1, S.SIGINT)]
    term.set_winsize((24, 80, 0, 0))
    assert kernel.signals.sent[-1] == (1, S.SIGWINCH)
    # Closing the master hangs the replica up and sends the session leader SIGHUP.
    master.dec_ref()
    assert (1, S.SIGHUP) in kernel.signals.sent and leader.tty is None
    assert replica.read(None, 10) == b""
    with pytest.raises(SyscallError) as e:
        replica.write(None, b"x")
    assert e.value.errno == EIO
    assert replica.readiness(None, POLLIN) & POLLHUP
    with pytest.raises(SyscallError):
        fs.root.inode.lookup(b"0")                      # /dev/pts/0 is gone
    replica.dec_ref()
    assert fs.terminals == {}                           # and the index is free again


def test_replica_close_gives_master_eio_and_locking(devpts):
    kernel, fs = devpts
    master, replica, term = fs.new_pair()
    replica.write(None, b"bye\n")
    replica.dec_ref()
    assert master.readiness(None, POLLIN) & POLLHUP
    assert master.read(None, 100) == b"bye\r\n"
    with pytest.raises(SyscallError) as e:
        master.read(None, 100)
    assert e.value.errno == EIO
    term.locked = True
    with pytest.raises(SyscallError) as e:
        term.inode.open(None, O_RDWR | O_NOCTTY)
    assert e.value.errno == EIO
    master.dec_ref()


def test_dev_tty_without_controlling_terminal_is_enxio(devpts):
    kernel, fs = devpts
    task = type("T", (), {"tg": _TG(kernel, 5, 5, 5)})()
    with pytest.raises(SyscallError) as e:
        fs.open_controlling_tty(task, None, O_RDWR)
    assert e.value.errno == ENXIO


# --- native vs sandbox ---------------------------------------------------------------------------


def _same_as_native(argv):
    """``argv`` succeeds natively and in the sandbox with the same output."""
    native = run_native(argv)
    boxed = run_sandboxed(argv)
    assert native.returncode == 0, native.stderr
    assert boxed.returncode == 0, boxed.stderr.decode(errors="replace")[-3000:]
    assert boxed.stdout == native.stdout, (native.stdout.decode(), boxed.stdout.decode(),
                                           boxed.stderr.decode(errors="replace")[-3000:])


def test_pty_semantics_differential():
    _same_as_native([compile_c("tty_pty")])


def test_python_pty_module_differential():
    # The program must live outside /tmp (the sandbox's /tmp is its own tmpfs).
    os.makedirs(BUILD_DIR, exist_ok=True)
    script = os.path.join(BUILD_DIR, "tty_pymod.py")
    shutil.copy(os.path.join(PROGRAMS, "tty_pymod.py"), script)
    native = run_native([sys.executable, script])
    boxed = run_sandboxed([sys.executable, script])
    assert native.returncode == 0, native.stderr
    assert boxed.returncode == 0, boxed.stderr.decode(errors="replace")[-3000:]
    assert boxed.stdout == native.stdout, (native.stdout.decode(), boxed.stdout.decode())


def test_do_t_with_piped_input():
    """-t without a host terminal: the sandbox still gets a pty; input EOF arrives as VEOF."""
    r = run_sandboxed(["/bin/sh", "-c", "read x; echo got $x; tty; test -t 1 && echo stdout-is-tty; cat; "
                       "echo after-eof"], input=b"hello\nmore\n", flags=("-t",), timeout=60)
    text = r.stdout.decode(errors="replace")
    assert r.returncode == 0, r.stderr.decode(errors="replace")[-2000:]
    assert "got hello\r\n" in text and "/dev/pts/0\r\n" in text and "stdout-is-tty" in text
    assert "more\r\n" in text and text.rstrip().endswith("after-eof")


# --- an interactive shell through tmux -----------------------------------------------------------


@needs_tmux
def test_interactive_bash_through_tmux(tmp_path):
    tmux = Tmux(tmp_path)
    cmd = f"cd {REPO} && {shlex.join(sandbox_cmd(['/bin/bash', '--norc'], ['-t']))}"
    tmux("new-session", "-d", "-s", "sv", "-x", "80", "-y", "24", cmd)
    try:
        tmux.wait_for("bash-")
        tmux("send-keys", "-t", "sv", "echo h''i", "Enter")
        screen = tmux.wait_for("\nhi\n")
        assert "echo h''i" in screen
        tmux("send-keys", "-t", "sv", "stty size", "Enter")
        tmux.wait_for("24 80")
        tmux("resize-window", "-t", "sv", "-x", "100", "-y", "30")
        time.sleep(0.3)
        tmux("send-keys", "-t", "sv", "clear; stty size; tty", "Enter")
        tmux.wait_for("30 100")
        tmux.wait_for("/dev/pts/0")
        # ^C interrupts a foreground job within a second (and bash drops the rest of the line).
        tmux("send-keys", "-t", "sv", "clear", "Enter")
        time.sleep(0.3)
        tmux("send-keys", "-t", "sv", "(echo sleep''ing; exec sleep 100); echo not-interrupted", "Enter")
        tmux.wait_for("\nsleeping\n")   # the job runs in the foreground: the ^C is its, not bash's
        start = time.monotonic()
        tmux("send-keys", "-t", "sv", "C-c")
        tmux.wait_for("^C\nbash-", timeout=5)
        assert time.monotonic() - start < 1.5
        tmux("send-keys", "-t", "sv", "echo still-$((6*7))", "Enter")
        screen = tmux.wait_for("still-42")
        assert "\nnot-interrupted" not in screen
        # ^D on an empty line ends the shell, the sandbox, and so the pane.
        tmux("send-keys", "-t", "sv", "C-d")
        end = time.monotonic() + 10
        while tmux.alive() and time.monotonic() < end:
            time.sleep(0.1)
        assert not tmux.alive()
    finally:
        tmux("kill-server", check=False)


def test_vmin_vtime_timers_differential():
    _same_as_native([compile_c("tty_vtime")])


def test_flushes_differential():
    """^C (ISIG without NOFLSH) and TCOFLUSH drop the pty's buffered output but not what the master's
    line discipline holds; the master's TCOFLUSH leaves typed input alone."""
    _same_as_native([compile_c("tty_flush")])


def test_tiocsti_differential():
    """TIOCSTI: bytes injected as typed input (echo, editing, ISIG, a blocked reader woken; the
    master's side; EPERM off one's controlling terminal without CAP_SYS_ADMIN). The trio REPL
    injects a newline on ^C this way and hung without it."""
    _same_as_native([compile_c("tty_sti")])


def test_legacy_tiocsti_sysctl():
    """/proc/sys/dev/tty/legacy_tiocsti (Linux 6.2): 1, a bool sysctl (any nonzero number is 1);
    trio's REPL reads it to decide whether TIOCSTI works."""
    script = ("f=/proc/sys/dev/tty/legacy_tiocsti; cat $f; echo 0 > $f; cat $f; echo 5 > $f; cat $f")
    boxed = run_sandboxed(["/bin/sh", "-c", script])
    assert boxed.returncode == 0, boxed.stderr
    assert boxed.stdout == b"1\n0\n1\n"
