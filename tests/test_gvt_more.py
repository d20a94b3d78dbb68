"""More regressions found with gVisor's syscall tests as an oracle (set-ID execve and execveat,
/proc/PID/maps and the rest of /proc, ptrace, ptys, ru_maxrss, group stops, pidfds, sockets' owner
ioctls, AIO, FIFO opens, System V IPC, atime, mountinfo): tests/programs/gvt_more.c, one case per
argument, natively and in the sandbox; stdout and exit status must match. One case the host kernel
may not support is held to Linux's source instead (test_vma_anon_name)."""
import pytest

from harness import app_env, compare, compile_c, run_sandboxed

CASES = ["vdso_buffer", "proc_personality", "suid_exec", "sgid_exec", "exec_saved_ids", "execveat_nofollow", "execveat_cloexec", "maps_merged",
         "ptrace_sigmask", "pty_packet_flush", "pty_hup_pollout", "pty_canon_switch", "rusage_maxrss",
         "stop_all_threads", "stop_nanosleep", "process_vm_empty", "pidfd_checks", "socket_owner", "aio_ring", "fifo_open_blocks", "shm_attach", "msg_copy_small", "dev_lseek", "ptrace_listen", "sysemu_detach", "noatime", "mountinfo_root", "proc_files", "proc_lifetime", "hostname_poll", "userns_capless", "chown_killpriv", "xattr_perm", "o_direct", "nice_thread", "mounts_poll", "sys_net", "tmpfs_pages", "nr_open"]


@pytest.mark.parametrize("case", CASES)
def test_gvt_more(case):
    native, _ = compare([compile_c("gvt_more", extra=("-pthread",)), case], env=app_env(), native_status=0)
    assert native.stdout, "the case printed nothing"


# Linux's answers (mm/madvise.c madvise_set_anon_name, fs/proc/task_mmu.c show_map_vma), written
# out: the host these tests run on may lack CONFIG_ANON_VMA_NAME (EINVAL natively), so the
# sandbox is held to the kernel source rather than to a native run.
ANON_NAME_LINUX = """named: 0 ok
private: '[anon:test]'
empty name: '[anon:]'
no name: ''
a bad character: -1 EINVAL
shared: '[anon_shmem:shm]'
a file mapping: -1 EBADF
"""


def test_vma_anon_name():
    boxed = run_sandboxed([compile_c("gvt_more", extra=("-pthread",)), "vma_anon_name"], env=app_env())
    assert boxed.returncode == 0 and boxed.stdout.decode() == ANON_NAME_LINUX, boxed.stdout.decode()
