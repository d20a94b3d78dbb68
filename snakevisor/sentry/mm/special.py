"""The host kernel's special mappings in every stub ([vvar], [vvar_vclock], [vdso]; the platform's
special_mappings()) as an application's mprotect sees them: Linux's _install_special_mapping VMAs.
[vvar] may only be read (no VM_MAYWRITE, VM_MAYEXEC: EACCES), [vdso] may become anything (VM_MAY*
all, for debuggers); neither may be split (special_mapping_split: EINVAL), so only a change of the
whole mapping is made (in the stub too, and kept by fork: ``MemoryManager.special_prot``).
[vsyscall] is no VMA (the gate area): ENOMEM, as for a hole.

The [vdso]'s bytes are no MemoryFile's: reads of it (a debugger's; a syscall's buffer there, as
ld.so's link map names the vDSO from its string table) come from the same kernel's image mapped in
the Sentry (read_vdso).
"""
import ctypes

from snakevisor.abi import mm as M
from snakevisor.abi.elf import AT_SYSINFO_EHDR
from snakevisor.abi.errno import EACCES, EINVAL, ENOMEM, SyscallError
from snakevisor.hostos.libc import libc

_RWX = M.PROT_READ | M.PROT_WRITE | M.PROT_EXEC


def _may(name: str) -> int:
    return _RWX if name == "[vdso]" else M.PROT_READ


def _prot(perms: str) -> int:
    return ((M.PROT_READ if perms[0] == "r" else 0) | (M.PROT_WRITE if perms[1] == "w" else 0)
            | (M.PROT_EXEC if perms[2] == "x" else 0))


def mappings(mm):
    """(start, end, perms, name) of the special mappings, with this address space's protections."""
    kernel = mm.kernel
    if kernel is None:
        return []
    out = []
    for lo, hi, perms, name in kernel.platform.special_mappings():
        prot = mm.special_prot.get(lo)
        if prot is not None:
            perms = "".join(c if prot & bit else "-" for c, bit in
                            (("r", M.PROT_READ), ("w", M.PROT_WRITE), ("x", M.PROT_EXEC))) + perms[3:]
        out.append((lo, hi, perms, name))
    return out


def mprotect(mm, addr, end, prot):
    """mprotect of [addr, end) where it is not wholly the application's VMAs: ENOMEM unless
    special mappings make up the range; then each, in order, as do_mprotect_pkey and
    mprotect_fixup would: EACCES past its VM_MAY* flags, nothing if unchanged, EINVAL if only
    part of it would change."""
    specials = [m for m in mappings(mm) if m[3] != "[vsyscall]"]
    pos, pieces = addr, []
    while pos < end:
        m = next((m for m in specials if m[0] <= pos < m[1]), None)
        if m is None:
            raise SyscallError(ENOMEM)
        pieces.append(m)
        pos = m[1]
    for lo, hi, perms, name in pieces:
        if prot & ~_may(name):
            raise SyscallError(EACCES)
        if prot == _prot(perms):
            continue
        if addr > lo or end < hi:
            raise SyscallError(EINVAL)
        mm._protect_in_stub(lo, hi, prot)
        mm.special_prot[lo] = prot
    return 0


def attach(mm):
    """A fork's new stub: the parent's changed special mappings, as dup_mmap copies them."""
    for lo, hi, _, _ in mappings(mm):
        prot = mm.special_prot.get(lo)
        if prot is not None:
            mm._protect_in_stub(lo, hi, prot)


def read_vdso(kernel, addr, n):
    """[addr, addr+n) of the host's vDSO as mapped in every stub (b"" outside it; short at its
    end): the same kernel's image, of the same size, is mapped in the Sentry."""
    stub = kernel.platform.vdso_range() if kernel is not None else None
    own = libc.getauxval(AT_SYSINFO_EHDR)
    if not stub or not own or not stub[0] <= addr < stub[1]:
        return b""
    n = min(n, stub[1] - addr)
    return ctypes.string_at(own + addr - stub[0], n) if n > 0 else b""


def readable_vdso(mm, addr, n):
    """The application's own read of [addr, addr+n) (a syscall's buffer) in the [vdso] while it
    is readable: its bytes, up to the mapping's end (b"" if ``addr`` is not there)."""
    for lo, hi, perms, name in mappings(mm):
        if name == "[vdso]" and lo <= addr < hi:
            return read_vdso(mm.kernel, addr, n) if perms[0] == "r" else b""
    return b""
