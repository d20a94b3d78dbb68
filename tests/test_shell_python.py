"""Real programs (issue 4), differential: bash scripts with pipelines, subshells, traps,
`wait`, command substitution and job control; Debian's python3 with threading,
multiprocessing and subprocess; `make -j2` building a 3-file C project with gcc inside
the sandbox (sources outside /tmp, copied to the sandbox's own /tmp to build).
"""
import os
import shutil

import pytest

from harness import BUILD_DIR, compare, run_native, run_sandboxed

PY = "/usr/bin/python3"   # Debian's; the `python3` on PATH may be a pyenv shim (a bash script)

BASH_SCRIPTS = {
    "issue_example":
        "for i in 1 2 3; do echo $i; done | sort -r | head -2; (sleep 0.2; echo late) & wait; echo done",
    "pipelines":
        "seq 1 2000 | grep 7 | sort -rn | head -3; printf 'b\\na\\nc\\n' | sort | tr a-z A-Z | paste -sd,; "
        "echo ${PIPESTATUS[@]}; false | true; echo \"status ${PIPESTATUS[*]}\"; set -o pipefail; false | true; echo $?",
    "subshells_and_substitution":
        "x=outer; (x=inner; echo in $x; exit 4); echo \"code $? x=$x\"; n=$(echo $(echo nested) | wc -c); "
        "echo \"n=$n\"; y=`expr 6 \\* 7`; echo y=$y; echo $(( $(seq 1 100 | paste -sd+ | bc) ))",
    "trap_usr1":
        "trap 'echo got' USR1; kill -USR1 $$; echo after",
    "traps":
        "trap 'echo exit trap' EXIT; trap 'echo term trapped; exit 3' TERM; "
        "trap 'echo int' INT; kill -INT $$; (trap - TERM; kill -TERM $BASHPID; echo unreachable); "
        "echo \"subshell status $?\"; kill -TERM $$; echo unreachable",
    "wait_and_status":
        "sleep 0.1 & a=$!; (exit 7) & b=$!; (kill -KILL $BASHPID) & c=$!; wait $a; echo a=$?; wait $b; "
        "echo b=$?; wait $c; echo c=$?; wait; echo all; sleep 0.3 & sleep 0.1 & wait -n; echo first $?; wait",
    "background_kill":
        "sleep 5 & p=$!; kill $p; wait $p; echo \"killed: $?\"; sleep 5 & kill -9 $!; wait $!; echo \"9: $?\"",
    "job_control":
        "set -m; sleep 5 & p=$!; kill -STOP $p; sleep 0.2; jobs -l | grep -o Stopped; "
        "kill -CONT $p; sleep 0.1; jobs | grep -o Running; kill %1; wait $p; echo \"status $?\"",
    "sh_kill_self":
        "sh -c 'kill -TERM $$'; echo \"sh said $?\"; sh -c 'exit 300'; echo $?",
    "read_loop_fds":
        "exec 3< <(printf 'l1\\nl2\\nl3\\n'); while read -r -u 3 l; do echo \"[$l]\"; done; exec 3<&-; "
        "coproc cat; echo hi >&\"${COPROC[1]}\"; read -r r <&\"${COPROC[0]}\"; echo \"coproc $r\"; "
        "exec {COPROC[1]}>&-; wait",
}


@pytest.mark.parametrize("name", sorted(BASH_SCRIPTS))
def test_bash(name):
    compare(["/bin/bash", "-c", BASH_SCRIPTS[name]], timeout=30)


def test_dev_stdio_opened_again(tmp_path):
    """/dev/stdin, /dev/stdout, /dev/stderr (/proc/self/fd/N) opened anew while they are the
    caller's pipes or file: 'No such device' before. A regular file opened again has an offset
    of its own (cat sees the line read already), as on Linux."""
    script = ("echo out > /dev/stdout; echo err > /dev/stderr; cat /dev/stdin; wc -c < /proc/self/fd/0; "
              "exec 3>/dev/stdout; echo via 3 >&3")
    native, boxed = compare(["/bin/bash", "-c", script], input=b"piped input\n", timeout=30)
    assert native.stdout == b"out\npiped input\n0\nvia 3\n" and boxed.stderr.endswith(b"err\n")
    (tmp_path / "in").write_bytes(b"line1\nline2\n")
    argv = ["/bin/bash", "-c", "read a; echo first=$a; cat /dev/stdin"]
    with open(tmp_path / "in", "rb") as f:
        native = run_native(argv, stdin=f, timeout=30)
    with open(tmp_path / "in", "rb") as f:
        boxed = run_sandboxed(argv, stdin=f, timeout=30)
    assert boxed.stdout == native.stdout == b"first=line1\nline1\nline2\n", boxed.stderr


def test_bash_script_dies_by_signal():
    """bash killing itself with an untrapped signal: status 128+N both ways."""
    compare(["/bin/bash", "-c", "echo before; kill -USR2 $$; echo after"], timeout=30)


PY_PROGRAMS = {
    "threading": """
import threading, queue
q = queue.Queue()
lock = threading.Lock()
total = [0]
def work(n):
    for i in range(2000):
        with lock:
            total[0] += 1
    q.put(n * n)
ts = [threading.Thread(target=work, args=(i,)) for i in range(16)]
[t.start() for t in ts]
[t.join() for t in ts]
print(total[0], sorted(q.get() for _ in ts))
ev = threading.Event(); cond = threading.Condition(); out = []
def waiter():
    with cond:
        cond.wait_for(lambda: out)
    ev.set()
t = threading.Thread(target=waiter); t.start()
with cond:
    out.append(1); cond.notify_all()
print("event", ev.wait(10)); t.join()
print(threading.active_count())
""",
    "multiprocessing_pool": """
import multiprocessing as m
if __name__ == "__main__":
    with m.Pool(4) as p:
        print(p.map(abs, range(-5, 5)))
        print(sorted(p.imap_unordered(len, ["a", "bb", "ccc"])))
""",
    "multiprocessing_process": """
import multiprocessing as m, os
def child(q, n):
    q.put((n, os.getpid() != os.getppid()))
if __name__ == "__main__":
    for method in ("fork", "spawn", "forkserver"):
        ctx = m.get_context(method)
        q = ctx.Queue()
        ps = [ctx.Process(target=child, args=(q, i)) for i in range(3)]
        [p.start() for p in ps]
        got = sorted(q.get(timeout=30) for _ in ps)
        [p.join() for p in ps]
        print(method, got, [p.exitcode for p in ps])
    p = m.Process(target=os._exit, args=(9,)); p.start(); p.join(); print("exitcode", p.exitcode)
""",
    "subprocess": """
import subprocess, signal, sys
print(subprocess.run(["ls", "/"], capture_output=True).stdout == subprocess.run(["ls", "/"], capture_output=True).stdout)
r = subprocess.run(["sh", "-c", "echo out; echo err >&2; exit 3"], capture_output=True, text=True)
print(repr(r.stdout), repr(r.stderr), r.returncode)
p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
print(p.communicate(b"x" * 200000)[0] == b"x" * 200000, p.returncode)
p = subprocess.Popen(["sleep", "10"]); p.send_signal(signal.SIGTERM); print("sleep", p.wait())
print(subprocess.run("echo $((6*7)) | tr 4 X", shell=True, capture_output=True).stdout)
try:
    subprocess.run(["/nonexistent/x"])
except FileNotFoundError as e:
    print("FileNotFoundError", e.errno)
try:
    subprocess.run(["sleep", "5"], timeout=0.3)
except subprocess.TimeoutExpired:
    print("timeout")
print(subprocess.check_output([sys.executable, "-c", "import os; print(os.getppid() > 0)"]))
""",
    "signals": """
import os, signal, threading, time
got = []
signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))
os.kill(os.getpid(), signal.SIGUSR1)
signal.raise_signal(signal.SIGUSR1)
signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)
print(got)
signal.signal(signal.SIGALRM, lambda s, f: got.append("alarm"))
signal.setitimer(signal.ITIMER_REAL, 0.05)
time.sleep(1)
print(got[-1])
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
os.kill(os.getpid(), signal.SIGUSR2)
print(signal.sigpending(), signal.sigwait({signal.SIGUSR2}))
r, w = os.pipe()
def later():
    time.sleep(0.1); os.kill(os.getpid(), signal.SIGUSR1); time.sleep(0.1); os.write(w, b"z")
threading.Thread(target=later).start()
print(os.read(r, 1), got[-1])   # PEP 475: read retried after the handler
""",
}


@pytest.mark.parametrize("name", sorted(PY_PROGRAMS))
def test_python3(name):
    """Run as a script file, not -c: multiprocessing's spawn and forkserver re-import __main__."""
    if not os.path.exists(PY):
        pytest.skip(f"{PY} missing")
    d = os.path.join(BUILD_DIR, "proc_py")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "prog_" + name + ".py")   # not threading.py: it would shadow the module
    with open(path, "w") as f:
        f.write(PY_PROGRAMS[name])
    native, _ = compare([PY, path], timeout=60)
    assert native.returncode == 0, native.stderr.decode(errors="replace")[-2000:]


MAKE_PROJECT = {
    "Makefile": (
        "CC ?= gcc\nCFLAGS = -O1 -Wall\n"
        "app: main.o util.o calc.o\n\t$(CC) -o $@ $^\n"
        "%.o: %.c util.h\n\t$(CC) $(CFLAGS) -c -o $@ $<\n"
        "clean:\n\trm -f app *.o\n"),
    "util.h": "int twice(int);\nint square(int);\n",
    "util.c": '#include "util.h"\nint twice(int x) { return 2 * x; }\n',
    "calc.c": '#include "util.h"\nint square(int x) { return x * x; }\n',
    "main.c": ('#include <stdio.h>\n#include "util.h"\n'
               'int main(void) { printf("twice(21)=%d square(12)=%d\\n", twice(21), square(12)); return 0; }\n'),
}


def test_make_j2_builds_with_gcc():
    if shutil.which("make") is None or shutil.which("gcc") is None:
        pytest.skip("make and gcc needed")
    src = os.path.join(BUILD_DIR, "proc_make_project")
    os.makedirs(src, exist_ok=True)
    for name, text in MAKE_PROJECT.items():
        with open(os.path.join(src, name), "w") as f:
            f.write(text)
    # The build directory is the sandbox's own /tmp (the root is read-only there); natively
    # the same path on the host's /tmp, removed first so both runs build from scratch.
    build = "/tmp/snakevisor-proc-make"
    script = (f"rm -rf {build} && cp -r {src} {build} && make -s -j2 -C {build} && {build}/app && "
              f"ls {build} | sort | tr '\\n' ' '; echo; rm -rf {build}")
    native, _ = compare(["/bin/bash", "-c", script], timeout=45)
    assert b"twice(21)=42 square(12)=144" in native.stdout
