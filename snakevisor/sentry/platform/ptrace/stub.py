"""The stub: a tiny static ELF, generated as bytes, that hosts one address space.

It holds no state. Its single page of code has an ``int3`` loop at the entry
point and, at ``GADGET``, the ``syscall; int3`` sequence through which the
Sentry injects host syscalls (mmap of the memory memfd, munmap, mprotect,
clone). Application code runs in the same process under PTRACE_SYSEMU, so its
own syscalls never reach the host.
"""
import struct

from snakevisor.sentry.platform.layout import STUB_ADDR   # the stub's code page (layout.py)

STUB_SIZE = 0x1000
ENTRY_OFFSET = 0x80
GADGET_OFFSET = 0x90
GADGET = STUB_ADDR + GADGET_OFFSET
STUB_MEMFD = 3                  # the memory memfd's descriptor number inside every stub

_ENTRY_CODE = bytes([0xCC, 0xEB, 0xFD])        # entry: int3; jmp entry
_GADGET_CODE = bytes([0x0F, 0x05, 0xCC])       # gadget: syscall; int3


def build_stub_elf(code_page: bytes = None) -> bytes:
    """An ELF64 executable with one R+X PT_LOAD segment mapping the whole file at STUB_ADDR.

    ``code_page`` (4096 bytes, code from ENTRY_OFFSET on) replaces the ptrace stub's code."""
    ehdr_size, phdr_size = 64, 56
    image = bytearray(STUB_SIZE)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)          # 64-bit, little endian, SysV
    image[0:ehdr_size] = ident + struct.pack(
        "<HHIQQQIHHHHHH",
        2,                          # e_type ET_EXEC
        62,                         # e_machine EM_X86_64
        1,                          # e_version
        STUB_ADDR + ENTRY_OFFSET,   # e_entry
        ehdr_size,                  # e_phoff
        0,                          # e_shoff
        0,                          # e_flags
        ehdr_size, phdr_size, 1,    # e_ehsize, e_phentsize, e_phnum
        0, 0, 0)                    # e_shentsize, e_shnum, e_shstrndx
    image[ehdr_size:ehdr_size + phdr_size] = struct.pack(
        "<IIQQQQQQ",
        1,                          # p_type PT_LOAD
        5,                          # p_flags R|X
        0, STUB_ADDR, STUB_ADDR,    # p_offset, p_vaddr, p_paddr
        STUB_SIZE, STUB_SIZE,       # p_filesz, p_memsz
        0x1000)                     # p_align
    if code_page is not None:
        assert len(code_page) == STUB_SIZE
        image[ENTRY_OFFSET:] = code_page[ENTRY_OFFSET:]
        return bytes(image)
    image[ENTRY_OFFSET:ENTRY_OFFSET + len(_ENTRY_CODE)] = _ENTRY_CODE
    image[GADGET_OFFSET:GADGET_OFFSET + len(_GADGET_CODE)] = _GADGET_CODE
    return bytes(image)
