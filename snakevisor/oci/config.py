"""The runtime-spec config.json as dataclasses: what snakevisor honours, validated.

``load_spec(bundle)`` reads ``bundle/config.json`` and returns a ``Spec``;
``parse_spec(obj)`` does the same from a decoded object and ``parse_process``
parses a process object alone (``exec --process``). Anything malformed raises
``ConfigError`` whose message is one line naming the field
("process.args: must be a non-empty array of strings"). Fields the spec allows
but we do not act on (seccomp, apparmor, cgroups, devices, ...)
are type-checked only where cheap and otherwise ignored, as runsc does.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from snakevisor.abi import fs as F
from snakevisor.abi.capability import CAPABILITIES
from snakevisor.abi.mount_options import fs_options, tmpfs_options
from snakevisor.abi.resource import RLIMIT_NAMES
from snakevisor.abi.utsname import HOST_NAME_MAX

UINT32_MAX = (1 << 32) - 1
UINT64_MAX = (1 << 64) - 1
NAMESPACE_TYPES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")
# Mount types the Sentry accepts: bind (served by the Gofer), tmpfs (in the MemoryFile), and the
# kernel filesystems the Sentry provides itself whatever the config says.
BIND_TYPES = ("bind", "rbind")
SYNTHETIC_TYPES = ("proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2", "devtmpfs")
# runc's mount option words (libcontainer/specconv): word -> (flags set, flags cleared). The
# recursive forms (rro, rnosuid, ...) act as the plain ones: our mounts have no submounts to reach.
_MOUNT_FLAG_WORDS = {
    "defaults": (0, 0), "ro": (F.MS_RDONLY, 0), "rw": (0, F.MS_RDONLY), "nosuid": (F.MS_NOSUID, 0),
    "suid": (0, F.MS_NOSUID), "nodev": (F.MS_NODEV, 0), "dev": (0, F.MS_NODEV), "noexec": (F.MS_NOEXEC, 0),
    "exec": (0, F.MS_NOEXEC), "sync": (F.MS_SYNCHRONOUS, 0), "async": (0, F.MS_SYNCHRONOUS),
    "dirsync": (F.MS_DIRSYNC, 0), "noatime": (F.MS_NOATIME, 0), "atime": (0, F.MS_NOATIME),
    "nodiratime": (F.MS_NODIRATIME, 0), "diratime": (0, F.MS_NODIRATIME), "relatime": (F.MS_RELATIME, 0),
    "norelatime": (0, F.MS_RELATIME), "strictatime": (F.MS_STRICTATIME, 0), "nostrictatime": (0, F.MS_STRICTATIME),
    "mand": (F.MS_MANDLOCK, 0), "nomand": (0, F.MS_MANDLOCK), "lazytime": (F.MS_LAZYTIME, 0),
    "nolazytime": (0, F.MS_LAZYTIME), "iversion": (F.MS_I_VERSION, 0), "noiversion": (0, F.MS_I_VERSION),
    "silent": (F.MS_SILENT, 0), "loud": (0, F.MS_SILENT), "nosymfollow": (F.MS_NOSYMFOLLOW, 0),
    "symfollow": (0, F.MS_NOSYMFOLLOW), "remount": (F.MS_REMOUNT, 0), "bind": (F.MS_BIND, 0),
    "rbind": (F.MS_BIND | F.MS_REC, 0), "acl": (0, 0), "noacl": (0, 0),
}


def _flag_word(option):
    """(set, clear) of a mount flag word, or of its recursive form ("rro", "rnosuid"); None: not one."""
    word = _MOUNT_FLAG_WORDS.get(option)
    if word is None and option[:1] == "r":
        word = _MOUNT_FLAG_WORDS.get(option[1:])
    return word


# Propagation and runtime extensions: accepted, nothing to do (a sandbox's mounts propagate nowhere).
_MOUNT_IGNORED_WORDS = ("private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable",
                        "runbindable", "tmpcopyup", "idmap", "ridmap", "nocopyup", "copyup")
# Filesystem options devpts takes (mount(2)'s data; anything else is EINVAL there, as Linux's).
DEVPTS_OPTIONS = ("newinstance", "ptmxmode", "mode", "gid", "uid", "max")
HOOK_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")


class ConfigError(ValueError):
    """A bad config.json: ``str(e)`` is one line naming the field."""

    def __init__(self, where, problem):
        super().__init__(f"{where}: {problem}")
        self.field = where


@dataclass
class User:
    uid: int = 0
    gid: int = 0
    umask: int | None = None
    additional_gids: list = field(default_factory=list)


@dataclass
class Rlimit:
    type: str
    soft: int
    hard: int

    @property
    def resource(self):
        """The RLIMIT_* number."""
        return RLIMIT_NAMES.index(self.type[len("RLIMIT_"):].lower())


@dataclass
class Capabilities:
    bounding: list = field(default_factory=list)
    effective: list = field(default_factory=list)
    permitted: list = field(default_factory=list)
    inheritable: list = field(default_factory=list)
    ambient: list = field(default_factory=list)


@dataclass
class Process:
    args: list
    cwd: str = "/"
    env: list = field(default_factory=list)
    terminal: bool = False
    user: User = field(default_factory=User)
    rlimits: list = field(default_factory=list)
    no_new_privileges: bool = False
    capabilities: Capabilities | None = None   # None: the Sentry's defaults (all, as root)
    console_size: tuple | None = None          # (height, width)

    def env_dict(self):
        out = {}
        for item in self.env:
            k, _, v = item.partition("=")
            out[k] = v
        return out


@dataclass
class Root:
    path: str
    readonly: bool = False


@dataclass
class Mount:
    destination: str
    type: str = "bind"
    source: str = ""
    options: list = field(default_factory=list)

    @property
    def is_bind(self):
        return self.type in BIND_TYPES or (self.type in ("", "none") and any(o in ("bind", "rbind")
                                                                            for o in self.options))

    @property
    def readonly(self):
        """MS_RDONLY as the options leave it ("ro" then "rw" is writable; "rro" is read-only)."""
        return bool(self.flags() & F.MS_RDONLY)

    def flags(self):
        """The MS_* flags of the options, as runc computes them (later words win)."""
        flags = 0
        for o in self.options:
            word = _flag_word(o)
            if word is not None:
                flags = (flags | word[0]) & ~word[1]
        return flags

    def data(self):
        """The options that are not mount flags: the filesystem's own (mount(2)'s data), as
        (key, value or None) pairs."""
        out = []
        for o in self.options:
            if _flag_word(o) is not None or o in _MOUNT_IGNORED_WORDS:
                continue
            key, eq, value = o.partition("=")
            out.append((key, value if eq else None))
        return out


@dataclass
class Hook:
    path: str
    args: list = field(default_factory=list)
    env: list = field(default_factory=list)
    timeout: int | None = None


@dataclass
class Namespace:
    type: str
    path: str | None = None


@dataclass
class Resources:
    memory_limit: int | None = None
    pids_limit: int | None = None


@dataclass
class Spec:
    oci_version: str
    process: Process | None
    root: Root
    hostname: str = ""
    mounts: list = field(default_factory=list)
    hooks: dict = field(default_factory=dict)       # kind -> [Hook]
    annotations: dict = field(default_factory=dict)
    namespaces: list = field(default_factory=list)
    resources: Resources = field(default_factory=Resources)
    masked_paths: list = field(default_factory=list)
    readonly_paths: list = field(default_factory=list)
    sysctl: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict)

    def namespace(self, kind):
        for ns in self.namespaces:
            if ns.type == kind:
                return ns
        return None


# -- typed access -------------------------------------------------------------
_KINDS = {
    "object": (dict, "an object"), "array": (list, "an array"), "string": (str, "a string"),
    "boolean": (bool, "a boolean"),
}


def _get(obj, key, kind, where, required=False, default=None):
    path = f"{where}.{key}" if where else key
    if key not in obj or obj[key] is None:
        if required:
            raise ConfigError(path, "is required")
        return default
    value = obj[key]
    if kind in ("int", "uint32", "uint64", "int64"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(path, "must be an integer")
        lo, hi = {"int": (-(1 << 63), UINT64_MAX), "int64": (-(1 << 63), (1 << 63) - 1),
                  "uint32": (0, UINT32_MAX), "uint64": (0, UINT64_MAX)}[kind]
        if not lo <= value <= hi:
            raise ConfigError(path, f"out of range ({lo}..{hi})")
        return value
    typ, name = _KINDS[kind]
    if not isinstance(value, typ):
        raise ConfigError(path, f"must be {name}")
    return value


def _strings(obj, key, where, required=False, non_empty=False):
    """An array of strings; none may hold a NUL (they end up as C strings: argv, envp, paths)."""
    path = f"{where}.{key}" if where else key
    value = _get(obj, key, "array", where, required=required, default=[])
    if not all(isinstance(v, str) for v in value) or (non_empty and not value):
        raise ConfigError(path, "must be a non-empty array of strings" if non_empty else
                          "must be an array of strings")
    for i, v in enumerate(value):
        _no_nul(v, f"{path}[{i}]")
    return list(value)


def _text(obj, key, where, required=False, default=None):
    """A string that becomes a C string (a path, a hostname): no NUL in it."""
    value = _get(obj, key, "string", where, required=required, default=default)
    return value if value is None else _no_nul(value, f"{where}.{key}" if where else key)


def _no_nul(value, path):
    if "\0" in value:
        raise ConfigError(path, "must not contain a NUL byte")
    return value


# -- the sections ---------------------------------------------------------------
def parse_process(obj, where="process"):
    if not isinstance(obj, dict):
        raise ConfigError(where, "must be an object")
    args = _strings(obj, "args", where, required=True, non_empty=True)
    cwd = _text(obj, "cwd", where, required=True)
    if not cwd.startswith("/"):
        raise ConfigError(f"{where}.cwd", f"{cwd!r}: must be an absolute path")
    env = _strings(obj, "env", where)
    for i, item in enumerate(env):
        if "=" not in item:
            raise ConfigError(f"{where}.env[{i}]", f"{item!r}: must be KEY=VALUE")
    user_obj = _get(obj, "user", "object", where, default={})
    uw = f"{where}.user"
    user = User(uid=_get(user_obj, "uid", "uint32", uw, default=0), gid=_get(user_obj, "gid", "uint32", uw, default=0),
                umask=_get(user_obj, "umask", "uint32", uw))
    gids = _get(user_obj, "additionalGids", "array", uw, default=[])
    for i, g in enumerate(gids):
        if isinstance(g, bool) or not isinstance(g, int) or not 0 <= g <= UINT32_MAX:
            raise ConfigError(f"{uw}.additionalGids[{i}]", "must be a uint32")
    user.additional_gids = list(gids)
    rlimits = []
    for i, r in enumerate(_get(obj, "rlimits", "array", where, default=[])):
        rw = f"{where}.rlimits[{i}]"
        if not isinstance(r, dict):
            raise ConfigError(rw, "must be an object")
        typ = _get(r, "type", "string", rw, required=True)
        if not typ.startswith("RLIMIT_") or typ[7:].lower() not in RLIMIT_NAMES:
            raise ConfigError(f"{rw}.type", f"unknown rlimit {typ!r}")
        if any(prev.type == typ for prev in rlimits):
            raise ConfigError(f"{rw}.type", f"{typ} given twice")   # the runtime-spec: MUST be an error
        soft, hard = _get(r, "soft", "uint64", rw, required=True), _get(r, "hard", "uint64", rw, required=True)
        if soft > hard:
            raise ConfigError(f"{rw}.soft", f"{soft} exceeds the hard limit {hard}")   # setrlimit: EINVAL
        rlimits.append(Rlimit(typ, soft, hard))
    caps = None
    cobj = _get(obj, "capabilities", "object", where)
    if cobj is not None:
        caps = Capabilities()
        for kind in ("bounding", "effective", "permitted", "inheritable", "ambient"):
            names = _strings(cobj, kind, f"{where}.capabilities")
            for name in names:
                if name not in CAPABILITIES:
                    raise ConfigError(f"{where}.capabilities.{kind}", f"unknown capability {name!r}")
            setattr(caps, kind, names)
    size = _get(obj, "consoleSize", "object", where)
    console = None
    if size is not None:
        sw = f"{where}.consoleSize"
        console = (_get(size, "height", "uint64", sw, required=True), _get(size, "width", "uint64", sw, required=True))
    return Process(args=args, cwd=cwd, env=env, terminal=_get(obj, "terminal", "boolean", where, default=False),
                   user=user, rlimits=rlimits,
                   no_new_privileges=_get(obj, "noNewPrivileges", "boolean", where, default=False),
                   capabilities=caps, console_size=console)


def _parse_mounts(items):
    mounts = []
    for i, m in enumerate(items):
        mw = f"mounts[{i}]"
        if not isinstance(m, dict):
            raise ConfigError(mw, "must be an object")
        dest = _text(m, "destination", mw, required=True)
        if not dest.startswith("/"):
            raise ConfigError(f"{mw}.destination", "must be an absolute path")
        if os.path.normpath(dest).strip("/") == "":
            raise ConfigError(f"{mw}.destination", "cannot mount over the root (that is root.path)")
        mount = Mount(destination=os.path.normpath(dest), type=_get(m, "type", "string", mw, default=""),
                      source=_text(m, "source", mw, default=""), options=_strings(m, "options", mw))
        if mount.is_bind and not mount.source:
            raise ConfigError(f"{mw}.source", "is required for a bind mount")
        if not mount.is_bind and mount.type not in ("tmpfs",) + SYNTHETIC_TYPES:
            raise ConfigError(f"{mw}.type", f"unsupported mount type {mount.type!r}")
        try:
            if mount.type == "tmpfs":
                tmpfs_params(mount)
            elif mount.type == "devpts":
                devpts_params(mount)
        except ValueError as e:
            raise ConfigError(f"{mw}.options", str(e)) from None
        mounts.append(mount)
    return mounts


def tmpfs_params(mount):
    """{size (bytes or None), nr_inodes (or None), mode, uid, gid} of a tmpfs mount."""
    return tmpfs_options(mount.type, mount.data())


def devpts_params(mount):
    """{mode, ptmxmode, gid (or None), uid (or None)} of a devpts mount (Linux's defaults otherwise)."""
    return fs_options(mount.type, mount.data(), DEVPTS_OPTIONS,
                      {"mode": lambda v: int(v, 8) & 0o777, "ptmxmode": lambda v: int(v, 8) & 0o777,
                       "gid": int, "uid": int, "max": int},
                      {"mode": 0o600, "ptmxmode": 0, "gid": None, "uid": None, "max": None})


def parse_hooks(obj):
    hooks = {}
    for kind in HOOK_KINDS:
        out = []
        for i, h in enumerate(_get(obj, kind, "array", "hooks", default=[])):
            hw = f"hooks.{kind}[{i}]"
            if not isinstance(h, dict):
                raise ConfigError(hw, "must be an object")
            timeout = _get(h, "timeout", "int", hw)
            if timeout is not None and timeout < 1:
                raise ConfigError(f"{hw}.timeout", "must be at least 1")
            out.append(Hook(path=_text(h, "path", hw, required=True), args=_strings(h, "args", hw),
                            env=_strings(h, "env", hw), timeout=timeout))
        hooks[kind] = out
    return hooks


def _parse_linux(obj):
    namespaces, resources = [], Resources()
    for i, ns in enumerate(_get(obj, "namespaces", "array", "linux", default=[])):
        nw = f"linux.namespaces[{i}]"
        if not isinstance(ns, dict):
            raise ConfigError(nw, "must be an object")
        typ = _get(ns, "type", "string", nw, required=True)
        if typ not in NAMESPACE_TYPES:
            raise ConfigError(f"{nw}.type", f"unknown namespace type {typ!r}")
        namespaces.append(Namespace(typ, _text(ns, "path", nw)))
    res = _get(obj, "resources", "object", "linux", default={})
    mem = _get(res, "memory", "object", "linux.resources", default={})
    limit = _get(mem, "limit", "int64", "linux.resources.memory")
    resources.memory_limit = limit if limit is not None and limit > 0 else None
    # pids.limit as the runtime-spec (since 1.2.1) and runc: negative is no limit ("max"); 0 is a real
    # limit, which runc (like systemd) raises to 1 as the init process is already there.
    pids = _get(res, "pids", "object", "linux.resources", default={})
    plimit = _get(pids, "limit", "int64", "linux.resources.pids", required="pids" in res)
    resources.pids_limit = None if plimit is None or plimit < 0 else max(plimit, 1)
    paths = {}
    for key in ("maskedPaths", "readonlyPaths"):
        paths[key] = _strings(obj, key, "linux")
        for i, path in enumerate(paths[key]):
            if not path.startswith("/"):
                raise ConfigError(f"linux.{key}[{i}]", "must be an absolute path")
    sysctl = _get(obj, "sysctl", "object", "linux", default={})
    for key, value in sysctl.items():
        if not isinstance(value, str):
            raise ConfigError(f"linux.sysctl.{key}", "must be a string")
        check_sysctl(key, {ns.type for ns in namespaces})
    return namespaces, resources, paths, dict(sysctl)


# The sysctls of the IPC namespace besides fs.mqueue.* (runc's libcontainer/configs/validate).
IPC_SYSCTLS = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
               "kernel.shmmni", "kernel.shm_rmid_forced")


def check_sysctl(key, namespaces):
    """runc's check: a sysctl must belong to a namespace the container has of its own."""
    if "/" in key or "" in key.split("."):
        raise ConfigError("linux.sysctl", f'sysctl "{key}": not a sysctl name')
    if key in IPC_SYSCTLS or key.startswith("fs.mqueue."):
        if "ipc" in namespaces:
            return
        raise ConfigError("linux.sysctl", f'sysctl "{key}" is not allowed in the hosts ipc namespace')
    if key.startswith("net."):
        if "network" in namespaces:
            return
        raise ConfigError("linux.sysctl", f'sysctl "{key}" is not allowed in the hosts network namespace')
    if "uts" in namespaces:
        if key == "kernel.domainname":
            return
        if key == "kernel.hostname":
            raise ConfigError("linux.sysctl", 'sysctl "kernel.hostname" is not allowed; it should be set using '
                                              "the OCI config.hostname field")
    raise ConfigError("linux.sysctl", f'sysctl "{key}" is not in a separate kernel namespace')


def parse_spec(obj):
    """A decoded config.json -> Spec (or ConfigError)."""
    if not isinstance(obj, dict):
        raise ConfigError("config.json", "must be a JSON object")
    version = _get(obj, "ociVersion", "string", "", required=True)
    root_obj = _get(obj, "root", "object", "", required=True)
    root = Root(path=_text(root_obj, "path", "root", required=True),
                readonly=_get(root_obj, "readonly", "boolean", "root", default=False))
    process = parse_process(obj["process"]) if obj.get("process") is not None else None
    annotations = _get(obj, "annotations", "object", "", default={})
    for k, v in annotations.items():
        if not isinstance(v, str):
            raise ConfigError(f"annotations.{k}", "must be a string")
    namespaces, resources, paths, sysctl = _parse_linux(_get(obj, "linux", "object", "", default={}))
    hostname = _text(obj, "hostname", "", default="")
    if len(hostname.encode()) > HOST_NAME_MAX:
        raise ConfigError("hostname", f"longer than {HOST_NAME_MAX} bytes")   # sethostname: EINVAL
    return Spec(oci_version=version, process=process, root=root, hostname=hostname,
                mounts=_parse_mounts(_get(obj, "mounts", "array", "", default=[])),
                hooks=parse_hooks(_get(obj, "hooks", "object", "", default={})), annotations=dict(annotations),
                namespaces=namespaces, resources=resources, masked_paths=paths["maskedPaths"],
                readonly_paths=paths["readonlyPaths"], sysctl=sysctl, raw=obj)


def load_json(path, what):
    """The decoded JSON file ``path``; ConfigError naming ``what`` (config.json, --process) if it
    cannot be read or decoded, however deeply it nests."""
    try:
        with open(path, "rb") as f:
            return json.load(f)
    except OSError as e:
        raise ConfigError(what, f"{path}: {e.strerror}") from None
    except ValueError as e:
        raise ConfigError(what, f"{path}: not valid JSON: {e}") from None
    except RecursionError:
        raise ConfigError(what, f"{path}: nested too deeply") from None


def load_spec(bundle):
    """Read and validate ``bundle``/config.json; the root path and bind sources are made absolute
    (relative ones are the bundle's) and must exist, as runc requires."""
    bundle = os.path.abspath(bundle)
    obj = load_json(os.path.join(bundle, "config.json"), "config.json")
    spec = parse_spec(obj)
    if spec.process is None:
        raise ConfigError("process", "is required")
    spec.root.path = os.path.normpath(os.path.join(bundle, spec.root.path))
    if not os.path.isdir(spec.root.path):
        raise ConfigError("root.path", f"{spec.root.path}: not a directory")
    for i, m in enumerate(spec.mounts):
        if m.is_bind:
            m.source = os.path.normpath(os.path.join(bundle, m.source))
            if not os.path.exists(m.source):
                raise ConfigError(f"mounts[{i}].source", f"{m.source}: no such file or directory")
    return spec
