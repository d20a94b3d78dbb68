"""9P2000.L: wire format (messages, sans-I/O codec) and the Sentry's client."""
from .codec import REPLIES, REQUESTS, Decoder
from .messages import DirEntry, ProtocolError, Qid, decode_dirents, encode, encode_dirents

__all__ = ["Decoder", "DirEntry", "ProtocolError", "Qid", "REPLIES", "REQUESTS",
           "decode_dirents", "encode", "encode_dirents"]
