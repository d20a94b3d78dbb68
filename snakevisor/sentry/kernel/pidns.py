"""PID namespaces: a tree of them, as Linux's (kernel/pid_namespace.c, gVisor's kernel.PIDNamespace).

The root namespace is the sandbox's: its ids are the Sentry's own ("global") ids, the ``tid`` of a
Task and ``tgid``/``pgid``/``sid`` of a ThreadGroup, and its ``tasks``/``thread_groups`` dicts
are the one place a pid is looked up (a dict access, so fork/exec/wait stay fast). A namespace
made by clone/unshare(CLONE_NEWPID) maps global ids to its own ids and back: a task created in
it gets an id there and in every ancestor (``allocate``). Everything an application gives or is
shown goes through the caller's namespace: ``id_of`` (global -> local, 0 when not visible) and
``task_of``/``group_of``/``process_group`` (local -> objects). The namespace's first process is
its ``init`` (its child reaper); when that exits the namespace is ``dead`` (a later fork there
is ENOMEM) and every other process in it is killed (kernel/kernel.py).
"""
import weakref

from snakevisor.abi.errno import EAGAIN, EEXIST, EINVAL, ENOMEM, ENOSPC, EPERM, SyscallError
from snakevisor.abi.fs import PROC_NS_INODES
from snakevisor.abi.signal import SIG_DFL, SIGKILL, SIGSTOP

MAX_LEVEL = 32   # Linux's MAX_PID_NS_LEVEL: a deeper clone(CLONE_NEWPID) is ENOSPC
RESERVED = 300   # ids wrap to here, past the low ones daemons keep (Linux's RESERVED_PIDS)
PID_MAX_LIMIT = 1 << 22   # kernel.pid_max's highest value (64-bit Linux), and its default here


class PIDNamespace:
    kind = "pid"

    def __init__(self, parent=None, ino=PROC_NS_INODES["pid"], max_pids=PID_MAX_LIMIT):
        self.parent = parent
        self.level = 0 if parent is None else parent.level + 1
        self.root = self if parent is None else parent.root
        self.ino = ino
        self.max_pids = max_pids
        self.next_id = 1
        self.init = None      # the ThreadGroup with pid 1 here: reaps orphans; its death ends the namespace
        self.dead = False     # init has exited: nothing more is made here (fork: ENOMEM)
        self.procfs = None    # proc mounted by a task of this namespace (one per namespace, as Linux's)
        if parent is None:
            self.tasks = {}          # global tid -> Task
            self.thread_groups = {}  # global tgid -> ThreadGroup (until reaped)
            self.session_ttys = {}   # global sid -> controlling Terminal of that session (kernel/tty.py)
            self.descendants = weakref.WeakSet()   # a reused global id leaves their maps
        else:
            self.to_local = {}       # global id -> id here
            self.to_global = {}      # id here -> global id
            self.root.descendants.add(self)

    # -- translations -------------------------------------------------------------------
    def id_of(self, gid):
        """The id here of what global id ``gid`` names (a task, process, group or session); 0
        when it is not in this namespace or a descendant (Linux's pid_nr_ns)."""
        if self.parent is None:
            return gid
        return self.to_local.get(gid, 0)

    def global_id(self, lid):
        """The global id of what this namespace calls ``lid`` (None: nothing)."""
        if self.parent is None:
            return lid
        return self.to_global.get(lid)

    def task_of(self, lid):
        return self.root.tasks.get(self.global_id(lid))

    def group_of(self, lid):
        return self.root.thread_groups.get(self.global_id(lid))

    def process_group(self, pgid):
        """The live processes of process group ``pgid`` (an id here), wherever they are."""
        gid = self.global_id(pgid)
        return [tg for tg in self.root.thread_groups.values() if tg.pgid == gid and tg.exit_status is None]

    def groups(self):
        """(id here, ThreadGroup) of every process visible here, by id."""
        root = self.root
        if self.parent is None:
            return sorted(root.thread_groups.items())
        return sorted((lid, root.thread_groups[gid]) for lid, gid in self.to_global.items()
                      if gid in root.thread_groups)

    def within(self, other):
        """Is this namespace ``other`` or one of its descendants?"""
        ns = self
        while ns is not None and ns.level >= other.level:
            if ns is other:
                return True
            ns = ns.parent
        return False

    def ids(self, gid):
        """The ids of global id ``gid`` from this namespace up to the root's, innermost last
        (the NSpid line of /proc/PID/status lists them outermost first)."""
        out, ns = [], self
        while ns is not None:
            out.append(ns.id_of(gid))
            ns = ns.parent
        return out[::-1]

    # -- making ids ---------------------------------------------------------------------
    def new_child(self, ino):
        """A namespace below this one (clone/unshare CLONE_NEWPID)."""
        if self.level + 1 > MAX_LEVEL:   # create_pid_namespace: a level past 32
            raise SyscallError(ENOSPC)
        return PIDNamespace(self, ino, self.max_pids)

    def set_pid_max(self, value):
        """kernel.pid_max (a sandbox-wide setting, as Linux 6.1's): new ids of every namespace stay below it."""
        if not RESERVED < value <= PID_MAX_LIMIT:
            raise SyscallError(EINVAL)
        for ns in (self.root, *self.root.descendants):
            ns.max_pids = value

    def allocate(self, chosen=(), may_choose=None):
        """A global id for a new task of this namespace, with its id here and in every ancestor.
        ``chosen`` (clone3's set_tid): the ids wanted here, in the parent, and so on up, each
        checked in turn as alloc_pid does (EINVAL out of range, or not 1 where no init is yet;
        EPERM unless ``may_choose(ns)``; EEXIST if taken); a chosen id leaves ns_last_pid alone."""
        if self.dead:
            raise SyscallError(ENOMEM)   # the namespace's init has exited (alloc_pid's PIDNS_ADDING off)
        levels, ns = [], self
        while ns is not None:
            levels.append(ns)
            ns = ns.parent
        if len(chosen) > len(levels):
            raise SyscallError(EINVAL)
        for ns, lid in zip(levels, chosen):
            if not 1 <= lid < ns.max_pids or lid != 1 and ns.init is None:
                raise SyscallError(EINVAL)
            if not may_choose(ns):
                raise SyscallError(EPERM)
            if ns.taken(lid):
                raise SyscallError(EEXIST)
        gid = self.root._allocate_global(chosen[-1] if len(chosen) == len(levels) else None)
        for i, ns in enumerate(levels[:-1]):
            ns._bind(gid, chosen[i] if i < len(chosen) else None)
        return gid

    def taken(self, lid):
        """Does id ``lid`` here name something still?"""
        root = self.root
        if self is root:
            return root.in_use(lid)
        return lid in self.to_global and root.in_use(self.to_global[lid])

    def _allocate_global(self, gid=None):
        if gid is None:
            gid = self._next_free(self.in_use)
        for ns in self.descendants:   # a stale mapping of a reused id would name the new task
            ns._forget(gid)
        return gid

    def in_use(self, gid):
        """Does global ``gid`` still name something (a task, a process, a group or a session)?"""
        if gid in self.tasks or gid in self.thread_groups:
            return True
        return any(tg.pgid == gid or tg.sid == gid for tg in self.thread_groups.values())

    def _next_free(self, taken):
        lid = self.next_id
        for _ in range(self.max_pids):
            if lid >= self.max_pids:
                lid = RESERVED
            if not taken(lid):
                self.next_id = lid + 1
                return lid
            lid += 1
        raise SyscallError(EAGAIN)

    def _bind(self, gid, lid=None):
        if lid is None:
            lid = self._next_free(self.taken)
        self._forget_local(lid)
        self.to_local[gid], self.to_global[lid] = lid, gid

    def _forget(self, gid):
        lid = self.to_local.pop(gid, None)
        if lid is not None:
            self.to_global.pop(lid, None)

    def _forget_local(self, lid):
        gid = self.to_global.pop(lid, None)
        if gid is not None and self.to_local.get(gid) == lid:
            del self.to_local[gid]

    def last_id(self):
        """The last id handed out here (/proc/loadavg, /proc/sys/kernel/ns_last_pid)."""
        return self.next_id - 1

    def set_last_id(self, value):
        """A write of /proc/sys/kernel/ns_last_pid: the next id is tried from ``value`` + 1 on."""
        if not 0 <= value <= self.max_pids:
            raise SyscallError(EINVAL)
        self.next_id = value + 1


def seen_from(tg, gid):
    """What process ``tg`` calls global id ``gid`` (a signal's si_pid: the sender as the receiver's
    namespace sees it, 0 from outside it)."""
    return tg.pidns.id_of(gid)


def protected_init(tg):
    """Is ``tg`` the init of a PID namespace the application made, and still protected from
    signals it does not handle (Linux's SIGNAL_UNKILLABLE, which a forced fault signal takes away)?
    The sandbox's own init (the root namespace's) is not, as before namespaces (tests run programs
    there as pid 1)."""
    ns = tg.pidns
    return ns.parent is not None and tg is ns.init and not tg.unkillable_lost


def init_ignores(sender, target, sig, task=None):
    """Does the init of a PID namespace the application made drop ``sig`` from ``sender`` (a
    ThreadGroup, None for the kernel) as it is sent (to thread ``task``; the leader for the
    process)? It does unless it handles it, but SIGKILL and SIGSTOP from an ancestor namespace
    still act; and, as sig_ignored, not while the receiver blocks it (its handler may change by
    the time it is unblocked: delivery drops it then if not, Signals.deliver) or is traced."""
    if not protected_init(target) or target.handlers.get(sig)[0] != SIG_DFL:
        return False
    receiver = task or target.leader
    if receiver is not None and ((receiver.sigmask | receiver.real_sigmask) >> (sig - 1) & 1
                                 or receiver.ptrace is not None and sig != SIGKILL):
        return False
    from_outside = sender is None or target.pidns.id_of(sender.tgid) == 0
    return not (from_outside and sig in (SIGKILL, SIGSTOP))
