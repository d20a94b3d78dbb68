"""seccomp(2) and classic BPF: modes and flags, filter return values, struct seccomp_data offsets,
struct sock_fprog, opcodes."""
import ctypes
import struct

SECCOMP_MODE_FILTER = 2             # prctl(PR_SET_SECCOMP)'s mode
SECCOMP_SET_MODE_FILTER = 1         # seccomp(2)'s operation
SECCOMP_FILTER_FLAG_TSYNC = 1
SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_TRAP = 0x00030000
SECCOMP_RET_ALLOW = 0x7FFF0000
SYS_SECCOMP = 1                     # si_code of the SIGSYS a SECCOMP_RET_TRAP raises
AUDIT_ARCH_X86_64 = 0xC000003E


class SockFprog(ctypes.Structure):   # struct sock_fprog: a filter program for the kernel
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


# struct seccomp_data: nr, arch, instruction_pointer (u64), args[6] (u64)
SD_NR, SD_ARCH, SD_IP_LO, SD_IP_HI = 0, 4, 8, 12


def SD_ARG_LO(i):
    return 16 + 8 * i


BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_JGE_K = 0x35
BPF_RET_K = 0x06
SOCK_FILTER = struct.Struct("<HBBI")    # code, jt, jf, k
SOCK_FPROG = struct.Struct("<H6xQ")     # len, filter pointer

# siginfo of SIGSYS: si_call_addr at 16, si_syscall (int) at 24, si_arch (u32) at 28
SIGSYS_SYSCALL_OFFSET = 24
