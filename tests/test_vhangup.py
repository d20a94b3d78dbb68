"""vhangup(2) (issue "Kernel features I"): tests/programs/vhangup.c natively and in the sandbox, a
session leader hanging up its pty: signals, the session's loss of the terminal, hung-up
descriptions against a new open, EPERM without CAP_SYS_TTY_CONFIG."""
from harness import compile_c


def test_vhangup_matches_linux(differential):
    differential([compile_c("vhangup")], native_status=0)
