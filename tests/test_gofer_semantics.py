"""Differential: file semantics on Gofer-backed mounts (a volume and the overlay root) as on
Linux, in one C program (tests/programs/gofer_semantics.c): renameat2 RENAME_EXCHANGE and
RENAME_NOREPLACE, mknod of a FIFO, a socket and the 0:0 whiteout, O_TMPFILE named through
/proc/self/fd, copy_file_range, FICLONE, SEEK_DATA/SEEK_HOLE. Run natively in a host directory
and in the sandbox on a volume of another and on a new directory of the root: same output."""
import os

import pytest

from harness import compile_c, run_native, run_sandboxed


@pytest.fixture(scope="module")
def prog():
    return compile_c("gofer_semantics")


def _native(prog, tmp_path):
    r = run_native([prog, str(tmp_path / "native")])
    assert r.returncode == 0, r.stderr
    return r.stdout.decode()


# The root is an overlayfs in the Gofer, and Linux's overlayfs refuses to make a whiteout through
# it (ovl_create_object: EPERM; checked natively on 6.18 in an overlay mount): as natively there.
# Nor does it take RENAME_WHITEOUT (ovl_rename: EINVAL), so the file stays where it was.
_ON_OVERLAY = {"mknod whiteout: 0\n": "mknod whiteout: -1 EPERM\n", " wh=c ": " wh=- ",
               "whiteout c to e: 0\nkinds: c=c e=f\n": "whiteout c to e: -1 EINVAL\nkinds: c=f e=-\n"}


@pytest.mark.parametrize("where", ["volume", "root"])
def test_gofer_mount_semantics_as_natively(prog, tmp_path, where):
    expect = _native(prog, tmp_path)
    if where == "root":
        for native, overlay in _ON_OVERLAY.items():
            assert native in expect
            expect = expect.replace(native, overlay)
    vol = tmp_path / "vol"
    vol.mkdir()
    if where == "volume":
        boxed = run_sandboxed([prog, "/vol/d"], flags=("--volume", f"{vol}:/vol"))
    else:
        boxed = run_sandboxed([prog, "/gofer-semantics"])
    assert boxed.stdout.decode() == expect, boxed.stderr.decode(errors="replace")[-2000:]
    assert boxed.returncode == 0
    if where == "volume":   # what the application made is on the host, as it says
        names = sorted(p.name for p in (vol / "d").iterdir())
        assert names == sorted(p.name for p in (tmp_path / "native").iterdir())


STATVFS = ("import os; s = os.statvfs('/'); "
           "print(s.f_bsize, s.f_blocks - s.f_bfree, s.f_bfree, s.f_files - s.f_ffree)")


def test_root_statvfs_counts_the_image_as_used(tmp_path):
    """The overlay root's statvfs: its upper layer's free space (a scratch tmpfs), and the image
    (the host's /, the lower layer) counted as used, blocks and files, as df in a container on a
    disk-backed overlay shows it; not an empty root (df 0%, shutil.disk_usage().used == 0)."""
    host = os.statvfs("/")
    host_used = (host.f_blocks - host.f_bfree) * host.f_frsize
    r = run_sandboxed(["/usr/bin/python3", "-c", STATVFS])
    assert r.returncode == 0, r.stderr.decode()
    bsize, used, free, files_used = map(int, r.stdout.split())
    # The host's / may change a little meanwhile (other processes write): within 10 %.
    assert abs(used * bsize - host_used) <= host_used // 10 + (64 << 20), (used * bsize, host_used)
    assert files_used >= (host.f_files - host.f_ffree) * 9 // 10
    assert free * bsize < host.f_bfree * host.f_frsize or host.f_bfree * host.f_frsize < (1 << 30)
    # An upper layer on the image's own filesystem (--overlay2=root:DIR) counts it there already.
    r = run_sandboxed(["/usr/bin/python3", "-c", STATVFS], flags=("--overlay2", "root:/var/tmp"))
    assert r.returncode == 0, r.stderr.decode()
    bsize, used, free, _ = map(int, r.stdout.split())
    if os.stat("/var/tmp").st_dev == os.stat("/").st_dev:
        assert abs(used * bsize - host_used) <= host_used // 10 + (64 << 20), (used * bsize, host_used)
