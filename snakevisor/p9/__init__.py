"""9P2000.L: wire format (messages, sans-I/O codec) and the Sentry's client.

constants.py: type numbers, masks, flags; messages.py: the message classes
and their layouts; codec.py: the incremental Decoder; client.py: the client.
"""
from .client import Attr, Client, Fid, OpenResult, Statfs
from .codec import REPLIES, REQUESTS, Decoder
from .messages import DirEntry, ProtocolError, Qid, decode_dirents, encode, encode_dirents

__all__ = ["Attr", "Client", "Decoder", "DirEntry", "Fid", "OpenResult", "ProtocolError", "Qid",
           "REPLIES", "REQUESTS", "Statfs", "decode_dirents", "encode", "encode_dirents"]
