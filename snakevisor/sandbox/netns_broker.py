"""The network-namespace broker: the one process that may make host network namespaces for the
sandbox, so that the Sentry itself never holds CAP_SYS_ADMIN.

An application's socket is a host socket of the Sentry (sentry/net/inet.py), and a socket belongs
to the network namespace its maker was in when it made it. A Task in a network namespace of its
own (unshare(CLONE_NEWNET), clone, setns) therefore needs its sockets made in a host namespace
that is not the Sentry's, which takes privilege the locked-down Sentry does not have. The broker
is forked at lock-down, after the empty root is in place (so it shares it) and before the
capabilities go: it keeps CAP_SYS_ADMIN and CAP_NET_ADMIN only, no_new_privs, closes every
descriptor but its socketpair, dies with the Sentry, and runs under its own seccomp whitelist
(sockets of three families, setns/unshare of network namespaces only, three ioctls).

It answers fixed-size requests on its socketpair, one at a time:

- NEW: a new network namespace (unshare, then SIOCGSKNS on a socket made there keeps a
  descriptor of it); its id;
- SOCKET(ns, family, type, protocol): a socket made in namespace ``ns`` (setns there and back),
  passed with SCM_RIGHTS;
- IFFLAGS(ns, ifreq): SIOCSIFFLAGS in that namespace (``ip link set lo up`` by ioctl);
- RTNL(ns, message): one rtnetlink request sent from the broker's socket in that namespace, its
  answers returned; only changes of links' flags and MTU, addresses and routes are taken, never
  one that names another namespace or makes a device (a veth with a peer elsewhere would reach
  the host's network);
- FREE(ns): the namespace is no longer used.

Only namespaces the broker made are ever named: the sandbox's own (where the broker starts) is
never changed through it. Everything the Sentry sends is checked as if it were hostile: a request
it cannot parse closes the connection, and the broker exits.
"""
import ctypes
import fcntl
import os
import signal
import socket
import struct

from snakevisor.abi import netlink as NL
from snakevisor.abi.capability import CAP_NET_ADMIN, CAP_SYS_ADMIN
from snakevisor.abi.prctl import PR_SET_NAME
from snakevisor.abi.sched import CLONE_NEWNET

NEW, SOCKET, IFFLAGS, RTNL, FREE = 1, 2, 3, 4, 5
REQUEST = struct.Struct("<IIiii")        # op, namespace id, three integers
REPLY = struct.Struct("<iI")             # result (>= 0) or -errno, payload length
MAX_PAYLOAD = 32768
MAX_NAMESPACES = 256
SIOCGSKNS = 0x894C
BROKER_CAPS = (CAP_SYS_ADMIN, CAP_NET_ADMIN)
FAMILIES = (socket.AF_INET, socket.AF_INET6, socket.AF_NETLINK)

# rtnetlink requests an application may make in its own namespace (RTM_NEWLINK only to change an
# existing link, see _rtnl_allowed).
_RTNL_CHANGES = (NL.RTM_NEWLINK, NL.RTM_SETLINK, NL.RTM_NEWADDR, NL.RTM_DELADDR, NL.RTM_NEWROUTE, NL.RTM_DELROUTE)
_LINK_ATTRS_ALLOWED = (NL.IFLA_MTU, NL.IFLA_IFNAME)
_NLM_F_CREATE = 0x400


class BrokerError(OSError):
    pass


def seccomp_filter():
    """The broker's whitelist (built before the pivot: it opens libseccomp)."""
    from snakevisor.seccomp import filter as seccomp
    return seccomp.build_whitelist(BROKER_SYSCALLS, BROKER_ARG_RULES, default=seccomp.KILL)


def start(bpf):
    """Fork the broker under ``bpf`` (seccomp_filter's; call with the root already empty and
    capabilities not yet cut); the client side for the Sentry. None where the broker cannot have
    its privileges (a Sentry without CAP_SYS_ADMIN: then new network namespaces are EPERM)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        try:
            ours.close()
            from snakevisor.hostos.libc import prctl
            prctl(PR_SET_NAME, b"sv-netns", 0, 0, 0)   # for ps: the Sentry's helper, not the Sentry
            _serve(theirs, bpf)
        finally:
            os._exit(0)
    theirs.close()
    return BrokerClient(ours, pid)


class BrokerClient:
    """The Sentry's end: blocking requests (each a few host syscalls in the broker)."""

    def __init__(self, sock, pid):
        self.sock = sock
        self.pid = pid

    def _call(self, op, ns=0, a=0, b=0, c=0, payload=b""):
        try:
            self.sock.sendmsg([REQUEST.pack(op, ns, a, b, c) + payload])
            data, fds, _, _ = socket.recv_fds(self.sock, REPLY.size + MAX_PAYLOAD, 1)
        except OSError as e:
            raise BrokerError(e.errno, "the network namespace broker is gone")
        if len(data) < REPLY.size:
            for fd in fds:
                os.close(fd)
            raise BrokerError(0, "the network namespace broker is gone")
        result, length = REPLY.unpack_from(data)
        return result, data[REPLY.size:REPLY.size + length], (fds[0] if fds else None)

    def new_namespace(self):
        """A new namespace's id; raises OSError(errno) if the host refuses."""
        result, _, _ = self._call(NEW)
        if result < 0:
            raise OSError(-result, os.strerror(-result))
        return result

    def socket(self, ns, family, stype, protocol):
        result, _, fd = self._call(SOCKET, ns, family, stype, protocol)
        if result < 0:
            raise OSError(-result, os.strerror(-result))
        return fd

    def set_if_flags(self, ns, ifreq):
        result, _, _ = self._call(IFFLAGS, ns, payload=ifreq[:NL.IFREQ_SIZE])
        return result

    def rtnl(self, ns, message):
        """(0 or -errno, the host's answers) for one rtnetlink request in namespace ``ns``."""
        result, answer, _ = self._call(RTNL, ns, payload=message[:MAX_PAYLOAD - 64])
        return result, answer

    def free(self, ns):
        try:
            self._call(FREE, ns)
        except BrokerError:
            pass


# --- the broker process ------------------------------------------------------------------------

def _serve(sock, bpf):
    from snakevisor.hostos.libc import close_fds_except, die_with_parent, libc
    from snakevisor.hostos.setup import drop_capabilities
    from snakevisor.seccomp import filter as seccomp
    die_with_parent()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGTSTP, signal.SIGCHLD,
                signal.SIGPIPE, signal.SIGWINCH, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, signal.SIG_IGN)   # the Sentry's handlers are not the broker's
    os.setsid()   # no terminal: ^C reaches the Sentry, never the broker
    close_fds_except({sock.fileno()})
    home = _namespace_fd()
    broker = _Broker(libc, home)
    drop_capabilities(BROKER_CAPS)
    seccomp.load(bpf)
    while True:
        try:
            data = sock.recv(REQUEST.size + MAX_PAYLOAD)
        except OSError:
            return
        if len(data) < REQUEST.size:
            return   # the Sentry is gone (or sent what no client sends)
        op, ns, a, b, c = REQUEST.unpack_from(data)
        try:
            result, payload, fd = broker.handle(op, ns, a, b, c, data[REQUEST.size:])
        except OSError as e:
            result, payload, fd = -(e.errno or 22), b"", None
        reply = [REPLY.pack(result, len(payload)) + payload]
        try:
            if fd is not None:
                socket.send_fds(sock, reply, [fd])
                os.close(fd)
            else:
                sock.sendmsg(reply)
        except OSError:
            return


def _namespace_fd():
    """A descriptor of the calling thread's network namespace (SIOCGSKNS on a socket made now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
        return fcntl.ioctl(s.fileno(), SIOCGSKNS)


class _Broker:
    def __init__(self, libc, home):
        self.libc = libc
        self.home = home
        self.namespaces = {}     # id -> namespace descriptor
        self.rtnl_sockets = {}   # id -> the broker's NETLINK_ROUTE socket there
        self.next_id = 1

    def handle(self, op, ns, a, b, c, payload):
        if op == NEW:
            return self._new(), b"", None
        if ns not in self.namespaces:
            raise OSError(22, "no such namespace")
        if op == SOCKET:
            if a not in FAMILIES:
                raise OSError(97, "family")   # EAFNOSUPPORT
            return 0, b"", self._in(ns, lambda: os.dup(socket.socket(a, b | socket.SOCK_CLOEXEC, c).detach()))
        if op == IFFLAGS:
            return self._if_flags(ns, payload), b"", None
        if op == RTNL:
            return self._rtnl(ns, payload)
        if op == FREE:
            os.close(self.namespaces.pop(ns))
            s = self.rtnl_sockets.pop(ns, None)
            if s is not None:
                s.close()
            return 0, b"", None
        raise OSError(22, "unknown request")

    def _new(self):
        if len(self.namespaces) >= MAX_NAMESPACES:
            raise OSError(28, "too many namespaces")   # ENOSPC, as a full user namespace's count
        if self.libc.unshare(CLONE_NEWNET) != 0:
            raise OSError(_errno(), "unshare")
        try:
            fd = _namespace_fd()
        finally:
            self._enter(self.home)
        ns, self.next_id = self.next_id, self.next_id + 1
        self.namespaces[ns] = fd
        return ns

    def _enter(self, fd):
        if self.libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(_errno(), "setns")

    def _in(self, ns, make):
        """``make()`` run with the broker in namespace ``ns``."""
        self._enter(self.namespaces[ns])
        try:
            return make()
        finally:
            self._enter(self.home)

    def _if_flags(self, ns, ifreq):
        if len(ifreq) < NL.IFREQ_SIZE:
            raise OSError(14, "short ifreq")   # EFAULT
        name, flags = NL.IFREQ_FLAGS.unpack_from(ifreq)

        def apply():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
                fcntl.ioctl(s.fileno(), NL.SIOCSIFFLAGS, NL.IFREQ_FLAGS.pack(name, flags))
        self._in(ns, apply)
        return 0

    def _rtnl(self, ns, message):
        if not _rtnl_allowed(message):
            raise OSError(1, "not an allowed rtnetlink request")   # EPERM
        s = self.rtnl_sockets.get(ns)
        if s is None:
            s = self._in(ns, lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                                                   NL.NETLINK_ROUTE))
            s.bind((0, 0))
            self.rtnl_sockets[ns] = s
        s.send(message)
        answers = b""
        while len(answers) < MAX_PAYLOAD - 8192:
            chunk = s.recv(8192)
            answers += chunk
            kinds = [t for t, _ in _messages(chunk)]
            if not kinds or NL.NLMSG_ERROR in kinds or NL.NLMSG_DONE in kinds:
                break
        return 0, answers, None


def _errno():
    return ctypes.get_errno() or 1


def _messages(data):
    """(type, payload) of each netlink message in ``data``."""
    pos = 0
    while pos + NL.NLMSGHDR.size <= len(data):
        length, kind = NL.NLMSGHDR.unpack_from(data, pos)[:2]
        if length < NL.NLMSGHDR.size or pos + length > len(data):
            return
        yield kind, data[pos + NL.NLMSGHDR.size:pos + length]
        pos += (length + 3) & ~3


def _rtnl_allowed(message):
    """One request among _RTNL_CHANGES; a link change names an existing link by index, with no
    attribute but a new name or MTU (no IFLA_NET_NS_*, no device to create)."""
    msgs = list(_messages(message))
    if len(msgs) != 1:
        return False
    kind, body = msgs[0]
    if kind not in _RTNL_CHANGES:
        return False
    flags = NL.NLMSGHDR.unpack_from(message)[2]
    if kind in (NL.RTM_NEWLINK, NL.RTM_SETLINK):
        if flags & _NLM_F_CREATE or len(body) < NL.IFINFOMSG.size:
            return False
        if NL.IFINFOMSG.unpack_from(body)[2] <= 0:   # ifi_index: an existing link
            return False
        return all(t in _LINK_ATTRS_ALLOWED for t in _attribute_types(body[NL.IFINFOMSG.size:]))
    return True


def _attribute_types(data):
    pos, out = 0, []
    while pos + 4 <= len(data):
        length, kind = struct.unpack_from("<HH", data, pos)
        if length < 4:
            return [-1]
        out.append(kind & 0x3FFF)
        pos += (length + 3) & ~3
    return out


# The broker's own whitelist: what Python needs to run its loop, and the calls above.
BROKER_SYSCALLS = (
    "read", "write", "close", "dup", "fcntl", "fstat", "newfstatat", "lseek", "brk", "mmap", "munmap", "mremap",
    "madvise", "futex", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "getpid", "gettid", "clock_gettime",
    "getrandom", "exit", "exit_group", "recvfrom", "recvmsg", "sendto", "sendmsg", "bind", "getsockname",
    "setsockopt", "getsockopt",
)


def _broker_rules():
    from snakevisor.seccomp.filter import ArgRule
    rules = [ArgRule("socket", 0, family) for family in FAMILIES]
    rules += [ArgRule("setns", 1, CLONE_NEWNET), ArgRule("unshare", 0, CLONE_NEWNET)]
    rules += [ArgRule("ioctl", 1, cmd) for cmd in (SIOCGSKNS, NL.SIOCSIFFLAGS, NL.SIOCGIFFLAGS)]
    return tuple(rules)


BROKER_ARG_RULES = _broker_rules()
