"""snakevisor inside a snakevisor sandbox (issue 16): the inner `do` runs its own Gofer, Sentry
and stubs as applications of the outer sandbox (its ptrace, seccomp, namespaces, pivot_root,
overlay mount and memfd-backed memory all served by the outer Sentry)."""
import sys

from harness import REPO, run_sandboxed


def test_a_nested_snakevisor_do_runs_a_command():
    script = (f"cd {REPO} && {sys.executable} -m snakevisor do -- /bin/sh -c "
              "'echo nested; cat /proc/self/comm; exit 7'; echo inner=$?")
    boxed = run_sandboxed(["/bin/sh", "-c", script], flags=("--volume", f"{REPO}:{REPO}:ro"), timeout=300)
    assert boxed.stdout.decode().split() == ["nested", "cat", "inner=7"], boxed.stderr.decode()[-3000:]
