"""landlock_create_ruleset, landlock_add_rule, landlock_restrict_self (security/landlock/syscalls.c):
the argument checks, in Linux's order; kernel/landlock.py holds rulesets and domains."""
from snakevisor.abi import landlock as L
from snakevisor.abi.capability import CAP_SYS_ADMIN
from snakevisor.abi.errno import E2BIG, EBADF, EBADFD, EFAULT, EINVAL, ENOMSG, EPERM, SyscallError
from snakevisor.abi.fs import O_RDWR, to_s32, to_u32
from snakevisor.sentry.fsimpl.anon import anon_inode_file
from snakevisor.sentry.kernel import landlock as K
from snakevisor.sentry.syscalls.newfd import install_new

PAGE_SIZE = 4096


def landlock_create_ruleset(t, attr, size, flags):
    flags = to_u32(flags)
    if flags:
        if attr or size:
            raise SyscallError(EINVAL)
        if flags == L.LANDLOCK_CREATE_RULESET_VERSION:
            return L.LANDLOCK_ABI_VERSION
        if flags == L.LANDLOCK_CREATE_RULESET_ERRATA:
            return L.LANDLOCK_ERRATA
        raise SyscallError(EINVAL)
    # copy_min_struct_from_user: an older, shorter struct is fine; a longer one's tail must be zero
    if not attr:
        raise SyscallError(EFAULT)
    if size < L.RULESET_ATTR_MIN:
        raise SyscallError(EINVAL)
    if size > PAGE_SIZE:
        raise SyscallError(E2BIG)
    raw = t.mm.copy_in(attr, size)
    if any(raw[L.RULESET_ATTR.size:]):
        raise SyscallError(E2BIG)
    fs, net, scoped = L.RULESET_ATTR.unpack(raw[:L.RULESET_ATTR.size].ljust(L.RULESET_ATTR.size, b"\0"))
    if fs & ~L.MASK_ACCESS_FS or net & ~L.MASK_ACCESS_NET or scoped & ~L.MASK_SCOPE:
        raise SyscallError(EINVAL)
    if not (fs or net or scoped):
        raise SyscallError(ENOMSG)   # a ruleset that restricts nothing
    f = anon_inode_file("landlock-ruleset", K.RulesetFile(K.Ruleset(fs, net, scoped)), O_RDWR)
    return install_new(t, f, True)


def _ruleset(t, fd) -> K.Ruleset:
    f = t.fdtable.get(to_s32(fd))
    if f.is_path:
        raise SyscallError(EBADF)
    if not isinstance(f.impl, K.RulesetFile):
        raise SyscallError(EBADFD)
    return f.impl.ruleset


def landlock_add_rule(t, ruleset_fd, rule_type, rule_attr, flags):
    if to_u32(flags):
        raise SyscallError(EINVAL)
    ruleset = _ruleset(t, ruleset_fd)
    rule_type = to_s32(rule_type)
    if rule_type == L.LANDLOCK_RULE_PATH_BENEATH:
        allowed, parent_fd = L.PATH_BENEATH_ATTR.unpack(t.mm.copy_in(rule_attr, L.PATH_BENEATH_ATTR.size))
        if not allowed:
            raise SyscallError(ENOMSG)
        if allowed & ~ruleset.fs:
            raise SyscallError(EINVAL)
        f = t.fdtable.get(parent_fd)      # O_PATH descriptors too
        if isinstance(f.impl, K.RulesetFile) or f.vd.mount.anonymous:
            raise SyscallError(EBADFD)    # pipes, sockets, anon files: in no namespace
        ruleset.add_path(f.vd.dentry.inode, allowed)
        return 0
    if rule_type == L.LANDLOCK_RULE_NET_PORT:
        allowed, port = L.NET_PORT_ATTR.unpack(t.mm.copy_in(rule_attr, L.NET_PORT_ATTR.size))
        if not allowed:
            raise SyscallError(ENOMSG)
        if allowed & ~ruleset.net or port > 0xFFFF:
            raise SyscallError(EINVAL)
        ruleset.add_port(port, allowed)
        return 0
    raise SyscallError(EINVAL)


def landlock_restrict_self(t, ruleset_fd, flags):
    if not t.creds.no_new_privs and not t.creds.has_cap(CAP_SYS_ADMIN):
        raise SyscallError(EPERM)
    flags, fd = to_u32(flags), to_s32(ruleset_fd)
    if flags & ~L.LANDLOCK_MASK_RESTRICT_SELF:
        raise SyscallError(EINVAL)
    # The logging flags have nothing to act on (no audit log in the sandbox); SUBDOMAINS_OFF alone
    # with fd -1 only sets a logging option.
    if fd == -1 and flags == L.LANDLOCK_RESTRICT_SELF_LOG_SUBDOMAINS_OFF:
        return 0
    K.restrict(t.creds, _ruleset(t, fd))
    return 0
