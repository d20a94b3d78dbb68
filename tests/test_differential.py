"""Differential tests (issue 2): small C programs from tests/programs, built static
and dynamic at test time, run natively and inside snakevisor; stdout and exit status
must match. Each program prints facts that Linux makes deterministic (no addresses,
pids or times), so any difference is a Sentry bug.
"""

import pytest

from harness import REPO, WARM_SETTING, compile_c, run_native, run_sandboxed

BUILDS = [pytest.param(True, id="static"), pytest.param(False, id="dynamic")]


def app_env(**extra):
    """One environment for both runs. run_sandboxed adds PYTHONPATH (the CLI needs it from a
    checkout) and the application sees it, so the native run gets it too; LANG keeps Python's
    C-locale coercion from adding LC_CTYPE to the sandbox's environment (see
    test_environment_passes_through_unchanged)."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": REPO, **WARM_SETTING}
    env.update(extra)
    return env


def compare(argv, env=None, expect_status=None):
    env = env or app_env()
    native = run_native(argv, env=env)
    boxed = run_sandboxed(argv, env=env)
    detail = (f"\nnative stdout:\n{native.stdout.decode(errors='replace')[-3000:]}"
              f"\nsandbox stdout:\n{boxed.stdout.decode(errors='replace')[-3000:]}"
              f"\nsandbox stderr:\n{boxed.stderr.decode(errors='replace')[-3000:]}")
    want = native.returncode if expect_status is None else expect_status
    assert boxed.returncode == want, f"exit status: native {native.returncode}, sandbox {boxed.returncode}" + detail
    assert boxed.stdout == native.stdout, "stdout differs" + detail
    return native, boxed


def compare_where_the_host_has_it(argv, why):
    """compare(), or a skip (printing ``why``) when the native run says "host lacks": a program
    probing a syscall newer than the host's kernel."""
    native = run_native(argv, env=app_env())
    if b"host lacks" in native.stdout:
        pytest.skip(f"{why}: {native.stdout.decode().strip()}")
    compare(argv)
    return native


@pytest.mark.parametrize("static", BUILDS)
@pytest.mark.parametrize("program", ["memory", "files", "procfs", "tmpfs", "devices", "timeuname", "memfd", "cputimes"])
def test_program(program, static):
    binary = compile_c(program, static=static)
    native, _ = compare([binary])
    assert native.returncode == 0, f"{program} fails natively: {native.stdout.decode()[-2000:]}"
    assert b"FAIL" not in native.stdout


@pytest.mark.parametrize("static", BUILDS)
def test_argv_envp_auxv(static):
    binary = compile_c("startup", static=static)
    native, _ = compare([binary, "one", "two words", "", "ü"], env=app_env(SNAKE_TEST="yes"))
    out = native.stdout.decode()
    assert "AT_PAGESZ=4096" in out and "AT_EXECFN==argv[0]: 1" in out and "AT_RANDOM readable, nonzero=1" in out


@pytest.mark.parametrize("static", BUILDS)
@pytest.mark.parametrize("status", [0, 7, 255])
def test_exit_status(static, status):
    binary = compile_c("startup", static=static)
    native, _ = compare([binary, "exit", str(status)])
    assert native.returncode == status


@pytest.mark.parametrize("how", ["kill", "raise", "abort"])
def test_death_by_signal(how):
    """kill(getpid(), SIGABRT): natively the child dies by signal 6; `snakevisor do` exits 128+6."""
    binary = compile_c("sigabrt")
    native = run_native([binary, how], env=app_env())
    assert native.returncode == -6
    boxed = run_sandboxed([binary, how], env=app_env())
    assert boxed.returncode == 128 + 6, (
        f"sandbox exit status {boxed.returncode}\n{boxed.stderr.decode(errors='replace')[-2000:]}")
    assert boxed.stdout == native.stdout == b"before\n"


def test_environment_passes_through_unchanged():
    """The application's environment is exactly the caller's: `snakevisor do` must not add
    variables (Python's PEP 538 locale coercion sets LC_CTYPE=C.UTF-8 in its own environment
    when no locale is set, and the CLI passes its os.environ on)."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": REPO, "ONLY": "this", **WARM_SETTING}
    native = run_native(["/usr/bin/env"], env=env)
    boxed = run_sandboxed(["/usr/bin/env"], env=env)
    assert sorted(boxed.stdout.splitlines()) == sorted(native.stdout.splitlines()), boxed.stdout


def test_memory_locks_and_o_noatime():
    """mlock/mlock2/munlock/mlockall counted in VmLck (overlaps once, holes ENOMEM, fork drops
    locks, MCL_FUTURE locks new mappings); RLIMIT_MEMLOCK for an unprivileged user (ENOMEM,
    MAP_LOCKED's EAGAIN, EPERM with a zero limit); O_NOATIME only for the file's owner."""
    binary = compile_c("mlock_limits")
    native, _ = compare([binary])
    assert native.returncode == 0
    assert b"vmlck() = 36" in native.stdout and b"MAP_LOCKED, -1, 0) == (void *)-1 = 1 EAGAIN" in native.stdout


def test_permission_checks_on_ids_and_other_processes():
    """kill/tkill, sched_setaffinity/setscheduler/setparam, setpriority (EPERM; EACCES to lower
    nice), get_robust_list and chroot as another user; setreuid/setregid with saved ids."""
    binary = compile_c("cred_checks")
    native, _ = compare([binary])
    assert native.returncode == 0
    assert b"sched_setaffinity(victim, sizeof set, &set) = -1 EPERM" in native.stdout
    assert b"uids 1002 1000 1000" in native.stdout


@pytest.mark.parametrize("section", ["fchmodat2", "futex2", "mseal", "xattrat", "lsm"])
def test_newer_syscalls(section):
    """Syscalls of Linux 6.6-6.13: fchmodat2 (EOPNOTSUPP on a symlink), futex_wake/wait/requeue,
    mseal (munmap/mprotect/mremap/MAP_FIXED/discarding madvise EPERM, kept by fork), the
    *xattrat calls with struct xattr_args, and the LSM calls' argument checks."""
    binary = compile_c("newer_syscalls", extra=("-pthread",))
    native = compare_where_the_host_has_it([binary, section], f"the host kernel lacks {section}")
    assert native.returncode == 0


def test_memfd_secret():
    """memfd_secret: sized once, mapped shared only and locked (VmLck, RLIMIT_MEMLOCK's EAGAIN),
    never read, written, seeked, synced or allocated; named "/secretmem (deleted)"."""
    native = compare_where_the_host_has_it([compile_c("memfd_secret")], "no memfd_secret (secretmem.enable=0)")
    assert b"contents: secret child" in native.stdout


def test_cachestat():
    """cachestat on tmpfs and memfd pages (holes and truncated pages not cached, never dirty),
    a pipe, bad arguments, and EPERM for a reader who could not write the file."""
    native = compare_where_the_host_has_it([compile_c("cachestat")], "no cachestat (before Linux 6.5)")
    assert b"three pages: cache 3 dirty 0" in native.stdout


@pytest.mark.parametrize("section", ["append", "immutable", "fsxattr", "unprivileged", "file_attr"])
def test_inode_flags_on_tmpfs(section):
    """chattr's flags on tmpfs as Linux's shmem: append-only and immutable files and directories
    (open, truncate, fallocate, unlink, rename, link, chmod, times, xattrs, F_SETFL), nodump and
    noatime inherited, statx attributes, fsxattr, owner and CAP_LINUX_IMMUTABLE rules, and
    file_getattr/file_setattr."""
    native = compare_where_the_host_has_it([compile_c("inode_flags"), section], "the host kernel lacks it")
    assert native.returncode == 0 and b"left 0 0" in native.stdout


def test_address_space_and_data_limits_and_read_implies_exec():
    """RLIMIT_AS bounds every mapping, brk and mremap growth; RLIMIT_DATA private writable ones
    (not shared, read-only or MAP_GROWSDOWN ones) and the heap; READ_IMPLIES_EXEC makes a
    PROT_READ mapping executable (issue 15's audit: the sandbox enforced neither limit)."""
    native, _ = compare([compile_c("vm_limits")], expect_status=0)
    assert b"private 2G: ENOMEM" in native.stdout and b"PROT_READ: r-xp" in native.stdout


def test_scheduling_policies_recorded_and_reported():
    """SCHED_FIFO/RR/BATCH/IDLE/DEADLINE set by sched_setscheduler/setparam/setattr and read back
    by every getter, sched_rr_get_interval's 100 ms for SCHED_RR, SCHED_RESET_ON_FORK, and the
    unprivileged EPERMs (issue 15's audit: the sandbox refused every policy but the fair ones)."""
    native, _ = compare([compile_c("sched_policy")], expect_status=0)
    assert b"rr: policy 0x2 param 20" in native.stdout and b"fifo 5: -1 EPERM" in native.stdout


@pytest.mark.parametrize("where", ["tmpfs", "volume"])
def test_large_reads_and_writes(where, tmp_path):
    """Issue 13: reads and writes of megabytes, copied a run of pages at a time, across page,
    chunk and VMA boundaries, up to an unmapped page (a short count), into and out of the file's
    own shared mapping and a private copy-on-write one, with holes, EOF, O_APPEND, RLIMIT_FSIZE."""
    binary = compile_c("bigcopy")
    argv = [binary] if where == "tmpfs" else [binary, str(tmp_path)]
    native = run_native(argv, env=app_env())
    flags = () if where == "tmpfs" else ("-v", f"{tmp_path}:{tmp_path}")
    boxed = run_sandboxed(argv, env=app_env(), flags=flags)
    assert native.returncode == 0, native.stdout.decode()
    assert (boxed.stdout, boxed.returncode) == (native.stdout, 0), (
        f"\nnative:\n{native.stdout.decode()}\nsandbox:\n{boxed.stdout.decode()}\n{boxed.stderr.decode()[-2000:]}")
