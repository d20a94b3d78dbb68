"""The byte stream of an AF_UNIX SOCK_STREAM socket: reads that gather across queued messages, and
the urgent byte (MSG_OOB, Linux >= 5.15 with CONFIG_AF_UNIX_OOB), for net/unix.py.

A send with MSG_OOB queues its last byte as a message of its own, which becomes the receiver's
``oob`` (Linux's oob_skb); a later one replaces it, and the earlier byte is then ordinary data.
recv(MSG_OOB) takes the byte and leaves its message, now empty, in the queue: the *mark*. Ordinary
reads follow Linux's manage_oob: a read that has taken bytes stops before the urgent byte and
before a mark; one that starts at a mark removes it; one that starts at the urgent byte drops it
and reads on (with SO_OOBINLINE it reads the byte as data; a peek steps over it). SIOCATMARK says
whether the next read starts at the urgent byte or at a mark; poll says POLLPRI while one waits.
An empty message in a stream queue is always a mark: a send of nothing queues none.
"""
from snakevisor.abi.errno import EINVAL, SyscallError
from snakevisor.abi.socket import MSG_OOB, MSG_PEEK, pack_sockaddr_un
from snakevisor.sentry.fsimpl.sockfs import RecvResult


def read_stream(sock, n, flags, copied, want_addr):
    """Up to ``n`` bytes as Linux's unix_stream_read_generic gathers them: a message carrying
    descriptors ends the read that takes them; with SO_PASSCRED, messages of differing credentials
    are not glued (without it they are); urgent bytes and marks end it as the module says.
    ``copied``: this read took bytes in an earlier step already. None: nothing to read now."""
    peek = bool(flags & MSG_PEEK)
    rq = sock.rq
    parts, got, rights, creds, i = [], 0, [], None, 0
    while not (parts and got >= n):   # (a null read still takes the first message's descriptors)
        i = _past_marks(sock, i, peek, copied or got)
        if i is None:
            break
        msg = rq[i]
        if parts and sock.passcred and msg.creds != creds:
            break
        creds = msg.creds
        take = msg.data[:n - got]
        parts.append(take)
        got += len(take)
        taken, msg.rights = msg.rights, (msg.rights if peek else None)
        if peek:
            i += 1
        else:
            sock.rq_bytes -= len(take)
            if len(take) == len(msg.data):
                rq.popleft()
            else:
                msg.data = msg.data[len(take):]
        if taken:
            rights = [f.inc_ref() for f in taken] if peek else taken
            break
    if not peek:
        sock.freed()
    if not parts:   # stopped at a mark after an earlier step: an empty result ends the read
        return RecvResult(b"") if copied and rq else None
    peer_name = sock.peer.name if sock.peer is not None else None
    return RecvResult(b"".join(parts), -1, pack_sockaddr_un(peer_name) if want_addr and peer_name else None,
                      rights, creds)


def _past_marks(sock, i, peek, copied):
    """Linux's manage_oob for a read at ``sock.rq[i]`` (i is 0 unless peeking): the index of the
    message it reads next, or None where it ends (the queue's end, or the urgent byte or a mark
    once it has taken bytes)."""
    rq = sock.rq
    if i >= len(rq):
        return None
    msg, oob = rq[i], sock.oob
    if msg.data and msg is not oob:
        return i
    if not msg.data:   # a mark: it ends a read that took bytes, unless an urgent byte waits further on
        if copied and oob is None:
            return None
        if peek:
            i += 1
        else:
            rq.popleft().drop()
        if i >= len(rq) or rq[i] is not oob:
            return i if i < len(rq) else None
        msg = oob
    if copied:
        return None
    if peek:   # the urgent byte stays; a peek reads past it, unless it is inline
        if sock.oobinline:
            return i
        return i + 1 if i + 1 < len(rq) else None
    sock.oob = None
    if sock.oobinline:
        return i
    rq.popleft().drop()   # an ordinary read that reaches the urgent byte loses it
    sock.rq_bytes -= 1
    return 0 if rq else None


def recv_urgent(sock, n, flags):
    """recv(MSG_OOB) on a connected stream socket: the urgent byte (MSG_OOB in msg_flags); EINVAL
    when there is none or it is read inline. Taking it leaves its message empty, as the mark; a
    mark just before it goes (Linux's unix_stream_recv_urg)."""
    msg = sock.oob
    if msg is None or sock.oobinline:
        raise SyscallError(EINVAL)
    res = RecvResult(msg.data[:n], flags=MSG_OOB)
    if not flags & MSG_PEEK:
        sock.oob = None
        msg.data = b""
        sock.rq_bytes -= 1
        rq = sock.rq
        at = rq.index(msg)
        if at and not rq[at - 1].data:
            rq[at - 1].drop()
            del rq[at - 1]
        sock.freed()
    return res


def at_mark(sock) -> int:
    """SIOCATMARK: 1 if the next read starts at the urgent byte, or at a mark with no urgent byte
    waiting or the urgent byte right after it."""
    rq = sock.rq
    if not rq:
        return 0
    head, oob = rq[0], sock.oob
    if head is oob:
        return 1
    return int(not head.data and (oob is None or len(rq) > 1 and rq[1] is oob))
