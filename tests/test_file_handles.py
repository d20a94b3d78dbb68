"""name_to_handle_at(2) and open_by_handle_at(2) (issue "Kernel features I"):
tests/programs/file_handles.c on tmpfs natively and in the sandbox, and, in the sandbox only,
handles of Gofer files (the host's filesystem types have handles of their own sizes)."""
from harness import compile_c, run_sandboxed


def test_file_handles_on_tmpfs_match_linux(differential):
    differential([compile_c("file_handles")], native_status=0)


SCRIPT = r"""
import ctypes, os, struct
libc = ctypes.CDLL(None, use_errno=True)
def handle(path):
    buf = ctypes.create_string_buffer(struct.pack("<Ii", 128, 0) + bytes(128))
    mnt = ctypes.c_int(-1)
    r = libc.syscall(303, -100, path.encode(), buf, ctypes.byref(mnt), 0)
    return r, buf
def open_by(mount_path, buf):
    fd = os.open(mount_path, os.O_RDONLY)
    r = libc.syscall(304, fd, buf, os.O_RDONLY)
    return r, ctypes.get_errno()
r, h = handle("/etc/hostname")
print(r, struct.unpack_from("<Ii", h.raw))
fd, err = open_by("/", h)
print(os.read(fd, 100) == open("/etc/hostname", "rb").read() if fd >= 0 else err)
print(open_by("/dev/shm", h))                       # another filesystem: ESTALE
with open("/var/tmp/made-here", "w") as f:
    f.write("new\n")
r, h = handle("/var/tmp/made-here")
fd, err = open_by("/", h)
print(os.read(fd, 100) if fd >= 0 else err)
os.close(fd)
os.unlink("/var/tmp/made-here")
print(open_by("/", h))
print(handle("/proc/self/status")[0], ctypes.get_errno())
"""


def test_gofer_files_have_handles():
    boxed = run_sandboxed(["/usr/bin/python3", "-c", SCRIPT])
    assert boxed.returncode == 0, boxed.stderr.decode()[-2000:]
    assert boxed.stdout.decode().splitlines() == [
        "0 (12, 1)", "True", "(-1, 116)", "b'new\\n'", "(-1, 116)", "-1 95"]
