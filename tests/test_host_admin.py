"""swapon, swapoff, acct and settimeofday (issue "Kernel features I"): calls on the host's kernel as
a whole. tests/programs/host_admin.c as an unprivileged process natively and in the sandbox; and
root in the sandbox, like root in a container, is refused as well."""
from harness import compile_c, run_sandboxed


def test_host_admin_calls_match_linux_unprivileged(differential):
    differential([compile_c("host_admin")], native_status=0)


SCRIPT = r"""
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
tv = (ctypes.c_long * 2)(1, 0)
for nr, args in ((167, (b"/nonexistent-swap", 0)), (168, (b"/nonexistent-swap",)), (163, (None,)), (164, (tv, None))):
    print(libc.syscall(nr, *args), ctypes.get_errno())
"""


def test_root_is_refused_as_in_a_container():
    boxed = run_sandboxed(["/usr/bin/python3", "-c", SCRIPT])
    assert boxed.stdout.decode().splitlines() == ["-1 1"] * 4, boxed.stderr.decode()[-2000:]
