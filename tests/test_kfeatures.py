"""Small kernel features as Linux 6.x has them (AF_UNIX MSG_OOB, mountinfo's propagate_from, the
pidfd ioctls and PIDFD_THREAD, clone3's set_tid and ns_last_pid; clock_nanosleep on CPU-time clocks;
NETLINK_SOCK_DIAG and `ss`): tests/programs/kfeatures.c, cpu_nanosleep.c and sock_diag.c, one case
per argument, natively and in the sandbox; stdout and exit status must match."""
import re
import shutil

import pytest

from harness import app_env, compare, compile_c, run_native, run_sandboxed

CASES = ["oob_basic", "oob_skip", "oob_replace", "oob_peek", "oob_inline", "oob_signal", "oob_errors", "propagate_from",
         "pidfd_info", "pidfd_ns", "set_tid", "ns_last_pid", "pidfd_thread", "loginuid"]
CPU_SLEEP_CASES = ["spin", "idle", "restart", "thread", "child"]


@pytest.mark.parametrize("case", CASES)
def test_kfeatures(case):
    native, _ = compare([compile_c("kfeatures", extra=("-pthread",)), case], env=app_env(), native_status=0)
    assert native.stdout, "the case printed nothing"


@pytest.mark.parametrize("case", CPU_SLEEP_CASES)
def test_cpu_clock_nanosleep(case):
    native, _ = compare([compile_c("cpu_nanosleep", extra=("-pthread",)), case], native_status=0)
    assert native.stdout, "the case printed nothing"


@pytest.mark.parametrize("case", ["inet", "unix", "errors", "hostile"])
def test_sock_diag(case):
    """NETLINK_SOCK_DIAG requests and their answers (tests/programs/sock_diag.c), each in a network
    namespace the program makes."""
    native, _ = compare([compile_c("sock_diag"), case], native_status=0)
    assert native.stdout, "the case printed nothing"


def _named(out: bytes) -> list:
    """ss's output with each Unix socket's inode numbers (its port and its peer's), each pid and the
    socket path's pid replaced by names, whitespace collapsed (column widths follow the numbers), each command's
    lines sorted (a dump's order is the kernel's tables' order)."""
    text = out.decode()
    names = {ino: name for name, ino in re.findall(r"^label (\S+) (\d+)$", text, re.M)}
    pid = re.search(r"^pid (\d+)$", text, re.M).group(1)
    body = re.sub(r"^(label .*|pid \d+)\n", "", text, flags=re.M).replace(f"sock_diag.{pid}", "sock_diag.PID")
    blocks = []
    for block in body.split("$ ")[1:]:
        head, *lines = block.splitlines()
        rows = []
        for line in lines:
            fields = re.sub(r"pid=\d+", "pid=P", line).split()
            if fields and fields[0].startswith("u_") and len(fields) >= 8:
                fields[5], fields[7] = names.get(fields[5], fields[5]), names.get(fields[7], fields[7])
            # (the header's last two columns touch or not, as the widest row sets them)
            rows.append(("" if fields[:1] in (["State"], ["Netid"]) else " ").join(fields))
        blocks.append([head] + sorted(rows))
    return blocks


def test_ss_lists_the_sandbox_sockets():
    """`ss -tan`, `-uan`, `-xa`, `-lntp` list the sockets the program opened, as natively (both in a
    network namespace of the program's own)."""
    if shutil.which("ss") is None:
        pytest.skip("ss (iproute2) is not installed")
    argv = [compile_c("sock_diag"), "ss"]
    native = run_native(argv, env=app_env())
    assert native.returncode == 0, native.stderr
    boxed = run_sandboxed(argv, env=app_env())
    assert boxed.returncode == 0, boxed.stderr
    expected = _named(native.stdout)
    assert len(expected) == 4 and all(len(b) > 2 for b in expected), native.stdout
    assert _named(boxed.stdout) == expected, boxed.stdout.decode() + boxed.stderr.decode()
