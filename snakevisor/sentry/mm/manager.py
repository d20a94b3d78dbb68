"""MemoryManager: one application address space (VMAs, brk, mmap family, copy-in/out).

It keeps the VMAs and mirrors every change into the stub process by injecting
host mmap/munmap/mprotect through a stopped stub thread (``active_context``).
Copying to and from application memory never touches the stub: it is a slice
of the MemoryFile's mapping in the Sentry, after checking the VMA's protection,
so a bad pointer is an EFAULT and never an exception.
"""
import struct
from contextlib import contextmanager
from dataclasses import replace

from snakevisor.abi import mm as M
from snakevisor.abi.errno import E2BIG, EACCES, EEXIST, EFAULT, EINVAL, ENAMETOOLONG, ENOMEM, EPERM, SyscallError
from snakevisor.abi.signal import SEGV_ACCERR
from snakevisor.abi.fs import IOV_MAX
from snakevisor.sentry.platform.layout import MMAP_MIN_ADDR, MMAP_TOP, TASK_SIZE
from snakevisor.sentry.mm import hostmap, lazy, madvise as madvise_, mseal, procmaps, remap, special
from snakevisor.sentry.mm.memoryfile import PAGE_SIZE, page_round_down, page_round_up
from snakevisor.sentry.mm.vma import ANON, COW, FILE, HOST, SHARED, VMA, Region, VMASet

# Linux refuses a new mapping past vm.max_map_count with ENOMEM. Each VMA is a host mapping in the
# stub, which also holds a few of its own (code, vDSO, message pages): the host would refuse
# first and the Sentry would find its stub out of step, so it counts for the host too.
MAX_MAP_COUNT = M.DEFAULT_MAX_MAP_COUNT - 64
HIWATER_STEP = 2 << 20   # bytes unmapped or discarded between two counts of the RSS for its high-water mark
COW_CHUNK = 128 << 10      # how much a copy-on-write fault copies at once
# Private anonymous mappings this large that are PROT_NONE or MAP_NORESERVE are reservations
# (V8's pointer cage, a wasm memory's guard region, a JVM's heap, AddressSanitizer's shadow): no
# memory behind them until mprotect makes a part of at most this size accessible
# (_materialize) or a touch makes a window of pages (mm/lazy.py), so reserving terabytes costs
# nothing, as on Linux. Smaller ones (a malloc arena's 64 MiB) keep one range of memory that
# later mprotects only change.
LAZY_ANON_MIN = 256 << 20


def _stub_mapping(vma):
    """What the stub maps for ``vma``: (addr, length, prot, MemoryFile offset)."""
    return vma.start, vma.end - vma.start, vma.stub_prot, vma.mf_off


class MemoryManager:
    def __init__(self, memory_file, address_space=None, kernel=None):
        self.mf = memory_file
        self.kernel = kernel            # lends a stopped stub thread when another process truncates a file
        self.view = memory_file.view
        self.vmas = VMASet()
        self.address_space = address_space
        self.active_context = None      # a stopped stub thread of address_space to inject through
        self.brk_start = self.brk_end = 0
        self.users = 1                  # Tasks sharing this mm (threads)
        self.membarrier_state = 0       # membarrier(2) REGISTER_* commands made (kept by fork, not exec)
        self.def_locked = 0             # mlockall(MCL_FUTURE): new mappings locked (not kept by fork or exec)
        self.has_seals = False          # some VMA is sealed (mseal.py checks only then)
        self.aio_contexts = {}          # io_setup's contexts by id (Linux's mm->ioctx_table: not kept by fork or exec)
        self.special_prot = {}          # start -> prot of a special mapping ([vdso]...) mprotect changed (special.py)
        self.hiwater_rss = 0            # bytes: the highest RSS counted (procmaps.rss_peak)
        self.rss_next_count = 0.0       # monotonic time before which an unforced count of the RSS is skipped
        self.left_since_count = 0       # bytes unmapped or discarded since the RSS was last counted
        self.host_bounces = None        # host file pages a syscall's host call writes (hostmap.flush)
        # Filled by the loader, for /proc/self/{cmdline,environ,auxv}.
        self.arg_start = self.arg_end = self.env_start = self.env_end = 0
        self.auxv = b""
        self.executable = None

    # -- mirroring into the stub ------------------------------------------
    def _map_into_stub(self, vma):
        if vma.past_eof or vma.lazy:
            self._unmap_from_stub(vma.start, vma.end)  # left unmapped: an access faults (SIGBUS, or mm/lazy.py)
            return
        if vma.kind == HOST:
            if self.address_space is not None:
                hostmap.map_into_stub(self, vma)
        elif self.address_space is not None:
            self.address_space.map_file_range(self.active_context, *_stub_mapping(vma))

    def _unmap_from_stub(self, start, end):
        if self.address_space is not None:
            self.address_space.unmap(self.active_context, start, end - start)

    def _protect_in_stub(self, start, end, prot):
        if self.address_space is not None:
            self.address_space.protect(self.active_context, start, end - start, prot)

    def attach(self, address_space, context):
        """Map every VMA into a fresh stub (a fork's), in one batch where the platform has one.
        Lazy and past-EOF VMAs stay unmapped (_map_into_stub): a fresh stub has nothing there;
        host file pages are mapped one by one (each passes its descriptor)."""
        self.address_space = address_space
        self.active_context = context
        address_space.map_ranges(context, [_stub_mapping(v) for v in self.vmas
                                           if not (v.past_eof or v.lazy or v.kind == HOST)])
        for v in self.vmas:
            if v.kind == HOST:
                hostmap.map_into_stub(self, v)
        if self.special_prot:
            special.attach(self)

    # -- bookkeeping -------------------------------------------------------
    def note_leaving(self, going, removed=()):
        """``going`` bytes of mappings are about to lose their pages (unmap, discard): Linux's
        update_hiwater_rss, the RSS now may be the peak. Counted once HIWATER_STEP has gone since
        the last count, so the cost follows the memory unmapped and the peak is short by less
        than that (``removed``: VMAs out of the set already, still backed)."""
        self.left_since_count += going
        if going and self.left_since_count >= HIWATER_STEP:
            procmaps.rss_peak(self, leaving=removed)

    def _release(self, vmas, removed=False, last=False):
        """Free what backs ``vmas`` and forget them (``removed``: they are out of the set already;
        ``last``: all of them, the processes that used them gone, their peak taken already)."""
        if not last:
            self.note_leaving(sum(v.end - v.start for v in vmas if not v.lazy), vmas if removed else ())
        for v in vmas:
            if v.kind == ANON:
                if not v.lazy:
                    self.mf.free(v.mf_off, v.end - v.start, charged=not v.uncharged)
            elif v.owner is not None:
                v.owner.dec_ref()
        if not removed:
            self.vmas.remove(vmas)
        for v in vmas:
            if v.file is not None:
                v.file.dec_ref()   # last: the file's release may ask this address space nothing more

    def _drop_range(self, start, end):
        """Forget [start, end) in the VMAs (the caller updates the stub)."""
        self._release(self.vmas.carve(start, end))

    def fork(self, address_space, context):
        """A copy of this address space for a child process. Private memory becomes copy-on-write
        in both (read-only in the stubs until a write fault copies a chunk); shared memory and file
        pages stay shared. Nothing is copied now, so forking a large process costs no more than a
        small one."""
        child = MemoryManager(self.mf, address_space, self.kernel)
        child.active_context = context
        for v in self.vmas:
            if v.dontfork:
                continue   # MADV_DONTFORK: not mapped in the child at all
            if v.kind == ANON and v.lazy:   # a reservation: nothing to share
                child.vmas.insert(replace(v, locked=0))
                continue
            if v.kind == ANON and v.uncharged:   # zeros nothing could touch: the child's own zeros
                child.vmas.insert(replace(v, mf_off=self.mf.allocate(v.end - v.start, charged=False), locked=0))
                continue
            if v.wipeonfork:   # MADV_WIPEONFORK (private anonymous only): the child's reads zeros
                child.vmas.insert(replace(v, kind=ANON, mf_off=self.mf.allocate(v.end - v.start), owner=None, locked=0))
                continue
            if v.kind == FILE and v.owner is not None:
                v.owner.cache.mappers.add(child)
            elif v.copy_of is not None:
                v.copy_of.cache.mappers.add(child)
            if v.kind == ANON:
                region = Region(self.mf, v.end - v.start, offset=v.mf_off)
                region.inc_ref()
                v.kind, v.owner = COW, region
                if v.prot & M.PROT_WRITE:
                    self._protect_in_stub(v.start, v.end, v.stub_prot)
            if v.owner is not None:
                v.owner.inc_ref()
            if v.file is not None:
                v.file.inc_ref()
            child.vmas.insert(replace(v, locked=0))   # locks are not inherited (dup_mmap)
        for name in ("brk_start", "brk_end", "arg_start", "arg_end", "env_start", "env_end", "auxv", "executable",
                     "membarrier_state", "has_seals"):
            setattr(child, name, getattr(self, name))
        child.special_prot = dict(self.special_prot)
        if child.executable is not None:
            child.executable.inode.exec_users += 1
            child.executable.inc_ref()
        child.attach(address_space, context)
        return child

    def handle_fault(self, addr, code, pc):
        """A protection fault the Sentry caused rather than the application: a write to
        copy-on-write memory (give this address space its own copy), or one that raced with
        another thread already making the page writable (just retry the instruction).

        A first touch of lazily mapped file pages maps them (mm/lazy.py); a fault on file pages
        mapped meanwhile (another thread's first touch) is retried.

        Returns False for a real fault (the caller delivers SIGSEGV)."""
        v = self.vmas.find(addr)
        if code != SEGV_ACCERR:
            if v is None or v.past_eof or not (v.kind == FILE or v.lazy):
                return False
            v = lazy.populate(self, addr, MAX_MAP_COUNT)
            return v is not None and not v.lazy   # (a PROT_NONE reservation stays: the fault is real)
        if v is None or not v.prot & M.PROT_WRITE:
            return False
        if v.kind == COW:
            self.break_cow(addr, addr + 1)
            return True
        # Writable now, so the fault was a write that lost a race with another thread's
        # copy-on-write fault or fork; unless it was an instruction fetch from a page without
        # PROT_EXEC, which is the application's.
        return bool(v.prot & M.PROT_EXEC) or (addr & ~(PAGE_SIZE - 1)) != (pc & ~(PAGE_SIZE - 1))

    def fault_past_eof(self, addr):
        """A fault at ``addr`` in a file mapping beyond the end of its file: True means SIGBUS
        (as Linux raises); False means not such a mapping, or the file has grown since (the
        pages are mapped now and the access is retried)."""
        v = self.vmas.find(addr)
        if v is None or not v.past_eof:
            return False
        eof_addr = v.start + page_round_up(v.owner.size) - v.file_off
        if addr >= eof_addr:
            return True
        # The file grew again: map what backs those pages now (a truncation freed the old ones).
        for piece in self.vmas.carve(v.start, min(v.end, eof_addr)):
            new = self._build_vmas(piece.start, piece.end, piece.prot, piece.shared, piece.file, piece.file_off,
                                   piece.name, piece.maywrite, piece.mayexec)
            self._release([piece])
            for n in new:
                self.vmas.insert(n)
                self._map_into_stub(n)
        return None

    def file_truncated(self, cache, eof):
        """The file whose pages are ``cache`` now ends at page-aligned ``eof``: its pages from there
        on leave this address space before truncate returns (an access is SIGBUS, as Linux), so the
        caller may free them. A process running application code is stopped for that."""
        ranges, copies = [], []
        for v in [v for v in self.vmas if (v.maps_cache(cache) or v.copies_cache(cache)) and not v.past_eof]:
            cut = v.start + max(eof - v.file_off, 0)
            if cut < v.end:
                for piece in self.vmas.carve(cut, v.end):
                    if piece.kind == FILE:
                        piece.past_eof = True
                    else:   # Linux drops private copies too (unmap_mapping_range's even_cows)
                        copies.append(piece)
                ranges.append((cut, v.end))
        if not ranges:
            return
        with self.changed_by_another():   # the truncating process is usually another one
            for start, end in ranges:
                self._unmap_from_stub(start, end)
        for piece in copies:   # freed once the stub no longer maps them
            self._forget_copy(piece)

    def _forget_copy(self, v):
        """Make the private copy ``v`` of file pages that are now past the file's end file pages
        again, unmapped (SIGBUS; the file's data if it grows back there)."""
        file_vma = replace(v, kind=FILE, mf_off=0, owner=v.copy_of, past_eof=True, copy_of=None)
        file_vma.owner.inc_ref()
        file_vma.file.inc_ref()
        self._release([v])
        self.vmas.insert(file_vma)

    @contextmanager
    def changed_by_another(self):
        """For a change another process makes to this address space (/proc/PID/mem and ptrace
        writes, a truncation unmapping file pages): its host-side updates go through a stopped
        thread of this address space, never through one running application code, which cannot take an injected
        call (on systrap its stub's state was overwritten and the process hung)."""
        if self.kernel is None or self.address_space is None:
            yield
            return
        with self.kernel.stopped_context(self) as ctx:
            saved = self.active_context, self.address_space
            if ctx is None:
                self.address_space = None   # no live thread: no host mappings to update
            else:
                self.active_context = ctx
            try:
                yield
            finally:
                self.active_context, self.address_space = saved

    def maps_shared_writable(self, cache):
        """Does a shared mapping here that may be made writable (VM_MAYWRITE) map ``cache``'s pages?"""
        return any(v.shared and v.maywrite and v.maps_cache(cache) for v in self.vmas)

    def break_cow(self, start, end):
        """Make the copy-on-write memory in [start, end) private (before a write to it)."""
        for v in self.vmas.overlapping(start, end):
            if v.kind != COW:
                continue
            region = v.owner
            if region.refs == 1 and region.covers_exactly(v):
                # Nobody else shares it any more: it simply becomes ours again, no copy.
                v.kind, v.owner = ANON, None
                self._protect_in_stub(v.start, v.end, v.prot)
                continue
            lo = max(v.start, start & ~(COW_CHUNK - 1))
            hi = min(v.end, (end + COW_CHUNK - 1) & ~(COW_CHUNK - 1))
            for piece in self.vmas.carve(lo, hi):
                if piece.kind != COW:
                    continue
                n = piece.end - piece.start
                off = self.mf.allocate(n)
                self.view[off:off + n] = self.view[piece.mf_off:piece.mf_off + n]
                shared, piece.kind, piece.mf_off, piece.owner = piece.owner, ANON, off, None
                self._map_into_stub(piece)
                shared.dec_ref()   # once the copy is mapped: another thread may still read the pages

    def release_all(self):
        """The last Task is done with this address space: its stub is killed first, so that its
        memory is reused only once the stub is dead (MemoryFile.hold_frees)."""
        if self.address_space is not None:
            self.address_space.kill()
        self._release(list(self.vmas), last=True)   # (ThreadGroup.leaving_mm took the RSS peak)
        self.set_executable(None)

    def set_executable(self, file):
        """The program this address space runs (/proc/PID/exe). While it runs, the file may not be
        opened for writing or truncated (ETXTBSY), as Linux's deny_write_access."""
        if file is not None:
            file.inode.exec_users += 1
            file.inc_ref()   # mm->exe_file: the program's file (and its mount) stay while it runs
        old, self.executable = self.executable, file
        if old is not None:
            old.inode.exec_users -= 1
            old.dec_ref()

    def _new_anon(self, start, end, prot, name="", noreserve=False):
        if (prot == M.PROT_NONE or noreserve) and end - start >= LAZY_ANON_MIN:
            return VMA(start, end, prot, ANON, 0, name=name, lazy=True)   # a reservation (LAZY_ANON_MIN)
        if prot == M.PROT_NONE:   # a smaller reservation: charged once made accessible (mprotect)
            return VMA(start, end, prot, ANON, self.mf.allocate(end - start, charged=False), name=name,
                       uncharged=True)
        return VMA(start, end, prot, ANON, self.mf.allocate(end - start), name=name)

    def _materialize(self, v):
        """Give reservation VMA ``v`` its memory (zeros; ENOMEM past the limit), about to be accessible."""
        v.mf_off, v.lazy = self.mf.allocate(v.end - v.start), False

    def _check_range(self, addr, length):
        if addr & (PAGE_SIZE - 1):
            raise SyscallError(EINVAL)
        if length == 0 or length > TASK_SIZE or addr + length > TASK_SIZE:
            raise SyscallError(EINVAL)

    # -- mmap family ---------------------------------------------------------
    def mmap(self, addr, length, prot, flags, file=None, offset=0, name="", maywrite=True, mayexec=True,
             locked=0):
        if isinstance(name, bytes):
            name = name.decode("utf-8", "surrogateescape")   # maps shows the bytes as they are
        if length == 0:
            raise SyscallError(EINVAL)
        length = page_round_up(length)
        if length == 0 or length > TASK_SIZE:
            raise SyscallError(ENOMEM)
        if offset & (PAGE_SIZE - 1):
            raise SyscallError(EINVAL)
        map_type = flags & M.MAP_TYPE
        if map_type not in (M.MAP_SHARED, M.MAP_PRIVATE, M.MAP_SHARED_VALIDATE):
            raise SyscallError(EINVAL)
        shared = map_type != M.MAP_PRIVATE
        fixed = flags & (M.MAP_FIXED | M.MAP_FIXED_NOREPLACE)
        if fixed:
            if addr & (PAGE_SIZE - 1):
                raise SyscallError(EINVAL)
            if addr < MMAP_MIN_ADDR or addr + length > TASK_SIZE:
                raise SyscallError(EPERM if addr < MMAP_MIN_ADDR else ENOMEM)
            # MAP_FIXED_NOREPLACE wins over MAP_FIXED given with it (do_mmap: it implies MAP_FIXED)
            if flags & M.MAP_FIXED_NOREPLACE and not self.vmas.is_free(addr, addr + length):
                raise SyscallError(EEXIST)
            start = addr
        else:
            start = self._choose_address(page_round_down(addr), length, flags)
        end = start + length
        if len(self.vmas) >= MAX_MAP_COUNT:
            raise SyscallError(ENOMEM)
        if fixed:
            mseal.check_unsealed(self, start, end)
        new = self._build_vmas(start, end, prot, shared, file, offset, name, maywrite, mayexec,
                               populate=flags & M.MAP_POPULATE, noreserve=flags & M.MAP_NORESERVE)
        replaced = self.vmas.carve(start, end) if fixed else []
        if replaced:
            self.vmas.remove(replaced)
        try:
            for v in new:
                v.locked = locked
                v.growsdown = bool(flags & M.MAP_GROWSDOWN)
                self.vmas.insert(v)
                self._map_into_stub(v)
        except SyscallError:   # a host file the stub could not map (hostmap.map_into_stub): nothing there
            self._drop_range(start, end)
            raise
        finally:   # what was there is freed once the stub maps the new memory in its place
            self._release(replaced, removed=True)
        if flags & M.MAP_POPULATE and any(v.lazy for v in new):
            try:   # mm_populate: pages a size-limited tmpfs charges, as far as they fit
                self.populate_charged(start, end)
            except SyscallError:
                pass
        return start

    def map_region_at(self, start, end, prot, region, offset, name):
        """Map the shared anonymous Region ``region`` from ``offset`` at [start, end), replacing what
        was there (remap_file_pages of a shared anonymous mapping, syscalls/nonlinear.py)."""
        vma = VMA(start, end, prot, SHARED, region.offset + offset, shared=True, owner=region, name=name)
        region.inc_ref()
        self._drop_range(start, end)
        self.vmas.insert(vma)
        self._map_into_stub(vma)

    def _choose_address(self, hint, length, flags):
        if hint and MMAP_MIN_ADDR <= hint and hint + length <= MMAP_TOP and self.vmas.is_free(hint, hint + length):
            return hint
        top = 0x80000000 if flags & M.MAP_32BIT else MMAP_TOP
        start = self.vmas.find_gap(length, top, MMAP_MIN_ADDR)
        if start is None:
            raise SyscallError(ENOMEM)
        return start

    def _build_vmas(self, start, end, prot, shared, file, offset, name, maywrite=True, mayexec=True, populate=False,
                    noreserve=False):
        """The VMAs mapping [start, end) as asked; each that names a file holds a reference to it."""
        vmas = self._make_vmas(start, end, prot, shared, file, offset, name, maywrite, mayexec, populate,
                               noreserve)
        for v in vmas:
            if v.file is not None:
                v.file.inc_ref()
        return vmas

    def _make_vmas(self, start, end, prot, shared, file, offset, name, maywrite, mayexec, populate, noreserve=False):
        length = end - start
        if file is None:
            if shared:
                region = Region(self.mf, length)
                region.inc_ref()
                if populate and prot & M.PROT_WRITE:
                    self.mf.commit(region.offset, length)
                # maywrite, mayexec: a mapping of /dev/zero keeps its file's (syscalls/mm.py)
                return [VMA(start, end, prot, SHARED, region.offset, shared=True, owner=region,
                            name=name or "/dev/zero (deleted)", maywrite=maywrite, mayexec=mayexec)]
            vma = self._new_anon(start, end, prot, name, noreserve and not populate)
            vma.mayexec = mayexec
            if populate and prot & M.PROT_WRITE and not vma.lazy:   # written pages are made (RSS)
                self.mf.commit(vma.mf_off, length)
            return [vma]
        mappable = file.mappable()
        host = hostmap.host_pages(self, mappable, shared, maywrite)
        if host is not None:   # the host file's own pages (a volume's file)
            return [hostmap.new_vma(host, start, end, prot, file, offset, name, maywrite, mayexec)]
        if not shared and prot & M.PROT_WRITE:
            return self._private_copy(start, end, prot, file, offset, name, mayexec, mappable)
        is_lazy = lazy.wanted(mappable, offset, length, populate)
        ranges = [(0, length)] if is_lazy else mappable.translate(offset, length)   # lazy: no pages yet
        out, pos, foff = [], start, offset
        holder = mappable
        mappable.cache.mappers.add(self)  # a truncation of the file reaches this address space
        if shared and prot & M.PROT_WRITE:
            holder = mappable.writable_mapping(offset, length)   # a file that tracks dirty pages counts these
        eof = page_round_up(mappable.size)
        for mf_off, n in ranges:
            pieces = [(mf_off, n)]
            if foff < eof < foff + n:  # split where the file ends
                pieces = [(mf_off, eof - foff), (mf_off + eof - foff, foff + n - eof)]
            for off, m in pieces:
                holder.inc_ref()  # the file's pages stay while any VMA maps them (unlink while mapped)
                out.append(VMA(pos, pos + m, prot, FILE, off, shared=shared, owner=holder, file=file,
                               file_off=foff, name=name, past_eof=foff >= eof,
                               maywrite=maywrite, mayexec=mayexec, lazy=is_lazy))
                pos += m
                foff += m
        return out

    def munmap(self, addr, length):
        self._check_range(addr, length)
        end = addr + page_round_up(length)
        v = self.vmas.find(addr)
        if v is not None and v.start < addr and end < v.end and len(self.vmas) >= MAX_MAP_COUNT:
            raise SyscallError(ENOMEM)   # a hole inside one mapping makes one more (Linux's check)
        mseal.check_unsealed(self, addr, end)
        if self.vmas.overlapping(addr, end):
            self._unmap_from_stub(addr, end)   # first: the memory is freed once no thread can write it
            self._drop_range(addr, end)
        return 0

    def mprotect(self, addr, length, prot):
        if addr & (PAGE_SIZE - 1):
            raise SyscallError(EINVAL)
        if prot & ~(M.PROT_READ | M.PROT_WRITE | M.PROT_EXEC | M.PROT_GROWSDOWN | M.PROT_GROWSUP):
            raise SyscallError(EINVAL)
        if prot & M.PROT_GROWSDOWN and prot & M.PROT_GROWSUP:
            raise SyscallError(EINVAL)
        prot &= M.PROT_READ | M.PROT_WRITE | M.PROT_EXEC
        end = addr + page_round_up(length)
        if length == 0:
            return 0
        if end > TASK_SIZE or not self.vmas.covered(addr, end):
            return special.mprotect(self, addr, end, prot)   # ENOMEM unless [vdso] or [vvar]
        mseal.check_unsealed(self, addr, end)
        for v in self.vmas.overlapping(addr, end):
            if (prot & M.PROT_WRITE and not v.maywrite) or (prot & M.PROT_EXEC and not v.mayexec):
                raise SyscallError(EACCES)   # VM_MAYWRITE / VM_MAYEXEC, as Linux
        if len(self.vmas) + self.vmas.splits(addr, end) > MAX_MAP_COUNT:
            raise SyscallError(ENOMEM)   # each split is a new mapping (split_vma's check)
        if prot != M.PROT_NONE:   # reservations made accessible count now (ENOMEM: nothing changed)
            self.mf.charge(sum(min(v.end, end) - max(v.start, addr)
                               for v in self.vmas.overlapping(addr, end) if v.uncharged))
        pieces = self.vmas.carve(addr, end)
        for v in pieces:
            if prot != M.PROT_NONE:
                v.uncharged = False
            if v.kind == ANON and v.lazy and prot != M.PROT_NONE and v.end - v.start <= LAZY_ANON_MIN:
                self._materialize(v)
                v.prot = prot
                self._map_into_stub(v)
                continue
            if v.kind == FILE and not v.shared and prot & M.PROT_WRITE:
                if not v.past_eof:   # past the end: its pages come (copied) if the file grows back
                    self._cow(v)
            elif v.kind == FILE and prot & M.PROT_WRITE:
                holder = v.owner.writable_mapping(v.file_off, v.end - v.start)   # now dirty
                if holder is not v.owner:
                    holder.inc_ref()
                    v.owner.dec_ref()
                    v.owner = holder
            v.prot = prot
        if any(v.kind == COW or v.past_eof or v.lazy for v in pieces):
            for v in pieces:
                if not v.past_eof and not v.lazy:   # left unmapped in the stub
                    self._protect_in_stub(v.start, v.end, v.stub_prot)
        else:
            self._protect_in_stub(addr, end, prot)
        return 0

    def _cow(self, v):
        """Give a private file VMA its own copy of the pages (it is about to become writable)."""
        n = v.end - v.start
        new_off = self.mf.allocate(n)
        if v.lazy:
            self._copy_file_pages(v.owner, v.file_off, new_off, n)
        else:
            self.view[new_off:new_off + n] = self.view[v.mf_off:v.mf_off + n]
        owner = v.owner
        v.kind, v.mf_off, v.owner, v.lazy, v.copy_of = ANON, new_off, None, False, owner
        self._map_into_stub(v)
        if owner is not None:
            owner.dec_ref()   # once the copy is mapped: another thread may still read the pages

    def _private_copy(self, start, end, prot, file, offset, name, mayexec, mappable):
        """A private writable file mapping: its own copy of the file's pages, made now. Pages wholly
        past the end of the file stay file pages, unmapped: an access is SIGBUS, as Linux, and
        they are copied if the file grows back (fault_past_eof)."""
        n = min(end - start, max(page_round_up(mappable.size) - offset, 0))
        out = []
        mappable.cache.mappers.add(self)   # a truncation drops the copies (file_truncated)
        if n:
            vma = VMA(start, start + n, prot, ANON, self.mf.allocate(n), file=file, file_off=offset, name=name,
                      mayexec=mayexec, copy_of=mappable)
            self._copy_file_pages(mappable, offset, vma.mf_off, n)
            out.append(vma)
        if start + n < end:
            mappable.inc_ref()
            out.append(VMA(start + n, end, prot, FILE, 0, shared=False, owner=mappable, file=file,
                           file_off=offset + n, name=name, past_eof=True, mayexec=mayexec))
        return out

    def _copy_file_pages(self, mappable, file_off, dst, n):
        """Copy file bytes [file_off, +n) of ``mappable`` into MemoryFile offset ``dst``."""
        for off, m in mappable.translate(file_off, n):
            self.view[dst:dst + m] = self.view[off:off + m]
            dst += m

    def brk(self, new_brk):
        if new_brk < self.brk_start:
            return self.brk_end
        old_top, new_top = page_round_up(self.brk_end), page_round_up(new_brk)
        if new_top > old_top:
            if new_top > MMAP_TOP or not self.vmas.is_free(old_top, new_top) or len(self.vmas) >= MAX_MAP_COUNT:
                return self.brk_end
            try:
                v = self._new_anon(old_top, new_top, M.PROT_READ | M.PROT_WRITE, "[heap]")
            except SyscallError:
                return self.brk_end
            v.locked = self.def_locked
            self.vmas.insert(v)
            self._map_into_stub(v)
        elif new_top < old_top:
            if self.has_seals and any(v.sealed for v in self.vmas.overlapping(new_top, old_top)):
                return self.brk_end
            self._unmap_from_stub(new_top, old_top)
            self._drop_range(new_top, old_top)
        self.brk_end = new_brk
        return new_brk

    def mremap(self, old, old_len, new_len, flags, new_addr=0):
        return remap.mremap(self, old, old_len, new_len, flags, new_addr)

    def madvise(self, addr, length, advice):
        return madvise_.madvise(self, addr, length, advice)

    # -- copy-in / copy-out ------------------------------------------------
    def copy_in(self, addr, n):
        if n <= 0:
            return b""
        v = self.vmas.find(addr)
        if v is not None and addr + n <= v.end and v.prot & M.PROT_READ and not v.past_eof and not v.lazy \
                and v.kind != HOST:
            off = v.mf_off + addr - v.start   # accessible(), inlined
            return self.view[off:off + n]
        return b"".join(self._pieces(addr, n, M.PROT_READ))

    def compare_and_swap(self, addr, expected, new):
        """Atomically make the u32 at ``addr`` (4-aligned) ``new`` if it holds ``expected``; returns
        the value it held. A write of the Sentry's (a PI futex word): EFAULT unless mapped writable,
        copy-on-write memory made this address space's own first."""
        self.break_cow(addr, addr + 4)
        v = self.find_populated(addr)
        if v is None or not v.accessible(M.PROT_WRITE):
            raise SyscallError(EFAULT)
        if v.kind == HOST:
            return hostmap.compare_and_swap(v, addr, expected, new)
        return self.mf.compare_and_swap(v.mf_off + addr - v.start, expected, new)

    def populate_charged(self, start, end):
        """MADV_POPULATE_*, mlock: pages a size-limited tmpfs charges when touched, made (lazy.py);
        then every page of [start, end) present (resident: mincore, RSS), as faulting each in
        would, its contents unchanged."""
        lazy.populate_charged(self, start, end, MAX_MAP_COUNT)
        for v in self.vmas.overlapping(start, end):
            if not v.lazy and not v.past_eof and v.kind != HOST and v.prot & (M.PROT_READ | M.PROT_WRITE | M.PROT_EXEC):
                lo = max(v.start, start)
                self.mf.populate(v.mf_off + lo - v.start, min(v.end, end) - lo)

    def find_populated(self, addr):
        """The VMA containing ``addr`` (or None), its pages there made and mapped if it was lazy:
        what the Sentry's own accesses through a VMA look up."""
        v = self.vmas.find(addr)
        if v is not None and v.lazy and not v.past_eof:
            v = lazy.populate(self, addr, MAX_MAP_COUNT)
        return v

    def _pieces(self, addr, n, need):
        out, pos, end = [], addr, addr + n
        while pos < end:
            v = self.find_populated(pos)
            if v is None and need == M.PROT_READ and (vdso := special.readable_vdso(self, pos, end - pos)):
                out.append(vdso)
                pos += len(vdso)
                continue
            if v is None or not v.accessible(need):
                raise SyscallError(EFAULT)
            m = min(end, v.end) - pos
            if need != M.PROT_READ:
                out.append((v, pos, m))
            elif v.kind == HOST:
                out.append(hostmap.read(v, pos, m))
            else:
                off = v.mf_off + pos - v.start
                out.append(self.view[off:off + m])
            pos += m
        return out

    def copy_out(self, addr, data, force=False):
        n = len(data)
        if n == 0:
            return
        if force:
            # A forced write (/proc/PID/mem, the loader's zeroed segment tail) may land in a
            # read-only private file mapping: it gets its own pages first, never the file's.
            self.break_cow(addr, addr + n)
            lo, hi = page_round_down(addr), page_round_up(addr + n)
            if any(v.kind == FILE and not v.shared for v in self.vmas.overlapping(lo, hi)):
                for v in self.vmas.carve(lo, hi):
                    if v.kind == FILE and not v.shared:
                        self._cow(v)
        need = M.PROT_READ if force else M.PROT_WRITE
        v = self.vmas.find(addr)
        if v is not None and v.kind == COW:
            self.break_cow(addr, addr + n)
            v = self.vmas.find(addr)
        if v is not None and addr + n <= v.end and v.prot & need and not v.past_eof and v.kind != COW and not v.lazy \
                and v.kind != HOST:
            off = v.mf_off + addr - v.start
            self.view[off:off + n] = data
            return
        self.break_cow(addr, addr + n)
        mv, pos = memoryview(data), 0
        for v, at, m in self._pieces(addr, n, M.PROT_WRITE if not force else 0xFF):
            if v.kind == HOST:
                hostmap.write(v, at, mv[pos:pos + m])
            else:
                off = v.mf_off + at - v.start
                self.view[off:off + m] = mv[pos:pos + m]
            pos += m

    def io_views(self, addr, n, write=False):
        """Memoryviews of the MemoryFile covering application memory [addr, addr+n), so host I/O
        (recv_into, sendmsg) moves data straight into or out of it, with no copy through Python.
        EFAULT unless all of it is mapped readable (``write``: writable); a write first gives this
        address space its own copy of copy-on-write memory, as copy_out does."""
        if n <= 0:
            return []
        need = M.PROT_WRITE if write else M.PROT_READ
        if write:
            self.break_cow(addr, addr + n)
        v = self.vmas.find(addr)
        if v is not None and addr + n <= v.end and v.prot & need and not v.past_eof and not v.lazy and v.kind != HOST:
            off = v.mf_off + addr - v.start   # accessible(), inlined
            return [memoryview(self.view)[off:off + n]]
        ranges, pos, end = [], addr, addr + n
        while pos < end:
            v = self.find_populated(pos)
            if v is None and not write and (vdso := special.readable_vdso(self, pos, end - pos)):
                ranges.append((vdso, len(vdso)))   # (the vDSO's bytes: no MemoryFile offset)
                pos += len(vdso)
                continue
            if v is None or not v.accessible(need):
                raise SyscallError(EFAULT)   # before any view exists: none outlives us in a traceback
            m = min(end, v.end) - pos
            ranges.append((hostmap.view(self, v, pos, m, write) if v.kind == HOST else v.mf_off + pos - v.start, m))
            pos += m
        mv = memoryview(self.view)
        return [off if off.__class__ is memoryview else memoryview(off) if off.__class__ is bytes else mv[off:off + m]
                for off, m in ranges]

    def accessible_span(self, addr, n, write=False):
        """How many bytes from ``addr`` (at most ``n``) are mapped readable (or writable)."""
        need = M.PROT_WRITE if write else M.PROT_READ
        pos, end = addr, addr + n
        while pos < end:
            v = self.vmas.find(pos)
            if v is None and not write and (vdso := special.readable_vdso(self, pos, end - pos)):
                pos += len(vdso)
                continue
            if v is None or not v.prot & need or v.past_eof:   # VMA.accessible, inlined: every copy asks
                break
            pos = v.end
        return min(pos, end) - addr

    def read_cstring(self, addr, maxlen=4096):
        """A NUL-terminated string of at most ``maxlen`` bytes (NUL excluded)."""
        v = self.vmas.find(addr)
        if v is not None and v.prot & M.PROT_READ and not v.past_eof and not v.lazy and v.kind != HOST:
            # Nearly every path ends in the VMA it starts in: no list and join for it.
            off = v.mf_off + addr - v.start
            nul = self.view.find(b"\0", off, off + min(v.end - addr, maxlen + 1))
            if nul >= 0:
                return self.view[off:nul]
        out, pos = [], addr
        remaining = maxlen + 1
        while remaining > 0:
            v = self.find_populated(pos)
            if v is None and (vdso := special.readable_vdso(self, pos, remaining)):
                nul = vdso.find(b"\0")
                out.append(vdso if nul < 0 else vdso[:nul])
                if nul >= 0:
                    return b"".join(out)
                pos, remaining = pos + len(vdso), remaining - len(vdso)
                continue
            if v is None or not v.prot & M.PROT_READ or v.past_eof:   # accessible(), inlined: every path
                raise SyscallError(EFAULT)
            lim = min(v.end - pos, remaining)
            if v.kind == HOST:
                data, ended = hostmap.cstring(v, pos, lim)
                out.append(data)
                if ended:
                    return b"".join(out)
                pos, remaining = pos + lim, remaining - lim
                continue
            off = v.mf_off + pos - v.start
            nul = self.view.find(b"\0", off, off + lim)
            if nul >= 0:
                out.append(self.view[off:nul])
                return b"".join(out)
            out.append(self.view[off:off + lim])
            pos += lim
            remaining -= lim
        raise SyscallError(ENAMETOOLONG)

    def read_iovecs(self, addr, count):
        if count > IOV_MAX:
            raise SyscallError(EINVAL)
        if count == 0:
            return []
        raw = self.copy_in(addr, 16 * count)
        iovs = list(struct.iter_unpack("<QQ", raw))
        for base, length in iovs:
            if length > 0x7FFFFFFFFFFFFFFF:
                raise SyscallError(EINVAL)
        return iovs

    def read_u64(self, addr):
        return struct.unpack("<Q", self.copy_in(addr, 8))[0]

    def read_pointer_array(self, addr, limit):
        """A NULL-terminated array of pointers (argv, envp), at most ``limit`` entries."""
        out = []
        while True:
            p = self.read_u64(addr + 8 * len(out))
            if p == 0:
                return out
            out.append(p)
            if len(out) > limit:
                raise SyscallError(E2BIG)

    # -- introspection -------------------------------------------------------

