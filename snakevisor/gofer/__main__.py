"""Entry point: ``python3 -m snakevisor.gofer --root DIR --sock-fd N [--readonly]``,
or several ``--mount NAME=DIR:ro|rw,fd=N`` (one connection per mount)."""
from __future__ import annotations

import argparse
import os
import socket
import sys

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
    args = p.parse_args(argv)
    mounts = list(args.mount)
    if args.root is not None or args.sock_fd is not None:
        if args.root is None or args.sock_fd is None:
            p.error("--root and --sock-fd go together")
        mounts.insert(0, ("root", args.root, args.readonly, args.sock_fd))
    if not mounts:
        p.error("nothing to serve")
    # Modes sent by the Sentry already have the application's umask applied.
    os.umask(0)
    isolate([(n, d, ro) for n, d, ro, _ in mounts])
    socks = [(d, socket.socket(fileno=fd), ro) for _, d, ro, fd in mounts]
    serve_many(socks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
