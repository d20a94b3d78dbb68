"""System V IPC: the sandbox's IPC namespace and what shared memory, semaphores and message queues share.

An ``IPCNamespace`` (``kernel.ipc`` the initial one, a task's ``task.ns.ipc``) holds three ``Registry``s, one per kind
(shm.py, sem.py, msg.py). A registry hands out identifiers as Linux does (``seq << 15 | index``,
the lowest free index, the sequence number advancing with every new object, so a stale id is
EINVAL), finds objects by key, and applies the permission rules of ipc/util.c: ``ipcperms`` for
access (the owner, group and other bits of the mode, CAP_IPC_OWNER overriding) and the owner
rule of IPC_SET/IPC_RMID (creator or owner, or CAP_SYS_ADMIN).
"""
import heapq
import weakref
import time

from snakevisor.abi import ipc as I
from snakevisor.abi.capability import CAP_IPC_OWNER, CAP_SYS_ADMIN
from snakevisor.abi.fs import PROC_NS_INODES
from snakevisor.abi.errno import (EACCES, EEXIST, EIDRM, EINTR, EINVAL, ENOENT, ENOSPC, EPERM, ERESTARTSYS,
                                  SyscallError)

S_IRUGO, S_IWUGO, S_IXUGO = 0o444, 0o222, 0o111


def now():
    return int(time.time())


class Perm:
    """struct kern_ipc_perm: the key, owner, creator, mode and sequence number of one object."""
    __slots__ = ("key", "uid", "gid", "cuid", "cgid", "mode", "seq")

    def __init__(self, key, creds, mode, seq):
        self.key = key
        self.uid = self.cuid = creds.euid
        self.gid = self.cgid = creds.egid
        self.mode = mode
        self.seq = seq

    def pack(self):
        return I.IPC64_PERM.pack(self.key, self.uid, self.gid, self.cuid, self.cgid, self.mode, self.seq, 0, 0)

    def allows(self, creds, flag):
        """ipcperms: may ``creds`` access for ``flag`` (S_IRUGO, S_IWUGO, S_IXUGO bits or a mode)?"""
        requested = (flag >> 6 | flag >> 3 | flag) & 0o7
        granted = self.mode
        if creds.euid in (self.cuid, self.uid):
            granted >>= 6
        elif creds.egid in (self.cgid, self.gid) or self.cgid in creds.groups or self.gid in creds.groups:
            granted >>= 3
        return not (requested & ~granted & 0o7) or creds.has_cap(CAP_IPC_OWNER)

    def check(self, creds, flag):
        if not self.allows(creds, flag):
            raise SyscallError(EACCES)

    def check_owner(self, creds):
        """IPC_SET and IPC_RMID: the creator or owner, or CAP_SYS_ADMIN; else EPERM."""
        if creds.euid not in (self.cuid, self.uid) and not creds.has_cap(CAP_SYS_ADMIN):
            raise SyscallError(EPERM)

    def set_from(self, uid, gid, mode):
        """IPC_SET: new owner and the permission bits (the kind's own mode bits are kept)."""
        self.uid, self.gid = uid, gid
        self.mode = (self.mode & ~0o777) | (mode & 0o777)


class IPCObject:
    """What every kind of object has: its Perm, its identifier and whether it has been removed."""

    def __init__(self, perm, index):
        self.perm = perm
        self.index = index
        self.removed = False

    @property
    def id(self):
        return self.perm.seq << I.IPCMNI_SHIFT | self.index

    def stat_to(self, task, buf, packed):
        """IPC_STAT: the caller needs read permission."""
        self.perm.check(task.creds, S_IRUGO)
        task.mm.copy_out(buf, packed)

    def set_from_user(self, task, buf, ds):
        """IPC_SET: read the caller's struct ``ds`` at ``buf``, check ownership, take the new owner
        and permission bits; returns every field for the kind's own (msg_qbytes)."""
        fields = ds.unpack(task.mm.copy_in(buf, ds.size))
        self.perm.check_owner(task.creds)
        _key, uid, gid, _cuid, _cgid, mode, _seq, _u1, _u2 = I.IPC64_PERM.unpack(fields[0])
        self.perm.set_from(uid, gid, mode)
        self.ctime = now()
        return fields


class Registry:
    """The objects of one kind in one IPC namespace."""

    def __init__(self, limit):
        self.limit = limit          # how many objects may exist at once (SHMMNI, SEMMNI, MSGMNI)
        self.objects = {}           # index -> IPCObject
        self.by_key = {}            # key (not IPC_PRIVATE) -> IPCObject
        self._seq = 0
        # Linux gives a new object the lowest free index: those freed below the high-water mark
        # wait in a heap, so a create costs O(log n), not a scan (a full table is 32000 objects).
        self._freed = []
        self._next_index = 0
        self.next_id = -1           # kernel.{shm,msg,sem}_next_id: the next object's id (-1: the usual)

    def get(self, task, key, flags, create, check_existing):
        """shmget/semget/msgget: the object for ``key``, made by ``create(perm, index)`` when
        IPC_CREAT asks and there is none; ``check_existing(obj)`` adds the kind's own checks."""
        key = key & 0xFFFFFFFF
        key = key - (1 << 32) if key >= 1 << 31 else key
        if key != I.IPC_PRIVATE:
            obj = self.by_key.get(key)
            if obj is not None:
                if flags & I.IPC_CREAT and flags & I.IPC_EXCL:
                    raise SyscallError(EEXIST)
                obj.perm.check(task.creds, flags & 0o777)
                check_existing(obj)
                return obj
            if not flags & I.IPC_CREAT:
                raise SyscallError(ENOENT)
        if len(self.objects) >= self.limit:
            raise SyscallError(ENOSPC)
        wanted = self.next_id
        if wanted >= 0:   # ipc_idr_alloc: its sequence number, the lowest free index from its own
            index, seq = self._free_index_from(wanted & (I.IPCMNI - 1)), wanted >> I.IPCMNI_SHIFT
        else:
            index, seq = self._freed[0] if self._freed else self._next_index, self._seq
        perm = Perm(key, task.creds, flags & 0o777, seq)
        obj = create(perm, index)        # may raise (EINVAL, ENOSPC, ENOMEM): nothing is recorded then
        self._take_index(index)
        if wanted >= 0:
            self.next_id = -1
        else:
            self._seq = 0 if self._seq >= I.IPCID_SEQ_MAX else self._seq + 1
        self.objects[index] = obj
        if key != I.IPC_PRIVATE:
            self.by_key[key] = obj
        return obj

    def _free_index_from(self, start):
        """The lowest index at or past ``start`` no object holds."""
        if start >= self._next_index:
            return start
        return min([i for i in self._freed if i >= start] + [self._next_index])

    def _take_index(self, index):
        """Record ``index`` as used: below the high-water mark it leaves the free heap; past it,
        the indices skipped become free."""
        if index < self._next_index:
            if self._freed[0] == index:
                heapq.heappop(self._freed)   # the usual case: the lowest free one
            else:
                self._freed.remove(index)
                heapq.heapify(self._freed)
            return
        for skipped in range(self._next_index, index):
            heapq.heappush(self._freed, skipped)
        self._next_index = index + 1

    def lookup(self, ident):
        """The object with identifier ``ident`` (EINVAL for a negative, unknown or stale one)."""
        ident = ident & 0xFFFFFFFF
        if ident >= 1 << 31:
            raise SyscallError(EINVAL)
        obj = self.objects.get(ident & (I.IPCMNI - 1))
        if obj is None or obj.perm.seq != ident >> I.IPCMNI_SHIFT:
            raise SyscallError(EINVAL)
        return obj

    def at_index(self, index):
        """*_STAT and *_STAT_ANY name an object by its index."""
        index = index & 0xFFFFFFFF
        obj = self.objects.get(index) if index < I.IPCMNI else None
        if obj is None:
            raise SyscallError(EINVAL)
        return obj

    def stat_by_index(self, task, index, any_, buf, pack):
        """SHM_STAT/SEM_STAT/MSG_STAT (read permission needed) and their _ANY forms: the object at
        an index; returns its identifier."""
        obj = self.at_index(index)
        if not any_:
            obj.perm.check(task.creds, S_IRUGO)
        task.mm.copy_out(buf, pack(obj))
        return obj.id

    def common_ctl(self, task, ident, cmd, buf, stat_cmds, pack, remove, ds=None):
        """The part of shmctl/semctl/msgctl every kind shares: *_STAT and *_STAT_ANY (``stat_cmds``,
        by index), IPC_STAT, IPC_RMID (the owner's: ``remove(obj)`` does the kind's part) and
        IPC_SET when the kind's struct ``ds`` is given are answered here: returns (their result,
        None). Any other command is the kind's own: returns (None, the object ``ident`` names)."""
        if cmd in stat_cmds:
            return self.stat_by_index(task, ident, cmd == stat_cmds[1], buf, pack), None
        obj = self.lookup(ident)
        if cmd == I.IPC_STAT:
            obj.stat_to(task, buf, pack(obj))
            return 0, None
        if cmd == I.IPC_RMID:
            obj.perm.check_owner(task.creds)
            remove(obj)
            return 0, None
        if cmd == I.IPC_SET and ds is not None:
            obj.set_from_user(task, buf, ds)
            return 0, None
        return None, obj

    def max_index(self):
        """What IPC_INFO and *_INFO return: the highest index in use (0 when there is none)."""
        return max(self.objects, default=0)

    def forget_key(self, obj):
        """The object stays (still attached) but its key is free again: it becomes IPC_PRIVATE."""
        if self.by_key.get(obj.perm.key) is obj:
            del self.by_key[obj.perm.key]
        obj.perm.key = I.IPC_PRIVATE

    def remove(self, obj):
        self.forget_key(obj)
        if self.objects.pop(obj.index, None) is not None:
            heapq.heappush(self._freed, obj.index)
        obj.removed = True

    def __iter__(self):
        return iter(sorted(self.objects.values(), key=lambda o: o.index))


def wait_on(task, obj, events, timeout=None):
    """Sleep on ``obj``'s queue for ``events`` (a generator; result: woken before ``timeout``).
    A signal makes it EINTR (System V IPC sleeps are never restarted), removal EIDRM."""
    try:
        woken = yield from task.block_on(obj.queue, events, timeout)
    except SyscallError as e:
        raise SyscallError(EINTR) if e.errno == ERESTARTSYS else e
    if obj.removed:
        raise SyscallError(EIDRM)
    return woken


def ipc_sysctls():
    """(name, content) of the /proc/sys/kernel files that describe the IPC limits."""
    return [("shmmax", f"{I.SHMMAX}\n"), ("shmall", f"{I.SHMALL}\n"), ("shmmni", f"{I.SHMMNI}\n"),
            ("sem", f"{I.SEMMSL}\t{I.SEMMNS}\t{I.SEMOPM}\t{I.SEMMNI}\n"),
            ("msgmax", f"{I.MSGMAX}\n"), ("msgmnb", f"{I.MSGMNB}\n"), ("msgmni", f"{I.MSGMNI}\n")]


def check_ipc_cmd(cmd):
    """A command number with IPC_64 or any other high bit is EINVAL on x86_64."""
    cmd &= 0xFFFFFFFF
    if cmd >= 1 << 31:
        raise SyscallError(EINVAL)
    return cmd


class IPCNamespace:
    """One IPC namespace's System V objects and POSIX message queues (``kernel.ipc`` is the
    sandbox's initial one; CLONE_NEWIPC makes more: kernel/namespaces.py)."""
    kind = "ipc"

    def __init__(self, kernel, ino=PROC_NS_INODES["ipc"]):
        from snakevisor.sentry.kernel.ipc.msg import MessageQueues
        from snakevisor.sentry.kernel.ipc.sem import Semaphores
        from snakevisor.sentry.kernel.ipc.shm import SharedMemory
        from snakevisor.sentry.fsimpl.mqueue import MqueueFilesystem
        self.kernel = kernel
        self.ino = ino   # its /proc/PID/ns/ipc inode number
        kernel.ipc_namespaces.add(self)
        self.mqueue = MqueueFilesystem()     # POSIX message queues (mounted at /dev/mqueue)
        self.shm = SharedMemory(kernel)
        self.sem = Semaphores(kernel)
        self.msg = MessageQueues(kernel)
        # When the last task and nsfs file let go of a namespace, its segments' memory goes too
        # (the finalizer holds the registry, not the namespace).
        weakref.finalize(self, self.shm.destroy_all)

    def process_exited(self, tgid):
        """A process is gone: its SEM_UNDO adjustments apply, and removed segments it still had
        attached may go."""
        self.sem.process_exited(tgid)
        self.shm.reap()
