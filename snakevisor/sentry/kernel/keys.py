"""Kernel key retention (security/keys/ in Linux): keys, keyrings, their owners' quotas, permission
checks, keyring searches and the special keyrings of a Task.

A Key is alive while something holds it: a keyring linking it, or a Task's credentials naming it
as their thread, process or session keyring (kernel/creds.py). The serial table holds keys weakly,
so a key nothing holds any more is gone at once (Linux's garbage collector reaps it a moment
later; lookups already fail then, its usage count being 0) and its quota is given back. Keyrings
cannot form cycles (linking refuses them with EDEADLK), so reference counting frees them all.

Key types are "user" (readable payload), "logon" (the same but unreadable, its description
"service:name") and "keyring". The sandbox has one anonymous session keyring that every process
belongs to until it joins another (KEYCTL_JOIN_SESSION_KEYRING), as a container runtime gives
each container. Syscall argument handling is syscalls/keys.py's; /proc/keys is ``proc_keys``.
"""
import os
import time
import weakref

from snakevisor.abi.errno import (EACCES, EDEADLK, EDQUOT, EINVAL, EKEYEXPIRED, EKEYREVOKED, ELOOP, ENODEV, ENOENT, ENOKEY,
                                  ENOTDIR, EPERM, SyscallError)
from snakevisor.abi import keys as K
from snakevisor.abi.keys import (KEY_ALL, KEY_GRP_SHIFT, KEY_LINK, KEY_MAX_NESTING, KEY_NEGATIVE_TIMEOUT,
                                 KEY_POS_SHIFT, KEY_READ, KEY_SEARCH, KEY_SERIAL_MIN, KEY_SETATTR,
                                 KEY_SPEC_PROCESS_KEYRING, KEY_SPEC_REQKEY_AUTH_KEY,
                                 KEY_SPEC_REQUESTOR_KEYRING, KEY_SPEC_SESSION_KEYRING, KEY_SPEC_THREAD_KEYRING,
                                 KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING, KEY_SYSCTL_DEFAULTS,
                                 KEY_USR_SHIFT, KEY_VIEW, KEY_WRITE, USER_KEY_MAX_PAYLOAD)

NO_GID = -1            # Linux's INVALID_GID (shown as the overflow gid)
# Keys live in the Sentry's own memory, which the sandbox's memory limit does not count, and root's
# quota (a million keys) or the keyrings the kernel makes past any quota would let one sandbox use
# hundreds of megabytes of it: the sandbox holds at most this many keys at once (then EDQUOT).
SANDBOX_MAX_KEYS = 65536
OVERFLOW_ID = 65534
LINK_BYTES = 4   # KEYQUOTA_LINK_BYTES: what each link charges its keyring's owner

# Default permissions of the keyrings the kernel makes itself (security/keys/process_keys.c).
POS_ALL = KEY_ALL << KEY_POS_SHIFT
USR = KEY_USR_SHIFT
PERM_TASK_KEYRING = POS_ALL | KEY_VIEW << USR                                    # _tid, _pid
PERM_ANON_SESSION = POS_ALL | (KEY_VIEW | KEY_READ) << USR                       # _ses
PERM_NAMED_SESSION = POS_ALL | (KEY_VIEW | KEY_READ | KEY_LINK) << USR
PERM_PERSISTENT = (KEY_ALL & ~KEY_SETATTR) << KEY_POS_SHIFT | (KEY_VIEW | KEY_READ) << USR   # _persistent.N
PERM_USER_KEYRING = (KEY_ALL & ~KEY_SETATTR) << KEY_POS_SHIFT | KEY_ALL << USR   # _uid.N, _uid_ses.N


class KeyType:
    """What differs between key types: payload checks, reading, updating, describing."""

    def __init__(self, name, readable, updatable, payload_ok, description_ok=lambda d: True):
        self.name, self.readable, self.updatable = name, readable, updatable
        self.payload_ok, self.description_ok = payload_ok, description_ok


def _user_payload_ok(data):
    return 0 < len(data) <= USER_KEY_MAX_PAYLOAD


def _logon_description_ok(desc):
    colon = desc.find(b":")
    return colon > 0


KEY_TYPES = {
    b"user": KeyType("user", True, True, _user_payload_ok),
    b"logon": KeyType("logon", False, True, _user_payload_ok, _logon_description_ok),
    b"keyring": KeyType("keyring", True, False, lambda data: not data),
}
KEYRING = KEY_TYPES[b"keyring"]


class Charge:
    """One key's share of its owner's quota, given back when the key dies (or moved by chown)."""

    def __init__(self, user, nbytes):
        self.user, self.nbytes = user, nbytes
        user.nkeys += 1
        user.nbytes += nbytes

    def resize(self, nbytes):
        self.user.nbytes += nbytes - self.nbytes
        self.nbytes = nbytes

    def release(self):
        self.user.nkeys -= 1
        self.user.nbytes -= self.nbytes

    def move(self, user):
        self.release()
        self.user = user
        user.nkeys += 1
        user.nbytes += self.nbytes


class KeyUser:
    """Per-uid key state: quota usage and the user and user-session keyrings (made on demand)."""

    def __init__(self, uid, limits):
        self.uid = uid
        self.limits = limits   # the table's /proc/sys/kernel/keys values
        self.nkeys = self.nbytes = 0
        self.user_keyring = self.user_session_keyring = None

    def fits(self, nkeys, nbytes):
        """Do ``nkeys`` more keys of ``nbytes`` more bytes fit this user's quota?"""
        root = self.uid == 0
        maxkeys = self.limits["root_maxkeys" if root else "maxkeys"]
        maxbytes = self.limits["root_maxbytes" if root else "maxbytes"]
        return self.nkeys + nkeys <= maxkeys and self.nbytes + nbytes <= maxbytes


class Key:
    __slots__ = ("serial", "type", "description", "uid", "gid", "perm", "payload", "links", "revoked",
                 "invalidated", "expiry", "negative", "charge", "restricted", "__weakref__")

    def __init__(self, serial, ktype, description, uid, gid, perm):
        self.serial, self.type, self.description = serial, ktype, description
        self.uid, self.gid, self.perm = uid, gid, perm
        self.payload = b""
        self.links = {} if ktype is KEYRING else None   # (type name, description) -> Key, for a keyring
        self.revoked = self.invalidated = self.negative = False
        self.restricted = False  # KEYCTL_RESTRICT_KEYRING without a type: no link may be added
        self.expiry = 0          # seconds since the epoch; 0: never
        self.charge = None

    def validate(self):
        """key_validate: ENOKEY if invalidated, EKEYREVOKED if revoked, EKEYEXPIRED once expired."""
        if self.invalidated:
            raise SyscallError(ENOKEY)
        if self.revoked:
            raise SyscallError(EKEYREVOKED)
        if self.expiry and time.time() >= self.expiry:
            raise SyscallError(EKEYEXPIRED)

    def summary(self):
        """What /proc/keys shows after the type (the type's describe operation)."""
        if self.negative:
            return self.description
        if self.type is KEYRING:
            n = len(self.links)
            return self.description + (b": %d" % n if n else b": empty")
        return self.description + b": %d" % len(self.payload)


def permitted(key, creds, possessed, need):
    """key_task_permission: the owner's, the group's or others' bits, plus the possessor's."""
    if key.uid == creds.fsuid:
        bits = key.perm >> KEY_USR_SHIFT
    elif key.gid != NO_GID and (key.gid == creds.fsgid or key.gid in creds.groups):
        bits = key.perm >> KEY_GRP_SHIFT
    else:
        bits = key.perm
    if possessed:
        bits |= key.perm >> KEY_POS_SHIFT
    return bits & need & KEY_ALL == need


def check(key, creds, possessed, need):
    if not permitted(key, creds, possessed, need):
        raise SyscallError(EACCES)


class KeyTable:
    """The sandbox's keys: the serial table, per-uid state, the /proc/sys/kernel/keys limits."""

    def __init__(self):
        self.keys = weakref.WeakValueDictionary()
        self.users = {}
        self.limits = dict(KEY_SYSCTL_DEFAULTS)
        self.session = None       # the sandbox's anonymous session keyring
        self.persistent = {}      # uid -> its persistent keyring (KEYCTL_GET_PERSISTENT)

    def user(self, uid):
        if uid not in self.users:
            self.users[uid] = KeyUser(uid, self.limits)
        return self.users[uid]

    def _serial(self):
        while True:
            serial = int.from_bytes(os.urandom(4), "little") >> 1
            if serial >= KEY_SERIAL_MIN and serial not in self.keys:
                return serial

    def quota_ok(self, user, nkeys, nbytes):
        return user.fits(nkeys, nbytes)

    def alloc(self, ktype, description, uid, gid, perm, payload=b"", overrun=False):
        """key_alloc and its instantiation: EDQUOT past the owner's quota (unless ``overrun``,
        as for the keyrings the kernel makes for a process), or past SANDBOX_MAX_KEYS."""
        user = self.user(uid)
        nbytes = len(description) + 1 + len(payload)
        if not overrun and not self.quota_ok(user, 1, nbytes) or len(self.keys) >= SANDBOX_MAX_KEYS:
            raise SyscallError(EDQUOT)
        key = Key(self._serial(), ktype, description, uid, gid, perm)
        key.payload = payload
        key.charge = Charge(user, nbytes)
        weakref.finalize(key, key.charge.release)
        self.keys[key.serial] = key
        return key

    def keyring(self, description, creds, perm, overrun=True, uid=None, gid=None):
        return self.alloc(KEYRING, description, creds.uid if uid is None else uid,
                          creds.gid if gid is None else gid, perm, overrun=overrun)

    def set_payload(self, key, payload):
        """An update: the owner's quota must cover the new size (key_payload_reserve)."""
        extra = len(payload) - len(key.payload)
        if extra > 0 and not self.quota_ok(key.charge.user, 0, extra):
            raise SyscallError(EDQUOT)
        key.charge.resize(key.charge.nbytes + extra)
        key.payload = payload

    def chown(self, key, uid):
        """Move the key's quota burden to ``uid`` (EDQUOT if it does not fit there)."""
        new = self.user(uid)
        if not self.quota_ok(new, 1, key.charge.nbytes):
            raise SyscallError(EDQUOT)
        key.charge.move(new)
        key.uid = uid

    def find_keyring_by_name(self, name, creds):
        """An existing keyring named ``name`` the caller may search without possessing it."""
        for key in sorted(self.keys.values(), key=lambda k: k.serial):
            if (key.type is KEYRING and key.description == name and not key.revoked and not key.invalidated
                    and permitted(key, creds, False, KEY_SEARCH)):
                return key
        return None


def key_table(kernel):
    """The kernel's KeyTable, made on first use (most sandboxes never touch a key)."""
    table = getattr(kernel, "key_table", None)
    if table is None:
        table = kernel.key_table = KeyTable()
    return table


# -- keyrings ----------------------------------------------------------------------------------
def link(keyring, key):
    """key_link: ENOTDIR unless ``keyring`` is one; EDEADLK for a cycle, ELOOP past the nesting
    limit. A key of the same type and description already there is replaced."""
    if keyring.type is not KEYRING:
        raise SyscallError(ENOTDIR)
    if keyring.restricted:
        raise SyscallError(EPERM)
    if key.type is KEYRING:
        if key is keyring or _reaches(key, keyring, 0):
            raise SyscallError(EDEADLK)
    slot = (key.type.name, key.description)
    if slot not in keyring.links:   # a new link, not one replaced in place: the keyring grows
        if not keyring.charge.user.fits(0, LINK_BYTES):
            raise SyscallError(EDQUOT)
        charge_links(keyring, 1)
    keyring.links[slot] = key


def charge_links(keyring, n):
    """A keyring's quota charge grows by KEYQUOTA_LINK_BYTES per link it holds (__key_link_begin's
    key_payload_reserve), and shrinks as links go (unlink, clear, invalidate)."""
    keyring.charge.resize(keyring.charge.nbytes + n * LINK_BYTES)


def _reaches(ring, target, depth):
    if depth >= KEY_MAX_NESTING:
        raise SyscallError(ELOOP)
    for k in ring.links.values():
        if k is target or (k.type is KEYRING and _reaches(k, target, depth + 1)):
            return True
    return False


def unlink(keyring, key):
    if keyring.type is not KEYRING:
        raise SyscallError(ENOTDIR)
    slot = (key.type.name, key.description)
    if keyring.links.get(slot) is not key:
        raise SyscallError(ENOENT)
    del keyring.links[slot]
    charge_links(keyring, -1)


NOT_FOUND = -1    # a search that met no matching key at all (Linux's EAGAIN), as against a negative one


def search(keyring, ktype, description, creds, possessed, want=None):
    """keyring_search: a depth-first search of ``keyring`` and the keyrings nested in it that the
    caller may search, for a key of ``ktype`` and ``description`` it may search. A revoked,
    invalidated or expired match is reported (EKEYREVOKED, EKEYEXPIRED) if no valid one is found,
    a negative one as ENOKEY, nothing found as ENOKEY too. With ``want``, is that key found (its
    state aside): the possession test."""
    found, failure = _search(keyring, ktype, description, creds, possessed, want)
    if found is None:
        raise SyscallError(ENOKEY if failure == NOT_FOUND else failure)
    return found


def _search(keyring, ktype, description, creds, possessed, want=None):
    """search's work: (key, None), or (None, an errno or NOT_FOUND)."""
    failure = [NOT_FOUND]
    found = _walk(keyring, 1, (ktype, description, creds, possessed, want, failure))
    return found, (None if found is not None else failure[0])


def _walk(ring, depth, how):
    """One keyring of a search: its own keys first, then the keyrings in it that may be searched.
    (A plain function, not a closure: a self-referencing closure would be a reference cycle
    keeping the keys it names alive until the garbage collector ran.)"""
    ktype, description, creds, possessed, want, failure = how
    nested = []
    for k in list(ring.links.values()):
        if want is not None:
            if k is want and permitted(k, creds, possessed, KEY_SEARCH):
                return k
        elif k.type is ktype and k.description == description:
            found = _usable(k, creds, possessed, failure)
            if found is not None:
                return found
        if k.type is KEYRING:
            nested.append(k)
    if depth < KEY_MAX_NESTING:
        for k in nested:
            if _searchable(k, creds, possessed):
                found = _walk(k, depth + 1, how)
                if found is not None:
                    return found
    return None


def _searchable(ring, creds, possessed):
    try:
        ring.validate()
    except SyscallError:
        return False
    return permitted(ring, creds, possessed, KEY_SEARCH)


def _usable(key, creds, possessed, failure):
    try:
        key.validate()
    except SyscallError as e:
        failure[0] = EKEYREVOKED if e.errno == ENOKEY else e.errno
        return None
    if not permitted(key, creds, possessed, KEY_SEARCH):
        failure[0] = EACCES
        return None
    if key.negative:
        failure[0] = ENOKEY
        return None
    return key


# -- a Task's keyrings -------------------------------------------------------------------------
def session_keyring(task):
    """The caller's session keyring: its own, or the sandbox's anonymous one."""
    creds = task.creds
    if creds.session_keyring is None:
        table = key_table(task.kernel)
        if table.session is None:
            table.session = table.alloc(KEYRING, b"_ses", 0, 0, PERM_ANON_SESSION)
        creds.session_keyring = table.session
    return creds.session_keyring


def user_keyrings(task):
    """look_up_user_keyrings: the caller's user keyring and user session keyring (linking it)."""
    creds, table = task.creds, key_table(task.kernel)
    user = table.user(creds.uid)
    if user.user_keyring is None:
        user.user_keyring = table.alloc(KEYRING, b"_uid.%d" % creds.uid, creds.uid, NO_GID, PERM_USER_KEYRING)
        user.user_session_keyring = table.alloc(KEYRING, b"_uid_ses.%d" % creds.uid, creds.uid, NO_GID,
                                                PERM_USER_KEYRING)
        link(user.user_session_keyring, user.user_keyring)
    return user.user_keyring, user.user_session_keyring


def process_keyrings(task):
    """The keyrings a process's searches start from: thread, process, session (search_cred_keyrings)."""
    creds = task.creds
    return [k for k in (creds.thread_keyring, creds.process_keyring, session_keyring(task)) if k is not None]


def possesses(task, key):
    """Does the caller possess ``key``: is it one of its keyrings, or found by a search from them?"""
    creds = task.creds
    for ring in process_keyrings(task):
        if ring is key:
            return True
        if not permitted(ring, creds, True, KEY_SEARCH):
            continue
        try:
            search(ring, None, None, creds, True, want=key)
            return True
        except SyscallError:
            continue
    return False


def possessed_keys(task):
    """Every key the caller possesses, in one breadth-first walk (what possesses() answers key by
    key: /proc/keys asks for all of them, and a search per key would be quadratic)."""
    creds = task.creds
    tops = process_keyrings(task)
    found = set(tops)
    frontier = [ring for ring in tops if permitted(ring, creds, True, KEY_SEARCH)]
    seen = set(frontier)
    for depth in range(1, KEY_MAX_NESTING + 1):
        deeper = []
        for ring in frontier:
            for k in ring.links.values():
                if permitted(k, creds, True, KEY_SEARCH):
                    found.add(k)
                if k.type is KEYRING and depth < KEY_MAX_NESTING and k not in seen and _searchable(k, creds, True):
                    seen.add(k)
                    deeper.append(k)
        frontier = deeper
    return found


def join_session(task, name):
    """KEYCTL_JOIN_SESSION_KEYRING: a new anonymous session, or the keyring named ``name``
    (found if the caller may search it, else made). Returns its serial, or 0 if already in it."""
    creds, table = task.creds, key_table(task.kernel)
    if name is None:
        creds.session_keyring = table.keyring(b"_ses", creds, PERM_ANON_SESSION)
        return creds.session_keyring.serial
    ring = table.find_keyring_by_name(name, creds)
    if ring is None:
        ring = table.keyring(name, creds, PERM_NAMED_SESSION, overrun=False)
    elif ring is creds.session_keyring:
        return 0
    creds.session_keyring = ring
    return ring.serial


def special_keyring(task, ident, create):
    """The keyring a special id (KEY_SPEC_*) names: ENOKEY if the caller has none and ``create``
    is false; the group keyring is EINVAL as in Linux; there are no request_key authorisations."""
    creds, table = task.creds, key_table(task.kernel)
    if ident == KEY_SPEC_THREAD_KEYRING:
        if creds.thread_keyring is None and create:
            creds.thread_keyring = table.keyring(b"_tid", creds, PERM_TASK_KEYRING)
        ring = creds.thread_keyring
    elif ident == KEY_SPEC_PROCESS_KEYRING:
        if creds.process_keyring is None and create:
            creds.process_keyring = table.keyring(b"_pid", creds, PERM_TASK_KEYRING)
        ring = creds.process_keyring
    elif ident == KEY_SPEC_SESSION_KEYRING:
        ring = session_keyring(task)
    elif ident in (KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING):
        ring = user_keyrings(task)[ident == KEY_SPEC_USER_SESSION_KEYRING]
    elif ident in (KEY_SPEC_REQKEY_AUTH_KEY, KEY_SPEC_REQUESTOR_KEYRING):
        ring = None
    else:   # KEY_SPEC_GROUP_KEYRING (no group keyrings in Linux either) and anything below it
        raise SyscallError(EINVAL)
    if ring is None:
        raise SyscallError(ENOKEY)
    return ring


def lookup(task, ident, create=False, partial=False, need=0):
    """lookup_user_key: the key ``ident`` names and whether the caller possesses it. Unless
    ``need`` is 0 (the caller checks later), the key must be valid and allow ``need``."""
    if ident < 0:
        key, possessed = special_keyring(task, ident, create), True
    else:
        key = key_table(task.kernel).keys.get(ident) if ident > 0 else None
        if ident == 0:
            raise SyscallError(EINVAL)
        if key is None:
            raise SyscallError(ENOKEY)
        possessed = possesses(task, key)
    if need:
        if key.negative and not partial:
            raise SyscallError(ENOKEY)
        key.validate()
        check(key, task.creds, possessed, need)
    return key, possessed


def session_to_parent(task):
    """KEYCTL_SESSION_TO_PARENT: the parent process takes the caller's session keyring (on Linux
    as it next returns to user space; here at once). EPERM unless the parent is single-threaded
    and has the caller's effective ids throughout, and both session keyrings are the caller's."""
    ring, _ = lookup(task, KEY_SPEC_SESSION_KEYRING, need=KEY_LINK)
    parent = task.tg.parent
    live = [x for x in parent.tasks if not x.exited] if parent is not None and parent.exit_status is None else []
    if len(live) != 1:
        raise SyscallError(EPERM)
    pc, mc = live[0].creds, task.creds
    if pc is mc or session_keyring(live[0]) is ring:
        return 0
    if not (pc.uid == pc.euid == pc.suid == mc.euid and pc.gid == pc.egid == pc.sgid == mc.egid):
        raise SyscallError(EPERM)
    if session_keyring(live[0]).uid != mc.euid or ring.uid != mc.euid:
        raise SyscallError(EPERM)
    pc.session_keyring = ring
    return 0


def default_keyring(task):
    """Where request_key leaves a key it makes (construct_get_dest_keyring): the keyring
    KEYCTL_SET_REQKEY_KEYRING chose, else the first of thread, process, session, user session."""
    creds = task.creds
    choice = creds.reqkey_keyring
    if choice == K.KEY_REQKEY_DEFL_USER_KEYRING:
        return user_keyrings(task)[0]
    order = [creds.thread_keyring, creds.process_keyring, session_keyring(task)]
    start = {K.KEY_REQKEY_DEFL_PROCESS_KEYRING: 1, K.KEY_REQKEY_DEFL_SESSION_KEYRING: 2,
             K.KEY_REQKEY_DEFL_USER_SESSION_KEYRING: 3}.get(choice, 0)
    for ring in order[start:]:
        if ring is not None:
            return ring
    return user_keyrings(task)[1]


def set_reqkey_keyring(task, choice):
    """KEYCTL_SET_REQKEY_KEYRING: the old choice; the thread or process keyring is made if chosen."""
    creds = task.creds
    old = creds.reqkey_keyring
    if choice == K.KEY_REQKEY_DEFL_NO_CHANGE:
        return old
    if choice in (K.KEY_REQKEY_DEFL_THREAD_KEYRING, K.KEY_REQKEY_DEFL_PROCESS_KEYRING):
        special_keyring(task, -choice, True)      # KEY_SPEC_THREAD_KEYRING is -1, PROCESS -2
    elif choice not in (K.KEY_REQKEY_DEFL_DEFAULT, K.KEY_REQKEY_DEFL_SESSION_KEYRING, K.KEY_REQKEY_DEFL_USER_KEYRING,
                        K.KEY_REQKEY_DEFL_USER_SESSION_KEYRING, K.KEY_REQKEY_DEFL_REQUESTOR_KEYRING):
        raise SyscallError(EINVAL)
    creds.reqkey_keyring = choice
    return old


def request(task, ktype, description, callout, dest):
    """request_key: a key found from the caller's keyrings (linked into ``dest`` if given). With
    no key and no callout, ENOKEY; with a callout, the upcall to /sbin/request-key fails (the
    sandbox has none) and, as in Linux, leaves a negative key for a minute: ENOKEY too. A search
    that met nothing beats one that met a revoked or expired key (search_cred_keyrings_rcu)."""
    creds = task.creds
    missing, other = None, NOT_FOUND
    for ring in process_keyrings(task):
        if not permitted(ring, creds, True, KEY_SEARCH):
            other = EACCES
            continue
        key, err = _search(ring, ktype, description, creds, True)
        if key is not None:
            if dest is not None:
                check(key, creds, True, KEY_LINK)
                link(dest, key)
            return key.serial
        if err in (NOT_FOUND, ENOKEY):
            missing = err if missing in (None, NOT_FOUND) else missing
        else:
            other = err
    err = missing if missing is not None else other
    if err != NOT_FOUND or callout is None:
        raise SyscallError(ENOKEY if err == NOT_FOUND else err)
    if dest is None:
        # construct_get_dest_keyring: the default keyring must be writable, possessed (joining a
        # session keyring takes only Search), before any key is made
        dest = default_keyring(task)
        check(dest, creds, True, KEY_WRITE)
    table = key_table(task.kernel)
    key = table.alloc(ktype, description, creds.fsuid, creds.fsgid, _default_perm(ktype))
    key.negative = True
    key.expiry = int(time.time()) + KEY_NEGATIVE_TIMEOUT
    link(dest, key)
    raise SyscallError(ENOKEY)


def _default_perm(ktype):
    """key_create_or_update's default permissions: the possessor's all (read and write if the type
    has them), the owner's view."""
    perm = (KEY_VIEW | KEY_SEARCH | KEY_LINK | KEY_SETATTR) << KEY_POS_SHIFT | KEY_VIEW << USR
    if ktype.readable:
        perm |= KEY_READ << KEY_POS_SHIFT
    if ktype.updatable or ktype is KEYRING:
        perm |= KEY_WRITE << KEY_POS_SHIFT
    return perm


def create_or_update(task, keyring, possessed, type_name, description, payload):
    """add_key's work once the arguments are in: a new key linked into ``keyring``, or the key of
    the same type and description there updated (a type that can be updated)."""
    ktype = KEY_TYPES.get(type_name)
    if ktype is None:
        raise SyscallError(ENODEV)
    if keyring.type is not KEYRING:
        raise SyscallError(ENOTDIR)
    if not ktype.payload_ok(payload) or description is None:
        raise SyscallError(EINVAL)
    if keyring.restricted:
        raise SyscallError(EPERM)
    creds, table = task.creds, key_table(task.kernel)
    existing = keyring.links.get((ktype.name, description)) if ktype.updatable else None
    if existing is not None and not existing.revoked and not existing.invalidated:
        check(existing, creds, possessed, KEY_WRITE)
        table.set_payload(existing, payload)
        existing.negative = False
        return existing.serial
    if not ktype.description_ok(description):
        raise SyscallError(EINVAL)
    key = table.alloc(ktype, description, creds.fsuid, creds.fsgid, _default_perm(ktype), payload)
    link(keyring, key)
    return key.serial


def revoke(key):
    """KEYCTL_REVOKE: the payload goes (a keyring's links too); the key stays until collected."""
    key.revoked = True
    key.payload = b""
    if key.links:
        key.links.clear()
    key.charge.resize(len(key.description) + 1)
    key.expiry = int(time.time())      # /proc/keys shows a revoked key as expired, as Linux does


def invalidate(task, key):
    """KEYCTL_INVALIDATE: the key is gone at once, unlinked from every keyring."""
    key.invalidated = True
    for ring in list(key_table(task.kernel).keys.values()):
        if ring.type is KEYRING and ring.links.get((key.type.name, key.description)) is key:
            del ring.links[(key.type.name, key.description)]
            charge_links(ring, -1)


def describe(key):
    gid = OVERFLOW_ID if key.gid == NO_GID else key.gid
    return b"%s;%d;%d;%08x;" % (key.type.name.encode(), key.uid, gid, key.perm) + key.description


def _timeout(expiry, now):
    """/proc/keys's expiry column: "perm", "expd", or the time left in its largest unit."""
    if expiry == 0:
        return "perm"
    if now >= expiry:
        return "expd"
    left = expiry - now
    for unit, seconds, limit in (("s", 1, 60), ("m", 60, 3600), ("h", 3600, 86400), ("d", 86400, 604800)):
        if left < limit:
            return f"{left // seconds}{unit}"
    return f"{left // 604800}w"


def proc_keys(task):
    """/proc/keys: the keys the reader may view (possessor's view counting if it possesses them)."""
    if task is None:
        return b""
    lines, now = [], int(time.time())
    mine = possessed_keys(task)
    for key in sorted(key_table(task.kernel).keys.values(), key=lambda k: k.serial):
        possessed = bool(key.perm >> KEY_POS_SHIFT & KEY_VIEW) and key in mine
        if not permitted(key, task.creds, possessed, KEY_VIEW):
            continue
        flags = "%s%s-Q-%s%s" % ("I", "R" if key.revoked else "-", "N" if key.negative else "-",
                                 "i" if key.invalidated else "-")
        gid = OVERFLOW_ID if key.gid == NO_GID else key.gid
        lines.append(b"%08x %s %5d %4s %08x %5d %5d %-9.9s " % (
            key.serial, flags.encode(), 1, _timeout(key.expiry, now).encode(), key.perm, key.uid, gid,
            key.type.name.encode()) + key.summary() + b"\n")
    return b"".join(lines)


def proc_key_users(task):
    """/proc/key-users: per owner of keys, its key count, and its quota use against the limits
    (proc_key_users_show's "uid: usage nkeys/nikeys qnkeys/maxkeys qnbytes/maxbytes")."""
    if task is None:
        return b""
    table = key_table(task.kernel)
    lines = []
    for uid, user in sorted(table.users.items()):
        if not user.nkeys:
            continue   # a key_user lives as long as its keys
        root = uid == 0
        maxkeys = table.limits["root_maxkeys" if root else "maxkeys"]
        maxbytes = table.limits["root_maxbytes" if root else "maxbytes"]
        lines.append(b"%5u: %5d %d/%d %d/%d %d/%d\n" % (uid, user.nkeys, user.nkeys, user.nkeys, user.nkeys, maxkeys,
                                                        user.nbytes, maxbytes))
    return b"".join(lines)
