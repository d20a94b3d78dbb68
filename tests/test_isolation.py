"""The Gofer's isolation and the writable root, as a user sees them (`snakevisor do`), and
hostile layouts proven against the isolated Gofer process.

* the root is an overlay: writes anywhere work and the host's files stay untouched;
* --volume writes land on the host, :ro gives EROFS, --rootfs serves a directory image,
  --overlay-upper keeps the changes;
* the Gofer runs in its own mount and network namespaces with pivot_root, a cut
  capability set, no_new_privs and a seccomp filter;
* symlinks planted to files outside the root, `..` walks and a rename race never give
  access to anything outside a mount's root.
"""
import os
import shutil
import signal
import socket
import sys
import threading
import time

import pytest

from harness import PLATFORM_FLAGS, REPO, run, sandbox_env, snakevisor_cmd, under_seccomp
from test_gofer_fs import GoferServer

from snakevisor.abi.errno import SyscallError
from snakevisor.gofer.isolation import GOFER_CAPS
from snakevisor.p9.client import Client
from snakevisor.sandbox.gofer_process import GoferMount, GoferProcess

SECRET = b"TOPSECRET-do-not-leak"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="isolation tests need root (namespaces, overlayfs)")


def do(*args, timeout=60):
    r = run(snakevisor_cmd("do", *PLATFORM_FLAGS, *args), cwd=REPO, timeout=timeout, env=sandbox_env())
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


@pytest.fixture(scope="module")
def busybox_rootfs(tmp_path_factory):
    bb = shutil.which("busybox")
    if bb is None:
        pytest.skip("busybox (busybox-static) is not installed")
    root = tmp_path_factory.mktemp("rootfs")
    for d in ("bin", "etc", "tmp", "dev", "proc", "data"):
        (root / d).mkdir()
    shutil.copy(bb, root / "bin" / "busybox")
    for applet in ("sh", "cat", "ls", "echo", "touch", "mkdir", "rm", "mv", "ln", "readlink"):
        os.symlink("busybox", root / "bin" / applet)
    (root / "etc" / "marker").write_text("rootfs\n")
    return root


@pytest.fixture
def secret(tmp_path):
    """A file and a directory outside every served root, holding SECRET."""
    d = tmp_path / "secretdir"
    d.mkdir()
    (d / "f").write_bytes(SECRET)
    (tmp_path / "secret").write_bytes(SECRET)
    return tmp_path


# --- what the user does -------------------------------------------------------------------
def test_root_is_writable_and_host_untouched():
    name = f"/etc/snakevisor-test-{os.getpid()}"
    before = open("/etc/hostname", "rb").read() if os.path.exists("/etc/hostname") else None
    rc, out, err = do("--", "/bin/sh", "-c",
                      f"echo hi > {name}; cat {name}; echo extra >> /etc/hostname; mkdir -p /usr/newdir/x")
    assert rc == 0, err
    assert out == "hi\n"
    assert not os.path.exists(name)
    assert not os.path.exists("/usr/newdir")
    if before is not None:
        assert open("/etc/hostname", "rb").read() == before


def test_volume_writes_land_on_host(tmp_path):
    (tmp_path / "log").write_text("first\n")
    rc, out, err = do("--volume", f"{tmp_path}:/data", "--", "/bin/sh", "-c",
                      "echo x >> /data/log; mkdir /data/d; echo y > /data/d/y; cat /data/log")
    assert rc == 0, err
    assert out == "first\nx\n"
    assert (tmp_path / "log").read_text() == "first\nx\n"
    assert (tmp_path / "d" / "y").read_text() == "y\n"


def test_shared_mapping_of_a_volume_file_reaches_the_host(tmp_path):
    (tmp_path / "f").write_bytes(b"a" * 10)
    prog = ("import mmap, os\n"
            "fd = os.open('/data/f', os.O_RDWR)\n"
            "m = mmap.mmap(fd, 10, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)\n"
            "m[0:3] = b'XYZ'\n"
            "print(os.pread(fd, 10, 0).decode())\n"
            "m.close()\n")
    rc, out, err = do("--volume", f"{tmp_path}:/data", "--", sys.executable, "-c", prog)
    assert rc == 0, err
    assert out == "XYZaaaaaaa\n"                       # read() sees the mapping's bytes
    assert (tmp_path / "f").read_bytes() == b"XYZaaaaaaa"   # munmap wrote them back


def test_volumes_of_tmp_and_root_show_the_host(tmp_path):
    """`--volume /tmp:/tmp` and `--volume /:/host:ro` show the host's files: the Gofer stages its
    own root on a tmpfs over /tmp, and the volume's recursive bind carried that tmpfs along."""
    marker = tmp_path / "marker"
    marker.write_text("the host's /tmp\n")
    assert str(marker).startswith("/tmp/"), "pytest's tmp_path is expected under /tmp"
    rc, out, err = do("--volume", "/tmp:/tmp", "--", "cat", str(marker))
    assert (rc, out) == (0, "the host's /tmp\n"), err
    rc, out, err = do("--volume", "/:/host:ro", "--", "cat", f"/host{marker}")
    assert (rc, out) == (0, "the host's /tmp\n"), err


def test_a_gofer_that_cannot_start_is_reported_as_such(tmp_path):
    """An upper directory the Gofer cannot use (here: on a read-only bind, made in a mount
    namespace of the test's own) passes do's checks but fails the Gofer's overlay: do says the
    Gofer exited, after the Gofer's own line, and exits 125 (it said `/bin/true: Input/output
    error` and 126, as if the program were at fault)."""
    upper = tmp_path / "upper"
    (upper / "upper").mkdir(parents=True)
    (upper / "work").mkdir()
    script = (f"mount --bind {upper} {upper} && mount -o remount,bind,ro {upper} && "
              f"exec {' '.join(snakevisor_cmd('do', *PLATFORM_FLAGS, '--overlay-upper', str(upper), '--', '/bin/true'))}")
    r = run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], cwd=REPO, timeout=60, env=sandbox_env())
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 125, err
    assert "Traceback" not in err and "Input/output error" not in err, err
    assert err.strip().splitlines()[-1] == "snakevisor do: the Gofer exited before serving the root (its message above says why)"
    assert "snakevisor gofer: cannot isolate" in err


def test_readonly_volume_gives_erofs(tmp_path):
    rc, out, err = do("--volume", f"{tmp_path}:/data:ro", "--", "touch", "/data/f")
    assert rc != 0
    assert "Read-only file system" in err
    assert os.listdir(tmp_path) == []


def test_rootfs_busybox_image(busybox_rootfs):
    rc, out, err = do("--rootfs", str(busybox_rootfs), "--", "/bin/sh", "-c",
                      "cat /etc/marker; echo new > /etc/new; cat /etc/new; ls /usr || echo no-usr")
    assert rc == 0, err
    assert out.splitlines()[:2] == ["rootfs", "new"]
    assert "no-usr" in out
    assert not (busybox_rootfs / "etc" / "new").exists()   # the image is a lower layer


def test_overlay_upper_keeps_changes(tmp_path):
    changes = tmp_path / "changes"
    rc, _, err = do("--overlay-upper", str(changes), "--", "/bin/sh", "-c", "echo kept > /etc/sv-kept")
    assert rc == 0, err
    assert (changes / "upper" / "etc" / "sv-kept").read_text() == "kept\n"
    assert not os.path.exists("/etc/sv-kept")
    rc, out, err = do("--overlay-upper", str(changes), "--", "cat", "/etc/sv-kept")
    assert rc == 0 and out == "kept\n", err


# --- the Gofer process is locked down -----------------------------------------------------
def _status(pid):
    out = {}
    for line in open(f"/proc/{pid}/status"):
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out


def _wait_isolated(pid, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if _status(pid).get("Seccomp") == "2":
            return
        time.sleep(0.02)
    raise AssertionError("the Gofer never installed its seccomp filter")


def test_gofer_is_locked_down(busybox_rootfs, tmp_path):
    g = GoferProcess([GoferMount("root", str(busybox_rootfs), False), GoferMount("v", str(tmp_path), True)],
                     isolate=True, overlay=True)
    try:
        root = Client(g.sockets[0]).attach()     # answered only once isolation is done
        pid = g.pid
        _wait_isolated(pid)
        st = _status(pid)
        assert st["NoNewPrivs"] == "1"
        caps = sum(1 << c for c in GOFER_CAPS)
        assert int(st["CapEff"], 16) == caps and int(st["CapBnd"], 16) == caps
        assert int(st["CapPrm"], 16) == caps and int(st["CapAmb"], 16) == 0
        for ns in ("mnt", "net"):
            assert os.readlink(f"/proc/{pid}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}")
        # Its root is the staging tmpfs: the container root, volumes, proc, nothing of the host.
        assert set(os.listdir(f"/proc/{pid}/root")) <= {"root", "vol", "proc", "scratch"}
        mounts = open(f"/proc/{pid}/mounts").read()
        assert " /root overlay " in mounts and "/vol/m1" in mounts
        vol_line = next(line for line in mounts.splitlines() if " /vol/m1 " in line)
        assert vol_line.split()[3].startswith("ro")      # the host kernel enforces :ro too
        # Its network namespace has no interface but lo.
        devs = [line.split(":")[0].strip() for line in open(f"/proc/{pid}/net/dev").readlines()[2:]]
        assert devs == ["lo"]
        assert root.walk([b"etc", b"marker"]).getattr().size == 7
    finally:
        g.stop()


def test_gofer_stop_reaps_at_once_or_kills_after_the_grace(tmp_path, monkeypatch):
    # Its connections closed, the Gofer exits and stop() returns as it does (a pidfd wait); one
    # that does not exit (stopped here) is killed once STOP_GRACE_S has passed.
    from snakevisor.sandbox import gofer_process
    g = GoferProcess([GoferMount("root", str(tmp_path), False)])
    Client(g.sockets[0]).attach()
    t0 = time.monotonic()
    g.stop()
    assert g.status == 0 and time.monotonic() - t0 < gofer_process.STOP_GRACE_S
    monkeypatch.setattr(gofer_process, "STOP_GRACE_S", 0.3)
    g = GoferProcess([GoferMount("root", str(tmp_path), False)])
    Client(g.sockets[0]).attach()
    os.kill(g.pid, signal.SIGSTOP)
    t0 = time.monotonic()
    g.stop()
    assert g.status == -signal.SIGKILL and time.monotonic() - t0 >= 0.3


# --- hostile layouts ----------------------------------------------------------------------------
def _plant(directory, secret_root):
    """Symlinks to the secret: absolute, relative with many .., and a directory link."""
    os.symlink(secret_root / "secret", directory / "evil_abs")
    depth = len(directory.parts) + 3
    os.symlink("../" * depth + str(secret_root / "secret").lstrip("/"), directory / "evil_rel")
    os.symlink(secret_root / "secretdir", directory / "evil_dir")


def test_planted_symlinks_never_leave_the_root_in_the_sandbox(busybox_rootfs, secret, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    _plant(vol, secret)
    rc, out, err = do("--rootfs", str(busybox_rootfs), "--volume", f"{vol}:/data", "--", "/bin/sh", "-c",
                      "cat /data/evil_abs /data/evil_rel /data/evil_dir/f /data/../../../../secret;"
                      "ln -s /etc/marker /data/mine; cat /data/mine; readlink /data/evil_abs")
    assert SECRET.decode() not in out + err
    assert "rootfs" in out                              # the sandbox's own /etc/marker
    assert os.readlink(vol / "mine") == "/etc/marker"   # the link text is stored, not followed


def _gofer_cases(root):
    """Walk/open attempts that must never reach the secret, with the fid API directly."""
    leaked = []
    root_qid = root.qid
    for names in ([b".."] * 5, [b"..", b"..", b".."]):
        f = root.walk(names)
        assert f.qid.path == root_qid.path     # .. at the root stays at the root
        f.clunk()
    for names in ([b"evil_abs"], [b"evil_rel"], [b"evil_dir", b"f"], [b"..", b"secret"], [b"a/b"],
                  [b"evil_dir", b"..", b"secret"]):
        try:
            f = root.walk(names)
        except SyscallError:
            continue
        try:
            f.lopen(0)
            data = f.read(0, 100)
            if SECRET in data:
                leaked.append(names)
        except SyscallError:
            pass
        finally:
            f.clunk()
    return leaked


def test_planted_symlinks_and_dotdot_against_isolated_gofer(busybox_rootfs, secret, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    _plant(vol, secret)
    g = GoferProcess([GoferMount("root", str(busybox_rootfs), False), GoferMount("v", str(vol), False)],
                     isolate=True, overlay=True)
    try:
        for sock in g.sockets:
            assert _gofer_cases(Client(sock).attach()) == []
    finally:
        g.stop()


def test_a_volume_that_is_no_directory_or_file_is_never_served(busybox_rootfs):
    """A host device given as a volume (the OCI sandbox makes its own node for those, but the path
    may have been replaced since it looked) stops the Gofer before it serves anything."""
    g = GoferProcess([GoferMount("root", str(busybox_rootfs), False), GoferMount("v", "/dev/zero", False)],
                     isolate=True, overlay=True)
    try:
        with pytest.raises(SyscallError):
            Client(g.sockets[1]).attach()
    finally:
        g.stop()


def test_planted_symlinks_and_dotdot_against_plain_gofer(secret, tmp_path):
    # Without isolation the host's whole tree is visible to the Gofer: only the
    # one-component O_NOFOLLOW walks keep the client inside.
    vol = tmp_path / "vol"
    vol.mkdir()
    _plant(vol, secret)
    srv = GoferServer(vol)
    try:
        assert _gofer_cases(srv.client().attach()) == []
    finally:
        srv.stop()


MIN_READS = 50


def _race(client_root, vol, secret, seconds):
    """A host thread swaps vol/d between a real directory and a symlink to the secret
    directory while the client walks d/f and reads it."""
    (vol / "d").mkdir()
    (vol / "d" / "f").write_bytes(b"harmless")
    stop = threading.Event()

    def swapper():
        while not stop.is_set():
            try:
                os.rename(vol / "d", vol / "d.real")
                os.symlink(secret / "secretdir", vol / "d")
                os.unlink(vol / "d")
                os.rename(vol / "d.real", vol / "d")
            except OSError:
                pass
    t = threading.Thread(target=swapper, daemon=True)
    t.start()
    reads = leaks = 0
    deadline = time.time() + seconds
    give_up = deadline + 20   # a loaded machine: go on until the race has really run (MIN_READS)
    try:
        while time.time() < deadline or (reads <= MIN_READS and time.time() < give_up):
            try:
                f = client_root.walk([b"d", b"f"])
            except SyscallError:
                continue
            try:
                f.lopen(0)
                data = f.read(0, 100)
                reads += 1
                leaks += SECRET in data
            except SyscallError:
                pass
            finally:
                f.clunk()
    finally:
        stop.set()
        t.join()
    return reads, leaks


def test_rename_race_cannot_escape_plain_gofer(secret, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    srv = GoferServer(vol)
    try:
        reads, leaks = _race(srv.client().attach(), vol, secret, 1.5)
    finally:
        srv.stop()
    assert leaks == 0
    assert reads > MIN_READS      # the race really ran


def test_rename_race_cannot_escape_isolated_gofer(secret, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    g = GoferProcess([GoferMount("root", str(vol), False)], isolate=True)
    try:
        reads, leaks = _race(Client(g.sockets[0]).attach(), vol, secret, 1.0)
    finally:
        g.stop()
    assert leaks == 0 and reads > 20


def test_seccomp_filter_refuses_what_is_not_listed(tmp_path):
    """And pins mknodat's device number to 0: even as the host's root, no device node (a FIFO
    and the 0:0 whiteout pass)."""
    import stat
    from snakevisor.seccomp import build_whitelist
    from snakevisor.gofer.isolation import GOFER_ARG_RULES, GOFER_SYSCALLS
    bpf = build_whitelist(GOFER_SYSCALLS, GOFER_ARG_RULES)
    got = under_seccomp(bpf, (lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM),
                              lambda: os.execv("/bin/true", ["true"]),
                              lambda: os.setuid(5),
                              lambda: os.mknod(tmp_path / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3)),
                              lambda: os.mknod(tmp_path / "wh", stat.S_IFCHR | 0o600, 0),
                              lambda: os.mknod(tmp_path / "fifo", stat.S_IFIFO | 0o600, 0),
                              lambda: socket.socketpair() and "unix-ok"))   # AF_UNIX stays allowed
    assert got == ["1", "1", "1", "1", "allowed", "allowed", "unix-ok"]
