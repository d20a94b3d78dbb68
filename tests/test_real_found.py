"""Regressions found by running real programs (cp, tar, git, sqlite3, perl, node, java, gdb, make)
natively and in the sandbox: tests/programs/real_found.c, one case per argument, run natively and
in the sandbox; stdout and exit status must match."""
import pytest

from harness import app_env, compare, compile_c, program_copy

CASES = ["posix_acl", "acl_modes", "st_blocks", "tmpfs_blocks", "fd_link_modes", "maxrss_after_free", "getrusage_many_vmas",
         "poll_same_fd_twice", "poll_two_threads", "epoll_closed_without_del"]


@pytest.mark.parametrize("case", CASES)
def test_real_found(case):
    native, _ = compare([compile_c("real_found"), case], env=app_env(), native_status=0)
    assert native.stdout, "the case printed nothing"


def test_acl_modes_gofer():
    """ACLs of a Gofer file (the root overlay: /var/tmp natively is the host's own): the host applies
    them, the Sentry must see the mode they leave, check the owner and leave the umask out under a
    default ACL."""
    native, _ = compare([compile_c("real_found"), "acl_modes", "/var/tmp"], env=app_env(), native_status=0)
    if b"new file: mode 660" not in native.stdout:
        pytest.skip("the host's /var/tmp has no POSIX ACLs")


@pytest.mark.parametrize("base", ["/dev/shm", "/var/tmp"])
def test_acl_checks(base):
    """tests/programs/acl_checks.py on tmpfs (the Sentry's ACLs) and a Gofer file (the host's)."""
    native, _ = compare(["/usr/bin/python3", program_copy("acl_checks.py"), base], env=app_env(), native_status=0)
    if b"named group reads ok" not in native.stdout:
        pytest.skip(f"the host's {base} has no POSIX ACLs")


@pytest.mark.parametrize("base", ["/dev/shm", "/var/tmp"])
def test_acl_userns(base):
    """tests/programs/acl_userns.sh: ACL ids through a user namespace, on tmpfs and a Gofer file."""
    native, _ = compare(["/bin/bash", program_copy("acl_userns.sh"), base], env=app_env(), native_status=0)
    if b"inside [(1, 6, 4294967295), (2, 4, 1000)" not in native.stdout:
        pytest.skip(f"the host's {base} has no POSIX ACLs, or no user namespaces")


def test_st_blocks_gofer():
    """st_blocks of a Gofer file of the root overlay the sandbox wrote (/var/tmp natively is the host's)."""
    compare([compile_c("real_found"), "st_blocks", "/var/tmp"], env=app_env(), native_status=0)
