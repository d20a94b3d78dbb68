"""Netlink port ids (per protocol, as Linux's per-protocol tables) and sockaddr_nl, for the
Sentry's netlink sockets (net/netlink.py, net/sock_diag.py)."""
import itertools

from snakevisor.abi import netlink as NL
from snakevisor.abi import socket as S
from snakevisor.abi.errno import EADDRINUSE, EINVAL, SyscallError
from snakevisor.sentry.net.unix import task_creds

_ports_in_use: dict[int, set] = {}   # protocol -> the port ids its sockets hold (each protocol has its own)
_negative_ports = itertools.count(4096)


def _pick_port(t, in_use) -> int:
    """Linux's autobind: the tgid for a process's first socket, then -4096, -4097, ... (as u32)."""
    creds = task_creds(t)
    tgid = creds[0] if creds else 0
    if tgid and tgid not in in_use:
        return tgid
    while True:
        port = (-next(_negative_ports)) & 0xFFFFFFFF
        if port not in in_use:
            return port


def claim_port(t, protocol: int, pid: int = 0) -> int:
    """A port id for a socket of ``protocol``: ``pid`` (EADDRINUSE if taken) or an autobound one."""
    in_use = _ports_in_use.setdefault(protocol, set())
    if pid and pid in in_use:
        raise SyscallError(EADDRINUSE)
    port = pid or _pick_port(t, in_use)
    in_use.add(port)
    return port


def release_port(protocol: int, port: int) -> None:
    _ports_in_use.get(protocol, set()).discard(port)


def parse_sockaddr_nl(addr: bytes):
    """(pid, groups) of a sockaddr_nl."""
    if len(addr) < NL.SOCKADDR_NL.size:
        raise SyscallError(EINVAL)
    family, _, pid, groups = NL.SOCKADDR_NL.unpack_from(addr)
    if family != S.AF_NETLINK:
        raise SyscallError(EINVAL)
    return pid, groups
