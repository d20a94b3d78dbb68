"""Readiness ABI: poll/select/epoll/eventfd/timerfd constants and struct layouts.

The POLL* bits themselves live in abi/fs.py (they are also FileDescription
readiness masks); this module re-exports them with what poll(2), select(2),
epoll(7), eventfd(2) and timerfd_create(2) add.
"""
import struct

from snakevisor.abi.fs import (POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL, POLLRDNORM,  # noqa: F401
                               POLLRDBAND, POLLWRNORM, POLLWRBAND, POLLRDHUP)

# struct pollfd { int fd; short events; short revents; }
POLLFD = struct.Struct("<ihh")
# struct timespec / struct timeval (both two longs on x86_64).
TIMESPEC = struct.Struct("<qq")
TIMEVAL = struct.Struct("<qq")
# struct itimerspec { timespec it_interval; timespec it_value; }
ITIMERSPEC = struct.Struct("<qqqq")
# pselect6's sixth argument: { const sigset_t *ss; size_t ss_len; }
PSELECT_SIGARG = struct.Struct("<QQ")

FD_SETSIZE = 1024
SIGSET_SIZE = 8          # the kernel's sigset_t (ppoll/pselect6/epoll_pwait's sigsetsize)

# --- epoll -----------------------------------------------------------------------------
EPOLLIN = 0x001
EPOLLPRI = 0x002
EPOLLOUT = 0x004
EPOLLERR = 0x008
EPOLLHUP = 0x010
EPOLLNVAL = 0x020
EPOLLRDNORM = 0x040
EPOLLRDBAND = 0x080
EPOLLWRNORM = 0x100
EPOLLWRBAND = 0x200
EPOLLMSG = 0x400
EPOLLRDHUP = 0x2000
EPOLLEXCLUSIVE = 1 << 28
EPOLLWAKEUP = 1 << 29
EPOLLONESHOT = 1 << 30
EPOLLET = 1 << 31
EPOLL_CTL_ADD = 1
EPOLL_CTL_DEL = 2
EPOLL_CTL_MOD = 3
EPOLL_CLOEXEC = 0o2000000
EP_MAX_EVENTS = 0x7FFFFFFF // 12
# Events epoll_ctl's mask may request that are not "readiness" bits.
EPOLL_INPUT_FLAGS = EPOLLEXCLUSIVE | EPOLLWAKEUP | EPOLLONESHOT | EPOLLET
# struct epoll_event is packed on x86_64: { uint32 events; uint64 data; }
EPOLL_EVENT = struct.Struct("<IQ")

# --- eventfd ---------------------------------------------------------------------------
EFD_SEMAPHORE = 1
EFD_CLOEXEC = 0o2000000
EFD_NONBLOCK = 0o4000
EVENTFD_MAX = 0xFFFFFFFFFFFFFFFE

# --- timerfd ---------------------------------------------------------------------------
TFD_TIMER_ABSTIME = 1
TFD_TIMER_CANCEL_ON_SET = 2
TFD_CLOEXEC = 0o2000000
TFD_NONBLOCK = 0o4000
TFD_IOC_SET_TICKS = 0x40085400

# --- pipes -----------------------------------------------------------------------------
PIPE_BUF = 4096
PIPE_DEF_SIZE = 65536
PIPE_MAX_SIZE = 1 << 20   # /proc/sys/fs/pipe-max-size
PIPE_MIN_SIZE = 4096
SPLICE_F_MOVE = 1
SPLICE_F_NONBLOCK = 2
SPLICE_F_MORE = 4
SPLICE_F_GIFT = 8
SPLICE_F_ALL = 0xF
O_NOTIFICATION_PIPE = 0o200   # pipe2: O_EXCL reused for watch_queue pipes

# signalfd(2) flags
SFD_CLOEXEC, SFD_NONBLOCK = 0o2000000, 0o4000
