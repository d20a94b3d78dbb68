"""ptrace(2) requests, options and the x86_64 user_regs_struct layout."""
import ctypes
import struct

PTRACE_TRACEME = 0
PTRACE_PEEKTEXT = 1
PTRACE_PEEKDATA = 2
PTRACE_PEEKUSER = 3
PTRACE_POKETEXT = 4
PTRACE_POKEDATA = 5
PTRACE_POKEUSER = 6
PTRACE_CONT = 7
PTRACE_KILL = 8
PTRACE_SINGLESTEP = 9
PTRACE_GETREGS = 12
PTRACE_SETREGS = 13
PTRACE_GETFPREGS = 14
PTRACE_SETFPREGS = 15
PTRACE_ATTACH = 16
PTRACE_DETACH = 17
PTRACE_SYSCALL = 24
PTRACE_SYSEMU = 31
PTRACE_SYSEMU_SINGLESTEP = 32
PTRACE_SETOPTIONS = 0x4200
PTRACE_GETEVENTMSG = 0x4201
PTRACE_GETSIGINFO = 0x4202
PTRACE_SETSIGINFO = 0x4203
PTRACE_GETREGSET = 0x4204
PTRACE_SETREGSET = 0x4205
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
PTRACE_LISTEN = 0x4208
PTRACE_GETSIGMASK, PTRACE_SETSIGMASK = 0x420A, 0x420B
PTRACE_GET_SYSCALL_INFO = 0x420E
PTRACE_SECCOMP_GET_FILTER, PTRACE_SECCOMP_GET_METADATA = 0x420C, 0x420D

# The 64-bit user-mode segment selectors (__USER_CS, __USER_DS: RPL 3).
USER_CS = 0x33
USER_DS = 0x2B
USER32_CS = 0x23   # __USER32_CS: compatibility mode (32-bit code)
SEGMENT_RPL_USER = 3

PTRACE_O_TRACESYSGOOD = 0x01
PTRACE_O_TRACEFORK = 0x02
PTRACE_O_TRACEVFORK = 0x04
PTRACE_O_TRACECLONE = 0x08
PTRACE_O_TRACEEXEC = 0x10
PTRACE_O_TRACEVFORKDONE = 0x20
PTRACE_O_TRACEEXIT = 0x40
PTRACE_O_TRACESECCOMP = 0x80
PTRACE_O_EXITKILL = 0x100000
PTRACE_O_SUSPEND_SECCOMP = 0x200000
PTRACE_O_MASK = 0x000000FF | PTRACE_O_EXITKILL | PTRACE_O_SUSPEND_SECCOMP

PTRACE_EVENT_FORK = 1
PTRACE_EVENT_VFORK = 2
PTRACE_EVENT_CLONE = 3
PTRACE_EVENT_EXEC = 4
PTRACE_EVENT_VFORK_DONE = 5
PTRACE_EVENT_EXIT = 6
PTRACE_EVENT_SECCOMP = 7
PTRACE_EVENT_STOP = 128

NT_PRSTATUS = 1
NT_PRFPREG = 2
NT_X86_XSTATE = 0x202

# PTRACE_GET_SYSCALL_INFO: struct ptrace_syscall_info (op, arch, ip, sp, then the op's union).
PTRACE_SYSCALL_INFO_NONE, PTRACE_SYSCALL_INFO_ENTRY, PTRACE_SYSCALL_INFO_EXIT = 0, 1, 2
AUDIT_ARCH_X86_64 = 0xC000003E
SYSCALL_INFO_HEAD = struct.Struct("<B3xIQQ")
SYSCALL_INFO_ENTRY = struct.Struct("<Q6Q")          # nr, args[6]
SYSCALL_INFO_EXIT = struct.Struct("<qB")            # rval, is_error (size 33 with the head)
# PTRACE_GETEVENTMSG at a syscall stop: which one it is (PTRACE_EVENTMSG_SYSCALL_*).
EVENTMSG_SYSCALL_ENTRY, EVENTMSG_SYSCALL_EXIT = 1, 2

# struct user (x86_64): where PEEKUSER/POKEUSER offsets land.
USER_REGS_SIZE = 27 * 8
USER_DEBUGREG_OFFSET = 848                           # u_debugreg[8]: DR0-DR7, the last member
USER_SIZE = 912
FPREGS_SIZE = 512                                    # struct user_fpregs_struct (FXSAVE)
XSTATE_XCR0_OFFSET = 464   # PTRACE_GETREGSET(NT_X86_XSTATE) puts XCR0 here (the software bytes; gdb reads it)
IOVEC = struct.Struct("<QQ")
UIO_MAXIOV = 1024

REG_NAMES = ("r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx",
             "rsi", "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base",
             "ds", "es", "fs", "gs")


class RegsCopy:
    """copy() and copy_from() for a ctypes register structure (a platform's regs)."""

    def copy(self):
        other = type(self)()
        ctypes.memmove(ctypes.byref(other), ctypes.byref(self), ctypes.sizeof(self))
        return other

    def copy_from(self, other):
        ctypes.memmove(ctypes.byref(self), ctypes.byref(other), ctypes.sizeof(self))


class UserRegs(ctypes.Structure, RegsCopy):
    """struct user_regs_struct (x86_64), as PTRACE_GETREGS fills it."""
    _fields_ = [(name, ctypes.c_uint64) for name in REG_NAMES]


# Byte offsets into struct user (regs come first) for PTRACE_POKEUSER.
REG_OFFSET = {name: 8 * i for i, name in enumerate(REG_NAMES)}


# x86 debug registers (asm/debugreg.h, asm/hw_breakpoint.h): DR0-DR3 hold addresses, DR6 the
# status (Linux keeps it "positive": DR6_RESERVED flipped), DR7 the control.
HBP_NUM = 4
DR_STATUS, DR_CONTROL = 6, 7
DR_TRAP_BITS = 0xF                  # DR6: which of DR0-DR3 triggered
DR_STEP = 0x4000                    # DR6: a single step (TF)
DR6_RESERVED = 0xFFFF0FF0
DR_CONTROL_RESERVED = 0xFFFFFFFF0000FC00
DR_CONTROL_SHIFT, DR_CONTROL_SIZE, DR_ENABLE_SIZE = 16, 4, 2
# Linux's encoding of a DR7 field: LEN bits | 0x40, R/W bits | 0x80 (arch_bp_generic_fields).
X86_BREAKPOINT_LEN_X = X86_BREAKPOINT_LEN_1 = 0x40
X86_BREAKPOINT_LEN_2, X86_BREAKPOINT_LEN_4, X86_BREAKPOINT_LEN_8 = 0x44, 0x4C, 0x48
X86_BREAKPOINT_EXECUTE, X86_BREAKPOINT_WRITE, X86_BREAKPOINT_RW = 0x80, 0x81, 0x83
BREAKPOINT_LENGTH = {X86_BREAKPOINT_LEN_1: 1, X86_BREAKPOINT_LEN_2: 2, X86_BREAKPOINT_LEN_4: 4,
                     X86_BREAKPOINT_LEN_8: 8}


def breakpoint_length(x86_len, x86_type):
    """The bytes a breakpoint covers: 1 for an execute one (LEN_X), else its length."""
    return 1 if x86_type == X86_BREAKPOINT_EXECUTE else BREAKPOINT_LENGTH[x86_len]


def debugreg_offset(n):
    """PEEKUSER/POKEUSER's offset of DRn: offsetof(struct user, u_debugreg[n])."""
    return USER_DEBUGREG_OFFSET + 8 * n


def dr7_field(n, x86_len, x86_type):
    """DR7's local-enable bit and R/W+LEN field for breakpoint ``n`` (Linux's __encode_dr7, local)."""
    return ((x86_len | x86_type) & 0xF) << (DR_CONTROL_SHIFT + n * DR_CONTROL_SIZE) | 1 << (n * DR_ENABLE_SIZE)
