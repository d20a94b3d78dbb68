"""config.json's mounts as runc makes them: mount points created in the root (never on the host's
image), file and directory binds, tmpfs options, masked and read-only paths, process.cwd, sysctls,
and /proc/self/mounts compared with what runc prints for the same bundle (where runc is installed)."""
import os
import shutil
import subprocess
import sys

import pytest

from oci_support import busybox_rootfs, make_bundle, sv

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="OCI containers here need root (namespaces, mounts)")

RUNC = shutil.which("runc")
# What our run checked is kept; only the comparison is skipped (its reason in the report).
NO_RUNC = "runc is not installed: not compared with runc's (tools/setup.sh --test installs it)"

# Run in the container: each step prints one line, so runc's and our outputs compare line by line.
SCRIPT = r"""
for d in /proc /dev/mqueue /run /run/a/b /work/here /dev/pts /scratch; do
    if [ -d $d ]; then echo "dir $d"; else echo "missing $d"; fi
done
echo "cwd $(pwd)"
echo "hosts $(cat /etc/hosts)"
echo ro-write: $( (echo x > /etc/hosts) 2>&1 | sed 's/.*: //')
echo rw-write: $( (echo written-inside > /etc/rwfile) 2>&1; cat /etc/rwfile)
echo volume: $(ls /srv/data) $( (echo v > /srv/data/new) 2>&1; cat /srv/data/new)
echo ro-path: $( (echo v > /srv/data/ro/f) 2>&1 | sed 's/.*: //') $( (echo v > /proc/sys/kernel/domainname) 2>&1 | sed 's/.*: //')
echo scratch: $(stat -c '%a %u %g' /scratch) $(stat -c '%a' /run)
echo masked-file: "[$(cat /etc/secret)]" $( (echo v > /etc/secret) 2>&1 | sed 's/.*: //')
echo masked-dir: "[$(ls -A /secret)]" $( (touch /secret/x) 2>&1 | sed 's/.*: //')
echo nodev: $(cat /srv/data/null 2>&1 | sed 's/.*: //')
echo noexec: $( (cp /bin/busybox /run/bb && /run/bb true) 2>&1 | sed 's/.*: //')
echo domainname: $(cat /proc/sys/kernel/domainname)
echo ro-tmpfs: $( (mkdir /run/a/b/x) 2>&1 | sed 's/.*: //')
echo mounts:
cat /proc/self/mounts
"""


def _rootfs_copy(path):
    """A private copy of the busybox root without /proc (runc writes mount points into its root)."""
    shutil.copytree(busybox_rootfs(), path, symlinks=True)
    os.rmdir(os.path.join(path, "proc"))
    os.makedirs(os.path.join(path, "secret"))
    with open(os.path.join(path, "secret", "hidden"), "w") as f:
        f.write("hidden\n")
    with open(os.path.join(path, "etc", "secret"), "w") as f:
        f.write("secret\n")
    return path


def _host_files(tmp_path):
    host = tmp_path / "host"
    (host / "data" / "ro").mkdir(parents=True)
    (host / "data" / "file").write_text("in-volume\n")
    os.mknod(host / "data" / "null", 0o20666, os.makedev(1, 3))
    (host / "hosts").write_text("10.1.2.3 engine-hosts\n")
    (host / "rwfile").write_text("before\n")
    return host


def _bundle(path, rootfs, host, args):
    extra = [
        {"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "noexec",
                                                                                "mode=755", "size=2m"]},
        {"destination": "/run/a/b", "type": "tmpfs", "source": "tmpfs", "options": ["size=64k", "ro"]},
        {"destination": "/etc/hosts", "type": "bind", "source": str(host / "hosts"), "options": ["rbind", "ro"]},
        {"destination": "/etc/rwfile", "type": "bind", "source": str(host / "rwfile"), "options": ["bind", "rw"]},
        {"destination": "/srv/data", "type": "bind", "source": str(host / "data"), "options": ["rbind", "rprivate", "nodev"]},
        {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
         "options": ["size=1m", "mode=1700", "uid=5", "gid=6", "nr_inodes=100", "nosuid"]},
    ]
    from snakevisor.oci.spec import default_spec
    mounts = default_spec()["mounts"] + extra
    linux = default_spec()["linux"]
    linux.update(maskedPaths=["/etc/secret", "/secret", "/proc/loadavg", "/no/such/path"],
                 readonlyPaths=["/proc/sys", "/srv/data/ro", "/no/such/path"],
                 sysctl={"kernel.domainname": "example.org", "net.ipv4.ping_group_range": "0 0"})
    return make_bundle(path, args, rootfs=rootfs, mounts=mounts, linux=linux, process_cwd="/work/here")


def _normalise_mounts(lines, binds):
    """(target, type, options) of each mounts line we can compare: a bind (and the root) shows the
    host's filesystem under runc and 9p here, so only its target and access flags count; what is
    below /sys is left out (the Sentry has no cgroup filesystem: its sysfs describes the limits;
    runc mounts a tmpfs at /sys/fs/cgroup for a cgroup v1 host's hierarchies)."""
    out = []
    for line in lines:
        source, target, fstype, opts = line.split()[:4]
        if target.startswith("/sys/"):
            continue
        opts = opts.split(",")
        if target == "/" or target in binds:
            out.append((target, "bind", [o for o in opts if o in ("ro", "rw", "nosuid", "nodev", "noexec")]))
        else:
            out.append((target, fstype, [o for o in opts if o not in ("inode64", "inode32", "noswap")]))
    return out


def _split(stdout):
    head, _, mounts = stdout.partition("mounts:\n")
    return head.splitlines(), mounts.splitlines()


def test_config_mounts_made_as_runc_makes_them(tmp_path, root):
    host = _host_files(tmp_path)
    rootfs = _rootfs_copy(str(tmp_path / "rootfs"))
    before = sorted(os.listdir(rootfs))
    b = _bundle(str(tmp_path / "b"), rootfs, host, ["sh", "-c", SCRIPT])
    res = sv(root, "run", "--bundle", b, "m1", timeout=120)
    assert res.returncode == 0, res.stderr
    lines, mounts = _split(res.stdout)
    assert lines[:8] == ["dir /proc", "dir /dev/mqueue", "dir /run", "dir /run/a/b", "dir /work/here", "dir /dev/pts",
                         "dir /scratch", "cwd /work/here"], res.stdout
    assert lines[8:] == [
        "hosts 10.1.2.3 engine-hosts",
        "ro-write: Read-only file system",
        "rw-write: written-inside",
        "volume: file null ro v",
        "ro-path: Read-only file system Read-only file system",
        "scratch: 1700 5 6 755",
        "masked-file: []",
        "masked-dir: [] Read-only file system",
        "nodev: Permission denied",
        "noexec: Permission denied",
        "domainname: example.org",
        "ro-tmpfs: Read-only file system",
    ], res.stdout
    # Through the rw binds the host's files changed; the image did not get the mount points.
    assert (host / "rwfile").read_text() == "written-inside\n"
    assert (host / "data" / "new").read_text() == "v\n"
    assert not (host / "data" / "ro" / "f").exists()
    assert sorted(os.listdir(rootfs)) == before, "mount points were made on the host's image"
    assert not os.path.exists(os.path.join(rootfs, "etc", "rwfile"))
    # In config order, then readonlyPaths and maskedPaths (runc's order), the missing ones skipped.
    assert [line.split()[1] for line in mounts] == [
        "/", "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup", "/run", "/run/a/b",
        "/etc/hosts", "/etc/rwfile", "/srv/data", "/scratch", "/proc/sys", "/srv/data/ro", "/etc/secret", "/secret",
        "/proc/loadavg"], mounts
    binds = {"/etc/hosts", "/etc/rwfile", "/srv/data", "/srv/data/ro"}
    ours = _normalise_mounts(mounts, binds)
    assert ("/scratch", "tmpfs", ["rw", "nosuid", "relatime", "size=1024k", "nr_inodes=100", "mode=1700", "uid=5",
                                  "gid=6"]) in ours, mounts
    assert ("/proc/sys", "proc", ["ro", "relatime"]) in ours, mounts
    assert ("/secret", "tmpfs", ["ro", "relatime"]) in ours, mounts
    if RUNC is None:
        pytest.skip(NO_RUNC)
    # runc with the same bundle, on a copy of the host files and root of its own (it writes into both).
    rhost = _host_files(tmp_path / "runc")
    rrootfs = _rootfs_copy(str(tmp_path / "runc" / "rootfs"))
    rb = _bundle(str(tmp_path / "runc" / "b"), rrootfs, rhost, ["sh", "-c", SCRIPT])
    ref = subprocess.run([RUNC, "--root", str(tmp_path / "runc" / "state"), "run", "--bundle", rb, "m1-runc"],
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert ref.returncode == 0, ref.stderr
    rlines, rmounts = _split(ref.stdout)
    assert lines == rlines
    theirs = _normalise_mounts(rmounts, binds)
    assert ours == theirs, "\n".join(["snakevisor:"] + mounts + ["runc:"] + rmounts)


def test_sysctl_outside_the_containers_namespaces_is_refused(tmp_path, root):
    from snakevisor.oci.spec import default_spec
    linux = default_spec()["linux"]
    linux["sysctl"] = {"vm.swappiness": "10"}
    b = make_bundle(str(tmp_path / "b"), ["true"], linux=linux)
    res = sv(root, "run", "--bundle", b, "m2")
    assert res.returncode != 0
    assert 'sysctl "vm.swappiness" is not in a separate kernel namespace' in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr


def _run_both(tmp_path, name, make):
    """Run the bundle ``make(dir) -> bundle path`` makes under snakevisor and, where
    it is installed, under runc (each on its own copy: runc writes into the root); the outputs."""
    out = {}
    for who in ("snakevisor", "runc"):
        if who == "runc" and RUNC is None:
            break
        b = make(tmp_path / who)
        if who == "runc":
            res = subprocess.run([RUNC, "--root", str(tmp_path / "runc" / "state"), "run", "--bundle", b,
                                  name + "-runc"], capture_output=True, text=True, timeout=120,
                                 stdin=subprocess.DEVNULL)
        else:
            res = sv(str(tmp_path / "state"), "run", "--bundle", b, name, timeout=120)
        assert res.returncode == 0, (who, res.stderr)
        out[who] = res.stdout
    return out


def _same_as_runc(outputs):
    """runc printed what we did; skipped (after our own checks) where runc is not installed."""
    if "runc" not in outputs:
        pytest.skip(NO_RUNC)
    assert outputs["runc"] == outputs["snakevisor"]


def test_bind_on_a_dangling_symlink_lands_on_its_target(tmp_path):
    """An image's /etc/resolv.conf -> ../run/systemd/resolve/stub-resolv.conf (Ubuntu's) with no /run:
    runc follows the link inside the root and creates its target; so do we (in the overlay)."""
    host = _host_files(tmp_path)
    script = "cat /etc/resolv.conf; ls /run/systemd/resolve; grep resolv /proc/self/mounts | cut -d' ' -f2"

    def make(path):
        rootfs = _rootfs_copy(str(path / "rootfs"))
        os.symlink("../run/systemd/resolve/stub-resolv.conf", os.path.join(rootfs, "etc", "resolv.conf"))
        mounts = [{"destination": "/proc", "type": "proc", "source": "proc"},
                  {"destination": "/etc/resolv.conf", "type": "bind", "source": str(host / "hosts"),
                   "options": ["rbind", "ro"]}]
        return make_bundle(str(path / "b"), ["sh", "-c", script], rootfs=rootfs, mounts=mounts)

    outputs = _run_both(tmp_path, "m3", make)
    assert outputs["snakevisor"] == "10.1.2.3 engine-hosts\nstub-resolv.conf\n/run/systemd/resolve/stub-resolv.conf\n"
    assert not os.path.exists(tmp_path / "snakevisor" / "rootfs" / "run"), "the link's target was made on the image"
    _same_as_runc(outputs)


def test_mount_options_parsed_as_runc_and_linux_do():
    from snakevisor.abi import fs as F
    from snakevisor.oci.config import ConfigError, Mount, devpts_params, parse_spec, tmpfs_params
    from snakevisor.oci.spec import default_spec
    m = Mount("/x", "tmpfs", "tmpfs", ["ro", "rw", "nosuid", "rnodev", "strictatime", "rprivate", "size=1g",
                                       "nr_inodes=2k", "mode=0700", "uid=1", "gid=2"])
    assert m.flags() == F.MS_NOSUID | F.MS_NODEV | F.MS_STRICTATIME
    assert tmpfs_params(m) == {"size": 1 << 30, "nr_inodes": 2048, "mode": 0o700, "uid": 1, "gid": 2}
    pts = Mount("/dev/pts", "devpts", "devpts", ["newinstance", "ptmxmode=0666", "mode=620", "gid=5"])
    assert devpts_params(pts) == {"mode": 0o620, "ptmxmode": 0o666, "gid": 5, "uid": None, "max": None}
    for bad in (["size=lots"], ["colour=blue"], ["mode"]):
        spec = default_spec()
        spec["mounts"].append({"destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": bad})
        with pytest.raises(ConfigError, match=r"mounts\[\d+\]\.options"):
            parse_spec(spec)


NET_SYSCTL = r"""
import ctypes, os, sys
from snakevisor.sandbox.mounts import OciLayout, write_net_sysctls
path = "/proc/sys/net/ipv4/ping_group_range"
assert ctypes.CDLL(None, use_errno=True).unshare(0x40000000) == 0, ctypes.get_errno()   # CLONE_NEWNET
before = open(path).read()
write_net_sysctls(OciLayout(sysctl={"net.ipv4.ping_group_range": "0 5"}, own_netns=False))
print(open(path).read() == before)
write_net_sysctls(OciLayout(sysctl={"net.ipv4.ping_group_range": "0 5", "kernel.domainname": "x"}, own_netns=True))
print(open(path).read().split())
"""


def test_net_sysctls_go_to_the_containers_network_namespace(tmp_path):
    """net.* keys are written as runc writes them: in the container's network namespace (whose host
    sockets the Sentry uses), never in another one; a key that is not a name is refused."""
    from snakevisor.oci.config import ConfigError, check_sysctl
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    res = subprocess.run([sys.executable, "-c", NET_SYSCTL], capture_output=True, text=True, timeout=60, env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split("\n")[:2] == ["True", "['0', '5']"]
    for key in ("net.ipv4/../../kernel.core_pattern", "net..x", "net.ipv4."):
        with pytest.raises(ConfigError, match="not a sysctl name"):
            check_sysctl(key, {"network"})


def test_mount_points_through_symlinks_out_of_the_root_stay_inside(tmp_path):
    """An image's symlinks that point out of the root, absolutely or by "..", are followed as if the
    root were "/" (runc's securejoin): the mount points are made inside, never on the host."""
    host = _host_files(tmp_path)
    script = ("cat /abs/x/file /rel; ls -d /target/abs/x /target/rel; "
              "grep -E ' /target/' /proc/self/mounts | cut -d' ' -f2")

    def make(path):
        rootfs = _rootfs_copy(str(path / "rootfs"))
        os.makedirs(os.path.join(rootfs, "target"))
        # Out of the root as the host sees them (/target/...); inside, "/.." is "/": they end in /target.
        os.symlink("/../../../../target/abs", os.path.join(rootfs, "abs"))
        os.symlink("../" * 12 + "target/rel", os.path.join(rootfs, "rel"))
        mounts = [{"destination": "/proc", "type": "proc", "source": "proc"},
                  {"destination": "/abs/x", "type": "bind", "source": str(host / "data"), "options": ["rbind"]},
                  {"destination": "/rel", "type": "bind", "source": str(host / "hosts"), "options": ["rbind", "ro"]}]
        return make_bundle(str(path / "b"), ["sh", "-c", script], rootfs=rootfs, mounts=mounts)

    outputs = _run_both(tmp_path, "m5", make)
    assert outputs["snakevisor"] == ("in-volume\n10.1.2.3 engine-hosts\n/target/abs/x\n/target/rel\n"
                                     "/target/abs/x\n/target/rel\n"), outputs
    assert not os.path.exists("/target"), "a mount point was made out of the root"
    assert not os.path.exists(tmp_path / "snakevisor" / "rootfs" / "target" / "abs"), "made on the host's image"
    _same_as_runc(outputs)


def test_cgroup_mounts_are_the_sandboxes_own_view(tmp_path, root):
    """cgroup and cgroup2 mounts show the Sentry's cgroup v2 view (the limits it enforces), read-only
    whatever the options say, on a mount point made where the image has none."""
    from snakevisor.oci.spec import default_spec
    mounts = [m for m in default_spec()["mounts"] if m["type"] != "cgroup"]
    mounts += [{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
               {"destination": "/cg2/here", "type": "cgroup2", "source": "cgroup2", "options": ["nosuid"]}]
    linux = default_spec()["linux"]
    linux["resources"] = {"pids": {"limit": 40}, "memory": {"limit": 64 << 20}}
    script = ("cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max; ls /cg2/here | grep -c '^cgroup'; "
              "grep cgroup /proc/self/mounts; (echo 5 > /sys/fs/cgroup/pids.max) 2>&1 | sed 's/.*: //'; "
              "stat -f -c %t /cg2/here")
    b = make_bundle(str(tmp_path / "b"), ["sh", "-c", script], mounts=mounts, linux=linux)
    res = sv(root, "run", "--bundle", b, "m6", timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [
        "40", str(64 << 20), "7",
        "cgroup /sys/fs/cgroup cgroup2 ro,nosuid,nodev,noexec,relatime 0 0",
        "cgroup2 /cg2/here cgroup2 ro,nosuid,relatime 0 0",   # rw asked: the view cannot be changed
        "Read-only file system", "63677270"], res.stdout


@pytest.mark.parametrize("mount,message", [
    ({"destination": "/x", "type": "nfs", "source": "srv:/x"}, "config.json: mounts[1].type: unsupported mount type 'nfs'"),
    ({"destination": "/etc", "type": "bind", "source": "HOSTS", "options": ["bind"]},
     "mounting bind on /etc: Not a directory"),
    ({"destination": "/etc/passwd", "type": "tmpfs", "source": "tmpfs"}, "mounting tmpfs on /etc/passwd: Not a directory"),
    ({"destination": "/bin", "type": "tmpfs", "source": "tmpfs", "options": ["size=64k", "tmpcopyup"]},
     "mounting tmpfs on /bin: No space left on device"),   # busybox does not fit: the copy is bounded
])
def test_a_mount_that_cannot_be_made_fails_create_in_one_line(tmp_path, root, mount, message):
    """An unknown type, a file on a directory (and the reverse: Linux's graft_tree says ENOTDIR), or
    a tmpcopyup that does not fit, is an error of create naming the mount; no container is left."""
    host = _host_files(tmp_path)
    mount = dict(mount, source=mount["source"].replace("HOSTS", str(host / "hosts")))
    b = make_bundle(str(tmp_path / "b"), ["true"], mounts=[{"destination": "/proc", "type": "proc"}, mount])
    res = sv(root, "create", "--bundle", b, "m7")
    assert res.returncode != 0
    assert res.stderr.strip().splitlines() == [f"snakevisor: {message}"], res.stderr
    assert sv(root, "state", "m7").returncode != 0


def test_tmpfs_takes_the_covered_directorys_mode_and_tmpcopyup_its_contents(tmp_path):
    """As runc: a tmpfs's root keeps the mode of the directory it covers (/tmp stays 1777 under
    mode=755, which /proc/self/mounts still shows), and ``tmpcopyup`` (Podman's --read-only and
    --tmpfs) starts it with a copy of that directory: files, links, modes and owners."""
    script = ("stat -c '%a %u %g %F %n' /tmp /var/cache /var/cache/* /var/cache/sub/f /var/cache/d/e/f; "
              "cat /var/cache/link; grep -E ' /(tmp|var/cache) ' /proc/self/mounts")

    def make(path):
        rootfs = _rootfs_copy(str(path / "rootfs"))
        cache = os.path.join(rootfs, "var", "cache")
        os.makedirs(os.path.join(cache, "sub"))
        os.makedirs(os.path.join(cache, "d", "e", "f"))
        with open(os.path.join(cache, "sub", "f"), "w") as f:
            f.write("from the image\n")
        os.symlink("sub/f", os.path.join(cache, "link"))
        os.lchown(os.path.join(cache, "link"), 5, 6)
        os.chown(os.path.join(cache, "sub", "f"), 7, 8)
        os.chmod(os.path.join(cache, "sub", "f"), 0o4755)   # after chown, which clears set-user-ID
        os.chmod(os.path.join(cache, "sub"), 0o751)
        os.chown(os.path.join(cache, "sub"), 3, 4)
        os.chmod(cache, 0o711)
        os.chmod(os.path.join(rootfs, "tmp"), 0o1777)
        mounts = [{"destination": "/proc", "type": "proc", "source": "proc"},
                  {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["mode=755"]},
                  {"destination": "/var/cache", "type": "tmpfs", "source": "tmpfs",
                   "options": ["rw", "nosuid", "tmpcopyup", "size=1m"]}]
        return make_bundle(str(path / "b"), ["sh", "-c", script], rootfs=rootfs, mounts=mounts)

    outputs = _run_both(tmp_path, "m8", make)
    assert outputs["snakevisor"].splitlines() == [
        "1777 0 0 directory /tmp", "711 0 0 directory /var/cache", "755 0 0 directory /var/cache/d",
        "777 5 6 symbolic link /var/cache/link", "751 3 4 directory /var/cache/sub",
        "4755 7 8 regular file /var/cache/sub/f", "755 0 0 directory /var/cache/d/e/f", "from the image",
        "tmpfs /tmp tmpfs rw,relatime,mode=755 0 0", "tmpfs /var/cache tmpfs rw,nosuid,relatime,size=1024k 0 0",
    ], outputs
    _same_as_runc(outputs)


def test_binds_of_host_devices_and_sockets_are_nodes_of_the_sentrys(tmp_path, root):
    """A bind of a host device (rootless Podman's --device, a -v /dev/...), FIFO or socket (-v
    docker.sock) makes its mount point with the node's type and numbers: the Sentry's own devices of
    those numbers work, the host's never open (ENXIO), a socket reaches nothing on the host."""
    import socket
    sock_path = str(tmp_path / "host.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(sock_path)
    listener.listen()
    os.mkfifo(tmp_path / "fifo")
    os.mknod(tmp_path / "mem", 0o20640, os.makedev(1, 1))   # the host's /dev/mem, which no sandbox may open
    binds = [("/dev/zero", "/z/zero"), ("/dev/null", "/dev/null2"), (str(tmp_path / "mem"), "/dev/hostmem"),
             (sock_path, "/run/host.sock"), (str(tmp_path / "fifo"), "/run/fifo")]
    mounts = [{"destination": "/proc", "type": "proc", "source": "proc"}, {"destination": "/dev", "type": "tmpfs"}]
    mounts += [{"destination": d, "type": "bind", "source": s, "options": ["rbind"]} for s, d in binds]
    script = ("head -c 4 /z/zero | od -An -tx1; echo x > /dev/null2 && echo null ok; "
              "stat -c '%F %t:%T' /z/zero /dev/hostmem /run/host.sock /run/fifo; "
              "head -c 1 /dev/hostmem 2>&1 | sed 's/.*: //'; (echo y > /run/fifo &) ; cat /run/fifo; "
              "grep -c ' /z/zero tmpfs ' /proc/self/mounts")
    b = make_bundle(str(tmp_path / "b"), ["sh", "-c", script], mounts=mounts)
    try:
        res = sv(root, "run", "--bundle", b, "m9", timeout=120)
    finally:
        listener.close()
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [
        " 00 00 00 00", "null ok", "character special file 1:5", "character special file 1:1", "socket 0:0",
        "fifo 0:0", "No such device or address", "y", "1"], res.stdout


def test_an_engines_config_on_an_image_without_proc_sys_dev_or_run(tmp_path):
    """What Podman hands the runtime (issue 18: /proc was missing): kernel filesystems on an image
    that has none of their directories, and the engine's single-file binds (/etc/hostname,
    /etc/hosts, /etc/resolv.conf, /run/.containerenv) and /dev/shm directory; as runc shows it (the
    mounts below /proc and /sys left out: the Sentry has fewer of the files runc masks there)."""
    userdata = tmp_path / "userdata"
    (userdata / "shm").mkdir(parents=True)
    files = {"hostname": "podhost\n", "hosts": "127.0.0.1 localhost podhost\n", "resolv.conf": "nameserver 10.0.2.3\n",
             ".containerenv": 'engine="podman-4.3.1"\n'}
    for name, text in files.items():
        (userdata / name).write_text(text)
    script = ("ps -o comm > /dev/shm/ps; sort /dev/shm/ps; cat /etc/hostname /etc/hosts /etc/resolv.conf /run/.containerenv; ls -A /dev/shm; "
              "ls -d /proc/1 /sys/fs/cgroup /dev/pts /dev/mqueue; cut -d' ' -f2 /proc/self/mounts | grep -Ev '^/(sys|proc)/'")
    opts = ["rbind", "rprivate", "nosuid", "nodev"]

    def make(path):
        rootfs = _rootfs_copy(str(path / "rootfs"))
        for d in ("sys", "dev"):
            os.rmdir(os.path.join(rootfs, d))
        from snakevisor.oci.spec import default_spec
        mounts = default_spec()["mounts"]
        mounts[3] = {"destination": "/dev/shm", "type": "bind", "source": str(userdata / "shm"), "options": opts}
        mounts += [{"destination": "/etc/" + n, "type": "bind", "source": str(userdata / n), "options": opts}
                   for n in ("hostname", "hosts", "resolv.conf")]
        mounts.append({"destination": "/run/.containerenv", "type": "bind", "source": str(userdata / ".containerenv"),
                       "options": opts})
        return make_bundle(str(path / "b"), ["sh", "-c", script], rootfs=rootfs, mounts=mounts, hostname="podhost")

    outputs = _run_both(tmp_path, "m10", make)
    assert outputs["snakevisor"].splitlines() == [
        "COMMAND", "ps", "sh", "podhost", "127.0.0.1 localhost podhost", "nameserver 10.0.2.3",
        'engine="podman-4.3.1"', "ps", "/dev/mqueue", "/dev/pts", "/proc/1", "/sys/fs/cgroup",
        "/", "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/etc/hostname", "/etc/hosts",
        "/etc/resolv.conf", "/run/.containerenv"], outputs["snakevisor"]
    _same_as_runc(outputs)
