"""inet_diag's bytecode filter (INET_DIAG_REQ_BYTECODE): checked before a dump starts, as Linux's
inet_diag_bc_audit (EINVAL for a malformed program, EPERM for a mark test without CAP_NET_ADMIN),
then run on each socket as inet_diag_bc_run. A program is a list of ops {code, yes, no}: each
test goes on ``yes`` bytes if it holds, ``no`` bytes if not; the socket passes if the program
ends exactly at its length."""
import struct

from snakevisor.abi import sock_diag as D
from snakevisor.abi.errno import EINVAL, EPERM, SyscallError

OP = D.INET_DIAG_BC_OP
PORT_OPS = (D.INET_DIAG_BC_S_GE, D.INET_DIAG_BC_S_LE, D.INET_DIAG_BC_D_GE, D.INET_DIAG_BC_D_LE,
            D.INET_DIAG_BC_S_EQ, D.INET_DIAG_BC_D_EQ)
ADDR_LEN = {0: 0, 2: 4, 10: 16}   # AF_UNSPEC, AF_INET, AF_INET6


def _min_len(bc: bytes, off: int, code: int, left: int, net_admin: bool) -> int:
    """How many bytes op ``code`` at ``off`` takes with its operands (EINVAL if they do not fit)."""
    need = OP.size
    if code in (D.INET_DIAG_BC_S_COND, D.INET_DIAG_BC_D_COND):
        need += D.INET_DIAG_HOSTCOND.size
        if left < need:
            raise SyscallError(EINVAL)
        family, prefix_len, _ = D.INET_DIAG_HOSTCOND.unpack_from(bc, off + OP.size)
        if family not in ADDR_LEN or prefix_len > 8 * ADDR_LEN[family]:
            raise SyscallError(EINVAL)
        need += ADDR_LEN[family]
    elif code == D.INET_DIAG_BC_DEV_COND:
        need += 4
    elif code in PORT_OPS:
        need += OP.size   # the port is in a second op's ``no``
    elif code == D.INET_DIAG_BC_MARK_COND:
        if not net_admin:
            raise SyscallError(EPERM)
        need += D.INET_DIAG_MARKCOND.size
    elif code == D.INET_DIAG_BC_CGROUP_COND:
        need += 8
    elif code not in (D.INET_DIAG_BC_AUTO, D.INET_DIAG_BC_JMP, D.INET_DIAG_BC_NOP):
        raise SyscallError(EINVAL)
    if left < need:
        raise SyscallError(EINVAL)
    return need


def _jump_targets(bc: bytes) -> set:
    """The distances before the end that a jump may land on (valid_cc's): those the chain of
    ``yes`` steps from the first op reaches, up to and with the first op whose ``yes`` is bad.
    Walked once, not once a jump: a program of 16,000 ops would otherwise take minutes."""
    targets, left, off = set(), len(bc), 0
    while left >= 0:
        targets.add(left)
        yes = OP.unpack_from(bc, off)[1] if off + OP.size <= len(bc) else 0
        if yes < 4 or yes & 3:
            break
        left, off = left - yes, off + yes
    return targets


def bc_audit(bc: bytes | None, net_admin: bool) -> None:
    if bc is None or len(bc) < OP.size:
        raise SyscallError(EINVAL)
    left, off = len(bc), 0
    targets = _jump_targets(bc)
    while left > 0:
        if left < OP.size:
            raise SyscallError(EINVAL)
        code, yes, no = OP.unpack_from(bc, off)
        need = _min_len(bc, off, code, left, net_admin)
        if code != D.INET_DIAG_BC_NOP:
            if no < need or no > left + 4 or no & 3:
                raise SyscallError(EINVAL)
            if no < left and left - no not in targets:
                raise SyscallError(EINVAL)
        if yes < need or yes > left + 4 or yes & 3:
            raise SyscallError(EINVAL)
        off, left = off + yes, left - yes
    if left != 0:
        raise SyscallError(EINVAL)


def _prefix_match(a: bytes, b: bytes, bits: int) -> bool:
    whole, rest = divmod(bits, 8)
    if a[:whole] != b[:whole]:
        return False
    return not rest or (a[whole] ^ b[whole]) & (0xFF << (8 - rest)) & 0xFF == 0


def _host_cond(bc: bytes, off: int, source: bool, e: dict) -> bool:
    family, prefix_len, port = D.INET_DIAG_HOSTCOND.unpack_from(bc, off + OP.size)
    if port != -1 and port != (e["sport"] if source else e["dport"]):
        return False
    addr = e["saddr"] if source else e["daddr"]
    want = bc[off + OP.size + D.INET_DIAG_HOSTCOND.size:][:ADDR_LEN.get(family, 0)]
    if family not in (0, e["family"]):
        # an IPv4 test matches an IPv6 socket's v4-mapped address
        return family == 2 and e["family"] == 10 and addr[:12] == bytes(10) + b"\xff\xff" and \
            _prefix_match(addr[12:], want, prefix_len)
    return prefix_len == 0 or _prefix_match(addr, want, prefix_len)


def _test(bc: bytes, off: int, code: int, e: dict) -> bool:
    if code == D.INET_DIAG_BC_NOP:
        return True
    if code == D.INET_DIAG_BC_JMP:
        return False
    if code in PORT_OPS:
        port = OP.unpack_from(bc, off + OP.size)[2]
        value = e["sport"] if code in (D.INET_DIAG_BC_S_GE, D.INET_DIAG_BC_S_LE, D.INET_DIAG_BC_S_EQ) else e["dport"]
        return {D.INET_DIAG_BC_S_GE: value >= port, D.INET_DIAG_BC_D_GE: value >= port,
                D.INET_DIAG_BC_S_LE: value <= port, D.INET_DIAG_BC_D_LE: value <= port}.get(code, value == port)
    if code == D.INET_DIAG_BC_AUTO:
        return e["auto"]
    if code in (D.INET_DIAG_BC_S_COND, D.INET_DIAG_BC_D_COND):
        return _host_cond(bc, off, code == D.INET_DIAG_BC_S_COND, e)
    if code == D.INET_DIAG_BC_DEV_COND:
        return struct.unpack_from("<I", bc, off + OP.size)[0] == e["ifindex"]
    if code == D.INET_DIAG_BC_MARK_COND:
        mark, mask = D.INET_DIAG_MARKCOND.unpack_from(bc, off + OP.size)
        return e["mark"] & mask == mark
    return struct.unpack_from("<Q", bc, off + OP.size)[0] == e["cgroup"]   # CGROUP_COND


def bc_run(bc: bytes, e: dict) -> bool:
    """Does the socket described by ``e`` (family, saddr, daddr, sport, dport, ifindex, auto,
    mark, cgroup) pass an audited program?"""
    left, off = len(bc), 0
    while left > 0:
        code, yes, no = OP.unpack_from(bc, off)
        step = yes if _test(bc, off, code, e) else no
        left, off = left - step, off + step
    return left == 0
