"""overlayfs inside the sandbox (fsimpl/overlay.py): mount -t overlay and fsopen("overlay") over
the Sentry's own filesystems, natively as root (in a private mount namespace) and sandboxed."""
import shutil
import sys

import pytest

from harness import compare, compile_c


def _need_util_linux():
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.skip("util-linux's unshare and mount are not installed")


def test_overlay_matches_linux():
    """Merging, whiteouts, opaque directories, copy-up of data and metadata, removals leaving
    whiteouts, EXDEV renames of lower directories, st_dev/st_ino relations, option errors, a
    read-only overlay and the new mount API's lowerdir+ (tests/programs/overlay.c)."""
    compare([compile_c("overlay")], native_status=0)


def test_mount_command_makes_an_overlay():
    """util-linux's mount -t overlay in unshare -m, as a container builder runs it."""
    _need_util_linux()
    script = ("mount --make-rprivate / && mount -t tmpfs x /mnt && cd /mnt && mkdir -p lo/d up wk m && "
              "echo a > lo/f && echo x > lo/d/x && "
              "mount -t overlay overlay -o lowerdir=/mnt/lo,upperdir=/mnt/up,workdir=/mnt/wk /mnt/m && "
              "ls m m/d && echo b >> m/f && cat m/f lo/f && rm m/d/x && ls -a m/d up/d && "
              "stat -c %F up/d/x && grep ' /mnt/m ' /proc/self/mountinfo | cut -d' ' -f5,9- && "
              "umount m && ls up && echo done")
    compare(["unshare", "-m", "sh", "-c", script], native_status=0)


def test_overlay_over_the_root_and_over_an_overlay():
    """A Gofer directory (/etc of the sandbox's root) as the lower layer, copied up on append and
    whited out on removal; then that overlay as the lower layer of a second one."""
    _need_util_linux()
    script = ("mount --make-rprivate / && mount -t tmpfs x /mnt && cd /mnt && mkdir -p u w m u2 w2 m2 && "
              "mount -t overlay overlay -o lowerdir=/etc,upperdir=/mnt/u,workdir=/mnt/w /mnt/m && "
              "head -1 m/passwd && echo extra >> m/passwd && tail -1 m/passwd && ls u && rm m/hostname && "
              "{ ls m/hostname 2>&1 | sed 's/.*: //'; } && test -f /etc/hostname && echo host-untouched && "
              "mount -t overlay overlay -o lowerdir=/mnt/m,upperdir=/mnt/u2,workdir=/mnt/w2 /mnt/m2 && "
              "echo again >> m2/passwd && tail -2 m2/passwd && tail -1 m/passwd && "
              "{ ls m2/hostname 2>&1 | sed 's/.*: //'; } && ls u2 && umount m2 && umount m && echo done")
    compare(["unshare", "-m", "sh", "-c", script], native_status=0)


def test_failed_copy_up_leaves_nothing():
    """A copy-up the upper tmpfs has no room for: ENOSPC, and no partial copy in the upper (Linux
    copies up in workdir, then renames); a small file copies up after it."""
    _need_util_linux()
    script = ("mount --make-rprivate / && mount -t tmpfs -o size=64k x /mnt && cd /mnt && mkdir -p u w m && "
              "mount -t overlay overlay -o lowerdir=/usr/bin,upperdir=/mnt/u,workdir=/mnt/w /mnt/m && "
              "{ touch m/python3 2>&1 | sed 's/.*: //'; } ; ls u; touch m/true && ls u && umount m && echo done")
    compare(["unshare", "-m", "sh", "-c", script], native_status=0)



DEV_INO_SCRIPT = r"""
mount --make-rprivate / && mount -t tmpfs x /mnt && cd /mnt && mkdir -p u w m &&
mount -t overlay overlay -o lowerdir=/etc,upperdir=/mnt/u,workdir=/mnt/w /mnt/m &&
M=$(stat -c %d m) U=$(stat -c %d u) E=$(stat -c %d /etc)
rel() { d=$1; if [ $d = $M ]; then echo ovl; elif [ $d = $U ]; then echo upper; elif [ $d = $E ]; then echo etc; else echo other$2; fi; }
echo "m $(rel $(stat -c %d m)) $(stat -c %i m)"
echo "dir m/default $(rel $(stat -c %d m/default)) $(stat -c %i m/default)"
P=$(stat -c %d m/hostname)
echo "file $(rel $P) same-ino $([ $(stat -c %i m/hostname) = $(stat -c %i /etc/hostname) ] && echo y)"
echo x >> m/hostname; echo "copied $( [ $(stat -c %d m/hostname) = $P ] && echo same-dev) same-ino $([ $(stat -c %i m/hostname) = $(stat -c %i /etc/hostname) ] && echo y)"
touch m/new; N=$(stat -c %d m/new); echo "new $(rel $N) $( [ $N = $P ] && echo same-as-lower-pseudo) ino-upper $([ $(stat -c %i m/new) = $(stat -c %i u/new) ] && echo y)"
mkdir m/newd; echo "newd $(rel $(stat -c %d m/newd)) $(stat -c %i m/newd)"
touch m/default/x; echo "copied dir $(rel $(stat -c %d m/default)) $(stat -c %i m/default)"
python3 -c '
import os
for e in sorted(os.scandir("/mnt/m"), key=lambda e: e.name):
    if e.name in ("hostname", "default", "newd", "newf", "passwd"):
        st = os.lstat(e.path)
        real = os.lstat(("/mnt/u/" if e.name.startswith("new") or e.name == "hostname" else "/etc/") + e.name)
        print(e.name, "d_ino is st_ino:", e.inode() == st.st_ino, "the real one:", e.inode() == real.st_ino)
'
"""


def test_st_dev_and_st_ino_across_filesystems():
    """Layers on two filesystems (the root's /etc under a tmpfs upper), Linux without xino:
    directories show the overlay's st_dev and numbers of its own (root 2, then in lookup order),
    other files a pseudo device of their origin's filesystem and their real inode number, kept
    by copy-up; a new upper file the upper's pseudo device. Readdir's d_ino is the topmost
    entry's real number (Linux translates it only on one filesystem or with xino)."""
    _need_util_linux()
    compare(["unshare", "-m", "sh", "-c", DEV_INO_SCRIPT], native_status=0)


def test_layers_are_changed_with_the_mounters_credentials():
    """An overlay mounted by the root of a user namespace (unshare -Urm) whose upper directory
    belongs to an unmapped user: reading works, but creating and copying up are EACCES, as the
    mounter may not write there (Linux's override_creds)."""
    _need_util_linux()
    script = ("mount --make-rprivate / && mount -t tmpfs x /mnt && mkdir -p /mnt/l /mnt/u /mnt/w /mnt/m && "
              "echo a > /mnt/l/f && chown 1000 /mnt/u && chmod 755 /mnt/u && "
              "unshare -Urm sh -c 'mount -t overlay o -o lowerdir=/mnt/l,upperdir=/mnt/u,workdir=/mnt/w /mnt/m; "
              "echo mount=$?; cat /mnt/m/f; touch /mnt/m/new 2>&1 | sed \"s/.*: //\"; "
              "echo x 2>&1 >> /mnt/m/f | sed \"s/.*: //\"; ls /mnt/m'; ls /mnt/u; echo done")
    compare(["unshare", "-m", "sh", "-c", script], native_status=0)



OPTIONS_SCRIPT = r"""
mount --make-rprivate / && mount -t tmpfs x /mnt && cd /mnt && mkdir -p l l2 m && i=0
for o in "index=off,xino=off,metacopy=off,redirect_dir=off" "xino=auto,redirect_dir=nofollow,nfs_export=off" "redirect_dir=follow,uuid=off,volatile" "userxattr" "uuid=null,default_permissions"; do
i=$((i+1)); mkdir u$i w$i; mount -t overlay o -o lowerdir=/mnt/l,upperdir=/mnt/u$i,workdir=/mnt/w$i,$o /mnt/m && grep ' /mnt/m ' /proc/self/mountinfo | cut -d' ' -f6,9- ; umount /mnt/m; done
mount -t overlay o -o lowerdir=/mnt/l:/mnt/l2 /mnt/m && grep ' /mnt/m ' /proc/self/mountinfo | cut -d' ' -f6,9- && { touch /mnt/m/x 2>&1 | sed 's/.*: //'; } && mount -o remount,rw /mnt/m 2>&1 | sed 's/.*: //'; umount /mnt/m
mount -t overlay o -o ro,lowerdir=/mnt/l,upperdir=/mnt/u1,workdir=/mnt/w1 /mnt/m && grep ' /mnt/m ' /proc/self/mountinfo | cut -d' ' -f6,9- && umount /mnt/m; echo done
"""


def test_options_shown_as_linux_and_read_only_overlays():
    """mountinfo's super options of overlays mounted with the options Linux takes and the Sentry
    has (their defaults resolved and left out as ovl_show_options does), a read-only overlay
    without an upper ("ro" in the super options; remounting it read-write EROFS), and a ro mount."""
    _need_util_linux()
    compare(["unshare", "-m", "sh", "-c", OPTIONS_SCRIPT], native_status=0)



READ_ONLY_SCRIPT = r"""
import os
os.system("mount --make-rprivate / && mount -t tmpfs x /mnt && mkdir -p /mnt/l1/d /mnt/l2 /mnt/m && echo a > /mnt/l1/f && mount -t overlay o -o lowerdir=/mnt/l1:/mnt/l2 /mnt/m")
fd = os.open("/mnt/m/f", os.O_RDONLY)
def t(name, fn):
    try: fn(); print(name, "ok")
    except OSError as e: print(name, e.strerror)
t("chmod", lambda: os.chmod("/mnt/m/f", 0o600))
t("fchmod", lambda: os.fchmod(fd, 0o600))
t("fchown", lambda: os.fchown(fd, 1, 1))
t("setxattr", lambda: os.setxattr("/mnt/m/f", "user.x", b"1"))
t("fsetxattr", lambda: os.setxattr(fd, "user.x", b"1"))
t("removexattr", lambda: os.removexattr("/mnt/m/f", "user.x"))
t("utime", lambda: os.utime("/mnt/m/f", (1, 1)))
t("futime", lambda: os.utime(fd, (1, 1)))
t("link", lambda: os.link("/mnt/m/f", "/mnt/m/g"))
t("rename", lambda: os.rename("/mnt/m/f", "/mnt/m/g"))
t("unlink", lambda: os.unlink("/mnt/m/f"))
t("rmdir", lambda: os.rmdir("/mnt/m/d"))
t("mkdir", lambda: os.mkdir("/mnt/m/e"))
t("truncate", lambda: os.truncate("/mnt/m/f", 0))
t("ftruncate", lambda: os.ftruncate(fd, 0))
t("tmpfile", lambda: os.open("/mnt/m/d", os.O_TMPFILE | os.O_RDWR))
t("symlink", lambda: os.symlink("x", "/mnt/m/s"))
t("mknod", lambda: os.mkfifo("/mnt/m/p"))
"""


def test_every_change_to_a_read_only_overlay_is_erofs():
    """An overlay without an upper: each way of changing a file or a directory is EROFS (by path
    and by descriptor), never a copy-up with nowhere to go."""
    _need_util_linux()
    compare(["unshare", "-m", sys.executable, "-c", READ_ONLY_SCRIPT], native_status=0)



ATTR_SCRIPT = r"""
mount --make-rprivate / && mount -t tmpfs x /mnt && cd /mnt && mkdir -p l u w m && echo a > l/f && echo b > l/g && chattr +d l/g &&
mount -t overlay o -o lowerdir=/mnt/l,upperdir=/mnt/u,workdir=/mnt/w /mnt/m &&
lsattr m/f m/g | cut -c1-22; chattr +a m/f; echo rc=$?; lsattr m/f u/f l/f | cut -c1-22; { echo x > m/f; } 2>&1 | sed 's/.*: //'; echo y >> m/f; cat m/f; echo z >> m/g; lsattr u/g | cut -c1-22; chattr -a m/f; chattr +i m/f; rm m/f 2>&1 | sed 's/.*: //'; chattr -i m/f; rm m/f && echo removed
"""


def test_chattr_on_an_overlay():
    """chattr/lsattr through an overlay: flags copy a lower file up; append-only and immutable
    act on the overlay's file but live in the overlay.protattr xattr, not on the upper inode;
    copy-up keeps nodump behind (Linux copies only sync and noatime)."""
    _need_util_linux()
    if shutil.which("chattr") is None:
        pytest.skip("e2fsprogs' chattr and lsattr are not installed")
    compare(["unshare", "-m", "sh", "-c", ATTR_SCRIPT], native_status=0)


def test_layers_outlive_the_mount_they_were_reached_by():
    """Unmounting the tmpfs that holds the layers leaves the overlay working (Linux's overlay
    holds private clones of the layers' mounts): the tmpfs is not killed under it."""
    _need_util_linux()
    script = ("mount --make-rprivate / && mount -t tmpfs x /mnt && mkdir -p /mnt/t /mnt/m && "
              "mount -t tmpfs y /mnt/t && cd /mnt/t && mkdir -p l u w && echo a > l/f && cd / && "
              "mount -t overlay o -o lowerdir=/mnt/t/l,upperdir=/mnt/t/u,workdir=/mnt/t/w /mnt/m && "
              "echo b > /mnt/m/g && umount /mnt/t && echo umounted && ls /mnt/t && cat /mnt/m/f /mnt/m/g && "
              "echo c >> /mnt/m/f && cat /mnt/m/f && umount /mnt/m && echo done")
    compare(["unshare", "-m", "sh", "-c", script], native_status=0)
