"""Kernel keyrings (issue "Kernel features I"): tests/programs/keyrings.c natively (as root) and in
the sandbox, keyctl(1) from keyutils doing the same, and what only the sandbox can show (its one
anonymous session keyring, the quota sysctls)."""
import shutil

import pytest

from harness import compile_c, program_copy, run_sandboxed


def test_keyrings_match_linux(differential):
    differential([compile_c("keyrings")], native_status=0)


def test_keyctl_tool_matches_linux(differential):
    keyctl = shutil.which("keyctl")
    if keyctl is None:
        pytest.skip("keyctl (keyutils) is not installed: sh tools/setup.sh --test installs it")
    # Both runs start in a session keyring of their own (keyctl reports it on stderr).
    differential([keyctl, "session", "-", "/bin/sh", program_copy("keyctl_tool.sh")], native_status=0)


SCRIPT = r"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
SESSION = -3
def keyring_id():
    return libc.syscall(250, 0, ctypes.c_long(SESSION), 0)
parent = keyring_id()
print(parent == keyring_id() > 0)
pid = os.fork()
if pid == 0:
    os._exit(0 if keyring_id() == parent else 1)
print(os.waitpid(pid, 0)[1])
print(open("/proc/sys/kernel/keys/maxkeys").read().strip(), open("/proc/sys/kernel/keys/maxbytes").read().strip())
buf = ctypes.create_string_buffer(64)
libc.syscall(250, 6, ctypes.c_long(SESSION), buf, 64)
print(buf.value.decode())
print([line.split()[-2:] for line in open("/proc/keys") if "_ses" in line])
"""


def test_one_anonymous_session_per_sandbox():
    boxed = run_sandboxed(["/usr/bin/python3", "-c", SCRIPT])
    assert boxed.returncode == 0, boxed.stderr.decode()[-2000:]
    assert boxed.stdout.decode().splitlines() == [
        "True", "0", "200 20000", "keyring;0;0;3f030000;_ses", "[['_ses:', 'empty']]"]
