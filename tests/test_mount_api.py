"""The new mount API inside the sandbox (issue 16, "Kernel features II"; syscalls/mount_api.py):
fs contexts (fsopen, fsconfig, fsmount, fspick), open_tree, move_mount and mount_setattr,
natively as root and sandboxed."""
import os
import shutil

import pytest

from harness import compare, compile_c, run_native, run_sandboxed


def _need_linux_6_8():
    """The programs print what Linux 6.8+ does (MOVE_MOUNT_BENEATH, FSCONFIG_CMD_CREATE_EXCL,
    mountinfo by mount id, EMSGSIZE keeping a message): an older host kernel answers otherwise."""
    release = tuple(int(x) for x in os.uname().release.split("-")[0].split(".")[:2])
    if release < (6, 8):
        pytest.skip(f"the host kernel {os.uname().release} predates Linux 6.8's mount API")


def test_mount_api_matches_linux():
    _need_linux_6_8()
    compare([compile_c("mount_api")], native_status=0)


def test_util_linux_mount_bind_and_read_only_remount():
    """util-linux 2.38's mount --bind, -o remount,bind,ro and --bind -o ro (which still use
    mount(2): strace natively shows no fsopen/open_tree) in a mount namespace of their own."""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.skip("util-linux's unshare and mount are not installed")
    script = ("mount --make-rprivate / && mount -t tmpfs x /mnt && mkdir /mnt/a /mnt/b && echo hi > /mnt/a/f && "
              "mount --bind /mnt/a /mnt/b && cat /mnt/b/f && mount -o remount,bind,ro /mnt/b && "
              "{ echo x 2>&1 > /mnt/b/g | sed 's/.*: //'; } ; mount --bind -o ro /mnt/a /mnt/b; "
              "grep ' /mnt/b ' /proc/self/mountinfo | cut -d' ' -f4-6; umount /mnt/b && umount /mnt/b && echo done")
    compare(["unshare", "-m", "sh", "-c", script], native_status=0)


def test_move_mount_set_group_matches_linux():
    _need_linux_6_8()
    compare([compile_c("mount_api_group")], native_status=0)


def test_util_linux_remount_superblock_and_bind():
    """mount -o remount (the superblock: its ro/rw and tmpfs size, never its mode) against
    mount -o remount,bind (the mount's flags only), as mountinfo's two option columns show."""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.skip("util-linux's unshare and mount are not installed")
    show = "grep ' /mnt ' /proc/self/mountinfo | cut -d' ' -f6,9-; "
    script = ("mount --make-rprivate / && mount -t tmpfs -o ro,size=64k x /mnt && " + show
              + "mount -o remount,rw,size=128k /mnt && " + show + "mount -o remount,bind,ro /mnt && " + show
              + "mount -o remount,ro /mnt && " + show + "mount -o remount,bind,rw /mnt && " + show
              + "{ touch /mnt/x 2>&1 | sed 's/.*: //'; } && mount -o remount,rw,size=4k,mode=700 /mnt && " + show
              + "stat -c %a /mnt; mount -o remount,bogus /mnt || echo refused")
    compare(["unshare", "-m", "sh", "-c", script], native_status=0)


def test_a_tmpfs_is_freed_with_its_last_mount():
    """30 tmpfs of 20 MiB each, mounted then unmounted, then made and dropped as detached trees
    (fsmount): in a 200 MiB sandbox only if each one's memory goes with its last mount; a file
    left open or a cwd keeps one working meanwhile. (Before, the 9th round had no space left.)"""
    binary = compile_c("mount_api_free")
    native = run_native([binary])
    assert native.returncode == 0, native.stdout.decode()
    boxed = run_sandboxed([binary], flags=("--memory", "200m"))
    assert (boxed.returncode, boxed.stdout) == (0, native.stdout), boxed.stdout.decode() + boxed.stderr.decode()[-2000:]


def test_a_mount_namespace_left_by_its_last_task_frees_its_tmpfs():
    """`unshare -m` 30 times, each filling a 20 MiB tmpfs of its own and exiting: in a 200 MiB
    sandbox only if a namespace's mounts go with its last task (put_mnt_ns)."""
    if shutil.which("unshare") is None:
        pytest.skip("util-linux's unshare is not installed")
    script = ("for i in $(seq 30); do unshare -m sh -c 'mount -t tmpfs x /mnt && "
              "head -c 20000000 /dev/zero > /mnt/big' || { echo round $i failed; exit 1; }; done; echo ok")
    boxed = run_sandboxed(["/bin/sh", "-c", script], flags=("--memory", "200m"))
    assert (boxed.returncode, boxed.stdout) == (0, b"ok\n"), boxed.stdout.decode() + boxed.stderr.decode()[-2000:]


def test_tmpfs_size_as_a_percentage_of_memory():
    """size=N% is N percent of MemTotal (the sandbox's memory), rounded up to whole pages; shmem's
    default (half of MemTotal's pages, rounded down) is left out of mountinfo, so 50% shows only
    where MemTotal is an odd number of pages; a remount takes a percentage too (systemd's tmp.mount
    mounts /tmp with size=50%)."""
    if shutil.which("unshare") is None:
        pytest.skip("util-linux's unshare is not installed")
    script = r"""
mount --make-rprivate / || exit 1
t=$(awk '/MemTotal/ {print $2}' /proc/meminfo)
size() { grep ' /mnt ' /proc/self/mountinfo | sed -n 's/.*size=\([0-9]*\)k.*/\1/p'; }
pct() { echo $(( (t * 1024 * $1 / 100 + 4095) / 4096 * 4 )); }
half=""; [ $(( t / 4 % 2 )) = 1 ] && half=$(pct 50)
mount -t tmpfs -o size=50% x /mnt && [ "$(size)" = "$half" ] && echo "50%: shown unless it is the default"
mount -o remount,size=40% /mnt && [ "$(size)" = "$(pct 40)" ] && echo "40%: 40 percent of MemTotal"
mount -o remount,size=1%x /mnt 2>/dev/null || echo "1%x refused"
umount /mnt && mount -t tmpfs -o size=7% x /mnt && [ "$(size)" = "$(pct 7)" ] && echo "7%: 7 percent of MemTotal"
"""
    compare(["unshare", "-m", "sh", "-c", script], native_status=0)
