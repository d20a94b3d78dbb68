"""POSIX ACLs kept by the Sentry (tmpfs's, as shmem's with CONFIG_TMPFS_POSIX_ACL; Linux's
fs/posix_acl.c): the system.posix_acl_access and system.posix_acl_default values, their
validation, what they do to the mode (a minimal ACL is only mode bits; an extended one's mask is
the group bits, and chmod rewrites it), the access check of named users and groups, and a
directory's default ACL given to what is made in it.

An ACL is kept as its xattr value with kernel ids (the user namespace of the caller maps them at
the syscall); here it is a list of [tag, perm, id] in the order posix_acl_valid demands.
"""
import struct

from snakevisor.abi.errno import EINVAL, EOPNOTSUPP, SyscallError
from snakevisor.abi.fs import (ACL_GROUP, ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER, ACL_UNDEFINED_ID, ACL_USER,
                               ACL_USER_OBJ, POSIX_ACL_XATTR_VERSION, XATTR_NAME_POSIX_ACL_ACCESS,
                               XATTR_NAME_POSIX_ACL_DEFAULT)

ACCESS, DEFAULT = XATTR_NAME_POSIX_ACL_ACCESS, XATTR_NAME_POSIX_ACL_DEFAULT
NAMES = (ACCESS, DEFAULT)
_HEADER = struct.Struct("<I")
_ENTRY = struct.Struct("<HHI")
_OVERFLOW_ID = 65534   # what an id the reader's user namespace does not map reads as
_ID_KIND = {ACL_USER: "uid", ACL_GROUP: "gid"}


def parse(value: bytes) -> list:
    """A kept value's entries (valid already, kernel ids)."""
    return [list(e) for e in _ENTRY.iter_unpack(value[_HEADER.size:])]


def pack(acl) -> bytes:
    return _HEADER.pack(POSIX_ACL_XATTR_VERSION) + b"".join(_ENTRY.pack(*e) for e in acl)


def from_xattr(data: bytes, ns=None):
    """posix_acl_from_xattr then posix_acl_valid: the entries of a value set by a caller in user
    namespace ``ns`` (ids mapped to kernel ids), or None for a header alone (no ACL). A short or
    ragged value, an unknown tag or an id ``ns`` does not map is EINVAL, another version EOPNOTSUPP."""
    if len(data) < _HEADER.size:
        raise SyscallError(EINVAL)
    if _HEADER.unpack_from(data)[0] != POSIX_ACL_XATTR_VERSION:
        raise SyscallError(EOPNOTSUPP)
    if (len(data) - _HEADER.size) % _ENTRY.size:
        raise SyscallError(EINVAL)
    acl = parse(data)
    if not acl:
        return None
    for e in acl:
        if e[0] in _ID_KIND:
            e[2] = e[2] if ns is None else ns.to_kernel(_ID_KIND[e[0]], e[2])
            if e[2] is None:
                raise SyscallError(EINVAL)
        elif e[0] in (ACL_USER_OBJ, ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER):
            e[2] = ACL_UNDEFINED_ID
        else:
            raise SyscallError(EINVAL)
    _check_valid(acl)
    return acl


def _check_valid(acl) -> None:
    """posix_acl_valid: permissions rwx at most; the owner's entry, named users, the owning
    group's, named groups, the mask (needed with named entries), others, in that order, once each."""
    state, needs_mask = ACL_USER_OBJ, False
    for tag, perm, _ in acl:
        if perm & ~7 or not state:
            raise SyscallError(EINVAL)
        if tag == ACL_USER_OBJ and state == ACL_USER_OBJ:
            state = ACL_USER
        elif tag == ACL_USER and state == ACL_USER or tag == ACL_GROUP and state == ACL_GROUP:
            needs_mask = True
        elif tag == ACL_GROUP_OBJ and state == ACL_USER:
            state = ACL_GROUP
        elif tag == ACL_MASK and state == ACL_GROUP:
            state = ACL_OTHER
        elif tag == ACL_OTHER and (state == ACL_OTHER or state == ACL_GROUP and not needs_mask):
            state = 0
        else:
            raise SyscallError(EINVAL)
    if state:
        raise SyscallError(EINVAL)


def to_xattr(value: bytes, ns=None) -> bytes:
    """posix_acl_to_xattr: a kept value as a reader in user namespace ``ns`` sees it."""
    if ns is None:
        return value
    acl = parse(value)
    for e in acl:
        if e[0] in _ID_KIND:
            mapped = ns.from_kernel(_ID_KIND[e[0]], e[2])
            e[2] = _OVERFLOW_ID if mapped is None else mapped
    return pack(acl)


def equiv_mode(acl, mode: int):
    """posix_acl_equiv_mode: (the mode with the permission bits ``acl`` gives, whether it says
    more than mode bits can). The mask, not the owning group's entry, is the group bits."""
    bits, extended = 0, False
    for tag, perm, _ in acl:
        if tag == ACL_USER_OBJ:
            bits |= perm << 6
        elif tag == ACL_GROUP_OBJ:
            bits |= perm << 3
        elif tag == ACL_OTHER:
            bits |= perm
        elif tag == ACL_MASK:
            bits = bits & ~0o070 | perm << 3
            extended = True
        else:
            extended = True
    return mode & ~0o777 | bits, extended


def chmod(value: bytes, mode: int) -> bytes:
    """__posix_acl_chmod: a kept access ACL after a chmod: the owner's, the mask (or the owning
    group's, without one) and others' entries take the new bits."""
    acl = parse(value)
    group = next((e for e in acl if e[0] == ACL_MASK), None) or next(e for e in acl if e[0] == ACL_GROUP_OBJ)
    for e in acl:
        if e[0] == ACL_USER_OBJ:
            e[1] = mode >> 6 & 7
        elif e[0] == ACL_OTHER:
            e[1] = mode & 7
    group[1] = mode >> 3 & 7
    return pack(acl)


def create_masq(value: bytes, mode: int):
    """posix_acl_create_masq: a directory's default ACL (``value``) made the access ACL of a file
    created in it with ``mode``: each class's entry and bits are what both allow. Returns (the
    access ACL or None if mode bits say it all, the new mode)."""
    acl = parse(value)
    bits, extended, group = mode & 0o777, False, None
    for e in acl:
        if e[0] == ACL_USER_OBJ:
            e[1] &= bits >> 6
            bits &= e[1] << 6 | 0o077
        elif e[0] == ACL_OTHER:
            e[1] &= bits
            bits &= e[1] | 0o770
        elif e[0] == ACL_MASK or group is None and e[0] == ACL_GROUP_OBJ:
            group = e
        extended |= e[0] in (ACL_USER, ACL_GROUP, ACL_MASK)
    group[1] &= bits >> 3
    bits &= group[1] << 3 | 0o707
    return (pack(acl) if extended else None), mode & ~0o777 | bits


def permits(value: bytes, inode, uid: int, gid: int, groups, want: int) -> bool:
    """posix_acl_permission for a caller who does not own the file: a named user's entry, else
    the owning group's or a named group's that grants ``want`` (any group entry that matches but
    does not grant it refuses), each through the mask; else others'."""
    acl = parse(value)
    mask = next((perm for tag, perm, _ in acl if tag == ACL_MASK), 7)
    found = False
    for tag, perm, ident in acl:
        if tag == ACL_USER and ident == uid:
            return perm & mask & want == want
        if tag == ACL_GROUP_OBJ or tag == ACL_GROUP:
            member = (inode.gid if tag == ACL_GROUP_OBJ else ident)
            if member == gid or member in groups:
                if perm & want == want:
                    return perm & mask & want == want
                found = True
        elif tag == ACL_OTHER:
            return not found and perm & want == want
    return False
