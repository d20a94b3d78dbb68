"""Network namespaces inside the sandbox (issue 16): a Task's sockets are made in the host
network namespace of its own network namespace, which the broker makes (sandbox/netns_broker.py,
sentry/net/netns.py). Natively and sandboxed, and the broker's own checks."""
import shutil
import struct

import pytest

from harness import compare, compile_c, run_native, run_sandboxed
from snakevisor.abi import netlink as NL
from snakevisor.sandbox import netns_broker


def test_network_namespaces_match_linux():
    """Loopback down in a new namespace, up by SIOCSIFFLAGS; TCP ports and abstract names of the
    old namespace unreachable from the new; setns back; clone(CLONE_NEWNET); EPERM unprivileged."""
    native, _ = compare([compile_c("ns_net")], native_status=0)
    assert b"inner lo up: 0" in native.stdout and b"clone child: own namespace 1" in native.stdout


def test_unshare_n_with_iproute2():
    """`unshare -n` then iproute2 over rtnetlink (link list, `ip link set lo up`, addresses) and
    /proc/net/dev of the new namespace, as natively."""
    if shutil.which("ip") is None or shutil.which("unshare") is None:
        pytest.skip("iproute2 or util-linux unshare is not installed")
    script = "unshare -n sh -c 'ip -o link; ip link set lo up; ip -o addr; tail -1 /proc/net/dev; ip -o link'"
    native = run_native(["/bin/sh", "-c", script])
    boxed = run_sandboxed(["/bin/sh", "-c", script])
    assert boxed.returncode == native.returncode == 0, boxed.stderr.decode()[-2000:]
    assert boxed.stdout == native.stdout
    assert b"state DOWN" in native.stdout and b"127.0.0.1/8" in native.stdout


def _link_request(flags=NL.NLM_F_REQUEST | NL.NLM_F_ACK, index=1, attrs=b"", kind=NL.RTM_NEWLINK):
    body = NL.IFINFOMSG.pack(0, 0, index, 1, 1) + attrs
    return NL.NLMSGHDR.pack(NL.NLMSGHDR.size + len(body), kind, flags, 1, 0) + body


def _attr(kind, value):
    return struct.pack("<HH", 4 + len(value), kind) + value + bytes(-len(value) % 4)


@pytest.mark.parametrize("message, allowed", [
    (_link_request(), True),                                                   # ip link set lo up
    (_link_request(attrs=_attr(NL.IFLA_MTU, struct.pack("<I", 1500))), True),
    (_link_request(index=0, attrs=_attr(NL.IFLA_IFNAME, b"veth0\0")), False),  # a new device
    (_link_request(flags=NL.NLM_F_REQUEST | 0x400), False),                     # NLM_F_CREATE
    (_link_request(attrs=_attr(19, struct.pack("<I", 1))), False),              # IFLA_NET_NS_PID: the host's
    (_link_request(attrs=_attr(28, struct.pack("<I", 3))), False),              # IFLA_NET_NS_FD
    (_link_request(kind=NL.RTM_DELLINK), False),
    (_link_request() + _link_request(), False),                                 # one request at a time
    (b"\x10\x00", False),
])
def test_broker_takes_only_changes_within_the_namespace(message, allowed):
    """What the broker sends for the Sentry: no device made, nothing naming another namespace
    (a veth whose peer is in the host's namespace would be an escape)."""
    assert netns_broker._rtnl_allowed(message) is allowed


def test_broker_refuses_what_it_did_not_make():
    """Requests naming a namespace the broker did not make (the sandbox's own is 0) are EINVAL."""
    broker = netns_broker._Broker(libc=None, home=-1)
    for op in (netns_broker.SOCKET, netns_broker.IFFLAGS, netns_broker.RTNL, netns_broker.FREE):
        with pytest.raises(OSError) as e:
            broker.handle(op, 0, 2, 1, 0, b"")
        assert e.value.errno == 22


def test_bubblewrap_unshare_net():
    """bwrap --unshare-net: a namespace of its own whose loopback bwrap brings up, as natively."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    argv = ["bwrap", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--unshare-net", "ip", "-o", "link"]
    native = run_native(argv)
    boxed = run_sandboxed(argv)
    assert boxed.returncode == native.returncode == 0, boxed.stderr.decode()[-2000:]
    assert boxed.stdout == native.stdout and b"LOOPBACK,UP" in native.stdout
