"""Unix permission checks (owner/group/other mode bits) for the VFS and syscalls.

``creds`` is the Task's Credentials (ids, groups, capability sets) or None for the
kernel itself (all capabilities). Overrides come from capabilities, as on Linux, not
from being uid 0.
"""
from snakevisor.abi.capability import (ALL_CAPS, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID,
                                       SECBIT_NO_SETUID_FIXUP)
from snakevisor.abi.errno import EACCES, EOVERFLOW, EPERM, SyscallError
from snakevisor.abi.fs import S_IFMT, S_IFREG, S_ISGID, S_ISUID, S_IXGRP
from snakevisor.sentry.vfs.inode_flags import check_may_write
from snakevisor.sentry.vfs.posix_acl import permits

MAY_EXEC = 1
MAY_WRITE = 2
MAY_READ = 4


def _ids(creds, real: bool):
    if creds is None:
        return 0, 0, ()
    if real:
        return creds.uid, creds.gid, tuple(creds.groups)
    return creds.fsuid, creds.fsgid, tuple(creds.groups)


def _caps(creds, real: bool) -> int:
    """The capabilities a check may use. access(2) without AT_EACCESS checks as the real ids, with
    the permitted set if the real uid is root of the caller's user namespace and none otherwise,
    or the effective set untouched under SECBIT_NO_SETUID_FIXUP (access_override_creds)."""
    if creds is None:
        return ALL_CAPS   # the kernel itself
    if real and not getattr(creds, "securebits", 0) & SECBIT_NO_SETUID_FIXUP:
        root = creds.ns_root() if hasattr(creds, "ns_root") else 0
        return creds.cap_permitted if creds.uid == root else 0
    return creds.cap_effective


def capable(creds, cap: int, real: bool = False) -> bool:
    return bool(_caps(creds, real) >> cap & 1)


def capable_wrt_inode(creds, cap: int, inode) -> bool:
    """capable_wrt_inode_uidgid: ``cap``, which a user namespace has only over files whose owner
    and group it maps."""
    if not capable(creds, cap):
        return False
    ns = getattr(creds, "user_ns", None)
    return ns is None or (ns.from_kernel("uid", inode.uid) is not None and ns.from_kernel("gid", inode.gid) is not None)


def sgid_to_drop(creds, inode) -> int:
    """S_ISGID if a change of ``inode`` by ``creds`` clears its set-group-ID bit (Linux's
    setattr_should_drop_sgid): when the group may execute, or the changer is neither in the
    file's group nor has CAP_FSETID over it (without group execute it means mandatory locking)."""
    mode = inode.mode
    if mode & S_ISGID and (mode & S_IXGRP or not (in_group(creds, inode.gid)
                                                 or capable_wrt_inode(creds, CAP_FSETID, inode))):
        return S_ISGID
    return 0


def setid_bits_to_kill(creds, inode) -> int:
    """The set-id bits a write to or truncation of ``inode`` by ``creds`` clears (Linux's
    setattr_should_drop_suidgid): set-user-ID, and set-group-ID as ``sgid_to_drop`` says; none of
    a file that is not regular, or for a writer with CAP_FSETID."""
    kill = inode.mode & S_ISUID | sgid_to_drop(creds, inode)
    if not kill or inode.mode & S_IFMT != S_IFREG or capable(creds, CAP_FSETID):
        return 0
    return kill


def fsuid(creds) -> int:
    return 0 if creds is None else creds.fsuid


def check_fsids_mapped(creds, fs) -> None:
    """fsuidgid_has_mapping: a file made on a filesystem mounted inside a user namespace (its
    ``user_ns``; none: the initial one) is owned by the maker's fsuid and fsgid, which must be ids
    there (EOVERFLOW otherwise: an unmapped uid after unshare -U, before a uid_map is written)."""
    ns = getattr(fs, "user_ns", None)
    if ns is not None and creds is not None and (
            ns.from_kernel("uid", creds.fsuid) is None or ns.from_kernel("gid", creds.fsgid) is None):
        raise SyscallError(EOVERFLOW)


def check_permission(creds, inode, mask: int, real: bool = False) -> None:
    """Raise EACCES unless ``creds`` may access ``inode`` for ``mask`` (MAY_* bits), as Linux's
    generic_permission: the owner, group or other bits (or an access ACL's entries), else
    CAP_DAC_READ_SEARCH (reading, and searching directories) or CAP_DAC_OVERRIDE (anything, but
    executing a file only if some execute bit is set). Being uid 0 is not enough: a root process
    without them is refused.

    ``real``: use the real ids (access(2) without AT_EACCESS) instead of the fs ids.
    """
    if inode.iflags and mask & MAY_WRITE:
        check_may_write(inode)   # inode_permission: nobody writes an immutable inode
    mode = inode.mode
    # The common case first: the owner (by fs uid) has the bits asked for; no tuple, no caps.
    if creds is not None and not real and creds.fsuid == inode.uid and not mask & 7 & ~(mode >> 6):
        return
    uid, gid, groups = _ids(creds, real)
    if uid == inode.uid:
        bits = (mode >> 6) & 7
    # acl_permission_check's check_acl. A host's ACL (a Gofer file's) costs a round trip: not
    # asked when capabilities grant the access whatever it says.
    elif mode & 0o070 and not (inode.host_acls and _overridden(creds, inode, mask, real)) \
            and (acl := inode.access_acl()) is not None:
        bits = mask & 7 if permits(acl, inode, uid, gid, groups, mask & 7) else 0
    elif gid == inode.gid or inode.gid in groups:
        bits = (mode >> 3) & 7
    else:
        bits = mode & 7
    if not mask & 7 & ~bits or _overridden(creds, inode, mask, real):
        return
    raise SyscallError(EACCES)


def _overridden(creds, inode, mask: int, real: bool) -> bool:
    """Do capabilities grant an access the bits refuse (generic_permission's tail)?"""
    mode = inode.mode
    caps = _caps(creds, real)
    ns = getattr(creds, "user_ns", None)
    if ns is not None and (ns.from_kernel("uid", inode.uid) is None or ns.from_kernel("gid", inode.gid) is None):
        caps = 0   # capable_wrt_inode_uidgid: a user namespace's capabilities reach only files it maps
    if inode.is_dir:
        return bool(not mask & MAY_WRITE and caps >> CAP_DAC_READ_SEARCH & 1 or caps >> CAP_DAC_OVERRIDE & 1)
    if mask & 7 == MAY_READ and caps >> CAP_DAC_READ_SEARCH & 1:
        return True
    return bool((not mask & MAY_EXEC or mode & 0o111) and caps >> CAP_DAC_OVERRIDE & 1)


def check_owner(creds, inode) -> None:
    """chmod/utimes-with-times: only the owner or CAP_FOWNER. EPERM otherwise."""
    if _ids(creds, False)[0] != inode.uid and not capable(creds, CAP_FOWNER):
        raise SyscallError(EPERM)


def in_group(creds, gid: int) -> bool:
    _, g, groups = _ids(creds, False)
    return g == gid or gid in groups
