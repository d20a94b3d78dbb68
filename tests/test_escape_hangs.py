"""Hangs where Linux returns, permission checks, and raw sockets (issue 11 "Trust", items 13 and 3).

Differential (tests/programs/escape_hangs.c, one mode per test, run natively and in the
sandbox with a deadline: a hang fails the test instead of stalling the suite):
- a blocking UDP recv wakes with 0 after shutdown(SHUT_RD), also from another thread;
- 0-byte datagrams (UDP, AF_UNIX dgram and seqpacket) are delivered as 0-byte messages;
- /proc/self/task/TID has no task/ directory, so a walk of /proc/self ends;
- RLIMIT_FSIZE: EFBIG and SIGXFSZ from write, pwrite, writev, ftruncate, fallocate, sendfile,
  copy_file_range and splice;
- a signal frame that overflows the alternate stack kills with SIGSEGV;
- kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo need a matching uid or CAP_KILL.
Raw and packet sockets are refused unless the sandbox runs with --net-raw (as runsc), and even
then need CAP_NET_RAW in the task's credentials.
"""
import os

import pytest

from conftest import compile_c
from proc_util import Hung, app_env, compare, run_boxed


def _binary():
    return compile_c("escape_hangs", extra=("-lpthread",))


def test_udp_recv_wakes_after_shutdown_rd():
    """A reader blocked in recvfrom when another thread calls shutdown(SHUT_RD) wakes with 0;
    later blocking reads return 0 at once, MSG_DONTWAIT ones EAGAIN; datagrams still arrive."""
    native, _ = compare([_binary(), "udp-shutdown"], timeout=60, native_status=0)
    assert b"blocked recvfrom woke: 0" in native.stdout


def test_zero_length_datagrams_delivered():
    """write(2)/send/sendto of 0 bytes on UDP, AF_UNIX dgram and seqpacket sockets queue a 0-byte
    message (POLLIN; recv returns 0); writev of nothing sends nothing; read(2) of 0 takes nothing."""
    native, _ = compare([_binary(), "zero-dgram"], timeout=60, native_status=0)
    assert b"unix dgram write: poll: 1" in native.stdout


def test_proc_task_tid_has_no_task_dir():
    """/proc/self/task/TID lacks task/ (as Linux's tid_base_stuff); a walk of /proc/self meets
    exactly one task directory (it recursed forever when every TID had one)."""
    native, _ = compare([_binary(), "proc-task"], timeout=60, native_status=0)
    assert b"(depth 6): 1\n" in native.stdout


@pytest.mark.parametrize("where", ["/dev/shm", "/var/tmp"])
def test_rlimit_fsize(where):
    """Past RLIMIT_FSIZE every way of growing a regular file gives EFBIG and SIGXFSZ (ignored:
    EFBIG alone; default: death by SIGXFSZ); writes that straddle it are short; pipes are not
    limited. On a tmpfs (/dev/shm) and on the root filesystem (the Gofer's files in the sandbox)."""
    native, _ = compare([_binary(), "fsize", where], timeout=60, native_status=-25)
    assert b"splice at the limit: -1 EFBIG SIGXFSZ=1" in native.stdout


@pytest.mark.parametrize("mode", ["altstack-nest", "altstack-small"])
def test_altstack_overflow_segv(mode):
    """A handler nesting on its alternate stack until the next frame no longer fits, and a frame
    larger than the whole alternate stack: the process gets SIGSEGV (get_sigframe), and no
    handler ever runs below the alternate stack."""
    compare([_binary(), mode], timeout=60, native_status=-11)


def test_kill_permission_after_dropping_privileges():
    """A child that dropped to nobody gets EPERM signalling its root parent with kill, tkill,
    tgkill, rt_sigqueueinfo and rt_tgsigqueueinfo (tkill was unchecked); SIGCONT within the
    session and signals to itself are allowed; root (CAP_KILL) may signal the child."""
    native, _ = compare([_binary(), "kill-perm"], timeout=60, native_status=0)
    assert b"tkill(parent, SIGUSR1): -1 EPERM" in native.stdout
