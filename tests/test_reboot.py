"""reboot(2) in the sandbox as Linux answers it in a PID namespace (issue "Kernel features I"):
tests/programs/reboot.c as the init of a new PID namespace natively (`unshare -p -f`, as root)
and as the sandbox's first process; same output, same end (129: init killed by SIGHUP for a
restart, 130: by SIGINT for halt or power off)."""
import shutil

import pytest

from harness import app_env, compile_c, exit_code, run_native, run_sandboxed, tail


@pytest.mark.parametrize("args", [[], ["restart"], ["restart2", "child"], ["halt", "child"], ["poweroff"]],
                         ids=["refusals", "restart", "restart2-from-child", "halt-from-child", "poweroff"])
def test_reboot_ends_the_pid_namespace_as_linux(args):
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare (util-linux) is not installed: the native run needs a PID namespace")
    argv = [compile_c("reboot"), *args]
    native = run_native([unshare, "-p", "-f", *argv], env=app_env())
    if b"unshare failed" in native.stderr:
        pytest.skip(f"no PID namespace natively: {tail(native.stderr, 200)}")
    boxed = run_sandboxed(argv, env=app_env())
    assert boxed.stdout == native.stdout, f"native:\n{tail(native.stdout)}\nsandbox:\n{tail(boxed.stdout)}"
    assert boxed.returncode == exit_code(native.returncode) == {"restart": 129, "restart2": 129, "halt": 130,
                                                                 "poweroff": 130}.get(args[0] if args else "", 0)
