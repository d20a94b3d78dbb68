"""/proc/PID entries that reach into a process: mem and pagemap (its address space), io, and a
thread's children; ns is nsfs.py.

Both are guarded by ptrace's access rules (kernel/creds.py may_ptrace), checked at open
as Linux's proc_mem_open does (mem's PTRACE_MODE_ATTACH and pagemap's and ns's PTRACE_MODE_READ
differ only under LSMs such as Yama, which the sandbox has none of). An open description keeps
the address space it was opened on.

mem reads and writes the MemoryFile pages behind the target's VMAs (writes force through
read-only private mappings, as FOLL_FORCE does); an address with nothing mapped is EIO,
after the bytes already moved. pagemap gives one u64 per page with the PFN zeroed (the
Sentry has no physical frames to show) and the present bit for pages that hold data in
the MemoryFile.
"""
import struct

from snakevisor.abi import mm as M
from snakevisor.abi.errno import EACCES, EINVAL, EIO, SyscallError
from snakevisor.abi.fs import S_IFREG
from snakevisor.sentry.kernel import ptrace
from snakevisor.sentry.kernel.creds import may_ptrace
from snakevisor.sentry.mm import forced, special
from snakevisor.sentry.mm.vma import FILE, HOST
from snakevisor.sentry.vfs.file import FileDescriptionImpl
from snakevisor.sentry.vfs.inode import Inode

MAX_IO = 16 << 20          # bytes one mem read or write moves at most (a short count beyond)
MAX_PAGEMAP_ENTRIES = 1 << 16


def check_access(cur, task):
    """May ``cur`` (None: the Sentry) reach into ``task`` (ptrace's read/attach check)?"""
    if cur is not None and not may_ptrace(cur, task, fscreds=True):
        raise SyscallError(EACCES)


def owner_ids(task):
    """Who /proc/PID files of ``task`` belong to: its euid/egid, root when it is not dumpable."""
    if task.tg.dumpable != 1:
        return 0, 0
    return task.creds.euid, task.creds.egid


class TaskFile(Inode):
    """A regular /proc/PID file whose open checks ptrace access and hands the mm to ``impl_class``."""

    def __init__(self, fs, task, impl_class, mode):
        uid, gid = owner_ids(task)
        super().__init__(fs, S_IFREG | mode, uid=uid, gid=gid)
        self.task, self.impl_class = task, impl_class

    def open(self, opener, flags):
        check_access(opener, self.task)
        return self.impl_class(self, self.task.mm)


def mem_file(fs, task):
    return TaskFile(fs, task, MemImpl, 0o600)


def pagemap_file(fs, task):
    return TaskFile(fs, task, PagemapImpl, 0o400)


class AddressSpaceImpl(FileDescriptionImpl):
    """An open file over the address space it was opened on; the offset is an address (or page)."""

    seekable = True

    def __init__(self, inode, mm):
        super().__init__(inode)
        self.mm = mm

    def end_offset(self):
        return 0

    def seek_end(self):
        raise SyscallError(EINVAL)   # mem_lseek: from the start or the current address only

    def gone(self):
        """Its process has left the address space (exited): reads and writes move nothing
        (mem_rw's mmget_not_zero)."""
        return getattr(self.mm, "task_users", 1) <= 0


class MemImpl(AddressSpaceImpl):
    def read(self, task, n, offset):
        if self.gone():
            return b""
        n = min(n, MAX_IO)
        data = forced.read_forced(self.mm, offset, n) or special.read_vdso(self.mm.kernel, offset, n)
        if n and not data:
            raise SyscallError(EIO)
        return data

    def write(self, task, data, offset):
        if self.gone():
            return 0
        done = forced.write_forced(self.mm, offset, bytes(data[:MAX_IO]))
        if data and not done:
            raise SyscallError(EIO)
        return done


class PagemapImpl(AddressSpaceImpl):
    def read(self, task, n, offset):
        if offset % M.PM_ENTRY_BYTES or n % M.PM_ENTRY_BYTES:
            raise SyscallError(EINVAL)
        first = offset // M.PM_ENTRY_BYTES
        last = min(first + min(n // M.PM_ENTRY_BYTES, MAX_PAGEMAP_ENTRIES), M.TASK_SIZE_MAX // M.PAGE_SIZE)
        if last <= first:
            return b""
        entries = [0] * (last - first)
        start, end = first * M.PAGE_SIZE, last * M.PAGE_SIZE
        mm = self.mm
        for v in mm.vmas.overlapping(start, end):
            if v.past_eof or v.lazy or v.kind == HOST:
                continue   # no page behind it: an access is SIGBUS, or makes it (mm/lazy.py); or the host's
            lo, hi = max(v.start, start), min(v.end, end)
            flags = M.PM_FILE if v.kind == FILE or v.shared else 0
            base = v.mf_off - v.start
            for d_lo, n in mm.mf.data_extents(lo + base, hi - lo):
                d_hi = d_lo + n
                for i in range((d_lo - base - start) // M.PAGE_SIZE, (d_hi - base - start + M.PAGE_SIZE - 1) // M.PAGE_SIZE):
                    entries[i] = M.PM_PRESENT | M.PM_MMAP_EXCLUSIVE | flags
        return struct.pack(f"<{len(entries)}Q", *entries)


def io_text(counts):
    """/proc/PID/io (and a thread's): the bytes and calls of read(2) and write(2) and their
    vectored and positioned kin (Task.ioac); nothing reaches storage here, so no block I/O."""
    rchar, wchar, syscr, syscw = counts
    return (f"rchar: {rchar}\nwchar: {wchar}\nsyscr: {syscr}\nsyscw: {syscw}\n"
            "read_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n")


def children_text(task, seen):
    """/proc/PID/task/TID/children: the pids of the processes that thread forked (or took on as a
    reaper's thread) that are not yet reaped, in order, each followed by a space."""
    tg = task.tg
    pids = sorted(seen(c.tgid) for c in tg.children if getattr(c, "parent_task", None) is task and not c.reaped)
    return "".join(f"{p} " for p in pids)
