"""Regressions found with gVisor's syscall tests as an oracle (files, directories, fcntl,
sendfile, lseek, procfs, utimes): tests/programs/gvt_vfs.c, one case per argument, run natively
and in the sandbox; stdout and exit status must match."""
import contextlib
import os
import shutil
import tempfile

import pytest

from harness import app_env, compare, compile_c, run_native, run_sandboxed

CASES = ["getdents", "trunc_times", "fcntl", "sendfile", "lseek", "fdinfo", "pread_espipe", "utimes", "rename_dots", "inotify_more",
         "long_target"]


@pytest.mark.parametrize("case", CASES)
def test_gvt_vfs(case):
    binary = compile_c("gvt_vfs")
    native, _ = compare([binary, case], env=app_env())
    assert native.returncode == 0, native.stdout.decode(errors="replace")[-2000:]


def test_protected_hardlinks():
    """The sandbox's fs.protected_hardlinks is 1, as Debian sets it; compared with a host that agrees."""
    with open("/proc/sys/fs/protected_hardlinks") as f:
        if f.read().strip() != "1":
            pytest.skip("this host's fs.protected_hardlinks is not 1: native links would differ")
    native, _ = compare([compile_c("gvt_vfs"), "protected_hardlinks"], env=app_env())
    assert b"EPERM" in native.stdout


@contextlib.contextmanager
def place(where):
    """(base directory, sandbox flags) for a case run on the sandbox's tmpfs, on the overlay root
    (a Gofer mount this sandbox alone writes) or on a volume (a shared Gofer mount): a fresh host
    directory, searchable by everyone, for the volume."""
    if where != "volume":
        yield ("/tmp" if where == "tmpfs" else "/var/tmp"), ()
        return
    host = tempfile.mkdtemp(prefix="gvt_vfs-vol.", dir="/var/tmp")
    try:
        os.chmod(host, 0o755)
        yield host, ("-v", f"{host}:{host}")
    finally:
        shutil.rmtree(host)


@pytest.mark.parametrize("where", ["tmpfs", "overlay", "volume"])
def test_setid_write(where):
    """pjdfstest chmod/12: a write or truncation by a writer without CAP_FSETID clears the file's
    set-id bits (the sandbox kept them)."""
    with place(where) as (base, flags):
        native, _ = compare([compile_c("gvt_vfs"), "setid_write", base], env=app_env(), flags=flags)
    assert b"04777 gid 0     write          status 0 -> 00777" in native.stdout


@pytest.mark.parametrize("where", ["tmpfs", "overlay", "volume"])
def test_chown_noop(where):
    """pjdfstest chown/00: chown(-1, -1) is anyone's (the sandbox asked for the owner), clears
    set-id bits, root's too (the sandbox cleared them only when ids were given), and changes the
    change time (the sandbox's tmpfs and Gofer mounts left it)."""
    with place(where) as (base, flags):
        native, _ = compare([compile_c("gvt_vfs"), "chown_noop", base], env=app_env(), flags=flags)
    assert b"00644 0:0 user -1 -1         = 0" in native.stdout and b"ctime changed 1" in native.stdout


@pytest.mark.parametrize("where", ["tmpfs", "overlay", "volume"])
def test_rename_dir_parent(where):
    """pjdfstest rename/09: a directory moved to another parent needs write permission on itself
    (its ".." changes), as an exchanged one does; the sandbox moved it."""
    with place(where) as (base, flags):
        native, _ = compare([compile_c("gvt_vfs"), "rename_dir_parent", base], env=app_env(), flags=flags)
    assert b'rename("p1/d", "p2/d")                                       = -1 EACCES' in native.stdout


@pytest.mark.parametrize("where", ["/tmp", "ovl"])
def test_caps_write(where):
    """A write, truncation, allocation or chown of a file drops its file capabilities
    (security.capability), even root's (file_remove_privs); the sandbox's tmpfs, and an overlay
    over it, kept them. Setting them checks the value and CAP_SETFCAP (the sandbox took anything
    from anyone)."""
    native, _ = compare([compile_c("gvt_vfs"), "caps_write", where], env=app_env(), native_status=0)
    assert b"write          set 0 status 0 -> -1 ENODATA" in native.stdout


def _lower_with_caps():
    """A host directory (searchable by all) of files f-OP holding file capabilities (v2, CAP_NET_RAW)."""
    host = tempfile.mkdtemp(prefix="gvt_vfs-caps.", dir="/var/tmp")
    os.chmod(host, 0o755)
    value = (0x02000001).to_bytes(4, "little") + (1 << 13).to_bytes(4, "little") + bytes(12)
    for op in ("chown", "truncate", "write", "none"):
        path = os.path.join(host, "f-" + op)
        with open(path, "wb") as f:
            f.write(b"data")
        os.chmod(path, 0o644)
        os.setxattr(path, "security.capability", value)
    return host


def test_caps_overlay_lower():
    """An overlay over a Gofer directory whose files hold file capabilities: a chown or a
    truncation by path copies the file up and drops them (the sandbox kept them: the lower file's
    were not looked at before the copy-up brought them to a tmpfs upper)."""
    binary = compile_c("gvt_vfs")
    outputs = []
    for run in (run_native, run_sandboxed):
        host = _lower_with_caps()
        try:
            outputs.append(run([binary, "caps_lower", host], env=app_env()))
        finally:
            shutil.rmtree(host)
    native, boxed = outputs
    assert native.returncode == 0 and b"truncate  before 20, op 0, after -1 ENODATA" in native.stdout, native.stdout
    assert boxed.stdout == native.stdout, (native.stdout, boxed.stdout, boxed.stderr[-2000:])
