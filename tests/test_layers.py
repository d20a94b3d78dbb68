"""Layers (issue "The house in order"): module-level imports go downward only, in the order
docs/design.md gives; no module-level import cycle exists; modules that used to be importable
only after the syscalls package import alone in a fresh interpreter."""
import ast
import os
import subprocess
import sys

import pytest

from harness import REPO

# Top to bottom, as docs/design.md's "Layers" table. A tuple is one layer (may import each other).
LAYERS = [
    ("snakevisor.__main__",), ("snakevisor.cli",), ("snakevisor.warm",), ("snakevisor.sandbox",), ("snakevisor.oci",),
    ("snakevisor.gofer",), ("snakevisor.sentry.syscalls",), ("snakevisor.sentry.fsimpl", "snakevisor.sentry.net"),
    ("snakevisor.sentry.kernel",), ("snakevisor.sentry.loader",), ("snakevisor.sentry.vfs",),
    ("snakevisor.sentry.mm",), ("snakevisor.sentry.platform",), ("snakevisor.p9",), ("snakevisor.seccomp",),
    ("snakevisor.hostos", "snakevisor.hostio"), ("snakevisor.abi",),
]
UNLAYERED = {"snakevisor", "snakevisor.sentry"}   # namespace packages with nothing in them


def _modules():
    root = os.path.join(REPO, "snakevisor")
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(d, f)
                name = os.path.relpath(path[:-3], REPO).replace(os.sep, ".")
                out[name[:-len(".__init__")] if name.endswith(".__init__") else name] = path
    return out


MODULES = _modules()


def _imports(name, path):
    """The snakevisor modules ``name`` imports at module level (a function's own imports are late
    binding, not a layer dependency), with the packages importing them implies, except its own."""
    found = set()
    for node in ast.parse(open(path).read()).body:
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("snakevisor"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("snakevisor"))
    mine = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 2)}
    implied = set()
    for dep in found:
        parts = dep.split(".")
        implied.update(p for p in (".".join(parts[:i]) for i in range(2, len(parts) + 1))
                       if p in MODULES and p not in mine)
    return implied


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(name):
    for i, layer in enumerate(LAYERS):
        if any(name == top or name.startswith(top + ".") for top in layer):
            return i
    return None


def test_every_module_has_a_layer():
    assert not [m for m in MODULES if _layer(m) is None and m not in UNLAYERED]


def test_imports_go_downward_only():
    upward = [(m, d) for m, deps in GRAPH.items() for d in deps
              if d not in UNLAYERED and m not in UNLAYERED and _layer(d) < _layer(m)]
    assert not upward, "\n".join(f"{m} imports {d}, a layer above it" for m, d in sorted(upward))


def test_no_module_level_import_cycle():
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []
    counter = [0]

    def visit(v):   # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    for v in GRAPH:
        if v not in index:
            visit(v)
    assert not cycles, cycles


@pytest.mark.parametrize("module", ["snakevisor.sentry.kernel.kernel", "snakevisor.sentry.kernel.task",
                                    "snakevisor.sentry.kernel.clone", "snakevisor.sentry.fsimpl.procfs",
                                    "snakevisor.sentry.net.unix"])
def test_module_imports_alone(module):
    """These failed with a circular ImportError unless the syscalls package came first."""
    r = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr[-2000:]


MAX_FUNCTION_LINES = 60


def _long_functions(source, limit=MAX_FUNCTION_LINES):
    """(name, first line, length) of each function in ``source`` longer than ``limit`` lines."""
    return [(n.name, n.lineno, n.end_lineno - n.lineno + 1) for n in ast.walk(ast.parse(source))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > limit]


def test_long_function_check_can_fail():
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    assert _long_functions("def f():\n" + body) == [("f", 1, MAX_FUNCTION_LINES + 1)]
    assert _long_functions("def g():\n" + body[:-len("    x59 = 59\n")]) == []


def test_no_function_over_60_lines():
    """The house in order: no function in snakevisor/, tests/ or bench/ over 60 lines (split it:
    the declarative tables are data at module level, not functions)."""
    found = []
    for top in ("snakevisor", "tests", "bench"):
        for d, _, files in os.walk(os.path.join(REPO, top)):
            for f in files:
                if f.endswith(".py"):
                    path = os.path.join(d, f)
                    with open(path) as src:
                        found += [(os.path.relpath(path, REPO), *long) for long in _long_functions(src.read())]
    assert not found, f"functions over {MAX_FUNCTION_LINES} lines: {found}"
