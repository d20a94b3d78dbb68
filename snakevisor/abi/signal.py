"""Signal ABI: numbers, sigaction flags and layouts, sigprocmask operations."""
import struct

NSIG = 64
SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE = 1, 2, 3, 4, 5, 6, 7, 8
SIGKILL, SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT = 9, 10, 11, 12, 13, 14, 15, 16
SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGXCPU = 17, 18, 19, 20, 21, 22, 23, 24
SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGIO, SIGPWR, SIGSYS = 25, 26, 27, 28, 29, 30, 31
SIGRTMIN = 32

SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
SIG_DFL, SIG_IGN = 0, 1

SA_NOCLDSTOP = 0x00000001
SA_NOCLDWAIT = 0x00000002
SA_SIGINFO = 0x00000004
SA_RESTORER = 0x04000000
SA_ONSTACK = 0x08000000
SA_RESTART = 0x10000000
SA_NODEFER = 0x40000000
SA_RESETHAND = 0x80000000

SS_ONSTACK = 1
SS_DISABLE = 2
SS_AUTODISARM = 1 << 31
MINSIGSTKSZ = 2048

# struct kernel_sigaction: handler, flags, restorer, mask (8-byte sigset).
KSIGACTION = struct.Struct("<QQQQ")
# stack_t: ss_sp, ss_flags (int + pad), ss_size.
STACK_T = struct.Struct("<Qi4xQ")

UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))


def sigbit(sig):
    return 1 << (sig - 1)

# si_code values.
SI_USER = 0
SI_KERNEL = 0x80
SI_QUEUE = -1
SI_TIMER = -2
SI_MESGQ = -3
SI_TKILL = -6
CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_TRAPPED, CLD_STOPPED, CLD_CONTINUED = 1, 2, 3, 4, 5, 6
SEGV_MAPERR, SEGV_ACCERR = 1, 2
SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD, SIGEV_THREAD_ID = 0, 1, 2, 4   # struct sigevent's sigev_notify
BUS_ADRERR = 2
TRAP_BRKPT, TRAP_TRACE, TRAP_HWBKPT = 1, 2, 4   # SIGTRAP's: int3, a single step, a debug register
POLL_IN, POLL_OUT, POLL_MSG, POLL_ERR, POLL_PRI, POLL_HUP = 1, 2, 3, 4, 5, 6   # SIGIO's
SIGINFO_SIZE = 128
SIGINFO_HEAD = struct.Struct("<iii4x")          # si_signo, si_errno, si_code
SIGINFO_KILL = struct.Struct("<iii4xiI")        # + si_pid, si_uid
SIGINFO_CHLD = struct.Struct("<iii4xiIi4xqq")    # + si_pid, si_uid, si_status, si_utime, si_stime
SIGINFO_FAULT = struct.Struct("<iii4xQ")        # + si_addr
SIGINFO_TIMER = struct.Struct("<iii4xiiQ")      # + si_tid, si_overrun, si_value
SIGINFO_QUEUE = struct.Struct("<iii4xiIQ")      # + si_pid, si_uid, si_value

# struct sigcontext (x86_64), 256 bytes: r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags,
# cs, gs, fs, ss (u16), err, trapno, oldmask, cr2, fpstate pointer, 8 reserved words.
SIGCONTEXT = struct.Struct("<18Q4H5Q64x")
SIGCONTEXT_REGS = ("r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rdi", "rsi", "rbp", "rbx", "rdx",
                   "rax", "rcx", "rsp", "rip", "eflags")
# struct ucontext: uc_flags, uc_link, uc_stack (stack_t), uc_mcontext, uc_sigmask.
UC_FLAGS_OFF, UC_STACK_OFF, UC_MCONTEXT_OFF, UC_SIGMASK_OFF = 0, 16, 40, 296
UCONTEXT_SIZE = 304
FIX_EFLAGS = 0x40DD5   # AC OF DF TF SF ZF AF PF CF RF: the eflags bits sigreturn restores
RT_SIGFRAME_SIZE = 8 + UCONTEXT_SIZE + SIGINFO_SIZE   # pretcode, uc, info
UC_FP_XSTATE = 0x1
UC_SIGCONTEXT_SS = 0x2
UC_STRICT_RESTORE_SS = 0x4
FP_XSTATE_MAGIC1 = 0x46505853
FP_XSTATE_MAGIC2 = 0x46505845
# fpx_sw_bytes, in the software-reserved bytes 464..511 of the fxsave area.
FPX_SW_BYTES = struct.Struct("<IIQI")
FPX_SW_OFFSET = 464
XSTATE_BV_OFFSET = 512                               # the XSAVE header's XSTATE_BV word
# AMX tile data (XSAVE component 18): in the standard format at 2816, 8192 bytes long, the last
# component, wherever a CPU has it. It is dynamic: a process has it only once granted by
# arch_prctl(ARCH_REQ_XCOMP_PERM), which the Sentry does not grant. So Linux's signal frames
# (fpstate->user_size) leave it out, while ptrace's image (the maximum size) holds it.
XFEATURE_XTILEDATA = 18
XTILEDATA_OFFSET = 2816
XTILEDATA_SIZE = 8192

SIG_KERNEL_ONLY = {SIGKILL, SIGSTOP}
STOP_SIGNALS = {SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU}
IGNORE_BY_DEFAULT = {SIGCHLD, SIGURG, SIGWINCH, SIGCONT}
COREDUMP_SIGNALS = {SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU, SIGXFSZ, SIGSYS}
SYNCHRONOUS_SIGNALS = {SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGSYS}

# pidfd_send_signal(2) flags (<linux/pidfd.h>)
PIDFD_SIGNAL_THREAD, PIDFD_SIGNAL_THREAD_GROUP, PIDFD_SIGNAL_PROCESS_GROUP = 1, 2, 4
