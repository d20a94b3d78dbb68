"""/proc/net: the socket tables (tcp, tcp6, udp, udp6, unix) built from the sandbox's own sockets, and dev,
if_inet6, route from its network namespace — compared with Linux's where the same program runs natively."""
import re
import shutil
import socket
import sys
import textwrap

import pytest

from harness import run_native, run_sandboxed

from snakevisor.sentry.fsimpl import procfs_net


def py_argv(code):
    return [sys.executable, "-c", textwrap.dedent(code)]


def out(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout.decode()}\nstderr:\n{r.stderr.decode()[-3000:]}"
    return r.stdout.decode()


def both(code, flags=()):
    """The program's output natively and in the sandbox."""
    argv = py_argv(code)
    return out(run_native(argv)), out(run_sandboxed(argv, flags=flags))


# Opens sockets, then prints the /proc/net rows of its own sockets (found by the inode fstat gives) with
# ports named after the socket that owns them, so native and sandboxed runs print the same text.
INET_PROGRAM = r"""
    import os, socket, time

    lst = socket.socket(); lst.bind(("127.0.0.1", 0)); lst.listen(7)
    cli = socket.socket(); cli.connect(lst.getsockname())
    srv, _ = lst.accept()
    cli.sendall(b"hello")                                        # unread: the server's rx_queue
    pending = socket.socket(); pending.connect(lst.getsockname())   # never accepted: the listener's rx_queue
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(("127.0.0.1", 0))
    udpc = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udpc.connect(udp.getsockname())
    udpc.send(b"x" * 100)                                        # unread datagram: udp's rx_queue
    unbound_tcp = socket.socket()                                # in no table, as on Linux
    unbound_udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    l6 = socket.socket(socket.AF_INET6); l6.bind(("::1", 0)); l6.listen(3)
    u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u6.bind(("::1", 0))
    c6 = socket.socket(socket.AF_INET6); c6.connect(l6.getsockname())
    time.sleep(0.2)
    socks = {"listener": lst, "client": cli, "server": srv, "pending": pending, "udp": udp, "udpc": udpc,
             "unbound_tcp": unbound_tcp, "unbound_udp": unbound_udp, "listener6": l6, "udp6": u6, "client6": c6}
    ports = {s.getsockname()[1]: name for name, s in socks.items() if name != "server" and s.getsockname()[1]}
    inodes = {os.fstat(s.fileno()).st_ino: name for name, s in socks.items()}

    def endpoint(text):
        addr, port = text.split(":")
        port = int(port, 16)
        return f"{addr}:{ports.get(port, 'other' if port else '0')}"

    def table(name):
        with open("/proc/net/" + name) as f:
            lines = f.read().split("\n")
        print(name, "header", repr(lines[0]), "last line empty:", lines[-1] == "")
        rows = []
        for line in lines[1:-1]:
            fields = line.split()
            ino = int(fields[9])
            if ino in inodes:
                rows.append((inodes[ino], endpoint(fields[1]), endpoint(fields[2]), fields[3], fields[4],
                             fields[5], fields[6], int(fields[7]) == os.getuid(), fields[8],
                             len(line) if name in ("tcp", "udp") else "-"))
        for row in sorted(rows):
            print(name, *row)

    for name in ("tcp", "tcp6", "udp", "udp6"):
        table(name)
    lst.close()
    with open("/proc/net/tcp") as f:
        listed = {int(line.split()[9]) for line in f.read().splitlines()[1:]}
    print("closed listener still listed:", any(inodes.get(ino) == "listener" for ino in listed))
"""


def test_inet_tables_match_linux():
    native, boxed = both(INET_PROGRAM)
    assert boxed == native
    # The test sees what it should (so a broken table cannot pass by printing nothing on both sides).
    assert "tcp listener 0100007F:listener 00000000:0 0A" in boxed
    assert "tcp server 0100007F:listener 0100007F:client 01 00000000:00000005" in boxed
    assert re.search(r"^udp udp 0100007F:udp 00000000:0 07 00000000:0000[0-9A-F]{4} ", boxed, re.M)
    assert "udp udpc 0100007F:udpc 0100007F:udp 01" in boxed
    assert "tcp6 listener6 00000000000000000000000001000000:listener6" in boxed
    assert "udp6 udp6" in boxed and "tcp6 client6" in boxed
    assert "unbound" not in boxed
    assert "closed listener still listed: False" in boxed


UNIX_PROGRAM = r"""
    import os, socket
    path = "/tmp/procnet-%d.sock" % os.getpid()
    lst = socket.socket(socket.AF_UNIX); lst.bind(path); lst.listen(4)
    cli = socket.socket(socket.AF_UNIX); cli.connect(path)            # queued, not accepted: an embryo row
    cli2 = socket.socket(socket.AF_UNIX); cli2.connect(path); srv, _ = lst.accept()
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); d.bind("\0procnet-%d\0x" % os.getpid())
    d2 = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); d2.connect("\0procnet-%d\0x" % os.getpid())
    names = {"lst": lst, "cli": cli, "cli2": cli2, "srv": srv, "a": a, "b": b, "d": d, "d2": d2}
    inodes = {os.fstat(s.fileno()).st_ino: n for n, s in names.items()}
    with open("/proc/net/unix", "rb") as f:
        lines = f.read().decode().splitlines()
    print(repr(lines[0]))
    rows = []
    for line in lines[1:]:
        fields = line.split()
        if len(fields) < 7 or not fields[6].isdigit():
            continue   # the rest of another socket's path that holds a newline (the host's table)
        ino = int(fields[6])
        p = fields[7] if len(fields) > 7 else ""
        p = p.replace(path, "<path>").replace("@procnet-%d@x" % os.getpid(), "<abstract>")
        if ino in inodes or (ino == 0 and p == "<path>"):
            rows.append((inodes.get(ino, "embryo"), *fields[1:6], p, bool(re.fullmatch("[0-9a-f]{16}:", fields[0]))))
    for r in sorted(rows):
        print(*r)
    os.unlink(path)
"""


def test_unix_table_matches_linux():
    native, boxed = both("import re\n" + textwrap.dedent(UNIX_PROGRAM))
    assert boxed == native
    assert "lst 00000002 00000000 00010000 0001 01 <path> True" in boxed
    assert "embryo 00000003 00000000 00000000 0001 02 <path>" in boxed
    assert "d 00000003 00000000 00000000 0002 03 <abstract>" in boxed   # a datagram peer: both established
    assert "a 00000003 00000000 00000000 0005 03" in boxed


def test_proc_net_is_a_link_to_self_net():
    r = out(run_sandboxed(py_argv("""
        import os
        print(os.readlink("/proc/net"))
        print(sorted(os.listdir("/proc/self/net")) == sorted(os.listdir("/proc/%d/net" % os.getpid())))
        print(sorted(os.listdir("/proc/net")))
        print(os.path.isdir("/proc/%d/task/%d/net" % (os.getpid(), os.getpid())))
    """)))
    lines = r.splitlines()
    assert lines[0] == "self/net"
    assert lines[1] == "True"
    for name in ("dev", "tcp", "tcp6", "udp", "udp6", "unix", "if_inet6", "route"):
        assert repr(name) in lines[2]
    assert lines[3] == "True"


def test_dev_lists_loopback_with_linux_header():
    r = out(run_sandboxed(["cat", "/proc/net/dev"]))
    with open("/proc/net/dev") as f:
        host_header = f.readlines()[:2]
    lines = r.splitlines(keepends=True)
    assert lines[:2] == host_header
    assert [line.split(":")[0].strip() for line in lines[2:]] == ["lo"]   # --network=none: loopback only
    assert re.fullmatch(r"    lo:( +\d+){16}\n", lines[2])


def test_dev_counts_loopback_traffic():
    r = out(run_sandboxed(py_argv("""
        import socket
        def lo_rx():
            for line in open("/proc/net/dev").read().splitlines()[2:]:
                name, rest = line.split(":")
                if name.strip() == "lo":
                    return int(rest.split()[0])
        before = lo_rx()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
        for _ in range(10):
            s.sendto(b"x" * 1000, s.getsockname())
        print(lo_rx() - before >= 10000)
    """)))
    assert r == "True\n"


def test_if_inet6_and_route_of_the_sandbox_namespace():
    r = out(run_sandboxed(["sh", "-c", "cat /proc/net/if_inet6; echo --; cat /proc/net/route"]))
    inet6, route = r.split("--\n")
    assert inet6 == "00000000000000000000000000000001 01 80 10 80       lo\n"
    with open("/proc/net/route") as f:
        assert route == f.readline()   # the header only: lo's routes are in the local table


def test_network_host_sees_the_namespace_but_not_host_sockets():
    with socket.socket() as host_listener:
        host_listener.bind(("127.0.0.1", 0))
        host_listener.listen(1)
        port = f":{host_listener.getsockname()[1]:04X} "
        with open("/proc/net/tcp") as f:
            assert port in f.read()                                # natively it is listed
        r = out(run_sandboxed(["sh", "-c", "cat /proc/net/tcp; echo --; cat /proc/net/dev; echo --;"
                               "cat /proc/net/route; echo --; cat /proc/net/if_inet6"], flags=("--network=host",)))
    tcp, dev, route, inet6 = r.split("--\n")
    assert port not in tcp
    assert len(tcp.splitlines()) == 1                              # no socket of the sandbox's: the header only
    with open("/proc/net/dev") as f:
        assert [ln.split(":")[0] for ln in dev.splitlines()] == [ln.split(":")[0] for ln in f.read().splitlines()]
    with open("/proc/net/route") as f:
        assert route == f.read()
    with open("/proc/net/if_inet6") as f:
        assert sorted(inet6.splitlines()) == sorted(f.read().splitlines())


def test_socket_tables_follow_close():
    r = out(run_sandboxed(py_argv("""
        import os, socket
        def listed(s):
            ino = str(os.fstat(s.fileno()).st_ino)
            return lambda: any(l.split()[9] == ino for l in open("/proc/net/tcp").read().splitlines()[1:])
        s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
        check = listed(s)
        print(check())
        s.close()
        print(check())
    """)))
    assert r == "True\nFalse\n"


@pytest.mark.parametrize("tool", ["ss", "netstat"])
def test_ss_and_netstat_read_proc_net(tool):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")
    # ss asks sock_diag first (the sandbox has no NETLINK_SOCK_DIAG) and falls back to /proc/net/tcp.
    r = run_sandboxed(py_argv(f"""
        import socket, subprocess
        s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
        print("port", s.getsockname()[1], flush=True)
        subprocess.run([{tool!r}, "-ltn"])
    """))
    text = out(r)
    port = text.split()[1]
    rows = [line for line in text.splitlines() if f"127.0.0.1:{port}" in line]
    assert len(rows) == 1 and "LISTEN" in rows[0], text


SOCKSTAT_PROGRAM = r"""
    import socket
    a = socket.socket(); a.bind(("127.0.0.1", 0)); a.listen()
    b = socket.socket(); b.bind(("127.0.0.1", 0)); b.listen()
    c = socket.socket()                                      # allocated, in no table
    bound = socket.socket(); bound.bind(("127.0.0.1", 0))    # bound only: in no table either
    d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); d.bind(("127.0.0.1", 0))
    e = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); e.bind(("::1", 0))
    f = socket.socket(socket.AF_INET6); f.bind(("::1", 0)); f.listen()
    g = socket.create_connection(a.getsockname()); h, _ = a.accept()
    for name in ("sockstat", "sockstat6"):
        for line in open("/proc/net/" + name):
            print(" ".join(line.split()[:3]))   # the counts of this namespace (alloc, mem: the host's, all of them)
"""


def test_sockstat_counts_match_linux():
    """/proc/net/sockstat and sockstat6 (ss -s reads them): sockets in their protocol's tables, in a
    network namespace of the program's own natively (unshare -n), the sandbox's own in it."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    argv = py_argv(SOCKSTAT_PROGRAM)
    native = out(run_native(["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"] + argv))
    boxed = out(run_sandboxed(argv))
    assert "TCP: inuse 4" in native and boxed == native, (native, boxed)


def test_format_helpers():
    assert procfs_net._hex_addr(socket.inet_aton("127.0.0.1")) == "0100007F"
    assert procfs_net._hex_addr(socket.inet_pton(socket.AF_INET6, "::1")) == "00000000000000000000000001000000"
    assert procfs_net._endpoint(None, False) == ("00000000", 0)
    assert len(procfs_net._padded(procfs_net.TCP_HEADER, 149)) == 150

