"""The light OCI verbs (snakevisor/cli/light.py: start, kill, delete, state without the CLI's
parser): what they accept is what the parser accepts, what they decline goes to the full CLI, and
a command prints, logs, exits and does the same either way (run both ways and compared)."""
import json
import os
import subprocess
import sys

import pytest

from harness import sandbox_env, snakevisor_cmd
from oci_support import create, make_bundle, sv

from snakevisor.cli.light import GLOBAL_FLAGS, VERB_POSITIONALS, VERB_SWITCHES, parse

# The full CLI, never the light path: what the light verbs must agree with.
FULL_CLI = [sys.executable, "-c", "import sys; from snakevisor.cli.main import main; sys.exit(main(warm=False))"]


def test_light_tables_match_the_parser():
    """Each flag the light path reads is the parser's, a switch there as here, with its choices."""
    from snakevisor.cli.main import build_parser
    parser = build_parser()
    actions = {opt.lstrip("-"): a for a in parser._actions for opt in a.option_strings}
    for name, allowed in GLOBAL_FLAGS.items():
        action = actions[name]
        assert (action.nargs == 0) == (allowed == ()), name
        assert action.choices is None or tuple(action.choices) == allowed, name
    verbs = next(a for a in parser._actions if a.choices and "start" in a.choices).choices
    for verb, names in VERB_POSITIONALS.items():
        sub = verbs[verb]
        positionals = tuple(a.dest for a in sub._actions if not a.option_strings)
        assert positionals == names, verb
        switches = {opt.lstrip("-"): a.dest for a in sub._actions for opt in a.option_strings if a.nargs == 0}
        switches.pop("h"), switches.pop("help")
        assert switches == VERB_SWITCHES.get(verb, {}), verb


@pytest.mark.parametrize("argv", [
    [], ["start"], ["start", "a", "b"], ["--help"], ["-h", "start", "c"], ["--version"],
    ["create", "c"], ["exec", "c", "true"], ["--platform", "systrap", "start", "c"], ["--root"],
    ["--root", "--debug", "start", "c"], ["--log-format", "xml", "start", "c"], ["--debug=1", "start", "c"],
    ["--roo", "/r", "start", "c"], ["delete", "--forc", "c"], ["delete", "--f", "c"], ["delete", "-fa", "c"],
    ["kill", "c", "-9"], ["kill", "c", "TERM", "x"], ["start", "--", "c"], ["start", "--root", "/r", "c"],
    ["---root", "/r", "start", "c"],
])
def test_light_declines_what_it_does_not_know(argv):
    assert parse(argv) is None


def test_light_reads_runc_spellings():
    args = parse(["-root", "/r", "--log=/l", "-log-format", "json", "--systemd-cgroup", "delete", "c", "-f"])
    assert (args.root, args.log, args.log_format, args.command, args.id, args.force) == \
        ("/r", "/l", "json", "delete", "c", True)
    args = parse(["kill", "--all", "c", "KILL"])
    assert (args.root, args.all, args.signal, args.debug) == (None, True, "KILL", False)
    assert parse(["kill", "c"]).signal == "SIGTERM" and parse(["-force", "delete", "c"]) is None


def _both_ways(root, *argv, log=None):
    """(exit code, stdout, stderr, log lines without their time) of ``snakevisor --root ROOT ARGV``,
    run by ``python -m snakevisor`` (the light path when it takes it) and by the full CLI."""
    out = []
    for cmd in (snakevisor_cmd(), FULL_CLI):
        if log and os.path.exists(log):
            os.unlink(log)
        r = subprocess.run(cmd + ["--root", root, *argv], capture_output=True, text=True, timeout=60,
                           env=sandbox_env(SNAKEVISOR_WARM="0"), stdin=subprocess.DEVNULL)
        lines = []
        if log and os.path.exists(log):
            with open(log) as f:
                lines = [{k: v for k, v in json.loads(line).items() if k != "time"} for line in f]
        out.append((r.returncode, r.stdout, r.stderr, lines))
    assert out[0] == out[1], argv
    return out[0]


def test_errors_are_the_same_light_or_full(tmp_path):
    root, log = str(tmp_path / "state"), str(tmp_path / "log.json")
    assert _both_ways(root, "state", "nope")[:3] == (1, "", "snakevisor: container does not exist: nope\n")
    assert _both_ways(root, "delete", "nope")[0] == 1
    assert _both_ways(root, "delete", "--force", "nope")[:3] == (0, "", "")
    assert _both_ways(root, "start", "../evil")[0] == 1
    code, _, _, lines = _both_ways(root, "--log", log, "--log-format", "json", "start", "nope", log=log)
    assert code == 1 and lines == [{"level": "error", "msg": "container does not exist: nope"}]
    not_a_dir = str(tmp_path / "file")
    open(not_a_dir, "w").close()
    assert "not a directory" in _both_ways(not_a_dir, "state", "x")[2]


def test_a_lifecycle_is_the_same_light_or_full(tmp_path):
    """state and kill of a created container print and do the same both ways; start and delete
    (light here) leave the same state as under test_oci.py's full runs."""
    root = str(tmp_path / "state")
    b = make_bundle(str(tmp_path / "b"), ["sleep", "1000"])
    assert create(root, "c", b, str(tmp_path)).returncode == 0
    try:
        code, out, _, _ = _both_ways(root, "state", "c")
        assert code == 0 and json.loads(out)["status"] == "created"
        assert _both_ways(root, "kill", "c", "BOGUS")[:3] == (1, "", "snakevisor: invalid signal 'BOGUS'\n")
        assert sv(root, "start", "c").returncode == 0
        assert json.loads(_both_ways(root, "state", "c")[1])["status"] == "running"
        r = sv(root, "delete", "c")
        assert r.returncode == 1 and "not stopped" in r.stderr
    finally:
        assert sv(root, "delete", "--force", "c").returncode == 0
    assert not os.path.exists(os.path.join(root, "c"))


def test_state_removal_of_files_and_of_more(tmp_path):
    """A container's state directory holds files: removed without shutil; anything more (a
    subdirectory) or nothing at all is what shutil.rmtree(ignore_errors=True) makes of it."""
    from snakevisor.sandbox.state import StateStore
    store = StateStore(str(tmp_path))
    for cid, deeper in (("flat", False), ("deep", True)):
        d = tmp_path / cid
        d.mkdir()
        (d / "state.json").write_text("{}")
        if deeper:
            (d / "sub").mkdir()
            (d / "sub" / "f").write_text("")
        store.remove(cid)
        assert not d.exists(), cid
    store.remove("gone")
