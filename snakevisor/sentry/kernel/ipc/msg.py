"""System V message queues: msgget, msgsnd, msgrcv, msgctl (ipc/msg.c).

A queue holds (type, bytes) messages in arrival order, bounded by ``qbytes`` (MSGMNB by default)
in bytes and in messages. Senders wait while a message does not fit, receivers while none
matches; both sleep on the queue's wait queue, which every change notifies. Like semop, a wait
cut short by a signal is EINTR and never restarted; a removed queue wakes its sleepers with EIDRM.
"""
import struct
from collections import deque

from snakevisor.abi import ipc as I
from snakevisor.abi.capability import CAP_SYS_RESOURCE
from snakevisor.abi.errno import E2BIG, EAGAIN, EINVAL, ENOMSG, EPERM, SyscallError
from snakevisor.sentry.kernel.ipc import S_IRUGO, S_IWUGO, IPCObject, Registry, now, wait_on
from snakevisor.sentry.vfs.waiter import WaitQueue

CHANGED = 1
MTYPE = struct.Struct("<q")


class MessageQueue(IPCObject):
    def __init__(self, perm, index):
        super().__init__(perm, index)
        self.messages = deque()       # (mtype, data)
        self.cbytes = 0
        self.qbytes = I.MSGMNB
        self.stime = self.rtime = 0
        self.ctime = now()
        self.lspid = self.lrpid = 0
        self.queue = WaitQueue()

    def changed(self):
        self.queue.notify(CHANGED)

    def find(self, msgtyp, flags):
        """Index of the message msgrcv takes for ``msgtyp``, or None."""
        if msgtyp == 0:
            return 0 if self.messages else None
        if msgtyp > 0:
            except_ = bool(flags & I.MSG_EXCEPT)
            for i, (mtype, _) in enumerate(self.messages):
                if (mtype != msgtyp) if except_ else (mtype == msgtyp):
                    return i
            return None
        best = None
        for i, (mtype, _) in enumerate(self.messages):
            if mtype <= -msgtyp and (best is None or mtype < self.messages[best][0]):
                best = i
        return best


class MessageQueues:
    """The IPC namespace's message queues."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.registry = Registry(I.MSGMNI)

    def msgget(self, task, key, flags):
        return self.registry.get(task, key, flags, MessageQueue, lambda q: None).id

    def msgsnd(self, task, msqid, msgp, msgsz, flags):
        (mtype,) = MTYPE.unpack(task.mm.copy_in(msgp, 8))
        if msgsz > I.MSGMAX or msqid & 0xFFFFFFFF >= 1 << 31:
            raise SyscallError(EINVAL)
        if mtype < 1:
            raise SyscallError(EINVAL)
        data = task.mm.copy_in(msgp + 8, msgsz) if msgsz else b""
        q = self.registry.lookup(msqid)
        q.perm.check(task.creds, S_IWUGO)
        while msgsz + q.cbytes > q.qbytes or len(q.messages) + 1 > q.qbytes:
            if flags & I.IPC_NOWAIT:
                raise SyscallError(EAGAIN)
            yield from wait_on(task, q, CHANGED)
        q.messages.append((mtype, data))
        q.cbytes += msgsz
        q.lspid = task.tg.tgid
        q.stime = now()
        q.changed()
        return 0

    def msgrcv(self, task, msqid, msgp, msgsz, msgtyp, flags):
        msgtyp = msgtyp - (1 << 64) if msgtyp >= 1 << 63 else msgtyp
        if msqid & 0xFFFFFFFF >= 1 << 31 or msgsz >= 1 << 63:
            raise SyscallError(EINVAL)
        if flags & I.MSG_COPY and (flags & I.MSG_EXCEPT or not flags & I.IPC_NOWAIT):
            raise SyscallError(EINVAL)
        q = self.registry.lookup(msqid)
        q.perm.check(task.creds, S_IRUGO)
        while True:
            if flags & I.MSG_COPY:
                i = msgtyp if 0 <= msgtyp < len(q.messages) else None
            else:
                i = q.find(msgtyp, flags)
            if i is not None:
                break
            if flags & I.IPC_NOWAIT:
                raise SyscallError(ENOMSG)
            yield from wait_on(task, q, CHANGED)
        mtype, data = q.messages[i]
        if len(data) > msgsz and not flags & I.MSG_NOERROR:
            raise SyscallError(E2BIG)
        if len(data) > msgsz and flags & I.MSG_COPY:
            raise SyscallError(EINVAL)   # copy_msg: a copy is never truncated, MSG_NOERROR or not
        out = data[:msgsz]
        task.mm.copy_out(msgp, MTYPE.pack(mtype) + out)
        if not flags & I.MSG_COPY:
            del q.messages[i]
            q.cbytes -= len(data)
            q.lrpid = task.tg.tgid
            q.rtime = now()
            q.changed()
        return len(out)

    def msgctl(self, task, msqid, cmd, buf):
        mm = task.mm
        if cmd in (I.IPC_INFO, I.MSG_INFO):
            queues = list(self.registry)
            pool, tql, mmap_ = I.MSGPOOL, I.MSGTQL, I.MSGMAP
            if cmd == I.MSG_INFO:   # in use: queues, messages, bytes
                pool = len(queues)
                mmap_ = sum(len(q.messages) for q in queues)
                tql = sum(q.cbytes for q in queues)
            mm.copy_out(buf, I.MSGINFO.pack(pool, mmap_, I.MSGMAX, I.MSGMNB, I.MSGMNI, I.MSGSSZ, tql, I.MSGSEG))
            return self.registry.max_index()
        done, q = self.registry.common_ctl(task, msqid, cmd, buf, (I.MSG_STAT, I.MSG_STAT_ANY), self._pack,
                                           self._remove)
        if q is None:
            return done
        if cmd == I.IPC_SET:
            fields = I.MSQID64_DS.unpack(mm.copy_in(buf, I.MSQID64_DS.size))
            q.perm.check_owner(task.creds)
            if fields[6] > I.MSGMNB and not task.creds.has_cap(CAP_SYS_RESOURCE):
                raise SyscallError(EPERM)
            q.set_from_user(task, buf, I.MSQID64_DS)
            q.qbytes = fields[6]
            q.changed()   # a larger queue may let senders in
            return 0
        raise SyscallError(EINVAL)

    def _remove(self, q):
        self.registry.remove(q)
        q.changed()   # sleepers wake and find it removed (EIDRM)

    @staticmethod
    def _pack(q):
        return I.MSQID64_DS.pack(q.perm.pack(), q.stime, q.rtime, q.ctime, q.cbytes, len(q.messages), q.qbytes,
                                 q.lspid, q.lrpid, 0, 0)

    def proc_lines(self):
        """/proc/sysvipc/msg."""
        out = ["       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid"
               "      stime      rtime      ctime\n"]
        for q in self.registry:
            p = q.perm
            out.append(f"{p.key:10d} {q.id:10d}  {p.mode & 0o7777:4o}  {q.cbytes:10d} {len(q.messages):10d} "
                       f"{q.lspid:5d} {q.lrpid:5d} {p.uid:5d} {p.gid:5d} {p.cuid:5d} {p.cgid:5d} "
                       f"{q.stime:10d} {q.rtime:10d} {q.ctime:10d}\n")
        return "".join(out)
