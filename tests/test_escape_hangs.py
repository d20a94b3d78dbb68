"""Hangs where Linux returns, permission checks, and raw sockets (issue 11 "Trust", items 13 and 3).

Differential (tests/programs/escape_hangs.c, one mode per test, run natively and in the
sandbox with a deadline: a hang fails the test instead of stalling the suite):
- a blocking UDP recv wakes with 0 after shutdown(SHUT_RD), also from another thread;
- 0-byte datagrams (UDP, AF_UNIX dgram and seqpacket) are delivered as 0-byte messages;
- /proc/self/task/TID has no task/ directory, so a walk of /proc/self ends;
- RLIMIT_FSIZE: EFBIG and SIGXFSZ from write, pwrite, writev, ftruncate, fallocate, sendfile,
  copy_file_range and splice;
- a signal frame that overflows the alternate stack kills with SIGSEGV;
- kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo need a matching uid or CAP_KILL.
Raw and packet sockets are refused unless the sandbox runs with --net-raw (as runsc), and even
then need CAP_NET_RAW in the task's credentials.
"""
import os

import pytest

from harness import app_env, compare, compile_c, run_native, run_sandboxed


def _binary():
    return compile_c("escape_hangs", extra=("-lpthread",))


def test_udp_recv_wakes_after_shutdown_rd():
    """A reader blocked in recvfrom when another thread calls shutdown(SHUT_RD) wakes with 0;
    later blocking reads return 0 at once, MSG_DONTWAIT ones EAGAIN; datagrams still arrive."""
    native, _ = compare([_binary(), "udp-shutdown"], timeout=60, native_status=0)
    assert b"blocked recvfrom woke: 0" in native.stdout


def test_unix_message_sockets_after_shutdown():
    """AF_UNIX dgram and seqpacket: sending to a peer shut for reading is EPIPE, EPIPE comes without
    SIGPIPE (only stream sockets raise it), a dgram recv after SHUT_RD is EAGAIN with MSG_DONTWAIT
    and 0 when blocking; seqpacket signals EOF even non-blocking."""
    native, _ = compare([_binary(), "unix-shutdown"], timeout=60, native_status=0)
    assert b"dgram send to a peer shut for reading: -1 EPIPE SIGPIPE=0" in native.stdout


def test_zero_length_datagrams_delivered():
    """write(2)/send/sendto of 0 bytes on UDP, AF_UNIX dgram and seqpacket sockets queue a 0-byte
    message (POLLIN; recv returns 0); writev of nothing sends nothing; read(2) of 0 takes nothing."""
    native, _ = compare([_binary(), "zero-dgram"], timeout=60, native_status=0)
    assert b"unix dgram write: poll: 1" in native.stdout


def test_proc_task_tid_has_no_task_dir():
    """/proc/self/task/TID lacks task/ (as Linux's tid_base_stuff); a walk of /proc/self meets
    exactly one task directory (it recursed forever when every TID had one)."""
    native, _ = compare([_binary(), "proc-task"], timeout=60, native_status=0)
    assert b"(depth 6): 1\n" in native.stdout


_LISTINGS = ("import json, os, threading; tid = threading.get_native_id(); "
             "print(json.dumps([sorted(os.listdir('/proc/self')), sorted(os.listdir(f'/proc/self/task/{tid}'))]))")


def test_proc_tid_listing_like_linux():
    """/proc/self/task/TID lists a subset of what Linux lists there, and what only /proc/PID has
    (task/ among it) Linux also keeps to /proc/PID."""
    import json
    native = run_native(["python3", "-c", _LISTINGS], env=app_env())
    boxed = run_sandboxed(["python3", "-c", _LISTINGS], timeout=60, env=app_env())
    assert native.returncode == boxed.returncode == 0, boxed.stderr
    (npid, ntid), (bpid, btid) = json.loads(native.stdout), json.loads(boxed.stdout)
    assert "task" not in btid and "task" in bpid
    assert set(btid) <= set(ntid), set(btid) - set(ntid)
    assert set(bpid) - set(btid) <= set(npid) - set(ntid), (set(bpid) - set(btid)) - (set(npid) - set(ntid))


@pytest.mark.parametrize("where", ["/dev/shm", "/var/tmp"])
def test_rlimit_fsize(where):
    """Past RLIMIT_FSIZE every way of growing a regular file gives EFBIG and SIGXFSZ (ignored:
    EFBIG alone; default: death by SIGXFSZ); writes that straddle it are short; pipes are not
    limited. On a tmpfs (/dev/shm) and on the root filesystem (the Gofer's files in the sandbox)."""
    native, _ = compare([_binary(), "fsize", where], timeout=60, native_status=-25)
    assert b"splice at the limit: -1 EFBIG SIGXFSZ=1" in native.stdout


@pytest.mark.parametrize("mode", ["altstack-nest", "altstack-small"])
def test_altstack_overflow_segv(mode):
    """A handler nesting on its alternate stack until the next frame no longer fits, and a frame
    larger than the whole alternate stack: the process gets SIGSEGV (get_sigframe), and no
    handler ever runs below the alternate stack."""
    compare([_binary(), mode], timeout=60, native_status=-11)


def test_unwritable_frame_forces_sigsegv():
    """A signal whose frame cannot be written (its alternate stack read-only) is dropped and SIGSEGV
    forced: a SIGSEGV handler on the ordinary stack runs (si_code SI_KERNEL) and the process lives
    on; one on that same alternate stack cannot run, and the process dies of SIGSEGV."""
    native, _ = compare([_binary(), "altstack-readonly"], timeout=60, native_status=0)
    assert b"si_code 0x80" in native.stdout, native.stdout
    compare([_binary(), "altstack-readonly-segv"], timeout=60, native_status=-11)


@pytest.mark.parametrize("mode, status", [("handler", -9), ("default", -24), ("child", 0), ("exec", 0)])
def test_rlimit_cpu(mode, status):
    """RLIMIT_CPU is enforced: SIGXCPU at the soft limit (again each second, the soft limit moving
    up), SIGKILL at the hard one; a forked child counts its own time under the limit it inherited;
    a process's CPU time goes on across execve (an exec no longer starts it from 0)."""
    native, _ = compare([compile_c("rlimit_cpu"), mode], timeout=120, native_status=status)
    if mode == "handler":
        assert native.stdout.count(b"SIGXCPU") == 2, native.stdout


def test_altstack_flags_and_autodisarm():
    """A handler's uc_stack holds the alternate stack as set (flags as given, never SS_ONSTACK), and
    SS_AUTODISARM disarms it for any handler (SA_ONSTACK or not) until sigreturn restores it."""
    native, _ = compare([_binary(), "altstack-flags"], timeout=60, native_status=0)
    assert b"flags=0x80000000 size=65536" in native.stdout


def test_kill_permission_after_dropping_privileges():
    """A child that dropped to nobody gets EPERM signalling its root parent with kill, tkill,
    tgkill, rt_sigqueueinfo and rt_tgsigqueueinfo (tkill was unchecked); SIGCONT within the
    session and signals to itself are allowed; root (CAP_KILL) may signal the child."""
    native, _ = compare([_binary(), "kill-perm"], timeout=60, native_status=0)
    assert b"tkill(parent, SIGUSR1): -1 EPERM" in native.stdout


# --- raw and packet sockets (item 3) -----------------------------------------------------------

def _raw_run(flags, *args):
    return run_sandboxed([_binary(), *args], timeout=60, env=app_env(), flags=flags)


@pytest.fixture(scope="module")
def raw_as_nobody_natively():
    """What Linux says to an unprivileged process: EPERM for every raw and packet socket."""
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to nobody natively")
    native = run_native([_binary(), "raw", "nobody"], env=app_env())
    assert native.returncode == 0 and native.stdout.count(b"-1 EPERM") == 6, native.stdout
    return native.stdout


@pytest.mark.parametrize("network", ["host", "none"])
def test_raw_sockets_refused_to_nobody(raw_as_nobody_natively, network):
    """As nobody in the sandbox (even with --net-raw, which only lifts the sandbox's own bar) the
    answer is Linux's: EPERM; the Sentry's own CAP_NET_RAW on the host does not count."""
    for flags in ((f"--network={network}",), (f"--network={network}", "--net-raw")):
        boxed = _raw_run(flags, "raw", "nobody")
        assert boxed.returncode == 0 and boxed.stdout == raw_as_nobody_natively, (flags, boxed.stdout, boxed.stderr)


@pytest.mark.parametrize("network", ["host", "none"])
def test_raw_sockets_refused_to_root_without_net_raw(raw_as_nobody_natively, network):
    """Root in the sandbox, without --net-raw: refused as runsc refuses it (runsc strips CAP_NET_RAW
    and its socket providers check it first: EPERM), the same answers nobody gets natively."""
    boxed = _raw_run((f"--network={network}",), "raw")
    assert boxed.returncode == 0 and boxed.stdout == raw_as_nobody_natively, boxed.stdout + boxed.stderr
    ping = _raw_run((f"--network={network}",), "raw-ping")
    assert ping.stdout == b"socket: EPERM\n" and ping.returncode == 1, ping.stdout + ping.stderr


def test_raw_socket_with_net_raw_pings_loopback():
    """With --net-raw, root (CAP_NET_RAW) gets raw sockets: an ICMP echo to 127.0.0.1 over one is
    answered (in the sandbox's own loopback-only namespace, as natively); packet sockets are not
    implemented (EAFNOSUPPORT rather than a host packet socket)."""
    native = run_native([_binary(), "raw-ping"], env=app_env(), timeout=60)
    if native.returncode != 0:
        pytest.skip(f"no raw ICMP natively: {native.stdout!r}")
    boxed = _raw_run(("--net-raw",), "raw-ping")
    assert boxed.returncode == 0 and boxed.stdout == native.stdout, boxed.stdout + boxed.stderr
    boxed = _raw_run(("--net-raw",), "raw")
    assert b"socket(AF_INET, SOCK_RAW, IPPROTO_RAW): -1" not in boxed.stdout, boxed.stdout
    assert b"socket(AF_PACKET, SOCK_RAW, 0): -1 EAFNOSUPPORT" in boxed.stdout, boxed.stdout


@pytest.mark.parametrize("who", ["root", "nobody"])
def test_privileged_socket_options(who):
    """SO_PRIORITY outside 0..6, SO_MARK, SO_*BUFFORCE and IPv6 hop-by-hop/destination options (as
    options or control messages) need CAP_NET_RAW/CAP_NET_ADMIN in the application's credentials,
    not the Sentry's (with --network=host the Sentry holds them on the host)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to nobody natively")
    args = ["privileged-opts"] + (["nobody"] if who == "nobody" else [])
    native = run_native([_binary(), *args], env=app_env())
    boxed = _raw_run(("--network=host",), *args)
    assert native.returncode == boxed.returncode == 0 and boxed.stdout == native.stdout, (
        native.stdout, boxed.stdout, boxed.stderr)


def test_ping_sockets_follow_ping_group_range():
    """ICMP "ping" sockets (SOCK_DGRAM, IPPROTO_ICMP) are judged by ping_group_range on the
    application's groups, as natively, for root and nobody alike (with --network=host both runs
    read the same range)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to nobody natively")
    for who in ((), ("nobody",)):
        native = run_native([_binary(), "ping-socket", *who], env=app_env())
        boxed = _raw_run(("--network=host",), "ping-socket", *who)
        assert boxed.returncode == native.returncode == 0 and boxed.stdout == native.stdout, (
            native.stdout, boxed.stdout, boxed.stderr)


def test_oci_global_net_raw_flag(tmp_path):
    """`snakevisor --net-raw run` (runsc's global flag) lets a container whose process has
    CAP_NET_RAW open raw sockets; without the flag the same container gets EPERM."""
    if os.geteuid() != 0:
        pytest.skip("OCI containers here need root")
    import shutil
    from oci_support import make_bundle, sv
    progs = tmp_path / "progs"
    progs.mkdir()
    shutil.copy2(compile_c("escape_hangs", static=True, extra=("-lpthread",)), progs / "escape_hangs")
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"]
    bundle = make_bundle(str(tmp_path / "b"), ["/progs/escape_hangs", "raw-ping"],
                         mounts=[{"destination": "/progs", "type": "bind", "source": str(progs),
                                  "options": ["rbind", "ro"]}],
                         process_capabilities={k: caps for k in ("bounding", "effective", "permitted")})
    root = str(tmp_path / "state")
    allowed = sv(root, "--net-raw", "run", "-b", bundle, "raw1", timeout=120)
    assert allowed.returncode == 0 and "echo reply from 127.0.0.1" in allowed.stdout, allowed.stdout + allowed.stderr
    refused = sv(root, "run", "-b", bundle, "raw2", timeout=120)
    assert refused.returncode == 1 and refused.stdout == "socket: EPERM\n", refused.stdout + refused.stderr


def test_check_create_judges_the_applications_credentials(monkeypatch):
    """Unit: the socket-creation policy on the task's own credentials and the sandbox's --net-raw,
    whatever the Sentry itself may do on the host (ping_group_range "0 0": only group 0 pings)."""
    from types import SimpleNamespace
    from snakevisor.abi import socket as S
    from snakevisor.abi.errno import EACCES, EINVAL, EPERM, EPROTONOSUPPORT, SyscallError
    from snakevisor.sentry.kernel.creds import Credentials
    from snakevisor.sentry.net import inet
    monkeypatch.setattr(inet, "_ping_group_range", (0, 0))

    def task(net_raw, **ids):
        return SimpleNamespace(kernel=SimpleNamespace(net_raw=net_raw), creds=Credentials(**ids))

    def errno_of(t, *args):
        try:
            inet.check_create(t, *args)
            return 0
        except SyscallError as e:
            return e.errno
    root, nobody = dict(), dict(uid=65534, euid=65534, gid=65534, egid=65534, cap_effective=0)
    raw = (S.AF_INET, S.SOCK_RAW, S.IPPROTO_RAW)
    assert errno_of(task(False, **root), *raw) == EPERM
    assert errno_of(task(True, **root), *raw) == 0
    assert errno_of(task(True, **nobody), *raw) == EPERM
    assert errno_of(task(True, **nobody), S.AF_PACKET, S.SOCK_DGRAM, 0) == EPERM
    assert errno_of(task(True, **root), S.AF_INET, S.SOCK_RAW, 0) == EPROTONOSUPPORT
    assert errno_of(task(True, **root), S.AF_INET, S.SOCK_RAW, 300) == EINVAL
    ping = (S.AF_INET, S.SOCK_DGRAM, S.IPPROTO_ICMP)
    assert errno_of(task(False, **root), *ping) == 0
    assert errno_of(task(False, **nobody), *ping) == EACCES
    assert errno_of(task(False, **dict(nobody, groups=[0])), *ping) == 0
    assert errno_of(task(False, **nobody), S.AF_INET, S.SOCK_DGRAM, 0) == 0
