"""PID, user, time and cgroup namespaces inside the sandbox (issue 16, item 2; kernel/pidns.py,
kernel/userns.py, kernel/timens.py, kernel/namespaces.py): differential C programs (natively as
root, and sandboxed), and util-linux's unshare and bubblewrap with procps's ps and coreutils'
id, as natively."""
import pytest

from harness import compare, compile_c, run_native, run_sandboxed
from test_namespaces import _need


def test_pid_namespaces_match_linux():
    compare([compile_c("ns_pid", extra=("-lpthread",))], native_status=0)


def test_user_namespaces_match_linux():
    compare([compile_c("ns_user")], native_status=0)


def test_time_and_cgroup_namespaces_match_linux():
    compare([compile_c("ns_time_cgroup")], native_status=0)


@pytest.mark.parametrize("argv", [
    ["unshare", "-m", "-p", "-f", "--mount-proc", "ps", "-e"],   # a proc of the new namespace: ps alone, pid 1
    ["unshare", "-p", "-f", "sh", "-c", "echo $$"],                # the shell is its namespace's init
    ["unshare", "-U", "-r", "id"],   # uid_map and gid_map "0 0 1" (after setgroups deny): root
    ["unshare", "-U", "id"],         # no maps: the overflow ids
    ["unshare", "-U", "-r", "cat", "/proc/self/uid_map", "/proc/self/gid_map", "/proc/self/setgroups"],
    ["unshare", "-U", "-r", "-m", "-p", "-f", "--mount-proc", "ps", "-e"],   # namespaces owned by the new user one
    ["unshare", "-T", "--monotonic", "100", "--boottime", "200", "cat", "/proc/self/timens_offsets"],
    ["bwrap", "--unshare-pid", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "ps", "-e"],   # bwrap is pid 1
    ["bwrap", "--unshare-user", "--uid", "1000", "--gid", "1000", "--ro-bind", "/", "/", "id"],
], ids=["mount-proc-ps", "sh-pid", "user-map-root", "user-unmapped", "user-maps", "user-pid-mount-ps", "time-offsets",
        "bwrap-pid", "bwrap-user"])
def test_real_programs_with_namespaces(argv):
    _need(argv[0])
    if "ps" in argv:
        _need("ps")
    native = run_native(argv)
    boxed = run_sandboxed(argv)
    assert native.returncode == 0, native.stderr.decode()[-2000:]
    assert boxed.returncode == 0, boxed.stderr.decode()[-2000:]
    assert boxed.stdout == native.stdout
