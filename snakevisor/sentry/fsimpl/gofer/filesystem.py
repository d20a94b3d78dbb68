"""GoferFilesystem: one gofer mount, its inodes by host inode number, and its caches of handles.

A mount is *exclusive* when this sandbox is its only writer (the root overlay:
the Gofer serves it to nobody else); read-only mounts of an image nobody changes
count as exclusive too. The choice sets how much the inodes cache (inode.py,
directory.py). Hard links share one inode: ``inodes`` maps each qid path (the
host inode number) to its inode while it has a name.
"""
from snakevisor.abi.errno import EINVAL, EOPNOTSUPP, SyscallError
from snakevisor.abi.fs import (RENAME_EXCHANGE, RENAME_WHITEOUT, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, StatfsResult,
                               V9FS_MAGIC)
from snakevisor.p9 import constants as P9
from snakevisor.sentry.fsimpl.gofer import notify
from snakevisor.sentry.fsimpl.gofer.directfs import probe as directfs_probe
from snakevisor.sentry.fsimpl.gofer.directory import GoferDirectory
from snakevisor.sentry.fsimpl.gofer.handles import OPEN_HANDLES, IdleFiles
from snakevisor.sentry.fsimpl.gofer.inode import GoferInode, GoferSymlink
from snakevisor.sentry.fsimpl.gofer.regular import GoferRegularFile
from snakevisor.sentry.vfs.dentry import Dentry
from snakevisor.sentry.vfs.filesystem import Filesystem

_INODE_CLASS = {S_IFDIR: GoferDirectory, S_IFREG: GoferRegularFile, S_IFLNK: GoferSymlink}


def _new_inode(fs, fid, attr):
    return _INODE_CLASS.get(attr.mode & S_IFMT, GoferInode)(fs, fid, attr)


class GoferFilesystem(Filesystem):
    name = "9p"
    magic = V9FS_MAGIC

    def __init__(self, client, memory_file, readonly=True, aname=b"", exclusive=None, directfs=False):
        super().__init__(readonly=readonly)
        self.client = client
        self.memory_file = memory_file
        # Read-only mounts of an image nobody changes cache like exclusive ones.
        self.exclusive = readonly if exclusive is None else exclusive
        self.cache_negative = self.exclusive
        self.directfs = False   # until the Gofer has donated the root's descriptor (below)
        self.notifier = None    # shared mounts with directfs: notify.Notifier (host changes)
        self.inodes = {}  # qid.path -> GoferInode (hard links share one)
        self.mapped = set()   # FileMappings whose cache a writable mapping may have changed
        self.idle = IdleFiles()   # regular files with handles but no open file
        self._has_unlinkat = self._has_renameat = True   # False once the server says EOPNOTSUPP
        OPEN_HANDLES.fit_to_rlimit()
        root_fid = client.attach(aname)
        self.root = Dentry(self.inode_for(root_fid, root_fid.getattr(P9.GETATTR_BASIC)))
        self.root.inc_ref()
        # directfs (directfs.py): host calls on O_PATH descriptors our Gofer donates when started
        # with --directfs (the dialect's Twalkfd); else, or against a plain 9P server, 9P alone.
        if directfs and client.donation and not self.exclusive:
            self.notifier = notify.start(root_fid)   # before the root's descriptor: it gets a watch
        self.directfs = directfs and client.donation and directfs_probe(self.root.inode)
        if not self.directfs and self.notifier is not None:
            self.notifier.close()
            self.notifier = None
        # Cached names are checked with the Gofer, a round trip each: path resolution batches them
        # (vfs/resolve.py). With directfs each is one host fstatat: the fast walk checks them one by one.
        self.revalidates = not self.exclusive and not self.directfs

    def inode_for(self, fid, attr):
        """The inode for a freshly walked ``fid``: the known one for its qid (fid clunked), or a new one."""
        inode = self.inodes.get(attr.qid.path)
        if inode is not None and inode.type == attr.mode & S_IFMT and inode.nlink > 0:
            fid.clunk(wait=False)
            if not self.exclusive:
                inode.refresh(attr)
            return inode
        inode = _new_inode(self, fid, attr)
        self.inodes[attr.qid.path] = inode
        return inode

    def inode_created(self, fid, attr):
        """The inode for a file just made on the host (a stale one of its number is forgotten)."""
        old = self.inodes.get(attr.qid.path)
        if old is not None:
            self.forget(old)   # a stale inode whose host inode number was reused
        inode = _new_inode(self, fid, attr)
        self.inodes[attr.qid.path] = inode
        return inode

    def forget(self, inode):
        """``inode`` has no name left: a new file may now reuse its host inode number."""
        if self.inodes.get(inode.ino) is inode:
            del self.inodes[inode.ino]

    def unlinkat(self, dir_fid, name, flags):
        """Remove ``name`` from the directory of ``dir_fid`` (``flags``: AT_REMOVEDIR or 0)."""
        if self._has_unlinkat:
            try:
                return dir_fid.unlinkat(name, flags)
            except SyscallError as e:
                if e.errno != EOPNOTSUPP:
                    raise
                self._has_unlinkat = False    # an older server (diod): Tremove, as v9fs does
        dir_fid.walk([name]).remove()

    def renameat(self, old_dir_fid, oldname, new_dir_fid, newname, flags=0):
        """Rename on the server. ``flags`` (RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT)
        need our own Gofer's Trenameat2, done by the host in one call; a plain 9P2000.L server
        cannot exchange nor leave whiteouts (EINVAL) and takes NOREPLACE as a plain rename (the
        VFS checked the target was absent: racy against a host process on a shared volume)."""
        if flags:
            if self.client.donation:
                return old_dir_fid.renameat2(oldname, new_dir_fid, newname, flags)
            if flags & (RENAME_EXCHANGE | RENAME_WHITEOUT):
                raise SyscallError(EINVAL)    # 9P2000.L has no exchange, no whiteouts
        if self._has_renameat:
            try:
                return old_dir_fid.renameat(oldname, new_dir_fid, newname)
            except SyscallError as e:
                if e.errno != EOPNOTSUPP:
                    raise
                self._has_renameat = False    # an older server: Trename of a walked fid
        fid = old_dir_fid.walk([oldname])
        try:
            fid.rename(new_dir_fid, newname)
        finally:
            fid.clunk()

    def kill(self):
        """The last mount is gone: the inotify descriptor goes (its directories unwatched)."""
        super().kill()
        if self.notifier is not None:
            self.notifier.close()
            self.notifier = None

    def sync_all(self):
        """Write every mapped file's cache back to the host (sandbox exit)."""
        for mapping in list(self.mapped):
            try:
                mapping.writeback()
            except SyscallError:
                pass

    def statfs(self):
        try:
            s = self.root.inode.fid.statfs()
        except SyscallError:
            return super().statfs()
        return StatfsResult(type=V9FS_MAGIC, bsize=s.bsize, blocks=s.blocks, bfree=s.bfree, bavail=s.bavail,
                            files=s.files, ffree=s.ffree, namelen=s.namelen,
                            fsid=(self.dev & 0xFFFFFFFF, self.dev >> 32), frsize=s.bsize)

    def mount_options(self):
        return ("trans=fd,cache=" + ("loose" if self.exclusive else "remote_revalidating")
                + (",directfs" if self.directfs else ""))
