"""The syscall table: the rest of the table against Linux (tests/programs/misc_syscalls.c), and
the table as data: every entry that is not fully implemented says why (`snakevisor syscalls`)."""
import importlib
import subprocess

from harness import REPO, compile_c, snakevisor_cmd
from snakevisor.sentry.syscalls import absent
from snakevisor.sentry.kernel.syscall_table import FULL, TABLE, UNIMPLEMENTED

importlib.import_module("snakevisor.sentry.syscalls")   # registers every handler


def test_rest_of_the_table_matches_linux(differential):
    differential([compile_c("misc_syscalls")])


def test_every_unimplemented_or_partial_entry_has_a_note():
    missing = [(nr, name, status) for nr, name, status, note in TABLE.listing() if status != FULL and not note]
    assert not missing, f"entries without a note: {missing}"


def test_absent_notes_name_only_syscalls_without_a_handler():
    """A stale note (the syscall got a handler since) would hide nothing, but lies in the listing."""
    implemented = {e.name for e in TABLE.entries.values() if e.handler is not None}
    assert not implemented & set(absent.NOTES), implemented & set(absent.NOTES)


def test_snakevisor_syscalls_lists_the_notes():
    out = subprocess.run(snakevisor_cmd("syscalls", "--status", "unimplemented"),
                         capture_output=True, text=True, cwd=REPO, check=True).stdout
    rows = [ln for ln in out.splitlines() if ln and not ln.startswith("#")]
    unimplemented = [name for _, name, status, _ in TABLE.listing() if status == UNIMPLEMENTED]
    assert len(rows) == len(unimplemented)
    assert all(len(r.split(None, 3)) == 4 for r in rows), [r for r in rows if len(r.split(None, 3)) < 4]
    assert any(r.split()[1] == "io_uring_setup" and "io_uring" in r for r in rows)


def test_capabilities_across_setuid_and_exec_match_linux(differential):
    """PR_SET_KEEPCAPS, PR_CAP_AMBIENT and execve's capability rules (what setpriv --reuid needs)."""
    differential([compile_c("caps_exec")])


def test_openat2_matches_linux(differential):
    """struct open_how's checks and the RESOLVE_* scopes (BENEATH, IN_ROOT, NO_SYMLINKS,
    NO_MAGICLINKS, NO_XDEV, CACHED)."""
    differential([compile_c("openat2")])


def test_etxtbsy_matches_linux(differential):
    """A running program may not be opened for writing or truncated; a file open for writing
    may not be executed (deny_write_access)."""
    differential([compile_c("etxtbsy")])
