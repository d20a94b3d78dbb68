"""The syscall table: number -> handler, with each entry's support status as data.

It lives with the kernel (as gVisor's kernel/syscalls.go), so that the Task that dispatches
through it imports nothing from the handler modules: those (sentry/syscalls/, one module per
family) register into it when the syscalls package is imported, which the boot code does.

Handlers register with ``@syscall(name, args, status)``. A handler is called as
``handler(task, *args)`` with exactly ``len(args)`` raw register values (unsigned
64-bit ints) and returns an int, or raises ``SyscallError``. A handler that may
block is a generator function (it ``yield``s to the Task's scheduler); the
dispatcher tells the two apart once, at registration.

``args`` names each argument's kind, used by ``--strace`` to print it:
  int, uint, hex, ptr, fd, dirfd, path (C string), str:N (buffer whose length is
  argument N, printed before the call), outstr:N (printed after the call),
  oflags, atflags, mode, prot, mapflags, signal, clockid, ... (see strace.py).
"""
import inspect
from dataclasses import dataclass, field
from typing import Callable

from snakevisor.abi.syscall_numbers import SYSCALL_NAMES, SYSCALL_NUMBERS

FULL = "full"
PARTIAL = "partial"
UNIMPLEMENTED = "unimplemented"


@dataclass
class SyscallEntry:
    number: int
    name: str
    handler: Callable | None
    args: tuple = ()
    status: str = UNIMPLEMENTED
    note: str = ""
    blocking: bool = False
    returns: str = "int"  # how strace prints the result: int, hex, fd
    nargs: int = field(init=False)  # len(args), read by the dispatcher on every syscall

    def __post_init__(self):
        self.nargs = len(self.args)


@dataclass
class SyscallTable:
    entries: dict = field(default_factory=dict)

    def register(self, name, handler, args, status, note="", returns="int"):
        nr = SYSCALL_NUMBERS[name]
        if nr in self.entries and self.entries[nr].handler is not None:
            raise ValueError(f"syscall {name} registered twice")
        self.entries[nr] = SyscallEntry(nr, name, handler, tuple(args), status, note,
                                        inspect.isgeneratorfunction(handler), returns)

    def lookup(self, nr):
        return self.entries.get(nr)

    def listing(self):
        """Every known syscall number with its status, for ``snakevisor syscalls``."""
        out = []
        for nr, name in sorted(SYSCALL_NAMES.items()):
            e = self.entries.get(nr)
            out.append((nr, name, e.status if e else UNIMPLEMENTED, e.note if e else ""))
        return out


TABLE = SyscallTable()


def syscall(name, args=(), status=FULL, note="", returns="int"):
    """Register the decorated function as the handler of syscall ``name``."""
    def wrap(fn):
        TABLE.register(name, fn, args, status, note, returns)
        return fn
    return wrap


def unimplemented(name, note):
    """Record a syscall we answer with ENOSYS, and why (logged once when hit, with --strace)."""
    nr = SYSCALL_NUMBERS[name]
    entry = TABLE.entries.get(nr)
    if entry is not None and entry.handler is not None:
        return   # implemented after all: the note list is behind the code
    TABLE.entries[nr] = SyscallEntry(nr, name, None, (), UNIMPLEMENTED, note)
