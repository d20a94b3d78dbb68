"""Linux AIO (issue "Kernel features I"): tests/programs/aio.c natively and in the sandbox, and
fio's libaio engine on a file of the sandbox's tmpfs."""
from fio_support import check_fio_engine
from harness import compile_c


def test_aio_semantics_match_linux(differential):
    differential([compile_c("aio", extra=("-pthread",))])


def test_fio_libaio():
    check_fio_engine("libaio")
