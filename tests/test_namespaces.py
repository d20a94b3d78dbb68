"""Namespaces inside the sandbox (issue 16, "Kernel features II"): per-task UTS and IPC
namespaces made by unshare(2) and clone(2), joined by setns(2) (kernel/namespaces.py,
syscalls/namespace.py), natively and in the sandbox, and real programs using them."""
import shutil

import pytest

from harness import compare, compile_c, run_native, run_sandboxed


def test_uts_and_ipc_namespaces_match_linux():
    compare([compile_c("ns_uts_ipc")], native_status=0)


def _need(tool):
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed")
    return path


def test_unshare_u_changes_the_hostname_for_its_command_only():
    """util-linux's unshare -u: the command's hostname is its own; the sandbox's stays."""
    _need("unshare")
    script = "unshare -u sh -c 'hostname inner; hostname'; hostname"
    boxed = run_sandboxed(["/bin/sh", "-c", script], flags=("--hostname", "outer"))
    assert boxed.returncode == 0, boxed.stderr.decode()[-2000:]
    assert boxed.stdout.decode().split() == ["inner", "outer"]


def test_unshare_i_ipcs_sees_an_empty_namespace():
    """A SysV object made outside is not listed by `unshare -i ipcs`, but by plain ipcs."""
    _need("ipcs")
    script = ("ipcmk -M 4096 >/dev/null && unshare -i ipcs -m | grep -c 0x || true; "
              "ipcs -m | grep -c 0x")
    native_rows = run_native(["/bin/sh", "-c", "unshare -i ipcs -m | grep -c 0x || true"]).stdout.split()
    boxed = run_sandboxed(["/bin/sh", "-c", script])
    assert boxed.returncode == 0, boxed.stderr.decode()[-2000:]
    assert boxed.stdout.split() == native_rows + [b"1"]


def test_mount_namespaces_match_linux():
    compare([compile_c("ns_mount")], native_status=0)


def test_unshare_m_mounts_stay_in_the_new_namespace():
    """util-linux's unshare -m (which makes / rprivate first): a tmpfs mounted inside is used
    there and not seen by the sandbox's other processes."""
    _need("unshare")
    script = ("unshare -m sh -c 'mount -t tmpfs none /mnt && touch /mnt/f && ls /mnt && "
              "grep -c \" /mnt tmpfs\" /proc/self/mounts'; "
              "grep -c ' /mnt tmpfs' /proc/self/mounts; test -e /mnt/f; echo $?")
    boxed = run_sandboxed(["/bin/sh", "-c", script])
    assert boxed.returncode == 0, boxed.stderr.decode()[-2000:]
    assert boxed.stdout.decode().split() == ["f", "1", "0", "1"]


def test_bubblewrap_read_only_root_proc_dev():
    """bubblewrap (as root: no user namespace needed) builds its root from binds, a proc, a
    tmpfs /dev and remounts (its /proc/sys bound on itself read-only): the same as natively."""
    bwrap = _need("bwrap")
    script = 'touch /etc/x 2>&1 | sed "s/.*: //"; ls /dev; hostname; grep -c . /proc/self/mountinfo >/dev/null; echo ok'
    compare([bwrap, "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--unshare-uts", "--hostname", "inner",
             "sh", "-c", script], native_status=0)
    compare([bwrap, "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"], native_status=0)


def test_a_dropped_ipc_namespace_frees_its_shared_memory():
    """Segments left in an IPC namespace go when its last task exits (free_ipc_ns): 40 x 16 MiB
    of them fit in a 200 MiB sandbox. (With the namespaces kept, the 12th child's shmget or shmat fails.)"""
    boxed = run_sandboxed([compile_c("ns_ipc_free")], flags=("--memory", "200m"))
    assert boxed.stdout.decode() == "40 namespaces freed\n", boxed.stdout.decode() + boxed.stderr.decode()[-2000:]


def test_mount_max_bounds_the_mounts_of_a_namespace():
    """/proc/sys/fs/mount-max (100000 by default, as Linux's) bounds a namespace's mounts: past it
    mount(2) is ENOSPC. (The Sentry's own; natively the sysctl is the host's, so not compared.)"""
    script = ("cat /proc/sys/fs/mount-max; echo 0 > /proc/sys/fs/mount-max || echo refused; "
              "unshare -m sh -c 'n=$(wc -l < /proc/self/mounts); echo $((n + 3)) > /proc/sys/fs/mount-max; "
              "for i in 1 2 3 4 5; do mkdir -p /tmp/m$i; mount -t tmpfs t /tmp/m$i 2>/dev/null || echo full at $i; done; "
              "mount --rbind /tmp /mnt 2>/dev/null || echo rbind refused'")
    boxed = run_sandboxed(["/bin/sh", "-c", script])
    lines = boxed.stdout.decode().splitlines()
    assert lines == ["100000", "refused", "full at 4", "full at 5", "rbind refused"], boxed.stdout.decode() + boxed.stderr.decode()[-2000:]


def test_mount_propagation_matches_linux():
    """Shared subtrees: peers, slaves, tucked mounts, umount propagation, copies of namespaces
    (peers; slaves and locked trees in a new user namespace's)."""
    compare([compile_c("mount_propagation")], native_status=0)


def test_random_mount_sequences_match_linux():
    """Shared subtrees under random sequences (tests/programs/mount_fuzz.c): forty seeds of sixty
    mounts, binds, moves, type changes and umounts, some in child mount namespaces (of new user
    namespaces too); every result
    and every path's view (files, peer groups, masters) as Linux's."""
    compare([compile_c("mount_fuzz"), "1", "40", "60"], native_status=0, timeout=300)
