"""memfd_create: an unlinked tmpfs file on an internal mount ("/memfd:NAME (deleted)"), with seals;
memfd_secret: one that can only be sized once and mapped shared (locked), never read or written."""
from snakevisor.abi.errno import EINVAL, EOPNOTSUPP, SyscallError
from snakevisor.abi.fs import (MFD_ALLOW_SEALING, MFD_CLOEXEC, MFD_EXEC, MFD_NAME_MAX, MFD_NOEXEC_SEAL,
                               O_LARGEFILE, O_RDWR, S_IFREG)
from snakevisor.sentry.fsimpl.tmpfs import F_SEAL_SEAL, TmpfsFile, TmpfsFileImpl, TmpfsFilesystem
from snakevisor.sentry.vfs.dentry import Dentry
from snakevisor.sentry.vfs.file import FileDescription
from snakevisor.sentry.vfs.mount import VirtualDentry, anonymous_mount


_fs = None
_mount = None


def new_unlinked_file(memory_file, name: bytes, mode: int, uid: int, gid: int, flags: int,
                      inode_class=TmpfsFile) -> FileDescription:
    """A description (opened with ``flags``) of a new, already unlinked regular file of the
    internal tmpfs, whose Dentry is named ``name`` (what /proc/PID/maps and fd links show).
    memfd_create and System V shared memory segments are such files."""
    global _fs, _mount
    if _fs is None or _fs.memory_file is not memory_file:
        _fs = TmpfsFilesystem(memory_file)
        _mount = anonymous_mount(_fs)
    inode = inode_class(_fs, S_IFREG | mode & 0o7777, uid, gid)
    inode.nlink = 0
    dentry = Dentry(inode, name)
    dentry.dead = True
    return open_description(VirtualDentry(_mount, dentry), flags)


def open_description(vd, flags: int) -> FileDescription:
    """Another open file description of the file at ``vd``. Like Linux's pseudo files
    (alloc_file_pseudo), it takes no write access: a memfd open for writing can still be executed
    (runc's and snakevisor's own stubs run from one); opening a running one for writing by path
    (/proc/self/fd/N) is still ETXTBSY."""
    return FileDescription(vd.dentry.inode.open(None, flags), vd, flags | O_LARGEFILE, write_access=False)


def new_memfd(memory_file, name: bytes, flags: int, creds=None) -> FileDescription:
    if flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL | MFD_EXEC) or len(name) > MFD_NAME_MAX:
        raise SyscallError(EINVAL)   # MFD_HUGETLB: no hugetlbfs here
    if flags & MFD_NOEXEC_SEAL and flags & MFD_EXEC:
        raise SyscallError(EINVAL)
    mode = 0o666 if flags & MFD_NOEXEC_SEAL else 0o777
    uid = getattr(creds, "fsuid", 0) if creds is not None else 0
    gid = getattr(creds, "fsgid", 0) if creds is not None else 0
    file = new_unlinked_file(memory_file, b"/memfd:" + name + b" (deleted)", mode, uid, gid, O_RDWR)
    inode = file.vd.dentry.inode
    inode.seals = 0 if flags & (MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL) else F_SEAL_SEAL
    if flags & MFD_NOEXEC_SEAL:
        inode.seals |= 0x20   # F_SEAL_EXEC
    return file


class SecretMemFile(TmpfsFile):
    """mm/secretmem.c's inode: sized once (a later size change is EINVAL), its pages reachable
    only through shared mappings, which are locked (VM_LOCKED, charged to RLIMIT_MEMLOCK).
    The Sentry still maps them, as all application memory: what Linux adds by removing them
    from its direct map has no counterpart here."""
    secret = True
    direct_io = False   # (secretmem_fops has no O_DIRECT)

    def setattr(self, *, size=None, **kw):
        if size is not None and self.size:
            raise SyscallError(EINVAL)
        super().setattr(size=size, **kw)

    def open(self, task, flags):
        return SecretMemImpl(self)


class SecretMemImpl(TmpfsFileImpl):
    """secretmem's file operations are mmap alone: no read, write, seek, fsync or fallocate."""
    seekable = False
    copy_read = None   # (large reads too)

    def read(self, task, n, offset):
        raise SyscallError(EINVAL)

    def write(self, task, data, offset):
        raise SyscallError(EINVAL)

    def allocate(self, mode, offset, length):
        raise SyscallError(EOPNOTSUPP)

    def fsync(self):
        raise SyscallError(EINVAL)

    def fcntl(self, task, cmd, arg):
        raise SyscallError(EINVAL)


def new_secretmem(memory_file, creds) -> FileDescription:
    return new_unlinked_file(memory_file, b"/secretmem (deleted)", 0o600, creds.fsuid, creds.fsgid, O_RDWR,
                             inode_class=SecretMemFile)
