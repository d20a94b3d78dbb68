"""The light OCI verbs' fast path: ``start``, ``kill``, ``delete`` and ``state``, which an engine's
shim runs as commands of their own once or more per container (an OCI cycle runs start and delete).

They run here without the CLI's parser (argparse, the whole tree of ``do``'s flags), logging,
the warm client or the config model: their flags are few and spelled one way, so a small table
reads them, and cli/oci_verbs.py's ``dispatch`` runs them as the full CLI would. Anything else
(another verb, a flag not in the tables, an abbreviation, ``--help``, a container with hooks:
their warnings need the logging set-up) is declined (None), and the full CLI runs the command, so
what a command does and prints is the same either way. They always run cold: a fresh
interpreter with these imports is faster than a round trip through the warm server.
"""
LIGHT_VERBS = frozenset(("start", "kill", "delete", "state"))
# Global flags: name -> the values it may take (None: any; () : none, a switch).
GLOBAL_FLAGS = {"root": None, "log": None, "log-format": ("text", "json"), "debug": (), "systemd-cgroup": ()}
# Each verb's switches (short and long spellings) -> its field, and its positional fields.
VERB_SWITCHES = {"delete": {"force": "force", "f": "force"}, "kill": {"all": "all", "a": "all"}}
VERB_POSITIONALS = {"start": ("id",), "state": ("id",), "delete": ("id",), "kill": ("id", "signal")}
DEFAULTS = {"root": None, "log": None, "log_format": "text", "debug": False, "systemd_cgroup": False,
            "force": False, "all": False, "signal": "SIGTERM"}


def try_light(argv):
    """The exit code of ``snakevisor ARGV`` run here, or None when the full CLI is to run it."""
    args = parse(argv)
    if args is None:
        return None
    from snakevisor.cli import oci_verbs
    if args.log or args.debug:
        oci_verbs.setup_logging(args)
    elif _has_hooks(args):
        return None
    try:
        return oci_verbs.dispatch(args)
    except BrokenPipeError:
        from snakevisor.cli.ending import quiet_broken_pipe
        return quiet_broken_pipe()


def parse(argv):
    """The namespace oci_verbs.dispatch takes for ARGV, or None when it is not a light verb
    spelled as the tables have it."""
    values, i = {}, 0
    while i < len(argv) and argv[i].startswith("-"):
        flag = _flag(argv, i, GLOBAL_FLAGS)
        if flag is None:
            return None
        name, value, i = flag
        values[name.replace("-", "_")] = value
    if i >= len(argv) or argv[i] not in LIGHT_VERBS:
        return None
    verb = argv[i]
    positionals = []
    switches = VERB_SWITCHES.get(verb, {})
    for a in argv[i + 1:]:
        if a.startswith("-") and a != "-":
            field = switches.get(a[2:] if a.startswith("--") else a[1:])
            if field is None or (a.startswith("--") and len(a) == 3):   # --f is not -f
                return None
            values[field] = True
        else:
            positionals.append(a)
    names = VERB_POSITIONALS[verb]
    if not 1 <= len(positionals) <= len(names):
        return None
    values.update(zip(names, positionals))
    from types import SimpleNamespace
    return SimpleNamespace(**{**DEFAULTS, **values, "command": verb})


def _flag(argv, i, table):
    """(name, value, index after it) of the global flag at argv[i] (``--name``, ``-name``,
    ``--name=value``, ``--name value``), or None when the table does not have it so."""
    text = argv[i].lstrip("-")
    if argv[i].startswith("---") or not text:
        return None
    name, eq, value = text.partition("=")
    allowed = table.get(name, False)
    if allowed is False:
        return None
    if allowed == ():   # a switch
        return (name, True, i + 1) if not eq else None
    if not eq:
        if i + 1 >= len(argv) or argv[i + 1].startswith("-"):   # argparse's "expected one argument"
            return None
        value, i = argv[i + 1], i + 1
    if allowed is not None and value not in allowed:
        return None
    return name, value, i + 1


def _has_hooks(args):
    """The container has hooks recorded (a poststart or poststop failure is logged)."""
    from snakevisor.sandbox.state import StateError, StateStore, default_root
    try:
        return bool(StateStore(args.root or default_root()).load(args.id).hooks)
    except (StateError, OSError):
        return False   # the verb itself reports it

