"""The control socket between ``snakevisor`` verbs on the host and a running sandbox.

A Unix SOCK_SEQPACKET socket at ``<root>/<id>/control.sock``: each message is one JSON
object (at most ``MAX_MESSAGE`` bytes), with host descriptors attached by SCM_RIGHTS
(an exec's stdio). A request gets one reply (``{"error": "..."}`` on failure); an
``exec`` gets two on the same connection: ``{"pid": N}`` at once, ``{"status": W}``
when the process has exited.

The server side runs on the Sentry's event loop (``Loop.watch_fd``): the loop is
single-threaded and every kernel call must happen on it, so nothing here blocks.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket

MAX_MESSAGE = 64 * 1024
MAX_FDS = 8


class ControlError(Exception):
    """A request failed. ``errno``: the sandbox's errno for it when it gave one; ``subject``: what
    the errno is about, when the request names more than one thing ("program", "cwd")."""

    def __init__(self, message, errno=None, subject=None):
        super().__init__(message)
        self.errno, self.subject = errno, subject


class ControlTimeout(ControlError):
    """The sandbox did not answer within the connection's timeout."""


def error_reply(message, errno=None, subject=None):
    """A failed request's reply; ``receive`` turns it into ControlError(message, errno, subject)."""
    reply = {"error": message}
    if errno is not None:
        reply["errno"] = errno
    if subject is not None:
        reply["subject"] = subject
    return reply


def encode(obj):
    data = json.dumps(obj).encode()
    if len(data) > MAX_MESSAGE:
        raise ControlError("control message too large")
    return data


@contextlib.contextmanager
def _addressable(path):
    """``path`` as a socket address: sun_path holds 107 bytes, and a long --root or container id
    (up to 255 characters) makes more; then the directory is reached through /proc/self/fd."""
    if len(os.fsencode(path)) < 108:
        yield path
        return
    dfd = os.open(os.path.dirname(path), os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield f"/proc/self/fd/{dfd}/{os.path.basename(path)}"
    finally:
        os.close(dfd)


# -- client --------------------------------------------------------------------
def connect(path, timeout=30.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    s.settimeout(timeout)
    try:
        with _addressable(path) as address:
            s.connect(address)
    except OSError as e:
        s.close()
        raise ControlError(f"sandbox is not running ({e.strerror})") from None
    return s


def send(sock, obj, fds=()):
    data = encode(obj)
    if fds:
        socket.send_fds(sock, [data], list(fds))
    else:
        sock.send(data)


def receive(sock):
    """The next reply; ControlError when the sandbox closed the connection or reported an error."""
    try:
        data = sock.recv(MAX_MESSAGE)
    except socket.timeout:
        raise ControlTimeout("sandbox did not answer") from None
    if not data:
        raise ControlError("sandbox closed the control connection")
    reply = json.loads(data)
    if "error" in reply:
        errno, subject = reply.get("errno"), reply.get("subject")
        raise ControlError(str(reply["error"]), errno if isinstance(errno, int) else None,
                           subject if isinstance(subject, str) else None)
    return reply


def start_exec(path, process, stdio):
    """Ask the sandbox at ``path`` to run ``process`` (a config.json process object) with the
    descriptors ``stdio`` as its fds 0-2. Returns (the connection its exit report comes on,
    its pid in the sandbox); ControlError when the sandbox refuses."""
    conn = connect(path, timeout=None)
    try:
        send(conn, {"op": "exec", "process": process}, stdio)
        return conn, receive(conn)["pid"]
    except BaseException:
        conn.close()
        raise


def call(path, obj, fds=(), timeout=30.0):
    """One request, one reply."""
    with connect(path, timeout) as s:
        send(s, obj, fds)
        return receive(s)


def list_processes(path, timeout=30.0):
    """Every process of the sandbox ("ps"): the list comes in pages that each fit one message
    (a thousand processes make more than MAX_MESSAGE), one request a page."""
    procs = []
    while True:
        reply = call(path, {"op": "ps", "after": procs[-1]["pid"] if procs else 0}, timeout=timeout)
        procs += reply["processes"]
        if not reply.get("more") or not reply["processes"]:
            return procs


# -- server (in the sandbox, on the Sentry's loop) -------------------------------------------
class Connection:
    def __init__(self, server, sock):
        self.server, self.sock = server, sock
        self.keep = False      # a handler that answers later sets this
        self.closed = False

    def reply(self, obj):
        if self.closed:
            return
        try:
            data = encode(obj)
        except (TypeError, ValueError, ControlError) as e:   # a bug in a handler: report, do not die
            data = encode({"error": f"cannot encode the reply: {e}"})
        try:
            self.sock.send(data)
        except OSError:
            self.close()   # the client went away: nobody to tell

    def close(self):
        if not self.closed:
            self.closed = True
            self.server.loop.unwatch_fd(self.sock.fileno())
            self.sock.close()

    def on_readable(self):
        """Serve every request queued (readiness may be signalled once for several)."""
        while not self.closed and not self.keep:
            if not self._serve_one():
                return

    def _serve_one(self):
        try:
            data, fds, _, _ = socket.recv_fds(self.sock, MAX_MESSAGE, MAX_FDS)
        except BlockingIOError:
            return False
        except OSError:
            self.close()
            return False
        if not data:
            for fd in fds:
                _close(fd)
            self.close()
            return False
        try:
            msg = json.loads(data)
            if not isinstance(msg, dict):
                raise ValueError("not an object")
        except ValueError:
            for fd in fds:
                _close(fd)
            self.reply({"error": "malformed control message"})
            self.close()
            return False
        try:
            result = self.server.handler(self, msg, fds)
        except Exception as e:   # a bad request must not take the sandbox down
            result = {"error": str(e) or type(e).__name__}
        if result is not None:
            self.reply(result)
        if not self.keep:
            self.close()
        return True


def _close(fd):
    import os
    try:
        os.close(fd)
    except OSError:
        pass


class ControlServer:
    """Accepts control connections on ``loop``; ``handler(conn, msg, fds)`` returns the reply,
    or None after setting ``conn.keep`` to answer later with ``conn.reply``."""

    def __init__(self, loop, listener, handler):
        self.loop, self.listener, self.handler = loop, listener, handler
        listener.setblocking(False)
        loop.watch_fd(listener.fileno(), self._accept)
        self._accept()   # connections made before we watched

    @staticmethod
    def listen(path):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        with _addressable(path) as address:
            s.bind(address)
        s.listen(64)
        return s

    def _accept(self):
        while True:
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            sock.setblocking(False)
            conn = Connection(self, sock)
            self.loop.watch_fd(sock.fileno(), conn.on_readable)
            # The request may be queued already: readiness notification (SIGIO) only
            # reports what arrives after the watch began.
            conn.on_readable()
