"""Host file calls shared by the Gofer and the Sentry: positioned I/O that never stops at a short
count, and a file's birth time (statx).

A single ``pread``/``pwrite`` moves at most 0x7ffff000 bytes on Linux, and may move
fewer at any time (a signal, a filesystem's own limit); treating a short count as
the end of the file reads zeros, and writes those zeros back later. These loops
stop only at end of file (reads) or when the host moves nothing (writes).
"""
import ctypes
import os

from snakevisor.abi.fs import AT_EMPTY_PATH, STATX_BTIME
from snakevisor.hostos.libc import libc

# Bytes per host call: below Linux's 0x7ffff000 cap, and a bound on what one read allocates.
IO_CHUNK = 1 << 30


def pread_full(fd: int, n: int, offset: int) -> bytes:
    """Up to ``n`` bytes at ``offset``: fewer only at end of file."""
    if n <= IO_CHUNK:
        first = os.pread(fd, n, offset)
        if len(first) == n or not first:
            return first
        parts, got = [first], len(first)
    else:
        parts, got = [], 0
    while got < n:
        data = os.pread(fd, min(n - got, IO_CHUNK), offset + got)
        if not data:
            break
        parts.append(data)
        got += len(data)
    return b"".join(parts)


def preadv_into(fd: int, view, offset: int) -> int:
    """Fill the writable buffer ``view`` from ``offset``; returns the bytes read (fewer only at
    end of file). No intermediate copy: the host writes straight into ``view``."""
    view = memoryview(view).cast("B")
    done, n = 0, len(view)
    while done < n:
        got = os.preadv(fd, [view[done:done + IO_CHUNK]], offset + done)
        if got == 0:
            break
        done += got
    return done


def pwrite_full(fd: int, data, offset: int) -> int:
    """Write all of ``data`` at ``offset``; returns the bytes written (fewer only if the host
    wrote nothing, e.g. no space reported as a zero count)."""
    n = data.nbytes if data.__class__ is memoryview else len(data)
    done = 0
    if 0 < n <= IO_CHUNK:   # nearly always one host call moves it all: no view is made for it
        done = os.pwrite(fd, data, offset)
        if done == n or done == 0:
            return done
    view = memoryview(data).cast("B")
    while done < n:
        got = os.pwrite(fd, view[done:done + IO_CHUNK], offset + done)
        if got == 0:
            break
        done += got
    return done


def birth_time_ns(fd: int) -> int | None:
    """A file's birth time (statx STATX_BTIME; os.stat has none on Linux), or None if the
    filesystem does not record one."""
    buf = ctypes.create_string_buffer(256)   # per call: blocking requests run in worker threads
    if libc.statx(fd, b"", AT_EMPTY_PATH, STATX_BTIME, buf) != 0:
        return None
    raw = buf.raw
    if not int.from_bytes(raw[0:4], "little") & STATX_BTIME:
        return None
    return int.from_bytes(raw[80:88], "little", signed=True) * 1_000_000_000 + int.from_bytes(raw[88:92], "little")
