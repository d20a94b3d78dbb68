"""python3's pty module inside and outside the sandbox (differential): pty.fork (os.forkpty),
os.openpty, termios, the child's session and controlling terminal, and SIGINT through VINTR."""
import os
import pty
import select
import signal
import sys
import termios
import time
import tty


def read_until(fd, marker, timeout=10.0):
    out = b""
    end = time.monotonic() + timeout
    while marker not in out and time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


pid, master = pty.fork()
if pid == 0:
    print("child: stdin isatty", os.isatty(0), "ttyname", os.ttyname(0).startswith("/dev/pts/"))
    print("child: session leader", os.getsid(0) == os.getpid(), "foreground", os.tcgetpgrp(0) == os.getpgrp())
    attrs = termios.tcgetattr(0)
    print("child: echo", bool(attrs[3] & termios.ECHO), "icanon", bool(attrs[3] & termios.ICANON))
    got = []
    signal.signal(signal.SIGINT, lambda s, f: got.append(s))
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    line = sys.stdin.readline()
    print("child: line", repr(line))
    sys.stdout.flush()
    while not got:
        time.sleep(0.01)
    print("child: SIGINT", got)
    tty.setraw(0)
    c = os.read(0, 1)
    print("child: raw byte", c, end="\r\n")
    sys.stdout.flush()
    os._exit(3)

out = read_until(master, b"ready\r\n")
print("parent saw:", out.replace(b"\r\n", b"|"))
os.write(master, b"typed text\n")
out = read_until(master, b"typed text\\n'\r\n")
print("parent saw:", out.replace(b"\r\n", b"|"))
os.write(master, b"\x03")
out = read_until(master, b"SIGINT [2]\r\n")
print("parent saw:", out.replace(b"\r\n", b"|"))
time.sleep(0.2)
os.write(master, b"\x03")
out = read_until(master, b"x03'\r\n")
print("parent saw:", out.replace(b"\r\n", b"|"))
_, status = os.waitpid(pid, 0)
print("child exit", os.waitstatus_to_exitcode(status))
# After the child (the only replica holder) is gone, the master reads EIO.
try:
    print("master read", os.read(master, 10))
except OSError as e:
    print("master read error", e.errno)

m, s = os.openpty()
print("openpty isatty", os.isatty(m), os.isatty(s))
attrs = termios.tcgetattr(s)
attrs[3] &= ~termios.ECHO
termios.tcsetattr(s, termios.TCSANOW, attrs)
os.write(m, b"quiet\n")
print("replica read", os.read(s, 100))
os.write(s, b"out\n")
print("master read", read_until(m, b"\r\n"))
print("winsize", termios.tcgetwinsize(s) if hasattr(termios, "tcgetwinsize") else None)
