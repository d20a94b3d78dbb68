"""Bad input to the `snakevisor` command: every case exits non-zero with one line on stderr (no
traceback) that names the field or flag, and leaves nothing behind (no state directory for the id,
no process, no mount). Also what runc accepts that we used to get wrong: process.cwd missing is
made, ids up to 255 characters, pids.limit 0 and -1."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from harness import run_sandboxed, sandbox_cmd, sandbox_env, snakevisor_cmd
from oci_support import create, make_bundle, state, sv, wait_status

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="OCI containers and do need root (namespaces, mounts)")


def one_line_error(res, names):
    """``res`` failed with one line on stderr that contains ``names``."""
    assert res.returncode != 0, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert names in lines[0], res.stderr


def processes_mentioning(text):
    """Host processes whose command line contains ``text`` (a sandbox and its Gofer carry --root)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    out.append(int(d))
        except OSError:
            continue
    return out


def mounts_mentioning(text):
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if text in line]


# -- OCI: create with a bad bundle, id or --root -------------------------------------------------------
def _set(spec, path, value):
    """spec at "a.b[0].c" = value (containers on the way are made)."""
    keys = []
    for part in path.split("."):
        name, _, index = part.partition("[")
        keys.append(name)
        if index:
            keys.append(int(index.rstrip("]")))
    cur = spec
    for key, nxt in zip(keys, keys[1:]):
        if isinstance(cur, dict):
            if not isinstance(cur.get(key), (dict, list)):
                cur[key] = [] if isinstance(nxt, int) else {}
        else:
            while len(cur) <= key:
                cur.append([] if isinstance(nxt, int) else {})
        cur = cur[key]
    if isinstance(cur, list):
        while len(cur) <= keys[-1]:
            cur.append(None)
    cur[keys[-1]] = value


# Every field the config model reads, with a value of the wrong type.
WRONG_TYPES = [
    ("ociVersion", 1), ("root", "rootfs"), ("root.path", 7), ("root.readonly", "yes"), ("process", "sh"),
    ("process.args", "sh"), ("process.args", [1]), ("process.cwd", 5), ("process.env", "A=b"), ("process.env", [5]),
    ("process.terminal", "no"), ("process.user", []), ("process.user.uid", "0"), ("process.user.uid", -1),
    ("process.user.gid", 1.5), ("process.user.umask", "022"), ("process.user.additionalGids", ["a"]),
    ("process.rlimits", {}), ("process.rlimits[0]", "RLIMIT_NOFILE"), ("process.rlimits[0].type", 7),
    ("process.rlimits[0].soft", "1"), ("process.rlimits[0].hard", -1), ("process.capabilities", []),
    ("process.capabilities.bounding", "CAP_KILL"), ("process.noNewPrivileges", "yes"),
    ("process.consoleSize", [24, 80]), ("process.consoleSize.height", "24"), ("hostname", 7), ("mounts", {}),
    ("mounts[0]", "/proc"), ("mounts[0].destination", 5), ("mounts[0].type", 5), ("mounts[0].source", 5),
    ("mounts[0].options", "ro"), ("hooks", []), ("hooks.prestart", {}), ("hooks.prestart[0]", "/bin/true"),
    ("hooks.prestart[0].path", 5), ("hooks.prestart[0].timeout", "5"),
    ("annotations", []), ("annotations.x", 5), ("linux", []), ("linux.namespaces", {}),
    ("linux.namespaces[0]", "pid"), ("linux.namespaces[0].type", 5), ("linux.namespaces[0].path", 5),
    ("linux.resources", []), ("linux.resources.memory", 1), ("linux.resources.memory.limit", "1g"),
    ("linux.resources.pids", 5), ("linux.resources.pids.limit", "10"),
]

# (case, field the message names, change to the default config)
BAD_CONFIGS = [
    (f"type {path}={value!r}", path.split("[")[0] if path.endswith("]") else path,
     (lambda p, v: lambda s: _set(s, p, v))(path, value)) for path, value in WRONG_TYPES
] + [
    ("NUL in an argument", "process.args[1]", lambda s: _set(s, "process.args", ["echo", "a\0b"])),
    ("NUL in env", "process.env[0]", lambda s: _set(s, "process.env", ["A=x\0y"])),
    ("NUL in cwd", "process.cwd", lambda s: _set(s, "process.cwd", "/tm\0p")),
    ("cwd relative", "process.cwd", lambda s: _set(s, "process.cwd", "tmp")),
    ("cwd under a file", "process.cwd", lambda s: _set(s, "process.cwd", "/bin/busybox/sub")),
    ("cwd a file", "process.cwd", lambda s: _set(s, "process.cwd", "/bin/busybox")),
    ("rlimit soft > hard", "process.rlimits[0].soft",
     lambda s: _set(s, "process.rlimits", [{"type": "RLIMIT_NOFILE", "soft": 2048, "hard": 1024}])),
    ("rlimit twice", "process.rlimits[1].type",
     lambda s: _set(s, "process.rlimits", [{"type": "RLIMIT_NOFILE", "soft": 1, "hard": 1}] * 2)),
    ("bind source missing", "mounts[0].source", lambda s: s["mounts"].insert(
        0, {"destination": "/data", "type": "bind", "source": "/nonexistent/dir", "options": ["rbind"]})),
    ("relative bind source missing", "mounts[0].source", lambda s: s["mounts"].insert(
        0, {"destination": "/data", "type": "bind", "source": "nothing-here", "options": ["rbind"]})),
    ("bind over /", "mounts[0].destination", lambda s: s["mounts"].insert(
        0, {"destination": "/", "type": "bind", "source": "/tmp", "options": ["rbind"]})),
    ("tmpfs over /proc/..", "mounts[0].destination", lambda s: s["mounts"].insert(
        0, {"destination": "/proc/..", "type": "tmpfs", "source": "tmpfs"})),
    ("hostname too long", "hostname", lambda s: _set(s, "hostname", "h" * 65)),
    ("unknown mount type", "mounts[0].type", lambda s: _set(s, "mounts[0].type", "nfs")),
    ("type hooks.poststop[0].args='x'", "hooks.poststop[0].args",
     lambda s: _set(s, "hooks.poststop", [{"path": "/bin/true", "args": "x"}])),
]


def changed_bundle(path, args, change):
    """make_bundle's default config with ``change(spec)`` applied."""
    b = make_bundle(path, args)
    with open(os.path.join(b, "config.json")) as f:
        spec = json.load(f)
    change(spec)
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(spec, f)
    return b


def test_output_to_a_closed_pipe_ends_quietly():
    """`snakevisor syscalls | head`: the reader is gone, so the command ends (128 + SIGPIPE, as
    a shell reports a command killed by SIGPIPE) without a traceback."""
    r, w = os.pipe()
    os.close(r)
    try:
        res = subprocess.run(snakevisor_cmd("syscalls"), stdout=w, stderr=subprocess.PIPE, timeout=60,
                             env=sandbox_env())
    finally:
        os.close(w)
    assert res.returncode == 141 and b"Traceback" not in res.stderr and b"Exception" not in res.stderr, res.stderr


@pytest.mark.parametrize("case, field, change", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config(tmp_path, root, case, field, change):
    b = changed_bundle(str(tmp_path / "b"), ["true"], change)
    res = create(root, "bad", b, str(tmp_path))
    one_line_error(res, field)
    assert not os.path.exists(os.path.join(root, "bad")) and not processes_mentioning(root)


def _raw_config(data):
    def write(bundle):
        with open(os.path.join(bundle, "config.json"), "wb") as f:
            f.write(data)
    return write


# (case, the id, change to the bundle, expected words, extra global flags)
BAD_CREATES = [
    ("config nested 10^5 deep", "c", _raw_config(b"[" * 100000 + b"]" * 100000), "config.json", ()),
    ("config an array", "c", _raw_config(b"[1]"), "config.json", ()),
    ("config not JSON", "c", _raw_config(b"{"), "config.json", ()),
    ("config not UTF-8", "c", _raw_config(b'{"a": "\xff"}'), "config.json", ()),
    ("no config.json", "c", lambda b: os.unlink(os.path.join(b, "config.json")), "config.json", ()),
    ("id of 256 characters", "x" * 256, None, "container id", ()),
    ("id with /", "a/b", None, "container id", ()),
    ("id ..", "..", None, "container id", ()),
    ("id empty", "", None, "container id", ()),
    ("id not ASCII", "caf\u00e9", None, "container id", ()),
    ("id with a newline", "c\n", None, "container id", ()),
    ("--root is a file", "c", None, "--root", ("ROOT_IS_FILE",)),
    ("--console-socket missing", "c", None, "--console-socket", ("--console-socket", "/nonexistent/sock")),
    ("--pid-file in no directory", "c", None, "--pid-file", ("--pid-file", "/nonexistent/dir/pid")),
    ("terminal without --console-socket", "c", None, "--console-socket", ("TERMINAL",)),
    ("--console-socket without terminal", "c", None, "--console-socket", ("--console-socket", "/x", "NO_TERMINAL")),
]


@pytest.mark.parametrize("case, cid, change, names, extra", BAD_CREATES, ids=[c[0] for c in BAD_CREATES])
def test_bad_create(tmp_path, root, case, cid, change, names, extra):
    terminal = "TERMINAL" in extra or ("--console-socket" in extra and "NO_TERMINAL" not in extra)
    extra = tuple(a for a in extra if a not in ("TERMINAL", "NO_TERMINAL"))
    b = make_bundle(str(tmp_path / "b"), ["true"], terminal=terminal)
    if change is not None:
        change(b)
    state_root = root
    if extra == ("ROOT_IS_FILE",):
        state_root = str(tmp_path / "file")
        open(state_root, "w").close()
        extra = ()
    res = sv(state_root, "create", "--bundle", b, *extra, cid)
    one_line_error(res, names)
    assert not processes_mentioning(state_root)
    if os.path.isdir(state_root):
        assert [n for n in os.listdir(state_root) if not n.startswith(".")] == []


# -- the CLI's arguments -----------------------------------------------------------------------------------
BAD_ARGS = [
    (("create",), "required: id"), (("run",), "required: id"), (("start",), "required: id"),
    (("state",), "required: id"), (("kill",), "required: id"), (("delete",), "required: id"),
    (("exec",), "required: id"), (("ps",), "required: id"), (("state", "a", "b"), "'b'"),
    (("delete", "a", "b"), "'b'"), (("start", "a", "b"), "'b'"), (("kill", "a", "TERM", "x"), "'x'"),
    (("bogus",), "bogus"), ((), "no command"), (("state", "nosuch"), "nosuch"), (("start", "nosuch"), "nosuch"),
    (("kill", "nosuch"), "nosuch"), (("delete", "nosuch"), "nosuch"), (("ps", "nosuch"), "nosuch"),
    (("exec", "nosuch", "true"), "nosuch"), (("exec", "nosuch"), "no command"),
    (("exec", "--process", "/nonexistent.json", "nosuch"), "--process"),
    (("exec", "--user", "abc", "nosuch", "true"), "--user"), (("exec", "--user", "1:x", "nosuch", "true"), "--user"),
    (("exec", "--user", "4294967295", "nosuch", "true"), "--user"),
    (("exec", "--cwd", "relative", "nosuch", "true"), "--cwd"), (("exec", "-e", "NOEQUALS", "nosuch", "true"), "--env"),
    (("exec", "--cap", "CAP_BOGUS", "nosuch", "true"), "--cap"), (("exec", "-g", "x", "nosuch", "true"), "-g"),
    (("kill", "nosuch", "SIGBOGUS"), "SIGBOGUS"), (("list", "--format", "xml"), "--format"),
    (("create", "--preserve-fds", "x", "c"), "--preserve-fds"), (("pause", "c"), "pause"),
]


@pytest.mark.parametrize("argv, names", BAD_ARGS, ids=[" ".join(a) or "nothing" for a, _ in BAD_ARGS])
def test_bad_arguments(root, argv, names):
    one_line_error(sv(root, *argv), names)
    assert not os.path.isdir(root) or [n for n in os.listdir(root) if not n.startswith(".")] == []


def test_bad_process_json(tmp_path, root):
    """exec --process: unreadable, not JSON, nested too deeply, a wrong field: named before the container."""
    for name, text, names in [("bad.json", '{"args":', "not valid JSON"), ("deep.json", "[" * 100000, "nested"),
                              ("nul.json", json.dumps({"args": ["a\0"], "cwd": "/"}), "--process.args[0]"),
                              ("list.json", "[]", "--process")]:
        (tmp_path / name).write_text(text)
        one_line_error(sv(root, "exec", "--process", str(tmp_path / name), "nosuch"), names)


# -- lifecycle: the wrong state for the verb ------------------------------------------------------------
@pytest.fixture(scope="module")
def containers(tmp_path_factory):
    """A state root with "up" (running `sleep 1000`) and "done" (its init has exited)."""
    tmp = tmp_path_factory.mktemp("lifecycle")
    state_root = str(tmp / "state")
    b = make_bundle(str(tmp / "b"), ["sleep", "1000"])
    b2 = make_bundle(str(tmp / "b2"), ["true"])
    for cid, bundle in (("up", b), ("done", b2)):
        res = create(state_root, cid, bundle, str(tmp))
        assert res.returncode == 0, res.stderr
        assert sv(state_root, "start", cid).returncode == 0
    wait_status(state_root, "done", "stopped")
    yield state_root, b
    for cid in ("up", "done"):
        sv(state_root, "delete", "--force", cid)


LIFECYCLE = [
    (("start", "up"), "up"), (("delete", "up"), "up"), (("exec", "done", "true"), "done"),
    (("kill", "done"), "done"), (("ps", "done"), "done"), (("start", "done"), "done"),
    (("exec", "--cwd", "/nonexistent", "up", "true"), "cwd"), (("exec", "up", "/no/such/program"), "/no/such/program"),
    (("exec", "--cwd", "/bin/sh", "up", "true"), "cwd"),
]


@pytest.mark.parametrize("argv, names", LIFECYCLE, ids=[" ".join(a) for a, _ in LIFECYCLE])
def test_wrong_state(containers, argv, names):
    state_root, _ = containers
    one_line_error(sv(state_root, *argv), names)
    assert state(state_root, "up")["status"] == "running"
    assert state(state_root, "done")["status"] == "stopped"
    res = sv(state_root, "ps", "up")   # the sandbox's pids (--format json gives the host's)
    assert [line.split()[1] for line in res.stdout.splitlines()[1:]] == ["1"], "a failed exec left a process in the container"


def test_create_existing_id(containers, tmp_path):
    state_root, bundle = containers
    res = create(state_root, "up", bundle, str(tmp_path))
    one_line_error(res, "up")
    assert state(state_root, "up")["status"] == "running"


# -- do ----------------------------------------------------------------------------------------------------
# Runs `do` under a subreaper: whatever it leaves running is reparented to it and reported (then killed).
_SUBREAPER = r"""
import ctypes, json, os, signal, subprocess, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)
res = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, capture_output=True)
def children():
    out = []
    for tid in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{tid}/children") as f:
            out += [int(p) for p in f.read().split()]
    return out
deadline = time.monotonic() + 30   # stubs and Gofers die of their parent's death: let them
while children() and time.monotonic() < deadline:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        break
    time.sleep(0.02)
left = children()
for pid in left:
    os.kill(pid, signal.SIGKILL)
print(json.dumps({"rc": res.returncode, "stdout": res.stdout.decode(errors="replace"),
                  "stderr": res.stderr.decode(errors="replace"), "left": left}))
"""


def run_do(*flags, cmd=("/bin/true",)):
    out = subprocess.run([sys.executable, "-c", _SUBREAPER, *sandbox_cmd(cmd, flags)], capture_output=True, text=True,
                         timeout=120, env=sandbox_env(), cwd="/")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["left"] == [], f"processes left behind: {info}"
    return subprocess.CompletedProcess(flags, info["rc"], info["stdout"], info["stderr"])


def _do_cases(tmp):
    afile = os.path.join(tmp, "file")
    return [
        (("--cpu", "999"), "--cpu"), (("--cpu", "-2"), "--cpu"), (("--cpu", "one"), "--cpu"),
        (("-t",), "-t"),   # stdin is /dev/null
        (("--cwd", "/nonexistent"), "--cwd"), (("--cwd", "relative"), "--cwd"), (("--cwd", "/etc/passwd"), "--cwd"),
        (("--volume", f"{tmp}:/"), "volume"), (("--volume", f"{tmp}://"), "volume"), (("-v", f"{tmp}:/a/.."), "volume"),
        (("--volume", "/nonexistent:/data"), "volume"), (("--volume", f"{tmp}:relative"), "volume"),
        (("--overlay-upper", afile), "--overlay-upper"), (("--overlay-upper", afile + "/sub"), "--overlay-upper"),
        (("--overlay-upper", "/proc/1/upper"), "--overlay-upper"),
        (("--rootfs", afile), "--rootfs"), (("--hostname", "h" * 65), "--hostname"), (("--bogus",), "--bogus"),
        (("--network", "bridge"), "--network"), (("--pids-limit", "-1"), "--pids-limit"),
        (("--memory", "lots"), "--memory"), (("--tmpfs-size", "1x"), "--tmpfs-size"),
    ]


DO_CASE_IDS = [" ".join(f) for f, _ in _do_cases("T")]


@pytest.mark.parametrize("index", range(len(DO_CASE_IDS)), ids=DO_CASE_IDS)
def test_bad_do(tmp_path, index):
    open(tmp_path / "file", "w").close()
    flags, names = _do_cases(str(tmp_path))[index]
    one_line_error(run_do(*flags), names)
    assert sorted(os.listdir(tmp_path)) == ["file"], "nothing made for a failed do"
    assert not mounts_mentioning(str(tmp_path))


def test_do_without_command():
    one_line_error(run_do(cmd=()), "no command")


# -- what runc accepts ----------------------------------------------------------------------------------------
def test_missing_process_cwd_is_made(tmp_path, root):
    """runc makes a missing process.cwd (before the root goes read-only); exec's cwd must exist."""
    b = make_bundle(str(tmp_path / "b"), ["sh", "-c", "pwd; ls -d /made/here"], process_cwd="/made/here")
    res = sv(root, "run", "--bundle", b, "cwd1")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "/made/here\n/made/here\n"


def test_do_cwd_given_must_exist_default_falls_back(tmp_path):
    """do --cwd DIR missing is an error (test_bad_do); the caller's own cwd, when the sandbox has no
    such directory (tmp_path: under the sandbox's own /tmp), means /."""
    assert run_do("--cwd", "/etc", cmd=("/bin/pwd",)).stdout == "/etc\n"
    res = run_sandboxed(["/bin/pwd"], cwd=tmp_path)
    assert res.returncode == 0 and res.stdout == b"/\n", res.stderr


def test_do_cpu_minus_one_is_accepted():
    """--cpu -1 (documented: the Sentry and its stubs are not pinned) runs the command; it was
    refused as "not a CPU this process may run on"."""
    res = run_do("--cpu", "-1", cmd=("/bin/echo", "ran"))
    assert (res.returncode, res.stdout) == (0, "ran\n"), res.stderr


def test_longest_id(tmp_path, root):
    """A 255-character id is valid (runc): its control socket path is beyond sun_path's 108 bytes."""
    cid = "i" * 255
    b = make_bundle(str(tmp_path / "b"), ["sleep", "1000"])
    with open(tmp_path / "out", "w") as out:   # the container's stdio: files, as oci_support.create does
        res = sv(root, "create", "--bundle", b, cid, stdout=out, stderr=out)
    assert res.returncode == 0, (tmp_path / "out").read_text()
    try:
        assert sv(root, "start", cid).returncode == 0
        res = sv(root, "exec", cid, "echo", "in")
        assert res.returncode == 0 and res.stdout == "in\n", res.stderr
    finally:
        assert sv(root, "delete", "--force", cid).returncode == 0
    assert not os.path.exists(os.path.join(root, cid))


@pytest.mark.parametrize("limit, forks", [(0, False), (-1, True), (2, True)])
def test_pids_limit_as_runc(tmp_path, root, limit, forks):
    """linux.resources.pids.limit: negative means no limit; 0 is a limit (runc makes it 1: init only)."""
    b = changed_bundle(str(tmp_path / "b"), ["sh", "-c", "echo started; (echo forked); echo end"],
                       lambda s: _set(s, "linux.resources.pids", {"limit": limit}))
    res = sv(root, "run", "--bundle", b, "p1")
    assert res.stdout.startswith("started\n"), res.stderr
    assert ("forked" in res.stdout) == forks, (res.stdout, res.stderr)


@pytest.mark.parametrize("text", ["[1]", '{"id": "zz", "unknown": 1}', "{"])
def test_corrupt_state(root, text):
    os.makedirs(os.path.join(root, "zz"))
    with open(os.path.join(root, "zz", "state.json"), "w") as f:
        f.write(text)
    try:
        for verb in ("state", "start", "kill", "ps", "delete"):
            one_line_error(sv(root, verb, "zz"), "zz")
    finally:
        shutil.rmtree(root)   # the session's leftover check reads every state.json


def test_a_low_address_space_limit_gets_a_clear_answer():
    """`ulimit -v` too low for the Sentry's map of its memory: where the host lets the sandbox
    process lift it (CAP_SYS_RESOURCE), the command runs under the caller's limit; where it does
    not, one line says so and do exits 125, with no traceback."""
    limit = 4_000_000   # KiB: 4 GB, far below the Sentry's 1 TiB map

    def low_as():
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (limit * 1024, limit * 1024))

    r = subprocess.run(sandbox_cmd(["sh", "-c", "ulimit -v"]), capture_output=True, timeout=120,
                       preexec_fn=low_as, env=sandbox_env())
    err = r.stderr.decode(errors="replace")
    assert "Traceback" not in err, err
    if r.returncode == 0:
        assert r.stdout == b"%d\n" % limit, (r.stdout, err)
    else:
        assert r.returncode == 125 and "ulimit -v" in err and err.count("\n") == 1, (r.returncode, err)


def test_the_command_starts_with_the_callers_niceness():
    """do's command starts as nice as its caller, as an exec'd program would: getpriority and
    /proc/self/stat's priority and nice fields say what they say natively under the same nice."""
    script = 'nice; cut -d" " -f18,19 /proc/self/stat'
    native = subprocess.run(["nice", "-n", "6", "sh", "-c", script], capture_output=True, timeout=60)
    sandboxed = subprocess.run(["nice", "-n", "6", *sandbox_cmd(["sh", "-c", script])], capture_output=True,
                               timeout=120, env=sandbox_env())
    assert native.returncode == sandboxed.returncode == 0, sandboxed.stderr
    assert sandboxed.stdout == native.stdout
