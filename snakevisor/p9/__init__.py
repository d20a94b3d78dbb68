"""9P2000.L: wire format (messages, sans-I/O codec) and the Sentry's client.

constants.py: type numbers, masks, flags; messages.py: the message classes
and their layouts; codec.py: the incremental Decoder; client.py: the client.
The names below are imported on first use (PEP 562), not with the package: the Gofer, which
serves 9P, never loads the client (~2 ms of each start).
"""
import importlib

_WHERE = {"Attr": "client", "Client": "client", "Fid": "client", "OpenResult": "client", "Statfs": "client",
          "REPLIES": "codec", "REQUESTS": "codec", "Decoder": "codec",
          "DirEntry": "messages", "ProtocolError": "messages", "Qid": "messages", "decode_dirents": "messages",
          "encode": "messages", "encode_dirents": "messages"}

__all__ = sorted(_WHERE)


def __getattr__(name):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
