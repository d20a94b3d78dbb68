"""The container state directory: ``<root>/<id>/`` with ``state.json``, the control socket and the
exit status file.

``StateStore(root)`` owns the root directory. Every read-modify-write of a state happens
under ``store.locked()`` (an flock on ``<root>/.lock``, held briefly, never while waiting
for a sandbox), and ``state.json`` is replaced atomically (write a temporary file, rename), so
concurrent ``snakevisor`` invocations never see a torn or lost update. Not fsync'ed, as runc's: the
state describes processes, which a crash of the host ends anyway (the root is a tmpfs, /run, as a
rule), and a create, start or delete would wait for the disk four times in a cycle.

The status the OCI ``state`` verb reports is computed, not just stored: a sandbox process
that is gone (or a zombie, or a recycled pid) means ``stopped``, and so does an exit
status written by the sandbox when its init process exited.

The light verbs (cli/light.py: start, state, kill, delete, a fresh interpreter each) import this
module: it imports no more than they need (json, fcntl, os, re: no dataclasses, datetime or shutil).
"""
from __future__ import annotations

import fcntl
import json
import os
import re

OCI_VERSION = "1.0.2-dev"
# runc's container ids: ASCII letters, digits, _ + - . (Python's \w alone would take any Unicode
# letter), not "." or ".."; the id names a directory, so at most NAME_MAX bytes.
ID_RE = re.compile(r"[A-Za-z0-9_+\-.]+")
ID_MAX = 255
DEFAULT_ROOT = "/run/snakevisor"


def default_root(environ=os.environ):
    """The state root without --root, chosen as runc chooses its own: $XDG_RUNTIME_DIR/snakevisor for
    an unprivileged user, and for root in a user namespace (rootless Podman runs its runtime as
    uid 0 of one) unless $USER says root; else /run/snakevisor."""
    xdg = environ.get("XDG_RUNTIME_DIR")
    if xdg and (os.geteuid() != 0 or (_in_user_namespace() and environ.get("USER") != "root")):
        return os.path.join(xdg, "snakevisor")
    return DEFAULT_ROOT


def _in_user_namespace():
    try:
        with open("/proc/self/uid_map") as f:
            return f.read().split() != ["0", "0", "4294967295"]
    except OSError:
        return False


STATE_FILE = "state.json"
CONTROL_SOCKET = "control.sock"
EXIT_FILE = "exit"
OVERLAY_UPPER_FILE = "overlay-upper"   # --overlay2=root:DIR: the upper layer made for the container


class StateError(Exception):
    """A lifecycle error for the user: one line."""


class ContainerState:
    """A container's stored state (state.json's fields, in this order)."""
    __slots__ = ("id", "bundle", "status", "pid", "pid_start", "sandbox_pid", "sandbox_start", "created",
                 "annotations", "rootfs", "owner", "hooks", "exit_status")

    def __init__(self, id, bundle, status="creating", pid=0, pid_start=0, sandbox_pid=0, sandbox_start=0,
                 created="", annotations=None, rootfs="", owner="", hooks=None, exit_status=None):
        self.id, self.bundle = id, bundle
        self.status = status              # as stored: creating, created, running, stopped
        self.pid = pid                    # the sandbox process (host pid)
        self.pid_start = pid_start        # its start time (clock ticks), against pid reuse
        # Created warm (snakevisor/warm/): pid is the keeper's, the caller's process that lives as long
        # as the sandbox and exits with its code; these are the sandbox process's (0: pid is it).
        self.sandbox_pid = sandbox_pid
        self.sandbox_start = sandbox_start
        self.created = created
        self.annotations = {} if annotations is None else annotations
        self.rootfs = rootfs
        self.owner = owner
        self.hooks = {} if hooks is None else hooks   # kind -> [hook objects] from config.json (for poststop)
        self.exit_status = exit_status    # the container's exit code once stopped

    def as_dict(self):
        return {name: getattr(self, name) for name in self.__slots__}

    def oci(self, status):
        """The OCI state object (runtime-spec "State")."""
        out = {"ociVersion": OCI_VERSION, "id": self.id, "status": status, "bundle": self.bundle}
        if status not in ("stopped",) and self.pid:
            out["pid"] = self.pid
        else:
            out["pid"] = 0
        out["rootfs"] = self.rootfs
        out["created"] = self.created
        out["owner"] = self.owner
        if self.annotations:
            out["annotations"] = self.annotations
        return out


def now_rfc3339():
    import datetime   # create alone needs it
    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def process_start_time(pid):
    """Start time of ``pid`` in clock ticks, or None when it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2:].split()
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def _remove_dir_of_files(path):
    """shutil.rmtree(path, ignore_errors=True) for a directory of files, as a container's is: a
    delete (a fresh interpreter) does not import shutil (~2 ms) unless it finds more."""
    try:
        for name in os.listdir(path):
            os.unlink(os.path.join(path, name))
        os.rmdir(path)
    except OSError:   # gone already, a subdirectory, ...
        import shutil
        shutil.rmtree(path, ignore_errors=True)


class _RootLock:
    """``with store.locked():`` an flock on ``<root>/.lock`` (the root made first if need be)."""

    def __init__(self, store):
        self.store, self.fd = store, None

    def __enter__(self):
        self.store.ensure_root()
        self.fd = os.open(os.path.join(self.store.root, ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(self.fd)
            raise

    def __exit__(self, *exc):
        os.close(self.fd)


class StateStore:
    def __init__(self, root):
        self.root = os.path.abspath(root)

    def ensure_root(self):
        os.makedirs(self.root, mode=0o711, exist_ok=True)

    def locked(self):
        """A context manager: the root's lock held."""
        return _RootLock(self)

    @staticmethod
    def check_id(cid):
        if len(cid) > ID_MAX:
            raise StateError(f"invalid container id {cid[:32]!r}...: longer than {ID_MAX} characters")
        if not cid or not ID_RE.fullmatch(cid) or cid in (".", ".."):
            raise StateError(f"invalid container id {cid!r} (letters, digits, _ + - . only; not . or ..)")

    def check_root(self):
        """A --root that exists must be a directory (it is made on first use otherwise)."""
        if os.path.lexists(self.root) and not os.path.isdir(self.root):
            raise StateError(f"--root {self.root}: not a directory")

    def dir(self, cid):
        self.check_id(cid)
        return os.path.join(self.root, cid)

    def path(self, cid, name):
        return os.path.join(self.dir(cid), name)

    def ids(self):
        try:
            names = sorted(os.listdir(self.root))
        except FileNotFoundError:
            return []
        return [n for n in names if not n.startswith(".") and os.path.isfile(os.path.join(self.root, n, STATE_FILE))]

    def exists(self, cid):
        return os.path.isfile(self.path(cid, STATE_FILE))

    def new(self, state):
        """Create the directory and first state of a container (call under ``locked``)."""
        d = self.dir(state.id)
        try:
            os.mkdir(d, 0o711)
        except FileExistsError:
            raise StateError(f"container with id exists: {state.id}") from None
        self.save(state)

    def load(self, cid):
        try:
            with open(self.path(cid, STATE_FILE), "rb") as f:
                obj = json.load(f)
        except FileNotFoundError:
            raise StateError(f"container does not exist: {cid}") from None
        except ValueError as e:
            raise StateError(f"container {cid}: corrupt state: {e}") from None
        try:
            return ContainerState(**obj)
        except TypeError as e:   # not an object, or not our fields
            raise StateError(f"container {cid}: corrupt state: {e}") from None

    def save(self, state):
        d = self.dir(state.id)
        tmp = os.path.join(d, f".{STATE_FILE}.{os.getpid()}")
        with open(tmp, "w") as f:
            json.dump(state.as_dict(), f)
        os.rename(tmp, os.path.join(d, STATE_FILE))

    def update(self, cid, **changes):
        """Change fields of a stored state atomically; returns the new state."""
        with self.locked():
            state = self.load(cid)
            for k, v in changes.items():
                setattr(state, k, v)
            self.save(state)
            return state

    def remove(self, cid):
        # The sandbox process cannot remove its overlay's upper layer itself: it is locked down
        # (an empty root) until it ends. Whoever removes the state does.
        try:
            with open(self.path(cid, OVERLAY_UPPER_FILE)) as f:
                upper = f.read()
            from snakevisor.sandbox.overlay2 import remove_upper
            remove_upper(upper)
        except OSError:
            pass
        _remove_dir_of_files(self.dir(cid))

    # -- the live status ----------------------------------------------------------
    def read_exit(self, cid):
        try:
            with open(self.path(cid, EXIT_FILE), "rb") as f:
                text = f.read().strip()
        except OSError:
            return None
        return int(text) if text else None

    def sandbox_alive(self, state):
        if not state.pid:
            return False
        start = process_start_time(state.pid)
        return start is not None and (not state.pid_start or start == state.pid_start)

    def status(self, state):
        """The status to report: stored status, corrected by what the sandbox process shows."""
        if state.status == "stopped":
            return "stopped"
        if state.status == "creating" and not state.pid:
            return "creating"
        if not self.sandbox_alive(state) or self.read_exit(state.id) is not None:
            return "stopped"
        return state.status
