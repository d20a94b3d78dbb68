"""Linux x86_64 terminal ABI: termios flags and control-character indices, tty ioctl numbers,
struct termios / termios2 / winsize layouts, and the default termios of a pty.

The few terminal ioctls snakevisor/abi/fs.py already names (TCGETS, TIOCGWINSZ, ...) are
re-exported from there so every number has one definition.
"""
import struct

from snakevisor.abi.fs import (FIONREAD, TCGETS, TCSETS, TCSETSF, TCSETSW, TERMIOS_SIZE, TIOCGPGRP,  # noqa: F401
                               TIOCGPTN, TIOCGWINSZ, TIOCINQ, TIOCNOTTY, TIOCOUTQ, TIOCSCTTY, TIOCSPGRP,
                               TIOCSWINSZ, WINSIZE_SIZE)

# --- c_iflag -------------------------------------------------------------------------------------
IGNBRK, BRKINT, IGNPAR, PARMRK, INPCK, ISTRIP = 0o1, 0o2, 0o4, 0o10, 0o20, 0o40
INLCR, IGNCR, ICRNL, IUCLC, IXON, IXANY, IXOFF, IMAXBEL, IUTF8 = (
    0o100, 0o200, 0o400, 0o1000, 0o2000, 0o4000, 0o10000, 0o20000, 0o40000)

# --- c_oflag -------------------------------------------------------------------------------------
OPOST, OLCUC, ONLCR, OCRNL, ONOCR, ONLRET, OFILL, OFDEL = 0o1, 0o2, 0o4, 0o10, 0o20, 0o40, 0o100, 0o200
TABDLY = XTABS = 0o14000

# --- c_cflag -------------------------------------------------------------------------------------
CBAUD, B38400, CSIZE, CS8, CSTOPB, CREAD, PARENB, HUPCL, CLOCAL = (
    0o10017, 0o17, 0o60, 0o60, 0o100, 0o200, 0o400, 0o2000, 0o4000)

# --- c_lflag -------------------------------------------------------------------------------------
ISIG, ICANON, XCASE, ECHO, ECHOE, ECHOK, ECHONL, NOFLSH, TOSTOP = (
    0o1, 0o2, 0o4, 0o10, 0o20, 0o40, 0o100, 0o200, 0o400)
ECHOCTL, ECHOPRT, ECHOKE, FLUSHO, PENDIN, IEXTEN, EXTPROC = (
    0o1000, 0o2000, 0o4000, 0o10000, 0o40000, 0o100000, 0o200000)

# --- c_cc indices ----------------------------------------------------------------------------------
VINTR, VQUIT, VERASE, VKILL, VEOF, VTIME, VMIN, VSWTC = 0, 1, 2, 3, 4, 5, 6, 7
VSTART, VSTOP, VSUSP, VEOL, VREPRINT, VDISCARD, VWERASE, VLNEXT, VEOL2 = 8, 9, 10, 11, 12, 13, 14, 15, 16
NCCS = 19                     # the kernel's struct termios (glibc's has 32)
POSIX_VDISABLE = 0
INIT_C_CC = b"\003\034\177\025\004\000\001\000\021\023\032\000\022\017\027\026\000".ljust(NCCS, b"\0")

# Linux's tty_std_termios as the pty replica driver sets it (drivers/tty/pty.c).
DEFAULT_IFLAG = ICRNL | IXON
DEFAULT_OFLAG = OPOST | ONLCR
DEFAULT_CFLAG = B38400 | CS8 | CREAD
DEFAULT_LFLAG = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN
DEFAULT_SPEED = 38400

# --- struct layouts --------------------------------------------------------------------------------
TERMIOS = struct.Struct("<IIIIB19s")        # iflag, oflag, cflag, lflag, line, cc[19]
TERMIO = struct.Struct("<HHHHB8s")          # struct termio (TCGETA): 16-bit flags, line, cc[NCC=8]
TERMIOS2 = struct.Struct("<IIIIB19sII")     # + ispeed, ospeed
WINSIZE = struct.Struct("<HHHH")            # ws_row, ws_col, ws_xpixel, ws_ypixel
assert TERMIOS.size == TERMIOS_SIZE and WINSIZE.size == WINSIZE_SIZE
TERMIOS2_SIZE = TERMIOS2.size              # 44

# --- ioctls --------------------------------------------------------------------------------------
TCGETA, TCSETA, TCSETAW, TCSETAF = 0x5405, 0x5406, 0x5407, 0x5408
TCSBRK, TCXONC, TCFLSH = 0x5409, 0x540A, 0x540B
TIOCEXCL, TIOCNXCL = 0x540C, 0x540D
TIOCSTI = 0x5412
TIOCGLCKTRMIOS, TIOCSLCKTRMIOS = 0x5456, 0x5457
TIOCPKT = 0x5420
TIOCPKT_FLUSHREAD, TIOCPKT_FLUSHWRITE = 0x01, 0x02   # status bytes a packet-mode master reads
TIOCSETD, TIOCGETD = 0x5423, 0x5424
TCSBRKP = 0x5425
TIOCSBRK, TIOCCBRK = 0x5427, 0x5428
TIOCGSID = 0x5429
TCGETS2, TCSETS2, TCSETSW2, TCSETSF2 = 0x802C542A, 0x402C542B, 0x402C542C, 0x402C542D
TIOCSPTLCK = 0x40045431
TIOCGDEV = 0x80045432
TIOCSIG = 0x40045436
TIOCVHANGUP = 0x5437
TIOCGPKT = 0x80045438
TIOCGPTLCK = 0x80045439
TIOCGEXCL = 0x80045440
TIOCGPTPEER = 0x5441

# TCFLSH arguments
TCIFLUSH, TCOFLUSH, TCIOFLUSH = 0, 1, 2
# TCXONC arguments
TCOOFF, TCOON, TCIOFF, TCION = 0, 1, 2, 3

N_TTY = 0                     # the only line discipline

# --- device numbers --------------------------------------------------------------------------------
TTYAUX_MAJOR = 5              # 5:0 /dev/tty, 5:1 /dev/console, 5:2 /dev/ptmx
PTMX_MINOR = 2
UNIX98_PTY_SLAVE_MAJOR = 136  # /dev/pts/N is 136:N
NR_UNIX98_PTY_MAX = 4096      # Linux's default kernel.pty.max
TTY_GID = 5                   # the "tty" group owns /dev/pts/N (devpts gid=5,mode=620, as Docker mounts it)
