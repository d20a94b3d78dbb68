"""ELF64 header parsing for the loader (pure: bytes in, ElfInfo out)."""
import struct
from dataclasses import dataclass, field

from snakevisor.abi import elf as E
from snakevisor.abi.errno import ENOEXEC, SyscallError

EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")
MAX_PHNUM = 128


@dataclass
class ProgramHeader:
    type: int
    flags: int
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    align: int


@dataclass
class ElfInfo:
    type: int
    entry: int
    phoff: int
    phentsize: int
    phnum: int
    phdrs: list = field(default_factory=list)

    @property
    def loads(self):
        return [p for p in self.phdrs if p.type == E.PT_LOAD]

    def first(self, ptype):
        return next((p for p in self.phdrs if p.type == ptype), None)


def parse_header(data: bytes) -> ElfInfo:
    """Parse the ELF header; ENOEXEC unless it is an x86_64 ELF64 executable or shared object."""
    if len(data) < EHDR.size or data[:4] != b"\x7fELF":
        raise SyscallError(ENOEXEC)
    ident, etype, machine, _ver, entry, phoff, _shoff, _flags, _ehsize, phentsize, phnum, *_ = EHDR.unpack_from(data)
    if ident[4] != 2 or ident[5] != 1 or machine != E.EM_X86_64 or etype not in (E.ET_EXEC, E.ET_DYN):
        raise SyscallError(ENOEXEC)
    if phentsize != PHDR.size or not 0 < phnum <= MAX_PHNUM:
        raise SyscallError(ENOEXEC)
    return ElfInfo(etype, entry, phoff, phentsize, phnum)


def parse_phdrs(info: ElfInfo, data: bytes) -> None:
    """Fill ``info.phdrs`` from the program header table bytes."""
    if len(data) < info.phnum * PHDR.size:
        raise SyscallError(ENOEXEC)
    info.phdrs = [ProgramHeader(*PHDR.unpack_from(data, i * PHDR.size)) for i in range(info.phnum)]
    if not info.loads:
        raise SyscallError(ENOEXEC)
