"""Atomic compare-and-swap on a 32-bit word of host memory (a PI futex word in the MemoryFile).

Application threads run on host CPUs while the Sentry serves a syscall, and glibc changes a PI
mutex's word with atomic instructions of its own (0 -> TID to lock, TID -> 0 to unlock): the
Sentry's updates of that word must be atomic too, as Linux's cmpxchg_futex_value_locked, or a
read-modify-write would lose the application's. Python has no atomic operation on a buffer,
so this is a 7-byte function (``lock cmpxchg``) in a page of its own, called through ctypes.
The page is made once, at import (before the lock-down), and never written again.
"""
import ctypes
import mmap

from snakevisor.hostos.libc import checked, libc

# uint32_t cas(uint32_t *p, uint32_t expected, uint32_t new): returns the value *p held
#   mov eax, esi; lock cmpxchg [rdi], edx; ret
_CODE = bytes((0x89, 0xF0, 0xF0, 0x0F, 0xB1, 0x17, 0xC3))

_page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
_page[:len(_CODE)] = _CODE
_base = ctypes.addressof(ctypes.c_char.from_buffer(_page))   # (the export ends with the temporary)
checked(libc.mprotect(_base, mmap.PAGESIZE, mmap.PROT_READ | mmap.PROT_EXEC))
_cas = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32)(_base)


def buffer_address(buf):
    """The host address of writable buffer ``buf`` (an mmap that is never resized or closed)."""
    return ctypes.addressof(ctypes.c_char.from_buffer(buf))


def compare_and_swap(address, expected, new):
    """Atomically: if the u32 at host ``address`` (4-aligned) is ``expected``, make it ``new``.
    Returns the value it held (``expected`` when the swap happened)."""
    return _cas(address, expected & 0xFFFFFFFF, new & 0xFFFFFFFF)
