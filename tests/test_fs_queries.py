"""sysfs(2) and ustat(2) (issue "Kernel features I"): tests/programs/fs_queries.c natively and in
the sandbox, each answer checked against /proc/filesystems, stat and statfs of the same system."""
from harness import compile_c


def test_sysfs_and_ustat_match_linux(differential):
    differential([compile_c("fs_queries")], native_status=0)
