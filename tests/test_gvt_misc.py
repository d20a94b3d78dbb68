"""Regressions found with gVisor's syscall tests as an oracle (pipes, writev, waitid, clone3,
/proc/TID, mremap, getdents and inotify, MAP_FIXED_NOREPLACE, the parent thread of PR_SET_PDEATHSIG
and PTRACE_TRACEME, SIGBUS past the end of a private file mapping, mremap of shared objects, whole-file reads): tests/programs/gvt_misc.c, one case per argument, natively and in the sandbox;
stdout and exit status must match."""
import pytest

from harness import app_env, compare, compile_c

CASES = ["writev_gaps", "pipe_close_reader", "pipe_null_read", "waitid_zombie", "clone3_signal", "proc_tid",
         "mremap_shared", "dir_access", "fixed_noreplace",
         "pdeathsig_thread", "traceme_thread", "comm_write", "preadv_espipe",
         "fsync_stdout", "fork_affinity", "mlock_prot_none", "sigxfsz_sender", "private_past_eof",
         "mremap_object", "large_read", "setid_saved",
         "epoll_add_waiting", "sigprof_busy",
         "poll_epoll", "readv_bad_tail",
         "thread_cpu", "thread_cpu_own", "thread_cpu_other", "cpu_timers", "tmpfs_full_mmap", "vsyscall_fault", "special_mprotect"]


@pytest.mark.parametrize("case", CASES)
def test_gvt_misc(case):
    native, _ = compare([compile_c("gvt_misc", extra=("-pthread",)), case], env=app_env(), native_status=0)
    assert native.stdout, "the case printed nothing"
