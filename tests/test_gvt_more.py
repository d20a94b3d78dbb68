"""More regressions found with gVisor's syscall tests as an oracle (set-user-ID and set-group-ID
execve, execveat's flags, /proc/PID/maps,
PTRACE_GETSIGMASK, pty packet mode and hangup, ru_maxrss,
SIGSTOP of every thread, a stopped nanosleep's deadline,
pidfds, sockets' owner ioctls, the AIO ring, FIFO opens, System V
shared memory and messages): tests/programs/gvt_more.c, one case per argument, natively and in the
sandbox; stdout and exit status must match."""
import pytest

from harness import app_env, compare, compile_c

CASES = ["suid_exec", "sgid_exec", "exec_saved_ids", "execveat_nofollow", "execveat_cloexec", "maps_merged",
         "ptrace_sigmask", "pty_packet_flush", "pty_hup_pollout", "rusage_maxrss",
         "stop_all_threads", "stop_nanosleep", "process_vm_empty", "pidfd_checks", "socket_owner", "aio_ring", "fifo_open_blocks", "shm_attach", "msg_copy_small", "dev_lseek", "ptrace_listen", "sysemu_detach", "noatime", "mountinfo_root", "proc_files", "proc_lifetime"]


@pytest.mark.parametrize("case", CASES)
def test_gvt_more(case):
    native, _ = compare([compile_c("gvt_more", extra=("-pthread",)), case], env=app_env(), native_status=0)
    assert native.stdout, "the case printed nothing"
