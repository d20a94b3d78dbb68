"""Sans-I/O 9P framing: bytes (and received descriptors) in, messages out.

``Decoder.feed(data, fds)`` buffers what a socket returned; ``next_message()``
returns one complete message or None when more bytes are needed.  Both the
Gofer (requests) and the client (replies) use it; neither does I/O here.

Descriptor framing (the host-fd donation extension): a sender attaches a
descriptor to the ``sendmsg`` carrying the first byte of its reply.  On a
SOCK_STREAM Unix socket Linux ends a ``recvmsg`` right after the skb that
carried descriptors, and never merges skbs with descriptors into one read
otherwise, so the descriptors belong to the *last* message that starts in the
chunk they arrived with.  Descriptors that cannot be attached to an
Rlopen/Rlcreate that way are closed, never leaked.
"""
from __future__ import annotations

import os
import struct
from collections import deque

from . import constants as C
from .messages import (MESSAGE_TYPES, ProtocolError, Rlcreate, Rlopen, Rnotifyfd, Rwalkfd, decode_body, encode,
                       is_request)

__all__ = ["Decoder", "ProtocolError", "encode", "REQUESTS", "REPLIES"]

REQUESTS = "requests"
REPLIES = "replies"

_HEADER = struct.Struct("<IBH")
_COMPACT_AT = 1 << 16


def _close_all(fds):
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


class Decoder:
    """Incremental 9P message parser.

    ``expect`` restricts accepted messages to REQUESTS (a server) or REPLIES (a
    client); ``msize`` bounds the size field (update ``msize`` after version
    negotiation).  A fatal ProtocolError poisons the decoder.
    """

    def __init__(self, msize: int = C.DEFAULT_MSIZE, expect: str | None = None):
        self.msize = msize
        self.expect = expect
        self._buf = bytearray()
        self._pos = 0          # parse position in _buf
        self._base = 0         # stream offset of _buf[0]
        self._fd_chunks = deque()  # (stream start, stream end, [fds])
        self._dead: ProtocolError | None = None

    def feed(self, data, fds=()) -> None:
        """Append bytes read from the stream; ``fds`` arrived with exactly these bytes."""
        start = self._base + len(self._buf)
        self._buf += data
        if fds:
            if self._dead is not None:
                _close_all(fds)
            else:
                self._fd_chunks.append((start, start + len(data), list(fds)))

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._pos

    def next_message(self):
        """The next complete message, or None if more data is needed."""
        if self._dead is not None:
            raise self._dead
        buf, pos = self._buf, self._pos
        if len(buf) - pos < C.HEADER_SIZE:
            return None
        size, mtype, tag = _HEADER.unpack_from(buf, pos)
        if size < C.HEADER_SIZE or size > self.msize:
            self._dead = ProtocolError(f"message size {size} outside [7, {self.msize}]", fatal=True)
            self.close()
            raise self._dead
        if len(buf) - pos < size:
            return None
        end = pos + size
        self._pos = end
        fds = self._take_fds(self._base + pos, self._base + end)
        try:
            cls = MESSAGE_TYPES.get(mtype)
            if cls is None:
                raise ProtocolError(f"unknown message type {mtype}")
            if self.expect is not None and is_request(mtype) != (self.expect == REQUESTS):
                raise ProtocolError(f"unexpected message type {mtype}")
            msg = decode_body(cls, tag, buf, pos + C.HEADER_SIZE, end)
        except ProtocolError as e:
            _close_all(fds)
            e.tag = tag
            raise
        finally:
            self._compact()
        if fds:
            if type(msg) in (Rlopen, Rlcreate, Rwalkfd, Rnotifyfd) and len(fds) == 1:
                msg.fd = fds[0]
            else:
                _close_all(fds)
        return msg

    def _take_fds(self, start: int, end: int) -> list:
        """Descriptors belonging to the message at stream [start, end)."""
        got = []
        chunks = self._fd_chunks
        while chunks:
            cstart, cend, fds = chunks[0]
            if cend <= start:
                # Arrived with bytes of earlier messages only: not ours, close.
                chunks.popleft()
                _close_all(fds)
            elif cstart <= start and end >= cend:
                chunks.popleft()
                got += fds
            else:
                break
        return got

    def _compact(self):
        if self._pos >= _COMPACT_AT or self._pos == len(self._buf):
            del self._buf[:self._pos]
            self._base += self._pos
            self._pos = 0

    def close(self):
        """Close any descriptors not yet handed out."""
        while self._fd_chunks:
            _close_all(self._fd_chunks.popleft()[2])
