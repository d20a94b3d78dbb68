"""--overlay2 (runsc's flag), on `do` and on the OCI verbs: where the root's changes go. root:memory
(the default) keeps them in a scratch tmpfs, root:DIR in a fresh directory under the host directory
DIR (gone when the sandbox ends), none writes the root directory itself, as runc does. Bad values
get one line and a non-zero exit."""
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

from harness import snakevisor_cmd, sandbox_env
from oci_support import busybox_rootfs, make_bundle, sv

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox needs root")


def do(*args, timeout=120):
    return subprocess.run(snakevisor_cmd("do", *args), capture_output=True, text=True, timeout=timeout,
                          env=sandbox_env(), stdin=subprocess.DEVNULL)


def private_rootfs(tmp_path):
    rootfs = str(tmp_path / "rootfs")
    shutil.copytree(busybox_rootfs(), rootfs, symlinks=True)
    return rootfs


@pytest.mark.parametrize("value, message", [
    ("all:memory", "only the root is overlaid"),
    ("root:self", "use root:DIR"),
    ("root:relative/dir", "DIR must be an absolute path"),
    ("root:/nonexistent", "/nonexistent is not a directory"),
    ("memory", "want root:memory, root:DIR or none"),
])
def test_bad_values_get_one_line(value, message):
    res = do(f"--overlay2={value}", "--", "/bin/true")
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and message in res.stderr, res.stderr


def test_do_none_refuses_the_hosts_own_root():
    res = do("--overlay2=none", "--", "/bin/true")
    assert res.returncode == 2 and "give --rootfs DIR" in res.stderr, res.stderr


@pytest.fixture
def var_tmp_dir():
    """A directory out of /tmp (the sandbox's /tmp is a tmpfs of its own, not the host's)."""
    path = tempfile.mkdtemp(prefix="overlay2-test-", dir="/var/tmp")
    yield pathlib.Path(path)
    shutil.rmtree(path, ignore_errors=True)


def test_do_root_dir_keeps_the_upper_layer_on_disk_and_removes_it(var_tmp_dir):
    """While the sandbox runs, its writes are files in a fresh directory under DIR (the host
    looks while the sandbox waits for it); that directory is gone afterwards."""
    script = "head -c 1048576 /dev/zero > /overlay2-probe; echo written; read answer; echo $answer"
    proc = subprocess.Popen(snakevisor_cmd("do", f"--overlay2=root:{var_tmp_dir}", "--", "/bin/sh", "-c", script),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=sandbox_env())
    try:
        assert proc.stdout.readline() == "written\n", proc.stderr.read()
        layers = list(var_tmp_dir.glob("snakevisor-overlay-*/upper/overlay2-probe"))
        assert [p.stat().st_size for p in layers] == [1048576]
        out, err = proc.communicate("seen\n", timeout=120)
    finally:
        proc.kill()
        proc.wait()
    assert (proc.returncode, out) == (0, "seen\n"), err
    assert list(var_tmp_dir.iterdir()) == []
    assert not os.path.exists("/overlay2-probe")


def test_do_none_with_rootfs_writes_it(tmp_path):
    rootfs = private_rootfs(tmp_path)
    res = do("--rootfs", rootfs, "--overlay2=none", "--", "/bin/sh", "-c", "echo through > /data/f; rm /etc/passwd")
    assert res.returncode == 0, res.stderr
    assert open(os.path.join(rootfs, "data", "f")).read() == "through\n"
    assert not os.path.exists(os.path.join(rootfs, "etc", "passwd"))
    # The default leaves it alone.
    res = do("--rootfs", rootfs, "--", "/bin/sh", "-c", "echo again > /data/f; echo new > /data/g")
    assert res.returncode == 0, res.stderr
    assert open(os.path.join(rootfs, "data", "f")).read() == "through\n"
    assert not os.path.exists(os.path.join(rootfs, "data", "g"))


def test_oci_none_writes_the_bundles_rootfs_as_runc(tmp_path, root):
    rootfs = private_rootfs(tmp_path)
    script = "echo from-container > /data/out; mkdir /data/d; ln -s out /data/l"
    b = make_bundle(str(tmp_path / "b"), ["sh", "-c", script], rootfs=rootfs, root={"path": rootfs, "readonly": False})
    res = sv(root, "--overlay2", "none", "run", "-b", b, "o1")
    assert res.returncode == 0, res.stderr
    data = os.path.join(rootfs, "data")
    assert open(os.path.join(data, "out")).read() == "from-container\n"
    assert os.path.isdir(os.path.join(data, "d")) and os.readlink(os.path.join(data, "l")) == "out"
    b = make_bundle(str(tmp_path / "b2"), ["sh", "-c", "echo again > /data/out; echo new > /data/new"],
                    rootfs=rootfs, root={"path": rootfs, "readonly": False})
    res = sv(root, "run", "-b", b, "o2")   # root:memory: the rootfs is not written
    assert res.returncode == 0, res.stderr
    assert sorted(os.listdir(data)) == ["d", "l", "out"]
    assert open(os.path.join(data, "out")).read() == "from-container\n"


def test_oci_root_dir_is_removed_with_the_container(tmp_path, root):
    upper = tmp_path / "upper"
    upper.mkdir()
    b = make_bundle(str(tmp_path / "b"), ["sh", "-c", f"echo x > /written; ls {upper} | wc -l"],
                    root={"path": busybox_rootfs(), "readonly": False})
    res = sv(root, "--overlay2", f"root:{upper}", "run", "-b", b, "o3")
    assert res.returncode == 0, res.stderr
    assert list(upper.iterdir()) == []
    res = sv(root, "--overlay2", "root:self", "run", "-b", b, "o4")
    assert res.returncode == 1 and res.stderr.startswith("snakevisor: --overlay2 'root:self'"), res.stderr
