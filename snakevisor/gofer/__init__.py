"""The Gofer: a separate process serving directory trees to the Sentry over 9P2000.L.

server.py is the connection handling (an event loop and worker threads), ops.py what
each request does on the host, fids.py the fid capabilities, isolation.py the lock-down.
"""
from .server import serve, serve_many

__all__ = ["serve", "serve_many"]
