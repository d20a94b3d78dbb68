"""NUMA memory policy: get_mempolicy, set_mempolicy, mbind, migrate_pages, move_pages,
set_mempolicy_home_node, for a machine of one node (node 0), as the sandbox presents itself.

Policies are validated as Linux validates them and the policy is remembered (per process here,
per thread in Linux) and reported back; with one node every policy places memory in the same place, so nothing else
changes. Per-range policies (mbind) are validated, not remembered.
"""
import struct

from snakevisor.abi.capability import CAP_SYS_NICE
from snakevisor.abi.errno import EFAULT, EINVAL, ENOENT, EPERM, SyscallError
from snakevisor.abi.fs import to_s32
from snakevisor.abi.mm import (MPOL_DEFAULT, MPOL_F_ADDR, MPOL_F_MEMS_ALLOWED, MPOL_F_NODE, MPOL_F_RELATIVE_NODES,
                               MPOL_F_STATIC_NODES, MPOL_INTERLEAVE, MPOL_LOCAL, MPOL_MF_MOVE, MPOL_MF_MOVE_ALL,
                               MPOL_MF_STRICT, MPOL_MODE_FLAGS, MAX_NUMNODES, MPOL_PREFERRED, MPOL_WEIGHTED_INTERLEAVE)
from snakevisor.sentry.mm.memoryfile import PAGE_SIZE
from snakevisor.sentry.kernel.creds import ptrace_target

NR_NODE_IDS = 1
CHUNK = 1024
CHUNKS_PER_TURN = 16


def _read_nodemask(t, addr, maxnode):
    """get_nodes: the set bits of a user nodemask of ``maxnode`` - 1 bits (EINVAL past the limit;
    the count is unsigned, so a mask of maxnode 0 is one of 2**64 - 1 bits: EINVAL too)."""
    maxnode = (maxnode - 1) & 0xFFFFFFFFFFFFFFFF
    if not addr or maxnode == 0:
        return 0
    if maxnode > PAGE_SIZE * 8:
        raise SyscallError(EINVAL)
    nbytes = (maxnode + 63) // 64 * 8
    mask = int.from_bytes(t.mm.copy_in(addr, nbytes), "little") & ((1 << maxnode) - 1)
    if mask >> MAX_NUMNODES:
        raise SyscallError(EINVAL)
    return mask


def _check_policy(mode, nodes):
    """mpol_new's rules for one node: which modes need, allow or refuse a node set."""
    flags, mode = mode & MPOL_MODE_FLAGS, mode & ~MPOL_MODE_FLAGS
    if mode > MPOL_WEIGHTED_INTERLEAVE or flags & MPOL_F_STATIC_NODES and flags & MPOL_F_RELATIVE_NODES:
        raise SyscallError(EINVAL)
    if mode in (MPOL_DEFAULT, MPOL_LOCAL):
        if nodes or flags:
            raise SyscallError(EINVAL)
        return mode
    if mode == MPOL_PREFERRED and not nodes:
        if flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES):
            raise SyscallError(EINVAL)
        return MPOL_LOCAL
    if not nodes & ((1 << NR_NODE_IDS) - 1) and not flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES):
        raise SyscallError(EINVAL)
    return mode | flags


def _copy_nodes_out(t, addr, maxnode, nodes):
    """get_mempolicy has checked ``maxnode`` against NR_NODE_IDS before anything else."""
    nbytes = ((maxnode - 1 + 63) // 64) * 8
    if nbytes > PAGE_SIZE:
        raise SyscallError(EINVAL)
    if nbytes:
        t.mm.copy_out(addr, nodes.to_bytes(nbytes, "little"))


def get_mempolicy(t, mode_addr, nmask_addr, maxnode, addr, flags):
    if flags & ~(MPOL_F_NODE | MPOL_F_ADDR | MPOL_F_MEMS_ALLOWED):
        raise SyscallError(EINVAL)
    if nmask_addr and maxnode < NR_NODE_IDS:
        raise SyscallError(EINVAL)
    policy, nodes = t.tg.mempolicy
    if flags & MPOL_F_MEMS_ALLOWED:
        if flags & (MPOL_F_NODE | MPOL_F_ADDR):
            raise SyscallError(EINVAL)
        value, nodes = 0, 1
    elif flags & MPOL_F_ADDR:
        if t.mm.vmas.find(addr) is None:
            raise SyscallError(EFAULT)
        value = 0 if flags & MPOL_F_NODE else MPOL_DEFAULT     # node 0 holds every page
        nodes = 0
    elif addr:
        raise SyscallError(EINVAL)
    elif flags & MPOL_F_NODE:
        if policy & ~MPOL_MODE_FLAGS != MPOL_INTERLEAVE:
            raise SyscallError(EINVAL)
        value = 0
    else:
        value = policy
    if mode_addr:
        t.mm.copy_out(mode_addr, struct.pack("<i", value))
    if nmask_addr:
        _copy_nodes_out(t, nmask_addr, maxnode, nodes)
    return 0


def set_mempolicy(t, mode, nmask_addr, maxnode):
    mode = to_s32(mode)
    if mode < 0:
        raise SyscallError(EINVAL)
    nodes = _read_nodemask(t, nmask_addr, maxnode)
    policy = _check_policy(mode, nodes)
    t.tg.mempolicy = (policy, 0 if policy & ~MPOL_MODE_FLAGS in (MPOL_DEFAULT, MPOL_LOCAL) else nodes)
    return 0


def mbind(t, start, length, mode, nmask_addr, maxnode, flags):
    mode = to_s32(mode)
    if flags & ~(MPOL_MF_STRICT | MPOL_MF_MOVE | MPOL_MF_MOVE_ALL) or mode < 0:
        raise SyscallError(EINVAL)
    if flags & MPOL_MF_MOVE_ALL and not t.creds.has_cap(CAP_SYS_NICE):
        raise SyscallError(EPERM)   # moving pages other processes share too is privileged
    if start & (PAGE_SIZE - 1):
        raise SyscallError(EINVAL)
    end = start + ((length + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
    if end < start:
        raise SyscallError(EINVAL)
    nodes = _read_nodemask(t, nmask_addr, maxnode)
    _check_policy(mode, nodes)
    if end > start:
        covered, pos = t.mm.vmas.overlapping(start, end), start
        for v in covered:
            if v.start > pos:
                break
            pos = v.end
        if pos < end:
            raise SyscallError(EFAULT)
    return 0


def migrate_pages(t, pid, maxnode, old_addr, new_addr):
    _read_nodemask(t, old_addr, maxnode)
    _read_nodemask(t, new_addr, maxnode)
    pid = to_s32(pid)
    if pid:
        ptrace_target(t, pid)
    return 0            # nothing could not be moved: one node


def move_pages(t, pid, count, pages, nodes, status, flags):
    if flags & ~(MPOL_MF_MOVE | MPOL_MF_MOVE_ALL):
        raise SyscallError(EINVAL)
    pid = to_s32(pid)
    target = t if not pid else ptrace_target(t, pid)
    for first in range(0, count, CHUNK):    # bounded work per step, as Linux's chunks
        if first and not first % (CHUNK * CHUNKS_PER_TURN):
            # ``count`` is bounded only by the memory the arrays span: let other tasks run (and
            # a signal end the call) rather than hold the Sentry for as long as it asks.
            yield from t.sleep_until(t.kernel.monotonic())
        n = min(CHUNK, count - first)
        addrs = struct.unpack(f"<{n}Q", t.mm.copy_in(pages + 8 * first, 8 * n))
        wanted = struct.unpack(f"<{n}i", t.mm.copy_in(nodes + 4 * first, 4 * n)) if nodes else None
        out = []
        for i, a in enumerate(addrs):
            if wanted is not None and wanted[i] != 0:
                raise SyscallError(ENOENT if 0 < wanted[i] < MAX_NUMNODES else EINVAL)
            out.append(0 if target.mm.vmas.find(a) is not None else -EFAULT)
        if status:
            t.mm.copy_out(status + 4 * first, struct.pack(f"<{n}i", *out))
    return 0


def set_mempolicy_home_node(t, start, length, home_node, flags):
    if flags or start & (PAGE_SIZE - 1) or to_s32(home_node) < 0 or to_s32(home_node) >= NR_NODE_IDS:
        raise SyscallError(EINVAL)
    return 0
