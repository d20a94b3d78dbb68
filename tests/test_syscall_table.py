"""The syscall table: the rest of the table against Linux (tests/programs/misc_syscalls.c), and
the table as data (sentry/syscalls/linux64.py): one entry per x86_64 number in number order, each
partial or unimplemented one saying why (`snakevisor syscalls`), each handler taking its arguments."""
import inspect
import subprocess

from harness import REPO, compile_c, snakevisor_cmd
from snakevisor.abi.syscall_numbers import SYSCALL_NAMES
from snakevisor.sentry.kernel.syscall_table import FULL, PARTIAL, TABLE, UNIMPLEMENTED, SyscallEntry
from snakevisor.sentry.syscalls import linux64

linux64.install()


def test_rest_of_the_table_matches_linux(differential):
    differential([compile_c("misc_syscalls")])


def _order_problems(entries):
    """What is wrong with the table's numbering: out of order, missing, repeated, misnamed."""
    numbers = [e.number for e in entries]
    problems = [f"{a} before {b}" for a, b in zip(numbers, numbers[1:]) if a >= b]
    problems += [f"{nr} ({name}) missing" for nr, name in SYSCALL_NAMES.items() if nr not in numbers]
    problems += [f"{e.number} is not {e.name}" for e in entries if SYSCALL_NAMES.get(e.number) != e.name]
    return problems


def _note_problems(entries):
    return [e.name for e in entries if e.status in (PARTIAL, UNIMPLEMENTED) and not e.note.strip()]


def test_table_is_in_number_order_without_gap_or_duplicate():
    assert not _order_problems(linux64.ENTRIES)
    read, write, close = linux64.ENTRIES[0], linux64.ENTRIES[1], linux64.ENTRIES[3]
    assert _order_problems([read, close, write]) == ["3 before 1"] + [f"{nr} ({n}) missing" for nr, n in
                                                                         SYSCALL_NAMES.items() if nr not in (0, 1, 3)]
    assert "0 before 0" in _order_problems([read, read])
    assert _order_problems([SyscallEntry(1, "read", None)] + list(linux64.ENTRIES[1:]))[:2] == \
        ["1 before 1", "0 (read) missing"]


def test_every_unimplemented_or_partial_entry_has_a_note():
    assert not _note_problems(linux64.ENTRIES)
    assert _note_problems([SyscallEntry(0, "read", None, status=UNIMPLEMENTED, note=" "),
                           SyscallEntry(1, "write", print, status=PARTIAL)]) == ["read", "write"]
    missing = [(nr, name, status) for nr, name, status, note in TABLE.listing() if status != FULL and not note]
    assert not missing, f"entries without a note: {missing}"


def test_rseq_is_unimplemented_with_its_note():
    rseq = TABLE.entries[334]
    assert (rseq.name, rseq.handler, rseq.status) == ("rseq", None, UNIMPLEMENTED)
    assert "glibc then runs without them" in rseq.note


def _arity_problems(entries):
    """Entries whose handler cannot take the task and as many registers as the entry names arg
    kinds (what the dispatcher passes), or that name arguments but have no handler."""
    wrong = []
    for e in entries:
        if e.handler is not None:
            try:
                inspect.signature(e.handler).bind(None, *range(e.nargs))
            except TypeError:
                wrong.append(e.name)
        elif e.args or e.status != UNIMPLEMENTED:
            wrong.append(e.name)
    return wrong


def test_every_handler_takes_its_arguments():
    assert not _arity_problems(linux64.ENTRIES)
    read = linux64.ENTRIES[0].handler
    assert _arity_problems([SyscallEntry(0, "read", read, ("fd", "ptr")),
                            SyscallEntry(1, "write", read, ("fd", "ptr", "uint", "int")),
                            SyscallEntry(2, "open", None, ("path",))]) == ["read", "write", "open"]


def test_installed_table_is_linux64():
    assert [TABLE.entries[e.number] for e in linux64.ENTRIES] == list(linux64.ENTRIES)
    assert TABLE.entries[39].handler.__name__ == "getpid" and not TABLE.entries[39].blocking
    assert TABLE.entries[61].blocking   # wait4 sleeps


def test_snakevisor_syscalls_lists_the_notes():
    out = subprocess.run(snakevisor_cmd("syscalls", "--status", "unimplemented"),
                         capture_output=True, text=True, cwd=REPO, check=True).stdout
    rows = [ln for ln in out.splitlines() if ln and not ln.startswith("#")]
    unimplemented = [name for _, name, status, _ in TABLE.listing() if status == UNIMPLEMENTED]
    assert len(rows) == len(unimplemented)
    assert all(len(r.split(None, 3)) == 4 for r in rows), [r for r in rows if len(r.split(None, 3)) < 4]
    assert any(r.split()[1] == "fanotify_init" and "fanotify" in r for r in rows)


def test_capabilities_across_setuid_and_exec_match_linux(differential):
    """PR_SET_KEEPCAPS, PR_CAP_AMBIENT and execve's capability rules (what setpriv --reuid needs)."""
    differential([compile_c("caps_exec")])


def test_permission_overrides_come_from_capabilities(differential):
    """A root process without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH may not read or write
    another user's 0600 file (it could: being uid 0 was taken for having them); with
    CAP_DAC_READ_SEARCH it reads it and searches that user's directories, and writes nothing."""
    differential([compile_c("caps_dac")])


def test_openat2_matches_linux(differential):
    """struct open_how's checks and the RESOLVE_* scopes (BENEATH, IN_ROOT, NO_SYMLINKS,
    NO_MAGICLINKS, NO_XDEV, CACHED)."""
    differential([compile_c("openat2")])


def test_etxtbsy_matches_linux(differential):
    """A running program may not be opened for writing or truncated; a file open for writing
    may not be executed (deny_write_access)."""
    differential([compile_c("etxtbsy")])
