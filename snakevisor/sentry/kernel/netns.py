"""Network namespaces inside the sandbox (CLONE_NEWNET): which host namespace a Task's sockets
are made in, and what is per namespace in the Sentry (abstract AF_UNIX names, the sockets
/proc/net lists).

The sandbox's own namespace (``ROOT``) is the Sentry process's: its sockets are made directly.
A new one is a host network namespace made by the broker (sandbox/netns_broker.py), which also
makes every INET and NETLINK socket there and applies the interface changes an application may
make in a namespace it owns (links up or down, addresses, routes); it starts as Linux's do, with
a loopback device that is down. Without a broker (a Sentry that could not have one) a new network
namespace is EPERM.
"""
import socket as _socket
import weakref

from snakevisor.abi.errno import EPERM, SyscallError
from snakevisor.abi.fs import PROC_NS_INODES

_broker = None


def set_broker(client) -> None:
    """The broker's client, given at lock-down (None: none could be made)."""
    global _broker
    _broker = client


class NetNamespace:
    kind = "net"

    def __init__(self, ino, broker_id=None):
        self.ino = ino
        self.broker_id = broker_id   # None: the sandbox's own namespace, the Sentry's
        self.abstract = {}           # abstract AF_UNIX name -> bound UnixSocket
        self.sysctls = {}            # /proc/sys/net values written here: (dir, name) -> text (fsimpl/procfs_sysnet.py)
        self._query = None
        if broker_id is not None:
            weakref.finalize(self, _free, broker_id)

    @classmethod
    def new(cls, ino):
        """A new namespace (unshare/clone CLONE_NEWNET); EPERM without a broker."""
        if _broker is None:
            raise SyscallError(EPERM)
        try:
            return cls(ino, _broker.new_namespace())
        except OSError as e:
            raise SyscallError(e.errno or EPERM)

    def host_socket(self, family, stype, protocol):
        """A non-blocking host socket made in this namespace; None in the sandbox's own (its
        maker makes it directly)."""
        if self.broker_id is None:
            return None
        try:
            fd = _broker.socket(self.broker_id, family, stype | _socket.SOCK_NONBLOCK, protocol)
        except OSError as e:
            raise SyscallError(e.errno or EPERM)
        return _socket.socket(fileno=fd)

    def query_socket(self):
        """A datagram socket of this namespace for interface queries (SIOCGIF*)."""
        if self._query is None:
            sock = self.host_socket(_socket.AF_INET, _socket.SOCK_DGRAM, 0)
            self._query = sock if sock is not None else _socket.socket(
                _socket.AF_INET, _socket.SOCK_DGRAM | _socket.SOCK_CLOEXEC)
        return self._query

    def set_interface_flags(self, ifreq: bytes) -> None:
        """SIOCSIFFLAGS here, for a caller with CAP_NET_ADMIN over it: only in a namespace the
        sandbox made (the sandbox's own stays as the runtime set it up)."""
        if self.broker_id is None:
            raise SyscallError(EPERM)
        result = _broker.set_if_flags(self.broker_id, ifreq)
        if result < 0:
            raise SyscallError(-result)

    def rtnetlink(self, message: bytes) -> bytes:
        """One rtnetlink change request made here (see the broker for which): the host's answers."""
        if self.broker_id is None:
            raise SyscallError(EPERM)
        result, answers = _broker.rtnl(self.broker_id, message)
        if result < 0:
            raise SyscallError(-result)
        return answers


def _free(broker_id):
    if _broker is not None:
        _broker.free(broker_id)


ROOT = NetNamespace(PROC_NS_INODES["net"])


def of_task(t) -> NetNamespace:
    """The network namespace ``t``'s new sockets are made in."""
    ns = getattr(getattr(t, "ns", None), "net", None)
    return ns if ns is not None else ROOT
