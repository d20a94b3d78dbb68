"""System V shared memory: shmget/shmat/shmdt/shmctl over unlinked tmpfs files.

As in Linux (ipc/shm.c), a segment is an unlinked file of the internal tmpfs (named
"/SYSV<key>" in /proc/PID/maps) and ``shmat`` is a MAP_SHARED mapping of it, so segments share
everything file mappings already do: pages in the MemoryFile, fork, the mapping keeping the
memory alive after IPC_RMID. ``shm_nattch`` is counted from the address spaces themselves (one
per mapped run of the segment), so fork, munmap and exit need no bookkeeping here. A segment
removed while attached keeps its id (with SHM_DEST set and its key private) until its last
attachment goes.
"""
from snakevisor.abi import ipc as I
from snakevisor.abi import mm as M
from snakevisor.abi.capability import CAP_IPC_LOCK
from snakevisor.abi.errno import EINVAL, ENOMEM, ENOSPC, EPERM, SyscallError
from snakevisor.abi.fs import O_RDONLY, O_RDWR
from snakevisor.abi.resource import RLIMIT_MEMLOCK
from snakevisor.sentry.kernel.ipc import S_IRUGO, S_IWUGO, S_IXUGO, IPCObject, Registry, now
from snakevisor.sentry.mm.memoryfile import PAGE_SIZE, page_round_up


class Segment(IPCObject):
    def __init__(self, perm, index, size, file, file_ro, cpid):
        super().__init__(perm, index)
        self.size = size
        self.file = file          # the O_RDWR description every read-write attachment maps
        self.file_ro = file_ro    # O_RDONLY: SHM_RDONLY attachments can never become writable
        self.atime = self.dtime = 0
        self.ctime = now()
        self.cpid = cpid
        self.lpid = 0

    def is_ours(self, vma):
        return vma.file is self.file or vma.file is self.file_ro


class SharedMemory:
    """The IPC namespace's segments."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.registry = Registry(I.SHMMNI)
        self.total_pages = 0

    # -- counting attachments -------------------------------------------------
    def _address_spaces(self):
        seen = {}
        for task in self.kernel.pidns.tasks.values():
            if task.mm is not None and not task.exited:
                seen[id(task.mm)] = task.mm
        return seen.values()

    def nattch(self, seg):
        """Mapped runs of the segment over every address space (Linux counts its VMAs likewise): a
        run continues the one before it only at the next address and the next offset (two
        attachments side by side are two)."""
        count = 0
        for mm in self._address_spaces():
            prev = None   # (end address, end offset) of the run before
            for v in mm.vmas:
                if seg.is_ours(v):
                    if (v.start, v.file_off) != prev:
                        count += 1
                    prev = (v.end, v.file_off + v.end - v.start)
                else:
                    prev = None
        return count

    def destroy_all(self):
        """The IPC namespace is gone (shm_exit_ns): its segments go; attached ones live on in
        the mappings that hold their files."""
        for seg in list(self.registry):
            self._destroy(seg)

    def reap(self):
        """Segments marked for destruction whose last attachment is gone go away now."""
        for seg in list(self.registry):
            if seg.perm.mode & I.SHM_DEST and self.nattch(seg) == 0:
                self._destroy(seg)

    def _destroy(self, seg):
        self.registry.remove(seg)
        self.total_pages -= page_round_up(seg.size) // PAGE_SIZE
        seg.file.dec_ref()
        seg.file_ro.dec_ref()

    def _remove(self, seg):
        """IPC_RMID: gone now if unattached, else at the last detach (its key is free at once)."""
        if self.nattch(seg) == 0:
            self._destroy(seg)
        else:
            seg.perm.mode |= I.SHM_DEST
            self.registry.forget_key(seg)

    # -- the syscalls ------------------------------------------------------------
    def shmget(self, task, key, size, flags):
        if flags & I.SHM_HUGETLB:
            raise SyscallError(EPERM if not task.creds.has_cap(CAP_IPC_LOCK) else ENOMEM)  # no hugetlbfs

        def create(perm, index):
            if size < I.SHMMIN or size > I.SHMMAX:
                raise SyscallError(EINVAL)
            pages = page_round_up(size) // PAGE_SIZE
            if self.total_pages + pages > I.SHMALL // PAGE_SIZE:
                raise SyscallError(ENOSPC)
            from snakevisor.sentry.fsimpl.memfd import new_unlinked_file, open_description
            name = b"/SYSV%08x (deleted)" % (perm.key & 0xFFFFFFFF)
            file = new_unlinked_file(self.kernel.memory_file, name, perm.mode, perm.uid, perm.gid, O_RDWR)
            try:
                file.vd.dentry.inode.truncate(size)
            except SyscallError:
                file.dec_ref()
                raise SyscallError(ENOMEM)
            file_ro = open_description(file.vd, O_RDONLY)
            self.total_pages += pages
            return Segment(perm, index, size, file, file_ro, task.tg.tgid)

        def check_existing(seg):
            if seg.size < size:
                raise SyscallError(EINVAL)

        self.reap()
        return self.registry.get(task, key, flags, create, check_existing).id

    def shmat(self, task, shmid, addr, flags):
        shmlba = I.SHMLBA
        if addr & (shmlba - 1):
            if not flags & I.SHM_RND:
                raise SyscallError(EINVAL)
            addr &= ~(shmlba - 1)
            if addr == 0 and flags & I.SHM_REMAP:
                raise SyscallError(EINVAL)
        if flags & I.SHM_RDONLY:
            prot, access = M.PROT_READ, S_IRUGO
        else:
            prot, access = M.PROT_READ | M.PROT_WRITE, S_IRUGO | S_IWUGO
        if flags & I.SHM_EXEC:
            prot |= M.PROT_EXEC
            access |= S_IXUGO
        seg = self.registry.lookup(shmid)
        seg.perm.check(task.creds, access)
        length = page_round_up(seg.size)
        map_flags = M.MAP_SHARED
        if addr:
            if addr + length > 1 << 47:
                raise SyscallError(EINVAL)
            if not flags & I.SHM_REMAP and not task.mm.vmas.is_free(addr, addr + length):
                raise SyscallError(EINVAL)
            map_flags |= M.MAP_FIXED
        elif flags & I.SHM_REMAP:
            raise SyscallError(EINVAL)
        file = seg.file_ro if flags & I.SHM_RDONLY else seg.file
        name = f"/SYSV{seg.perm.key & 0xFFFFFFFF:08x} (deleted)"
        # A read-only attachment never becomes writable (its file is not open for writing: no VM_MAYWRITE)
        start = task.mm.mmap(addr, length, prot, map_flags, file, 0, name=name,
                             maywrite=not flags & I.SHM_RDONLY)
        seg.atime = now()
        seg.lpid = task.tg.tgid
        return start

    def shmdt(self, task, addr):
        if addr & (PAGE_SIZE - 1):
            raise SyscallError(EINVAL)
        mm = task.mm
        first = mm.vmas.find(addr)
        if first is None or first.start != addr or first.file_off != 0:
            raise SyscallError(EINVAL)
        seg = next((s for s in self.registry.objects.values() if s.is_ours(first)), None)
        owner_file = first.file
        if seg is None:
            raise SyscallError(EINVAL)
        # Unmap the attachment: the run of this segment's VMAs that starts at addr.
        end = addr
        for v in mm.vmas.overlapping(addr, addr + page_round_up(seg.size)):
            if v.file is not owner_file or v.start != end:
                break
            end = v.end
        mm.munmap(addr, end - addr)
        seg.dtime = now()
        seg.lpid = task.tg.tgid
        self.reap()
        return 0

    def shmctl(self, task, shmid, cmd, buf):
        self.reap()
        if cmd == I.IPC_INFO:
            task.mm.copy_out(buf, I.SHMINFO64.pack(I.SHMMAX, I.SHMMIN, I.SHMMNI, I.SHMSEG, I.SHMALL, 0, 0, 0, 0))
            return self.registry.max_index()
        if cmd == I.SHM_INFO:
            segs = list(self.registry)
            tot = sum(page_round_up(s.size) // PAGE_SIZE for s in segs)
            rss = sum(len(s.file.vd.dentry.inode.cache.chunks) for s in segs) * 16   # 64 KiB chunks in pages
            task.mm.copy_out(buf, I.SHM_INFO_STRUCT.pack(len(segs), tot, rss, 0, 0, 0))
            return self.registry.max_index()
        done, seg = self.registry.common_ctl(task, shmid, cmd, buf, (I.SHM_STAT, I.SHM_STAT_ANY), self._pack,
                                             self._remove, I.SHMID64_DS)
        if seg is None:
            return done
        if cmd in (I.SHM_LOCK, I.SHM_UNLOCK):
            if not task.creds.has_cap(CAP_IPC_LOCK):
                if task.creds.euid not in (seg.perm.uid, seg.perm.cuid):
                    raise SyscallError(EPERM)
                if cmd == I.SHM_LOCK and task.limits.get(RLIMIT_MEMLOCK, (0, 0))[0] == 0:
                    raise SyscallError(EPERM)
            if cmd == I.SHM_LOCK:
                seg.perm.mode |= I.SHM_LOCKED
            else:
                seg.perm.mode &= ~I.SHM_LOCKED
            return 0
        raise SyscallError(EINVAL)

    def _pack(self, seg):
        return I.SHMID64_DS.pack(seg.perm.pack(), seg.size, seg.atime, seg.dtime, seg.ctime, seg.cpid,
                                 seg.lpid, self.nattch(seg), 0, 0)

    def proc_lines(self):
        """/proc/sysvipc/shm."""
        self.reap()
        out = ["       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid"
               "      atime      dtime      ctime                   rss                  swap\n"]
        for s in self.registry:
            p = s.perm
            rss = len(s.file.vd.dentry.inode.cache.chunks) * 65536
            out.append(f"{p.key:10d} {s.id:10d}  {p.mode & 0o7777:4o} {s.size:21d} {s.cpid:5d} {s.lpid:5d}  "
                       f"{self.nattch(s):5d} {p.uid:5d} {p.gid:5d} {p.cuid:5d} {p.cgid:5d} {s.atime:10d} "
                       f"{s.dtime:10d} {s.ctime:10d} {min(rss, page_round_up(s.size)):21d} {0:21d}\n")
        return "".join(out)

