"""Process identity and lifetime: exit, ids, prctl, arch_prctl, robust lists, thread pointers."""
import struct

from snakevisor.abi.capability import CAP_FS_SET, CAP_LAST_CAP, CAP_SETGID, CAP_SETPCAP, CAP_SETUID, CAP_SYS_RESOURCE
from snakevisor.abi.errno import EACCES, EINVAL, ENODEV, EPERM, ESRCH, SyscallError
from snakevisor.abi.fs import to_s32
from snakevisor.abi.mm import TASK_SIZE_MAX
from snakevisor.abi.prctl import (ARCH_GET_CPUID, ARCH_GET_FS, ARCH_GET_GS, ARCH_SET_CPUID, ARCH_SET_FS, ARCH_SET_GS,
                                  PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, PR_CAP_AMBIENT_IS_SET, PR_CAP_AMBIENT_LOWER,
                                  PR_CAP_AMBIENT_RAISE, PR_CAPBSET_READ, PR_GET_CHILD_SUBREAPER, PR_GET_DUMPABLE,
                                  PR_GET_KEEPCAPS, PR_GET_NAME, PR_GET_NO_NEW_PRIVS, PR_GET_PDEATHSIG, PR_GET_SECCOMP,
                                  PR_GET_THP_DISABLE, PR_GET_TID_ADDRESS, PR_SET_CHILD_SUBREAPER, PR_SET_DUMPABLE,
                                  PR_SET_KEEPCAPS, PR_SET_NAME, PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG,
                                  PR_SET_SECCOMP, PR_SET_THP_DISABLE, PR_SET_VMA, PR_SET_VMA_ANON_NAME, PR_SET_MM,
                                  ANON_VMA_NAME_MAX_LEN, PR_CAPBSET_DROP,
                                  PR_GET_SECUREBITS, PR_SET_SECUREBITS, PR_GET_TIMERSLACK, PR_SET_TIMERSLACK,
                                  PR_GET_TSC, PR_SET_TSC, PR_TSC_ENABLE, PR_TSC_SIGSEGV, PR_SET_SYSCALL_USER_DISPATCH)
from snakevisor.abi.capability import (ALL_CAPS, SECBIT_KEEP_CAPS_LOCKED, SECBIT_NO_CAP_AMBIENT_RAISE,
                                       SECBIT_NO_SETUID_FIXUP, SECURE_ALL_BITS, SECURE_ALL_LOCKS)
from snakevisor.sentry.kernel import user_dispatch
from snakevisor.sentry.kernel.creds import may_ptrace
from snakevisor.sentry.mm import madvise
from snakevisor.sentry.syscalls import seccomp
from snakevisor.sentry.kernel.userns import id_from, id_in, to_kuid


def exit(t, code):
    if len(t.tg.live_tasks) <= 1:
        t.kernel.exit_group(t.tg, (code & 0xFF) << 8)
    t.kernel.exit_thread(t, (code & 0xFF) << 8)


def exit_group(t, code):
    t.kernel.exit_group(t.tg, (code & 0xFF) << 8)


def getpid(t):
    return t.tg.pidns.id_of(t.tg.tgid)


def gettid(t):
    return t.tg.pidns.id_of(t.tid)


def getppid(t):
    return t.tg.pidns.id_of(t.tg.parent.tgid) if t.tg.parent is not None else 0


def getuid(t):
    return id_in(t.creds, t.creds.uid)


def geteuid(t):
    return id_in(t.creds, t.creds.euid)


def getgid(t):
    return id_in(t.creds, t.creds.gid, "gid")


def getegid(t):
    return id_in(t.creds, t.creds.egid, "gid")


def _put_ids(t, *pairs):
    """Copy each (address, id) out as a 32-bit id, in order (a bad address faults there)."""
    for addr, val in pairs:
        t.mm.copy_out(addr, struct.pack("<I", val))
    return 0


def getresuid(t, ruid, euid, suid):
    c = t.creds
    return _put_ids(t, (ruid, id_in(c, c.uid)), (euid, id_in(c, c.euid)), (suid, id_in(c, c.suid)))


def getresgid(t, rgid, egid, sgid):
    c = t.creds
    return _put_ids(t, (rgid, id_in(c, c.gid, "gid")), (egid, id_in(c, c.egid, "gid")), (sgid, id_in(c, c.sgid, "gid")))


def getgroups(t, size, addr):
    size = to_s32(size)
    groups = t.creds.groups
    if size < 0:
        raise SyscallError(EINVAL)
    if size == 0:
        return len(groups)
    if size < len(groups):
        raise SyscallError(EINVAL)
    t.mm.copy_out(addr, struct.pack(f"<{len(groups)}I", *(id_in(t.creds, g, "gid") for g in groups)))
    return len(groups)


def setgroups(t, size, addr):
    size = to_s32(size)
    if size < 0 or size > 65536:
        raise SyscallError(EINVAL)
    ns = t.creds.user_ns
    if not t.creds.own_cap(CAP_SETGID) or ns is not None and not (ns.setgroups_allowed and ns.maps["gid"]):
        raise SyscallError(EPERM)   # in a user namespace: once gid_map is written, unless setgroups is "deny"
    groups = struct.unpack(f"<{size}I", t.mm.copy_in(addr, 4 * size))
    t.creds.groups = [id_from(t.creds, g, "gid") for g in groups]
    return 0


def _fix_caps(creds, old):
    """Linux's cap_emulate_setxuid and its fsuid rule: leaving uid 0 drops capabilities.
    ``old`` is (uid, euid, suid, fsuid) before the change; root is the user namespace's uid 0."""
    if creds.securebits & SECBIT_NO_SETUID_FIXUP:
        return
    root = creds.ns_root()
    if root in old[:3] and root not in (creds.uid, creds.euid, creds.suid):
        creds.cap_effective = creds.cap_ambient = 0
        if not creds.keep_caps:
            creds.cap_permitted = 0
    if old[1] == root and creds.euid != root:
        creds.cap_effective = 0
    if old[1] != root and creds.euid == root:
        creds.cap_effective = creds.cap_permitted
    if old[3] == root and creds.fsuid != root:
        creds.cap_effective &= ~CAP_FS_SET
    elif old[3] != root and creds.fsuid == root:
        creds.cap_effective |= creds.cap_permitted & CAP_FS_SET


def _uids(creds):
    return creds.uid, creds.euid, creds.suid, creds.fsuid


def _commits_creds(fn):
    """Linux's commit_creds: a process whose effective or filesystem ids change (or that gains a
    permitted capability) stops being dumpable (suid_dumpable is 0), so another process of its
    old uid cannot ptrace it or open its /proc/PID/mem, and the thread's parent-death signal is
    cleared."""
    def wrapper(t, *args):
        c = t.creds
        before = (c.euid, c.egid, c.fsuid, c.fsgid)
        perm = c.cap_permitted
        ret = fn(t, *args)
        if (c.euid, c.egid, c.fsuid, c.fsgid) != before or c.cap_permitted & ~perm:
            t.tg.dumpable = 0
            t.pdeath_signal = 0
        return ret
    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


def _set_ids(t, names, values, cap):
    creds = t.creds
    privileged = creds.own_cap(cap)
    which = "uid" if cap == CAP_SETUID else "gid"
    values = [id_from(creds, v, which) for v in values]
    current = {getattr(creds, n) for n in names}
    for v in values:
        if v != 0xFFFFFFFF and not privileged and v not in current:
            raise SyscallError(EPERM)
    for n, v in zip(names, values):
        if v != 0xFFFFFFFF:
            setattr(creds, n, v)


@_commits_creds
def setuid(t, uid):
    uid &= 0xFFFFFFFF
    if uid == 0xFFFFFFFF:
        raise SyscallError(EINVAL)
    old = _uids(t.creds)
    creds = t.creds
    uid = id_from(creds, uid)
    if creds.own_cap(CAP_SETUID):
        creds.uid = creds.euid = creds.suid = creds.fsuid = uid
    elif uid in (creds.uid, creds.suid):   # the real or the saved id (__sys_setuid)
        creds.euid = creds.fsuid = uid
    else:
        raise SyscallError(EPERM)
    _fix_caps(creds, old)
    return 0


@_commits_creds
def setgid(t, gid):
    gid &= 0xFFFFFFFF
    if gid == 0xFFFFFFFF:
        raise SyscallError(EINVAL)
    creds = t.creds
    gid = id_from(creds, gid, "gid")
    if creds.own_cap(CAP_SETGID):
        creds.gid = creds.egid = creds.sgid = creds.fsgid = gid
    elif gid in (creds.gid, creds.sgid):
        creds.egid = creds.fsgid = gid
    else:
        raise SyscallError(EPERM)
    return 0


@_commits_creds
def setresuid(t, r, e, s):
    old = _uids(t.creds)
    _set_ids(t, ("uid", "euid", "suid"), (r & 0xFFFFFFFF, e & 0xFFFFFFFF, s & 0xFFFFFFFF), CAP_SETUID)
    t.creds.fsuid = t.creds.euid
    _fix_caps(t.creds, old)
    return 0


@_commits_creds
def setresgid(t, r, e, s):
    _set_ids(t, ("gid", "egid", "sgid"), (r & 0xFFFFFFFF, e & 0xFFFFFFFF, s & 0xFFFFFFFF), CAP_SETGID)
    t.creds.fsgid = t.creds.egid
    return 0


def _set_real_effective(creds, ids, r, e, cap):
    """setreuid/setregid (kernel/sys.c): the real id may become the real or effective one, the
    effective id any of the three; the saved id follows the effective one when the real id is
    set or the effective one moves away from the real one. ``ids``: (real, effective, saved, fs)."""
    real, eff, saved, fs = ids
    which = "uid" if cap == CAP_SETUID else "gid"
    r, e = id_from(creds, r & 0xFFFFFFFF, which), id_from(creds, e & 0xFFFFFFFF, which)
    old = (getattr(creds, real), getattr(creds, eff), getattr(creds, saved))
    privileged = creds.own_cap(cap)
    if r != 0xFFFFFFFF and not privileged and r not in old[:2]:
        raise SyscallError(EPERM)
    if e != 0xFFFFFFFF and not privileged and e not in old:
        raise SyscallError(EPERM)
    if r != 0xFFFFFFFF:
        setattr(creds, real, r)
    if e != 0xFFFFFFFF:
        setattr(creds, eff, e)
    if r != 0xFFFFFFFF or (e != 0xFFFFFFFF and e != old[0]):
        setattr(creds, saved, getattr(creds, eff))
    setattr(creds, fs, getattr(creds, eff))


@_commits_creds
def setreuid(t, r, e):
    old = _uids(t.creds)
    _set_real_effective(t.creds, ("uid", "euid", "suid", "fsuid"), r, e, CAP_SETUID)
    _fix_caps(t.creds, old)
    return 0


@_commits_creds
def setregid(t, r, e):
    _set_real_effective(t.creds, ("gid", "egid", "sgid", "fsgid"), r, e, CAP_SETGID)
    return 0


@_commits_creds
def setfsuid(t, uid):
    old = t.creds.fsuid
    before = _uids(t.creds)
    uid = to_kuid(t.creds.user_ns, uid & 0xFFFFFFFF)   # unmapped: None, ignored as -1 is
    if uid not in (None, 0xFFFFFFFF) and (t.creds.own_cap(CAP_SETUID) or uid in (t.creds.uid, t.creds.euid, t.creds.suid)):
        t.creds.fsuid = uid
        _fix_caps(t.creds, before)
    return id_in(t.creds, old)


@_commits_creds
def setfsgid(t, gid):
    old = t.creds.fsgid
    gid = to_kuid(t.creds.user_ns, gid & 0xFFFFFFFF, "gid")
    if gid not in (None, 0xFFFFFFFF) and (t.creds.own_cap(CAP_SETGID) or gid in (t.creds.gid, t.creds.egid, t.creds.sgid)):
        t.creds.fsgid = gid
    return id_in(t.creds, old, "gid")


_CAP_VERSIONS = {0x19980330: 1, 0x20071026: 2, 0x20080522: 2}  # _LINUX_CAPABILITY_VERSION_1/2/3: u32 words


def _cap_header(t, hdr):
    version, pid = struct.unpack("<Ii", t.mm.copy_in(hdr, 8))
    words = _CAP_VERSIONS.get(version)
    if words is None:  # the kernel answers with the version it prefers
        t.mm.copy_out(hdr, struct.pack("<I", 0x20080522))
    return words, pid


def capget(t, hdr, data):
    words, pid = _cap_header(t, hdr)
    if words is None:
        if not data:
            return 0
        raise SyscallError(EINVAL)
    if pid < 0:
        raise SyscallError(EINVAL)
    target = t if pid == 0 else t.tg.pidns.task_of(pid)
    if target is None:
        raise SyscallError(ESRCH)
    if data:
        c = target.creds
        out = b"".join(struct.pack("<III", c.cap_effective >> 32 * i & 0xFFFFFFFF, c.cap_permitted >> 32 * i & 0xFFFFFFFF,
                                   c.cap_inheritable >> 32 * i & 0xFFFFFFFF) for i in range(words))
        t.mm.copy_out(data, out)
    return 0


def capset(t, hdr, data):
    words, pid = _cap_header(t, hdr)
    if words is None:
        raise SyscallError(EINVAL)
    if pid != 0 and pid != t.tg.pidns.id_of(t.tid):
        raise SyscallError(EPERM)
    raw = struct.unpack(f"<{3 * words}I", t.mm.copy_in(data, 12 * words))
    eff = perm = inh = 0
    for i in range(words):
        eff |= raw[3 * i] << 32 * i
        perm |= raw[3 * i + 1] << 32 * i
        inh |= raw[3 * i + 2] << 32 * i
    c = t.creds
    eff, perm, inh = eff & ALL_CAPS, perm & ALL_CAPS, inh & ALL_CAPS
    allowed_inh = c.cap_inheritable | (c.cap_bounding if c.own_cap(CAP_SETPCAP) else c.cap_permitted)
    if (inh & ~allowed_inh or inh & ~(c.cap_inheritable | c.cap_bounding)
            or perm & ~c.cap_permitted or eff & ~perm):
        raise SyscallError(EPERM)
    c.cap_effective, c.cap_permitted, c.cap_inheritable = eff, perm, inh
    c.cap_ambient &= perm & inh
    return 0


def set_tid_address(t, addr):
    t.clear_child_tid = addr
    return t.tg.pidns.id_of(t.tid)


def set_robust_list(t, head, length):
    if length != 24:
        raise SyscallError(EINVAL)
    t.robust_list = (head, length)
    return 0


def get_robust_list(t, pid, head_ptr, len_ptr):
    pid = to_s32(pid)
    target = t if pid == 0 else t.tg.pidns.task_of(pid)
    if target is None:
        raise SyscallError(ESRCH)
    if not may_ptrace(t, target):
        raise SyscallError(EPERM)   # PTRACE_MODE_READ_REALCREDS
    t.mm.copy_out(head_ptr, struct.pack("<Q", target.robust_list[0]))
    t.mm.copy_out(len_ptr, struct.pack("<Q", target.robust_list[1] or 24))
    return 0


def arch_prctl(t, code, addr):
    ctx = t.ctx
    if code == ARCH_SET_FS or code == ARCH_SET_GS:
        if addr >= TASK_SIZE_MAX:
            raise SyscallError(EPERM)   # as Linux; PTRACE_SETREGS would refuse it (EIO)
        name = "fs_base" if code == ARCH_SET_FS else "gs_base"
        setattr(ctx.regs, name, addr)
        ctx.set_regs()
        return 0
    if code == ARCH_GET_FS or code == ARCH_GET_GS:
        val = ctx.regs.fs_base if code == ARCH_GET_FS else ctx.regs.gs_base
        t.mm.copy_out(addr, struct.pack("<Q", val))
        return 0
    if code == ARCH_GET_CPUID:
        return 1
    if code == ARCH_SET_CPUID:
        raise SyscallError(EINVAL if addr > 1 else ENODEV)  # no CPUID faulting here
    raise SyscallError(EINVAL)


def prctl(t, option, a2, a3, a4, a5):
    option = to_s32(option)
    if option in _SECURITY_OPTIONS:
        return _prctl_security(t, option, a2, a3, a4, a5)
    if option in _TASK_OPTIONS:
        return _prctl_task(t, option, a2, a3, a4, a5)
    if option == PR_SET_NAME:
        name = t.mm.copy_in(a2, 16)
        t.name = name.split(b"\0", 1)[0][:15]
        return 0
    if option == PR_GET_NAME:
        t.mm.copy_out(a2, t.name[:15].ljust(16, b"\0"))
        return 0
    if option == PR_SET_PDEATHSIG:
        if a2 > 64:
            raise SyscallError(EINVAL)
        t.pdeath_signal = a2
        return 0
    if option == PR_GET_PDEATHSIG:
        t.mm.copy_out(a2, struct.pack("<i", t.pdeath_signal))
        return 0
    if option == PR_GET_DUMPABLE:
        return t.tg.dumpable
    if option == PR_SET_DUMPABLE:
        if a2 > 1:
            raise SyscallError(EINVAL)
        t.tg.dumpable = a2
        return 0
    if option == PR_SET_CHILD_SUBREAPER:
        t.tg.subreaper = bool(a2)
        return 0
    if option == PR_GET_CHILD_SUBREAPER:
        t.mm.copy_out(a2, struct.pack("<i", int(t.tg.subreaper)))
        return 0
    if option == PR_GET_TID_ADDRESS:
        t.mm.copy_out(a2, struct.pack("<Q", t.clear_child_tid))
        return 0
    if option == PR_SET_VMA:
        return _set_vma_name(t, a2, a3, a4, a5)
    if option == PR_SET_SYSCALL_USER_DISPATCH:
        return user_dispatch.set_dispatch(t, a2, a3, a4, a5)
    if option == PR_SET_MM and not t.creds.has_cap(CAP_SYS_RESOURCE):
        raise SyscallError(EPERM)   # prctl_set_mm asks first (checkpoint/restore is not supported)
    raise SyscallError(EINVAL)


def _set_vma_name(t, attr, addr, length, name_ptr):
    """PR_SET_VMA_ANON_NAME: a name of printable characters but \\ ` $ [ ] (at most 79), or NULL."""
    if attr != PR_SET_VMA_ANON_NAME:
        raise SyscallError(EINVAL)
    name = None
    if name_ptr:
        raw = bytes(t.mm.read_cstring(name_ptr, ANON_VMA_NAME_MAX_LEN))
        if len(raw) >= ANON_VMA_NAME_MAX_LEN or any(c < 0x20 or c > 0x7e or c in b"\\`$[]" for c in raw):
            raise SyscallError(EINVAL)
        name = raw.decode()
    return madvise.set_anon_name(t.mm, addr, length, name)


_SECURITY_OPTIONS = frozenset((PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS, PR_GET_KEEPCAPS, PR_SET_KEEPCAPS,
                               PR_CAPBSET_READ, PR_CAPBSET_DROP, PR_GET_SECCOMP, PR_SET_SECCOMP, PR_CAP_AMBIENT,
                               PR_GET_SECUREBITS, PR_SET_SECUREBITS))
_TASK_OPTIONS = frozenset((PR_SET_THP_DISABLE, PR_GET_THP_DISABLE, PR_SET_TIMERSLACK, PR_GET_TIMERSLACK,
                           PR_SET_TSC, PR_GET_TSC))


def _prctl_task(t, option, a2, a3, a4, a5):
    """prctl's settings that the Sentry records and reports: THP disabling (transparent huge
    pages are the host's business), the timer slack (timers do not coalesce here) and the TSC
    mode (rdtsc is not trapped)."""
    if option == PR_SET_THP_DISABLE:
        if a3 or a4 or a5:
            raise SyscallError(EINVAL)
        t.tg.thp_disabled = int(bool(a2))
        return 0
    if option == PR_GET_THP_DISABLE:
        if a2 or a3 or a4 or a5:
            raise SyscallError(EINVAL)
        return t.tg.thp_disabled
    if option == PR_SET_TIMERSLACK:
        t.timer_slack_ns = a2 or t.default_timer_slack_ns   # 0: back to the slack the task started with
        return 0
    if option == PR_GET_TIMERSLACK:
        return t.timer_slack_ns
    if option == PR_SET_TSC:
        if a2 not in (PR_TSC_ENABLE, PR_TSC_SIGSEGV):
            raise SyscallError(EINVAL)
        t.tsc_mode = a2
        return 0
    t.mm.copy_out(a2, struct.pack("<i", t.tsc_mode))   # PR_GET_TSC
    return 0


def _prctl_security(t, option, a2, a3, a4, a5):
    """prctl's credential and seccomp options."""
    if option == PR_SET_NO_NEW_PRIVS:
        if a2 != 1 or a3 or a4 or a5:
            raise SyscallError(EINVAL)
        t.creds.no_new_privs = True
        return 0
    if option == PR_GET_NO_NEW_PRIVS:
        if a2 or a3 or a4 or a5:
            raise SyscallError(EINVAL)
        return int(t.creds.no_new_privs)
    if option == PR_GET_KEEPCAPS:
        return int(t.creds.keep_caps)
    if option == PR_SET_KEEPCAPS:
        if a2 > 1:
            raise SyscallError(EINVAL)
        if t.creds.securebits & SECBIT_KEEP_CAPS_LOCKED:
            raise SyscallError(EPERM)
        t.creds.keep_caps = bool(a2)
        return 0
    if option in (PR_CAPBSET_READ, PR_CAPBSET_DROP, PR_GET_SECUREBITS, PR_SET_SECUREBITS):
        return _cap_bits(t.creds, option, a2)
    if option == PR_GET_SECCOMP:
        return seccomp.prctl_get_seccomp(t)
    if option == PR_SET_SECCOMP:
        return seccomp.prctl_set_seccomp(t, a2, a3)
    if option == PR_CAP_AMBIENT:
        return _cap_ambient(t.creds, a2, a3, a4, a5)
    raise SyscallError(EINVAL)


def _cap_bits(creds, option, arg):
    """The bounding set and the securebits: changing either needs CAP_SETPCAP; a locked
    securebit cannot change, nor a lock be released (security/commoncap.c)."""
    if option == PR_CAPBSET_READ:
        if arg > CAP_LAST_CAP:
            raise SyscallError(EINVAL)
        return (creds.cap_bounding >> arg) & 1
    if option == PR_GET_SECUREBITS:
        return creds.securebits
    if not creds.own_cap(CAP_SETPCAP):
        raise SyscallError(EPERM)
    if option == PR_CAPBSET_DROP:
        if arg > CAP_LAST_CAP:
            raise SyscallError(EINVAL)
        creds.cap_bounding &= ~(1 << arg)
        return 0
    old = creds.securebits
    if (old & SECURE_ALL_LOCKS) >> 1 & (old ^ arg) or old & SECURE_ALL_LOCKS & ~arg or \
            arg & ~(SECURE_ALL_LOCKS | SECURE_ALL_BITS):
        raise SyscallError(EPERM)
    creds.securebits = arg
    return 0


def _cap_ambient(creds, op, cap, a4, a5):
    """PR_CAP_AMBIENT: a capability may be raised only while permitted and inheritable."""
    if a4 or a5 or (op == PR_CAP_AMBIENT_CLEAR_ALL and cap):
        raise SyscallError(EINVAL)
    if op == PR_CAP_AMBIENT_CLEAR_ALL:
        creds.cap_ambient = 0
        return 0
    if op not in (PR_CAP_AMBIENT_IS_SET, PR_CAP_AMBIENT_RAISE, PR_CAP_AMBIENT_LOWER) or cap > CAP_LAST_CAP:
        raise SyscallError(EINVAL)
    bit = 1 << cap
    if op == PR_CAP_AMBIENT_IS_SET:
        return int(bool(creds.cap_ambient & bit))
    if op == PR_CAP_AMBIENT_RAISE:
        if not creds.cap_permitted & creds.cap_inheritable & bit or creds.securebits & SECBIT_NO_CAP_AMBIENT_RAISE:
            raise SyscallError(EPERM)
        creds.cap_ambient |= bit
    else:
        creds.cap_ambient &= ~bit
    return 0


def getpgrp(t):
    return t.tg.pidns.id_of(t.tg.pgid)


def getpgid(t, pid):
    return t.tg.pidns.id_of(thread_group(t, pid).pgid)


def getsid(t, pid):
    return t.tg.pidns.id_of(thread_group(t, pid).sid)


def thread_group(t, pid):
    """The thread group ``pid`` names (0: the caller's), or ESRCH."""
    pid = to_s32(pid)
    if pid == 0:
        return t.tg
    tg = t.tg.pidns.group_of(pid)
    if tg is None or pid < 0:
        raise SyscallError(ESRCH)
    return tg


def setpgid(t, pid, pgid):
    pid, pgid = to_s32(pid), to_s32(pgid)
    if pgid < 0:
        raise SyscallError(EINVAL)
    tg = thread_group(t, pid)
    if tg is not t.tg and tg.parent is not t.tg:
        raise SyscallError(ESRCH)
    if tg is not t.tg and tg.did_exec:
        raise SyscallError(EACCES)
    if tg.sid == tg.tgid:
        raise SyscallError(EPERM)  # a session leader cannot move
    if tg.sid != t.tg.sid:
        raise SyscallError(EPERM)
    pgid = t.tg.pidns.global_id(pgid) if pgid else tg.tgid
    if pgid is None:
        raise SyscallError(EPERM)   # no such group in the caller's namespace
    if pgid != tg.tgid and not any(g.pgid == pgid and g.sid == t.tg.sid
                                   for g in t.kernel.pidns.thread_groups.values()):
        raise SyscallError(EPERM)
    tg.pgid = pgid
    return 0


def setsid(t):
    tg = t.tg
    if any(g.pgid == tg.tgid for g in t.kernel.pidns.thread_groups.values() if g.exit_status is None):
        raise SyscallError(EPERM)  # already a group leader
    tg.sid = tg.pgid = tg.tgid
    return tg.pidns.id_of(tg.tgid)
