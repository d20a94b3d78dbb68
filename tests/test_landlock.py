"""Landlock (issue 15): tests/programs/landlock.c's sections run natively and in the sandbox, where
the Sentry implements rulesets, domains and their checks (kernel/landlock.py, syscalls/landlock.py).
A section needs the host to have at least the Landlock ABI it exercises (natively it is the
reference); it is skipped, saying so, on an older host."""
import ctypes

import pytest

from harness import app_env, compare, compile_c

# section -> the Landlock ABI version it needs natively
SECTIONS = {"version": 7, "fs": 3, "exec": 1, "inherit": 1, "stack": 1, "threads": 1, "args": 7, "nnp": 1,
            "net": 4, "scope": 6, "ioctl": 5, "ptrace": 1, "refer": 4, "chroot": 1}


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
    # every section but the version query shows Landlock refusing something natively
    assert section == "version" or any(e in native.stdout for e in (b"EACCES", b"EPERM", b"EXDEV"))


@pytest.mark.parametrize("section", ["fs", "refer"])
def test_landlock_on_the_gofer_root(section):
    """The same on the root overlay (a gofer mount) rather than /tmp's tmpfs."""
    if _host_abi() < SECTIONS[section]:
        pytest.skip(f"the host's Landlock ABI is below {SECTIONS[section]}")
    binary = compile_c("landlock", static=True, extra=("-pthread",))
    compare([binary, section], env=app_env(LANDLOCK_DIR="/var/tmp"), native_status=0)


# --- the domain's path walk, on a hand-built tree --------------------------------------------------
class _Inode:
    def __init__(self, fs, ino, is_dir=True):
        self.fs, self.ino, self.is_dir, self.nlink = fs, ino, is_dir, 1

    def inc_ref(self):
        pass


def _tree():
    """/ (fs "a") with /mnt covered by a mount of fs "b" holding f."""
    from snakevisor.sentry.vfs.dentry import Dentry
    from snakevisor.sentry.vfs.mount import Mount, VirtualDentry
    root = Dentry(_Inode("a", 1))
    mnt = root.add_child(b"mnt", _Inode("a", 2))
    broot = Dentry(_Inode("b", 1))
    f = broot.add_child(b"f", _Inode("b", 2, is_dir=False))
    top = Mount(type("FS", (), {"root": root})(), root)
    below = Mount(type("FS", (), {"root": broot})(), broot, top, mnt)
    return root, mnt, VirtualDentry(below, f)


def _domain(rules):
    from snakevisor.abi import landlock as L
    from snakevisor.sentry.kernel import landlock as K
    rs = K.Ruleset(L.ACCESS_FS_READ_FILE | L.ACCESS_FS_WRITE_FILE, 0, 0)
    for inode in rules:
        rs.add_path(inode, L.ACCESS_FS_READ_FILE)
    return K.Domain(None, rs)


def test_walk_goes_up_through_mounts_past_the_covered_directory():
    from snakevisor.abi import landlock as L
    root, mnt, f = _tree()
    assert not _domain([root.inode]).denied(f, L.ACCESS_FS_READ_FILE)     # a rule on / covers /mnt/f
    assert _domain([mnt.inode]).denied(f, L.ACCESS_FS_READ_FILE)          # the covered /mnt is hidden
    assert _domain([root.inode]).denied(f, L.ACCESS_FS_WRITE_FILE) == L.ACCESS_FS_WRITE_FILE


def test_rule_of_a_removed_file_does_not_pass_to_its_inode_number():
    from snakevisor.abi import landlock as L
    root, _, f = _tree()
    domain = _domain([f.dentry.inode])
    assert not domain.denied(f, L.ACCESS_FS_READ_FILE)
    old = f.dentry.inode
    f.dentry.inode = _Inode("b", 2, is_dir=False)     # the same file looked up again: still covered
    assert not domain.denied(f, L.ACCESS_FS_READ_FILE)
    old.nlink = 0                                      # now a new file that reuses the number
    assert domain.denied(f, L.ACCESS_FS_READ_FILE)
