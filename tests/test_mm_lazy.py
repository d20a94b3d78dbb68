"""File mappings made lazily (mm/manager.py: a large FILE VMA's pages are mapped into the stub on
first touch): tests/programs/mmap_lazy.c natively and in the sandbox."""
from harness import compile_c


def test_huge_sparse_file_mappings_match_linux(differential):
    differential([compile_c("mmap_lazy")], native_status=0)
