"""POSIX message queues (issue "Kernel features I"): tests/programs/mqueue.c natively and in the
sandbox, and the sandbox's /dev/mqueue (mounted there as Docker and runc do; not every host has it)."""
from harness import compile_c, run_sandboxed


def test_mqueue_semantics_match_linux(differential):
    differential([compile_c("mqueue", extra=("-lrt",))])


SCRIPT = r"""
import ctypes, os
rt = ctypes.CDLL("librt.so.1", use_errno=True)
q = rt.mq_open(b"/box-queue", os.O_CREAT | os.O_RDWR, 0o640, None)
assert q >= 0, ctypes.get_errno()
assert rt.mq_send(q, b"hello", 5, 3) == 0
st = os.stat("/dev/mqueue/box-queue")
print(oct(st.st_mode), sorted(os.listdir("/dev/mqueue")))
print(open("/dev/mqueue/box-queue").read(), end="")
os.unlink("/dev/mqueue/box-queue")
print(sorted(os.listdir("/dev/mqueue")), rt.mq_unlink(b"/box-queue"), ctypes.get_errno())
print([line for line in open("/proc/mounts") if " mqueue " in line][0], end="")
"""


def test_dev_mqueue_shows_the_queues():
    boxed = run_sandboxed(["/usr/bin/python3", "-c", SCRIPT])
    assert boxed.returncode == 0, boxed.stderr.decode()[-2000:]
    lines = boxed.stdout.decode().splitlines()
    assert lines[0] == "0o100640 ['box-queue']"
    assert lines[1].split() == ["QSIZE:5", "NOTIFY:0", "SIGNO:0", "NOTIFY_PID:0"]
    assert lines[2] == "[] -1 2"                       # unlink(2) removed it: mq_unlink is ENOENT
    assert lines[3].split()[:3] == ["mqueue", "/dev/mqueue", "mqueue"]
