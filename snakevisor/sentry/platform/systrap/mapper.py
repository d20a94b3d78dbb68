"""A systrap stub's two seccomp programs and its *mapper* thread.

Seccomp filters are per thread, inherited by fork and clone, and stack. A stub's application
threads run under one that traps every syscall made outside the stub's code and, from the
stub's code, allows only what the signal handler needs (STUB_SYSCALLS, STUB_SYSCALL_ARGS): an
application that jumps into the stub's code with registers of its choosing gets no more. The
master stub's own filter (MASTER_SYSCALLS, MASTER_SYSCALL_ARGS), installed once and inherited by
every stub, also allows mmap of the MemoryFile (or of a host file the Sentry sent it), munmap and
mprotect: it is all the stub process's
first thread, the mapper, has (it never runs application code); under the application threads'
filter it allows nothing more. While the stub is set up the Sentry drives it with
ptrace (``Mapper``); then it is detached into stub.S's ``mapper_loop`` and driven through a
SOCK_SEQPACKET socket only its filter may read or write (``MapperChannel``): a message runs the
batch in its request pages, and the lengths of its answers say how it went. No request for
those calls and no answer ever sits in memory the application can write.

A host file (a volume's, mapped MAP_SHARED: mm/hostmap.py) reaches the mapper as a descriptor sent
with SCM_RIGHTS after the message that starts its batch; the batch's first request receives it
(recvmsg on its socket: it lands at HOST_FD, the stub's lowest free number, since only the Sentry
changes the stub's descriptor table), the second maps it, the third closes it. The msghdr lies in
memory the application can write: scribbled, the descriptor is not received (the mmap fails:
EBADF) or lands elsewhere in its own memory's bytes; a recvmsg that fails may leave the message
queued, out of step with the batches, so the stub is then killed.
"""
import contextlib
import errno
import os
import signal
import socket
import struct

from snakevisor.abi import ptrace as pt
from snakevisor.abi import seccomp as SC
from snakevisor.abi.mm import MAP_FIXED, MAP_SHARED
from snakevisor.abi.sched import CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID
from snakevisor.abi.time import OWN_THREAD_CPUCLOCK
from snakevisor.abi.syscall_numbers import SYSCALL_NUMBERS as NR
from snakevisor.hostos.libc import libc
from snakevisor.sentry.platform import ptrace as ptp
from snakevisor.sentry.platform.interface import StubGone
from snakevisor.sentry.platform.ptrace.stub import STUB_ADDR, STUB_MEMFD, STUB_SIZE
from snakevisor.sentry.platform.systrap import stub as st

# A thread the stub clones: the kernel sets its sysmsg's tid word and clears it when it exits.
CLONE_FLAGS = ptp.HOST_THREAD_CLONE_FLAGS | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID
STUB_SYSCALLS = ("futex", "arch_prctl", "sigaltstack", "rt_sigprocmask", "rt_sigreturn", "exit", "exit_group")
# ... and these with one argument pinned: (argument index, the values it may have)
# (clock_gettime: a thread's own CPU clocks, which the host lets no other process read)
STUB_SYSCALL_ARGS = {"write": (0, (st.EVENTFD_FD,)), "clone": (0, (CLONE_FLAGS,)),
                     "clock_gettime": (0, tuple(OWN_THREAD_CPUCLOCK.values()))}
# The master's filter, inherited by every stub's threads: the mapper's own, and stacked under the
# application threads' (so theirs is what binds them). Only a thread without the application
# filter, the mapper (never running application code), may change the mappings; the master and a
# new stub's set-up batch also fork, set PDEATHSIG, make the mapper's socket pair and install the
# first thread's filter.
MASTER_SYSCALLS = ("munmap", "mprotect", "fork", "prctl", "socketpair", "seccomp")
MASTER_SYSCALL_ARGS = {"mmap": (4, (STUB_MEMFD, st.HOST_FD)), "read": (0, (st.MAPPER_FD,)),
                       "write": (0, (st.MAPPER_FD, st.EVENTFD_FD)), "recvmsg": (0, (st.MAPPER_FD,)),
                       "close": (0, (st.HOST_FD,))}
REQUEST = struct.Struct("<7Q")        # a batch request: nr and six arguments (stub.S, batch)
COUNT = struct.Struct("<Q")           # the request pages start with the batch's count
REQUESTS_BYTES = 4 * 4096             # each stub's request pages: 292 requests a batch
PER_BATCH = (REQUESTS_BYTES - COUNT.size) // REQUEST.size
ANSWER_DEADLINE = 30.0                # seconds a mapper may take to answer before its stub is killed
# map_host_file's msghdr, then its iovec, control and data bytes: in the first thread's sysmsg, past
# its head and systrap's scratch byte (its _SCRATCH, 0x800); the control room is CMSG_SPACE of one int.
RECV = 0x840
RECV_AREA = struct.Struct("<QI4xQQQQI4xQQ")   # name, namelen, iov, iovlen, control, controllen, flags; the iovec
MSGHDR_BYTES, IOVEC_BYTES, CONTROL_BYTES = 56, 16, 24


def filter_program(master=False):
    """A stub thread's seccomp program: a syscall from outside the stub's code page traps
    (SIGSYS); from inside it, only STUB_SYSCALLS and STUB_SYSCALL_ARGS are allowed (and, for
    the ``master``'s, MASTER_SYSCALLS and MASTER_SYSCALL_ARGS); anything else kills."""
    ins, labels = [], {}

    def op(code, k, jt=0, jf=0):
        ins.append([code, jt, jf, k])
    allowed = [NR[n] for n in STUB_SYSCALLS + (MASTER_SYSCALLS if master else ())]
    with_args = dict(STUB_SYSCALL_ARGS, **(MASTER_SYSCALL_ARGS if master else {}))
    op(SC.BPF_LD_W_ABS, SC.SD_ARCH)
    op(SC.BPF_JEQ_K, SC.AUDIT_ARCH_X86_64, 0, "kill")
    op(SC.BPF_LD_W_ABS, SC.SD_IP_HI)
    op(SC.BPF_JEQ_K, STUB_ADDR >> 32, 0, "trap")
    op(SC.BPF_LD_W_ABS, SC.SD_IP_LO)
    op(SC.BPF_JGE_K, (STUB_ADDR & 0xFFFFFFFF) + STUB_SIZE, "trap", 0)
    op(SC.BPF_LD_W_ABS, SC.SD_NR)
    for nr in allowed:
        op(SC.BPF_JEQ_K, nr, "allow", 0)
    for name in with_args:
        op(SC.BPF_JEQ_K, NR[name], name, 0)
    op(SC.BPF_JEQ_K, 0xFFFFFFFF, "kill", "kill")
    for name, (arg, values) in with_args.items():
        labels[name] = len(ins)
        op(SC.BPF_LD_W_ABS, SC.SD_ARG_LO(arg) + 4)
        op(SC.BPF_JEQ_K, 0, 0, "kill")
        op(SC.BPF_LD_W_ABS, SC.SD_ARG_LO(arg))
        for i, value in enumerate(values):
            op(SC.BPF_JEQ_K, value, "allow", "kill" if i == len(values) - 1 else 0)
    labels.update(trap=len(ins), allow=len(ins) + 1, kill=len(ins) + 2)
    op(SC.BPF_RET_K, SC.SECCOMP_RET_TRAP)
    op(SC.BPF_RET_K, SC.SECCOMP_RET_ALLOW)
    op(SC.BPF_RET_K, SC.SECCOMP_RET_KILL_PROCESS)
    out = b""
    for pc, (code, jt, jf, k) in enumerate(ins):
        jt = labels[jt] - pc - 1 if isinstance(jt, str) else jt
        jf = labels[jf] - pc - 1 if isinstance(jf, str) else jf
        out += SC.SOCK_FILTER.pack(code, jt, jf, k)
    return out


class Mapper(ptp.Context):
    """A stub's first thread while the stub is set up: traced and stopped."""

    def run_setup(self, requests, count, pages, scratch):
        """The stub's batch over ``count`` requests at ``requests`` (in a page the application can
        only read), the mapper's loop registers set (its request ``pages``, its read buffer
        ``scratch``): (requests left undone, the last result, the tid a clone among them made)."""
        regs = self.regs
        regs.rip, regs.r12, regs.r13, regs.r15, regs.orig_rax = st.BATCH, requests, count, 0, (1 << 64) - 1
        regs.r14, regs.rbp = pages, scratch
        self.set_regs()
        self._run_until_trap()
        regs = self.get_regs()
        return regs.r13, _signed(regs.rax), regs.rbx

    def start_loop(self):
        """Detach the mapper, stopped at the batch's int3: it goes on into mapper_loop."""
        ptp.ptrace(pt.PTRACE_DETACH, self.tid, 0, 0)


class MapperChannel:
    """The Sentry's end of a set-up mapper's socket (stub.S, mapper_loop)."""

    __slots__ = ("fd", "pid", "sock")

    def __init__(self, fd, pid, deadline=ANSWER_DEADLINE):
        self.fd, self.pid = fd, pid
        self.sock = None   # a socket object on fd, made to send a host file's descriptor
        seconds = int(deadline)
        timeval = struct.pack("<qq", seconds, int((deadline - seconds) * 1e6))   # SO_RCVTIMEO's
        libc.setsockopt(fd, socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval, len(timeval))

    def run_batch(self, tid, host_fd=None):
        """Run the batch already written to the request pages: (requests left undone, the first
        error, or 0); ``host_fd``: a descriptor of the Sentry's its first request receives. The
        stub's death is StubGone for ``tid``, the thread that asked."""
        try:
            os.write(self.fd, b"\1")
            if host_fd is not None:
                if self.sock is None:
                    self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET, 0, fileno=self.fd)
                self.sock.sendmsg([b"\0"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", host_fd))],
                                  socket.MSG_NOSIGNAL)
            left = len(os.read(self.fd, PER_BATCH + 1)) - 1
            if left == 0:
                return 0, 0
            if left > 0:
                return left, -len(os.read(self.fd, 4096))
        except OSError as e:
            if e.errno == errno.EAGAIN:   # no answer within the deadline
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
        raise StubGone(tid, None)   # (end of file: the stub is gone)

    def close(self):
        if self.sock is not None:
            self.sock.detach()   # (the descriptor is closed below, once)
            self.sock = None
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def failure(requests, left, result):
    """The OSError of a batch that stopped at a failed request (``left`` of them undone)."""
    return OSError(-result, f"stub request {requests[len(requests) - left][:2]} failed")


def write_batch(memory_file, offset, requests):
    """Requests ((nr, arguments...)) after their count, as stub.S's batch reads them."""
    memory_file.write(offset, COUNT.pack(len(requests)) + b"".join(
        REQUEST.pack(*r, *(0,) * (7 - len(r))) for r in requests))


def map_host_file(aspace, ctx, addr, length, prot, fd, offset):
    """systrap's AddressSpace.map_host_file: the mapper receives ``fd`` (at HOST_FD), maps it and
    closes it (the module docstring). A recvmsg that failed (the application scribbled its
    msghdr) may leave the descriptor's message queued, which the next batch would take for its
    start: the stub is killed. A failed mmap leaves HOST_FD open: closed at once, so the next
    host file lands there again."""
    msg = aspace.sysmsgs[0]   # the first thread's (rewritten each time: the application may scribble it)
    base = msg.stub + RECV
    iov, control = base + MSGHDR_BYTES, base + MSGHDR_BYTES + IOVEC_BYTES
    RECV_AREA.pack_into(msg.mv, RECV, 0, 0, iov, 1, control, CONTROL_BYTES, 0, control + CONTROL_BYTES, 1)
    requests = [(NR["recvmsg"], st.MAPPER_FD, base, 0),
                (NR["mmap"], addr, length, prot, MAP_SHARED | MAP_FIXED, st.HOST_FD, offset),
                (NR["close"], st.HOST_FD)]
    write_batch(aspace.platform.memory_file, aspace.requests, requests)
    tid = aspace.pid if ctx is None else ctx.tid
    left, result = aspace.mapper.run_batch(tid, fd)
    if left == len(requests):
        aspace.kill()
        raise StubGone(tid, signal.SIGSYS)
    if left == 2:
        aspace.run_requests(ctx, [(NR["close"], st.HOST_FD)], check=False)
        raise failure(requests, left, result)


def _signed(value):
    return value - (1 << 64) if value >= 1 << 63 else value
