"""The sandbox's network: its namespace (``--network none|host``) and its /etc/hosts and /etc/resolv.conf.

AF_INET sockets are host sockets the Sentry creates (sentry/net/inet.py), so
the network a program sees is the Sentry process's network namespace:

- ``none`` (the default): the Sentry unshares CLONE_NEWNET before it creates
  any socket and raises ``lo``: loopback only, nothing of the host reachable
  (not even its 127.0.0.1);
- ``host``: the host's namespace, as runsc's ``--network=host``.

The Gofer is a separate process with its own empty namespace either way.

Name resolution: the image's /etc/hosts and /etc/resolv.conf are used as they
are when they do the job (so a sandbox's /etc looks like the image's). An
/etc/hosts that does not name ``localhost`` and the sandbox's hostname gets the
missing lines added (localhost, the hostname on 127.0.1.1, as Docker and Debian
write them) in a small tmpfs file mounted over it, so gethostbyname(gethostname())
works as in a container; a root without the files gets them created in its
overlay (never on the host).
"""
import fcntl
import os
import socket

from snakevisor.abi.errno import ENOENT, SyscallError
from snakevisor.abi.fs import O_CREAT, O_WRONLY
from snakevisor.abi.netlink import IFF_RUNNING, IFF_UP, IFREQ_FLAGS, SIOCGIFFLAGS, SIOCSIFFLAGS
from snakevisor.abi.sched import CLONE_NEWNET
from snakevisor.hostos.libc import get_errno, libc

NETWORK_MODES = ("none", "host")


class NetworkSetupError(Exception):
    pass


def setup_network(mode: str) -> None:
    """Put this (Sentry) process in the sandbox's network namespace. Call before any socket exists."""
    if mode == "host":
        return
    if mode != "none":
        raise NetworkSetupError(f"unknown network mode {mode!r} (want one of {', '.join(NETWORK_MODES)})")
    if libc.unshare(CLONE_NEWNET) != 0:
        err = get_errno()
        raise NetworkSetupError(f"cannot create a network namespace: {os.strerror(err)} "
                                "(--network=none needs CAP_SYS_ADMIN; --network=host shares the host's)")
    interface_up("lo")


def interface_up(name: str) -> None:
    """SIOCSIFFLAGS |= IFF_UP on interface ``name`` of this process's namespace (no subprocess, no netlink)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
        req = IFREQ_FLAGS.pack(name.encode(), 0)
        _, flags = IFREQ_FLAGS.unpack(fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, req))
        if flags & IFF_UP:
            return
        fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, IFREQ_FLAGS.pack(name.encode(), flags | IFF_UP | IFF_RUNNING))


def hosts_file(hostname: str) -> bytes:
    """The /etc/hosts of a sandbox with its own namespace: loopback names and the hostname."""
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    if hostname and hostname != "localhost":
        lines.append(f"127.0.1.1\t{hostname}")
    return ("\n".join(lines) + "\n").encode()


def _host_file(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read(1 << 16)
    except OSError:
        return None


def names(hosts: bytes, name: str) -> bool:
    """Whether an /etc/hosts text maps ``name``."""
    want = name.encode()
    for line in hosts.splitlines():
        if want in line.split(b"#", 1)[0].split()[1:]:
            return True
    return False


def names_localhost(hosts: bytes) -> bool:
    return names(hosts, "localhost")


def hosts_with_our_names(hosts: bytes, hostname: str) -> bytes | None:
    """The image's /etc/hosts if it maps localhost and the sandbox's hostname (None: keep it as
    it is), else it with the missing lines of ours added (its own entries stay)."""
    ours = hosts_file(hostname).decode().splitlines()
    missing = [line for line in ours if not names(hosts, line.split()[1])]
    if not missing:
        return None
    text = hosts if not hosts or hosts.endswith(b"\n") else hosts + b"\n"
    return text + ("\n".join(missing) + "\n").encode()


def etc_files(mode: str, hostname: str) -> list:
    """[(sandbox path, contents if the image has none, adapt)]: what the sandbox's name resolution needs;
    ``adapt(existing bytes)`` is None when the image's own file will do, else what is mounted over it."""
    resolv = _host_file("/etc/resolv.conf") if mode == "host" else None
    # Without a network there is no server to ask: an empty resolv.conf makes lookups fail fast.
    return [(b"/etc/hosts", hosts_file(hostname), lambda existing: hosts_with_our_names(existing, hostname)),
            (b"/etc/resolv.conf", resolv if resolv is not None else b"", lambda existing: None)]


def _read_vd(ctx, vd, limit=1 << 16) -> bytes:
    from snakevisor.abi.fs import O_RDONLY
    from snakevisor.sentry.vfs.pathops import open_vd
    try:
        f = open_vd(ctx, vd, O_RDONLY)
    except SyscallError:
        return b""
    try:
        return f.read(None, limit)
    except SyscallError:
        return b""
    finally:
        f.dec_ref()


def provide_etc_files(vfs, root, memory_file, mode: str, hostname: str) -> None:
    """Give the sandbox's root its /etc/hosts and /etc/resolv.conf (see the module docstring)."""
    from snakevisor.sentry.fsimpl.tmpfs import TmpfsFilesystem
    from snakevisor.sentry.vfs.pathops import open_path
    from snakevisor.sentry.vfs.resolve import ResolveContext, resolve

    ctx = ResolveContext(root)
    etc_fs = None
    for path, data, adapt in etc_files(mode, hostname):
        try:
            target = resolve(ctx, root, path)
        except SyscallError as e:
            if e.errno != ENOENT:
                continue
            target = None
        if target is None:
            try:
                f = open_path(ctx, root, path, O_CREAT | O_WRONLY, 0o644)
            except SyscallError:
                continue   # no /etc, or a read-only root: nothing to give
            try:
                f.write(None, data)
            finally:
                f.dec_ref()
            continue
        if not target.dentry.inode.is_reg or target.dentry is target.mount.root:
            continue   # not a file, or one the configuration mounted (an engine's): left as it is
        data = adapt(_read_vd(ctx, target))
        if data is None:
            continue
        if etc_fs is None:
            etc_fs = TmpfsFilesystem(memory_file, mode=0o755)
        name = path.rsplit(b"/", 1)[1]
        inode = etc_fs.root.inode.create(name, 0o644)
        inode.write_data(0, data)
        vfs.mount(etc_fs, target, source=b"tmpfs", root=etc_fs.root.child(name))
