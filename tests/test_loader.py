"""The ELF parser, cross-checked with pyelftools on real binaries of this machine."""
import os

import pytest

from snakevisor.abi.errno import ENOEXEC, SyscallError
from snakevisor.sentry.loader.elf import PHDR, parse_header, parse_phdrs
from snakevisor.sentry.loader.loader import _parse_shebang

elftools = pytest.importorskip("elftools.elf.elffile", reason="pyelftools is a test dependency")

BINARIES = [p for p in ("/bin/ls", "/usr/bin/python3.11", "/lib64/ld-linux-x86-64.so.2", "/bin/busybox")
            if os.path.exists(p)]


@pytest.mark.parametrize("path", BINARIES)
def test_program_headers_match_pyelftools(path):
    with open(path, "rb") as f:
        data = f.read()
    info = parse_header(data)
    parse_phdrs(info, data[info.phoff:info.phoff + info.phnum * PHDR.size])
    with open(path, "rb") as f:
        ref = elftools.ELFFile(f)
        assert info.entry == ref.header.e_entry
        assert info.type == {"ET_EXEC": 2, "ET_DYN": 3}[ref.header.e_type]
        segs = list(ref.iter_segments())
        assert len(segs) == len(info.phdrs)
        for mine, theirs in zip(info.phdrs, segs):
            assert (mine.offset, mine.vaddr, mine.filesz, mine.memsz, mine.flags) == (
                theirs["p_offset"], theirs["p_vaddr"], theirs["p_filesz"], theirs["p_memsz"], theirs["p_flags"])


@pytest.mark.parametrize("data", [b"", b"\x7fELF", b"#!/bin/sh\n", b"\x7fELF" + bytes(60),
                                  b"\x7fELF\x01\x01\x01" + bytes(57)])
def test_not_an_executable_is_enoexec(data):
    with pytest.raises(SyscallError) as e:
        parse_header(data)
    assert e.value.errno == ENOEXEC


def test_shebang_parsing():
    assert _parse_shebang(b"#!/bin/sh\necho") == (b"/bin/sh", None)
    assert _parse_shebang(b"#! /usr/bin/env  python3 -u\n") == (b"/usr/bin/env", b"python3 -u")
    with pytest.raises(SyscallError):
        _parse_shebang(b"#!   \n")
