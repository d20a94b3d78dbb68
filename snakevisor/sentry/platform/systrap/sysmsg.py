"""A systrap stub thread's *sysmsg*: 64 KiB of the MemoryFile mapped in the stub and in the
Sentry, a head page the stub's handler and the Sentry share (state, the recorded signal, requests
and their answers, the handshake flags) and the thread's alternate stack, where the kernel puts
its signal frames. Everything in it is the application's to write: the Sentry bounds every
pointer it reads there (``local``, ``offset_of``)."""
import ctypes

from snakevisor.sentry.platform.systrap import stub as st


class SysmsgHead(ctypes.Structure):
    """The head of a thread's sysmsg page (stub.S names the same offsets)."""
    _fields_ = [("state", ctypes.c_uint32), ("waiting", ctypes.c_uint32), ("signo", ctypes.c_uint64),
                ("info", ctypes.c_uint64), ("uctx", ctypes.c_uint64), ("one", ctypes.c_uint64),
                ("nr", ctypes.c_uint64), ("args", ctypes.c_uint64 * 6), ("ret", ctypes.c_int64),
                ("fs_dirty", ctypes.c_uint64), ("fs_base", ctypes.c_uint64),
                ("ss_sp", ctypes.c_uint64), ("ss_flags", ctypes.c_int32), ("pad", ctypes.c_int32),
                ("ss_size", ctypes.c_uint64), ("zeromask", ctypes.c_uint64), ("spin", ctypes.c_uint32),
                ("pad2", ctypes.c_uint32), ("gs_dirty", ctypes.c_uint64), ("gs_base", ctypes.c_uint64),
                ("tid_word", ctypes.c_int32), ("asleep", ctypes.c_uint32), ("polled", ctypes.c_uint32),
                # (not stub.S's: where a clock_gettime the Sentry asks the thread for writes)
                ("cputime", ctypes.c_int64 * 2)]


class Sysmsg:
    """One thread's sysmsg region: its MemoryFile offset, its address in the stub and here."""

    __slots__ = ("offset", "stub", "here", "head", "state_ptr", "reusable", "mv", "words")

    def __init__(self, memory_file, offset, stub_addr, spin=0):
        self.reusable = False   # a cloned thread's: its tid word says when the thread is gone
        self.offset = offset
        self.stub = stub_addr
        base = ctypes.c_char.from_buffer(memory_file.view, offset)
        self.here = ctypes.addressof(base)
        del base  # the address stays valid while the MemoryFile is mapped
        self.head = SysmsgHead.from_address(self.here)
        # The same bytes for struct's pack_into/unpack_from: cheaper than ctypes objects per event.
        # (Made from the address, not the mmap: no buffer export keeps the MemoryFile open.)
        self.mv = memoryview((ctypes.c_char * st.SYSMSG_SIZE).from_address(self.here)).cast("B")
        self.words = self.mv[:4096].cast("I")   # words[0]: the state
        self.state_ptr = ctypes.c_void_p(self.here)   # prebuilt: the futex calls convert nothing
        self.reset(spin)

    def reset(self, spin):
        ctypes.memset(self.here, 0, 4096)
        head = self.head
        stub_addr = self.stub
        head.one = 1
        head.ss_sp = stub_addr + st.ALTSTACK_OFFSET
        head.ss_size = st.SYSMSG_SIZE - st.ALTSTACK_OFFSET
        head.spin = spin

    def local(self, stub_ptr, length):
        """Where stub address ``stub_ptr`` (``length`` bytes) is here; None outside the alternate
        stack (the application may have scribbled the pointer)."""
        off = self.offset_of(stub_ptr, length)
        return None if off is None else self.here + off

    def offset_of(self, stub_ptr, length):
        """``local``'s answer as an offset into the sysmsg (into ``mv``)."""
        off = stub_ptr - self.stub
        if not st.ALTSTACK_OFFSET <= off <= st.SYSMSG_SIZE - length:
            return None
        return off
