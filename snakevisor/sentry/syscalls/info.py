"""System information and resources: uname, sysinfo, getrandom, rlimits, rusage, times, hostname."""
import os
import struct
import time

from snakevisor.abi import resource as R
from snakevisor.abi.capability import CAP_SYS_ADMIN, CAP_SYS_RESOURCE
from snakevisor.abi.errno import EFAULT, EINVAL, EPERM, SyscallError
from snakevisor.abi.fs import GRND_INSECURE, GRND_NONBLOCK, GRND_RANDOM, to_s32
from snakevisor.abi.utsname import NEW_UTS_LEN
from snakevisor.abi.time import CLK_TCK, NSEC
from snakevisor.sentry.fsimpl import procfs_sysinfo
from snakevisor.sentry.kernel import cputime, timens, timers
from snakevisor.sentry.kernel.userns import owner_capable
from snakevisor.sentry.syscalls.process import thread_group
from snakevisor.sentry.vfs.fdtable import LIMITS as FD_LIMITS

MAX_GETRANDOM = 32 << 20


def uname(t, addr):
    u = t.ns.uts
    fields = (u.sysname, u.nodename, u.release, u.version, u.machine, u.domainname)
    t.mm.copy_out(addr, b"".join(f[:NEW_UTS_LEN].ljust(NEW_UTS_LEN + 1, b"\0") for f in fields))
    return 0


def sethostname(t, addr, length):
    return _set_uts(t, addr, length, "nodename")


def setdomainname(t, addr, length):
    return _set_uts(t, addr, length, "domainname")


def _set_uts(t, addr, length, field):
    if not owner_capable(t.creds, t.ns.uts, CAP_SYS_ADMIN):
        raise SyscallError(EPERM)
    length = to_s32(length)
    if length < 0 or length > NEW_UTS_LEN:
        raise SyscallError(EINVAL)
    t.ns.uts.set(field, t.mm.copy_in(addr, length))
    return 0


def sysinfo(t, addr):
    uptime = -(-timens.uptime_ns(t.kernel, t.ns.time) // NSEC)   # rounded up, as Linux's
    total, used = (kb * 1024 for kb in procfs_sysinfo.memory_kb(t.kernel))   # freeram as MemFree
    free = max(total - used, 0)
    loads = [int(x * 65536) for x in os.getloadavg()]
    procs = len(t.kernel.pidns.tasks)
    t.mm.copy_out(addr, R.SYSINFO.pack(uptime, *loads, total, free, 0, 0, 0, 0, min(procs, 0xFFFF), 0, 0, 1))
    return 0


def getrandom(t, addr, length, flags):
    if flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) or (flags & GRND_RANDOM and flags & GRND_INSECURE):
        raise SyscallError(EINVAL)
    length = min(length, MAX_GETRANDOM)
    room = t.mm.accessible_span(addr, length, write=True)
    if length and not room:
        raise SyscallError(EFAULT)
    t.mm.copy_out(addr, os.urandom(room))  # a buffer running into a hole gets a short fill
    return room


def prlimit64(t, pid, resource, new_ptr, old_ptr):
    tg = thread_group(t, pid)
    limits = tg.limits
    resource = to_s32(resource)
    if not 0 <= resource < R.RLIM_NLIMITS:
        raise SyscallError(EINVAL)
    new = None
    if new_ptr:
        new = R.RLIMIT.unpack(t.mm.copy_in(new_ptr, R.RLIMIT.size))
        if new[0] > new[1]:
            raise SyscallError(EINVAL)
        if new[1] > limits[resource][1] and not t.creds.has_cap(CAP_SYS_RESOURCE):
            raise SyscallError(EPERM)
        if resource == R.RLIMIT_NOFILE and new[1] > FD_LIMITS["nr_open"]:
            raise SyscallError(EPERM)
    if old_ptr:
        t.mm.copy_out(old_ptr, R.RLIMIT.pack(*limits[resource]))
    if new is not None:
        limits[resource] = new
        if resource == R.RLIMIT_NOFILE:   # the fd table enforces the soft limit from now on
            for task in tg.tasks:
                task.fdtable.set_limit(new[0])
        elif resource == R.RLIMIT_CPU:
            timers.cpu_limit_changed(t.kernel, tg)
    return 0


def getrlimit(t, resource, addr):
    if not addr:
        raise SyscallError(EFAULT)
    return prlimit64(t, 0, resource, 0, addr)


def setrlimit(t, resource, addr):
    if not addr:
        raise SyscallError(EFAULT)
    return prlimit64(t, 0, resource, addr, 0)


def _usage(t, who):
    """(user, system) seconds, max RSS in KiB and voluntary context switches: CPU time is the
    process's stub's on the host (the Sentry's own time for its syscalls is not counted); max RSS
    the application memory resident in its address spaces (a thread's is its process's, as
    Linux's mm-wide figure); the switches are the waits of the thread or of the whole process."""
    if who == R.RUSAGE_CHILDREN:
        return (*t.tg.children_cpu, t.tg.children_maxrss >> 10, t.tg.children_nvcsw)
    if who == R.RUSAGE_THREAD:
        user, system = cputime.thread_times(t, t)
    else:
        user, system = cputime.group_times(t.tg)
    return user, system, t.tg.maxrss_now(t.mm) >> 10, t.nvcsw if who == R.RUSAGE_THREAD else t.tg.nvcsw


def getrusage(t, who, addr):
    who = to_s32(who)
    if who not in (R.RUSAGE_SELF, R.RUSAGE_CHILDREN, R.RUSAGE_THREAD):
        raise SyscallError(EINVAL)
    t.mm.copy_out(addr, R.pack_rusage(*_usage(t, who)))
    return 0


def times(t, addr):
    utime, stime = cputime.group_times(t.tg)
    cutime, cstime = t.tg.children_cpu
    if addr:
        t.mm.copy_out(addr, struct.pack("<4q", *(int(x * CLK_TCK) for x in (utime, stime, cutime, cstime))))
    return int((time.monotonic() - t.kernel.boot_time) * CLK_TCK) + 1


def syslog(t, typ, buf, length):
    typ = to_s32(typ)
    if typ in (0, 1, 5, 6, 7, 8):
        return 0
    if typ in (2, 3, 4):
        if to_s32(length) < 0 or (not buf and to_s32(length)):
            raise SyscallError(EINVAL)
        return 0
    if typ == 9:
        return 0
    if typ == 10:
        return 1 << 17
    raise SyscallError(EINVAL)


def personality(t, persona):
    old = t.tg.personality
    persona &= 0xFFFFFFFF
    if persona != 0xFFFFFFFF:
        t.tg.personality = persona
    return old
