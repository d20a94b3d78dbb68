"""add_key(2), request_key(2) and keyctl(2): argument handling over kernel/keys.py, in the order
Linux's security/keys/keyctl.c checks things (so the same bad call gets the same errno)."""
import struct
import time

from snakevisor.abi.capability import CAP_SETUID, CAP_SYS_ADMIN
from snakevisor.abi.errno import (EACCES, EEXIST, EFAULT, EINVAL, ENAMETOOLONG, ENOENT, ENOKEY, ENOTDIR, EOPNOTSUPP,
                                  EPERM, SyscallError)
from snakevisor.abi.fs import to_s32
from snakevisor.abi import keys as K
from snakevisor.sentry.kernel import keys
from snakevisor.sentry.kernel.keys import KEYRING, check, key_table, lookup

NO_ID = 0xFFFFFFFF            # (uid_t)-1 and (gid_t)-1: "leave unchanged"
KEYCTL_MOVE_EXCL = 1


def _string(t, addr, limit):
    """strndup_user(addr, limit): EFAULT for a bad pointer, EINVAL if not shorter than ``limit``."""
    if not addr:
        raise SyscallError(EFAULT)
    try:
        return bytes(t.mm.read_cstring(addr, limit - 1))
    except SyscallError as e:
        raise SyscallError(EINVAL if e.errno == ENAMETOOLONG else e.errno) from None


def _type_name(t, addr):
    """key_get_type_from_user: the type name, EINVAL if empty or too long, EPERM for a "." one."""
    name = _string(t, addr, K.KEY_TYPE_NAME_MAX)
    if not name:
        raise SyscallError(EINVAL)
    if name.startswith(b"."):
        raise SyscallError(EPERM)
    return name


def _payload(t, addr, length):
    if length > K.KEY_MAX_PAYLOAD:
        raise SyscallError(EINVAL)
    return bytes(t.mm.copy_in(addr, length)) if length else b""


def _ktype(name):
    """A key type by name for searches (ENOKEY if there is none, as key_type_lookup)."""
    ktype = keys.KEY_TYPES.get(name)
    if ktype is None:
        raise SyscallError(ENOKEY)
    return ktype


def add_key(t, type_addr, desc_addr, payload_addr, plen, ringid):
    if plen > K.KEY_MAX_PAYLOAD:
        raise SyscallError(EINVAL)
    type_name = _type_name(t, type_addr)
    description = _string(t, desc_addr, K.KEY_MAX_DESC_SIZE) if desc_addr else b""
    if description.startswith(b".") and type_name.startswith(b"keyring"):
        raise SyscallError(EPERM)
    payload = _payload(t, payload_addr, plen)
    keyring, possessed = lookup(t, to_s32(ringid), create=True, need=K.KEY_WRITE)
    return keys.create_or_update(t, keyring, possessed, type_name, description or None, payload)


def request_key(t, type_addr, desc_addr, callout_addr, destringid):
    type_name = _type_name(t, type_addr)
    description = _string(t, desc_addr, K.KEY_MAX_DESC_SIZE)
    callout = _string(t, callout_addr, 4096) if callout_addr else None
    dest = lookup(t, to_s32(destringid), create=True, need=K.KEY_WRITE)[0] if to_s32(destringid) else None
    return keys.request(t, _ktype(type_name), description, callout, dest)


# -- keyctl operations, each (task, arg2, arg3, arg4, arg5) ------------------------------------
def _get_keyring_id(t, ident, create, _a4, _a5):
    return lookup(t, to_s32(ident), create=bool(create), need=K.KEY_SEARCH)[0].serial


def _join(t, name_addr, _a3, _a4, _a5):
    name = _string(t, name_addr, K.KEY_MAX_DESC_SIZE) if name_addr else None
    if name is not None and name.startswith(b"."):
        raise SyscallError(EPERM)   # keyrings named ".*" are the kernel's, never a session (CVE-2016-9604)
    return keys.join_session(t, name)


def _update(t, ident, payload_addr, plen, _a5):
    payload = _payload(t, payload_addr, plen)
    key, _ = lookup(t, to_s32(ident), need=K.KEY_WRITE)
    if not key.type.updatable:
        raise SyscallError(EOPNOTSUPP)
    if not key.type.payload_ok(payload):
        raise SyscallError(EINVAL)
    key_table(t.kernel).set_payload(key, payload)
    key.negative = False
    return 0


def _revoke(t, ident, _a3, _a4, _a5):
    try:
        key, _ = lookup(t, to_s32(ident), need=K.KEY_WRITE)
    except SyscallError as e:
        if e.errno != EACCES:
            raise
        key, _ = lookup(t, to_s32(ident), need=K.KEY_SETATTR)
    keys.revoke(key)
    return 0


def _in_group(creds, gid):
    return gid == creds.fsgid or gid in creds.groups


def _chown(t, ident, uid, gid, _a5):
    uid, gid = uid & NO_ID, gid & NO_ID
    if uid == NO_ID and gid == NO_ID:
        return 0
    key, _ = lookup(t, to_s32(ident), create=True, partial=True, need=K.KEY_SETATTR)
    creds = t.creds
    privileged = (uid != NO_ID and uid != key.uid) or (gid != NO_ID and gid != key.gid and not _in_group(creds, gid))
    if privileged and not creds.has_cap(CAP_SYS_ADMIN):
        raise SyscallError(EACCES)
    if uid != NO_ID and uid != key.uid:
        key_table(t.kernel).chown(key, uid)
    if gid != NO_ID:
        key.gid = gid
    return 0


def _setperm(t, ident, perm, _a4, _a5):
    perm &= NO_ID
    if perm & ~K.KEY_PERM_MASK:
        raise SyscallError(EINVAL)
    key, _ = lookup(t, to_s32(ident), create=True, partial=True, need=K.KEY_SETATTR)
    if key.uid != t.creds.fsuid and not t.creds.has_cap(CAP_SYS_ADMIN):
        raise SyscallError(EACCES)
    key.perm = perm
    return 0


def _give(t, data, buf, buflen):
    """The length of ``data``, copied to ``buf`` only if all of it fits (keyctl_read_key,
    keyctl_describe_key)."""
    if buf and buflen >= len(data):
        t.mm.copy_out(buf, data)
    return len(data)


def _describe(t, ident, buf, buflen, _a5):
    key, _ = lookup(t, to_s32(ident), partial=True, need=K.KEY_VIEW)
    return _give(t, keys.describe(key) + b"\0", buf, buflen)


def _clear(t, ident, _a3, _a4, _a5):
    keyring, _ = lookup(t, to_s32(ident), create=True, need=K.KEY_WRITE)
    if keyring.type is not KEYRING:
        raise SyscallError(ENOTDIR)
    keys.charge_links(keyring, -len(keyring.links))
    keyring.links.clear()
    return 0


def _link(t, ident, ringid, _a4, _a5):
    keyring, _ = lookup(t, to_s32(ringid), create=True, need=K.KEY_WRITE)
    key, _ = lookup(t, to_s32(ident), create=True, need=K.KEY_LINK)
    keys.link(keyring, key)
    return 0


def _unlink(t, ident, ringid, _a4, _a5):
    keyring, _ = lookup(t, to_s32(ringid), need=K.KEY_WRITE)
    key, _ = lookup(t, to_s32(ident), partial=True)    # unlinking needs nothing of the key itself
    keys.unlink(keyring, key)
    return 0


def _search(t, ringid, type_addr, desc_addr, destringid):
    type_name = _type_name(t, type_addr)
    description = _string(t, desc_addr, K.KEY_MAX_DESC_SIZE)
    keyring, possessed = lookup(t, to_s32(ringid), need=K.KEY_SEARCH)
    dest = lookup(t, to_s32(destringid), create=True, need=K.KEY_WRITE)[0] if to_s32(destringid) else None
    ktype = _ktype(type_name)
    if keyring.type is not KEYRING:
        raise SyscallError(ENOTDIR)
    key = keys.search(keyring, ktype, description, t.creds, possessed)
    if dest is not None:
        check(key, t.creds, possessed, K.KEY_LINK)
        keys.link(dest, key)
    return key.serial


def _read(t, ident, buf, buflen, _a5):
    try:
        key, possessed = lookup(t, to_s32(ident))
    except SyscallError:
        raise SyscallError(ENOKEY) from None
    if key.negative:
        raise SyscallError(ENOKEY)
    if not keys.permitted(key, t.creds, possessed, K.KEY_READ) and not possessed:
        raise SyscallError(EACCES)
    if not key.type.readable:
        raise SyscallError(EOPNOTSUPP)
    key.validate()
    if key.type is KEYRING:
        data = b"".join(struct.pack("<i", k.serial) for k in key.links.values())
    else:
        data = key.payload
    return _give(t, data, buf, buflen) if buf and buflen else len(data)


def _set_timeout(t, ident, timeout, _a4, _a5):
    key, _ = lookup(t, to_s32(ident), create=True, partial=True, need=K.KEY_SETATTR)
    timeout &= NO_ID
    key.expiry = int(time.time()) + timeout if timeout else 0
    return 0


def _invalidate(t, ident, _a3, _a4, _a5):
    key, _ = lookup(t, to_s32(ident), need=K.KEY_SEARCH)
    keys.invalidate(t, key)
    return 0


def _get_persistent(t, uid, destid, _a4, _a5):
    """The caller's (or, with CAP_SETUID, any uid's) persistent keyring, linked into ``destid``;
    it expires persistent_keyring_expiry seconds after its last use."""
    creds = t.creds
    uid &= NO_ID
    if uid == NO_ID:
        uid = creds.uid
    elif uid not in (creds.uid, creds.euid) and not creds.has_cap(CAP_SETUID):
        raise SyscallError(EPERM)
    dest, _ = lookup(t, to_s32(destid), create=True, need=K.KEY_WRITE)
    if dest.type is not KEYRING:
        raise SyscallError(ENOTDIR)
    table = key_table(t.kernel)
    ring = table.persistent.get(uid)
    if ring is None or ring.revoked or ring.invalidated:
        ring = table.persistent[uid] = table.keyring(b"_persistent.%d" % uid, creds, keys.PERM_PERSISTENT,
                                                     uid=uid, gid=keys.NO_GID)
    ring.expiry = int(time.time()) + table.limits["persistent_keyring_expiry"]
    keys.link(dest, ring)
    return ring.serial


def _get_security(t, ident, buf, buflen, _a5):
    """No security module labels keys here: the label is the empty string."""
    lookup(t, to_s32(ident), partial=True, need=K.KEY_VIEW)
    if buf and buflen:
        t.mm.copy_out(buf, b"\0")
    return 1


def _assume_authority(t, ident, _a3, _a4, _a5):
    """There are no request_key authorisation keys (no upcalls): only giving up one succeeds."""
    ident = to_s32(ident)
    if ident < 0:
        raise SyscallError(EINVAL)
    if ident:
        raise SyscallError(ENOKEY)
    return 0


def _no_authority(t, *_args):
    """KEYCTL_INSTANTIATE, NEGATE, REJECT: only the holder of an authorisation key may."""
    raise SyscallError(EPERM)


def _set_reqkey_keyring(t, choice, _a3, _a4, _a5):
    return keys.set_reqkey_keyring(t, to_s32(choice))


def _session_to_parent(t, _a2, _a3, _a4, _a5):
    return keys.session_to_parent(t)


def _restrict_keyring(t, ident, type_addr, restriction_addr, _a5):
    """Only the restriction without a type is known here: the keyring takes no more links
    (EPERM); the three key types here have no restriction schemes (ENOENT)."""
    type_name = _type_name(t, type_addr) if type_addr else None
    if (type_name is None) != (not restriction_addr):
        raise SyscallError(EINVAL)        # a type and a restriction go together
    if restriction_addr:
        _string(t, restriction_addr, 4096)
    keyring, _ = lookup(t, to_s32(ident), need=K.KEY_SETATTR)
    if keyring.type is not KEYRING:
        raise SyscallError(ENOTDIR)
    if type_name is not None:
        _ktype(type_name)
        raise SyscallError(ENOENT)
    if keyring.restricted:
        raise SyscallError(EEXIST)
    keyring.restricted = True
    return 0


CAPABILITIES = bytes((K.KEYCTL_CAPS0_CAPABILITIES | K.KEYCTL_CAPS0_PERSISTENT_KEYRINGS | K.KEYCTL_CAPS0_INVALIDATE
                      | K.KEYCTL_CAPS0_RESTRICT_KEYRING | K.KEYCTL_CAPS0_MOVE,
                      K.KEYCTL_CAPS1_NS_KEYRING_NAME | K.KEYCTL_CAPS1_NS_KEY_TAG))


def _capabilities(t, buf, buflen, _a4, _a5):
    """What these keyrings do, as much of it as fits in ``buf`` (after it, up to a page of ``buf``
    zeroed: Linux clears all of it, but the length is the application's)."""
    if buflen:
        n = min(buflen, len(CAPABILITIES))
        t.mm.copy_out(buf, CAPABILITIES[:n] + bytes(min(buflen - n, 4096)))
    return len(CAPABILITIES)


def _move(t, ident, from_ring, to_ring, flags):
    if flags & ~KEYCTL_MOVE_EXCL:
        raise SyscallError(EINVAL)
    key, _ = lookup(t, to_s32(ident), create=True, need=K.KEY_LINK)
    src, _ = lookup(t, to_s32(from_ring), need=K.KEY_WRITE)
    dst, _ = lookup(t, to_s32(to_ring), create=True, need=K.KEY_WRITE)
    if src is dst:
        return 0
    if src.type is not KEYRING or dst.type is not KEYRING:
        raise SyscallError(ENOTDIR)
    if flags & KEYCTL_MOVE_EXCL and (key.type.name, key.description) in dst.links:
        raise SyscallError(EEXIST)
    keys.unlink(src, key)
    keys.link(dst, key)
    return 0


OPERATIONS = {
    K.KEYCTL_GET_KEYRING_ID: _get_keyring_id, K.KEYCTL_JOIN_SESSION_KEYRING: _join, K.KEYCTL_UPDATE: _update,
    K.KEYCTL_REVOKE: _revoke, K.KEYCTL_CHOWN: _chown, K.KEYCTL_SETPERM: _setperm, K.KEYCTL_DESCRIBE: _describe,
    K.KEYCTL_CLEAR: _clear, K.KEYCTL_LINK: _link, K.KEYCTL_UNLINK: _unlink, K.KEYCTL_SEARCH: _search,
    K.KEYCTL_READ: _read, K.KEYCTL_SET_TIMEOUT: _set_timeout, K.KEYCTL_INVALIDATE: _invalidate,
    K.KEYCTL_GET_PERSISTENT: _get_persistent, K.KEYCTL_GET_SECURITY: _get_security,
    K.KEYCTL_ASSUME_AUTHORITY: _assume_authority, K.KEYCTL_INSTANTIATE: _no_authority,
    K.KEYCTL_NEGATE: _no_authority, K.KEYCTL_REJECT: _no_authority, K.KEYCTL_INSTANTIATE_IOV: _no_authority,
    K.KEYCTL_MOVE: _move, K.KEYCTL_SET_REQKEY_KEYRING: _set_reqkey_keyring,
    K.KEYCTL_SESSION_TO_PARENT: _session_to_parent, K.KEYCTL_RESTRICT_KEYRING: _restrict_keyring,
    K.KEYCTL_CAPABILITIES: _capabilities,
}


def keyctl(t, op, arg2, arg3, arg4, arg5):
    handler = OPERATIONS.get(to_s32(op))
    if handler is None:
        raise SyscallError(EOPNOTSUPP)     # as Linux for an operation it does not know
    return handler(t, arg2, arg3, arg4, arg5)
