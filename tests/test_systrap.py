"""The systrap platform (`do --platform=systrap`): its stub code, real programs run on it
against native runs, a kick reaching a spinning thread, stubs and Sentries killed from outside,
and hostile programs scribbling on what the stub shares with the Sentry.

It is the default platform: the whole suite runs on it unless SNAKEVISOR_PLATFORM=ptrace
(tests/harness.py); these tests run on it always."""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from harness import (REPO, app_env, compile_c, exit_code, no_stub_left, run_native, run_sandboxed, sandbox_cmd,
                     sandbox_env)
from do_support import stubs_below, wait_gone

SYSTRAP = ("--platform", "systrap")
PLACEMENTS = {"pinned": (), "unpinned": ("--cpu=-1",)}   # unpinned: stubs and the loop spin
HERE = os.path.join(REPO, "snakevisor", "sentry", "platform", "systrap")


def compare_systrap(argv, timeout=60, input=None, flags=()):
    env = app_env()
    native = run_native(argv, input=input, env=env, timeout=timeout)
    boxed = run_sandboxed(argv, timeout=timeout, env=env, input=input, flags=SYSTRAP + flags)
    detail = (f"\n--- native stdout:\n{native.stdout.decode(errors='replace')[-2000:]}"
              f"\n--- sandbox stdout:\n{boxed.stdout.decode(errors='replace')[-2000:]}"
              f"\n--- sandbox stderr:\n{boxed.stderr.decode(errors='replace')[-2000:]}")
    assert boxed.stdout == native.stdout, "stdout differs" + detail
    assert boxed.returncode == exit_code(native.returncode), f"exit status {boxed.returncode}" + detail
    assert b"internal error" not in boxed.stderr, detail
    return native, boxed


def test_stub_code_is_stub_s():
    """The embedded bytes are stub.S assembled (re-assembled here when binutils are installed)."""
    from snakevisor.sentry.platform.systrap import stub
    if shutil.which("as") is None or shutil.which("objcopy") is None:
        pytest.skip("binutils (as, objcopy) not installed: cannot re-assemble stub.S")
    out = os.path.join(os.environ.get("SNAKEVISOR_TEST_BUILD", "/var/tmp/snakevisor-tests"), f"stub-{os.getpid()}")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    try:
        subprocess.run(["as", "--64", "-o", out + ".o", os.path.join(HERE, "stub.S")], check=True)
        subprocess.run(["objcopy", "-O", "binary", "-j", ".text", out + ".o", out + ".bin"], check=True)
        with open(out + ".bin", "rb") as f:
            assert f.read() == stub.code_page()
    finally:
        for suffix in (".o", ".bin"):
            if os.path.exists(out + suffix):
                os.unlink(out + suffix)


def _program_argv(program):
    return {
        "static": lambda: [compile_c("startup", static=True)],
        "dynamic": lambda: [compile_c("startup")],
        "ls": lambda: ["/bin/ls", "-la", "/usr/bin/env"],
        "busybox": lambda: ["/bin/busybox", "sh", "-c", "echo $((6*7)); for i in 1 2 3; do echo $i; done | wc -l"],
        "python3": lambda: ["/usr/bin/python3", "-c", "import os, json; print(json.dumps(sorted(os.listdir('/usr'))[:3]))"],
        "threads": lambda: [compile_c("proc_threads", extra=("-pthread",))],
        "fork_exec_wait": lambda: ["/bin/bash", "-c", "ls /usr | sort -r | head -2; (exit 3); echo $?; "
                                   "x=$(echo sub); echo $x; sleep 0.1 & wait $!; echo waited"],
        "signals": lambda: [compile_c("proc_signals")],
        "faults": lambda: [compile_c("proc_faults")],
        "fpstate": lambda: [compile_c("proc_fpstate", extra=("-pthread",))],
        "gsbase": lambda: [compile_c("systrap_gsbase", extra=("-pthread",))],
    }[program]()


@pytest.mark.parametrize("program", [
    "static", "dynamic", "ls", "busybox", "python3", "threads", "fork_exec_wait", "signals", "faults",
    "fpstate", "gsbase"])
def test_programs(program):
    """Static and dynamic programs, threads, fork/exec/wait, signal handlers and sigreturn,
    faults and copy-on-write, FP state across handlers, arch_prctl's FS and GS bases: the same
    output as natively."""
    argv = _program_argv(program)
    if not os.path.exists(argv[0]):
        pytest.skip(f"{argv[0]} is not installed")
    compare_systrap(argv)


@pytest.mark.parametrize("program", ["threads", "fork_exec_wait", "signals", "faults", "python3"])
def test_programs_unpinned(program):
    """The same not pinned (--cpu=-1): stubs and the loop spin, and the handshakes skip the
    futex wakes and eventfd writes of a side that is awake."""
    argv = _program_argv(program)
    if not os.path.exists(argv[0]):
        pytest.skip(f"{argv[0]} is not installed")
    compare_systrap(argv, flags=PLACEMENTS["unpinned"])


@pytest.mark.parametrize("platform", ["ptrace", "systrap"])
def test_join_a_thread_that_forked(platform):
    """A futex on private memory is keyed by (mm, address), not by where its page lies in the
    MemoryFile: a fork's copy-on-write, broken while a joiner waits, moved it (the joiner
    waited forever; systrap's timing showed it)."""
    binary = compile_c("thread_fork_join", extra=("-pthread",))
    env = app_env()
    native = run_native([binary], env=env, timeout=60)
    boxed = run_sandboxed([binary], timeout=60, env=env, flags=("--platform", platform))
    assert boxed.stdout == native.stdout and boxed.returncode == 0, boxed.stderr.decode(errors="replace")


@pytest.mark.parametrize("platform", [("ptrace",), ("systrap",), ("systrap", "--cpu=-1")],
                         ids=["ptrace", "systrap", "systrap-unpinned"])
def test_threads_made_one_after_another_start_clean(platform):
    """An exited thread's stub thread is parked for the next one (both platforms): the next
    thread sees its creator's FP control words, FS and GS bases and signal mask, no alternate
    stack, fresh thread-locals and a new tid, though the one before left all of them dirty."""
    binary = compile_c("thread_reuse", extra=("-pthread",))
    env = app_env()
    native = run_native([binary], env=env, timeout=60)
    assert native.returncode == 0 and b"threads seen: 80" in native.stdout, native.stdout
    boxed = run_sandboxed([binary], timeout=60, env=env, flags=("--platform", *platform))
    assert boxed.stdout == native.stdout and boxed.returncode == 0, boxed.stderr.decode(errors="replace")


def test_copy_on_write_after_fork():
    """A forked child writes its copy of the parent's memory; the parent's is untouched."""
    compare_systrap(["/usr/bin/python3", "-c",
                     "import os\nb = bytearray(b'p' * (1 << 20))\npid = os.fork()\n"
                     "if pid == 0:\n    b[:] = b'c' * len(b)\n    print('child', b[:3].decode(), flush=True)\n"
                     "    os._exit(0)\nos.waitpid(pid, 0)\nprint('parent', b[:3].decode(), b[-1:].decode())"])


def test_kick_reaches_a_spinning_thread():
    """A thread spinning in user code makes no syscall: SIGALRM reaches it only through the
    Sentry's kick (a host SIGURG the stub's handler reports)."""
    compare_systrap(["/usr/bin/python3", "-c",
                     "import signal, sys\nsignal.signal(signal.SIGALRM, lambda *a: sys.exit(print('alarm') or 7))\n"
                     "signal.setitimer(signal.ITIMER_REAL, 0.3)\nwhile True: pass"])


@contextlib.contextmanager
def _sandbox(argv, first_line):
    """`do --platform=systrap` in its own session, once it has printed ``first_line``; its whole
    group is killed on the way out if it still runs."""
    p = subprocess.Popen(sandbox_cmd(argv, SYSTRAP), env=sandbox_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert p.stdout.readline() == first_line
        yield p
    finally:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)   # the Gofer, in the same group


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _sentry_and_stub(do_pid, timeout=60):
    """(the Sentry's pid, the first application stub's pid) under a `do` process (the Sentry is
    the sandbox process `do` forks, the parent of the master stub), once the application has
    printed its first line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        procs = list(_children(do_pid))
        while procs:
            pid = procs.pop()
            children = _children(pid)
            procs.extend(children)
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if not f.read().startswith(b"snakevisor-stub"):
                        continue
                with open(f"/proc/{pid}/stat") as f:
                    sentry = int(f.read().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError):
                continue
            if children:
                return sentry, children[0]
        time.sleep(0.05)
    raise AssertionError("no stub process appeared")


def _stub_waiting_in_sentry(do_pid, timeout=60):
    """The pid of the only application stub under a `do` process once its application thread is in
    futex_wait (syscall 202) for the Sentry's answer, seen twice in a row: its Task is inside a
    syscall the Sentry serves (sleep's nanosleep), not running application code."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        sentry, _ = _sentry_and_stub(do_pid)
        masters = _children(sentry)
        stubs = [c for m in masters for c in _children(m)]
        states = set()
        if len(stubs) == 1:   # its threads: the mapper (ptrace-stopped) and the application's
            try:
                for tid in os.listdir(f"/proc/{stubs[0]}/task"):
                    with open(f"/proc/{stubs[0]}/task/{tid}/stat") as f:
                        state = f.read().rsplit(")", 1)[1].split()[0]
                    with open(f"/proc/{stubs[0]}/task/{tid}/syscall") as f:
                        states.add(state + f.read().split()[0])
            except OSError:
                states = set()
        if "S202" in states:
            if seen == stubs[0]:
                return seen
            seen = stubs[0]
        else:
            seen = None
        time.sleep(0.02)
    raise AssertionError("the application's stub never waited for the Sentry")


def test_stub_killed_mid_syscall():
    """A stub process SIGKILLed from outside while its thread waits in the Sentry (sleep):
    the process dies of SIGKILL and the sandbox ends. (Its death came to the Kernel as a stray
    report, which it took for a wait status: a TypeError crashed the Sentry.)"""
    # One process from its first line on: after `echo started; exec sleep`, the stub seen
    # waiting could be the one exec was replacing, and killing it ended nothing (a 60 s flake).
    sleeper = ["/usr/bin/python3", "-c", "import time; print('started', flush=True); time.sleep(60)"]
    with no_stub_left():
        with _sandbox(sleeper, b"started\n") as p:
            os.kill(_stub_waiting_in_sentry(p.pid), signal.SIGKILL)
            out, err = p.communicate(timeout=60)
        assert p.returncode == 128 + signal.SIGKILL, err.decode(errors="replace")


def test_killed_sentry_takes_its_stubs():
    """SIGKILL to the Sentry: the master stub dies with it (PDEATHSIG), and the detached stubs
    with the master."""
    with no_stub_left():
        with _sandbox(["/bin/sh", "-c", "echo started; exec sleep 60"], b"started\n") as p:
            sentry, _ = _sentry_and_stub(p.pid)
            stubs = stubs_below(sentry)
            assert len(stubs) >= 2, f"the master stub and the application's: {stubs}"
            os.kill(sentry, signal.SIGKILL)
            p.wait(timeout=60)
            assert wait_gone(stubs) == [], f"stubs still running after their Sentry was killed: {stubs}"


def test_hostile_children_do_not_reach_the_sentry():
    """Children that scribble on their sysmsg pages and signal frames, forge requests, or jump
    into the stub's code are killed and reaped like any process; their parent and the Sentry
    carry on (natively the same children just die of SIGSEGV)."""
    compare_systrap([compile_c("systrap_hostile", extra=("-pthread",))])


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_scribbled_handshake_flags_cost_only_time(placement):
    """A thread scribbles its sibling's handshake flags (asleep = 0, polled = 1, spin) while the
    sibling makes syscalls: the Sentry misses its wake-ups and eventfd writes, and the bounded
    waits (the stub's naps, the loop's BACKSTOP) still carry the child to its end, in seconds."""
    start = time.monotonic()
    compare_systrap([compile_c("systrap_flags", extra=("-pthread",))], flags=PLACEMENTS[placement])
    assert time.monotonic() - start < 30


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_many_threads_trap_and_wake_at_once(placement):
    """Pairs of threads in futex ping-pong with a syscall each turn, all at once: no wake-up is
    lost between the stubs and the Sentry for good (each pair plays all its turns)."""
    compare_systrap([compile_c("systrap_race", extra=("-pthread",))], timeout=120, flags=PLACEMENTS[placement])


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_stub_code_cannot_map_or_protect(placement):
    """A child jumps into the stub's code with registers of its choosing to mmap the MemoryFile
    at offsets it picks (where its parent's memory lies), to mprotect a read-only shared file
    mapping writable, and into the mapper's batch code and its loop (which reads the mapper's
    socket first) with requests of its own: only the stub's mapper thread may make those calls,
    socket first) with requests of its own, and receives from the mapper's socket, maps and
    closes the descriptor number a volume's file lands at (mapper.py): only the stub's mapper
    thread may make those calls, so the child dies, as natively (SIGSEGV there), and neither the
    secret nor the file is reached. (Before the mapper, it read its parent's secret and wrote
    the file.)"""
    native, _ = compare_systrap([compile_c("systrap_map_other")], flags=PLACEMENTS[placement])
    assert native.stdout.count(b"killed by a signal: 1") == 5 and b"file: original" in native.stdout


def test_forged_answers_kill_only_the_forger():
    """A thread writes a known stub thread's tid over the answer to its sibling's clone request
    (and so over every answer the Sentry reads from that sysmsg): the process is killed, the
    Sentry neither aliases the two threads (it hung) nor logs an internal error (natively the
    child dies of SIGSEGV at the unmapped address). Unpinned: the
    forger then spins on the other CPU and lands on the first answers; pinned, it lands only when
    the scheduler runs it inside the few microseconds between a stub's answer and the Sentry's read
    (5-7 s a round here, and once not within 20000 threads). Even unpinned a child may never land
    (its threads' placement; on an idle machine one run in four took over 240 s where the next
    took 0.6): up to eight children of 30 s each, the first that lands reported."""
    compare_systrap([compile_c("systrap_forged_tid", extra=("-pthread",)), "8", "30"], timeout=300,
                    flags=PLACEMENTS["unpinned"])


@pytest.mark.skipif(os.geteuid() != 0, reason="OCI containers here need root (namespaces, mounts)")
def test_oci_container_under_the_sentry_lockdown(tmp_path):
    """The global --platform=systrap reaches an OCI sandbox, whose Sentry runs under its seccomp
    whitelist (no open, no execve): a static program and busybox's sh run there as natively."""
    from oci_support import make_bundle, sv
    root = str(tmp_path / "state")
    prog = compile_c("pipe_semantics", static=True)
    progs = tmp_path / "progs"
    progs.mkdir()
    shutil.copy2(prog, progs / "prog")
    shutil.copy2(compile_c("systrap_probe", static=True), progs / "probe")
    native = subprocess.run([prog], capture_output=True, timeout=60, cwd="/")
    # As under runc only the config's mounts are made: /proc for the program's /proc/self/fd, a tmpfs
    # /tmp for its FIFO (the root is read-only).
    b = make_bundle(str(tmp_path / "b"), ["sh", "-c", "/progs/probe; /progs/prog; echo status=$?"], mounts=[
        {"destination": "/progs", "type": "bind", "source": str(progs), "options": ["rbind", "ro"]},
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}])
    try:
        boxed = sv(root, "--platform=systrap", "run", "-b", b, "st1", timeout=120)
    finally:
        sv(root, "delete", "--force", "st1")
    assert boxed.returncode == 0, boxed.stderr[-2000:]
    assert boxed.stdout == ("sysmsg mapped (state 2)\n" + native.stdout.decode()
                            + f"status={native.returncode}\n")


def test_sysmsg_of_an_exited_thread_is_reused():
    """A thread's sysmsg is taken again once the kernel has cleared its tid word (the thread is
    gone), not while it may still run; a process's threads need not total under MAX_THREADS."""
    from snakevisor.sentry.mm.memoryfile import MemoryFile
    from snakevisor.sentry.platform import systrap

    class Platform:
        memory_file = MemoryFile()
        stub_spin = 0
        contexts = {}

        def forget(self, ctx):
            pass
    aspace = systrap.AddressSpace(Platform(), os.getpid())
    mapped = []   # the mmap requests new_sysmsg asks for: (nr, addr, ...)
    first = aspace.new_sysmsg(mapped)
    first.reusable = True
    first.head.tid_word = 1234          # the kernel's CLONE_CHILD_SETTID
    aspace.retired.append(first)
    second = aspace.new_sysmsg(mapped)
    assert second is not first and [r[1] for r in mapped] == [first.stub, second.stub]
    first.head.tid_word = 0             # CLONE_CHILD_CLEARTID: the thread has exited
    assert aspace.new_sysmsg(mapped) is first and len(mapped) == 2   # not mapped again
    assert first.head.state == 0 and first.head.one == 1


def test_a_mapper_that_never_answers_costs_its_stub():
    """The Sentry waits for a mapper's answer at most its deadline: then the stub is killed and the
    thread that asked sees its address space gone (StubGone), instead of the Sentry hanging in read."""
    from snakevisor.sentry.platform.interface import StubGone
    from snakevisor.sentry.platform.systrap.mapper import MapperChannel
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    stub = subprocess.Popen(["sleep", "60"])   # stands for the stub: alive, never answering
    try:
        channel = MapperChannel(ours.detach(), stub.pid, deadline=0.2)
        with pytest.raises(StubGone) as gone:
            channel.run_batch(tid=1234)
        assert gone.value.tid == 1234
        assert stub.wait(timeout=60) == -signal.SIGKILL
        assert theirs.recv(16) == b"\1"   # the request was sent: only the answer was missing
        channel.close()
    finally:
        stub.kill()
        stub.wait()
        theirs.close()


def test_a_mapper_whose_stub_died_is_gone_at_once():
    """The stub's end of the socket closed (the stub died): StubGone, without waiting out the deadline."""
    from snakevisor.sentry.platform.interface import StubGone
    from snakevisor.sentry.platform.systrap.mapper import MapperChannel
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    theirs.close()
    stub = subprocess.Popen(["sleep", "60"])
    channel = MapperChannel(ours.detach(), stub.pid, deadline=3600)
    try:
        with pytest.raises(StubGone):
            channel.run_batch(tid=1)
        assert stub.poll() is None, "a stub already gone is not killed again (its pid may be reused)"
    finally:
        channel.close()
        stub.kill()
        stub.wait()
