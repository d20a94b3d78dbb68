"""remap_file_pages(2) (issue "Kernel features I"): tests/programs/remap_file_pages.c natively and in
the sandbox (the pages shown, writes reaching the file, /proc/self/maps offsets, EINVAL rules)."""
from harness import compile_c


def test_remap_file_pages_matches_linux(differential):
    differential([compile_c("remap_file_pages")], native_status=0)
