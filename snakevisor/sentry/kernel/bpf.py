"""Classic BPF for seccomp: checking a program as Linux does on install, and running it.

``check(raw)`` takes the bytes of ``struct sock_filter[len]`` and returns the program decoded
for ``run``, or raises SyscallError(EINVAL) for anything Linux refuses: its
``bpf_check_classic`` (opcodes it knows, jumps inside the program, constant divisors not 0,
shifts below 32, scratch cells 0..15 stored before they are loaded on every path, a RET last)
then ``seccomp_check_filter`` (only the opcodes seccomp allows; loads 32-bit, aligned, inside
``struct seccomp_data``). ``run(prog, words)`` executes it over seccomp_data as sixteen 32-bit
words. Jumps only go forward, so a run takes at most ``len(prog)`` steps. Pure logic: no kernel
state here (kernel/seccomp.py owns the modes, the filters and the actions).
"""
from snakevisor.abi import seccomp as B
from snakevisor.abi.errno import EINVAL, SyscallError

_MASK = 0xFFFFFFFF

# Decoded operations (small ints, tested most frequent first by run())
(LD_W, JEQ_K, RET_K, JGE_K, JGT_K, JSET_K, ALU_AND_K, JA, LD_IMM, LDX_IMM, LD_MEM, LDX_MEM, ST, STX,
 RET_A, JEQ_X, JGE_X, JGT_X, JSET_X, TAX, TXA, NEG,
 ADD_K, SUB_K, MUL_K, DIV_K, OR_K, XOR_K, LSH_K, RSH_K,
 ADD_X, SUB_X, MUL_X, DIV_X, OR_X, AND_X, XOR_X, LSH_X, RSH_X) = range(39)

# The opcodes seccomp accepts (seccomp_check_filter's list) and what each decodes to.
_ALU = {B.BPF_ADD: (ADD_K, ADD_X), B.BPF_SUB: (SUB_K, SUB_X), B.BPF_MUL: (MUL_K, MUL_X),
        B.BPF_DIV: (DIV_K, DIV_X), B.BPF_AND: (ALU_AND_K, AND_X), B.BPF_OR: (OR_K, OR_X),
        B.BPF_XOR: (XOR_K, XOR_X), B.BPF_LSH: (LSH_K, LSH_X), B.BPF_RSH: (RSH_K, RSH_X)}
_JUMPS = {B.BPF_JEQ: (JEQ_K, JEQ_X), B.BPF_JGE: (JGE_K, JGE_X), B.BPF_JGT: (JGT_K, JGT_X),
          B.BPF_JSET: (JSET_K, JSET_X)}
OPCODES = {
    B.BPF_LD | B.BPF_W | B.BPF_ABS: LD_W,
    B.BPF_LD | B.BPF_W | B.BPF_LEN: LD_IMM,    # seccomp_data's length: rewritten as an immediate
    B.BPF_LDX | B.BPF_W | B.BPF_LEN: LDX_IMM,
    B.BPF_LD | B.BPF_IMM: LD_IMM, B.BPF_LDX | B.BPF_IMM: LDX_IMM,
    B.BPF_LD | B.BPF_MEM: LD_MEM, B.BPF_LDX | B.BPF_MEM: LDX_MEM, B.BPF_ST: ST, B.BPF_STX: STX,
    B.BPF_RET | B.BPF_K: RET_K, B.BPF_RET | B.BPF_A: RET_A,
    B.BPF_MISC | B.BPF_TAX: TAX, B.BPF_MISC | B.BPF_TXA: TXA,
    B.BPF_ALU | B.BPF_NEG: NEG, B.BPF_JMP | B.BPF_JA: JA,
    **{B.BPF_ALU | op | src: pair[i] for op, pair in _ALU.items() for i, src in enumerate((B.BPF_K, B.BPF_X))},
    **{B.BPF_JMP | op | src: pair[i] for op, pair in _JUMPS.items() for i, src in enumerate((B.BPF_K, B.BPF_X))},
}
_CONDITIONAL = {JEQ_K, JGE_K, JGT_K, JSET_K, JEQ_X, JGE_X, JGT_X, JSET_X}
_MEMORY = {LD_MEM, LDX_MEM, ST, STX}


def check(raw):
    """Decode and validate ``raw`` (len(raw) // 8 instructions, 1..BPF_MAXINSNS); EINVAL if Linux
    would refuse it. Returns a tuple of (op, jt, jf, k) for ``run``."""
    n = len(raw) // 8
    if not 0 < n <= B.BPF_MAXINSNS:
        raise SyscallError(EINVAL)
    prog = []
    for pc, (code, jt, jf, k) in enumerate(B.SOCK_FILTER.iter_unpack(raw[:n * 8])):
        op = OPCODES.get(code)
        if op is None:
            raise SyscallError(EINVAL)
        if op == LD_W:
            if k >= B.SECCOMP_DATA_SIZE or k & 3:
                raise SyscallError(EINVAL)
            k >>= 2                                 # run() indexes 32-bit words
        elif code & 0xE0 == B.BPF_LEN and code & 7 in (B.BPF_LD, B.BPF_LDX):
            k = B.SECCOMP_DATA_SIZE
        elif op in (DIV_K,) and k == 0 or op in (LSH_K, RSH_K) and k >= 32:
            raise SyscallError(EINVAL)
        elif op in _MEMORY and k >= B.BPF_MEMWORDS:
            raise SyscallError(EINVAL)
        elif op == JA and k >= n - pc - 1:
            raise SyscallError(EINVAL)
        elif op in _CONDITIONAL and (pc + jt + 1 >= n or pc + jf + 1 >= n):
            raise SyscallError(EINVAL)
        prog.append((op, jt, jf, k))
    if prog[-1][0] not in (RET_K, RET_A):
        raise SyscallError(EINVAL)
    _check_loads_after_stores(prog)
    return tuple(prog)


def linux_length(prog):
    """The length of Linux's translation of ``prog`` to eBPF (bpf_convert_filter), which is what
    its MAX_INSNS_PER_PATH counts: 3 instructions of prologue; RET K and a division by X take 2
    and 5; a conditional jump with a negative 32-bit constant 1 more, and 2 rather than 1 unless
    its false branch is next (or its true branch, for JEQ, JGT and JGE)."""
    n = 3
    for op, jt, jf, k in prog:
        if op == RET_K:
            n += 2
        elif op == DIV_X:
            n += 5
        elif op in _CONDITIONAL:
            n += 1 + (op in (JEQ_K, JGE_K, JGT_K, JSET_K) and k >= 0x80000000)
            n += jf != 0 and not (jt == 0 and op not in (JSET_K, JSET_X))
        else:
            n += 1
    return n


def _check_loads_after_stores(prog):
    """Linux's check_load_and_stores: a scratch cell is loaded only where every path to the load
    stored it first (one bit per cell, 16 cells, merged at each jump's targets)."""
    masks = [0xFFFF] * len(prog)
    valid = 0
    for pc, (op, jt, jf, k) in enumerate(prog):
        valid &= masks[pc]
        if op in (ST, STX):
            valid |= 1 << k
        elif op in (LD_MEM, LDX_MEM):
            if not valid >> k & 1:
                raise SyscallError(EINVAL)
        elif op == JA:
            masks[pc + 1 + k] &= valid
            valid = 0xFFFF
        elif op in _CONDITIONAL:
            masks[pc + 1 + jt] &= valid
            masks[pc + 1 + jf] &= valid
            valid = 0xFFFF


def run(prog, words):  # noqa: C901 (one dispatch on the opcode: the interpreter's inner loop)
    """The program's return value (u32) over ``words`` (seccomp_data as 32-bit words; any object
    indexable by 0..15: one that raises for a word makes the run raise too)."""
    a = x = pc = 0
    mem = None
    while True:
        op, jt, jf, k = prog[pc]
        pc += 1
        if op == LD_W:
            a = words[k]
        elif op == JEQ_K:
            pc += jt if a == k else jf
        elif op == RET_K:
            return k
        elif op == JGE_K:
            pc += jt if a >= k else jf
        elif op == JGT_K:
            pc += jt if a > k else jf
        elif op == JSET_K:
            pc += jt if a & k else jf
        elif op == ALU_AND_K:
            a &= k
        elif op == JA:
            pc += k
        elif op == LD_IMM:
            a = k
        elif op == LDX_IMM:
            x = k
        elif op <= STX:                      # scratch memory: ld/ldx/st/stx M[k]
            if mem is None:
                mem = [0] * B.BPF_MEMWORDS
            if op == LD_MEM:
                a = mem[k]
            elif op == LDX_MEM:
                x = mem[k]
            else:
                mem[k] = a if op == ST else x
        elif op == RET_A:
            return a
        elif op <= JSET_X:
            pc += jt if _compare(op, a, x) else jf
        elif op == TAX:
            x = a
        elif op == TXA:
            a = x
        elif op == DIV_X and x == 0:
            return 0                         # Linux's classic-to-eBPF translation: the program returns 0
        else:
            a = _alu(op, a, k if op <= RSH_K else x)


def _compare(op, a, x):
    if op == JEQ_X:
        return a == x
    if op == JGE_X:
        return a >= x
    if op == JGT_X:
        return a > x
    return a & x


def _alu(op, a, v):
    """The 32-bit ALU (K or X operand already chosen); shifts by X use its low 5 bits, as eBPF's."""
    if op in (ADD_K, ADD_X):
        return (a + v) & _MASK
    if op in (SUB_K, SUB_X):
        return (a - v) & _MASK
    if op in (MUL_K, MUL_X):
        return (a * v) & _MASK
    if op in (DIV_K, DIV_X):
        return a // v
    if op in (OR_K, OR_X):
        return a | v
    if op == AND_X:
        return a & v
    if op in (XOR_K, XOR_X):
        return a ^ v
    if op in (LSH_K, LSH_X):
        return (a << (v & 31)) & _MASK
    if op in (RSH_K, RSH_X):
        return a >> (v & 31)
    return -a & _MASK                        # NEG
