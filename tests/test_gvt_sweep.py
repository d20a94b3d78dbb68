"""Regressions found by a later sweep of gVisor's syscall tests (user namespaces' securebits, execve of
odd ELF files and scripts, nsfs files bound on files, netlink socket options, NUMA nodemasks, ACLs on overlays, detached mount trees, CPU-time clocks and limits, user namespace map writes, POSIX timer signals, smaps flags of read-only shared mappings): tests/programs/gvt_sweep.c, one case per argument, natively and in the
sandbox; stdout and exit status must match."""
import pytest

from harness import app_env, compare, compile_c

CASES = ["userns_securebits", "elf_no_return", "elf_interp", "script_depth", "nsfs_bind", "netlink_opts", "mempolicy_maxnode", "overlay_acl", "move_detached", "zombie_cpu_clock", "rlimit_cpu_zero", "userns_map_writes", "timer_behind_pending", "smaps_shared_ro"]


@pytest.mark.parametrize("case", CASES)
def test_gvt_sweep(case):
    native, _ = compare([compile_c("gvt_sweep"), case], env=app_env(), native_status=0)
    assert native.stdout, "the case printed nothing"
