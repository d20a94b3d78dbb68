"""ptrace(2)'s requests and process_vm_readv/writev: thin handlers over kernel/ptrace.py (the
stops, attaching, waiting) and the tracee's registers (its Context) and MemoryManager.

A request other than TRACEME, ATTACH, SEIZE, KILL and INTERRUPT needs the tracee traced by the
caller and in a ptrace-stop (ESRCH otherwise), as Linux's ptrace_check_attach. Register writes
are checked as Linux's putreg checks them (EIO), so the host never refuses the stub's registers.
"""
import contextlib
import struct

from snakevisor.abi import ptrace as P
from snakevisor.abi import signal as S
from snakevisor.abi.capability import CAP_SYS_ADMIN
from snakevisor.abi.errno import EACCES, EFAULT, EINVAL, EIO, ENOENT, EPERM, ESRCH, SyscallError
from snakevisor.abi.seccomp import SECCOMP_FILTER_FLAG_LOG
from snakevisor.abi.fs import to_s32
from snakevisor.abi.mm import TASK_SIZE_MAX
from snakevisor.sentry.kernel import debugregs, ptrace as K, seccomp
from snakevisor.sentry.mm import forced, special
from snakevisor.sentry.kernel.creds import may_ptrace
from snakevisor.sentry.kernel.signals import cpu_mxcsr_mask, make_siginfo

SELECTORS = ("cs", "ss", "ds", "es", "fs", "gs")
FLAG_MASK = S.FIX_EFLAGS            # the eflags bits a tracer may change (Linux's FLAG_MASK)
MAX_CHUNK = 1 << 20                 # bytes process_vm_* moves per step (bounded allocation)


def ptrace(t, request, pid, addr, data):
    request, pid = to_s32(request), to_s32(pid)
    if request == P.PTRACE_TRACEME:
        K.traceme(t)
        return 0
    target = t.tg.pidns.task_of(pid) if pid > 0 else None
    if request in (P.PTRACE_ATTACH, P.PTRACE_SEIZE):
        return _attach(t, target, request == P.PTRACE_SEIZE, addr, data)
    st = target.ptrace if target is not None and not target.exited else None
    if st is None or st.tracer is not t:
        raise SyscallError(ESRCH)
    if request == P.PTRACE_KILL:
        t.kernel.signals.send_to_group(target.tg, S.SIGKILL)
        return 0
    if request == P.PTRACE_INTERRUPT:
        return _interrupt(t, st)
    if not st.stopped:
        raise SyscallError(ESRCH)
    handler = REQUESTS.get(request)
    if handler is None:
        raise SyscallError(EIO)
    return handler(t, st, addr, data) or 0


def _check_options(t, options):
    """Linux's check_ptrace_options: PTRACE_O_SUSPEND_SECCOMP is for CAP_SYS_ADMIN only."""
    if options & P.PTRACE_O_SUSPEND_SECCOMP and not t.creds.has_cap(CAP_SYS_ADMIN):
        raise SyscallError(EPERM)


def _attach(t, target, seize, addr, data):
    if seize and (addr or data & ~P.PTRACE_O_MASK):
        raise SyscallError(EIO)
    if seize:
        _check_options(t, data)
    K.check_attach(t, target)
    K.attach(t, target, seize, data if seize else 0)
    if not seize:
        t.kernel.signals.send_to_task(target, S.SIGSTOP, make_siginfo(S.SIGSTOP, S.SI_KERNEL))
    K.wake_stopped(target)
    return 0


def _interrupt(t, st):
    if not st.seized:
        raise SyscallError(EIO)
    if not st.stopped:
        st.interrupt = True
        st.task.stop_pending = True   # it traps on its way back to user mode, whatever it was doing
        if not t.kernel.loop.interrupt(st.task):
            t.kernel.signals.kick(st.task, force=True)
    return 0


# -- resuming -------------------------------------------------------------------------------------
def _signal_arg(data):
    if data > 64:
        raise SyscallError(EIO)
    return data


def _resume(t, st, addr, data, request):
    K.resume(st, request, _signal_arg(data))


def _listen(t, st, addr, data):
    code = S.SIGINFO_HEAD.unpack_from(st.siginfo)[2] if st.siginfo is not None else 0
    if not st.seized or code >> 8 != P.PTRACE_EVENT_STOP:
        raise SyscallError(EIO)
    K.resume(st, P.PTRACE_LISTEN, 0)


def _detach(t, st, addr, data):
    K.detach(st, _signal_arg(data))


# -- memory ---------------------------------------------------------------------------------------
def _peek(t, st, addr, data):
    word = forced.read_forced(st.task.mm, addr, 8) or special.read_vdso(t.kernel, addr, 8)
    if len(word) < 8:
        raise SyscallError(EIO)
    t.mm.copy_out(data, word)


def _poke(t, st, addr, data):
    mm = st.task.mm
    mm.active_context = st.task.ctx   # stopped: a copy-on-write break injects through it
    try:
        done = forced.write_forced(mm, addr, struct.pack("<Q", data))
    finally:
        t.mm.active_context = t.ctx   # the same mm when a vfork child is traced by its parent
    if done < 8:
        raise SyscallError(EIO)


# -- registers ------------------------------------------------------------------------------------
def _checked_reg(regs, name, value):
    """The value ``name`` takes when a tracer writes ``value`` (Linux's putreg), or EIO."""
    if name in SELECTORS:
        if value > 0xFFFF or (value or name in ("cs", "ss")) and value & 3 != P.SEGMENT_RPL_USER:
            raise SyscallError(EIO)
    elif name in ("fs_base", "gs_base") and value >= TASK_SIZE_MAX:
        raise SyscallError(EIO)
    elif name == "eflags":
        value = (regs.eflags & ~FLAG_MASK) | (value & FLAG_MASK)
    return value


def _set_regs(st, raw):
    """Write user_regs_struct bytes (all of it, or a prefix) into the stopped tracee."""
    regs = st.task.ctx.regs
    values = struct.unpack_from(f"<{len(raw) // 8}Q", raw)
    checked = [_checked_reg(regs, name, v) for name, v in zip(P.REG_NAMES, values)]
    for name, v in zip(P.REG_NAMES, checked):
        setattr(regs, name, v)
    st.task.ctx.set_regs()


def _regs_bytes(st):
    regs = st.task.ctx.regs
    return struct.pack(f"<{len(P.REG_NAMES)}Q", *(getattr(regs, n) for n in P.REG_NAMES))


def _getregs(t, st, addr, data):
    t.mm.copy_out(data, _regs_bytes(st))


def _setregs(t, st, addr, data):
    _set_regs(st, t.mm.copy_in(data, P.USER_REGS_SIZE))


def _user_offset(addr):
    if addr & 7 or addr >= P.USER_SIZE:
        raise SyscallError(EIO)
    return addr


def _peekuser(t, st, addr, data):
    off = _user_offset(addr)
    if off < P.USER_REGS_SIZE:
        value = getattr(st.task.ctx.regs, P.REG_NAMES[off // 8])
    else:
        value = debugregs.peek(st.task, (off - P.USER_DEBUGREG_OFFSET) // 8) if off >= P.USER_DEBUGREG_OFFSET else 0
    t.mm.copy_out(data, struct.pack("<Q", value))


def _pokeuser(t, st, addr, data):
    off = _user_offset(addr)
    if off < P.USER_REGS_SIZE:
        regs = st.task.ctx.regs
        name = P.REG_NAMES[off // 8]
        setattr(regs, name, _checked_reg(regs, name, data))
        st.task.ctx.set_regs()
    elif off >= P.USER_DEBUGREG_OFFSET:
        debugregs.poke(st.task, (off - P.USER_DEBUGREG_OFFSET) // 8, data)
    else:
        raise SyscallError(EIO)   # u_tsize... u_comm: not writable


def _fpregs(st):
    return st.task.ctx.get_xstate()[:P.FPREGS_SIZE]


def _set_fpregs(st, raw):
    xs = bytearray(st.task.ctx.get_xstate())
    xs[:len(raw)] = raw
    if len(xs) >= 520:
        xs[512] |= 3   # XSTATE_BV: the x87 and SSE state are now the tracer's
    _set_xstate(st, bytes(xs))


def _set_xstate(st, data):
    """Checked as Linux checks a tracer's FPU state (EINVAL), so neither platform's host call nor
    the systrap stub's sigreturn ever refuses it: MXCSR within this CPU's mask, a standard-format
    XSAVE header naming only supported features. Our own MXCSR mask and software bytes stay."""
    current = st.task.ctx.get_xstate()
    if len(data) != len(current):
        raise SyscallError(EINVAL)
    if struct.unpack_from("<I", data, 24)[0] & ~cpu_mxcsr_mask(st.task.ctx):
        raise SyscallError(EINVAL)
    new = bytearray(data)
    new[28:32] = current[28:32]
    new[S.FPX_SW_OFFSET:512] = current[S.FPX_SW_OFFSET:512]
    if len(new) > 512:
        supported = struct.unpack_from("<Q", current, P.XSTATE_XCR0_OFFSET)[0]   # XCR0
        xstate_bv, xcomp_bv = struct.unpack_from("<QQ", new, 512)
        if xcomp_bv or any(new[528:576]) or xstate_bv & ~supported:
            raise SyscallError(EINVAL)
    try:
        st.task.ctx.set_xstate(bytes(new))
    except OSError:
        raise SyscallError(EINVAL) from None


def _getfpregs(t, st, addr, data):
    t.mm.copy_out(data, _fpregs(st))


def _setfpregs(t, st, addr, data):
    _set_fpregs(st, t.mm.copy_in(data, P.FPREGS_SIZE))


REGSETS = {   # NT type -> (size, get(st), set(st, bytes))
    P.NT_PRSTATUS: (lambda st: P.USER_REGS_SIZE, _regs_bytes, _set_regs),
    P.NT_PRFPREG: (lambda st: P.FPREGS_SIZE, _fpregs, _set_fpregs),
    P.NT_X86_XSTATE: (lambda st: st.task.ctx.xstate_size(), lambda st: st.task.ctx.get_xstate(), _set_xstate),
}


def _regset(t, st, addr, data, write):
    regset = REGSETS.get(addr)
    if regset is None:
        raise SyscallError(EINVAL)
    size, get, put = regset
    base, length = P.IOVEC.unpack(t.mm.copy_in(data, P.IOVEC.size))
    if length % 8:
        raise SyscallError(EINVAL)   # not a whole number of the regset's 8-byte units
    n = min(length, size(st))
    if write:
        if addr == P.NT_X86_XSTATE and n != size(st):
            raise SyscallError(EINVAL)
        raw = t.mm.copy_in(base, n)
        put(st, raw)
    else:
        t.mm.copy_out(base, get(st)[:n])
    t.mm.copy_out(data + 8, struct.pack("<Q", n))


# -- stop details ---------------------------------------------------------------------------------
def _getsiginfo(t, st, addr, data):
    if st.siginfo is None:
        raise SyscallError(EINVAL)   # a group stop has none
    t.mm.copy_out(data, st.siginfo)


def _setsiginfo(t, st, addr, data):
    if st.siginfo is None:
        raise SyscallError(EINVAL)
    st.siginfo = t.mm.copy_in(data, S.SIGINFO_SIZE)


def _getsigmask(t, st, addr, data):
    """PTRACE_GETSIGMASK: the tracee's blocked set (the one it returns to, if a sigsuspend or ppoll
    set it aside); ``addr`` is the size of the set."""
    if addr != 8:
        raise SyscallError(EINVAL)
    task = st.task
    mask = task.sigmask if task.saved_sigmask is None else task.saved_sigmask
    t.mm.copy_out(data, mask.to_bytes(8, "little"))


def _setsigmask(t, st, addr, data):
    """PTRACE_SETSIGMASK: the tracee's blocked set (SIGKILL and SIGSTOP stay unblocked); a mask a
    sigsuspend or ppoll set aside is forgotten."""
    if addr != 8:
        raise SyscallError(EINVAL)
    mask = int.from_bytes(t.mm.copy_in(data, 8), "little")
    st.task.sigmask = mask & ~S.UNBLOCKABLE
    st.task.saved_sigmask = None


def _setoptions(t, st, addr, data):
    if data & ~P.PTRACE_O_MASK:
        raise SyscallError(EINVAL)
    _check_options(t, data)
    st.options = data


def _geteventmsg(t, st, addr, data):
    t.mm.copy_out(data, struct.pack("<Q", st.event_msg & K.MASK64))


def _get_syscall_info(t, st, addr, data):
    regs = st.task.ctx.regs
    sysgood = st.siginfo is not None and S.SIGINFO_HEAD.unpack_from(st.siginfo)[2] == S.SIGTRAP | 0x80
    op = P.PTRACE_SYSCALL_INFO_NONE
    if sysgood and st.kind == K.SYSCALL_ENTER:
        op = P.PTRACE_SYSCALL_INFO_ENTRY
        tail = P.SYSCALL_INFO_ENTRY.pack(regs.orig_rax, regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9)
    elif sysgood and st.kind == K.SYSCALL_EXIT:
        op = P.PTRACE_SYSCALL_INFO_EXIT
        rval = K.skipped_return(regs)
        tail = P.SYSCALL_INFO_EXIT.pack(rval, 1 if -4095 <= rval < 0 else 0)
    else:
        tail = b""
    info = P.SYSCALL_INFO_HEAD.pack(op, P.AUDIT_ARCH_X86_64, regs.rip, regs.rsp) + tail
    if addr:
        t.mm.copy_out(data, info[:addr])
    return len(info)


def _nth_filter(t, st, index):
    """The tracee's ``index``-th newest seccomp filter, for a tracer with CAP_SYS_ADMIN and no
    filter of its own (EACCES), as Linux's seccomp_get_filter/get_nth_filter."""
    if not t.creds.has_cap(CAP_SYS_ADMIN) or t.seccomp is not None:
        raise SyscallError(EACCES)
    if st.task.seccomp is None or st.task.seccomp is seccomp.STRICT:
        raise SyscallError(EINVAL)
    f = seccomp.nth_filter(st.task, index)
    if f is None:
        raise SyscallError(ENOENT)
    return f


def _seccomp_get_filter(t, st, addr, data):
    """PTRACE_SECCOMP_GET_FILTER: the filter's instruction count; its program copied to ``data``."""
    f = _nth_filter(t, st, addr)
    if data:
        t.mm.copy_out(data, f.raw)
    return len(f.raw) // 8


def _seccomp_get_metadata(t, st, addr, data):
    """PTRACE_SECCOMP_GET_METADATA: struct seccomp_metadata {u64 filter_off; u64 flags}, ``addr``
    bytes of it (at least filter_off) read and written back."""
    size = min(addr, 16)
    if size < 8:
        raise SyscallError(EINVAL)
    index = struct.unpack("<Q", t.mm.copy_in(data, 8))[0]
    f = _nth_filter(t, st, index)
    meta = struct.pack("<QQ", index, SECCOMP_FILTER_FLAG_LOG if f.log else 0)
    t.mm.copy_out(data, meta[:size])
    return size


REQUESTS = {
    P.PTRACE_PEEKTEXT: _peek,
    P.PTRACE_PEEKDATA: _peek,
    P.PTRACE_PEEKUSER: _peekuser,
    P.PTRACE_POKETEXT: _poke,
    P.PTRACE_POKEDATA: _poke,
    P.PTRACE_POKEUSER: _pokeuser,
    P.PTRACE_CONT: lambda t, st, a, d: _resume(t, st, a, d, P.PTRACE_CONT),
    P.PTRACE_SYSCALL: lambda t, st, a, d: _resume(t, st, a, d, P.PTRACE_SYSCALL),
    P.PTRACE_SYSEMU: lambda t, st, a, d: _resume(t, st, a, d, P.PTRACE_SYSEMU),
    P.PTRACE_SINGLESTEP: lambda t, st, a, d: _resume(t, st, a, d, P.PTRACE_SINGLESTEP),
    P.PTRACE_SYSEMU_SINGLESTEP: lambda t, st, a, d: _resume(t, st, a, d, P.PTRACE_SYSEMU_SINGLESTEP),
    P.PTRACE_LISTEN: _listen,
    P.PTRACE_DETACH: _detach,
    P.PTRACE_GETREGS: _getregs,
    P.PTRACE_SETREGS: _setregs,
    P.PTRACE_GETFPREGS: _getfpregs,
    P.PTRACE_SETFPREGS: _setfpregs,
    P.PTRACE_GETREGSET: lambda t, st, a, d: _regset(t, st, a, d, False),
    P.PTRACE_SETREGSET: lambda t, st, a, d: _regset(t, st, a, d, True),
    P.PTRACE_GETSIGINFO: _getsiginfo,
    P.PTRACE_SETSIGINFO: _setsiginfo,
    P.PTRACE_GETSIGMASK: _getsigmask,
    P.PTRACE_SETSIGMASK: _setsigmask,
    P.PTRACE_SETOPTIONS: _setoptions,
    P.PTRACE_GETEVENTMSG: _geteventmsg,
    P.PTRACE_GET_SYSCALL_INFO: _get_syscall_info,
    P.PTRACE_SECCOMP_GET_FILTER: _seccomp_get_filter,
    P.PTRACE_SECCOMP_GET_METADATA: _seccomp_get_metadata,
}


# -- process_vm_readv / process_vm_writev ---------------------------------------------------------
def _iovecs(t, addr, count):
    if count > P.UIO_MAXIOV:
        raise SyscallError(EINVAL)
    vecs = t.mm.read_iovecs(addr, count)
    if sum(length for _, length in vecs) > (1 << 63) - 1:
        raise SyscallError(EINVAL)
    return vecs


def _remote(t, pid):
    target = t.tg.pidns.task_of(to_s32(pid)) if to_s32(pid) > 0 else None
    if target is None or target.exited or target.mm is None:
        raise SyscallError(ESRCH)
    if not may_ptrace(t, target):
        raise SyscallError(EPERM)
    return target


def _pairs(local, remote):
    """(local address, remote address, length) steps walking both iovec lists together."""
    li, lo, ri, ro = 0, 0, 0, 0
    while li < len(local) and ri < len(remote):
        (lbase, llen), (rbase, rlen) = local[li], remote[ri]
        n = min(llen - lo, rlen - ro, MAX_CHUNK)
        if n > 0:
            yield lbase + lo, rbase + ro, n
        lo, ro = lo + n, ro + n
        if lo >= llen:
            li, lo = li + 1, 0
        if ro >= rlen:
            ri, ro = ri + 1, 0


def _process_vm(t, pid, lvec, liovcnt, rvec, riovcnt, flags, write):
    if flags:
        raise SyscallError(EINVAL)
    local = _iovecs(t, lvec, liovcnt)
    if not any(length for _, length in local):
        return 0   # before the remote iovecs are read or the process looked for (process_vm_rw)
    remote = _iovecs(t, rvec, riovcnt)
    if not any(length for _, length in remote):
        return 0
    mm = _remote(t, pid).mm
    done = 0
    # A write may copy a copy-on-write page of the other process: through a stopped thread of it.
    with mm.changed_by_another() if write else contextlib.nullcontext():
        for laddr, raddr, n in _pairs(local, remote):
            span = mm.accessible_span(raddr, n, write=write)
            try:
                if write:
                    mm.copy_out(raddr, t.mm.copy_in(laddr, span))
                else:
                    t.mm.copy_out(laddr, mm.copy_in(raddr, span))
            except SyscallError:
                span = 0   # the local side faulted
            done += span
            if span < n:
                break
    if not done:
        raise SyscallError(EFAULT)
    return done


def process_vm_readv(t, pid, lvec, liovcnt, rvec, riovcnt, flags):
    return _process_vm(t, pid, lvec, liovcnt, rvec, riovcnt, flags, False)


def process_vm_writev(t, pid, lvec, liovcnt, rvec, riovcnt, flags):
    return _process_vm(t, pid, lvec, liovcnt, rvec, riovcnt, flags, True)
