"""Memory syscalls: brk, mmap, munmap, mprotect, mremap, madvise, memory locks (over mm/mlock.py), msync and mincore."""
from snakevisor.abi import mm as M
from snakevisor.abi.errno import (EACCES, EAGAIN, EBADF, EBUSY, EINVAL, ENAMETOOLONG, ENODEV, ENOMEM, EOPNOTSUPP,
                                  EOVERFLOW, EPERM, SyscallError)
from snakevisor.abi.sched import READ_IMPLIES_EXEC
from snakevisor.abi.fs import LOFF_MAX, MS_NOEXEC, O_ACCMODE, O_CLOEXEC, O_PATH, O_RDONLY, O_WRONLY, to_s32
from snakevisor.sentry.mm import mlock as mlock_, mseal as mseal_, procmaps, vmlimits
from snakevisor.sentry.mm.memoryfile import PAGE_SIZE, page_round_up
from snakevisor.sentry.mm.vma import FILE, HOST
from snakevisor.sentry.syscalls import aio
from snakevisor.sentry.syscalls.newfd import install_new


# Flags MAP_SHARED_VALIDATE accepts (Linux's LEGACY_MAP_MASK plus MAP_SYNC).
VALIDATE_KNOWN = (M.MAP_TYPE | M.MAP_FIXED | M.MAP_ANONYMOUS | M.MAP_DENYWRITE | M.MAP_EXECUTABLE
                  | 0x4000000 | M.MAP_GROWSDOWN | M.MAP_LOCKED | M.MAP_NORESERVE | M.MAP_POPULATE
                  | M.MAP_NONBLOCK | M.MAP_STACK | M.MAP_HUGETLB | M.MAP_SYNC | M.MAP_FIXED_NOREPLACE
                  | (0x3F << 26))


def brk(t, addr):
    mm = t.mm
    if mm.def_locked and addr > mm.brk_end and \
            not mlock_.future_ok(t, page_round_up(addr) - page_round_up(mm.brk_end), mm.def_locked):
        return mm.brk_end   # mlockall(MCL_FUTURE) past RLIMIT_MEMLOCK: the break stays
    if not vmlimits.brk_allowed(t, addr):
        return mm.brk_end   # past RLIMIT_DATA or RLIMIT_AS: the break stays too
    return mm.brk(addr)


def mmap(t, addr, length, prot, flags, fd, offset):
    """Linux's checks in its order: the offset's alignment, the descriptor (ksys_mmap_pgoff takes
    the file first), the length, the offsets, then do_mmap's map type and file access checks."""
    flags &= 0xFFFFFFFF
    prot &= 0xFFFFFFFF
    if offset & (PAGE_SIZE - 1):
        raise SyscallError(EINVAL)
    file = None if flags & M.MAP_ANONYMOUS else _mapped_file(t, fd)
    if length == 0:
        raise SyscallError(EINVAL)
    if page_round_up(length) >= 1 << 64 or page_round_up(length) == 0:
        raise SyscallError(ENOMEM)
    if file is not None and offset + page_round_up(length) > LOFF_MAX:
        raise SyscallError(EOVERFLOW)   # file_mmap_ok: the mapping must end within a file's largest size
    _check_map_type(flags, file)
    # READ_IMPLIES_EXEC: readable is executable too, but for a file on a noexec mount (below)
    implied = t.tg.personality & READ_IMPLIES_EXEC and prot & M.PROT_READ and not prot & M.PROT_EXEC
    if implied:
        prot |= M.PROT_EXEC
    maywrite = mayexec = True
    if file is not None:
        prot, maywrite, mayexec = _file_access(file, prot, flags, implied)
    vmlimits.check_mmap(t, addr, length, prot, flags)
    if file is not None and getattr(file.impl, "anonymous_mapping", False):
        # /dev/zero: a private mapping is anonymous memory, a shared one shared anonymous
        # memory (Linux's shmem_zero_setup), after the same access checks as any file.
        return t.mm.mmap(addr, length, prot, flags | M.MAP_ANONYMOUS, None, 0, name="", maywrite=maywrite,
                         mayexec=mayexec, locked=mlock_.check_new_mapping(t, length, flags & M.MAP_LOCKED))
    name = t.kernel.path_for_maps(t, file) if file is not None else ""
    shared = flags & M.MAP_TYPE != M.MAP_PRIVATE
    secret = file is not None and getattr(file.inode, "secret", False)
    if secret and not shared:
        raise SyscallError(EINVAL)   # secretmem maps shared only, and always locked
    locked = mlock_.check_new_mapping(t, length, flags & M.MAP_LOCKED, secret)
    return t.mm.mmap(addr, length, prot, flags, file, offset, name=name,
                     maywrite=maywrite, mayexec=mayexec, locked=locked)


def _mapped_file(t, fd):
    """The file to map: EBADF for a bad descriptor or an O_PATH one (fget refuses those)."""
    file = t.fdtable.get(to_s32(fd))
    if file.flags & O_PATH:
        raise SyscallError(EBADF)
    return file


def _check_map_type(flags, file):
    """do_mmap's switch on the map type: MAP_SHARED_VALIDATE is for files only (its unknown flags
    EOPNOTSUPP), anything but the known types EINVAL, before any access check."""
    map_type = flags & M.MAP_TYPE
    if file is None:
        if map_type not in (M.MAP_SHARED, M.MAP_PRIVATE) or \
                (map_type == M.MAP_SHARED and flags & M.MAP_GROWSDOWN):
            raise SyscallError(EINVAL)
        return
    if map_type not in (M.MAP_SHARED, M.MAP_PRIVATE, M.MAP_SHARED_VALIDATE):
        raise SyscallError(EINVAL)
    if map_type == M.MAP_SHARED_VALIDATE and flags & ~VALIDATE_KNOWN:
        raise SyscallError(EOPNOTSUPP)


def _file_access(file, prot, flags, implied):
    """do_mmap's access checks for a file: (prot, may write, may exec). A shared mapping of a
    file not open for writing can never be written (VM_MAYWRITE), nor one of a write-sealed
    memfd; a file on a noexec mount is never executable (VM_MAYEXEC)."""
    mode = file.flags & O_ACCMODE
    shared = flags & M.MAP_TYPE != M.MAP_PRIVATE
    if shared and prot & M.PROT_WRITE and mode == O_RDONLY:
        raise SyscallError(EACCES)
    if mode == O_WRONLY:
        raise SyscallError(EACCES)
    maywrite = mayexec = True
    if file.vd.mount.flags & MS_NOEXEC:
        if implied:
            prot &= ~M.PROT_EXEC
        elif prot & M.PROT_EXEC:
            raise SyscallError(EPERM)
        mayexec = False
    if getattr(file.impl, "anonymous_mapping", False):
        return prot, not shared or mode != O_RDONLY, mayexec
    try:
        mappable = file.mappable()
    except SyscallError:
        raise SyscallError(ENODEV)
    if shared:
        maywrite = mode != O_RDONLY
        if mappable.write_sealed:
            if prot & M.PROT_WRITE:
                raise SyscallError(EPERM)
            maywrite = False
    return prot, maywrite, mayexec


def munmap(t, addr, length):
    return t.mm.munmap(addr, length)


def mprotect(t, addr, length, prot):
    prot &= 0xFFFFFFFF
    if t.tg.personality & READ_IMPLIES_EXEC and prot & M.PROT_READ and length and not addr & (PAGE_SIZE - 1):
        # Executable too where the mapping may be (VM_MAYEXEC); a range reaching a file on a
        # noexec mount is left as asked (Linux would add PROT_EXEC to its other mappings).
        if all(v.mayexec for v in t.mm.vmas.overlapping(addr, addr + page_round_up(length))):
            prot |= M.PROT_EXEC
    return t.mm.mprotect(addr, length, prot)


def mremap(t, old, old_len, new_len, flags, new_addr):
    v = t.mm.vmas.find(old)
    if v is not None and v.locked and new_len > old_len and not mlock_.future_ok(t, new_len - old_len, v.locked):
        raise SyscallError(EAGAIN)   # vma_to_resize: a locked mapping grows within RLIMIT_MEMLOCK
    if v is not None and new_len > old_len and not vmlimits.may_expand(t, page_round_up(new_len) - page_round_up(old_len),
                                                                       vmlimits.is_data(v.prot, v.shared, v.name)):
        raise SyscallError(ENOMEM)   # vma_to_resize's may_expand_vm
    ring = aio.ring_remap(t, old, page_round_up(old_len), page_round_up(new_len))
    dest = t.mm.mremap(old, old_len, new_len, flags & 0xFFFFFFFF, new_addr)
    if ring is not None:
        aio.ring_moved(t, old, dest)
    return dest


def madvise(t, addr, length, advice):
    return t.mm.madvise(addr, length, to_s32(advice))


def mlock(t, addr, length):
    return mlock_.mlock(t, addr, length, 0)


def mlock2(t, addr, length, flags):
    return mlock_.mlock(t, addr, length, flags)


def munlock(t, addr, length):
    return mlock_.munlock(t, addr, length)


def mlockall(t, flags):
    return mlock_.mlockall(t, flags)


def munlockall(t):
    return mlock_.munlockall(t)


def mseal(t, addr, length, flags):
    return mseal_.mseal(t.mm, addr, length, flags)


def msync(t, addr, length, flags):
    if addr % PAGE_SIZE or flags & ~(M.MS_ASYNC | M.MS_INVALIDATE | M.MS_SYNC) or \
            (flags & M.MS_ASYNC and flags & M.MS_SYNC):
        raise SyscallError(EINVAL)
    if flags & M.MS_INVALIDATE and any(v.locked for v in t.mm.vmas.overlapping(addr, addr + length)):
        raise SyscallError(EBUSY)   # locked pages cannot be invalidated (before the ENOMEM of a hole)
    _check_mapped(t, addr, length)
    for v in t.mm.vmas.overlapping(addr, addr + length):
        if v.shared and v.kind == FILE:
            v.owner.writeback()  # shared file pages reach the file (the gofer writes them to the host)
        elif v.kind == HOST and flags & M.MS_SYNC:
            v.owner.datasync()   # the host's own pages: to its storage, as Linux's vfs_fsync_range(datasync)
    return 0


def mincore(t, addr, length, vec):
    if addr % PAGE_SIZE:
        raise SyscallError(EINVAL)
    _check_mapped(t, addr, length)
    t.mm.copy_out(vec, bytes(procmaps.resident_pages(t.mm, addr, addr + page_round_up(length))))
    return 0


def _check_mapped(t, addr, length):
    start = addr & ~(PAGE_SIZE - 1)
    end = page_round_up(addr + length)
    if not t.mm.vmas.covered(start, end):
        raise SyscallError(ENOMEM)
    return 0


def memfd_secret(t, flags):
    from snakevisor.sentry.fsimpl.memfd import new_secretmem
    if flags & ~O_CLOEXEC:
        raise SyscallError(EINVAL)
    return install_new(t, new_secretmem(t.kernel.memory_file, t.creds), bool(flags & O_CLOEXEC))


def memfd_create(t, name_ptr, flags):
    from snakevisor.sentry.fsimpl.memfd import MFD_CLOEXEC, MFD_NAME_MAX, new_memfd
    try:
        name = t.mm.read_cstring(name_ptr, MFD_NAME_MAX)
    except SyscallError as e:
        raise SyscallError(EINVAL if e.errno == ENAMETOOLONG else e.errno)
    flags = flags & 0xFFFFFFFF
    f = new_memfd(t.kernel.memory_file, name, flags, t.creds)
    return install_new(t, f, bool(flags & MFD_CLOEXEC))
