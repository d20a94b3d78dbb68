"""The sandbox network: --network none|host, loopback, /etc/hosts, netlink (getifaddrs, `ip`), interface
ioctls, the netlink filter, and application memory views for socket I/O.

Programs that move data (TCP, UDP, HTTP, asyncio, nginx) are in test_network_programs.py.
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import textwrap

import pytest

from harness import BUILD_DIR, compile_c, run_native, run_sandboxed

from snakevisor.abi import mm as M
from snakevisor.abi import netlink as NL
from snakevisor.abi.errno import EAGAIN, EFAULT, EPERM, SyscallError
from snakevisor.abi.socket import AF_NETLINK, SOCK_RAW
from snakevisor.sandbox.network import etc_files, hosts_file, hosts_with_our_names, names_localhost
from snakevisor.sentry.mm.manager import MemoryManager
from snakevisor.sentry.mm.memoryfile import MemoryFile
from snakevisor.sentry.net.netlink import NetlinkSocket


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def py(code, flags=(), timeout=120):
    return run_sandboxed([sys.executable, "-c", textwrap.dedent(code)], flags=flags, timeout=timeout)


def out(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout.decode()}\nstderr:\n{r.stderr.decode()[-3000:]}"
    return r.stdout.decode()


# --- namespaces ------------------------------------------------------------------------------------------

def test_network_none_has_only_loopback_and_it_is_up():
    r = out(py("""
        import socket
        print(sorted(n for _, n in socket.if_nameindex()))
        s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
        c = socket.create_connection(s.getsockname()); a, _ = s.accept()
        c.sendall(b"ping"); print(a.recv(4))
        s6 = socket.socket(socket.AF_INET6); s6.bind(("::1", 0)); print("v6 bound")
    """))
    assert r.splitlines() == ["['lo']", "b'ping'", "v6 bound"]


def test_network_none_cannot_reach_a_host_listener():
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        code = f"""
            import socket
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=5)
                print("reached")
            except OSError as e:
                print(type(e).__name__)
        """
        assert out(py(code)).strip() == "ConnectionRefusedError"
        assert out(py(code, flags=("--network=host",))).strip() == "reached"


def test_network_host_sees_the_host_interfaces():
    names = sorted(n for _, n in socket.if_nameindex())
    r = out(py("import socket; print(sorted(n for _, n in socket.if_nameindex()))", flags=("--network", "host")))
    assert r.strip() == str(names)


def test_bad_network_mode_is_a_usage_error():
    r = run_sandboxed(["/bin/true"], flags=("--network=bridge",))
    assert r.returncode == 2 and b"invalid choice" in r.stderr


# --- names ------------------------------------------------------------------------------------------------

def test_localhost_and_the_hostname_resolve_and_the_image_hosts_file_is_kept():
    """The image's /etc/hosts stays (its lines first); what it lacks of localhost and the
    sandbox's hostname is added, so gethostbyname(gethostname()) works as in a container."""
    r = out(run_sandboxed([sys.executable, "-c", textwrap.dedent("""
        import socket
        print(socket.gethostbyname("localhost"))
        print("127.0.0.1" in {a[4][0] for a in socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)})
        print(socket.gethostname(), socket.gethostbyname(socket.gethostname()).startswith("127."))
        print(open("/etc/hosts", "rb").read().startswith(open("/proc/self/cwd/hosts.native", "rb").read()))
    """)], cwd=_native_hosts_dir(), flags=("--hostname", "sv-box-7")))
    assert r.splitlines() == ["127.0.0.1", "True", "sv-box-7 True", "True"]


def _native_hosts_dir():
    d = os.path.join(BUILD_DIR, "hosts-native")
    os.makedirs(d, exist_ok=True)
    shutil.copyfile("/etc/hosts", os.path.join(d, "hosts.native"))
    return d


def _mini_root(name, hosts):
    """A root of static busybox and an /etc/hosts of ``hosts`` (None: no such file)."""
    busybox = shutil.which("busybox")
    if busybox is None or b"statically linked" not in subprocess.run(["file", busybox], capture_output=True).stdout:
        pytest.skip("a static busybox is needed (busybox-static)")
    root = os.path.join(BUILD_DIR, name)
    shutil.rmtree(root, ignore_errors=True)
    for d in ("bin", "etc", "tmp", "proc", "dev"):
        os.makedirs(os.path.join(root, d))
    shutil.copy2(busybox, os.path.join(root, "bin", "busybox"))
    os.symlink("busybox", os.path.join(root, "bin", "sh"))
    if hosts is not None:
        with open(os.path.join(root, "etc", "hosts"), "wb") as f:
            f.write(hosts)
    return root


@pytest.mark.parametrize("hosts", [None, b"10.0.0.1 other\n"], ids=["missing", "no-localhost"])
def test_a_root_without_localhost_gets_the_sandbox_hosts_file(hosts):
    root = _mini_root(f"netroot-{'missing' if hosts is None else 'nolocal'}", hosts)
    r = run_sandboxed(["/bin/busybox", "sh", "-c", "cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---"],
                      flags=("--rootfs", root, "--hostname", "box1"))
    hosts_text, resolv, _ = out(r).split("---\n")
    assert hosts_text == (hosts_file("box1") if hosts is None else hosts_with_our_names(hosts, "box1")).decode()
    assert hosts is None or hosts_text.startswith(hosts.decode())   # the image's own lines stay
    assert resolv == ""      # no network: no server to ask
    # The host directory is untouched (the files live in the overlay, or in a tmpfs over it).
    assert os.path.exists(os.path.join(root, "etc", "hosts")) == (hosts is not None)
    assert not os.path.exists(os.path.join(root, "etc", "resolv.conf"))
    if hosts is not None:
        with open(os.path.join(root, "etc", "hosts"), "rb") as f:
            assert f.read() == hosts


def test_etc_files_policy():
    assert names_localhost(b"# comment localhost\n127.0.0.1\tlocalhost.localdomain localhost\n")
    assert not names_localhost(b"# 127.0.0.1 localhost\n127.0.0.1 vm\n")
    files = {p: (d, adapt) for p, d, adapt in etc_files("none", "h")}
    data, adapt = files[b"/etc/hosts"]
    assert data == hosts_file("h") and b"127.0.1.1\th" in data and names_localhost(data)
    assert adapt(b"127.0.0.1 localhost\n127.0.1.1 h\n") is None                  # has both: kept
    assert adapt(b"127.0.0.1 localhost\n") == b"127.0.0.1 localhost\n127.0.1.1\th\n"  # the hostname added
    assert adapt(b"") == hosts_file("h")
    assert files[b"/etc/resolv.conf"][0] == b"" and files[b"/etc/resolv.conf"][1](b"x") is None
    assert b"127.0.1.1" not in hosts_file("localhost")   # no second line for a hostname of "localhost"


# --- interfaces: netlink, getifaddrs, ioctls, ip ------------------------------------------------------------

def test_getifaddrs_and_interface_ioctls_in_network_none():
    r = out(run_sandboxed([compile_c("net_ifaddrs")]))
    assert r.splitlines() == [
        "ifaddr lo family packet addr - up 1",
        "ifaddr lo family inet addr 127.0.0.1 up 1",
        "ifaddr lo family inet6 addr ::1 up 1",
        "index 1 lo",
        "if_nametoindex(lo) 1",
        "SIOCGIFFLAGS 0 up 1 loopback 1",
        "SIOCGIFMTU 0 mtu 65536",
        "SIOCSIFFLAGS -1 Operation not permitted",
        "SIOCGIFFLAGS nosuch0 -1 No such device",
    ]


def test_getifaddrs_with_network_host_matches_native():
    prog = compile_c("net_ifaddrs")
    native = run_native([prog]).stdout.decode().splitlines()
    boxed = out(run_sandboxed([prog], flags=("--network=host",))).splitlines()
    # Same interfaces and addresses; only setting flags differs (root may natively, the sandbox may not).
    assert [x for x in boxed if not x.startswith("SIOCSIFFLAGS")] == \
        [x for x in native if not x.startswith("SIOCSIFFLAGS")]
    assert "SIOCSIFFLAGS -1 Operation not permitted" in boxed


@pytest.mark.skipif(shutil.which("ip") is None, reason="iproute2 is not installed")
def test_ip_addr_route_and_changes_refused():
    r = run_sandboxed(["/bin/sh", "-c", "ip -o addr; echo ---; ip -o link; echo ---; ip route show table local; "
                       "echo ---; ip link set lo down; echo rc=$?; ip addr add 10.9.9.9/24 dev lo; echo rc=$?; "
                       "ip -o -4 addr"])
    text = out(r)
    addrs, links, routes, rest = text.split("---\n")
    assert "inet 127.0.0.1/8" in addrs and "inet6 ::1/128" in addrs
    assert {line.split()[1] for line in addrs.splitlines()} == {"lo"}
    assert [line.split(":")[1].strip() for line in links.splitlines()] == ["lo"] and "UP" in links
    assert "local 127.0.0.1 dev lo" in routes
    assert rest.splitlines()[0] == "rc=2" and rest.splitlines()[1] == "rc=2"
    assert "10.9.9.9" not in rest and "127.0.0.1/8" in rest
    assert r.stderr.decode().count("Operation not permitted") == 2


# --- the netlink socket itself (in this process's namespace: only reads ever reach it) -----------------------

def _nl_request(typ, flags, seq, body=b"\0" * 16):
    return NL.NLMSGHDR.pack(NL.NLMSGHDR.size + len(body), typ, flags, seq, 0) + body


def _nl_recv_all(sock):
    msgs = []
    for _ in range(1000):
        res = sock.recvmsg(None, 65536, 0, True)
        assert res.addr == NL.SOCKADDR_NL.pack(AF_NETLINK, 0, 0, 0)
        for off, length, typ, flags, seq, pid in NL.iter_nlmsgs(res.data):
            msgs.append((typ, seq, pid, res.data[off:off + length]))
            if typ in (NL.NLMSG_DONE, NL.NLMSG_ERROR):
                return msgs
    raise AssertionError("no NLMSG_DONE")


def test_netlink_dump_links_with_sandbox_port_ids():
    s = NetlinkSocket(SOCK_RAW, NL.NETLINK_ROUTE)
    try:
        s.bind(None, NL.SOCKADDR_NL.pack(AF_NETLINK, 0, 4242, 0))
        assert NL.SOCKADDR_NL.unpack(s.getsockname(None)) == (AF_NETLINK, 0, 4242, 0)
        s.sendmsg(None, _nl_request(NL.RTM_GETLINK, NL.NLM_F_REQUEST | NL.NLM_F_DUMP, 7), 0, None, [], None)
        msgs = _nl_recv_all(s)
        assert msgs[-1][0] == NL.NLMSG_DONE
        links = [m for m in msgs if m[0] == NL.RTM_NEWLINK]
        assert len(links) == len(socket.if_nameindex())
        assert {(seq, pid) for _, seq, pid, _ in msgs} == {(7, 4242)}   # the host's port id never shows
    finally:
        s.release()


def test_netlink_refuses_changes_without_sending_them():
    s = NetlinkSocket(SOCK_RAW, NL.NETLINK_ROUTE)
    try:
        # RTM_NEWADDR / RTM_DELLINK / RTM_SETLINK: answered here with EPERM, never sent to the host.
        for seq, typ in enumerate((NL.RTM_NEWADDR, NL.RTM_DELLINK, NL.RTM_SETLINK, NL.RTM_NEWROUTE), 1):
            req = _nl_request(typ, NL.NLM_F_REQUEST | NL.NLM_F_ACK, seq)
            assert s.sendmsg(None, req, 0, None, [], None) == len(req)
            from snakevisor.abi.poll import POLLIN
            assert s.readiness(None, POLLIN) & POLLIN
            (typ_, seq_, pid, data), = _nl_recv_all(s)
            assert (typ_, seq_, pid) == (NL.NLMSG_ERROR, seq, s.port)
            assert struct.unpack_from("<i", data, 16)[0] == -EPERM
            assert data[20:36] == req[:16]
        with pytest.raises(SyscallError) as e:
            s.recvmsg(None, 100, 0, False)
        assert e.value.errno == EAGAIN
        # Multicast sends and unicast to another socket are refused outright.
        with pytest.raises(SyscallError) as e:
            s.sendmsg(None, _nl_request(NL.RTM_GETLINK, 1, 9), 0, NL.SOCKADDR_NL.pack(AF_NETLINK, 0, 0, 1), [], None)
        assert e.value.errno == EPERM
    finally:
        s.release()


def test_netlink_peek_trunc_reports_the_whole_length():
    s = NetlinkSocket(SOCK_RAW, NL.NETLINK_ROUTE)
    try:
        s.sendmsg(None, _nl_request(NL.RTM_GETADDR, NL.NLM_F_REQUEST | NL.NLM_F_DUMP, 1, b"\0" * 8), 0, None, [],
                  None)
        from snakevisor.abi.socket import MSG_PEEK, MSG_TRUNC
        peek = s.recvmsg(None, 0, MSG_PEEK | MSG_TRUNC, False)
        assert peek.data == b"" and peek.full_len > 0
        whole = s.recvmsg(None, 65536, 0, False)
        assert len(whole.data) == peek.full_len
    finally:
        s.release()


# --- application memory views (mm.io_views) -------------------------------------------------------------------

def test_io_views_cover_vmas_and_fault_on_holes():
    mf = MemoryFile(size=1 << 30)
    mm = MemoryManager(mf)
    try:
        rw = M.PROT_READ | M.PROT_WRITE
        a = mm.mmap(0x10000000, 8192, rw, M.MAP_PRIVATE | M.MAP_ANONYMOUS | M.MAP_FIXED)
        mm.mmap(a + 8192, 4096, M.PROT_READ, M.MAP_PRIVATE | M.MAP_ANONYMOUS | M.MAP_FIXED)
        views = mm.io_views(a + 100, 8000, write=True)
        assert [len(v) for v in views] == [8000]
        views[0][:5] = b"hello"
        assert mm.copy_in(a + 100, 5) == b"hello"
        del views
        two = mm.io_views(a + 8000, 1000)        # across two VMAs, reading
        assert [len(v) for v in two] == [192, 808]
        del two
        for args in ((a + 8000, 1000, True), (a + 12288 - 10, 20, False), (0x1000, 1, False)):
            with pytest.raises(SyscallError) as e:
                mm.io_views(*args)       # read-only part written, a hole after, nothing mapped
            assert e.value.errno == EFAULT
        assert mm.io_views(a, 0) == []
    finally:
        mm.release_all()
        mf.close()
