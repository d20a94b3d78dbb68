"""User namespaces, as Linux's (kernel/user_namespace.c; gVisor's auth.UserNamespace).

Credentials hold "kernel" ids (kuids and kgids): those of the sandbox's initial user namespace,
which maps every id to itself and is ``None`` in ``Credentials.user_ns``. A namespace made by
clone/unshare(CLONE_NEWUSER) starts with no mapping; /proc/PID/uid_map and gid_map are written
once (``write_map``), in its parent's ids, and kept as kernel ids. Everything an application
gives or is shown crosses ``to_kuid``/``from_kuid`` (and the gid pair) of the caller's namespace:
an unmapped id reads as the overflow id 65534 and is EINVAL as input. Capabilities belong to a
namespace (``ns_capable``): a task has those of its sets in its own namespace, all of them in a
namespace below it whose owner is its euid, and none in the initial one unless it is there.
"""
import dataclasses
import itertools

from snakevisor.abi.capability import ALL_CAPS, CAP_SETGID, CAP_SETUID, CAP_SYS_ADMIN
from snakevisor.abi.errno import EINVAL, ENOSPC, EPERM, SyscallError
from snakevisor.abi.mm import PAGE_SIZE

OVERFLOW_ID = 65534   # /proc/sys/kernel/overflowuid and overflowgid
MAX_LEVEL = 32        # Linux's nesting limit: CLONE_NEWUSER below a deeper namespace is ENOSPC
MAX_EXTENTS = 340     # lines per map (Linux's UID_GID_MAP_MAX_EXTENTS)
U32 = 1 << 32


class UserNamespace:
    kind = "user"

    def __init__(self, parent, owner, group, ino):
        self.parent = parent          # None: the initial namespace is the parent
        self.level = 1 if parent is None else parent.level + 1
        self.owner, self.group = owner, group   # the creator's euid and egid (kernel ids)
        self.ino = ino
        self.maps = {"uid": None, "gid": None}   # [(first, kernel first, count)] once written
        self.setgroups_allowed = parent.setgroups_allowed if parent is not None else True

    # -- translation --------------------------------------------------------------------
    def to_kernel(self, which, ident):
        """The kernel id of ``ident`` ("uid"/"gid") in this namespace, or None if unmapped."""
        for first, kfirst, count in self.maps[which] or ():
            if first <= ident < first + count:
                return kfirst + ident - first
        return None

    def from_kernel(self, which, kid):
        """The id here of kernel id ``kid``, or None if it has none."""
        for first, kfirst, count in self.maps[which] or ():
            if kfirst <= kid < kfirst + count:
                return first + kid - kfirst
        return None

    def within(self, other):
        """Is this namespace ``other`` or one below it (``other`` None: the initial one)?"""
        ns = self
        while ns is not None:
            if ns is other:
                return True
            ns = ns.parent
        return other is None


def to_kuid(ns, uid, which="uid"):
    """Kernel id of an id an application gave (None: EINVAL for it, unmapped)."""
    return uid if ns is None else ns.to_kernel(which, uid)


def from_kuid(ns, kid, which="uid"):
    """The id an application in ``ns`` sees for kernel id ``kid`` (overflow if unmapped)."""
    if ns is None:
        return kid
    found = ns.from_kernel(which, kid)
    return OVERFLOW_ID if found is None else found


def _ns_of(creds):
    return getattr(creds, "user_ns", None)   # (None: the kernel, or a test's stand-in credentials)


def id_in(creds, kid, which="uid"):
    return from_kuid(_ns_of(creds), kid, which)


def id_from(creds, ident, which="uid"):
    """The kernel id for ``ident`` given by a task with ``creds``; EINVAL if unmapped (-1 passes)."""
    ns = _ns_of(creds)
    if ident == 0xFFFFFFFF or ns is None:
        return ident
    kid = ns.to_kernel(which, ident)
    if kid is None:
        raise SyscallError(EINVAL)
    return kid


def stat_view(creds, st):
    """A StatResult with its owner and group as ``creds``' namespace sees them (stat, statx)."""
    ns = _ns_of(creds)
    if ns is None:
        return st
    return dataclasses.replace(st, uid=from_kuid(ns, st.uid), gid=from_kuid(ns, st.gid, "gid"))


def owner_capable(creds, ns, cap=CAP_SYS_ADMIN):
    """``cap`` over a namespace object ``ns`` (a UTS, IPC, mount or PID namespace; None for a
    sandbox-wide one), which its creator's user namespace owns."""
    return ns_capable(creds, getattr(ns, "user_ns", None), cap)


def ns_capable(creds, ns, cap):
    """Does ``creds`` have ``cap`` over what namespace ``ns`` (None: the initial one) owns?"""
    own = creds.user_ns
    while True:
        if ns is own:
            return bool(creds.cap_effective >> cap & 1)
        if ns is None:
            return False   # reached the initial namespace without meeting the caller's
        if ns.parent is own and ns.owner == creds.euid:
            return True    # the creator of a namespace has every capability in it
        ns = ns.parent


# -- making and entering ------------------------------------------------------------------
def new_user_ns(creds, ino):
    """CLONE_NEWUSER: ``creds`` (a copy the caller will commit) move to a new namespace below
    theirs, owned by their euid, with every capability there (set_cred_user_ns)."""
    parent = creds.user_ns
    if parent is not None and parent.level > MAX_LEVEL:
        raise SyscallError(ENOSPC)   # create_user_ns: a parent past level 32 (so 33 levels below the initial one)
    if parent is not None and (parent.from_kernel("uid", creds.euid) is None
                               or parent.from_kernel("gid", creds.egid) is None):
        raise SyscallError(EPERM)   # an owner the parent cannot name (create_user_ns)
    creds.user_ns = UserNamespace(parent, creds.euid, creds.egid, ino)
    _full_caps(creds)


def enter(creds, ns):
    """setns to user namespace ``ns``: CAP_SYS_ADMIN there, not the caller's own (userns_install)."""
    if ns is creds.user_ns:
        raise SyscallError(EINVAL)
    if not ns_capable(creds, ns, CAP_SYS_ADMIN):
        raise SyscallError(EPERM)
    creds.user_ns = ns
    _full_caps(creds)


def _full_caps(creds):
    """set_cred_user_ns: every capability in the new namespace, and the securebits (PR_SET_KEEPCAPS's
    among them) back to their defaults."""
    creds.cap_inheritable = creds.cap_ambient = creds.securebits = 0
    creds.cap_permitted = creds.cap_effective = creds.cap_bounding = ALL_CAPS


# -- /proc/PID/uid_map, gid_map, setgroups ------------------------------------------------
def show_map(ns, which, reader):
    """The map's lines, the kernel ids shown in the reader's namespace (its parent's if the
    reader is inside ``ns``), as uid_m_show."""
    if ns is None:
        return f"{0:>10} {0:>10} {U32 - 1:>10}\n"
    lower = reader.creds.user_ns if reader is not None else None
    if lower is ns:
        lower = ns.parent
    return "".join(f"{first:>10} {from_kuid(lower, kfirst, which):>10} {count:>10}\n"
                   for first, kfirst, count in ns.maps[which] or ())


def write_map(ns, which, writer, data):
    """A write of ``data`` to the map (map_write): once, every line "first lower count" in the
    parent's ids, no overlaps, and the writer allowed (new_idmap_permitted)."""
    if ns is None or ns.maps[which] is not None:
        raise SyscallError(EPERM)
    if writer is not None and _ns_of(writer.creds) not in (ns, ns.parent):
        raise SyscallError(EPERM)   # only from inside the namespace or its parent
    extents = _parse_map(data)
    cap = CAP_SETUID if which == "uid" else CAP_SETGID
    if not _map_permitted(ns, which, writer, extents, cap):
        raise SyscallError(EPERM)
    kernel = []
    for first, lower, count in extents:
        klow = to_kuid(ns.parent, lower, which)
        khigh = to_kuid(ns.parent, lower + count - 1, which)
        if klow is None or khigh is None or khigh - klow != count - 1:
            raise SyscallError(EPERM)   # the lower range must be mapped in the parent
        kernel.append((first, klow, count))
    ns.maps[which] = kernel


def _parse_map(data):
    """map_write's lines: less than a page, read up to the first NUL."""
    if len(data) >= PAGE_SIZE:
        raise SyscallError(EINVAL)
    data = data.split(b"\0", 1)[0]
    try:
        lines = [tuple(int(x) for x in line.split()) for line in data.decode().strip().split("\n")]
    except (UnicodeDecodeError, ValueError):
        raise SyscallError(EINVAL) from None
    if not lines or len(lines) > MAX_EXTENTS or any(len(e) != 3 for e in lines):
        raise SyscallError(EINVAL)
    for first, lower, count in lines:
        if count <= 0 or first < 0 or lower < 0 or first + count > U32 or lower + count > U32:
            raise SyscallError(EINVAL)
    for key in (lambda e: (e[0], e[2]), lambda e: (e[1], e[2])):   # neither side may overlap
        spans = sorted(map(key, lines))
        if any(a + n > b for (a, n), (b, _) in itertools.pairwise(spans)):
            raise SyscallError(EINVAL)
    return lines


def _map_permitted(ns, which, writer, extents, cap):
    """new_idmap_permitted: the owner mapping only its own euid (egid, with setgroups denied),
    or CAP_SETUID/CAP_SETGID over the parent namespace and the target's namespace."""
    creds = writer.creds if writer is not None else None
    if creds is None:
        return True
    if len(extents) == 1 and extents[0][2] == 1 and creds.euid == ns.owner:
        own = creds.euid if which == "uid" else creds.egid
        if to_kuid(ns.parent, extents[0][1], which) == own and (which == "uid" or not ns.setgroups_allowed):
            return True
    return ns_capable(creds, ns.parent, cap) and ns_capable(creds, ns, cap)


def show_setgroups(ns):
    return "allow\n" if ns is None or ns.setgroups_allowed else "deny\n"


def write_setgroups(ns, writer, data):
    """"allow" or "deny", before gid_map is written, by one with CAP_SYS_ADMIN over ``ns``. As
    proc_setgroups_write reads it: under 8 bytes, the word first, then only white space up to the
    end or a NUL ("deny\\0" is a C program's sizeof)."""
    text = data.split(b"\0", 1)[0] if len(data) < 8 else b"x"
    word = next((w for w in ("allow", "deny") if text.startswith(w.encode())), None)
    if word is None or text[len(word):].strip(b" \t\n\v\f\r"):
        raise SyscallError(EINVAL)
    if ns is None or (writer is not None and not ns_capable(writer.creds, ns, CAP_SYS_ADMIN)):
        raise SyscallError(EPERM)
    if word == "allow" and not ns.setgroups_allowed:
        raise SyscallError(EPERM)   # a denial is for good
    if ns.maps["gid"] is not None and (word == "deny") == ns.setgroups_allowed:
        raise SyscallError(EPERM)   # too late: gid_map is written
    ns.setgroups_allowed = word == "allow"
