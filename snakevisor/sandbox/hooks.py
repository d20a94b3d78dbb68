"""OCI hooks: host programs run at points of the lifecycle with the container's state JSON on stdin.

As runc: prestart, createRuntime and createContainer after the sandbox is created (a
failure fails ``create``), startContainer and poststart after ``start`` and poststop
after ``delete`` (a failure there is only logged). Hooks run on the host, in the
runtime's namespaces (snakevisor has no host process inside the container to run
createContainer/startContainer hooks in).
"""
from __future__ import annotations

import json

CREATE_HOOKS = ("prestart", "createRuntime", "createContainer")
START_HOOKS = ("startContainer", "poststart")


class HookError(Exception):
    pass


def run_hooks(hooks, kinds, state_obj, fatal=True):
    """Run every hook of ``kinds`` (a tuple of names) from ``hooks`` {kind: [oci.config.Hook]}."""
    import subprocess   # here: the verbs importing this module seldom run a hook
    data = json.dumps(state_obj).encode()
    for kind in kinds:
        for hook in hooks.get(kind, []):
            argv = hook.args or [hook.path]
            env = dict(e.split("=", 1) for e in hook.env)
            try:
                res = subprocess.run(argv, executable=hook.path, input=data, env=env, capture_output=True,
                                     timeout=hook.timeout)
                ok = res.returncode == 0
                why = f"exit status {res.returncode}: {res.stderr.decode(errors='replace').strip()[-300:]}"
            except subprocess.TimeoutExpired:
                ok, why = False, f"timed out after {hook.timeout}s"
            except OSError as e:
                ok, why = False, str(e)
            if ok:
                continue
            msg = f"{kind} hook {hook.path} failed: {why}"
            if fatal:
                raise HookError(msg)
            import logging   # here: the light verbs (cli/light.py) import this module, seldom log
            logging.getLogger("snakevisor").warning(msg)
