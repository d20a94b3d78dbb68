"""Where the stubs' own pages sit, and so how much address space the application has.

Each stub process keeps its code page at STUB_ADDR and (systrap) its threads' message pages
above it, within STUB_SPAN; application memory stays below STUB_ADDR (``TASK_SIZE``), its stack
just under STACK_TOP. On a host, STUB_ADDR is just below the 128 TiB user address space. Inside
a snakevisor sandbox (a nested ``snakevisor do``) the address space ends at the outer Sentry's
TASK_SIZE, where the outer stub sits: the inner stubs must go lower. So the address is found
once, at import, by probing: the highest candidate whose whole span the host (or the outer
Sentry) lets this process map; a mapping occupied in this process does not count against a
candidate (the stubs are fresh processes), only one past the end of the address space (ENOMEM).
"""
import ctypes
import errno

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]

PAGE = 4096
STUB_SPAN = 0x50000000              # the stub's code and filter pages, and 1 GiB on, systrap's messages
_HIGHEST = 0x7FFE00000000           # a host's: 2 GiB-aligned, just below the stack's usual place
_STEP = 0x200000000                 # each lower candidate: 8 GiB down (a nested sandbox's own stack fits)
_MAP_PRIVATE_ANON_NOREPLACE = 0x02 | 0x20 | 0x100000


def _reachable(addr):
    """May this process map the page at ``addr`` (not past the end of its address space)?"""
    got = _libc.mmap(addr, PAGE, 0, _MAP_PRIVATE_ANON_NOREPLACE, -1, 0)
    if got is None or got == ctypes.c_void_p(-1).value:
        return ctypes.get_errno() != errno.ENOMEM   # EEXIST: in use here, but there to be had
    _libc.munmap(got, PAGE)
    return True


def _stub_addr():
    addr = _HIGHEST
    for _ in range(16):
        if _reachable(addr + STUB_SPAN - PAGE):
            return addr
        addr -= _STEP
    return _HIGHEST


STUB_ADDR = _stub_addr()
TASK_SIZE = STUB_ADDR               # the application's memory stays below the stub's page
STACK_TOP = TASK_SIZE - (4 << 30)   # the main thread's stack, under the stub with a 4 GiB gap
STACK_SIZE = 8 << 20
MMAP_TOP = STACK_TOP - STACK_SIZE - (256 << 20)   # mmap's choices stay under the stack and its growth
MMAP_MIN_ADDR = 0x10000             # vm.mmap_min_addr
