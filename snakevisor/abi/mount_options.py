"""Filesystem mount options (mount(2)'s data: "size=1m,mode=700"): the ones tmpfs and ramfs take,
parsed as Linux parses them (memparse suffixes, octal modes), and the parameter names of the other
filesystems fsconfig(2) checks. Shared by the OCI config (oci/config.py) and
mount(2) inside the sandbox (sentry/syscalls/mount.py).
"""
# The options tmpfs takes; anything else is EINVAL, as Linux's.
TMPFS_OPTIONS = ("size", "nr_blocks", "nr_inodes", "mode", "uid", "gid", "huge", "mpol", "inode32", "inode64",
                 "noswap", "quota", "usrquota", "grpquota")


def data_pairs(data: bytes):
    """mount(2)'s data string as (key, value or None) pairs."""
    out = []
    for word in data.decode(errors="replace").split(","):
        if word:
            key, eq, value = word.partition("=")
            out.append((key, value if eq else None))
    return out


def memparse(text):
    """A number with an optional k/m/g/t/p/e suffix, as the kernel's memparse."""
    shift = "kmgtpe".find(text[-1:].lower()) + 1 if text else 0
    return int(text[:-1] if shift else text, 0) << (10 * shift)


class OptionError(ValueError):
    """An option refused with a message of Linux's own rather than "Bad value for"; ``count``:
    how many times Linux logs it."""

    def __init__(self, message, count=1):
        super().__init__(message)
        self.count = count


def fs_options(fstype, pairs, known, parsers, defaults, flags=()):
    """The filesystem options ``pairs`` ((key, value or None)) as a dict: ``known`` keys are
    accepted (``parsers`` turn the ones we act on into numbers; ``flags`` take no value); an
    unknown one, or a bad value, is a ValueError whose message is Linux's fs_context log line
    ("Unknown parameter 'x'"); mount(2) refuses it with EINVAL."""
    out = dict(defaults)
    for key, value in pairs:
        if key not in known:
            raise ValueError(f"Unknown parameter '{key}'")
        if key in flags and value is not None:
            raise OptionError(f"Unexpected value for '{key}'")
        parse = parsers.get(key)
        if parse is None:
            continue
        try:
            if value is None:
                raise ValueError
            out[key] = parse(value)
            if out[key] < 0:
                raise ValueError
        except OptionError:
            raise
        except ValueError:
            raise ValueError(f"Bad value for '{key}'") from None
    return out


TMPFS_DEFAULTS = {"size": None, "nr_inodes": None, "mode": 0o1777, "uid": 0, "gid": 0}
TMPFS_FLAGS = ("inode32", "inode64", "noswap", "quota", "usrquota", "grpquota")
TMPFS_HUGE = ("never", "always", "within_size", "advise")


def tmpfs_size(text, total):
    """size=: bytes in whole pages; "N%" is N percent of ``total`` bytes of memory (None: not
    known here, a bad value), as shmem_parse_one's percentage of totalram."""
    if text.endswith("%"):
        if total is None:
            raise ValueError
        n = memparse(text[:-1]) * total // 100
    else:
        n = memparse(text)
    if n < 0:
        raise ValueError
    return -(-n // 4096) * 4096


def _id(kind):
    """uid=/gid=: a 32-bit id other than -1 (which no one has: Linux's "Invalid uid")."""
    def parse(text):
        try:
            n = int(text)
        except ValueError:
            n = -1
        if n == 0xFFFFFFFF:
            raise OptionError(f"Invalid {kind} '{text}'")
        if not 0 <= n < 0xFFFFFFFF:   # logged by fs_param_is_uid, then by shmem_parse_one
            raise OptionError(f"Bad value for '{kind}'", count=2)
        return n
    return parse


def _huge(text):
    if text not in TMPFS_HUGE:
        raise ValueError
    return 0


def tmpfs_options(fstype, pairs, defaults=TMPFS_DEFAULTS, total=None):
    """{size (bytes, whole pages; 0 or None: no limit), nr_inodes (or None), mode, uid, gid} of a
    tmpfs's options (``defaults`` for those not named; ``total``: the memory size="N%" is of)."""
    p = fs_options(fstype, pairs, TMPFS_OPTIONS,
                   {"size": lambda v: tmpfs_size(v, total), "nr_blocks": lambda v: memparse(v) * 4096, "nr_inodes": memparse,
                    "mode": lambda v: int(v, 8) & 0o7777, "uid": _id("uid"), "gid": _id("gid"), "huge": _huge},
                   defaults, TMPFS_FLAGS)
    p.pop("huge", None)
    if "nr_blocks" in p:
        p["size"] = p.pop("nr_blocks")
    return p


def ramfs_options(fstype, pairs, total=None):
    """{mode} of a ramfs's options: a bad mode is a ValueError; any other option is ignored, as
    Linux's ramfs has always done."""
    return fs_options(fstype, [(k, v) for k, v in pairs if k == "mode"], ("mode",),
                      {"mode": lambda v: int(v, 8) & 0o7777}, {"mode": 0o755})


# overlay's parameters (fs/overlayfs/params.c ovl_parameter_spec) and the values of its enums;
# OVERLAY_UNSUPPORTED: the features the Sentry's overlay has not (fsimpl/overlay.py), refused.
OVERLAY_ENUMS = {"redirect_dir": ("off", "follow", "nofollow", "on"), "index": ("off", "on"),
                 "uuid": ("off", "null", "auto", "on"), "nfs_export": ("off", "on"), "xino": ("off", "auto", "on"),
                 "metacopy": ("off", "on"), "verity": ("off", "on", "require")}
OVERLAY_FLAGS = ("default_permissions", "userxattr", "volatile")
OVERLAY_OPTIONS = ("lowerdir", "lowerdir+", "upperdir", "workdir", "datadir+") + tuple(OVERLAY_ENUMS) + OVERLAY_FLAGS
OVL_MAX_STACK = 500   # lower layers at most
OVERLAY_UNSUPPORTED = {("redirect_dir", "on"), ("index", "on"), ("nfs_export", "on"), ("xino", "on"),
                       ("metacopy", "on"), ("verity", "on"), ("verity", "require")}


def split_lowerdir(text):
    """lowerdir=A:B:C (a backslash escapes the next character): the layers, top first;
    "::" (data-only layers) is not supported."""
    out, cur, i = [], "", 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            cur, i = cur + text[i + 1], i + 2
            continue
        if c == ":":
            if not cur:
                raise OptionError("empty lowerdir" if not out else "data-only layers are not supported")
            out.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    if not cur:
        raise OptionError("empty lowerdir")
    return out + [cur]


def overlay_options(fstype, pairs, total=None):
    """overlay's mount options: {"lowers": [paths, top first], "upperdir", "workdir", the enums
    and flags}; ValueError (Linux's message) for a bad one or one the Sentry cannot do."""
    out = {"lowers": [], "upperdir": None, "workdir": None}
    for key, value in pairs:
        if key not in OVERLAY_OPTIONS:
            raise ValueError(f"Unknown parameter '{key}'")
        if key in OVERLAY_FLAGS:
            if value is not None:
                raise OptionError(f"Unexpected value for '{key}'")
            out[key] = True
        elif value is None:
            raise ValueError(f"Bad value for '{key}'")
        elif key in OVERLAY_ENUMS:
            if value not in OVERLAY_ENUMS[key]:
                raise ValueError(f"Bad value for '{key}'")
            if (key, value) in OVERLAY_UNSUPPORTED:
                raise OptionError(f"{key}={value} is not supported")
            out[key] = value
        elif key == "lowerdir":   # replaces any layers named before
            out["lowers"], out["lowerdir"] = split_lowerdir(value), True
        elif key == "lowerdir+":
            if out.get("lowerdir"):
                raise OptionError("lowerdir+ and datadir+ cannot follow lowerdir")
            out["lowers"].extend([value] if isinstance(value, str) else value)
        elif key == "datadir+":
            raise OptionError("data-only layers are not supported")
        else:
            out[key] = value
    if len(out["lowers"]) > OVL_MAX_STACK:
        raise OptionError(f"too many lower directories, limit is {OVL_MAX_STACK}")
    return out


# The option parsers of filesystems whose values are checked (fsconfig's "Bad value for").
OPTION_PARSERS = {"tmpfs": tmpfs_options, "ramfs": ramfs_options, "overlay": overlay_options}

# The parameters each filesystem the Sentry can mount takes (fsconfig(2) refuses any other with
# "Unknown parameter"); tmpfs's values are checked by tmpfs_options, the others' are not used.
FS_PARAMETERS = {
    "tmpfs": TMPFS_OPTIONS,
    "overlay": OVERLAY_OPTIONS,
    "ramfs": ("mode",),   # and it ignores every other (fscontext.py)
    "proc": ("hidepid", "gid", "subset", "pidns"),
    "sysfs": (),
    "mqueue": (),
    "devpts": ("uid", "gid", "mode", "ptmxmode", "newinstance", "max"),
    "cgroup2": ("nsdelegate", "favordynmods", "memory_localevents", "memory_recursiveprot",
                "memory_hugetlb_accounting", "pids_localevents"),
}
# Superblock flags any filesystem takes (fs_context.c's common_set_sb_flag/common_clear_sb_flag).
SB_FLAGS_SET = ("dirsync", "lazytime", "mand", "ro", "sync")
SB_FLAGS_CLEAR = ("async", "nolazytime", "nomand", "rw")
