"""Host file pages in an address space: HOST VMAs (mm/vma.py).

A MAP_SHARED mapping of a volume's file (a shared gofer mount whose file the Sentry holds a host
descriptor of: its Mappable's ``host_pages``), on a platform that maps host files (systrap:
``AddressSpace.maps_host_files``), maps the host file itself into the stub: its pages are the
host's page cache, coherent with host processes, other sandboxes and the Sentry's own pread and
pwrite of the file, as Linux's (SQLite's WAL index is such a mapping). gVisor maps a host file's
descriptor in this case too. The page-cache mapping (fsimpl/gofer/mapping.py) is what the other
platform, private mappings and 9P-only mounts keep.

The Sentry never maps these pages itself: a host process may truncate the file, and an access of
the Sentry's past its end would be a SIGBUS that kills it. So its accesses for the application
(copy_in/out, io_views, futex words, /proc/PID/mem, ptrace and process_vm_*) are pread and pwrite
of the host descriptor, EFAULT where the file ends (Linux's fault there is VM_FAULT_SIGBUS:
EFAULT for a kernel access). The application's own access past the end is the host's SIGBUS
(BUS_ADRERR), which the stub reports as any fault, and the Sentry delivers it. Whatever the
application writes there is data the Sentry only copies. Nothing here is MemoryFile memory:
it is not charged to the memory limit and not counted in the RSS.

A write into application memory that a host call makes through a view (io_views with ``write``:
recv, read into a buffer) lands in a bounce buffer, written to the file when the syscall ends
(``flush``): only the pages whose bytes changed, so a concurrent writer's data elsewhere stays.
"""
from snakevisor.abi.errno import EFAULT, SyscallError
from snakevisor.sentry.mm.vma import HOST, VMA

BOUNCE_PAGE = 4096   # the unit in which a bounce buffer's changes are written back


def host_pages(mm, mappable, shared, maywrite):
    """The HostPages a new mapping of ``mappable`` maps, or None (page-cache pages instead)."""
    aspace = mm.address_space
    if not shared or aspace is None or not getattr(aspace, "maps_host_files", False):
        return None
    return mappable.host_pages(maywrite)


def new_vma(host, start, end, prot, file, offset, name, maywrite, mayexec):
    """The HOST VMA mapping ``host`` from file ``offset`` at [start, end) (one reference of it)."""
    host.inc_ref()
    return VMA(start, end, prot, HOST, 0, shared=True, owner=host, file=file, file_off=offset, name=name,
               maywrite=maywrite, mayexec=mayexec)


def map_into_stub(mm, v):
    """Map the host file's range of ``v`` into the stub (a descriptor that may be written if the
    mapping may become writable: the host checks VM_MAYWRITE on mprotect as Linux does here).
    If the host refuses (or the application scribbled the mapper's msghdr), nothing stays mapped
    there in the stub, neither what was before (MemoryFile pages about to be freed) nor anything
    else: an access faults (SIGSEGV), and the caller gets the errno."""
    fd = v.owner.descriptor(v.maywrite)
    try:
        mm.address_space.map_host_file(mm.active_context, v.start, v.end - v.start, v.stub_prot, fd, v.file_off)
    except OSError as e:
        mm.address_space.unmap(mm.active_context, v.start, v.end - v.start)
        raise SyscallError(e.errno or EFAULT)


def read(v, addr, n):
    """``n`` bytes of ``v``'s file at ``addr``: EFAULT past the end of the file (or if the host fails)."""
    data = v.owner.read(v.file_off + addr - v.start, n)
    if len(data) < n:
        raise SyscallError(EFAULT)
    return data


def write(v, addr, data):
    """Write ``data`` into ``v``'s file at ``addr``: EFAULT where the file ends (nothing is written
    past it: a store there is SIGBUS, never a file extension)."""
    foff = v.file_off + addr - v.start
    if foff + len(data) > v.owner.current_size():
        raise SyscallError(EFAULT)
    if v.owner.write(foff, data) < len(data):
        raise SyscallError(EFAULT)


def cstring(v, addr, n):
    """(the bytes from ``addr`` up to a NUL or ``n`` of them, whether a NUL ended them): EFAULT
    where the file ends first."""
    data = v.owner.read(v.file_off + addr - v.start, n)
    nul = data.find(b"\0")
    if nul >= 0:
        return data[:nul], True
    if len(data) < n:
        raise SyscallError(EFAULT)
    return data, False


def compare_and_swap(v, addr, expected, new):
    """The u32 at ``addr`` made ``new`` if it holds ``expected``; returns what it held. Not atomic
    against a store by the application or a host process meanwhile (the Sentry has no atomic
    access to a host page it does not map): PI futex words and robust lists in such a file."""
    old = int.from_bytes(read(v, addr, 4), "little")
    if old == expected:
        write(v, addr, new.to_bytes(4, "little"))
    return old


def view(mm, v, addr, n, writing):
    """A memoryview standing for application memory [addr, addr+n) of ``v``: a copy of the file's
    bytes; with ``writing``, one that ``flush`` writes back at the syscall's end."""
    data = read(v, addr, n)
    if not writing:
        return memoryview(data)
    buf = bytearray(data)
    if mm.host_bounces is None:
        mm.host_bounces = []
    mm.host_bounces.append((v.owner, v.file_off + addr - v.start, buf, data))
    return memoryview(buf)


def flush(mm):
    """Write back what host calls wrote into bounce buffers (``view``): the pages that changed."""
    bounces, mm.host_bounces = mm.host_bounces, None
    for host, foff, buf, before in bounces:
        for pos in range(0, len(buf), BOUNCE_PAGE):
            chunk = buf[pos:pos + BOUNCE_PAGE]
            if chunk != before[pos:pos + BOUNCE_PAGE]:
                try:
                    host.write(foff + pos, bytes(chunk))
                except SyscallError:
                    pass   # the file is gone or shorter now: what the host refuses is lost, as a store past EOF
