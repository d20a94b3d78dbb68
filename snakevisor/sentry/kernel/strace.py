"""--strace: print every syscall, its arguments and its result on stderr, in strace's style."""
import sys

from snakevisor.abi import fs as F
from snakevisor.abi import mm as M
from snakevisor.abi.errno import ERRNO_NAMES, SyscallError

_SIGNAMES = {1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
             8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM",
             15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP",
             21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM",
             27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS"}
_OFLAGS = [(F.O_CREAT, "O_CREAT"), (F.O_EXCL, "O_EXCL"), (F.O_NOCTTY, "O_NOCTTY"), (F.O_TRUNC, "O_TRUNC"),
           (F.O_APPEND, "O_APPEND"), (F.O_NONBLOCK, "O_NONBLOCK"), (F.O_DIRECTORY, "O_DIRECTORY"),
           (F.O_NOFOLLOW, "O_NOFOLLOW"), (F.O_CLOEXEC, "O_CLOEXEC"), (F.O_PATH, "O_PATH"),
           (F.O_DIRECT, "O_DIRECT"), (F.O_LARGEFILE, "O_LARGEFILE"), (F.O_NOATIME, "O_NOATIME")]
_PROT = [(M.PROT_READ, "PROT_READ"), (M.PROT_WRITE, "PROT_WRITE"), (M.PROT_EXEC, "PROT_EXEC")]
_MAP = [(M.MAP_FIXED, "MAP_FIXED"), (M.MAP_ANONYMOUS, "MAP_ANONYMOUS"), (M.MAP_NORESERVE, "MAP_NORESERVE"),
        (M.MAP_POPULATE, "MAP_POPULATE"), (M.MAP_DENYWRITE, "MAP_DENYWRITE"), (M.MAP_STACK, "MAP_STACK"),
        (M.MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE"), (M.MAP_GROWSDOWN, "MAP_GROWSDOWN")]
_AT = [(F.AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"), (F.AT_EMPTY_PATH, "AT_EMPTY_PATH"),
       (F.AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW"), (F.AT_REMOVEDIR, "AT_REMOVEDIR/AT_EACCESS"),
       (F.AT_NO_AUTOMOUNT, "AT_NO_AUTOMOUNT")]
STRING_LIMIT = 32


def _flags(value, table, zero="0"):
    names, rest = [], value
    for bit, name in table:
        if value & bit:
            names.append(name)
            rest &= ~bit
    if rest:
        names.append(hex(rest))
    return "|".join(names) or zero


def _quote(data, limit=STRING_LIMIT):
    text = data[:limit]
    out = []
    for b in text:
        if b == 0x22 or b == 0x5C:
            out.append("\\" + chr(b))
        elif 32 <= b < 127:
            out.append(chr(b))
        else:
            out.append({9: "\\t", 10: "\\n", 13: "\\r"}.get(b, f"\\{b:o}"))
    return '"' + "".join(out) + '"' + ("..." if len(data) > limit else "")


def _s64(x):
    return x - (1 << 64) if x >= 1 << 63 else x


def _s32(x):
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x >= 1 << 31 else x


class Strace:
    def __init__(self, out=None):
        self.out = out or sys.stderr

    def _fmt(self, task, kind, value, args, ret):
        try:
            if kind in ("int",):
                return str(_s64(value) if value >= 1 << 32 else _s32(value) if value >= 1 << 31 else value)
            if kind in ("fd", "dirfd"):
                v = _s32(value)
                return "AT_FDCWD" if v == F.AT_FDCWD and kind == "dirfd" else str(v)
            if kind == "uint":
                return str(value)
            if kind in ("hex", "ptr"):
                return "NULL" if value == 0 else hex(value)
            if kind == "path":
                return _quote(task.mm.read_cstring(value, 4096), 256) if value else "NULL"
            if kind.startswith("str:") or kind.startswith("outstr:"):
                n = args[int(kind.split(":")[1])]
                if kind.startswith("outstr:"):
                    n = ret if ret is not None and ret >= 0 else 0
                return _quote(task.mm.copy_in(value, min(n, STRING_LIMIT + 1)))
            if kind == "oflags":
                acc = ("O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE")[value & 3]
                rest = _flags(value & ~3, _OFLAGS, "")
                return acc + ("|" + rest if rest else "")
            if kind == "atflags":
                return _flags(value, _AT)
            if kind == "mode":
                return f"0{value:o}"
            if kind == "prot":
                return _flags(value, _PROT, "PROT_NONE")
            if kind == "mapflags":
                typ = {M.MAP_SHARED: "MAP_SHARED", M.MAP_PRIVATE: "MAP_PRIVATE"}.get(value & 3, hex(value & 3))
                rest = _flags(value & ~M.MAP_TYPE, _MAP, "")
                return typ + ("|" + rest if rest else "")
            if kind == "signal":
                return _SIGNAMES.get(value, str(_s32(value)))
        except SyscallError:
            return hex(value)
        return hex(value) if value > 9 else str(value)

    def enter(self, task, entry, args):
        return [None if k.startswith("outstr:") else self._fmt(task, k, v, args, None)
                for k, v in zip(entry.args, args)]

    def exit(self, task, entry, args, before, ret):
        parts = [b if b is not None else self._fmt(task, k, v, args, ret)
                 for b, k, v in zip(before, entry.args, args)]
        if isinstance(ret, int) and -4096 < ret < 0:
            result = f"-1 {ERRNO_NAMES.get(-ret, str(-ret))}"
        elif entry.returns == "hex" and isinstance(ret, int):
            result = hex(ret)
        else:
            result = str(ret if ret is not None else 0)
        self.out.write(f"[pid {task.tid:>5}] {entry.name}({', '.join(parts)}) = {result}\n")
        self.out.flush()
