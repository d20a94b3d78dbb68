"""process_madvise(2) and process_mrelease(2) (issue "Kernel features I"): tests/programs/process_mm.c
natively and in the sandbox."""
from harness import compile_c


def test_process_madvise_and_mrelease_match_linux(differential):
    differential([compile_c("process_mm")], native_status=0)
