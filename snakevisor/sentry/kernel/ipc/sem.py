"""System V semaphores: semget, semop/semtimedop, semctl, and SEM_UNDO at exit (ipc/sem.c).

A semop applies all its operations at once or none: it is tried against the current values;
if one would block (a decrement below zero, a wait-for-zero on a non-zero value) the caller
sleeps on the set's wait queue until any change to the set, then tries again (IPC_NOWAIT:
EAGAIN; the timeout of semtimedop: EAGAIN; a signal: EINTR, never restarted; the set removed:
EIDRM). While it sleeps it counts in semncnt or semzcnt of the semaphore it waits on.
SEM_UNDO adjustments are kept per process and applied when the process exits; SETVAL and
SETALL clear them, as Linux does.
"""
import struct

from snakevisor.abi import ipc as I
from snakevisor.abi.errno import E2BIG, EAGAIN, EFBIG, EINVAL, ENOSPC, ERANGE, SyscallError
from snakevisor.abi.time import NSEC, timespec_valid
from snakevisor.sentry.kernel.ipc import S_IRUGO, S_IWUGO, IPCObject, Registry, now, wait_on
from snakevisor.sentry.vfs.waiter import WaitQueue

CAN_PROCEED = 1


class Semaphore:
    __slots__ = ("value", "pid", "ncnt", "zcnt")

    def __init__(self):
        self.value = 0
        self.pid = 0
        self.ncnt = 0
        self.zcnt = 0


class SemaphoreSet(IPCObject):
    def __init__(self, perm, index, nsems):
        super().__init__(perm, index)
        self.sems = [Semaphore() for _ in range(nsems)]
        self.otime = 0
        self.ctime = now()
        self.queue = WaitQueue()

    def changed(self):
        self.queue.notify(CAN_PROCEED)


class Semaphores:
    """The IPC namespace's semaphore sets, and the processes' undo adjustments."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.registry = Registry(I.SEMMNI)
        self.total = 0                    # semaphores in all sets (SEMMNS)
        self.undo = {}                    # tgid -> {(set id, semnum): adjustment}

    def semget(self, task, key, nsems, flags):
        nsems = nsems & 0xFFFFFFFF
        if nsems >= 1 << 31 or nsems > I.SEMMSL:
            raise SyscallError(EINVAL)

        def create(perm, index):
            if nsems == 0:
                raise SyscallError(EINVAL)
            if self.total + nsems > I.SEMMNS:
                raise SyscallError(ENOSPC)
            self.total += nsems
            return SemaphoreSet(perm, index, nsems)

        def check_existing(s):
            if nsems > len(s.sems):
                raise SyscallError(EINVAL)

        return self.registry.get(task, key, flags, create, check_existing).id

    # -- semop -------------------------------------------------------------------
    def semtimedop(self, task, semid, sops_addr, nsops, timeout):
        """A generator (it may block); ``timeout`` is (tv_sec, tv_nsec) as the caller gave it, or None."""
        nsops &= 0xFFFFFFFF
        if semid & 0xFFFFFFFF >= 1 << 31 or nsops < 1 or nsops >= 1 << 31:
            raise SyscallError(EINVAL)
        if nsops > I.SEMOPM:
            raise SyscallError(E2BIG)
        raw = task.mm.copy_in(sops_addr, nsops * I.SEMBUF.size)
        sops = [I.SEMBUF.unpack_from(raw, i * I.SEMBUF.size) for i in range(nsops)]
        if timeout is not None:
            sec, nsec = timeout
            if not timespec_valid(sec, nsec):
                raise SyscallError(EINVAL)
            timeout = sec + nsec / NSEC
        s = self.registry.lookup(semid)
        if max(num for num, _, _ in sops) >= len(s.sems):
            raise SyscallError(EFBIG)
        alter = any(op != 0 for _, op, _ in sops)
        s.perm.check(task.creds, S_IWUGO if alter else S_IRUGO)
        deadline = None if timeout is None else self.kernel.monotonic() + timeout
        while True:
            blocked = self._try(task, s, sops)
            if blocked is None:
                return 0
            num, op, flg = blocked
            if flg & I.IPC_NOWAIT:
                raise SyscallError(EAGAIN)
            sem = s.sems[num]
            if op == 0:
                sem.zcnt += 1
            else:
                sem.ncnt += 1
            try:
                left = None if deadline is None else max(deadline - self.kernel.monotonic(), 0)
                woken = yield from wait_on(task, s, CAN_PROCEED, left)
            finally:
                if op == 0:
                    sem.zcnt -= 1
                else:
                    sem.ncnt -= 1
            if not woken and deadline is not None and self.kernel.monotonic() >= deadline:
                raise SyscallError(EAGAIN)

    def _try(self, task, s, sops):
        """Apply every operation or none; returns the operation that would block, or None."""
        values = [sem.value for sem in s.sems]
        undo = self.undo.get(task.tg.tgid, {})
        adjust = {}
        for num, op, flg in sops:
            cur = values[num]
            if op == 0:
                if cur != 0:
                    return num, op, flg
                continue
            result = cur + op
            if result < 0:
                return num, op, flg
            if result > I.SEMVMX:
                raise SyscallError(ERANGE)
            if flg & I.SEM_UNDO:
                key = (s.id, num)
                adj = adjust.get(key, undo.get(key, 0)) - op
                if not -I.SEMAEM - 1 <= adj <= I.SEMAEM:
                    raise SyscallError(ERANGE)
                adjust[key] = adj
            values[num] = result
        pid = task.tg.tgid
        for num, op, _ in sops:
            s.sems[num].pid = pid
        for sem, value in zip(s.sems, values):
            sem.value = value
        if adjust:
            self.undo.setdefault(task.tg.tgid, {}).update(adjust)
        s.otime = now()
        if any(op != 0 for _, op, _ in sops):
            s.changed()
        return None

    # -- semctl ------------------------------------------------------------------
    def semctl(self, task, semid, semnum, cmd, arg):
        mm = task.mm
        if cmd in (I.IPC_INFO, I.SEM_INFO):
            sets = list(self.registry)
            info = [I.SEMMAP, I.SEMMNI, I.SEMMNS, I.SEMMNU, I.SEMMSL, I.SEMOPM, I.SEMUME, I.SEMUSZ,
                    I.SEMVMX, I.SEMAEM]
            if cmd == I.SEM_INFO:
                info[7] = len(sets)                                   # semusz: sets in use
                info[9] = sum(len(s.sems) for s in sets)              # semaem: semaphores in use
            mm.copy_out(arg, I.SEMINFO.pack(*info))
            return self.registry.max_index()
        done, s = self.registry.common_ctl(task, semid, cmd, arg, (I.SEM_STAT, I.SEM_STAT_ANY), self._pack,
                                           self._remove, I.SEMID64_DS)
        if s is None:
            return done
        if cmd in (I.GETVAL, I.GETPID, I.GETNCNT, I.GETZCNT):
            s.perm.check(task.creds, S_IRUGO)
            sem = self._sem(s, semnum)
            return {I.GETVAL: sem.value, I.GETPID: task.tg.pidns.id_of(sem.pid), I.GETNCNT: sem.ncnt,
                    I.GETZCNT: sem.zcnt}[cmd]
        if cmd == I.GETALL:
            s.perm.check(task.creds, S_IRUGO)
            mm.copy_out(arg, struct.pack(f"<{len(s.sems)}H", *(sem.value for sem in s.sems)))
            return 0
        if cmd == I.SETVAL:
            sem = self._sem(s, semnum)
            value = arg & 0xFFFFFFFF
            value = value - (1 << 32) if value >= 1 << 31 else value
            if not 0 <= value <= I.SEMVMX:
                raise SyscallError(ERANGE)
            s.perm.check(task.creds, S_IWUGO)
            sem.value = value
            sem.pid = task.tg.tgid
            self._clear_undo(s.id, semnum & 0xFFFFFFFF)
            s.ctime = now()
            s.changed()
            return 0
        if cmd == I.SETALL:
            s.perm.check(task.creds, S_IWUGO)
            values = struct.unpack(f"<{len(s.sems)}H", mm.copy_in(arg, 2 * len(s.sems)))
            if any(v > I.SEMVMX for v in values):
                raise SyscallError(ERANGE)
            pid = task.tg.tgid
            for sem, v in zip(s.sems, values):
                sem.value, sem.pid = v, pid
            self._clear_undo(s.id, None)
            s.ctime = now()
            s.changed()
            return 0
        raise SyscallError(EINVAL)

    @staticmethod
    def _sem(s, semnum):
        semnum &= 0xFFFFFFFF
        if semnum >= len(s.sems):
            raise SyscallError(EINVAL)
        return s.sems[semnum]

    def _clear_undo(self, set_id, semnum):
        for adjustments in self.undo.values():
            for key in [k for k in adjustments if k[0] == set_id and (semnum is None or k[1] == semnum)]:
                del adjustments[key]

    def _remove(self, s):
        self.registry.remove(s)
        self.total -= len(s.sems)
        self._clear_undo(s.id, None)
        s.changed()   # sleepers wake and find it removed (EIDRM)

    def _pack(self, s):
        return I.SEMID64_DS.pack(s.perm.pack(), s.otime, 0, s.ctime, 0, len(s.sems), 0, 0)

    def has_undo_list(self, tgid) -> bool:
        """Whether the process has made a SEM_UNDO operation here (Linux allocates its undo list
        then, and a forked child starts without one) and has not left since."""
        return tgid in self.undo

    # -- exit ----------------------------------------------------------------------
    def process_exited(self, tgid):
        """exit_sem: apply the process's SEM_UNDO adjustments, clamped to 0..SEMVMX."""
        adjustments = self.undo.pop(tgid, None)
        if not adjustments:
            return
        touched = set()
        for (set_id, num), adj in adjustments.items():
            try:
                s = self.registry.lookup(set_id)
            except SyscallError:
                continue
            sem = s.sems[num]
            sem.value = min(max(sem.value + adj, 0), I.SEMVMX)
            sem.pid = tgid
            touched.add(s)
        for s in touched:
            s.otime = now()
            s.changed()

    def proc_lines(self):
        """/proc/sysvipc/sem."""
        out = ["       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n"]
        for s in self.registry:
            p = s.perm
            out.append(f"{p.key:10d} {s.id:10d}  {p.mode & 0o7777:4o} {len(s.sems):10d} {p.uid:5d} {p.gid:5d} "
                       f"{p.cuid:5d} {p.cgid:5d} {s.otime:10d} {s.ctime:10d}\n")
        return "".join(out)
