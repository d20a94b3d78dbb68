"""The syscall table the Task dispatches through: number -> entry (handler, status, note).

It lives with the kernel (as gVisor's kernel/syscalls.go), so that the Task imports nothing from
the handler modules: the table itself, one line per number, is sentry/syscalls/linux64.py, which
the boot code installs here (``TABLE.install``) before the first Task runs.
"""
import inspect
from types import GeneratorType
from dataclasses import dataclass, field
from collections.abc import Callable

from snakevisor.abi.errno import ENOSYS, SyscallError
from snakevisor.abi.syscall_numbers import SYSCALL_NAMES

FULL = "full"
PARTIAL = "partial"
UNIMPLEMENTED = "unimplemented"


@dataclass
class SyscallEntry:
    number: int
    name: str
    handler: Callable | None   # None: answered with ENOSYS
    args: tuple = ()           # each argument's kind, for --strace (see syscalls/linux64.py)
    status: str = UNIMPLEMENTED
    note: str = ""
    returns: str = "int"  # how strace prints the result: int, hex, fd
    # Read by the dispatcher on every syscall: how many registers to pass, and whether the
    # handler is a generator (it may block), told apart once here. A plain handler that seldom
    # waits (open: a lease break) may instead return a generator then, which the dispatcher runs:
    # no generator is made in the common case.
    nargs: int = field(init=False)
    blocking: bool = field(init=False)

    def __post_init__(self):
        self.nargs = len(self.args)
        self.blocking = inspect.isgeneratorfunction(self.handler)

    def run(self, task, args):
        """Run the handler (a generator: ``yield from`` it) on ``args``, ENOSYS without one. For
        callers that decide late which entry runs (seccomp's notification and trace verdicts);
        Task._run does the same inline, on every syscall."""
        if self.handler is None:
            raise SyscallError(ENOSYS)
        if self.blocking:
            return (yield from self.handler(task, *args))
        return (yield from settle(self.handler(task, *args)))


def settle(ret):
    """What a plain handler (or a part of one) gave: its value, or the value of the generator it
    returned because it must wait after all (``yield from`` this)."""
    if ret.__class__ is GeneratorType:
        ret = yield from ret
    return ret


@dataclass
class SyscallTable:
    entries: dict = field(default_factory=dict)

    def install(self, entries):
        """Take ``entries`` (SyscallEntry, one per number) as the table, in place: a Task that
        started already holds this dict."""
        self.entries.clear()
        self.entries.update((e.number, e) for e in entries)

    def listing(self):
        """Every known syscall number with its status, for ``snakevisor syscalls``."""
        out = []
        for nr, name in sorted(SYSCALL_NAMES.items()):
            e = self.entries.get(nr)
            out.append((nr, name, e.status if e else UNIMPLEMENTED, e.note if e else ""))
        return out


TABLE = SyscallTable()
