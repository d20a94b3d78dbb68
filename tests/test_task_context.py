"""The Task is passed explicitly (issue 12): no code reads a global "current task".

File, path and terminal operations that depend on the caller (procfs's /proc/self, a
signalfd's signals, a terminal's job control, device opens) get the Task as an argument, as
gVisor's get a context. The source check fails if an attribute named like a current-task
global (``kernel.current``, ``current_task``...) is read or set anywhere in the Sentry; the
differential program checks that the right Task is used while other processes run between a
blocking syscall and its wake-up.
"""
import ast
import pathlib
import re

import pytest

from harness import compile_c, compare

SOURCE = pathlib.Path(__file__).resolve().parent.parent / "snakevisor"
CURRENT_NAMES = re.compile(r"^(current|cur)(_task|_thread)?$|^current_(task|thread)$")


def _current_attributes(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and CURRENT_NAMES.match(node.attr):
            yield node.lineno, node.attr
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("getattr", "setattr", "hasattr"):
            if len(node.args) > 1 and isinstance(node.args[1], ast.Constant) \
                    and isinstance(node.args[1].value, str) and CURRENT_NAMES.match(node.args[1].value):
                yield node.lineno, node.args[1].value


def test_no_current_task_global_in_the_sources():
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        for line, name in _current_attributes(ast.parse(path.read_text(), str(path))):
            found.append(f"{path.relative_to(SOURCE.parent)}:{line}: .{name}")
    assert not found, "a current-task global is used (pass the Task instead):\n" + "\n".join(found)


def test_the_source_check_finds_a_current_task_read():
    """The check above is not vacuous: it finds the reads it forbids."""
    snippets = ["task = self.kernel.current", "k.current_task.tg", "getattr(kernel, 'current')",
                "kernel.current = self"]
    for code in snippets:
        assert list(_current_attributes(ast.parse(code))), code
    assert not list(_current_attributes(ast.parse("x = 'memory.current'; t.currency")))


@pytest.mark.parametrize("static", [True, False], ids=["static", "dynamic"])
def test_each_task_sees_itself_across_blocking_waits(static):
    binary = compile_c("task_context", static=static, extra=("-pthread",))
    native, boxed = compare([binary], native_status=0)
    assert b"FAIL" not in boxed.stdout and boxed.stdout.count(b": ok\n") == 5
