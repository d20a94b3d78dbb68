"""Real programs, natively and in snakevisor (issue 2): busybox-static applets,
coreutils, /bin/sh and Debian's python3. stdout and exit status must match.

Programs that fork, exec, use pipes and signals are here too (the processes issue).
"""
import os
import re
import shutil

import pytest

from harness import REPO, WARM_SETTING, exit_code, run_native, run_sandboxed

BUSYBOX = shutil.which("busybox") or "/bin/busybox"
PYTHON = "/usr/bin/python3"   # Debian's; the pyenv python3 on PATH is a bash shim


def app_env(**extra):
    # The sandbox's application sees run_sandboxed's PYTHONPATH, so the native run gets it too;
    # LANG avoids Python's C-locale coercion adding LC_CTYPE (tests/test_differential.py).
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": REPO, "HOME": "/root",
           **WARM_SETTING}
    env.update(extra)
    return env


def compare(argv, input=None, normalize=None, env=None):
    env = env or app_env()
    native = run_native(argv, input=input, env=env)
    boxed = run_sandboxed(argv, input=input, env=env)
    nout, bout = native.stdout, boxed.stdout
    if normalize:
        nout, bout = normalize(nout), normalize(bout)
    detail = (f"\nnative stdout:\n{nout.decode(errors='replace')[-2500:]}"
              f"\nsandbox stdout:\n{bout.decode(errors='replace')[-2500:]}"
              f"\nsandbox stderr:\n{boxed.stderr.decode(errors='replace')[-2500:]}")
    assert boxed.returncode == exit_code(native.returncode), (
        f"exit status: native {native.returncode}, sandbox {boxed.returncode}" + detail)
    assert bout == nout, "stdout differs" + detail
    return native, boxed


def need(path):
    if not os.path.exists(path):
        pytest.skip(f"{path} is not installed")


BUSYBOX_CASES = [
    ["echo", "hello", "world"],
    ["true"],
    ["false"],
    ["ls", "-l", "/etc"],          # not -a: /etc's ".." is the sandbox's own (overlay) root
    ["ls", "-la", "/etc/apt"],
    ["ls", "-1", "/usr/bin"],
    ["cat", "/etc/passwd"],
    ["wc", "/etc/passwd"],
    ["sort", "/etc/passwd"],
    ["head", "-3", "/etc/passwd"],
    ["tail", "-2", "/etc/passwd"],
    ["uname", "-sm"],
    ["stat", "-c", "%n %s %a %U %G %F %h", "/etc/passwd", "/etc", "/bin"],
    ["md5sum", "/etc/passwd"],
    ["sha256sum", "/bin/busybox"],
    ["find", "/etc/apt"],
    ["seq", "1", "100"],
    ["expr", "6", "*", "7"],
    ["basename", "/a/b/c"],
    ["printf", "%s-%d\\n", "a", "5"],
    ["readlink", "/bin"],
    ["realpath", "/usr/../etc/./passwd"],
    ["grep", "root", "/etc/passwd"],
    ["od", "-A", "x", "-t", "x1", "-N", "64", "/bin/busybox"],
    ["dd", "if=/dev/zero", "bs=1k", "count=64", "status=none"],
    ["sh", "-c", "exit 7"],
    ["sh", "-c", "x=5; echo $((x*2)); for i in 1 2 3; do echo $i; done; exit 3"],
    ["sh", "-c", "cd /etc && pwd && echo $PWD"],
    ["sh", "-c", "d=/tmp/sv-bb-$$; mkdir $d && echo data > $d/f && cat $d/f && ls $d && rm -r $d && ls $d"],
]

BUSYBOX_PROCESS_CASES = [
    ["sh", "-c", "ls /etc | wc -l"],
    ["sh", "-c", "echo $(echo subshell)"],
    ["sh", "-c", "/bin/true; echo $?; /bin/false; echo $?"],
    ["sh", "-c", "kill -ABRT $$; echo not reached"],
]


def _id(args):
    text = args if isinstance(args, str) else " ".join(args)
    return re.sub(r"\s+", "_", text)[:60]


def _without_etc_hosts(out):
    """A long listing of /etc minus its hosts line: the sandbox adds its hostname to /etc/hosts
    (a file mounted over the image's, as container runtimes do), so its size and time differ."""
    return b"\n".join(line for line in out.split(b"\n") if not line.endswith(b" hosts"))


def _normalize_for(args):
    return _without_etc_hosts if "/etc" in args and any(a.startswith("-l") for a in args) else None


@pytest.mark.parametrize("args", BUSYBOX_CASES, ids=_id)
def test_busybox(args):
    need(BUSYBOX)
    compare([BUSYBOX, *args], normalize=_normalize_for(args))


@pytest.mark.parametrize("args", BUSYBOX_PROCESS_CASES, ids=_id)
def test_busybox_processes(args):
    need(BUSYBOX)
    compare([BUSYBOX, *args])


def test_busybox_stdin():
    need(BUSYBOX)
    compare([BUSYBOX, "tr", "a-z", "A-Z"], input=b"hello from stdin\n")


COREUTILS_CASES = [
    ["/bin/ls", "/etc"],
    ["/bin/ls", "-l", "/etc"],
    ["/bin/ls", "-la", "/etc/apt"],
    ["/bin/ls", "-lan", "/usr/bin/python3", "/etc/passwd"],
    ["/bin/ls", "-R", "/etc/apt"],
    ["/bin/cat", "/etc/passwd", "/etc/hostname"],
    ["/usr/bin/wc", "/etc/passwd", "/etc/group"],
    ["/usr/bin/wc", "-c", "/usr/bin/python3.11"],
    ["/usr/bin/sort", "-r", "/etc/passwd"],
    ["/usr/bin/sort", "-t:", "-k3", "-n", "/etc/passwd"],
    ["/usr/bin/head", "-n", "5", "/etc/passwd"],
    ["/usr/bin/head", "-c", "100", "/bin/ls"],
    ["/usr/bin/env"],
    ["/usr/bin/env", "-i", "A=1", "/usr/bin/env"],
    ["/usr/bin/stat", "-c", "%n %s %a %U %G %F %h %Y", "/etc/passwd", "/etc", "/bin"],
    ["/usr/bin/stat", "-L", "-c", "%n %s %F", "/bin/sh", "/proc/self/exe"],
]


@pytest.mark.parametrize("argv", COREUTILS_CASES, ids=_id)
def test_coreutils(argv):
    need(argv[0])
    compare(argv, normalize=_normalize_for(argv))


def test_coreutils_stat_default_format():
    """Plain `stat`: device and inode numbers are the sandbox's own (as in gVisor, files come from
    the Gofer's mount, not the host's block device; an overlay's layers get distinct inode
    ranges), so they are normalised; everything else must match, birth time included."""
    need("/usr/bin/stat")
    compare(["/usr/bin/stat", "/etc/passwd", "/etc", "/bin"],
            normalize=lambda out: re.sub(rb"Device: \S+\s+Inode: \d+\s+", b"Device: N Inode: N ", out))


def test_cat_stdin():
    compare(["/bin/cat"], input=b"line 1\nline 2\n")


SH_CASES = [
    ["/bin/sh", "-c", "exit 7"],
    ["/bin/sh", "-c", "exit 0"],
    ["/bin/sh", "-c", "exit 255"],
    ["/bin/sh", "-c", "echo hi; exit 3"],
    ["/bin/sh", "-c", "read x; echo got $x", ],
]


@pytest.mark.parametrize("argv", SH_CASES, ids=_id)
def test_sh(argv):
    compare(argv, input=b"line\n")


@pytest.mark.parametrize("script", [
    "ls /etc | sort | head -3",
    "echo $(cat /etc/hostname)",
    "/bin/true && echo yes",
    "kill -ABRT $$",
], ids=_id)
def test_sh_processes(script):
    compare(["/bin/sh", "-c", script])


PYTHON_SNIPPETS = [
    'print("hello")',
    'import os, json; print(json.dumps(sorted(os.listdir("/"))))',
    'print(sum(range(10**6)))',
    'import sys; sys.exit(5)',
    'raise SystemExit("message to stderr")',
    'import hashlib; print(hashlib.sha256(open("/etc/passwd","rb").read()).hexdigest())',
    'import os; print(os.getcwd(), os.getuid(), os.geteuid(), os.getgid())',
    'import os, stat; s = os.stat("/etc/passwd"); print(stat.filemode(s.st_mode), s.st_size, s.st_nlink)',
    'import tempfile, os; d = tempfile.mkdtemp(); p = os.path.join(d, "x"); open(p, "w").write("abc");'
    ' print(open(p).read(), os.listdir(d)); os.unlink(p); os.rmdir(d)',
    'import mmap; f = open("/etc/passwd", "rb"); m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ);'
    ' print(m[:4], len(m) == len(open("/etc/passwd","rb").read()))',
    'import platform; print(platform.system(), platform.machine())',
    'import time; t = time.monotonic(); time.sleep(0.01); print(time.monotonic() - t >= 0.01)',
    'import random, zlib; random.seed(1); print(zlib.crc32(bytes(random.getrandbits(8) for _ in range(10000))))',
    'import sqlite3; c = sqlite3.connect(":memory:"); c.execute("create table t(x)");'
    ' c.executemany("insert into t values (?)", [(i,) for i in range(100)]);'
    ' print(c.execute("select sum(x) from t").fetchone())',
    'import os; print(os.readlink("/proc/self/exe"))',
    'import sys; print(sys.stdin.read().upper())',
]


@pytest.mark.parametrize("code", PYTHON_SNIPPETS, ids=lambda c: c[:50])
def test_python(code):
    need(PYTHON)
    compare([PYTHON, "-c", code], input=b"from stdin\n")


@pytest.mark.parametrize("code", [
    'import subprocess; print(subprocess.run(["/bin/echo", "child"], capture_output=True).stdout)',
    'import os; r, w = os.pipe(); os.write(w, b"pipe"); print(os.read(r, 4))',
    'import os, signal; os.kill(os.getpid(), signal.SIGABRT)',
    'import threading; t = threading.Thread(target=print, args=("thread",)); t.start(); t.join()',
], ids=lambda c: c[:50])
def test_python_processes(code):
    need(PYTHON)
    compare([PYTHON, "-c", code])


@pytest.mark.parametrize("base", ["/dev/shm", "/var/tmp"])
def test_cp_preserves_modes(base):
    """cp -a and cp -p give the copy the source's mode by setting it as a minimal POSIX ACL (not
    chmod): on tmpfs (/dev/shm) and on a Gofer file (the root overlay) the mode must follow, as
    natively, and the copies show no ACL ('+' in ls -l)."""
    need("/usr/share/perl5/Algorithm")
    script = (f'd=$(mktemp -d {base}/sv-cpa.XXXXXX) && cd $d && cp -a /usr/share/perl5/Algorithm a && '
              'cp -p /etc/passwd p && chmod 751 a/Merge.pm && cp -a a b && '
              'stat -c "%a %n" a a/* p b b/* && ls -l b | cut -c1-11; s=$?; cd / && rm -rf $d; exit $s')
    compare(["/bin/sh", "-c", script])


def test_tar_sparse_of_written_file():
    """GNU tar --sparse takes a file whose st_blocks is 0 for all hole and archives none of its
    data: a file the sandbox just wrote on the root overlay (a Gofer file) must count its blocks."""
    need("/usr/bin/tar")
    script = ('d=$(mktemp -d /var/tmp/sv-tar.XXXXXX) && cd $d && seq 1 20000 > f && '
              'tar --sparse -cf t.tar f && mkdir o && tar -xf t.tar -C o && cmp f o/f && md5sum o/f; '
              's=$?; cd / && rm -rf $d; exit $s')
    compare(["/bin/sh", "-c", script])
