"""What a cold `snakevisor do` loads, and where (issue "Start like runc").

The CLI imports only what it needs before it forks the sandbox process: not the Sentry (the
sandbox process imports it once the Gofer is forked, so that the two start side by side), not
the OCI model, not asyncio. The Gofer, a fork of the sandbox process, carries neither the
Sentry's modules nor asyncio (its own loop is a selectors one) nor, with it, ssl. Checked on the
modules a fresh interpreter holds after the CLI's imports, and on the extension modules mapped
in a live Gofer and CLI. Once locked down the Sentry can open no file: every module of its
packages must be imported before (sandbox/lockdown.py preload_modules, an explicit list)."""
import os
import subprocess
import sys

import pytest

from do_support import children_of, comm_of
from harness import REPO, sandbox_cmd, sandbox_env

# Modules the CLI must not import before the fork: the Sentry, the OCI model and verbs, the Gofer's
# asyncio; logging (the Gofer's alone), typing, tempfile.
CLI_UNWANTED = ("snakevisor.sandbox.sentry_boot", "snakevisor.sentry.kernel.kernel", "snakevisor.p9.messages",
                "snakevisor.oci.config", "snakevisor.cli.oci_verbs", "asyncio", "ssl", "logging", "typing", "tempfile")


def test_cli_imports_neither_sentry_nor_oci_model():
    code = ("import sys; import snakevisor.cli.main, snakevisor.sandbox.do; "
            f"print(' '.join(m for m in {CLI_UNWANTED!r} if m in sys.modules))")
    res = subprocess.run([sys.executable, "-S", "-c", code], cwd=REPO, capture_output=True, text=True,
                         env=sandbox_env(), timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [], f"imported by the CLI before the fork: {res.stdout.strip()}"


# The packages whose modules the locked-down Sentry may import (lazily, inside functions).
SENTRY_PACKAGES = ("abi", "p9", "sentry", "seccomp", "hostos")


def _modules_in(pkg):
    """Names of the modules of snakevisor.``pkg`` and its subpackages, from the files (no import)."""
    top = os.path.join(REPO, "snakevisor")
    for dirpath, dirnames, files in os.walk(os.path.join(top, pkg)):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        prefix = "snakevisor." + os.path.relpath(dirpath, top).replace(os.sep, ".")
        for f in files:
            if f.endswith(".py"):
                yield prefix if f == "__init__.py" else f"{prefix}.{f[:-3]}"


def _after_preload(platform=None):
    """(modules a fresh interpreter holds after preload_modules(platform), those it should hold)."""
    code = f"import sys; from snakevisor.sandbox import lockdown; lockdown.preload_modules({platform!r}); " \
           "print(*sys.modules)"
    res = subprocess.run([sys.executable, "-S", "-c", code], cwd=REPO, capture_output=True, text=True,
                         env=sandbox_env(), timeout=60)
    assert res.returncode == 0, res.stderr
    from snakevisor.sandbox.lockdown import LATE_MODULES
    return set(res.stdout.split()), {m for pkg in SENTRY_PACKAGES for m in _modules_in(pkg)} | set(LATE_MODULES)


def test_preload_imports_every_module_the_sentry_may_import():
    loaded, wanted = _after_preload()
    assert sorted(wanted - loaded) == [], "not imported before lock-down: add to lockdown.LATE_MODULES"
    # `do`'s Sentry never parses an OCI config: the model's ten dataclasses (~5 ms) stay out
    assert "snakevisor.oci.config" not in loaded


def test_preload_skips_only_the_other_platform():
    loaded, wanted = _after_preload("ptrace")
    systrap = {m for m in wanted if m.startswith("snakevisor.sentry.platform.systrap")}
    assert systrap and sorted(wanted - loaded) == sorted(systrap)


# `do` argv's: the cold `do` parses them with a parser of the global flags and `do` alone.
DO_ARGVS = (["do", "--", "/bin/true"], ["--root", "/x", "do", "-v", "/a:/b:ro", "--cwd", "/", "--", "sh"],
            ["-root", "/x", "--debug", "do", "--strace", "--network=host", "-t", "--", "ls", "-l"],
            ["--platform", "systrap", "do", "--memory", "1g", "--pids-limit", "5", "ls", "--cwd", "x"],
            ["do", "--directfs", "false", "--overlay2", "root:/tmp", "--warm", "--", "do", "--", "x"],
            ["--log", "do", "do", "--bogus", "cmd"], ["do"])


def _verbs(parser):
    return next(a for a in parser._actions if a.dest == "command").choices


def test_do_only_parser_parses_as_the_whole_one(monkeypatch):
    from snakevisor.cli import main
    monkeypatch.setattr(main, "_PARSER", [])   # none cached: as in a cold start
    whole, alone = main.build_parser(), main.build_parser(do_only=True)
    for argv in DO_ARGVS:
        assert list(_verbs(main._parser_for(argv))) == ["do"], argv
        parsed = [p.parse_known_args(main._normalise(argv, p)) for p in (whole, alone)]
        assert vars(parsed[0][0]) == vars(parsed[1][0]) and parsed[0][1] == parsed[1][1], argv
    for argv in (["-h", "do"], ["state", "x"], ["--root", "do", "state"], []):
        assert "state" in _verbs(main._parser_for(argv)), argv
    assert _verbs(whole)["do"].format_help() == _verbs(alone)["do"].format_help()


def test_gofer_imports_neither_the_client_nor_the_sentry():
    code = "import sys, snakevisor.gofer.__main__; print(*sys.modules)"
    res = subprocess.run([sys.executable, "-S", "-c", code], cwd=REPO, capture_output=True, text=True,
                         env=sandbox_env(), timeout=60)
    assert res.returncode == 0, res.stderr
    loaded = set(res.stdout.split())
    assert "snakevisor.p9.messages" in loaded
    assert sorted(m for m in loaded if m == "snakevisor.p9.client" or m.startswith("snakevisor.sentry")) == []
    assert "logging" not in loaded   # gofer/log.py writes its lines


def test_gofer_log_lines(capsys):
    from snakevisor.gofer import log
    log.info("dropped %d", 1)
    log.debug("dropped")
    try:
        raise KeyError("k")
    except KeyError as e:
        log.exception("handler %s failed", "Twalk")
        log.error("handler failed", exc_info=e)
    log.error("plain")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "gofer: handler Twalk failed" and lines[1] == "Traceback (most recent call last):"
    assert lines.count("KeyError: 'k'") == 2 and "gofer: handler failed" in lines and lines[-1] == "gofer: plain"
    assert not any("dropped" in line for line in lines)


def _extension_modules(pid):
    """Names of the CPython extension modules mapped in ``pid`` (``_ssl``, ``mmap``, ...)."""
    with open(f"/proc/{pid}/maps") as f:
        return {line.rsplit("/", 1)[-1].split(".")[0] for line in f if ".cpython-" in line}


@pytest.mark.skipif(os.geteuid() != 0, reason="snakevisor do needs root (namespaces, mounts)")
def test_gofer_carries_no_sentry_and_no_asyncio():
    # The shell says "ready" once it runs: the Gofer has served its binary. It then waits for a line.
    proc = subprocess.Popen(sandbox_cmd(["/bin/sh", "-c", "echo ready; read x"]), env=sandbox_env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        sandbox = children_of(proc.pid)
        assert len(sandbox) == 1, sandbox
        gofers = [p for p in children_of(sandbox[0]) if comm_of(p) == "sv-gofer"]
        assert len(gofers) == 1, [(p, comm_of(p)) for p in children_of(sandbox[0])]
        cli, sentry, gofer = (_extension_modules(p) for p in (proc.pid, sandbox[0], gofers[0]))
        assert "mmap" in sentry   # the MemoryFile's: the marker of the Sentry's modules
        assert not {"mmap", "_ssl", "_asyncio"} & cli, cli
        assert not {"mmap", "_ssl", "_asyncio"} & gofer, gofer
    finally:
        proc.communicate("go\n", timeout=60)
    assert proc.returncode == 0
