"""procfs: /proc built from the Sentry's own state (never the host's /proc).

Files are generated when read (like seq_file: at the first read, and again at each read
from offset 0; procfs_inodes.py). /proc/self and /proc/thread-self follow the Task on whose behalf the
path is resolved or read (the ResolveContext's task, readlink's argument);
/proc/PID/{exe,cwd,root,fd/N} are magic links that resolve to the object itself, not
to a path. Writers of writable files (sysctls) get the writing Task too.
"""
import os
import time

from snakevisor.abi.capability import CAP_CHECKPOINT_RESTORE, CAP_SYS_ADMIN, CAP_SYS_NICE, CAP_SYS_RESOURCE
from snakevisor.abi.errno import EACCES, EINVAL, EPERM, ESRCH, SyscallError
from snakevisor.abi.fs import MEM_MAJOR, O_CLOEXEC, PROC_SUPER_MAGIC
from snakevisor.abi.tty import TTYAUX_MAJOR, UNIX98_PTY_SLAVE_MAJOR
from snakevisor.abi.mm import DEFAULT_MAX_MAP_COUNT, MAX_NUMNODES
from snakevisor.abi.resource import RLIM_INFINITY, RLIMIT_NAMES
from snakevisor.abi.sched import SCHED_FIFO, SCHED_RR
from snakevisor.abi.time import CLK_TCK
from snakevisor.abi.utsname import random_uuid
from snakevisor.sentry.mm import mlock, procmaps, special
from snakevisor.sentry.kernel import netns
from snakevisor.sentry.fsimpl import inotify, nsfs, pipefs, procfs_audit, procfs_net, procfs_pid
from snakevisor.sentry.fsimpl.procfs_sysnet import sys_net
from snakevisor.sentry.fsimpl import procfs_sysinfo as sysinfo
from snakevisor.sentry.fsimpl.procfs_inodes import (Directory, GeneratedFile, MagicLink, ReadOnlySysctl, Symlink,
                                                    TracedFile, WritableFile, _ns, _parse_int, _reader)
from snakevisor.sentry.kernel import cputime, keys, ptrace, seccomp
from snakevisor.sentry.kernel.ipc import ipc_sysctls
from snakevisor.abi.ipc import IPCMNI
from snakevisor.sentry.kernel import timens, tty, userns
from snakevisor.sentry.vfs.dentry import Dentry
from snakevisor.sentry.vfs.filesystem import Filesystem
from snakevisor.sentry.vfs.fstypes import proc_filesystems
from snakevisor.sentry.vfs.mount import ROOTFS_ID
from snakevisor.sentry.vfs import dnotify, locks
from snakevisor.sentry.vfs.leases import LIMITS as lease_limits
from snakevisor.sentry.vfs.fdtable import LIMITS as fd_limits, NR_OPEN_MAX, NR_OPEN_MIN
from snakevisor.sentry.vfs.resolve import is_reachable, mangle, path_of
from snakevisor.sentry.vfs.vfs import LIMITS as vfs_limits


def _host_cpuinfo():
    try:
        with open("/proc/cpuinfo", "rb") as f:
            return f.read()
    except OSError:
        return b"processor\t: 0\nvendor_id\t: unknown\n\n"


class ProcFilesystem(Filesystem):
    name = "proc"
    dir_fsync = False
    dir_seek_end = True
    magic = PROC_SUPER_MAGIC

    def __init__(self, kernel, pidns=None):
        super().__init__()   # writable, as Linux's: a few files take writes (sysctls, oom_score_adj)
        self.kernel = kernel
        self.pidns = pidns or kernel.pidns   # the mounter's: the processes listed, the ids shown
        self.cpuinfo = _host_cpuinfo()  # read once at boot: the CPU the application runs on
        self.root = Dentry(ProcRoot(self))
        self.root.inc_ref()


    def seen(self, gid):
        """The id global id ``gid`` has in this proc's PID namespace (0: not visible there)."""
        return self.pidns.id_of(gid)


def procfs_for(kernel, pidns):
    """The proc filesystem a mount(2) by a task of ``pidns`` gets: one per PID namespace."""
    if pidns is kernel.pidns:
        return kernel.procfs
    if pidns.procfs is None:
        pidns.procfs = ProcFilesystem(kernel, pidns)
    return pidns.procfs


# The sandbox's device majors: the memory devices, the terminals, the pty pairs (no block devices).
_DEVICES = (f"Character devices:\n{MEM_MAJOR:3d} mem\n{TTYAUX_MAJOR:3d} /dev/tty\n{TTYAUX_MAJOR:3d} /dev/ptmx\n"
            f"{UNIX98_PTY_SLAVE_MAJOR:3d} pts\n\nBlock devices:\n")


class ProcRoot(Directory):
    def __init__(self, fs):
        super().__init__(fs, self._entries)
        self.static = {
            b"self": lambda: Symlink(fs, lambda task: b"%d" % fs.seen(_reader(task).tg.tgid)),
            b"thread-self": lambda: Symlink(fs, lambda task: b"%d/task/%d" % (fs.seen(_reader(task).tg.tgid),
                                                                                fs.seen(_reader(task).tid))),
            b"cpuinfo": lambda: GeneratedFile(fs, lambda: fs.cpuinfo),
            b"meminfo": lambda: GeneratedFile(fs, lambda: sysinfo.meminfo(fs.kernel)),
            b"vmstat": lambda: GeneratedFile(fs, lambda: sysinfo.vmstat(fs.kernel)),
            b"swaps": lambda: GeneratedFile(fs, lambda: sysinfo.SWAPS),
            b"partitions": lambda: GeneratedFile(fs, lambda: sysinfo.PARTITIONS),
            b"diskstats": lambda: GeneratedFile(fs, lambda: ""),
            b"uptime": lambda: GeneratedFile(fs, self._uptime, per_task=True),
            b"loadavg": lambda: GeneratedFile(fs, self._loadavg),
            b"version": lambda: GeneratedFile(fs, self._version),
            b"stat": lambda: GeneratedFile(fs, self._stat),
            b"filesystems": lambda: GeneratedFile(fs, proc_filesystems),
            b"devices": lambda: GeneratedFile(fs, lambda: _DEVICES),
            b"mounts": lambda: Symlink(fs, lambda task: b"self/mounts"),
            b"net": lambda: Symlink(fs, lambda task: b"self/net"),
            b"sys": lambda: Directory(fs, self._sys, sysctl=True),
            b"cmdline": lambda: GeneratedFile(fs, self._cmdline),
            b"keys": lambda: GeneratedFile(fs, keys.proc_keys, per_task=True),
            b"key-users": lambda: GeneratedFile(fs, keys.proc_key_users, per_task=True),
            b"locks": lambda: GeneratedFile(fs, lambda t: locks.proc_locks(_reader(t).tg.pidns.id_of), per_task=True),
            b"sysvipc": lambda: Directory(fs, lambda: {
                b"shm": lambda: GeneratedFile(fs, lambda t: _ns(fs.kernel, t).ipc.shm.proc_lines(), per_task=True),
                b"sem": lambda: GeneratedFile(fs, lambda t: _ns(fs.kernel, t).ipc.sem.proc_lines(), per_task=True),
                b"msg": lambda: GeneratedFile(fs, lambda t: _ns(fs.kernel, t).ipc.msg.proc_lines(), per_task=True),
            }),
        }

    def lookup(self, name):
        try:
            return super().lookup(name)
        except SyscallError:
            # /proc/TID of a thread that leads no process: found, though not listed (proc_pid_lookup)
            task = self.fs.pidns.task_of(int(name)) if name.isdigit() and len(name) < 12 else None
            if task is None or task.exited:
                raise
            return ThreadGroupDir(self.fs, task.tg, task, hidden_tid=True)

    def revalidate_child(self, name, child):
        return name in self.static   # (as /proc/sys's; a process's directory is looked up again)

    def _entries(self):
        out = dict(self.static)
        for tgid, tg in self.fs.pidns.groups():
            if not tg.reaped:  # zombies too, until their parent reaps them
                out[b"%d" % tgid] = (lambda tg=tg: ThreadGroupDir(self.fs, tg))
        return out

    def _cmdline(self):
        """The sandbox's own kernel command line (the host's is none of the application's business)."""
        return f"BOOT_IMAGE=snakevisor-{self.fs.kernel.uts.release.decode()} ro quiet\n"

    def _uptime(self, reader):
        k = self.fs.kernel
        up = timens.uptime_ns(k, reader.ns.time if reader else None) / 1e9
        idle = max(0.0, up * cputime.NCPUS - sum(cputime.sandbox_times(k)))
        return f"{up:.2f} {idle:.2f}\n"

    def _loadavg(self):
        k = self.fs.kernel
        a, b, c = os.getloadavg()
        return f"{a:.2f} {b:.2f} {c:.2f} 1/{len(k.pidns.tasks)} {self.fs.pidns.last_id()}\n"

    def _version(self):
        u = self.fs.kernel.uts
        return f"{u.sysname.decode()} version {u.release.decode()} (snakevisor) {u.version.decode()}\n"

    def _stat(self):
        k = self.fs.kernel
        ncpu = cputime.NCPUS
        # The sandbox's own processes' time (not the host's), spread evenly over the CPUs; the
        # rest of the time since boot is idle.
        user, system = cputime.sandbox_times(k)
        idle = max(0.0, (time.monotonic() - k.boot_time) * ncpu - user - system)
        cols = [int(x * CLK_TCK) for x in (user, 0, system, idle)]
        lines = ["cpu  " + " ".join(map(str, cols)) + " 0 0 0 0 0 0"]
        lines += [f"cpu{i} " + " ".join(str(c // ncpu) for c in cols) + " 0 0 0 0 0 0" for i in range(ncpu)]
        boot = int(time.time() - (time.monotonic() - k.boot_time))
        lines += ["intr 0", f"ctxt {k.context_switches}", f"btime {boot}", f"processes {k.pidns.next_id - 1}",
                  "procs_running 1", "procs_blocked 0", "softirq 0 0 0 0 0 0 0 0 0 0 0"]
        return "\n".join(lines) + "\n"

    def _sys(self):
        fs = self.fs
        return {b"kernel": lambda: Directory(fs, self._sys_kernel), b"vm": lambda: Directory(fs, self._sys_vm),
                b"fs": lambda: Directory(fs, self._sys_fs), b"net": lambda: Directory(fs, lambda: sys_net(fs)),
                b"dev": lambda: Directory(fs, lambda: {b"tty": lambda: Directory(fs, lambda: {
                    b"legacy_tiocsti": lambda: WritableFile(fs, lambda: f"{tty.LIMITS['legacy_tiocsti']}\n",
                                                            _set_legacy_tiocsti)})})}

    def _sys_kernel(self):
        fs, k = self.fs, self.fs.kernel
        uts = k.uts
        return {
            b"hostname": lambda: WritableFile(fs, lambda t: _ns(fs.kernel, t).uts.nodename + b"\n",
                                              _uts_writer(k, "nodename"), per_task=True,
                                              watch=lambda t: (_ns(fs.kernel, t).uts, "nodename")),
            b"domainname": lambda: WritableFile(fs, lambda t: _ns(fs.kernel, t).uts.domainname + b"\n",
                                                _uts_writer(k, "domainname"), per_task=True,
                                                watch=lambda t: (_ns(fs.kernel, t).uts, "domainname")),
            b"tainted": lambda: GeneratedFile(fs, lambda: "0\n"),
            # mmap places mappings the same way each run: no address-space randomization
            b"randomize_va_space": lambda: GeneratedFile(fs, lambda: "0\n", 0o644),
            b"core_pattern": lambda: GeneratedFile(fs, lambda: "core\n", 0o644),
            b"ostype": lambda: GeneratedFile(fs, lambda: uts.sysname + b"\n"),
            b"osrelease": lambda: GeneratedFile(fs, lambda: uts.release + b"\n"),
            b"version": lambda: GeneratedFile(fs, lambda: uts.version + b"\n"),
            b"pid_max": lambda: WritableFile(fs, lambda: f"{k.pidns.max_pids}\n",
                                             lambda t, data: k.pidns.set_pid_max(_parse_int(data))),
            # the reader's PID namespace's last id; 0666, the write's check is the handler's
            b"ns_last_pid": lambda: WritableFile(fs, lambda t: f"{_pidns(k, t).last_id()}\n", _set_ns_last_pid,
                                                 0o666, per_task=True),
            b"ngroups_max": lambda: GeneratedFile(fs, lambda: "65536\n"),
            b"overflowuid": lambda: GeneratedFile(fs, lambda: "65534\n", 0o644),   # bubblewrap reads them
            b"overflowgid": lambda: GeneratedFile(fs, lambda: "65534\n", 0o644),
            b"cap_last_cap": lambda: ReadOnlySysctl(fs, lambda: "40\n"),
            b"threads-max": lambda: GeneratedFile(fs, lambda: "63432\n", 0o644),
            **{name.encode(): (lambda name=name: WritableFile(fs, lambda: f"{k.sched_rt[name]}\n",
                                                              lambda t, data: _set_sched_rt(k.sched_rt, name, data)))
               for name in k.sched_rt},
            **{name.encode(): (lambda v=value: GeneratedFile(fs, lambda: v, 0o644)) for name, value in ipc_sysctls()
               if name not in ("msgmni", "shmmni")},
            b"msgmni": lambda: _ipc_limit_file(fs, "msg"),
            b"shmmni": lambda: _ipc_limit_file(fs, "shm"),
            **{f"{kind}_next_id".encode(): (lambda kind=kind: _ipc_next_id_file(fs, kind)) for kind in ("shm", "msg", "sem")},
            b"keys": lambda: Directory(fs, lambda: _limits_dir(fs, keys.key_table(k).limits)),
            b"random": lambda: Directory(fs, lambda: {
                b"uuid": lambda: GeneratedFile(fs, random_uuid),
                b"boot_id": lambda: GeneratedFile(fs, lambda: k.boot_id),
                b"entropy_avail": lambda: GeneratedFile(fs, lambda: "256\n"),
            }),
        }

    def _sys_vm(self):
        fs = self.fs
        return {
            b"overcommit_memory": lambda: GeneratedFile(fs, lambda: "0\n", 0o644),
            # the limit is the Sentry's (each mapping is a host one): not the application's to change
            b"max_map_count": lambda: ReadOnlySysctl(fs, lambda: f"{DEFAULT_MAX_MAP_COUNT}\n"),
            b"mmap_min_addr": lambda: GeneratedFile(fs, lambda: "65536\n", 0o644),
        }

    def _sys_fs(self):
        fs = self.fs
        return {
            b"nr_open": lambda: WritableFile(fs, lambda: f"{fd_limits['nr_open']}\n",
                                             _limit_writer(fd_limits, "nr_open", NR_OPEN_MIN, NR_OPEN_MAX)),
            b"file-max": lambda: GeneratedFile(fs, lambda: "9223372036854775807\n", 0o644),
            b"file-nr": lambda: GeneratedFile(fs, lambda: f"{_open_files(fs.kernel)}\t0\t9223372036854775807\n"),
            b"pipe-max-size": lambda: WritableFile(fs, lambda: f"{pipefs.LIMITS['max_size']}\n", _set_pipe_max_size),
            b"mount-max": lambda: WritableFile(fs, lambda: f"{vfs_limits['mount_max']}\n",
                                               _limit_writer(vfs_limits, "mount_max", 1)),
            b"protected_hardlinks": lambda: WritableFile(fs, lambda: f"{vfs_limits['protected_hardlinks']}\n",
                                                         _limit_writer(vfs_limits, "protected_hardlinks", 0, 1)),
            # Per-user pipe page limits: kept, not enforced (they spare privileged users anyway).
            b"pipe-user-pages-soft": lambda: WritableFile(fs, lambda: f"{pipefs.LIMITS['user_pages_soft']}\n",
                                                          _limit_writer(pipefs.LIMITS, "user_pages_soft")),
            b"pipe-user-pages-hard": lambda: WritableFile(fs, lambda: f"{pipefs.LIMITS['user_pages_hard']}\n",
                                                          _limit_writer(pipefs.LIMITS, "user_pages_hard")),
            b"inotify": lambda: Directory(fs, lambda: _limits_dir(fs, inotify.LIMITS)),
            b"dir-notify-enable": lambda: WritableFile(fs, lambda: f"{dnotify.LIMITS['dir_notify_enable']}\n",
                                                       _limit_writer(dnotify.LIMITS, "dir_notify_enable")),
            b"lease-break-time": lambda: WritableFile(fs, lambda: f"{lease_limits['lease_break_time']}\n",
                                                      _limit_writer(lease_limits, "lease_break_time")),
        }


def _pidns(kernel, t):
    return t.tg.pidns if t is not None else kernel.pidns


def _set_ns_last_pid(t, data):
    """pid_ns_ctl_handler: CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE over the PID namespace's owner."""
    ns = t.tg.pidns
    owner = getattr(ns, "user_ns", None)
    if not (userns.ns_capable(t.creds, owner, CAP_SYS_ADMIN) or
            userns.ns_capable(t.creds, owner, CAP_CHECKPOINT_RESTORE)):
        raise SyscallError(EPERM)
    ns.set_last_id(_parse_int(data))


def _fd_link_mode(f):
    """An fd link's permission bits tell how the file is open (lsof reads them): r-x if readable,
    -wx if writable, none for O_PATH (Linux's tid_fd_update_inode)."""
    return (0o500 if f.readable else 0) | (0o300 if f.writable else 0)


def _open_files(kernel) -> int:
    """file-nr's first figure: the open file descriptions the sandbox's descriptor tables hold."""
    tables = {id(t.fdtable): t.fdtable for t in list(kernel.pidns.tasks.values()) if t.fdtable is not None}
    return len({id(f) for table in tables.values() for _, f in table})


def _escaped_comm(name: bytes) -> str:
    """status's Name: a backslash and a newline escaped (proc_task_name's seq_escape_str with
    ESCAPE_SPACE | ESCAPE_SPECIAL, only "\\n\\\\"), other bytes as they are."""
    return name.replace(b"\\", b"\\\\").replace(b"\n", b"\\n").decode("utf-8", "surrogateescape")


def _in_fs(m) -> bytes:
    """mountinfo's root: where the mount's root is within its filesystem ("/" but for a bind of a
    subtree); a file of a filesystem without a tree (an nsfs file bound somewhere) by its name."""
    if m.root.parent is None and m.root is not m.fs.root:
        return m.root.name
    parts, d = [], m.root
    while d is not None and d is not m.fs.root:
        parts.append(d.name)
        d = d.parent
    return b"/" + b"/".join(reversed(parts))


def _uts_writer(k, field):
    """A write to /proc/sys/kernel/{hostname,domainname}: CAP_SYS_ADMIN's, up to the first newline."""
    def write(task, data):
        if task is not None and not task.creds.has_cap(CAP_SYS_ADMIN):
            raise SyscallError(EPERM)
        _ns(k, task).uts.set(field, data.split(b"\n")[0][:64])
    return write


def _set_legacy_tiocsti(task, data):
    """dev.tty.legacy_tiocsti is a bool sysctl (proc_dobool): any number, nonzero is 1."""
    tty.LIMITS["legacy_tiocsti"] = int(_parse_int(data) != 0)


def _set_pipe_max_size(task, data):
    value = _parse_int(data)
    if not 0 <= value <= 1 << 31:
        raise SyscallError(EINVAL)
    pipefs.LIMITS["max_size"] = pipefs.round_pipe_size(value)   # small values give a page


def _limits_dir(fs, limits):
    """A /proc/sys directory of one writable file per entry of ``limits``."""
    return {name.encode(): (lambda name=name: WritableFile(fs, lambda: f"{limits[name]}\n",
                                                           _limit_writer(limits, name)))
            for name in limits}


def _set_sched_rt(values, name, data):
    """sched_rr_handler: 0 or less restores the default slice (RR_TIMESLICE, 100 ms).
    sched_rt_handler: a period of at least 1 us, a runtime of -1 (unlimited) or from 0 up to
    the period; anything else EINVAL, the old values kept."""
    value = _parse_int(data)
    if name == "sched_rr_timeslice_ms":
        values[name] = value if value > 0 else 100
        return
    new = dict(values, **{name: value})
    period, runtime = new["sched_rt_period_us"], new["sched_rt_runtime_us"]
    if period < 1 or runtime < -1 or runtime != -1 and runtime > period:
        raise SyscallError(EINVAL)
    values[name] = value


def _ipc_limit_file(fs, kind):
    """kernel.msgmni, kernel.shmmni: how many objects the reader's IPC namespace may hold (its
    msg_ctlmni, shm_ctlmni; msgget/shmget ENOSPC past it), written from 0 to IPCMNI."""
    def registry(task):
        return getattr(_reader(task).ns.ipc, kind).registry

    def write(task, data):
        value = _parse_int(data)
        if not 0 <= value <= IPCMNI:
            raise SyscallError(EINVAL)
        registry(task).limit = value
    return WritableFile(fs, lambda task: f"{registry(task).limit}\n", write, per_task=True)


def _ipc_next_id_file(fs, kind):
    """kernel.shm_next_id, msg_next_id, sem_next_id (checkpoint/restore): the id the reader's IPC
    namespace gives its next object of that kind (-1: the usual one; back to -1 once used)."""
    def registry(task):
        return getattr(_reader(task).ns.ipc, kind).registry

    def write(task, data):
        value = _parse_int(data)
        if not -1 <= value <= 0x7FFFFFFF:
            raise SyscallError(EINVAL)
        registry(task).next_id = value
    return WritableFile(fs, lambda task: f"{registry(task).next_id}\n", write, per_task=True)


def _limit_writer(limits, name, minimum=0, maximum=None):
    """A write of a number from ``minimum`` (up to ``maximum``) to limits[name]."""
    def write(task, data):
        value = _parse_int(data)
        if value < minimum or (maximum is not None and value > maximum):
            raise SyscallError(EINVAL)
        limits[name] = value
    return write


# A nodemask as Linux's %*pb prints it: 32-bit groups, most significant first.
_MEMS_ALLOWED = ",".join(["00000000"] * (MAX_NUMNODES // 32 - 1) + ["00000001"])

_USERNS_FILES = (b"uid_map", b"gid_map", b"setgroups", b"timens_offsets")


class ThreadGroupDir(Directory):
    """/proc/PID for a thread group (and /proc/PID/task/TID for one of its threads)."""

    def __init__(self, fs, tg, task=None, hidden_tid=False):
        self.tg = tg
        self.task = task or tg.leader
        self.per_thread = task is not None   # /proc/PID/task/TID: that thread's CPU times
        self.hidden_tid = hidden_tid   # /proc/TID of a thread that leads nothing: a task/ of it alone
        super().__init__(fs, self._entries)
        self.uid, self.gid = self._owner()

    def _owner(self):
        """task_dump_owner: a dumpable process's files are its euid's and egid's, others root's
        (so a process that changed ids writes its own uid_map only after PR_SET_DUMPABLE)."""
        c = self.task.creds
        return (c.euid, c.egid) if self.tg.dumpable == 1 else (0, 0)

    def lookup(self, name):
        inode = super().lookup(name)
        inode.uid, inode.gid = self._owner()
        if name not in _USERNS_FILES:   # the namespace's maps stay readable (seq_file on the namespace)
            inode.gone = self._gone
        return inode

    def _gone(self):
        """ESRCH once the process has been reaped (a thread's directory: once the thread exited)."""
        if self.tg.reaped or (self.per_thread and self.task.exited and self.task is not self.tg.leader):
            raise SyscallError(ESRCH)

    def _file_name(self, reader):
        """maps' name of a mapped file: its path from the reader's root (the process's own for
        the Sentry), as the file is named when read."""
        viewer = reader or self.task
        return lambda file: self.fs.kernel.path_for_maps(viewer, file)

    def _zombie(self):
        return self.tg.exit_status is not None   # its memory is gone: no cmdline, maps, exe

    def _entries(self):
        fs, tg, task = self.fs, self.tg, self.task
        out = {
            b"stat": lambda: GeneratedFile(fs, self._stat, per_task=True),
            b"status": lambda: GeneratedFile(fs, self._status, per_task=True),
            b"maps": lambda: TracedFile(fs, task, lambda t: "" if self._zombie() else procmaps.maps_text(
                task.mm, self._special(), self._file_name(t)), per_task=True),
            b"smaps": lambda: TracedFile(fs, task, lambda t: "" if self._zombie() else procmaps.smaps_text(
                task.mm, self._special(), self._file_name(t)), per_task=True),
            b"smaps_rollup": lambda: TracedFile(fs, task, lambda: procmaps.rollup_text(task.mm, self._special())),
            b"cmdline": lambda: GeneratedFile(fs, lambda: self._mm_range(task.mm.arg_start, task.mm.arg_end)),
            b"environ": lambda: GeneratedFile(fs, lambda: self._mm_range(task.mm.env_start, task.mm.env_end), 0o400),
            b"auxv": lambda: GeneratedFile(fs, lambda: task.mm.auxv, 0o400),
            b"comm": lambda: WritableFile(fs, lambda: task.name + b"\n", self._set_comm),
            b"limits": lambda: GeneratedFile(fs, self._limits),
            b"mounts": lambda: GeneratedFile(fs, lambda: self._mounts(), watch=self._mount_watch),
            b"mountinfo": lambda: GeneratedFile(fs, lambda: self._mountinfo(), watch=self._mount_watch),
            b"exe": lambda: MagicLink(fs, lambda _: task.mm.executable.vd if task.mm.executable and
                                      not self._zombie() else None),
            b"cwd": lambda: MagicLink(fs, lambda _: task.fs.cwd),
            b"root": lambda: MagicLink(fs, lambda _: task.fs.root),
            b"fd": lambda: Directory(fs, self._fds, 0o500),
            b"fdinfo": lambda: Directory(fs, self._fdinfo, 0o500),
            b"oom_score_adj": lambda: WritableFile(fs, lambda: f"{tg.oom_score_adj}\n", self._set_oom_score_adj),
            b"oom_score": lambda: GeneratedFile(fs, self._oom_score),
            b"personality": lambda: TracedFile(fs, task, lambda: f"{tg.personality:08x}\n", 0o400),
            b"cgroup": lambda: GeneratedFile(fs, lambda: "0::/\n"),
            # no kernel symbol to name where a Task sleeps: Linux's answer when it has none (ps: "-")
            b"wchan": lambda: GeneratedFile(fs, lambda: "0"),
            **self._userns_entries(),
            **procfs_audit.audit_entries(fs, task),
            b"statm": lambda: GeneratedFile(fs, self._statm),
            b"mem": lambda: procfs_pid.mem_file(fs, task),
            b"pagemap": lambda: procfs_pid.pagemap_file(fs, task),
            b"ns": lambda: Directory(fs, lambda: nsfs.ns_entries(fs, task, MagicLink), 0o511),
            b"net": lambda: Directory(fs, self._net_files),
            b"io": lambda: GeneratedFile(fs, lambda: procfs_pid.io_text(
                task.ioac if self.per_thread else tg.io_totals()), 0o400),
        }
        if not self.per_thread:   # the process's (Linux's tgid_base_stuff only)
            out[b"coredump_filter"] = lambda: WritableFile(fs, lambda: f"{tg.coredump_filter:08x}\n",
                                                           self._set_coredump_filter)
            out[b"timerslack_ns"] = lambda: WritableFile(fs, lambda: f"{task.timer_slack_ns}\n",
                                                         self._set_timerslack, 0o666)
        if self.per_thread:   # the processes this thread forked (Linux keeps children per thread)
            out[b"children"] = lambda: GeneratedFile(fs, lambda: procfs_pid.children_text(task, fs.seen), 0o444)
        if self.hidden_tid:
            out[b"task"] = lambda: Directory(fs, lambda: {b"%d" % fs.seen(task.tid): lambda: ThreadGroupDir(fs, tg, task)})
        elif not self.per_thread:   # /proc/PID/task/TID has no task/ of its own (walkers would recurse)
            out[b"task"] = self._task_dir
        return out

    def _task_dir(self):
        """/proc/PID/task: a directory per live thread, and a link more for each (proc_task_getattr)."""
        fs, tg = self.fs, self.tg
        live = [t for t in tg.tasks if not t.exited]
        d = Directory(fs, lambda: {b"%d" % fs.seen(t.tid): (lambda t=t: ThreadGroupDir(fs, tg, t))
                                   for t in tg.tasks if not t.exited})
        d.nlink = 2 + len(live)
        return d

    def _net_files(self):
        """/proc/PID/net: the files of the process's network namespace."""
        fs, task = self.fs, self.task
        return {name: (lambda g=g: GeneratedFile(fs, lambda: g(netns.of_task(task))))
                for name, g in procfs_net.FILES.items()}

    def _special(self):
        return special.mappings(self.task.mm)

    def _set_comm(self, writer, data):
        """comm_write: a thread of the same process renames the thread (pthread_setname_np of
        another thread writes here): the bytes up to a NUL, 15 at most, a newline kept."""
        if writer is None or writer.tg is not self.tg:
            raise SyscallError(EINVAL)
        self.task.name = data.split(b"\0")[0][:15]

    def _oom_score(self):
        """oom_badness's scale: the resident share of memory in thousandths, plus oom_score_adj."""
        if self._zombie():
            return "0\n"
        total = sysinfo.memory_kb(self.fs.kernel)[0] * 1024
        points = procmaps.resident_bytes(self.task.mm) * 1000 // total + self.tg.oom_score_adj
        return f"{max(0, min(2000, points))}\n"

    def _set_coredump_filter(self, writer, data):
        self.tg.coredump_filter = _parse_int(data) & 0xFFFFFFFF   # (kept; no core is ever dumped)

    def _set_timerslack(self, writer, data):
        """timerslack_ns_write: the task's slack in ns, decimal (0: the slack it started with, as
        PR_SET_TIMERSLACK's 0); another task's needs CAP_SYS_NICE."""
        text = data.split(b"\0")[0].strip().removeprefix(b"+")
        if not text.isdigit() or int(text) >= 1 << 64:
            raise SyscallError(EINVAL)
        if writer is not None and writer is not self.task and not writer.creds.has_cap(CAP_SYS_NICE):
            raise SyscallError(EPERM)
        self.task.timer_slack_ns = int(text) or self.task.default_timer_slack_ns

    def _set_oom_score_adj(self, writer, data):
        value = _parse_int(data)
        if not -1000 <= value <= 1000:
            raise SyscallError(EINVAL)
        if value < self.tg.oom_score_adj and writer is not None and not writer.creds.has_cap(CAP_SYS_RESOURCE):
            raise SyscallError(EACCES)
        self.tg.oom_score_adj = value

    def _mm_range(self, start, end):
        if self._zombie():
            return b""
        try:
            return self.task.mm.copy_in(start, end - start)
        except SyscallError:
            return b""

    def _fds(self):
        task = self.task
        return {b"%d" % fd: (lambda f=f: MagicLink(self.fs, lambda _, f=f: f.vd, _fd_link_mode(f))) for fd, f in task.fdtable}

    def _fdinfo(self):
        task = self.task
        return {b"%d" % fd: (lambda fd=fd, f=f: GeneratedFile(self.fs, lambda: self._fdinfo_text(fd, f)))
                for fd, f in task.fdtable}

    def _fdinfo_text(self, fd, f):
        """Linux's seq_show: the description's flags, and O_CLOEXEC if the descriptor has FD_CLOEXEC
        (kept in the table, not the description)."""
        try:
            cloexec = self.task.fdtable.get_cloexec(fd)
        except SyscallError:
            cloexec = False   # closed meanwhile
        flags = f.flags | (O_CLOEXEC if cloexec else 0)
        extra = getattr(f.impl, "fdinfo", None)   # the file's show_fdinfo (inotify's watches)
        return f"pos:\t{f.offset}\nflags:\t0{flags:o}\nmnt_id:\t{f.vd.mount.id}\n" + (extra() if extra else "")

    def _vm_kb(self):
        total = sum(v.end - v.start for v in self.task.mm.vmas) // 1024
        return total

    def _rss_kb(self):
        return procmaps.resident_bytes(self.task.mm) // 1024

    _STATE_NAMES = {"R": "R (running)", "S": "S (sleeping)", "T": "T (stopped)", "Z": "Z (zombie)",
                    "t": "t (tracing stop)"}

    def _state(self):
        """R runs or is about to (the reader itself); S waits in a syscall (any wait: a
        descriptor, a queue, a timer), as an interruptible sleep does on Linux."""
        tg, task = self.tg, self.task
        if tg.exit_status is not None:
            return "Z"
        if ptrace.tracing_stop(task):
            return "t"
        if tg.stopped:
            return "T"
        loop = self.fs.kernel.loop
        if task.cancel_wait is not None or (task.wait_token and loop._has_timer(task)):
            return "S"
        return "R"

    def _stat(self, reader):
        tg, task = self.tg, self.task
        k, seen = self.fs.kernel, self.fs.seen
        ppid = seen(tg.parent.tgid) if tg.parent else 0
        start = int((tg.start_time - k.boot_time) * CLK_TCK)
        mm = task.mm
        vsize, rss = self._vm_kb() * 1024, self._rss_kb() // 4
        state = self._state()
        # (a thread's own times when it reads its own: /proc/thread-self/stat)
        utime, stime = cputime.thread_times(task, reader) if self.per_thread else cputime.group_times(tg)
        cutime, cstime = tg.children_cpu
        ticks = [int(x * CLK_TCK) for x in (utime, stime, cutime, cstime)]
        policy, rt_priority = task.sched[0], task.sched[1]
        # task_prio: 20 + nice, or -1 - the real-time priority (the nice value stays, unused)
        prio = -1 - rt_priority if policy in (SCHED_FIFO, SCHED_RR) else 20 + task.nice
        fields = [seen(task.tid), f"({task.name.decode(errors='surrogateescape')})", state, ppid, seen(tg.pgid), seen(tg.sid), 0, -1,
                  0x400000, 0, 0, 0, 0, *ticks, prio, task.nice, self._threads(), 0, start, vsize, rss,
                  RLIM_INFINITY, 0, 0, 0, 0, 0, 0, task.sigmask, 0, 0, 0, 0, 0, 17, 0, rt_priority, policy, 0, 0, 0,
                  0, mm.brk_start, mm.arg_start, mm.arg_end, mm.env_start, mm.env_end, 0]
        return " ".join(str(x) for x in fields) + "\n"

    def _threads(self):
        """signal->nr_threads: the live threads, and the leader until it is reaped (a zombie: 1)."""
        return sum(1 for t in self.tg.tasks if not t.exited or t is self.tg.leader)

    def _statm(self):
        pages, rss = self._vm_kb() // 4, self._rss_kb() // 4
        return f"{pages} {rss} 0 0 0 {pages} 0\n"

    def _userns_entries(self):
        """uid_map, gid_map and setgroups of the task's user namespace (kernel/userns.py), and
        timens_offsets of its children's time namespace (kernel/timens.py)."""
        fs, task = self.fs, self.task
        maps = {b"%s_map" % w.encode(): (lambda w=w: WritableFile(
                    fs, lambda reader: userns.show_map(task.creds.user_ns, w, reader),
                    lambda writer, data: userns.write_map(task.creds.user_ns, w, writer, data), per_task=True))
                for w in ("uid", "gid")}
        if not self.per_thread:   # Linux keeps it to /proc/PID (not /proc/PID/task/TID)
            maps[b"timens_offsets"] = lambda: WritableFile(
                fs, lambda: timens.show_offsets(task.ns.time_children),
                lambda writer, data: timens.write_offsets(task.ns.time_children, writer, data,
                                                          lambda c, cap: userns.owner_capable(c, task.ns.time_children, cap)))
        maps[b"setgroups"] = lambda: WritableFile(fs, lambda: userns.show_setgroups(task.creds.user_ns),
                                                  lambda writer, data: userns.write_setgroups(task.creds.user_ns,
                                                                                              writer, data))
        return maps

    def _status(self, reader):
        tg, task, c, seen = self.tg, self.task, self.task.creds, self.fs.seen
        uid = lambda k: userns.id_in(reader.creds, k) if reader is not None else k   # noqa: E731
        gid = lambda k: userns.id_in(reader.creds, k, "gid") if reader is not None else k   # noqa: E731
        ppid = seen(tg.parent.tgid) if tg.parent else 0
        vm, rss = self._vm_kb(), self._rss_kb()
        hwm = max(tg.maxrss >> 10, self.task.mm.hiwater_rss >> 10, rss)
        locked_kb = mlock.locked_bytes(self.task.mm) // 1024
        ign = cgt = 0
        for sig, act in tg.sigactions.items():
            if act[0] == 1:
                ign |= 1 << (sig - 1)
            elif act[0] != 0:
                cgt |= 1 << (sig - 1)
        ncpu = cputime.NCPUS
        rows = [
            ("Name", _escaped_comm(task.name)), ("Umask", f"{task.fs.umask:04o}"),
            ("State", self._STATE_NAMES[self._state()]),
            ("Tgid", seen(tg.tgid)), ("Ngid", 0), ("Pid", seen(task.tid)), ("PPid", ppid),
            ("TracerPid", seen(ptrace.tracer_tid(task))),
            ("Uid", "\t".join(str(uid(k)) for k in (c.uid, c.euid, c.suid, c.fsuid))),
            ("Gid", "\t".join(str(gid(k)) for k in (c.gid, c.egid, c.sgid, c.fsgid))),
            ("FDSize", 64), ("Groups", " ".join(str(gid(g)) for g in c.groups)), *self._ns_rows(),
            ("VmPeak", f"{vm:8d} kB"), ("VmSize", f"{vm:8d} kB"), ("VmLck", f"{locked_kb:8d} kB"), ("VmHWM", f"{hwm:8d} kB"),
            ("VmRSS", f"{rss:8d} kB"), ("VmData", f"{vm:8d} kB"), ("VmStk", "     132 kB"), ("VmExe", "       0 kB"),
            ("VmLib", "       0 kB"), ("VmSwap", "       0 kB"), ("Threads", self._threads()),
            ("SigQ", "0/63432"), ("SigPnd", f"{0:016x}"), ("ShdPnd", f"{0:016x}"), ("SigBlk", f"{task.sigmask:016x}"),
            ("SigIgn", f"{ign:016x}"), ("SigCgt", f"{cgt:016x}"), ("CapInh", f"{c.cap_inheritable:016x}"),
            ("CapPrm", f"{c.cap_permitted:016x}"), ("CapEff", f"{c.cap_effective:016x}"),
            ("CapBnd", f"{c.cap_bounding:016x}"), ("CapAmb", f"{c.cap_ambient:016x}"), ("NoNewPrivs", int(c.no_new_privs)),
            *seccomp.status_rows(task), ("Cpus_allowed", f"{(1 << ncpu) - 1:x}"), ("Cpus_allowed_list", f"0-{ncpu - 1}"),
            ("Mems_allowed", _MEMS_ALLOWED), ("Mems_allowed_list", "0"),   # node 0 alone (syscalls/numa.py)
            ("voluntary_ctxt_switches", task.nvcsw), ("nonvoluntary_ctxt_switches", 0),
        ]
        return "".join(f"{k}:\t{v}\n" for k, v in rows)

    def _ns_rows(self):
        """NStgid/NSpid/NSpgid/NSsid: the ids in each PID namespace from the proc's down to the task's."""
        tg, level = self.tg, self.fs.pidns.level
        return [(name, "\t".join(str(i) for i in tg.pidns.ids(gid)[level:]))
                for name, gid in (("NStgid", tg.tgid), ("NSpid", self.task.tid), ("NSpgid", tg.pgid),
                                  ("NSsid", tg.sid))]

    def _limits(self):
        units = {"cpu": "seconds", "fsize": "bytes", "data": "bytes", "stack": "bytes", "core": "bytes",
                 "rss": "bytes", "nproc": "processes", "nofile": "files", "memlock": "bytes", "as": "bytes",
                 "locks": "locks", "sigpending": "signals", "msgqueue": "bytes", "nice": "", "rtprio": "",
                 "rttime": "us"}
        titles = ["Max cpu time", "Max file size", "Max data size", "Max stack size", "Max core file size",
                  "Max resident set", "Max processes", "Max open files", "Max locked memory", "Max address space",
                  "Max file locks", "Max pending signals", "Max msgqueue size", "Max nice priority",
                  "Max realtime priority", "Max realtime timeout"]
        out = [f"{'Limit':<26}{'Soft Limit':<21}{'Hard Limit':<21}{'Units':<10}"]
        for i, name in enumerate(RLIMIT_NAMES):
            soft, hard = self.tg.limits[i]
            fmt = lambda v: "unlimited" if v == RLIM_INFINITY else str(v)  # noqa: E731
            out.append(f"{titles[i]:<26}{fmt(soft):<21}{fmt(hard):<21}{units[name]:<10}")
        return "\n".join(out) + "\n"

    def _mount_watch(self, opener):
        """What a /proc/PID/mounts or mountinfo description watches: the namespace the process
        has when it is opened (proc_mounts' ns), whatever either does later."""
        return self.task.ns.mnt, "mounts"

    def _mount_rows(self):
        """The mounts of the task's namespace it can reach from its root (show_vfsmnt skips others),
        by mount id as Linux 6.8+ lists them (a moved mount keeps its place)."""
        root = self.task.fs.root
        for m in sorted(self.task.ns.mnt.mounts, key=lambda m: m.id):
            vd = type(root)(m, m.root)
            if is_reachable(vd, root):
                yield m, path_of(vd, root), m.options()

    def _mounts(self):
        return "".join(f"{mangle(m.source or b'none')} {mangle(t)} {m.fs.name} {o} 0 0\n"
                       for m, t, o in self._mount_rows())

    def _mountinfo(self):
        rows = []
        root = self.task.fs.root
        for m, t, o in self._mount_rows():
            mid = m.id
            pid = m.parent.id if m.parent is not None else ROOTFS_ID
            dev = m.fs.dev
            rows.append(f"{mid} {pid} {dev >> 8 & 0xfff}:{dev & 0xff} {mangle(_in_fs(m))} "
                        f"{mangle(t)} {m.mount_options()} {m.propagation_fields(root)}- {m.fs.name} "
                        f"{mangle(m.source or b'none')} "
                        f"{m.super_options()}\n")
        return "".join(rows)
