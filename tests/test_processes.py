"""Processes (issue 4), differential: fork/exec/wait status encoding, waitid, WNOHANG,
ECHILD, zombies, orphans and subreapers, SIGCHLD; process groups and sessions; execve
from a thread, #! scripts, close-on-exec, vfork, posix_spawn, execveat; job control
(stop/continue) and death by signal through `snakevisor do`. Programs: tests/programs/proc_*.c.
"""
import os

import pytest

from harness import BUILD_DIR, app_env, compare, compile_c, run_native, run_sandboxed

SCRIPTS = {
    "script.sh": ('#!/bin/sh\necho "script: $(basename "$0") $# [$1] [$2]"\n', 0o755),
    "script_arg.sh": ('#!/bin/sh -e\ncase $- in *e*) echo "errexit on, arg [$1]";; *) echo "errexit off";; esac\n', 0o755),
    "nested.sh": ("#!{dir}/script.sh\nexit 9\n", 0o755),
    "noexec.sh": ("#!/bin/sh\necho should not run\n", 0o644),
    "badinterp.sh": ("#!/nonexistent/interp\n", 0o755),
    "garbage.bin": ("\x01\x02\x03garbage\x00\xff", 0o755),
    "noshebang.sh": ("echo no shebang ran\nexit 6\n", 0o755),
}


@pytest.fixture(scope="module")
def script_dir():
    """Scripts for proc_exec, outside /tmp (the sandbox has its own /tmp)."""
    d = os.path.join(BUILD_DIR, "proc_scripts")
    os.makedirs(d, exist_ok=True)
    for name, (text, mode) in SCRIPTS.items():
        path = os.path.join(d, name)
        with open(path, "w", encoding="latin-1") as f:
            f.write(text.format(dir=d))
        os.chmod(path, mode)
    return d


def test_wait_status_encoding():
    """Exit codes, deaths by signal, waitid fields, WNOHANG/WNOWAIT, ECHILD, zombies
    (/proc state Z), orphans re-parented to a subreaper, SIGCHLD, exec statuses."""
    binary = compile_c("proc_wait")
    native, _ = compare([binary], native_status=0)
    assert b"reparented to subreaper=1" in native.stdout


def test_pidfd():
    """pidfd_open, poll on a pidfd (exit, reap), pidfd_send_signal, waitid(P_PIDFD), pidfd_getfd, CLONE_PIDFD."""
    binary = compile_c("proc_pidfd")
    native, _ = compare([binary], native_status=0)
    assert b"waitid: pid matches=1 code=2 status=15" in native.stdout


def test_process_groups_and_sessions():
    binary = compile_c("proc_pgrp")
    native, _ = compare([binary], native_status=0)
    assert b"kill(-g) terminated 3 group members" in native.stdout


@pytest.mark.parametrize("section", ["thread_exec", "scripts", "cloexec", "exec_signals", "vfork_exec", "spawn"])
def test_exec(section, script_dir):
    binary = compile_c("proc_exec", extra=("-pthread",))
    compare([binary, script_dir, section], native_status=0)


@pytest.mark.parametrize("section", ["stop", "signalfd"])
def test_job_control_and_signalfd(section):
    """Group stop/continue (WUNTRACED, WCONTINUED, CLD_STOPPED/CONTINUED, held signals,
    every thread stops) and signalfd."""
    binary = compile_c("proc_jobctl", extra=("-pthread",))
    compare([binary, section], native_status=0)


def test_sh_kill_term_self_is_143():
    """The issue's example: the shell kills itself with SIGTERM; `snakevisor do` exits 128+15."""
    env = app_env()
    native = run_native(["/bin/sh", "-c", "kill -TERM $$"], env=env)
    assert native.returncode == -15
    boxed = run_sandboxed(["/bin/sh", "-c", "kill -TERM $$"], env=env)
    assert boxed.returncode == 143, boxed.stderr.decode(errors="replace")[-2000:]


@pytest.mark.parametrize("sig", [9, 11, 6, 10])
def test_death_by_signal_of_the_init_process(sig):
    """The sandbox's first process killed by a signal: exit status 128+N."""
    boxed = run_sandboxed(["/bin/sh", "-c", f"kill -{sig} $$; echo survived"], env=app_env())
    assert boxed.returncode == 128 + sig, boxed.stderr.decode(errors="replace")[-2000:]
    assert boxed.stdout == b""


def test_a_program_run_from_a_mount_releases_it_when_it_exits():
    """An exec holds its file (and so its mount and, unlinked, its data) only while the program
    runs: a tmpfs can be filled, run from and emptied again and again, then unmounted. (The loader
    kept every executed file forever: the mount stayed busy, an unlinked binary's pages stayed.)"""
    if not os.path.exists("/usr/bin/python3.11"):
        pytest.skip("needs /usr/bin/python3.11 (Debian 12's, 6.5 MB) as a large program to copy")
    script = ("mkdir -p /mnt/runfrom && mount -t tmpfs -o size=10m none /mnt/runfrom && "
              "for i in 1 2 3 4; do cp /usr/bin/python3.11 /mnt/runfrom/p && /mnt/runfrom/p -c 'print(1)' && "
              "rm /mnt/runfrom/p || exit 9; done; umount /mnt/runfrom && echo released")
    native = run_native(["unshare", "-m", "sh", "-c", script])
    boxed = run_sandboxed(["sh", "-c", script])
    assert native.stdout == b"1\n1\n1\n1\nreleased\n", native.stderr
    assert boxed.stdout == native.stdout, boxed.stderr.decode()[-2000:]


def test_execveat_of_a_descriptor():
    """A memfd still open for writing runs by execveat(fd, "", AT_EMPTY_PATH) (comm: its name),
    cannot be opened for writing while it runs; a name relative to a directory descriptor."""
    native, _ = compare([compile_c("execveat_fd")], native_status=0)
    assert b"comm=memfd:me" in native.stdout and b"ETXTBSY" in native.stdout
