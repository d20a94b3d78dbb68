"""The ``snakevisor`` command: ``do`` a sandboxed command, list ``syscalls``, and the runc-compatible
OCI verbs (cli/oci_verbs.py).

Flags are accepted in runc's spellings, with one dash or two (``-root x``, ``--root x``,
``-bundle b``); unknown flags (containerd passes runc's whole set) are ignored with a debug log line,
but a stray argument (``state a b``) is an error. Every error is one line on stderr naming the flag
or field: usage errors exit 2, the verbs' own 1 (``do``: 2 for its flags, 125 for a setup failure).
"""
import argparse
import gc
import os
import signal
import stat
import sys

from snakevisor.abi.utsname import HOST_NAME_MAX
from snakevisor.sentry import platform as platform_names

COMMAND_VERBS = ("do", "exec")   # after their positional arguments comes a command: left alone


def _long_flags(parser):
    """{verb or None: (long option names, names that take a value)} of the parser tree."""
    out = {}

    def collect(key, prs):
        names, valued = set(), set()
        for action in prs._actions:
            if isinstance(action, argparse._SubParsersAction):
                for verb, sp in action.choices.items():
                    collect(verb, sp)
                continue
            for opt in action.option_strings:
                if opt.startswith("--"):
                    names.add(opt[2:])
                    if action.nargs != 0:
                        valued.add(opt[2:])
                elif action.nargs != 0:
                    valued.add(opt[1:])
        out[key] = (names, valued)
    collect(None, parser)
    return out


def _normalise(argv, parser):
    """runc accepts ``-root x`` and ``-bundle b``; argparse wants ``--root x``. A verb's trailing
    command (``exec ID sh -c ...``, ``do -- cmd``) is never touched."""
    flags = _long_flags(parser)
    out, verb, skip_value, positionals = [], None, False, 0
    for i, a in enumerate(argv):
        if a == "--" or (verb in COMMAND_VERBS and positionals >= 1):
            out.extend(argv[i:])
            break
        names, valued = flags.get(verb, flags[None])
        if skip_value:
            skip_value = False
            out.append(a)
            continue
        if a.startswith("-") and len(a) > 1:
            name = a.lstrip("-").split("=")[0]
            if not a.startswith("--") and name in names and len(name) > 1:
                a = "-" + a
            if "=" not in a and name in valued:
                skip_value = True
        elif verb is None and a in flags:
            verb = a
        elif verb is not None:
            positionals += 1
        out.append(a)
    return out


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line ("snakevisor VERB: the following arguments are
    required: id"), as every other error of the command; the verbs' parsers are of this class too."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message}\n")


PLATFORMS = platform_names.NAMES


def build_parser(do_only=False):
    """The command's parser; ``do_only``: with the global flags and ``do`` alone (~0.5 ms where
    the whole tree, the OCI verbs' flags and their help formatting, costs ~6 ms)."""
    p = _Parser(prog="snakevisor", description="An application kernel for containers, in Python.")
    p.add_argument("--root", default=None, help="state directory for containers (default: /run/snakevisor; "
                   "$XDG_RUNTIME_DIR/snakevisor when rootless, as runc)")
    p.add_argument("--log", help="log file")
    p.add_argument("--log-format", default="text", choices=("text", "json"))
    p.add_argument("--debug", action="store_true")
    p.add_argument("--strace", action="store_true", help="print every syscall on stderr")
    p.add_argument("--platform", default=platform_names.DEFAULT, choices=PLATFORMS,
                   help="how application code is run: systrap (seccomp traps, the default) or ptrace "
                        "(PTRACE_SYSEMU; it also loads hardware breakpoints: gdb's watch)")
    p.add_argument("--network", dest="global_network", choices=("none", "host"),
                   help="OCI containers: override the config's network namespace")
    p.add_argument("--net-raw", action="store_true", dest="global_net_raw",
                   help="OCI containers: allow raw and packet sockets to processes with CAP_NET_RAW (as runsc)")
    p.add_argument("--directfs", dest="global_directfs", type=_bool_flag, default=None,
                   metavar="true|false",
                   help="OCI containers: the Sentry makes host calls itself on descriptors the Gofer donates "
                        "(runsc's flag; default true; false: 9P only)")
    p.add_argument("--overlay2", dest="global_overlay2", default=None, metavar="root:memory|root:DIR|none",
                   help="where the root's changes go: a tmpfs (default), an upper layer on the host directory "
                        "DIR, or none (written through, as runc)")
    p.add_argument("--systemd-cgroup", action="store_true", help="(accepted, ignored)")
    p.add_argument("--rootless", default=None, help="(accepted, ignored)")
    p.add_argument("--criu", default=None, help=argparse.SUPPRESS)
    p.add_argument("--version", "-v", action="version", version="snakevisor version 0.1 (runc-compatible)\n"
                   "spec: 1.0.2-dev")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    _add_do(sub)
    if do_only:
        return p
    _add_server(sub)
    sc = sub.add_parser("syscalls", help="list every syscall and how far snakevisor implements it")
    sc.add_argument("--status", choices=("full", "partial", "unimplemented"), help="only these")
    from snakevisor.cli import oci_verbs   # not for `do`: its json and logging stay off the cold path
    oci_verbs.register(sub)
    return p


def _add_do(sub):
    """The ``do`` verb and its flags."""
    do = sub.add_parser("do", help="run a host command in a fresh sandbox (root: an overlay of the host's /)")
    do.add_argument("--strace", action="store_true", dest="do_strace", help="print every syscall on stderr")
    do.add_argument("--cwd", default=None, help="working directory inside the sandbox (default: the current one)")
    do.add_argument("--cpu", type=int, default=None, help="host CPU to run the Sentry and its stubs on (-1: not pinned)")
    do.add_argument("--hostname", default="snakevisor")
    do.add_argument("--platform", dest="do_platform", default=None, choices=PLATFORMS,
                    help="systrap (default) or ptrace, as the global --platform")
    do.add_argument("--volume", "-v", action="append", default=[], metavar="HOST:SANDBOX[:ro]",
                    help="bind a host directory into the sandbox (writes land on the host; :ro for read-only)")
    do.add_argument("--rootfs", metavar="DIR", help="use DIR as the root filesystem instead of the host's /")
    do.add_argument("--overlay-upper", metavar="DIR",
                    help="keep the root's changes in DIR/upper instead of discarding them at exit")
    do.add_argument("--overlay2", default=None, metavar="root:memory|root:DIR|none",
                    help="where the root's changes go (runsc's flag): a tmpfs (default), an upper layer made on "
                         "the host directory DIR and removed at exit, or none (with --rootfs: written to it)")
    do.add_argument("--network", "--net", default="none", choices=("none", "host"),
                    help="none (default): a network namespace of its own with loopback only; host: the host's")
    do.add_argument("--net-raw", action="store_true",
                    help="allow raw and packet sockets to processes with CAP_NET_RAW (default: EPERM, as runsc)")
    do.add_argument("-t", "--tty", action="store_true",
                    help="give the command a terminal of the sandbox's own, bridged to this one (raw mode)")
    do.add_argument("--pids-limit", type=int, default=None, metavar="N",
                    help="most tasks (processes and threads) at once; default 1024, 0 for no limit")
    do.add_argument("--memory", "-m", default=None, metavar="BYTES",
                    help="most memory (application and tmpfs), suffixes k/m/g; default half the host's RAM, "
                         "0 for no limit")
    do.add_argument("--tmpfs-size", default=None, metavar="BYTES",
                    help="size of /tmp and /dev/shm each, suffixes k/m/g; default: bounded by the memory limit")
    do.add_argument("--warm", action="store_true",
                    help="run through the warm server (`snakevisor server`), starting one and waiting for it if "
                         "none answers (also SNAKEVISOR_WARM=1); without it a server that answers is used, and "
                         "if none does this do runs cold and starts one for the next (SNAKEVISOR_WARM=0: never)")
    do.add_argument("--directfs", type=_bool_flag, default=None, metavar="true|false",
                    help="the Sentry makes host calls itself on descriptors the Gofer donates (runsc's flag; "
                         "default true, or the global --directfs; false: 9P only)")
    do.add_argument("cmd", nargs=argparse.REMAINDER, help="-- COMMAND [ARG...]")


def _add_server(sub):
    """The ``server`` verb (the warm start path, snakevisor/warm/)."""
    sv = sub.add_parser("server", help="the warm start server `do` talks to (started on demand if absent)")
    sv.add_argument("--socket", default=None, help="its socket (default: /run/snakevisor/warm.sock for root, "
                    "else $XDG_RUNTIME_DIR/snakevisor/warm.sock; SNAKEVISOR_WARM_SOCKET)")
    sv.add_argument("--idle-timeout", type=float, default=60.0, metavar="S", help="stop after S seconds idle")
    sv.add_argument("--ready-fd", type=int, default=None, help=argparse.SUPPRESS)   # the client that starts it
    sv.add_argument("--lock-fd", type=int, default=None, help=argparse.SUPPRESS)    # its lock, taken by that client
    sv.add_argument("--tuned", action="store_true", help=argparse.SUPPRESS)        # exec'd with its copy tunable


def directfs_setting(args):
    """The directfs choice: ``do``'s flag, else the global one, else the default read now (not when
    the parser was built: a warm server's parser outlives the environment it was built in)."""
    for value in (getattr(args, "directfs", None), getattr(args, "global_directfs", None)):
        if value is not None:
            return value
    return _directfs_default()


def _directfs_default():
    """--directfs's default: on, as runsc's; SNAKEVISOR_DIRECTFS=false turns it off (the test
    suite's pass of the 9P-only path, as SNAKEVISOR_PLATFORM chooses the platform)."""
    text = os.environ.get("SNAKEVISOR_DIRECTFS")
    return _bool_flag(text) if text else True


def _bool_flag(text):
    """runsc's spelling of a boolean flag's value: true or false (1/0 too)."""
    value = {"true": True, "1": True, "false": False, "0": False}.get(text.lower())
    if value is None:
        raise argparse.ArgumentTypeError(f"want true or false, not {text!r}")
    return value


def overlay2_setting(args):
    """The --overlay2 choice (``do``'s flag, else the global one, else root:memory); ValueError
    with a one-line reason."""
    from snakevisor.sandbox.overlay2 import MEMORY, parse_overlay2
    text = getattr(args, "overlay2", None) or getattr(args, "global_overlay2", None)
    return MEMORY if text is None else parse_overlay2(text)


def _bad_do_flag(args):
    """The first problem with ``do``'s flags that the host can see, as one line naming the flag."""
    if args.rootfs and not os.path.isdir(args.rootfs):
        return f"--rootfs {args.rootfs}: not a directory"
    if args.overlay_upper and (args.overlay2 or args.global_overlay2):
        return "--overlay-upper and --overlay2: give one (--overlay2=root:DIR keeps no changes; --overlay-upper does)"
    if not args.overlay.overlay and not args.rootfs:
        return "--overlay2=none: the root would be the host's own /, written through; give --rootfs DIR"
    if args.overlay_upper:
        existing = os.path.abspath(args.overlay_upper)   # made if missing: its nearest ancestor must be a directory
        while not os.path.lexists(existing):
            existing = os.path.dirname(existing)
        if not os.path.isdir(existing):
            return f"--overlay-upper {args.overlay_upper}: {existing} is not a directory"
    if args.cwd is not None and not args.cwd.startswith("/"):
        return f"--cwd {args.cwd}: must be an absolute path"
    if args.cpu not in (None, -1) and args.cpu not in os.sched_getaffinity(0):   # -1: not pinned
        allowed = ",".join(map(str, sorted(os.sched_getaffinity(0))))
        return f"--cpu {args.cpu}: not a CPU this process may run on ({allowed})"
    if len(args.hostname.encode()) > HOST_NAME_MAX:
        return f"--hostname: longer than {HOST_NAME_MAX} bytes (HOST_NAME_MAX)"
    if args.tty:
        # The Sentry's loop watches the host's input: a terminal, a pipe or a socket, not a file.
        try:
            mode = os.fstat(0).st_mode
        except OSError:
            mode = 0
        if not (os.isatty(0) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
            return "-t: standard input is not a terminal (nor a pipe)"
    if args.overlay_upper:   # last, so that nothing is made for a do refused on another flag
        try:
            os.makedirs(args.overlay_upper, exist_ok=True)
        except OSError as e:   # under /proc, say: the Gofer failed on it and the program saw EIO
            return f"--overlay-upper {args.overlay_upper}: cannot make it: {e.strerror}"
    return None


def _size_flag(flag, value, parse_size):
    """A size flag's bytes (None if not given); its ValueError names the flag."""
    try:
        return None if value is None else parse_size(value)
    except ValueError as e:
        raise ValueError(f"{flag}: {e}") from None


def _caller_cwd():
    try:
        return os.getcwd()
    except OSError:   # removed under us: the sandbox starts in / as when it has no such directory
        return "/"


class DoUsage(Exception):
    """A ``do`` command line that cannot run; str: the one-line reason (exit code 2)."""


def do_invocation(args):
    """(the command, run_do's keyword arguments, the --overlay2 setting) of a parsed ``do``;
    DoUsage if it cannot run. The warm server's spare (warm/spare.py) compares them too."""
    from snakevisor.sandbox.do import parse_size, parse_volume
    cmd = args.cmd[1:] if args.cmd and args.cmd[0] == "--" else args.cmd
    if not cmd:
        raise DoUsage("no command given (usage: snakevisor do [--strace] -- CMD [ARG...])")
    try:
        volumes = [parse_volume(v) for v in args.volume]
        memory = _size_flag("--memory", args.memory, parse_size)
        tmpfs_size = _size_flag("--tmpfs-size", args.tmpfs_size, parse_size)
        if args.pids_limit is not None and args.pids_limit < 0:
            raise ValueError(f"--pids-limit {args.pids_limit}: want a count (0: no limit)")
        overlay = overlay2_setting(args)
    except ValueError as e:
        raise DoUsage(str(e)) from None
    args.overlay = overlay
    problem = _bad_do_flag(args)
    if problem:
        raise DoUsage(problem)
    cwd = args.cwd or (_caller_cwd() if not args.rootfs else "/")
    kwargs = dict(strace=args.strace or args.do_strace, cwd=cwd, cpu=args.cpu, hostname=args.hostname,
                  volumes=volumes, rootfs=args.rootfs, overlay_upper=args.overlay_upper, network=args.network,
                  tty=args.tty, net_raw=args.net_raw or args.global_net_raw, pids_limit=args.pids_limit, memory=memory, tmpfs_size=tmpfs_size,
                  profile=os.environ.get("SNAKEVISOR_PROFILE"),   # a developer's aid: cProfile of the Sentry
                  cwd_missing="error" if args.cwd else "fallback",
                  platform=args.do_platform or args.platform,
                  directfs=directfs_setting(args), root_overlay=overlay.overlay)
    return cmd, kwargs, overlay


def cmd_do(args):
    from snakevisor.sandbox.do import run_do
    try:
        cmd, kwargs, overlay = do_invocation(args)
    except DoUsage as e:
        print(f"snakevisor do: {e}", file=sys.stderr)
        return 2
    from snakevisor.sandbox.overlay2 import upper_layer
    with upper_layer(overlay) as upper:
        if upper is not None:
            kwargs["overlay_upper"] = upper
        code = run_do(cmd, **kwargs)
    # The sandbox is gone and the Gofer stopped: skip the interpreter's teardown of the Sentry's
    # objects (~100+ ms of freeing for nothing).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def cmd_syscalls(args):
    from snakevisor.sentry.kernel.syscall_table import TABLE
    from snakevisor.sentry.syscalls import linux64
    linux64.install()
    counts = {}
    for nr, name, status, note in TABLE.listing():
        counts[status] = counts.get(status, 0) + 1
        if args.status and status != args.status:
            continue
        print(f"{nr:4d} {name:<24} {status:<14} {note}".rstrip())
    print("# " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    return 0


def _stray_arguments(unknown):
    """Positional arguments a verb has no place for (``state a b``); an unknown flag's value is not one."""
    stray, after_flag = [], False
    for a in unknown:
        if a.startswith("-") and len(a) > 1:
            after_flag = "=" not in a
        elif after_flag:
            after_flag = False
        else:
            stray.append(a)
    return stray


def cmd_server(args):
    from snakevisor.warm.protocol import default_socket
    from snakevisor.warm.server import serve, with_copy_tunable
    if not args.tuned:
        with_copy_tunable()   # an exec of this command with --tuned
    path = os.path.abspath(args.socket) if args.socket else default_socket()
    try:
        return serve(path, args.idle_timeout, args.ready_fd, args.lock_fd)
    except OSError as e:
        print(f"snakevisor server: {path}: {e.strerror or e}", file=sys.stderr)
        return 1


def main(argv=None, warm=True):
    """``warm``: a warm ``do`` goes to the warm server (false when the caller has tried already,
    and in the server's own ``do`` processes)."""
    if warm:
        from snakevisor.warm.client import try_warm
        code = try_warm(list(sys.argv[1:] if argv is None else argv))
        if code is not None:
            return code
    try:
        return _dispatch(argv)
    except BrokenPipeError:
        # Whoever read our output went away (`snakevisor syscalls | head`): end quietly, as cat
        # does, with no traceback, and nothing more to flush at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


_PARSER = []   # the parser, once built: the warm server builds it before it forks (~10-20 ms each)


def cached_parser():
    """build_parser()'s parser, built once per process (parsing does not change it)."""
    if not _PARSER:
        _PARSER.append(build_parser())
    return _PARSER[0]


def _parser_for(argv):
    """The cached parser, or (a cold ``do`` builds one parser only) ``do``'s alone when the verb is
    ``do`` and no help was asked for before it (``snakevisor -h do`` lists every verb)."""
    from snakevisor.warm.client import first_verb
    i = first_verb(argv)
    if _PARSER or i is None or argv[i] != "do" or {"-h", "--help"} & set(argv[:i]):
        return cached_parser()
    return build_parser(do_only=True)


def _dispatch(argv):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser_for(argv)
    argv = _normalise(argv, parser)
    args, unknown = parser.parse_known_args(argv)
    if args.command != "do":
        gc.enable()   # paused for the cold start (sandbox/coldgc.py); `do` resumes it in each process
    if args.command == "do":
        if unknown:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        return cmd_do(args)
    if args.command == "syscalls":
        return cmd_syscalls(args)
    if args.command == "server":
        return cmd_server(args)
    from snakevisor.cli import oci_verbs
    if args.command in oci_verbs.VERBS:
        stray = _stray_arguments(unknown)
        if stray:
            parser.error(f"{args.command}: unexpected argument {stray[0]!r}")
        oci_verbs.setup_logging(args)
        if unknown:
            import logging
            logging.getLogger("snakevisor").debug("ignoring unknown flags: %s", " ".join(unknown))
        return oci_verbs.dispatch(args)
    parser.error("no command given (snakevisor --help lists them)")
