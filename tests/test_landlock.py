"""Landlock (issue 15): tests/programs/landlock.c's sections run natively and in the sandbox, where
the Sentry implements rulesets, domains and their checks (kernel/landlock.py, syscalls/landlock.py).
A section needs the host to have at least the Landlock ABI it exercises (natively it is the
reference); it is skipped, saying so, on an older host."""
import ctypes

import pytest

from harness import compare, compile_c

# section -> the Landlock ABI version it needs natively
SECTIONS = {"version": 7, "fs": 3, "exec": 1, "inherit": 1, "stack": 1, "threads": 1, "args": 7, "nnp": 1,
            "net": 4, "scope": 6, "ioctl": 5, "ptrace": 1}


def _host_abi():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return max(0, libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1)))


@pytest.mark.parametrize("section", list(SECTIONS))
def test_landlock(section):
    abi = _host_abi()
    if abi < SECTIONS[section]:
        pytest.skip(f"the host's Landlock ABI is {abi}; section {section} needs {SECTIONS[section]} natively")
    binary = compile_c("landlock", static=True, extra=("-pthread",))
    native, _ = compare([binary, section], native_status=0)
    assert f"section {section}: status 0".encode() in native.stdout
    assert b"EACCES" in native.stdout or b"EPERM" in native.stdout or section == "version"
