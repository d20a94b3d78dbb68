"""The runc-compatible OCI verbs: create, start, run, state, list, kill, delete, exec, ps, spec
(and the hidden ``sandbox-boot``, the sandbox process's own entry point).

Flags are runc's, with its spellings; flags runc has that we do not act on are accepted
(containerd passes them) and noted in the debug log. Errors are one line on stderr
(and in ``--log``), exit status 1.

The light verbs (cli/light.py) dispatch here without the parser: argparse and logging are
imported where the parser is built and logging set up.
"""
from __future__ import annotations

import json
import re
import sys

from snakevisor.sentry import platform as platform_names


def register(sub):
    """Add the OCI verbs to the ``snakevisor`` subparsers."""
    import argparse
    p = sub.add_parser("create", help="create a container (its init waits for `start`)")
    _bundle_flags(p)
    p.add_argument("id")

    p = sub.add_parser("run", help="create and start a container, wait for it and delete it")
    _bundle_flags(p)
    p.add_argument("--detach", "-d", action="store_true")
    p.add_argument("--keep", action="store_true", help="(ignored)")
    p.add_argument("id")

    p = sub.add_parser("start", help="run the init process of a created container")
    p.add_argument("id")

    p = sub.add_parser("state", help="print the OCI state of a container")
    p.add_argument("id")

    p = sub.add_parser("list", help="list containers")
    p.add_argument("--format", "-f", default="table", choices=("table", "json"))
    p.add_argument("--quiet", "-q", action="store_true")

    p = sub.add_parser("kill", help="send a signal (default SIGTERM) to a container's init")
    p.add_argument("--all", "-a", action="store_true", help="every process of the container")
    p.add_argument("id")
    p.add_argument("signal", nargs="?", default="SIGTERM")

    p = sub.add_parser("delete", help="delete a container (--force: even a running one)")
    p.add_argument("--force", "-f", action="store_true")
    p.add_argument("id")

    _register_exec(sub)

    p = sub.add_parser("ps", help="the container's processes as the Sentry sees them")
    p.add_argument("--format", "-f", default="table", choices=("table", "json"))
    p.add_argument("id")
    p.add_argument("ps_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    p = sub.add_parser("spec", help="write a default config.json (like `runc spec`)")
    p.add_argument("--bundle", "-b", default=".")
    p.add_argument("--rootless", action="store_true", help="(not supported: the default config is written)")

    for name in ("pause", "resume", "events", "update", "checkpoint", "restore", "features"):
        p = sub.add_parser(name)
        p.add_argument("rest", nargs=argparse.REMAINDER)

    _register_internal(sub)


def _register_exec(sub):
    """exec: runc's flags (the SELinux, AppArmor, cgroup and fd-passing ones accepted, unused)."""
    import argparse
    p = sub.add_parser("exec", help="run another process in a running container")
    p.add_argument("--process", "-p", help="process.json (a config.json process object)")
    p.add_argument("--tty", "-t", action="store_true")
    p.add_argument("--cwd")
    p.add_argument("--env", "-e", action="append", default=[])
    p.add_argument("--user", "-u", help="UID[:GID]")
    p.add_argument("--additional-gids", "-g", action="append", default=[], type=int)
    p.add_argument("--detach", "-d", action="store_true")
    p.add_argument("--pid-file")
    p.add_argument("--console-socket")
    p.add_argument("--no-new-privs", action="store_true")
    p.add_argument("--cap", "-c", action="append", default=[])
    for ignored in ("--process-label", "--apparmor", "--cgroup", "--preserve-fds"):
        p.add_argument(ignored, help=argparse.SUPPRESS)
    p.add_argument("--ignore-paused", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("id")
    p.add_argument("cmd_args", nargs=argparse.REMAINDER, metavar="COMMAND")


def _register_internal(sub):
    """The verbs no user types: the sandbox process's entry point and the lockdown tests' probe."""
    p = sub.add_parser("sandbox-boot")
    p.add_argument("--id", required=True)
    p.add_argument("--bundle", required=True)
    p.add_argument("--state-dir", required=True)
    p.add_argument("--ready-fd", type=int, required=True)
    p.add_argument("--network", dest="network", default=None)
    p.add_argument("--net-raw", dest="net_raw", action="store_true")
    p.add_argument("--directfs", dest="directfs", action="store_true")
    p.add_argument("--no-seccomp", action="store_true")
    p.add_argument("--no-pivot", action="store_true")

    p = sub.add_parser("debug")   # lockdown tests: what the Sentry may still do
    p.add_argument("id")
    p.add_argument("what", choices=("open", "stats"))
    p.add_argument("path", nargs="?", default="/proc/self/status")


def _bundle_flags(p):
    import argparse
    p.add_argument("--bundle", "-b", default=".")
    p.add_argument("--console-socket")
    p.add_argument("--pid-file")
    p.add_argument("--no-pivot", action="store_true", help="(accepted; the Sentry always pivots)")
    p.add_argument("--no-new-keyring", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--preserve-fds", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--pidfd-socket", help=argparse.SUPPRESS)
    p.add_argument("--no-seccomp", action="store_true", help=argparse.SUPPRESS)


VERBS = ("create", "run", "start", "state", "list", "kill", "delete", "exec", "ps", "spec", "pause", "resume",
         "events", "update", "checkpoint", "restore", "features", "sandbox-boot", "debug")


class _Opts:
    """What the sandbox process inherits from the global flags."""

    def __init__(self, args):
        self.root = args.root
        self.log = args.log
        self.log_format = args.log_format
        self.debug = args.debug
        self.strace = args.strace
        self.platform = getattr(args, "platform", platform_names.DEFAULT)
        self.network = getattr(args, "global_network", None)
        self.net_raw = getattr(args, "global_net_raw", False)
        from snakevisor.cli.main import directfs_setting, overlay2_setting   # main imports this module
        self.directfs = directfs_setting(args)
        self.overlay2 = overlay2_setting(args)
        self.no_seccomp = getattr(args, "no_seccomp", False)


def dispatch(args):
    """Run the verb; returns the exit status."""
    from snakevisor.sandbox.state import StateStore, default_root
    if args.root is None:
        args.root = default_root()
    store = StateStore(args.root)
    try:
        if args.command != "spec":
            store.check_root()
        return _VERB_FUNCS[args.command](store, args)
    except Exception as e:
        if _is_error(e, "snakevisor.oci.config", "ConfigError"):
            # A field of config.json is named as such; the file itself and flags (--process) are not.
            return _fail(str(e) if e.field == "config.json" or e.field.startswith("-") else f"config.json: {e}")
        if any(_is_error(e, *where) for where in _ONE_LINE_ERRORS):
            return _fail(str(e))
        code = _os_error(e, args)
        if code is None:
            raise
        return code


# The verbs' own errors, reported as their one line. Looked up, not imported: a verb that never
# imported a module (start, state, delete: no config model, no lockdown) cannot have raised its error.
_ONE_LINE_ERRORS = (("snakevisor.sandbox.state", "StateError"), ("snakevisor.sandbox.hooks", "HookError"),
                    ("snakevisor.sandbox.control", "ControlError"),
                    ("snakevisor.hostos.setup", "HostSetupError"))   # lockdown's LockdownError


def _is_error(e, module, name):
    cls = getattr(sys.modules.get(module), name, None)
    return cls is not None and isinstance(e, cls)


def _os_error(e, args):
    """The one line of a host refusal or a bad flag value; None for anything else."""
    if isinstance(e, FileExistsError):
        return _fail(str(e.args[0] if e.args else e))
    if isinstance(e, ValueError):   # a global flag's value (--overlay2)
        return _fail(str(e))
    if isinstance(e, PermissionError):
        return _fail(f"{e.filename or ''}: permission denied (is --root {args.root} this user's?)")
    if isinstance(e, OSError):   # a path from a flag (--root, --bundle, --pid-file, ...) the host refused
        return _fail(f"{e.filename}: {e.strerror}" if e.filename else str(e))
    return None


def _fail(msg):
    logging = sys.modules.get("logging")   # not imported: no --log file was opened (cli/light.py)
    log = logging and logging.getLogger("snakevisor")
    if log and any(isinstance(h, logging.FileHandler) for h in log.handlers):
        log.error(msg)    # containerd reads the last error from --log
    print(f"snakevisor: {msg}", file=sys.stderr)
    return 1


def _create(store, args):
    from snakevisor.sandbox.container import create
    create(store, _Opts(args), args.id, args.bundle, args.pid_file, args.console_socket, detach=True)
    return 0


def _run(store, args):
    from snakevisor.sandbox.container import run
    return run(store, _Opts(args), args.id, args.bundle, args.pid_file, args.console_socket, detach=args.detach)


def _start(store, args):
    from snakevisor.sandbox.container import start
    start(store, args.id)
    return 0


def _state(store, args):
    from snakevisor.sandbox.container import state_of
    print(json.dumps(state_of(store, args.id), indent=2))
    return 0


def _list(store, args):
    from snakevisor.sandbox.container import list_states
    states = list_states(store)
    if args.quiet:
        for s in states:
            print(s["id"])
    elif args.format == "json":
        print(json.dumps(states))
    else:
        rows = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
        rows += [(s["id"], str(s["pid"]), s["status"], s["bundle"], s["created"], s["owner"]) for s in states]
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        for r in rows:
            print("   ".join(c.ljust(w) for c, w in zip(r, widths)) + "   " + r[5])
    return 0


def _kill(store, args):
    from snakevisor.sandbox.container import kill, parse_signal
    kill(store, args.id, parse_signal(args.signal), everything=args.all)
    return 0


def _delete(store, args):
    from snakevisor.sandbox.container import delete
    from snakevisor.sandbox.state import StateError
    try:
        delete(store, args.id, force=args.force)
    except StateError as e:
        if args.force and "does not exist" in str(e):
            return 0    # runc: delete --force of a missing container is not an error
        raise
    return 0


def _exec(store, args):
    from snakevisor.oci.config import load_json, parse_process
    from snakevisor.sandbox.container import exec_process
    if args.process:
        process = load_json(args.process, "--process")
        parse_process(process, "--process")   # fail here, with the field named
    else:
        process = _process_from_flags(store, args)
    return exec_process(store, args.id, process, args.detach, args.pid_file, args.console_socket)


# Where parse_process finds a fault in a process exec's flags made: the flag to name.
_FLAG_OF_FIELD = (("process.cwd", "--cwd"), ("process.env", "--env"), ("process.capabilities", "--cap"))


def _process_from_flags(store, args):
    """The process object of exec's COMMAND and flags; the container's config.json gives the cwd
    and environment the flags do not. Checked before the container is looked up."""
    from snakevisor.oci.config import ConfigError, load_spec, parse_process
    from snakevisor.sandbox.state import StateError
    cmd = args.cmd_args[1:] if args.cmd_args[:1] == ["--"] else args.cmd_args
    if not cmd:
        raise StateError("exec: no command given (usage: snakevisor exec ID COMMAND [ARG...])")
    process = {"args": cmd, "terminal": args.tty, "cwd": args.cwd or "/", "env": list(args.env),
               **_exec_flags(args)}
    try:
        parse_process(process, "process")
    except ConfigError as e:
        flag = next((flag for field, flag in _FLAG_OF_FIELD if e.field.startswith(field)), None)
        if flag is None:
            raise
        raise ConfigError(flag, str(e)[len(e.field) + 2:]) from None
    try:
        base = load_spec(store.load(args.id).bundle).process
        cwd, env = base.cwd, list(base.env)
    except ConfigError:
        cwd, env = "/", []
    process["cwd"] = args.cwd or cwd
    process["env"] = env + process["env"]
    return process


def _exec_flags(args):
    """The user and capability fields exec's flags give; -u and -g are checked here (runc's
    rules: (uid_t)-1 is no id), the rest by parse_process."""
    from snakevisor.oci.config import UINT32_MAX, ConfigError
    out = {}
    for g in args.additional_gids:
        if not 0 <= g < UINT32_MAX:
            raise ConfigError("--additional-gids", f"{g}: not a group id")
    if args.user:
        uid, gid = _parse_user(args.user)
        out["user"] = {"uid": uid, "gid": gid, "additionalGids": args.additional_gids}
    if args.cap:
        out["capabilities"] = {k: list(args.cap) for k in ("bounding", "effective", "permitted")}
    if args.no_new_privs:
        out["noNewPrivileges"] = True
    return out


def _parse_user(text):
    """exec --user UID[:GID] (numbers, as runc takes them) -> (uid, gid)."""
    from snakevisor.oci.config import UINT32_MAX, ConfigError
    m = re.fullmatch(r"(\d+)(?::(\d+))?", text)
    ids = (int(m.group(1)), int(m.group(2) or 0)) if m else None
    if ids is None or not all(i < UINT32_MAX for i in ids):   # (uid_t)-1 means "no change"
        raise ConfigError("--user", f"{text!r}: must be UID[:GID], numbers from 0 to {UINT32_MAX - 1}")
    return ids


def _ps(store, args):
    from snakevisor.sandbox.container import host_pids, ps
    if args.format == "json":   # for engines: host pids, as runc's (the table is the sandbox's view)
        print(json.dumps(host_pids(store, args.id)))
        return 0
    procs = ps(store, args.id)
    print(f"{'UID':<8} {'PID':>6} {'PPID':>6} {'C':>2} {'STIME':<8} {'TTY':<6} {'TIME':<9} CMD")
    for p in procs:
        secs = int(p["start"])
        print(f"{p['uid']:<8} {p['pid']:>6} {p['ppid']:>6} {0:>2} {secs // 3600:02d}:{secs // 60 % 60:02d}"
              f"{'':<3} {'?':<6} {'00:00:00':<9} {p['cmd'] or '[' + p['name'] + ']'}")
    return 0


def _spec(store, args):
    from snakevisor.oci.spec import write_spec
    write_spec(args.bundle)
    return 0


def _unsupported(store, args):
    if args.command == "features":
        print(json.dumps({"ociVersionMin": "1.0.0", "ociVersionMax": "1.0.2-dev",
                          "hooks": ["prestart", "createRuntime", "createContainer", "startContainer",
                                    "poststart", "poststop"],
                          "mountOptions": ["ro", "rw", "bind", "rbind", "nosuid", "nodev", "noexec"]}))
        return 0
    return _fail(f"{args.command} is not supported by snakevisor")


def _sandbox_boot(store, args):
    from snakevisor.sandbox.boot import boot_main
    return boot_main(args)


def _debug(store, args):
    from snakevisor.sandbox.container import debug_open, stats
    if args.what == "open":
        print(debug_open(store, args.id, args.path))
    else:
        print(json.dumps(stats(store, args.id)))
    return 0


_VERB_FUNCS = {"create": _create, "run": _run, "start": _start, "state": _state, "list": _list, "kill": _kill,
               "delete": _delete, "exec": _exec, "ps": _ps, "spec": _spec, "sandbox-boot": _sandbox_boot,
               "debug": _debug, **{v: _unsupported for v in ("pause", "resume", "events", "update", "checkpoint",
                                                              "restore", "features")}}


# -- logging -------------------------------------------------------------------------------
class _JsonFormatter:
    """runc's JSON log lines (a handler asks its formatter for format(record) alone)."""

    def format(self, record):
        import datetime
        return json.dumps({"level": record.levelname.lower(), "msg": record.getMessage(),
                           "time": datetime.datetime.now(datetime.timezone.utc).isoformat()})


def setup_logging(args):
    """--log FILE (text or json lines, as runc writes them for containerd), --debug."""
    import logging
    log = logging.getLogger("snakevisor")
    log.setLevel(logging.DEBUG if args.debug else logging.INFO)
    log.propagate = False
    if args.log:
        try:
            handler = logging.FileHandler(args.log)
        except OSError:
            handler = logging.StreamHandler(sys.stderr)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(logging.DEBUG if args.debug else logging.WARNING)
    handler.setFormatter(_JsonFormatter() if args.log_format == "json" else
                         logging.Formatter("snakevisor: %(levelname)s: %(message)s"))
    log.handlers[:] = [handler]
