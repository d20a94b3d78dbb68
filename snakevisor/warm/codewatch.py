"""The warm server's watch on its own source: a server whose code was edited stops serving.

A server serves the code it imported when it started, and a client only checks that the server
runs from the same checkout (protocol.VERSION). Someone changing the Sentry and running ``do``
again would be served the old code for as long as the server stays busy; so the server watches
the package's directories (inotify, no cost per request) and stops, refusing the clients still
queued, when a ``.py`` file there is written, created, moved in or deleted. The next client goes
cold, with the new code, and starts a new server.
"""
import os
import struct

from snakevisor.abi.inotify import (IN_CLOEXEC, IN_CLOSE_WRITE, IN_CREATE, IN_DELETE, IN_MODIFY, IN_MOVED_FROM,
                                    IN_MOVED_TO, IN_NONBLOCK)
from snakevisor.hostos.libc import libc

PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MASK = IN_CLOSE_WRITE | IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO
EVENT = struct.Struct("<iIII")   # struct inotify_event: wd, mask, cookie, len (then the name)


class CodeWatch:
    """An inotify descriptor on every directory of the package (``fd``, for select); ``changed()``
    reads what came and says whether a source file changed. Without inotify (fd None) nothing
    is watched and the server behaves as before."""

    def __init__(self, root=PACKAGE):
        fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        self.fd = fd if fd >= 0 else None
        for path in _directories(root) if self.fd is not None else ():
            libc.inotify_add_watch(self.fd, os.fsencode(path), MASK)

    def changed(self) -> bool:
        """Has a ``.py`` file been written, made, moved or removed since the last call?"""
        found = False
        while self.fd is not None:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return found
            found |= any(name.endswith(b".py") for name in _names(data))
        return False

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _directories(root):
    out = []
    for path, dirs, _ in os.walk(root):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        out.append(path)
    return out


def _names(data):
    """The names of the events in ``data`` (a read of the inotify descriptor)."""
    offset = 0
    while offset + EVENT.size <= len(data):
        _, _, _, length = EVENT.unpack_from(data, offset)
        offset += EVENT.size
        yield data[offset:offset + length].rstrip(b"\0")
        offset += length
