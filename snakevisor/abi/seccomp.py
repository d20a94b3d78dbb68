"""seccomp(2) and classic BPF: modes and flags, filter return values, struct seccomp_data offsets,
struct sock_fprog, opcodes (<linux/seccomp.h>, <linux/filter.h>, <linux/bpf_common.h>)."""
import ctypes
import struct

# Modes (prctl(PR_SET_SECCOMP)'s argument; /proc/PID/status's Seccomp:)
SECCOMP_MODE_DISABLED, SECCOMP_MODE_STRICT, SECCOMP_MODE_FILTER = 0, 1, 2
# seccomp(2)'s operations
SECCOMP_SET_MODE_STRICT, SECCOMP_SET_MODE_FILTER, SECCOMP_GET_ACTION_AVAIL, SECCOMP_GET_NOTIF_SIZES = 0, 1, 2, 3
# SECCOMP_SET_MODE_FILTER's flags
SECCOMP_FILTER_FLAG_TSYNC = 1
SECCOMP_FILTER_FLAG_LOG = 2
SECCOMP_FILTER_FLAG_SPEC_ALLOW = 4
SECCOMP_FILTER_FLAG_NEW_LISTENER = 8
SECCOMP_FILTER_FLAG_TSYNC_ESRCH = 16
SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV = 32
SECCOMP_FILTER_FLAG_MASK = 63
# Filter return values: the action in the high 16 bits (compared as a signed 32-bit int: the lowest
# wins), the data in the low 16
SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_KILL_THREAD = 0x00000000
SECCOMP_RET_TRAP = 0x00030000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_USER_NOTIF = 0x7FC00000
SECCOMP_RET_TRACE = 0x7FF00000
SECCOMP_RET_LOG = 0x7FFC0000
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ACTION_FULL = 0xFFFF0000
SECCOMP_RET_DATA = 0x0000FFFF
KNOWN_ACTIONS = (SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_KILL_THREAD, SECCOMP_RET_TRAP, SECCOMP_RET_ERRNO,
                 SECCOMP_RET_USER_NOTIF, SECCOMP_RET_TRACE, SECCOMP_RET_LOG, SECCOMP_RET_ALLOW)
MAX_ERRNO = 4095                    # ERRNO's data is capped there
MAX_INSNS_PER_PATH = 32768          # all of a task's filters, each counting 4 more (ENOMEM past it)
FILTER_PENALTY_INSNS = 4
SYS_SECCOMP = 1                     # si_code of the SIGSYS a SECCOMP_RET_TRAP raises
SYS_USER_DISPATCH = 2               # ... and of the one syscall user dispatch raises
AUDIT_ARCH_X86_64 = 0xC000003E
# The syscalls strict mode allows (x86_64: read, write, exit, rt_sigreturn)
STRICT_MODE_SYSCALLS = frozenset((0, 1, 60, 15))
# User notification: struct seccomp_notif_sizes (seccomp_notif, seccomp_notif_resp, seccomp_data);
# struct seccomp_notif (id, pid, flags, data); struct seccomp_notif_resp (id, val, error, flags);
# struct seccomp_notif_addfd (id, flags, srcfd, newfd, newfd_flags); the listener's ioctls
SECCOMP_NOTIF_SIZES = struct.Struct("<HHH")
SECCOMP_NOTIF = struct.Struct("<QII64s")
SECCOMP_NOTIF_RESP = struct.Struct("<QqiI")
SECCOMP_NOTIF_ADDFD = struct.Struct("<QIIII")
SECCOMP_NOTIF_SIZE, SECCOMP_NOTIF_RESP_SIZE = SECCOMP_NOTIF.size, SECCOMP_NOTIF_RESP.size
SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1
SECCOMP_ADDFD_FLAG_SETFD, SECCOMP_ADDFD_FLAG_SEND = 1, 2
SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP = 1
SECCOMP_IOCTL_NOTIF_RECV = 0xC0502100        # _IOWR('!', 0, struct seccomp_notif)
SECCOMP_IOCTL_NOTIF_SEND = 0xC0182101        # _IOWR('!', 1, struct seccomp_notif_resp)
SECCOMP_IOCTL_NOTIF_ID_VALID = 0x40082102    # _IOW('!', 2, __u64)
SECCOMP_IOCTL_NOTIF_ID_VALID_WRONG_DIR = 0x80082102   # its first, wrong, definition: still accepted
SECCOMP_IOCTL_NOTIF_SET_FLAGS = 0x40082104   # _IOW('!', 4, __u64)
SECCOMP_IOCTL_NOTIF_ADDFD_NR = 0x2103         # _IOW('!', 3, ...) with the struct's size left out:
                                              # the size may grow (an extensible-argument ioctl)


class SockFprog(ctypes.Structure):   # struct sock_fprog: a filter program for the kernel
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


# struct seccomp_data: nr (int, packed from its 32 bits), arch, instruction_pointer (u64), args[6] (u64)
SECCOMP_DATA = struct.Struct("<IIQ6Q")
SECCOMP_DATA_WORDS = struct.Struct("<16I")   # the same 64 bytes as BPF loads see them
SECCOMP_DATA_SIZE = SECCOMP_DATA.size   # 64
SD_NR, SD_ARCH, SD_IP_LO, SD_IP_HI = 0, 4, 8, 12


def SD_ARG_LO(i):
    return 16 + 8 * i


# Classic BPF: an opcode is class | size | mode (loads, stores) or class | op | source (ALU, jumps)
BPF_LD, BPF_LDX, BPF_ST, BPF_STX, BPF_ALU, BPF_JMP, BPF_RET, BPF_MISC = range(8)
BPF_W, BPF_H, BPF_B = 0x00, 0x08, 0x10
BPF_IMM, BPF_ABS, BPF_IND, BPF_MEM, BPF_LEN, BPF_MSH = 0x00, 0x20, 0x40, 0x60, 0x80, 0xA0
BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND, BPF_LSH, BPF_RSH, BPF_NEG, BPF_MOD, BPF_XOR = (
    0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xA0)
BPF_JA, BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET = 0x00, 0x10, 0x20, 0x30, 0x40
BPF_K, BPF_X, BPF_A = 0x00, 0x08, 0x10
BPF_TAX, BPF_TXA = 0x00, 0x80
BPF_MAXINSNS = 4096
BPF_MEMWORDS = 16
SKF_AD_OFF = -0x1000 & 0xFFFFFFFF      # ancillary loads (sockets only: refused by seccomp)

BPF_LD_W_ABS = BPF_LD | BPF_W | BPF_ABS
BPF_JEQ_K = BPF_JMP | BPF_JEQ | BPF_K
BPF_JGE_K = BPF_JMP | BPF_JGE | BPF_K
BPF_RET_K = BPF_RET | BPF_K
SOCK_FILTER = struct.Struct("<HBBI")    # code, jt, jf, k
SOCK_FPROG = struct.Struct("<H6xQ")     # len, filter pointer

# siginfo of SIGSYS: si_call_addr at 16, si_syscall (int) at 24, si_arch (u32) at 28
SIGSYS_SYSCALL_OFFSET = 24
SIGINFO_SYS = struct.Struct("<iii4xQiI")   # si_signo, si_errno, si_code, si_call_addr, si_syscall, si_arch
