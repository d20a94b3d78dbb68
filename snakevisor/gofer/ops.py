"""What each 9P2000.L request does to the host file tree: the Gofer's file server.

Handlers are plain functions ``handler(sess, msg, *fid_states) -> reply``;
``HANDLERS`` maps a request class to (handler, names of its fid fields).  The
server (gofer/server.py) acquires those fids, runs the handler inline or in a
worker thread, and turns a raised error into Rlerror.  Handlers that change the
fid table (attach, walk, clunk, remove) always run on the event loop thread.

Every path operation is relative to a fid's O_PATH descriptor and names one
component; symlinks are never followed, and ``..`` stops at the attach root.
"""
from __future__ import annotations

import os
import stat as S

from snakevisor.abi.errno import (E2BIG, EBADF, EBUSY, EEXIST, EINVAL, EISDIR, ELOOP, ENOENT, ENOTDIR,
                                  EOPNOTSUPP, EPERM, EROFS, SyscallError)
from snakevisor.abi.fs import RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT, UTIME_NOW, UTIME_OMIT, XATTR_SIZE_MAX
from snakevisor.hostio import birth_time_ns, pread_full, pwrite_full
from snakevisor.p9 import constants as C
from snakevisor.p9 import messages as M
from snakevisor.p9.messages import Qid, dirent_size, encode_dirents

from .fids import IDLE_PATHS, FidState, FidTable, XattrState
from .hostfs import QidPaths, dtype_of_mode, fstatfs, proc_path, to_u64, utimens
from .hostfs import renameat2 as host_renameat2
from .watches import Watches

_O_PATH_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
# lopen flags passed through to the host; the rest are the Sentry's business
# (O_CREAT/O_EXCL are Tlcreate's, O_NOFOLLOW would refuse the /proc magic link).
_PASS_FLAGS = (os.O_ACCMODE | os.O_TRUNC | os.O_APPEND | os.O_DIRECTORY | os.O_DSYNC |
               os.O_SYNC | os.O_NONBLOCK)
_WRITE_ACCESS = (os.O_WRONLY, os.O_RDWR)
_RENAME_FLAGS = RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT


class Session:
    """Per-connection state: the attach root, negotiated options, the fids."""

    def __init__(self, root_fd: int, readonly: bool):
        self.root_fd = root_fd
        st = os.fstat(root_fd)
        self.root_id = (st.st_dev, st.st_ino)
        self.readonly = readonly
        self.donation = False
        self.directfs = True   # Twalkfd allowed (with the dialect); the Gofer's --directfs
        self.image_usage = None   # an overlay root's lower layer (statfs), counted as used space
        self.watches = None       # watches.Watches once the Sentry asked for it (Tnotifyfd)
        self.msize = C.DEFAULT_MSIZE
        self.fids = FidTable(walk=lambda names: _walk_from_root(self, names), root=self.root_id)
        self.qids = QidPaths()
        self.qids.path(st.st_dev, st.st_ino)   # the root's device keeps plain inode numbers

    def qid_of(self, st: os.stat_result) -> Qid:
        return self.qids.qid(st)

    def check_writable(self):
        if self.readonly:
            raise SyscallError(EROFS)


# ------------------------------------------------------------------ helpers

def _check_name(name: bytes) -> bytes:
    """A single path component naming a child (not . or ..)."""
    if b"/" in name or b"\0" in name:
        raise SyscallError(EINVAL)
    if name in (b"", b"."):
        raise SyscallError(ENOENT)
    if name == b"..":
        raise SyscallError(EINVAL)
    if len(name) > 255:
        raise SyscallError(EINVAL)
    return name


def _new_name(name: bytes) -> bytes:
    """A name to create: existing . and .. give EEXIST as Linux does."""
    if name in (b".", b".."):
        raise SyscallError(EEXIST)
    return _check_name(name)


def _qid_at(sess: Session, dirfd: int, name: bytes) -> Qid:
    return sess.qid_of(os.stat(name, dir_fd=dirfd, follow_symlinks=False))


def _set_gid(dirfd: int, name: bytes, gid: int):
    """Give a new file the group the client asked for (best effort when unprivileged); an empty
    ``name``: the file open on ``dirfd``."""
    if gid != os.getegid():
        try:
            if name:
                os.chown(name, -1, gid, dir_fd=dirfd, follow_symlinks=False)
            else:
                os.fchown(dirfd, -1, gid)
        except PermissionError:
            pass


def _require_open(st: FidState) -> int:
    if st.open_fd is None:
        raise SyscallError(EBADF)
    return st.open_fd


def _walk_from_root(sess: Session, names) -> int:
    """An O_PATH descriptor of root/names..., one component at a time, never following symlinks."""
    fd = os.dup(sess.root_fd)
    try:
        for name in names:
            nfd = os.open(name, _O_PATH_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = nfd
        return fd
    except BaseException:
        os.close(fd)
        raise


def _parent_of(sess: Session, st: FidState) -> tuple[int, bytes]:
    """An O_PATH descriptor of the fid's parent and its name there.

    Re-resolved from the root one component at a time, then checked to still
    be the same object (the fid's recorded names may be stale after a rename).
    """
    if not st.names:
        raise SyscallError(EBUSY)
    fd = _walk_from_root(sess, st.names[:-1])
    try:
        a = os.stat(st.names[-1], dir_fd=fd, follow_symlinks=False)
        b = os.fstat(st.path_fd)
        if (a.st_dev, a.st_ino) != (b.st_dev, b.st_ino):
            raise SyscallError(ENOENT)
        return fd, st.names[-1]
    except BaseException:
        os.close(fd)
        raise


# ------------------------------------------------------------------ session

def attach(sess: Session, m: M.Tattach):
    if m.afid != C.NOFID:
        raise SyscallError(EINVAL)   # no authentication
    if m.fid in sess.fids or m.fid == C.NOFID:
        raise SyscallError(EBADF)
    fd = os.dup(sess.root_fd)
    qid = sess.qid_of(os.fstat(fd))
    sess.fids.install(m.fid, FidState(fd, qid, ()))
    return M.Rattach(tag=m.tag, qid=qid)


def _walk_names(sess: Session, st: FidState, wnames):
    """Walk ``wnames`` from ``st``: (O_PATH descriptor of the last one reached (the caller
    closes it), qids, names from the root). Only the first name's failure raises; a later
    one ends the walk early (fewer qids than names)."""
    names = st.names
    cur = os.dup(st.path_fd)
    qids = []
    try:
        for i, name in enumerate(wnames):
            try:
                if name == b"..":
                    # Not the host's "..": the parent is re-walked from the attach root
                    # by the names that led here, so a directory moved out from under the
                    # root (or a fid opened before such a move) cannot lead above it.
                    names = names[:-1]
                    nfd = _walk_from_root(sess, names)
                else:
                    nfd = os.open(_check_name(name), _O_PATH_FLAGS, dir_fd=cur)
                    names = names + (name,)
                try:
                    qid = sess.qid_of(os.fstat(nfd))
                except BaseException:
                    os.close(nfd)
                    raise
            except (OSError, SyscallError):
                if i == 0:
                    raise
                break
            os.close(cur)
            cur = nfd
            qids.append(qid)
    except BaseException:
        os.close(cur)
        raise
    return cur, qids, names


def _walk_bind(sess: Session, m, st: FidState):
    """Twalk's work: the qids walked and the new fid's state (None after a partial walk)."""
    if m.newfid != m.fid and (m.newfid in sess.fids or m.newfid == C.NOFID):
        raise SyscallError(EBADF)
    cur, qids, names = _walk_names(sess, st, m.wnames)
    if len(qids) < len(m.wnames):
        os.close(cur)
        return tuple(qids), None   # partial walk: newfid not bound
    new = FidState(cur, qids[-1] if qids else st.qid, names)
    try:
        sess.fids.install(m.newfid, new)
    except BaseException:
        os.close(cur)
        raise
    return tuple(qids), new


def walk(sess: Session, m: M.Twalk, st: FidState):
    return M.Rwalk(tag=m.tag, qids=_walk_bind(sess, m, st)[0])


def walkfd(sess: Session, m: M.Twalkfd, st: FidState):
    """directfs (the snakevisor dialect): a Twalk that donates the new fid's O_PATH|O_NOFOLLOW
    descriptor (a capability to that one file or directory of this mount; the Sentry resolves
    below it one component at a time, never following a symlink)."""
    if not (sess.donation and sess.directfs):
        raise SyscallError(EINVAL)   # a Sentry without directfs gets no O_PATH descriptors
    qids, new = _walk_bind(sess, m, st)
    if new is None:
        return M.Rwalkfd(tag=m.tag, qids=qids, fd=None)
    wd = sess.watches.watch(new.path_fd) if sess.watches is not None and new.qid.type & C.QTDIR else 0
    return M.Rwalkfd(tag=m.tag, qids=qids, fd=new.path_fd, wd=wd)


def notifyfd(sess: Session, m: M.Tnotifyfd, st: FidState):
    """directfs on a shared mount: the mount's inotify instance (watches.py), made on the first
    ask; from then on each Rwalkfd of a directory names its watch."""
    if not (sess.donation and sess.directfs):
        raise SyscallError(EINVAL)
    if sess.watches is None:
        sess.watches = Watches()
    return M.Rnotifyfd(tag=m.tag, fd=sess.watches.fd)


def walkqids(sess: Session, m: M.Twalkqids, st: FidState):
    if not sess.donation:   # the snakevisor dialect only
        raise SyscallError(EINVAL)
    cur, qids, _ = _walk_names(sess, st, m.wnames)
    os.close(cur)
    return M.Rwalkqids(tag=m.tag, qids=tuple(qids))


def clunk(sess: Session, m: M.Tclunk):
    st = sess.fids.acquire(m.fid, reopen=False)      # EBADF if unknown
    try:
        x = st.xattr
        if x is not None and x.writing:
            st.xattr = None
            _commit_xattr(sess, st, x)     # the fid goes even if storing fails (9P)
    finally:
        st.release()
        if m.fid in sess.fids:
            sess.fids.remove(m.fid)
    return M.Rclunk(tag=m.tag)


def remove(sess: Session, m: M.Tremove, st: FidState):
    try:
        sess.check_writable()
        dirfd, name = _parent_of(sess, st)
        IDLE_PATHS.reopen(sess.root_id, st.names)
        try:
            if st.qid.type & C.QTDIR:
                os.rmdir(name, dir_fd=dirfd)
            else:
                os.unlink(name, dir_fd=dirfd)
        finally:
            os.close(dirfd)
    finally:
        # 9P: Tremove clunks the fid even when the removal fails.
        if m.fid in sess.fids:
            sess.fids.remove(m.fid)
    return M.Rremove(tag=m.tag)


# ------------------------------------------------------------------ attributes

def getattr_(sess: Session, m: M.Tgetattr, st: FidState):
    s = os.stat(st.path_fd)
    btime = birth_time_ns(st.path_fd)   # given whenever the host records it, asked for or not
    return M.Rgetattr(
        tag=m.tag, valid=C.GETATTR_BASIC | (C.GETATTR_BTIME if btime is not None else 0), qid=sess.qid_of(s),
        mode=s.st_mode, uid=s.st_uid, gid=s.st_gid, nlink=s.st_nlink, rdev=s.st_rdev, size=s.st_size,
        blksize=s.st_blksize, blocks=s.st_blocks,
        atime_sec=to_u64(s.st_atime_ns // 1_000_000_000), atime_nsec=s.st_atime_ns % 1_000_000_000,
        mtime_sec=to_u64(s.st_mtime_ns // 1_000_000_000), mtime_nsec=s.st_mtime_ns % 1_000_000_000,
        ctime_sec=to_u64(s.st_ctime_ns // 1_000_000_000), ctime_nsec=s.st_ctime_ns % 1_000_000_000,
        btime_sec=to_u64((btime or 0) // 1_000_000_000), btime_nsec=(btime or 0) % 1_000_000_000)


def setattr_(sess: Session, m: M.Tsetattr, st: FidState):
    sess.check_writable()
    path = proc_path(st.path_fd)
    v = m.valid
    is_link = bool(st.qid.type & C.QTSYMLINK)
    # chown before chmod: chown clears set-ID bits, a mode given with it is the final one.
    if v & (C.SETATTR_UID | C.SETATTR_GID):
        os.chown(path, m.uid if v & C.SETATTR_UID else -1, m.gid if v & C.SETATTR_GID else -1)
    elif v == C.SETATTR_CTIME:   # nothing but the change time: what a chown to -1, -1 changes
        os.chown(path, -1, -1)
    if v & C.SETATTR_MODE:
        if is_link:
            raise SyscallError(EOPNOTSUPP)
        os.chmod(path, m.mode & 0o7777)
    if v & C.SETATTR_SIZE:
        if st.qid.type & C.QTDIR:
            raise SyscallError(EISDIR)
        if is_link:
            raise SyscallError(EINVAL)
        if st.open_fd is not None and st.open_flags & os.O_ACCMODE in _WRITE_ACCESS:
            os.ftruncate(st.open_fd, m.size)
        else:
            os.truncate(path, m.size)
    if v & (C.SETATTR_ATIME | C.SETATTR_MTIME):
        # (A symlink's times too: the magic link names the symlink itself, never its target.)
        def ts(bit, setbit, sec, nsec):
            if not v & bit:
                return (0, UTIME_OMIT)
            if v & setbit:
                if nsec >= 1_000_000_000:
                    raise SyscallError(EINVAL)
                return (sec - (1 << 64) if sec >= 1 << 63 else sec, nsec)
            return (0, UTIME_NOW)

        utimens(path, ts(C.SETATTR_ATIME, C.SETATTR_ATIME_SET, m.atime_sec, m.atime_nsec),
                ts(C.SETATTR_MTIME, C.SETATTR_MTIME_SET, m.mtime_sec, m.mtime_nsec))
    return M.Rsetattr(tag=m.tag)


def statfs(sess: Session, m: M.Tstatfs, st: FidState):
    s = fstatfs(st.path_fd)
    fsid = (s.f_fsid[0] & 0xFFFFFFFF) | ((s.f_fsid[1] & 0xFFFFFFFF) << 32)
    blocks, files = s.f_blocks, s.f_files
    image = sess.image_usage
    if image is not None:
        # An overlay's statfs is its upper layer's (Linux's ovl_statfs): a scratch tmpfs, empty
        # at first, would show a root with nothing used (df 0%, disk_usage().used == 0). The
        # image's used space and files count as used, its free space does not: writes go to the
        # upper layer (isolation.isolate leaves image_usage None for an upper on the image's
        # own filesystem, which counts them already).
        blocks += (image.f_blocks - image.f_bfree) * image.f_bsize // max(s.f_bsize, 1)
        files += image.f_files - image.f_ffree
    return M.Rstatfs(tag=m.tag, type=s.f_type & 0xFFFFFFFF, bsize=s.f_bsize & 0xFFFFFFFF,
                     blocks=blocks, bfree=s.f_bfree, bavail=s.f_bavail, files=files,
                     ffree=s.f_ffree, fsid=fsid, namelen=s.f_namelen & 0xFFFFFFFF)


def readlink(sess: Session, m: M.Treadlink, st: FidState):
    if not st.qid.type & C.QTSYMLINK:
        raise SyscallError(EINVAL)
    return M.Rreadlink(tag=m.tag, target=os.readlink(b"", dir_fd=st.path_fd))


# ------------------------------------------------------------------ open files

def _host_open_flags(sess: Session, st: FidState, flags: int) -> int:
    acc = flags & os.O_ACCMODE
    if acc == C.DOTL_NOACCESS:
        raise SyscallError(EINVAL)
    if sess.readonly and (acc in _WRITE_ACCESS or flags & os.O_TRUNC):
        raise SyscallError(EROFS)
    if st.qid.type & C.QTSYMLINK:
        raise SyscallError(ELOOP)
    return (flags & _PASS_FLAGS) | os.O_CLOEXEC


def _donate(sess: Session, fd: int, mode: int) -> int | None:
    return fd if sess.donation and S.S_ISREG(mode) else None


def lopen(sess: Session, m: M.Tlopen, st: FidState):
    if st.is_open:
        raise SyscallError(EINVAL)
    flags = _host_open_flags(sess, st, m.flags)
    mode = os.fstat(st.path_fd).st_mode
    if S.S_ISDIR(mode):
        if flags & os.O_ACCMODE != os.O_RDONLY:
            raise SyscallError(EISDIR)
    elif not S.S_ISREG(mode):
        # FIFOs, sockets and devices are not opened by the Gofer (a FIFO's open blocks the
        # event loop until a peer comes; the Sentry keeps FIFOs itself). The check is on the
        # fid's own O_PATH descriptor, which the reopen below goes through: no race.
        raise SyscallError(EOPNOTSUPP)
    elif flags & os.O_DIRECTORY:
        raise SyscallError(ENOTDIR)
    fd = os.open(proc_path(st.path_fd), flags)
    st.open_fd, st.open_flags = fd, flags
    return M.Rlopen(tag=m.tag, qid=st.qid, iounit=0, fd=_donate(sess, fd, mode))


def lcreate(sess: Session, m: M.Tlcreate, st: FidState):
    sess.check_writable()
    if st.is_open:
        raise SyscallError(EINVAL)
    if not st.qid.type & C.QTDIR:
        raise SyscallError(ENOTDIR)
    acc = m.flags & os.O_ACCMODE
    if acc == C.DOTL_NOACCESS:
        raise SyscallError(EINVAL)
    if m.flags & C.DOTL_TMPFILE and sess.donation:
        return _lcreate_tmpfile(sess, m, st)
    name = _new_name(m.name)
    # Always O_EXCL, as gVisor's gofer: Tlcreate makes a new file (the Sentry sends it for a
    # name it knows is absent). Opening whatever already has the name would block the event
    # loop on a FIFO (its open waits for a peer) and open devices and sockets for the client.
    flags = ((m.flags & _PASS_FLAGS) & ~os.O_DIRECTORY) | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(name, flags, m.mode & 0o7777, dir_fd=st.path_fd)

    def path_fd():
        _set_gid(st.path_fd, name, m.gid)
        return os.open(name, _O_PATH_FLAGS, dir_fd=st.path_fd)
    return _become_created(sess, m, st, fd, flags, path_fd, st.names + (name,))


def _become_created(sess: Session, m: M.Tlcreate, st: FidState, fd: int, flags: int, path_fd, names):
    """The fid becomes the file just made and opened as ``fd``: its path descriptor from
    ``path_fd()`` (``fd`` is closed if that fails), its qid and its ``names`` (None: unnamed)."""
    try:
        pfd = path_fd()
    except BaseException:
        os.close(fd)
        raise
    s = os.fstat(fd)
    st.replace_path_fd(pfd)
    st.qid = sess.qid_of(s)
    if names is not None:
        IDLE_PATHS.set_names(st, names)
    st.open_fd, st.open_flags = fd, flags
    st.dirents = None
    return M.Rlcreate(tag=m.tag, qid=st.qid, iounit=0, fd=_donate(sess, fd, s.st_mode))


def _lcreate_tmpfile(sess: Session, m: M.Tlcreate, st: FidState):
    """An unnamed file in the fid's directory (the host's O_TMPFILE; O_EXCL: never to be linked),
    which the fid becomes. Its path descriptor goes through /proc (O_PATH without O_NOFOLLOW:
    the file, not the magic link); Tlink can give it a name while I_LINKABLE."""
    if m.name or m.flags & os.O_ACCMODE == os.O_RDONLY:
        raise SyscallError(EINVAL)
    flags = (m.flags & (os.O_ACCMODE | os.O_EXCL | os.O_APPEND | os.O_DSYNC | os.O_SYNC)) | os.O_TMPFILE | os.O_CLOEXEC
    fd = os.open(".", flags, m.mode & 0o7777, dir_fd=st.path_fd)

    def path_fd():
        _set_gid(fd, b"", m.gid)
        return os.open(proc_path(fd), os.O_PATH | os.O_CLOEXEC)
    return _become_created(sess, m, st, fd, flags, path_fd, None)


def read(sess: Session, m: M.Tread, st: FidState):
    if st.xattr is not None and not st.xattr.writing:
        count = min(m.count, sess.msize - C.READ_REPLY_OVERHEAD)
        return M.Rread(tag=m.tag, data=bytes(st.xattr.data[m.offset:m.offset + count]))
    fd = _require_open(st)
    if st.qid.type & C.QTDIR:
        raise SyscallError(EISDIR)
    count = min(m.count, sess.msize - C.READ_REPLY_OVERHEAD)
    return M.Rread(tag=m.tag, data=pread_full(fd, count, m.offset))


def write(sess: Session, m: M.Twrite, st: FidState):
    sess.check_writable()
    x = st.xattr
    if x is not None and x.writing:
        if m.offset != len(x.data) or len(x.data) + len(m.data) > x.size:
            raise SyscallError(EINVAL)
        x.data += m.data
        return M.Rwrite(tag=m.tag, count=len(m.data))
    fd = _require_open(st)
    return M.Rwrite(tag=m.tag, count=pwrite_full(fd, m.data, m.offset))


def _snapshot(sess: Session, fd: int) -> list:
    """All entries of an open directory (without . and ..), in host order."""
    out = []
    with os.scandir(fd) as it:
        for e in it:
            try:
                st = e.stat(follow_symlinks=False)   # the device too: qid paths need it
            except OSError:
                continue   # vanished meanwhile
            name = os.fsencode(e.name)
            out.append((name, sess.qid_of(st), dtype_of_mode(st.st_mode)))
    return out


def readdir(sess: Session, m: M.Treaddir, st: FidState):
    fd = _require_open(st)
    if not st.qid.type & C.QTDIR:
        raise SyscallError(ENOTDIR)
    # Offsets are indices into a snapshot taken at offset 0, so they stay
    # stable across calls on the same open fid.
    if m.offset == 0 or st.dirents is None:
        st.dirents = _snapshot(sess, fd)
    entries = st.dirents
    budget = min(m.count, sess.msize - C.READ_REPLY_OVERHEAD)
    out, used = [], 0
    i = m.offset
    while i < len(entries):
        name, qid, dtype = entries[i]
        size = dirent_size(name)
        if used + size > budget:
            break
        used += size
        i += 1
        out.append(M.DirEntry(qid, i, dtype, name))
    return M.Rreaddir(tag=m.tag, data=encode_dirents(out))


def fsync(sess: Session, m: M.Tfsync, st: FidState):
    fd = _require_open(st)
    (os.fdatasync if m.datasync else os.fsync)(fd)
    return M.Rfsync(tag=m.tag)


# ------------------------------------------------------------------ directory changes

def mkdir(sess: Session, m: M.Tmkdir, d: FidState):
    sess.check_writable()
    name = _new_name(m.name)
    os.mkdir(name, m.mode & 0o7777, dir_fd=d.path_fd)
    _set_gid(d.path_fd, name, m.gid)
    return M.Rmkdir(tag=m.tag, qid=_qid_at(sess, d.path_fd, name))


def symlink(sess: Session, m: M.Tsymlink, d: FidState):
    sess.check_writable()
    name = _new_name(m.name)
    if not m.symtgt or b"\0" in m.symtgt:
        raise SyscallError(ENOENT if not m.symtgt else EINVAL)
    os.symlink(m.symtgt, name, dir_fd=d.path_fd)
    _set_gid(d.path_fd, name, m.gid)
    return M.Rsymlink(tag=m.tag, qid=_qid_at(sess, d.path_fd, name))


def mknod(sess: Session, m: M.Tmknod, d: FidState):
    sess.check_writable()
    name = _new_name(m.name)
    fmt = S.S_IFMT(m.mode)
    whiteout = fmt == S.S_IFCHR and m.major == m.minor == 0     # which Linux lets anyone make
    if fmt in (S.S_IFCHR, S.S_IFBLK) and not whiteout:
        raise SyscallError(EPERM)     # no device nodes in the container's tree
    if fmt not in (0, S.S_IFREG, S.S_IFIFO, S.S_IFSOCK, S.S_IFCHR):
        raise SyscallError(EINVAL)
    os.mknod(name, (fmt or S.S_IFREG) | (m.mode & 0o7777), 0, dir_fd=d.path_fd)
    _set_gid(d.path_fd, name, m.gid)
    return M.Rmknod(tag=m.tag, qid=_qid_at(sess, d.path_fd, name))


def link(sess: Session, m: M.Tlink, d: FidState, target: FidState):
    sess.check_writable()
    name = _new_name(m.name)
    if target.qid.type & C.QTDIR:
        raise SyscallError(EPERM)
    os.link(proc_path(target.path_fd), name, dst_dir_fd=d.path_fd, follow_symlinks=True)
    return M.Rlink(tag=m.tag)


def _is_dir_at(dirfd: int, name: bytes) -> bool:
    try:
        return S.S_ISDIR(os.stat(name, dir_fd=dirfd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def renameat(sess: Session, m: M.Trenameat, old: FidState, new: FidState):
    _rename_at(sess, old, m.oldname, new, m.newname, 0)
    return M.Rrenameat(tag=m.tag)


def renameat2(sess: Session, m: M.Trenameat2, old: FidState, new: FidState):
    """The snakevisor dialect's renameat2: RENAME_NOREPLACE atomic on the host (no check-then-
    rename a host process could race), RENAME_EXCHANGE and RENAME_WHITEOUT at all (9P2000.L has
    neither). The host refuses what does not go together, or what its filesystem cannot do."""
    if not sess.donation:
        raise SyscallError(EOPNOTSUPP)
    if m.flags & ~_RENAME_FLAGS:
        raise SyscallError(EINVAL)
    _rename_at(sess, old, m.oldname, new, m.newname, m.flags)
    return M.Rrenameat2(tag=m.tag)


def _rename_at(sess: Session, old: FidState, oldname: bytes, new: FidState, newname: bytes, flags: int):
    """Rename one name in ``old``'s directory to one in ``new``'s by the host's renameat2, and
    keep IDLE_PATHS's names right: a replaced file's closed fids are reopened first (their
    name will not find them); an exchange swaps the two names' fids."""
    sess.check_writable()
    exchange = flags & RENAME_EXCHANGE
    oldname, newname = _check_name(oldname), (_check_name if exchange else _new_name)(newname)
    oldpath, newpath = old.names + (oldname,), new.names + (newname,)
    if not flags & (RENAME_NOREPLACE | RENAME_EXCHANGE):
        IDLE_PATHS.reopen(sess.root_id, newpath)     # replaced: no longer found by its name
    host_renameat2(old.path_fd, oldname, new.path_fd, newname, flags)
    moved_dir = _is_dir_at(new.path_fd, newname)
    if exchange:
        IDLE_PATHS.exchanged(sess.root_id, oldpath, newpath, moved_dir, _is_dir_at(old.path_fd, oldname))
    else:
        IDLE_PATHS.renamed(sess.root_id, oldpath, newpath, moved_dir)


def rename(sess: Session, m: M.Trename, st: FidState, d: FidState):
    sess.check_writable()
    newname = _new_name(m.name)
    dirfd, name = _parent_of(sess, st)
    try:
        IDLE_PATHS.reopen(sess.root_id, d.names + (newname,))
        os.rename(name, newname, src_dir_fd=dirfd, dst_dir_fd=d.path_fd)
        IDLE_PATHS.renamed(sess.root_id, st.names, d.names + (newname,), bool(st.qid.type & C.QTDIR))   # st's too
    finally:
        os.close(dirfd)
    return M.Rrename(tag=m.tag)


def unlinkat(sess: Session, m: M.Tunlinkat, d: FidState):
    sess.check_writable()
    name = _check_name(m.name)
    if m.flags & ~C.AT_REMOVEDIR:
        raise SyscallError(EINVAL)
    IDLE_PATHS.reopen(sess.root_id, d.names + (name,))     # an open file keeps its fid usable once unlinked
    if m.flags & C.AT_REMOVEDIR:
        os.rmdir(name, dir_fd=d.path_fd)
    else:
        os.unlink(name, dir_fd=d.path_fd)
    return M.Runlinkat(tag=m.tag)


# ------------------------------------------------------------------ locks and xattrs

def lock(sess: Session, m: M.Tlock, st: FidState):
    # POSIX locks are kept by the Sentry (vfs file locks); the Gofer agrees.
    return M.Rlock(tag=m.tag, status=C.LOCK_SUCCESS)


def getlock(sess: Session, m: M.Tgetlock, st: FidState):
    return M.Rgetlock(tag=m.tag, type=C.LOCK_TYPE_UNLCK, start=m.start, length=m.length,
                      proc_id=m.proc_id, client_id=m.client_id)


def _xattr_path(st: FidState) -> bytes:
    # Through the magic link, which names the object itself; a symlink's
    # link would be /proc's own, so symlinks have no attributes here.
    if st.qid.type & C.QTSYMLINK:
        raise SyscallError(EOPNOTSUPP)
    return proc_path(st.path_fd)


def xattrwalk(sess: Session, m: M.Txattrwalk, st: FidState):
    if m.newfid in sess.fids or m.newfid == C.NOFID:
        raise SyscallError(EBADF)
    path = _xattr_path(st)
    if m.name:
        data = os.getxattr(path, m.name)
    else:
        data = b"".join(os.fsencode(n) + b"\0" for n in os.listxattr(path))
    nst = FidState(os.dup(st.path_fd), st.qid, st.names)
    nst.xattr = XattrState(False, m.name, data)
    sess.fids.install(m.newfid, nst)
    return M.Rxattrwalk(tag=m.tag, size=len(data))


def xattrcreate(sess: Session, m: M.Txattrcreate, st: FidState):
    sess.check_writable()
    _xattr_path(st)
    if st.is_open or st.xattr is not None:
        raise SyscallError(EINVAL)
    if m.attr_size > XATTR_SIZE_MAX:
        raise SyscallError(E2BIG)
    allowed = os.XATTR_CREATE | os.XATTR_REPLACE | (C.XATTR_SET_EMPTY if sess.donation else 0)
    if not m.name or m.flags & ~allowed:
        raise SyscallError(EINVAL)
    st.xattr = XattrState(True, m.name, bytearray(), m.attr_size, m.flags)
    return M.Rxattrcreate(tag=m.tag)


def _commit_xattr(sess: Session, st: FidState, x: XattrState):
    """Tclunk of an xattrcreate fid: store the value (size 0 removes the attribute, unless
    XATTR_SET_EMPTY asks for an empty value)."""
    if len(x.data) != x.size:
        raise SyscallError(EINVAL)
    path = _xattr_path(st)
    if x.size == 0 and not x.flags & C.XATTR_SET_EMPTY:
        os.removexattr(path, x.name)
    else:
        os.setxattr(path, x.name, bytes(x.data), x.flags & (os.XATTR_CREATE | os.XATTR_REPLACE))


def unsupported(sess: Session, m, *states):
    raise SyscallError(EOPNOTSUPP)


# request class -> (handler, fid fields acquired for it, may run in a worker thread)
HANDLERS = {
    M.Tattach: (attach, (), False),
    M.Twalk: (walk, ("fid",), False),
    M.Twalkqids: (walkqids, ("fid",), False),
    M.Twalkfd: (walkfd, ("fid",), False),
    M.Tnotifyfd: (notifyfd, ("fid",), False),
    M.Tclunk: (clunk, (), False),
    M.Tremove: (remove, ("fid",), False),
    M.Tgetattr: (getattr_, ("fid",), False),
    M.Tsetattr: (setattr_, ("fid",), False),
    M.Tstatfs: (statfs, ("fid",), False),
    M.Treadlink: (readlink, ("fid",), False),
    M.Tlopen: (lopen, ("fid",), False),
    M.Tlcreate: (lcreate, ("fid",), False),
    M.Tread: (read, ("fid",), True),
    M.Twrite: (write, ("fid",), True),
    M.Treaddir: (readdir, ("fid",), True),
    M.Tfsync: (fsync, ("fid",), True),
    M.Tmkdir: (mkdir, ("dfid",), False),
    M.Tsymlink: (symlink, ("fid",), False),
    M.Tmknod: (mknod, ("dfid",), False),
    M.Tlink: (link, ("dfid", "fid"), False),
    M.Trenameat: (renameat, ("olddirfid", "newdirfid"), False),
    M.Trenameat2: (renameat2, ("olddirfid", "newdirfid"), False),
    M.Trename: (rename, ("fid", "dfid"), False),
    M.Tunlinkat: (unlinkat, ("dirfid",), False),
    M.Tlock: (lock, ("fid",), False),
    M.Tgetlock: (getlock, ("fid",), False),
    M.Txattrwalk: (xattrwalk, ("fid",), False),
    M.Txattrcreate: (xattrcreate, ("fid",), False),
    M.Tauth: (unsupported, (), False),
}
