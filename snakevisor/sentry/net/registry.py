"""The sandbox's live sockets, for /proc/net: it lists these, never the host's.

Sockfs registers every socket that gets a file (``new_socket_file``: from then
on the socket has the inode number the application sees); a family's
``release`` unregisters it. A WeakSet, so a socket whose release is never
called (an error path) still leaves with its last reference.
"""
import weakref

_live: "weakref.WeakSet" = weakref.WeakSet()


def register(impl) -> None:
    _live.add(impl)


def unregister(impl) -> None:
    _live.discard(impl)


def live_sockets() -> list:
    """The registered SocketImpls, oldest (lowest inode number) first."""
    return sorted(_live, key=lambda s: s.inode.ino)
