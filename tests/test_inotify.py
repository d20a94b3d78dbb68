"""inotify (issue "Kernel features I"): tests/programs/inotify.c natively and in the sandbox, and
inotifywait and tail -f (which falls back to polling, and says so, without inotify) on the
sandbox's tmpfs and on its gofer-served root."""
import shutil

import pytest

from harness import compile_c, program_copy


def test_inotify_semantics_match_linux(differential):
    differential([compile_c("inotify")])


@pytest.mark.parametrize("where", ["/tmp", "/var/tmp"], ids=["tmpfs", "gofer"])
def test_inotifywait_and_tail_follow(differential, where):
    if shutil.which("inotifywait") is None:
        pytest.skip("inotifywait is not installed: sh tools/setup.sh --test installs inotify-tools")
    native, boxed = differential(["/bin/sh", program_copy("inotify_tools.sh"), where])
    assert b"MOVED_TO moved" in boxed.stdout and b"second" in boxed.stdout
    assert b"reverting to polling" not in boxed.stdout


def test_dnotify_matches_linux(differential):
    """fcntl(F_NOTIFY): the signal (F_SETSIG, POLL_MSG, si_fd), DN_* classes, masks adding up,
    DN_MULTISHOT, cancelling with 0."""
    differential([compile_c("dnotify")])
