"""Control messages of sendmsg/recvmsg (syscalls/socket.py): SCM_RIGHTS and SCM_CREDENTIALS parsed
from the sender's buffer and delivered into the receiver's, and the protocol-level messages a host
socket takes or gives (IP_TOS, IPV6_HOPLIMIT, SO_TIMESTAMP, TCP_CM_INQ...), fitted as Linux's put_cmsg."""
import struct

from snakevisor.abi.errno import EINVAL, EPERM, ESRCH, SyscallError
from snakevisor.abi import socket as S
from snakevisor.abi.capability import CAP_SETGID, CAP_SETUID, CAP_SYS_ADMIN
from snakevisor.sentry.kernel.userns import id_from, owner_capable
from snakevisor.sentry.net.inet import InetSocket
from snakevisor.sentry.net.unix import UnixSocket, task_creds, ucred_seen_by

INT = struct.Struct("<i")


def parse_control(t, sock, control: bytes):
    """SCM_RIGHTS (FileDescriptions, with a reference each) and SCM_CREDENTIALS from a control buffer,
    and the protocol-level messages a host socket takes (IP_TOS, IPV6_HOPLIMIT, ...), packed."""
    rights, creds, other = [], None, b""
    try:
        for level, typ, data in S.parse_cmsgs(control):
            if level != S.SOL_SOCKET:
                if isinstance(sock, InetSocket):
                    other += S.pack_cmsg(level, typ, data)
                continue   # an AF_UNIX socket ignores other levels, as Linux's
            if typ in (S.SCM_RIGHTS, S.SCM_CREDENTIALS) and isinstance(sock, InetSocket):
                continue   # Unix-only messages: an inet socket skips them (sock_cmsg_send)
            if typ == S.SCM_RIGHTS:
                fds = [INT.unpack_from(data, i)[0] for i in range(0, len(data) - 3, 4)]
                if len(rights) + len(fds) > S.SCM_MAX_FD:
                    raise SyscallError(EINVAL)
                for fd in fds:
                    rights.append(t.fdtable.get(fd).inc_ref())
            elif typ == S.SCM_CREDENTIALS:
                creds = _scm_credentials(t, data)
            else:
                raise SyscallError(EINVAL)
    except SyscallError:
        for f in rights:
            f.dec_ref()
        raise
    if rights and not isinstance(sock, UnixSocket):
        for f in rights:
            f.dec_ref()
        raise SyscallError(EINVAL)
    return rights, creds, other


def _scm_credentials(t, data):
    """The (global pid, kernel uid, gid) an SCM_CREDENTIALS message names, checked as Linux's
    scm_check_creds (EPERM: another's ids without privilege), then ESRCH for a pid nothing has
    (reaped, never used: find_get_pid in __scm_send)."""
    if len(data) < S.UCRED.size:
        raise SyscallError(EINVAL)
    lpid, uid, gid = S.UCRED.unpack_from(data)
    mine = task_creds(t)
    c = t.creds
    # kept as a global pid and kernel ids: each receiver sees them in its own namespaces
    pid, uid, gid = t.tg.pidns.global_id(lpid) or 0, id_from(t.creds, uid), id_from(t.creds, gid, "gid")
    # Another's pid needs CAP_SYS_ADMIN, other ids CAP_SETUID/CAP_SETGID (being root is not enough).
    if not ((pid == mine[0] or owner_capable(c, t.tg.pidns, CAP_SYS_ADMIN))
            and (uid in (c.uid, c.euid, getattr(c, "suid", c.uid)) or c.own_cap(CAP_SETUID))
            and (gid in (c.gid, c.egid, getattr(c, "sgid", c.gid)) or c.own_cap(CAP_SETGID))):
        raise SyscallError(EPERM)
    if t.tg.pidns.task_of(lpid) is None and t.tg.pidns.group_of(lpid) is None:
        raise SyscallError(ESRCH)
    return pid, uid, gid


def control_out(t, sock, res, flags, control, controllen):
    """Pack SCM_CREDENTIALS and SCM_RIGHTS for recvmsg; returns (bytes, extra msg_flags)."""
    out, mflags = b"", 0
    space = controllen
    if getattr(sock, "passcred", False):   # SO_PASSCRED now, whatever it was when sent (scm_recv)
        cm = S.pack_cmsg(S.SOL_SOCKET, S.SCM_CREDENTIALS, S.UCRED.pack(*ucred_seen_by(t, res.creds)))
        out, truncated = _put_cmsgs(cm, space)   # cut to the room there is, as put_cmsg
        space -= len(out)
        if truncated:
            mflags |= S.MSG_CTRUNC
    rights = res.rights
    if rights:
        fit = max(0, (space - S.CMSGHDR.size) // 4) if space >= S.CMSGHDR.size else 0
        fds = []
        for i, rf in enumerate(rights):
            if i >= fit:
                mflags |= S.MSG_CTRUNC
                rf.dec_ref()
                continue
            try:
                fds.append(t.fdtable.install(rf, bool(flags & S.MSG_CMSG_CLOEXEC)))
            except SyscallError:
                mflags |= S.MSG_CTRUNC
                rf.dec_ref()
        if fds:
            cm = S.pack_cmsg(S.SOL_SOCKET, S.SCM_RIGHTS, b"".join(INT.pack(x) for x in fds))
            cm = cm[:space]
            out += cm
        res.rights = []
    if res.control:
        packed, truncated = _put_cmsgs(res.control, controllen - len(out))
        out += packed
        if truncated:
            mflags |= S.MSG_CTRUNC
    return out, mflags


def _put_cmsgs(control: bytes, space: int):
    """Re-pack control messages into ``space`` bytes as Linux's put_cmsg does: a message that does not
    fit is cut (its cmsg_len says so) and MSG_CTRUNC is set; none is written without room for a header."""
    out, truncated = b"", False
    for level, typ, data in S.parse_cmsgs(control):
        if space < S.CMSGHDR.size:
            return out, True
        cmlen = S.cmsg_len(len(data))
        if space < cmlen:
            truncated, cmlen = True, space
        step = min(S.cmsg_space(len(data)), space)
        out += (S.CMSGHDR.pack(cmlen, level, typ) + data[:cmlen - S.CMSGHDR.size]).ljust(step, b"\0")
        space -= step
    return out, truncated
