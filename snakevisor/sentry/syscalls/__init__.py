"""Syscall handlers, one module per family; importing this package registers them all in TABLE."""
from snakevisor.sentry.syscalls import (fs, file, xattr, mm, process, clone, wait, signal, time, info,  # noqa: F401
                                        sched, futex, timer, signalfd, pidfd, sysv_ipc,
                                        fadvise, membarrier, pkey, numa, kcmp, inotify, mqueue, aio)
from snakevisor.sentry.syscalls import pipe, poll, epoll, eventfd, timerfd, socket, splice  # noqa: F401,E402  (I/O)
from snakevisor.sentry.syscalls import absent  # noqa: F401,E402  (last: notes for what is left)
