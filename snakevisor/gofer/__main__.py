"""Entry point: ``python3 -m snakevisor.gofer --root DIR --sock-fd N [--readonly]``,
or several ``--mount NAME=DIR:ro|rw,fd=N`` (one connection per mount; the first is the root).

``--isolate`` locks the Gofer down before serving (gofer/isolation.py);
``--overlay`` (implies --isolate) serves the root as an overlay whose lower
layer is its DIR and whose upper layer is a scratch tmpfs, or
``--overlay-upper DIR`` (DIR/upper keeps the changes, DIR/work is overlayfs's).
``--directfs`` answers Twalkfd (O_PATH descriptors for the Sentry's directfs); without it the
Sentry gets none.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import sys

from snakevisor.hostos import raise_nofile_limit

from .fids import IDLE_PATHS
from .isolation import isolate
from .server import serve_many


def parse_mount(spec: str):
    """NAME=DIR:ro|rw,fd=N -> (name, dir, readonly, fd)."""
    try:
        name, rest = spec.split("=", 1)
        where, fdpart = rest.rsplit(",fd=", 1)
        directory, mode = where.rsplit(":", 1)
        if mode not in ("ro", "rw"):
            raise ValueError(mode)
        return name, directory, mode == "ro", int(fdpart)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad --mount spec {spec!r} (want NAME=DIR:ro|rw,fd=N)")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="snakevisor.gofer", description="snakevisor 9P2000.L file server")
    p.add_argument("--root", help="directory to serve")
    p.add_argument("--sock-fd", type=int, help="connected Unix stream socket descriptor")
    p.add_argument("--readonly", action="store_true")
    p.add_argument("--mount", action="append", default=[], type=parse_mount,
                   metavar="NAME=DIR:ro|rw,fd=N")
    p.add_argument("--isolate", action="store_true", help="own mount/net namespace, pivot_root, caps, seccomp")
    p.add_argument("--overlay", action="store_true", help="serve the root as an overlay (upper: tmpfs)")
    p.add_argument("--overlay-upper", metavar="DIR", help="keep the overlay's changes in DIR/upper")
    p.add_argument("--no-seccomp", action="store_true", help="isolate without the seccomp filter (debugging)")
    p.add_argument("--directfs", action="store_true", help="donate O_PATH descriptors with walks (Twalkfd)")
    args = p.parse_args(argv)
    mounts = list(args.mount)
    if args.root is not None or args.sock_fd is not None:
        if args.root is None or args.sock_fd is None:
            p.error("--root and --sock-fd go together")
        mounts.insert(0, ("root", args.root, args.readonly, args.sock_fd))
    if not mounts:
        p.error("nothing to serve")
    overlay = args.overlay or args.overlay_upper is not None
    # A client that closes its end while replies are queued ends that connection (EPIPE), not
    # the Gofer and every mount it serves (the sandbox's fork resets SIGPIPE to the default).
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    # Modes sent by the Sentry already have the application's umask applied.
    os.umask(0)
    # Every fid holds a descriptor: as many as the kernel allows (before isolation drops the
    # privilege to raise the hard limit); idle fids keep a quarter of them at most.
    IDLE_PATHS.limit = max(64, raise_nofile_limit(beyond_hard=True) // 4)
    # Socket objects first: wrapping a descriptor asks the kernel about it.
    socks = [socket.socket(fileno=fd) for _, _, _, fd in mounts]
    try:
        dirs, image_usage = isolate([(n, d, ro) for n, d, ro, _ in mounts], enabled=args.isolate or overlay,
                       overlay=overlay, upper=args.overlay_upper, seccomp=not args.no_seccomp)
    except OSError as e:
        print(f"snakevisor gofer: cannot isolate: {e}", file=sys.stderr)
        return 1
    serve_many([(d, s, ro) for d, s, (_, _, ro, _) in zip(dirs, socks, mounts)], directfs=args.directfs,
               image_usage=image_usage)
    return 0


if __name__ == "__main__":
    sys.exit(main())
