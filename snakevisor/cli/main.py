"""The ``snakevisor`` command: ``do`` a sandboxed command, list ``syscalls``; OCI verbs come later.

Global flags are accepted in runc's spellings, with one dash or two.
"""
import argparse
import os
import sys

RUNC_STYLE_FLAGS = ("root", "log", "log-format", "debug", "strace", "platform", "network", "systemd-cgroup")


def _normalise(argv):
    """runc accepts ``-root x``; argparse wants ``--root x``."""
    out = []
    for a in argv:
        if a == "--":
            out.extend(argv[len(out):])
            break
        if a.startswith("-") and not a.startswith("--") and a[1:].split("=")[0] in RUNC_STYLE_FLAGS:
            a = "-" + a
        out.append(a)
    return out


def build_parser():
    p = argparse.ArgumentParser(prog="snakevisor", description="An application kernel for containers, in Python.")
    p.add_argument("--root", default="/run/snakevisor", help="state directory for containers")
    p.add_argument("--log", help="log file")
    p.add_argument("--log-format", default="text", choices=("text", "json"))
    p.add_argument("--debug", action="store_true")
    p.add_argument("--strace", action="store_true", help="print every syscall on stderr")
    p.add_argument("--platform", default="ptrace", choices=("ptrace",))
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    do = sub.add_parser("do", help="run a host command in a fresh sandbox (root: an overlay of the host's /)")
    do.add_argument("--strace", action="store_true", dest="do_strace", help="print every syscall on stderr")
    do.add_argument("--cwd", default=None, help="working directory inside the sandbox (default: the current one)")
    do.add_argument("--cpu", type=int, default=None, help="host CPU to run the Sentry and its stubs on")
    do.add_argument("--hostname", default="snakevisor")
    do.add_argument("--volume", "-v", action="append", default=[], metavar="HOST:SANDBOX[:ro]",
                    help="bind a host directory into the sandbox (writes land on the host; :ro for read-only)")
    do.add_argument("--rootfs", metavar="DIR", help="use DIR as the root filesystem instead of the host's /")
    do.add_argument("--overlay-upper", metavar="DIR",
                    help="keep the root's changes in DIR/upper instead of discarding them at exit")
    do.add_argument("--network", "--net", default="none", choices=("none", "host"),
                    help="none (default): a network namespace of its own with loopback only; host: the host's")
    do.add_argument("cmd", nargs=argparse.REMAINDER, help="-- COMMAND [ARG...]")

    sc = sub.add_parser("syscalls", help="list every syscall and how far snakevisor implements it")
    sc.add_argument("--status", choices=("full", "partial", "unimplemented"), help="only these")
    return p


def cmd_do(args):
    from snakevisor.sandbox.do import run_do
    cmd = args.cmd[1:] if args.cmd and args.cmd[0] == "--" else args.cmd
    if not cmd:
        print("snakevisor do: no command given (usage: snakevisor do [--strace] -- CMD [ARG...])", file=sys.stderr)
        return 2
    from snakevisor.sandbox.do import parse_volume
    try:
        volumes = [parse_volume(v) for v in args.volume]
    except ValueError as e:
        print(f"snakevisor do: {e}", file=sys.stderr)
        return 2
    if args.rootfs and not os.path.isdir(args.rootfs):
        print(f"snakevisor do: --rootfs {args.rootfs}: not a directory", file=sys.stderr)
        return 2
    cwd = args.cwd or (os.getcwd() if not args.rootfs else "/")
    return run_do(cmd, strace=args.strace or args.do_strace, cwd=cwd, cpu=args.cpu,
                  hostname=args.hostname, volumes=volumes, rootfs=args.rootfs, overlay_upper=args.overlay_upper,
                  network=args.network)


def cmd_syscalls(args):
    from snakevisor.sentry import syscalls  # noqa: F401
    from snakevisor.sentry.syscalls.table import TABLE
    counts = {}
    for nr, name, status, note in TABLE.listing():
        counts[status] = counts.get(status, 0) + 1
        if args.status and status != args.status:
            continue
        print(f"{nr:4d} {name:<24} {status:<14} {note}".rstrip())
    print("# " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    return 0


def main(argv=None):
    argv = _normalise(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "do":
        return cmd_do(args)
    if args.command == "syscalls":
        return cmd_syscalls(args)
    parser.print_help(sys.stderr)
    return 2
