"""The new mount API inside the sandbox (issue 16, "Kernel features II"; syscalls/mount_api.py):
fs contexts (fsopen, fsconfig, fsmount, fspick), open_tree, move_mount and mount_setattr,
natively as root and sandboxed."""
from harness import compare, compile_c


def test_mount_api_matches_linux():
    compare([compile_c("mount_api")], native_status=0)
