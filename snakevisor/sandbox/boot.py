"""The sandbox process of an OCI container (``snakevisor sandbox-boot``, started by ``create``).

It runs as pid 1 of its own PID namespace (the spawner made it so) and:
enters its mount/IPC/UTS/network namespaces, starts the Gofer for the root and the
bind mounts, boots the Sentry and loads the init process without running it, pivots
to an empty root, installs its seccomp filter, opens the control socket, tells the
spawner it is ready, then serves the control socket on the Sentry's loop: ``start``
lets init run; ``exec``, ``kill``, ``ps`` and ``stats`` act on the running kernel.
When init exits, the exit code goes to ``<state dir>/exit`` (opened before the
pivot) and the process exits with it, taking the whole namespace with it.
"""
from __future__ import annotations

import logging
import os
import socket
import stat
import sys

from snakevisor.abi import signal as S
from snakevisor.abi.capability import cap_mask
from snakevisor.abi.errno import ENOENT, ESRCH, SyscallError
from snakevisor.oci.config import load_spec, parse_process
from snakevisor.sandbox import lockdown
from snakevisor.sandbox import control
from snakevisor.sandbox.control import ControlServer
from snakevisor.sandbox.do import wait_status_to_exit_code
from snakevisor.sandbox.gofer_process import GoferMount, GoferProcess
from snakevisor.sandbox.mounts import OciLayout, host_bind_flags
from snakevisor.sandbox.overlay2 import MEMORY, make_upper, parse_overlay2, remove_upper
from snakevisor.sandbox.sentry_boot import DEFAULT_PATH, BootError, Sentry, SentryConfig, find_new_program
from snakevisor.sandbox.state import CONTROL_SOCKET, EXIT_FILE, OVERLAY_UPPER_FILE
from snakevisor.sentry.fsimpl.host import new_host_file
from snakevisor.sentry.kernel.creds import Credentials
from snakevisor.sentry.kernel.signals import make_siginfo
from snakevisor.sentry.vfs.context import FSContext
from snakevisor.abi.resource import RLIMIT_NOFILE
from snakevisor.sentry.vfs.fdtable import FDTable

log = logging.getLogger("snakevisor")


# -- config.json -> the Sentry's view ---------------------------------------------------
def credentials(process, base=None):
    """Credentials for ``process`` (an oci.config.Process): ids, groups, capabilities, no_new_privs."""
    u = process.user
    creds = (base.copy() if base is not None else Credentials())
    creds.uid = creds.euid = creds.suid = creds.fsuid = u.uid
    creds.gid = creds.egid = creds.sgid = creds.fsgid = u.gid
    creds.groups = list(u.additional_gids)
    caps = process.capabilities
    if caps is not None:
        creds.cap_bounding = cap_mask(caps.bounding)
        creds.cap_permitted = cap_mask(caps.permitted)
        creds.cap_effective = cap_mask(caps.effective)
        creds.cap_inheritable = cap_mask(caps.inheritable)
        creds.cap_ambient = cap_mask(caps.ambient) & creds.cap_permitted & creds.cap_inheritable
        if u.uid != 0:
            # execve by a non-root user keeps only the ambient capabilities.
            creds.cap_permitted = creds.cap_effective = creds.cap_ambient
    elif u.uid != 0:
        creds.cap_permitted = creds.cap_effective = 0
    creds.no_new_privs = process.no_new_privileges or creds.no_new_privs
    return creds


def gofer_mounts(spec):
    """(GoferMounts, OciLayout) of ``spec``: the root and one Gofer mount per bind of a directory or
    regular file, and the mounts in config order with the index of the Gofer socket of each."""
    # The root is an overlay whatever root.readonly says (the host's directory is never written);
    # the Sentry makes it read-only after creating the mount points in it.
    mounts = [GoferMount("root", spec.root.path, False)]
    layout = OciLayout(masked_paths=list(spec.masked_paths), readonly_paths=list(spec.readonly_paths),
                       sysctl=dict(spec.sysctl))
    for i, m in enumerate(spec.mounts):
        sock = None
        if m.is_bind:   # load_spec made the source absolute and checked that it exists
            st = os.stat(m.source)
            if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode):
                layout.inherited[len(layout.mounts)] = host_bind_flags(m)
                sock = len(mounts)
                mounts.append(GoferMount(f"m{i}", m.source, m.readonly))
            else:   # a device, FIFO or socket: a node of the Sentry's stands for it (mounts.py)
                layout.nodes[len(layout.mounts)] = (st.st_mode, st.st_rdev)
        layout.mounts.append((m, sock))
    return mounts, layout


def sentry_config(spec, cid, network, strace, net_raw=False, directfs=False):
    p = spec.process
    mounts, layout = gofer_mounts(spec)
    cfg = SentryConfig(argv=list(p.args), env=p.env_dict(), cwd=p.cwd, strace=strace,
                       hostname=sandbox_hostname(spec, cid), memory_limit=spec.resources.memory_limit,
                       oci=layout, creds=credentials(p),
                       rlimits={r.resource: (r.soft, r.hard) for r in p.rlimits},
                       max_tasks=spec.resources.pids_limit, network=network, root_readonly=spec.root.readonly,
                       # A terminal (create made the console's replica our stdio): a Sentry pty bridged to
                       # it, as `do -t` has, so that the container sees a terminal of its own (/dev/pts/0).
                       tty=p.terminal and os.isatty(0),
                       net_raw=net_raw, cwd_missing="create", directfs=directfs)
    return cfg, mounts


def utsns_path(spec):
    """The UTS namespace config.json names to join, or None."""
    ns = spec.namespace("uts")
    return ns.path if ns is not None and ns.path else None


def sandbox_hostname(spec, cid):
    """config.json's hostname; with a UTS namespace to join, that namespace's (its sandbox set it to
    its own: lockdown.enter_namespaces, which has made ours a copy of it by now); else the id."""
    if spec.hostname:
        return spec.hostname
    if utsns_path(spec):
        return socket.gethostname()
    return cid[:63]


def network_mode(spec, override):
    """("none"|"host" for the Sentry, a netns path to join or None)."""
    if override:
        return override, None
    ns = spec.namespace("network")
    if ns is None:
        return "host", None      # no network namespace in the config: the host's, as runc does
    if ns.path:
        return "host", ns.path   # join it; the Sentry then uses "its" namespace as is
    return "none", None


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


# -- the sandbox ---------------------------------------------------------------------
class Sandbox:
    def __init__(self, spec, cid, state_dir, sentry, gofer):
        self.spec, self.cid, self.state_dir = spec, cid, state_dir
        self.sentry, self.gofer = sentry, gofer
        self.kernel = sentry.kernel
        self.init_task = None
        self.started = False
        self.status_before_start = None   # killed before start: the wait status to report

    # control requests ------------------------------------------------------------
    def handle(self, conn, msg, fds):
        op = msg.get("op")
        if op != "exec":
            for fd in fds:
                os.close(fd)
        if op == "start":
            if self.started:
                return {"error": "container already started"}
            self.started = True
            self.kernel.start_task(self.init_task)
            return {"ok": True}
        if op == "kill":
            return self._kill(int(msg.get("signal", S.SIGTERM)), bool(msg.get("all")), msg.get("pid"),
                              bool(msg.get("group")))
        if op == "ps":
            return self._ps(int(msg.get("after", 0)))
        if op == "stats":
            mf = self.kernel.memory_file
            return {"memory": mf.allocated, "memory_limit": mf.limit, "tasks": len(self.kernel.pidns.tasks),
                    "pids_limit": self.kernel.max_tasks}
        if op == "exec":
            return self._exec(conn, msg, fds)
        if op == "debug-open":
            # Proves the lockdown from outside: the Sentry process itself tries open(2).
            try:
                os.close(os.open(msg.get("path", "/proc/self/status"), os.O_RDONLY))
                return {"errno": 0}
            except OSError as e:
                return {"errno": e.errno}
        return {"error": f"unknown control operation {op!r}"}

    def _kill(self, sig, everything, pid, group=False):
        """``group``: the whole process group ``pid`` leads (an exec'd process is a group
        leader: killing its group takes its children too, as kill(-pid) would)."""
        if not 1 <= sig <= 64:
            return {"error": f"invalid signal {sig}"}
        if not self.started:
            if sig in (S.SIGCONT, S.SIGCHLD, S.SIGURG, S.SIGWINCH, 0):
                return {"ok": True}
            self.status_before_start = sig   # init never ran: it dies of the signal
            self.kernel.loop.running = False
            return {"ok": True}
        groups = list(self.kernel.pidns.thread_groups.values()) if everything else \
            [self.kernel.pidns.thread_groups.get(int(pid))] if pid is not None else [self.kernel.init]
        if group and pid is not None:
            groups = self.kernel.pidns.process_group(int(pid))
        if not groups or groups[0] is None:
            return control.error_reply(f"no such process {pid}", ESRCH)
        for tg in groups:
            self.kernel.signals.send_to_group(tg, sig, make_siginfo(sig, S.SI_USER))
        return {"ok": True}

    def _ps(self, after=0):
        """The processes with a pid above ``after``, as many as fit in one control message;
        ``more`` says the client should ask again after the last pid (control.list_processes)."""
        out, size = [], 0
        for tgid, tg in sorted(self.kernel.pidns.thread_groups.items()):
            if tgid <= after:
                continue
            leader = tg.leader
            cmd = b""
            if leader is not None and leader.mm is not None and tg.exit_status is None:
                try:
                    cmd = leader.mm.copy_in(leader.mm.arg_start, min(leader.mm.arg_end - leader.mm.arg_start, 4096))
                except (SyscallError, AttributeError):
                    cmd = b""
            entry = {"pid": tgid, "ppid": tg.parent.tgid if tg.parent is not None else 0,
                     "uid": leader.creds.uid if leader is not None else 0,
                     "name": _text(getattr(leader, "name", b"?")) if leader is not None else "?",
                     "cmd": cmd.rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", "replace"),
                     "state": "Z" if tg.exit_status is not None else ("T" if tg.stopped else "S"),
                     "threads": len(tg.live_tasks), "start": tg.start_time - self.kernel.boot_time}
            size += len(control.encode(entry)) + 2
            if out and size > control.MAX_MESSAGE - 256:
                return {"processes": out, "more": True}
            out.append(entry)
        return {"processes": out, "more": False}

    def _exec(self, conn, msg, fds):
        fdtable = FDTable()
        try:
            if len(fds) != 3:
                raise ValueError("exec needs three descriptors (stdin, stdout, stderr)")
            process = parse_process(msg.get("process"))
            for i, fd in enumerate(fds):
                fdtable.install_at(i, new_host_file(fd))
            fds = []
        except Exception:
            for fd in fds:
                os.close(fd)
            fdtable.close_all()
            raise
        root = self.sentry.root
        try:
            cwd = self.sentry.lookup_dir(process.cwd)
        except SyscallError as e:
            fdtable.close_all()
            return control.error_reply(f"chdir to cwd ({process.cwd!r}) set in config.json failed: "
                                       f"{os.strerror(e.errno)}", e.errno, "cwd")
        fs = FSContext(root, cwd)
        env = dict(self.spec.process.env_dict())
        env.update(process.env_dict())
        env.setdefault("PATH", DEFAULT_PATH)
        creds = credentials(process, self.kernel.init.leader.creds if self.kernel.init and
                            self.kernel.init.leader else None)
        argv = [a.encode() for a in process.args]
        tgs = []   # the new process's thread group, for its exit report
        try:
            prog = find_new_program(self.kernel, fs, creds, argv[0], env.get("PATH"))
            task = self.kernel.create_process(prog, argv, [f"{k}={v}".encode() for k, v in env.items()],
                                              fdtable, fs, creds, parent=None,
                                              on_exit=lambda status: self._exec_exited(conn, status, tgs[0]))
        except SyscallError as e:
            fdtable.close_all()
            fs.release()
            what = "executable file not found in $PATH" if e.errno == ENOENT else os.strerror(e.errno)
            return control.error_reply(f"exec: {process.args[0]!r}: {what}", e.errno, "program")
        tgs.append(task.tg)
        task.tg.limits.update({r.resource: (r.soft, r.hard) for r in process.rlimits})
        fdtable.set_limit(task.tg.limits[RLIMIT_NOFILE][0])
        conn.keep = True
        conn.reply({"pid": task.tg.tgid})
        self.kernel.start_task(task)
        return None

    @staticmethod
    def _exec_exited(conn, status, tg):
        # CPU seconds of the process and of the children it waited for (getrusage's SELF + CHILDREN).
        user, system = tg.cpu_final or (0.0, 0.0)
        cu, cs = tg.children_cpu
        conn.reply({"status": status, "user": user + cu, "system": system + cs})
        conn.close()

    # running -------------------------------------------------------------------------
    def serve(self, listener):
        ControlServer(self.kernel.loop, listener, self.handle)
        self.sentry.start_host_io()
        try:
            self.kernel.loop.run()
        finally:
            self.sentry.stop_host_io()
            self.kernel.shutdown()
            for fs in self.sentry.gofer_filesystems:
                try:
                    fs.sync_all()
                except Exception:   # the Gofer may be gone already
                    pass
        if self.status_before_start is not None:
            return self.status_before_start
        return self.kernel.init.exit_status


def _report(ready_fd, text):
    if ready_fd is not None:
        try:
            os.write(ready_fd, (text.replace("\n", " ") + "\n").encode())
        except OSError:
            pass


def boot_main(args):
    """``snakevisor sandbox-boot``: returns only on failure (else os._exit with init's exit code)."""
    ready_fd = args.ready_fd
    state_dir = args.state_dir
    gofer = upper = None
    try:
        spec = load_spec(args.bundle)
        network, netns_path = network_mode(spec, args.network)
        uts = utsns_path(spec)
        lockdown.enter_namespaces(netns_path, uts, hostname=None if uts else sandbox_hostname(spec, args.id))
        directfs = getattr(args, "directfs", False)
        config, mounts = sentry_config(spec, args.id, network, args.strace, getattr(args, "net_raw", False), directfs)
        config.oci.own_netns = network == "none" or netns_path is not None
        config.etc_files = args.network is not None   # snakevisor's networking (the API's), not the config's
        config.platform = args.platform
        exit_fd = os.open(os.path.join(state_dir, EXIT_FILE), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC,
                          0o644)
        sock_path = os.path.join(state_dir, CONTROL_SOCKET)
        try:
            os.unlink(sock_path)
        except FileNotFoundError:
            pass
        listener = ControlServer.listen(sock_path)
        # Checked by the verb that started this process (oci_verbs._Opts).
        overlay = parse_overlay2(args.global_overlay2) if args.global_overlay2 else MEMORY
        upper = make_upper(overlay)
        if upper is not None:   # removed with the state (StateStore.remove): this process ends locked down
            with open(os.path.join(state_dir, OVERLAY_UPPER_FILE), "w") as f:
                f.write(upper)
        gofer = GoferProcess(mounts, isolate=True, overlay=overlay.overlay, overlay_upper=upper, directfs=directfs)
        sentry = Sentry(config, gofer.sockets)
        gofer.pin_to(os.sched_getaffinity(0))
        sandbox = Sandbox(spec, args.id, state_dir, sentry, gofer)
        sandbox.init_task = sentry.load_init()
        lockdown.preload_modules()
        bpf = None if args.no_seccomp else lockdown.seccomp_filter(network, directfs)
        lockdown.lock_down(bpf, pivot=not args.no_pivot)
    except Exception as e:   # one line to the spawner, which prints it and cleans up
        msg = f"process.{e}" if isinstance(e, BootError) else str(e)
        if isinstance(e, SyscallError):
            msg = (f"exec: {spec.process.args[0]!r}: executable file not found in $PATH" if e.errno == ENOENT
                   else f"cannot start the container's process: {os.strerror(e.errno)}")
        log.debug("sandbox boot failed", exc_info=True)
        _report(ready_fd, "error: " + (msg or type(e).__name__))
        if gofer is not None:
            gofer.stop()
        remove_upper(upper)
        return 1
    _report(ready_fd, "ok")
    os.close(ready_fd)
    status = sandbox.serve(listener)
    code = wait_status_to_exit_code(status)
    try:
        os.write(exit_fd, f"{code}\n".encode())
    except OSError:
        pass
    gofer.stop()
    sys.stdout.flush()
    os._exit(code)
