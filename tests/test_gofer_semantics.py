"""Differential: file semantics on Gofer-backed mounts (a volume and the overlay root) as on
Linux, in one C program (tests/programs/gofer_semantics.c): renameat2 RENAME_EXCHANGE and
RENAME_NOREPLACE, mknod of a FIFO, a socket and the 0:0 whiteout, O_TMPFILE named through
/proc/self/fd, copy_file_range, FICLONE, SEEK_DATA/SEEK_HOLE. Run natively in a host directory
and in the sandbox on a volume of another and on a new directory of the root: same output."""
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
