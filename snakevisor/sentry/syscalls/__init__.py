"""Syscall handlers, one module per family; importing this package registers them all in TABLE."""
from snakevisor.sentry.syscalls import (fs, file, xattr, mm, process, signal, time, info, sched,  # noqa: F401
                                        futex)
