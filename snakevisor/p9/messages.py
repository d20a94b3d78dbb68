"""9P2000.L messages: one dataclass per T/R message, and their wire layout.

Each message class declares its body fields with ``Annotated`` kinds (U8, U16,
U32, U64, QID, STR, STRS, QIDS, DATA); the ``@message`` decorator compiles the
list into a packer and an unpacker (runs of fixed-size fields become one
``struct.Struct``).  The header size[4] type[1] tag[2] is handled by
``encode`` here and by ``p9.codec.Decoder``.  Strings are bytes (Linux names
are bytes; no decoding, so no UnicodeError can arise).
"""
from __future__ import annotations

import struct
import typing
from dataclasses import dataclass, field, fields
from typing import Annotated

from . import constants as C


class ProtocolError(Exception):
    """Malformed 9P bytes.

    ``tag`` is the request's tag when the frame was well-sized (the stream can
    continue; a server answers Rlerror(EINVAL) on that tag), else None and
    ``fatal`` is True: the stream cannot be resynchronised and must be closed.
    """

    def __init__(self, reason: str, tag: int | None = None, fatal: bool = False):
        super().__init__(reason)
        self.tag = tag
        self.fatal = fatal


# Field kinds (the Annotated metadata).  "?" marks an optional trailing field:
# absent on decode -> 0 (Tfsync.datasync, which older clients omit).
U8 = Annotated[int, "B"]
U16 = Annotated[int, "H"]
U32 = Annotated[int, "I"]
U64 = Annotated[int, "Q"]
OPT_U32 = Annotated[int, "I?"]


@dataclass(frozen=True, slots=True)
class Qid:
    """Server's unique file identity: type[1] version[4] path[8]."""
    type: int = 0
    version: int = 0
    path: int = 0


QID = Annotated[Qid, "qid"]
STR = Annotated[bytes, "s"]          # len[2] bytes
STRS = Annotated[tuple, "s*"]        # n[2] n*(len[2] bytes), n <= MAXWELEM
QIDS = Annotated[tuple, "qid*"]      # n[2] n*qid[13], n <= MAXWELEM
DATA = Annotated[bytes, "data"]      # count[4] bytes

_FIXED = {"B": 1, "H": 2, "I": 4, "Q": 8, "qid": 13}
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_HEADER = struct.Struct("<IBH")
_QID = struct.Struct("<BIQ")

MESSAGE_TYPES: dict[int, type] = {}


def _compile(cls):
    """Turn the annotated fields into a list of ops for pack/unpack."""
    hints = typing.get_type_hints(cls, include_extras=True)
    ops = []        # ("fixed", Struct, [(name, is_qid)]) | (kind, name)
    run_fmt, run_names = "", []
    optional = None
    for f in fields(cls):
        if f.name == "tag":
            continue
        meta = getattr(hints[f.name], "__metadata__", None)
        if not meta:
            continue   # not on the wire (e.g. a donated fd)
        kind = meta[0]
        if kind.endswith("?") and kind != "?":
            optional = (f.name, struct.Struct("<" + kind[0]))
            continue
        if kind in _FIXED:
            run_fmt += "BIQ" if kind == "qid" else kind
            run_names.append((f.name, kind == "qid"))
            continue
        if run_names:
            ops.append(("fixed", struct.Struct("<" + run_fmt), run_names))
            run_fmt, run_names = "", []
        ops.append((kind, f.name))
    if run_names:
        ops.append(("fixed", struct.Struct("<" + run_fmt), run_names))
    cls._ops = tuple(ops)
    cls._optional = optional


def message(type_number: int):
    """Class decorator: make a slotted dataclass message and register it."""
    def wrap(cls):
        cls = dataclass(slots=True)(cls)
        cls.TYPE = type_number
        _compile(cls)
        MESSAGE_TYPES[type_number] = cls
        return cls
    return wrap


def _pack_str(out: list, s: bytes):
    if len(s) > 0xFFFF:
        raise ValueError("9P string longer than 65535 bytes")
    out.append(_U16.pack(len(s)))
    out.append(s)


def encode(msg) -> bytes:
    """Serialise one message, header included."""
    out = [b""]
    for op in msg._ops:
        kind = op[0]
        if kind == "fixed":
            values = []
            for name, is_qid in op[2]:
                v = getattr(msg, name)
                if is_qid:
                    values += (v.type, v.version, v.path)
                else:
                    values.append(v)
            out.append(op[1].pack(*values))
        elif kind == "s":
            _pack_str(out, getattr(msg, op[1]))
        elif kind == "data":
            data = getattr(msg, op[1])
            out.append(_U32.pack(len(data)))
            out.append(data)
        elif kind == "s*":
            items = getattr(msg, op[1])
            out.append(_U16.pack(len(items)))
            for s in items:
                _pack_str(out, s)
        elif kind == "qid*":
            items = getattr(msg, op[1])
            out.append(_U16.pack(len(items)))
            out.extend(_QID.pack(q.type, q.version, q.path) for q in items)
    if msg._optional is not None:
        out.append(msg._optional[1].pack(getattr(msg, msg._optional[0])))
    size = sum(map(len, out)) + C.HEADER_SIZE
    out[0] = _HEADER.pack(size, msg.TYPE, msg.tag)
    return b"".join(out)


def _take_str(buf, pos: int, end: int) -> tuple[bytes, int]:
    if pos + 2 > end:
        raise ProtocolError("truncated string length")
    (n,) = _U16.unpack_from(buf, pos)
    pos += 2
    if pos + n > end:
        raise ProtocolError("truncated string")
    return bytes(buf[pos:pos + n]), pos + n


def decode_body(cls, tag: int, buf, pos: int, end: int):
    """Build a ``cls`` from buf[pos:end] (the body after the header)."""
    kw = {"tag": tag}
    for op in cls._ops:
        kind = op[0]
        if kind == "fixed":
            st = op[1]
            if pos + st.size > end:
                raise ProtocolError("truncated fields")
            values = st.unpack_from(buf, pos)
            pos += st.size
            i = 0
            for name, is_qid in op[2]:
                if is_qid:
                    kw[name] = Qid(values[i], values[i + 1], values[i + 2])
                    i += 3
                else:
                    kw[name] = values[i]
                    i += 1
        elif kind == "s":
            kw[op[1]], pos = _take_str(buf, pos, end)
        elif kind == "data":
            if pos + 4 > end:
                raise ProtocolError("truncated count")
            (n,) = _U32.unpack_from(buf, pos)
            pos += 4
            if pos + n > end:
                raise ProtocolError("count larger than message")
            kw[op[1]] = bytes(buf[pos:pos + n])
            pos += n
        elif kind == "s*" or kind == "qid*":
            if pos + 2 > end:
                raise ProtocolError("truncated count")
            (n,) = _U16.unpack_from(buf, pos)
            pos += 2
            if n > C.MAXWELEM:
                raise ProtocolError("more than 16 walk elements")
            items = []
            for _ in range(n):
                if kind == "s*":
                    s, pos = _take_str(buf, pos, end)
                    items.append(s)
                else:
                    if pos + 13 > end:
                        raise ProtocolError("truncated qid")
                    items.append(Qid(*_QID.unpack_from(buf, pos)))
                    pos += 13
            kw[op[1]] = tuple(items)
    if cls._optional is not None and pos < end:
        name, st = cls._optional
        if pos + st.size > end:
            raise ProtocolError("truncated optional field")
        (kw[name],) = st.unpack_from(buf, pos)
        pos += st.size
    if pos != end:
        raise ProtocolError("trailing bytes in message")
    return cls(**kw)


# --------------------------------------------------------------- messages
# Layouts follow include/net/9p/9p.h and net/9p/client.c (format strings).

@message(C.TVERSION)
class Tversion:
    tag: int = C.NOTAG
    msize: U32 = 0
    version: STR = b""


@message(C.RVERSION)
class Rversion:
    tag: int = C.NOTAG
    msize: U32 = 0
    version: STR = b""


@message(C.TAUTH)
class Tauth:
    tag: int = 0
    afid: U32 = 0
    uname: STR = b""
    aname: STR = b""
    n_uname: U32 = C.NONUNAME


@message(C.RAUTH)
class Rauth:
    tag: int = 0
    aqid: QID = Qid()


@message(C.TATTACH)
class Tattach:
    tag: int = 0
    fid: U32 = 0
    afid: U32 = C.NOFID
    uname: STR = b""
    aname: STR = b""
    n_uname: U32 = C.NONUNAME


@message(C.RATTACH)
class Rattach:
    tag: int = 0
    qid: QID = Qid()


@message(C.TLERROR)
class Tlerror:
    tag: int = 0


@message(C.RLERROR)
class Rlerror:
    tag: int = 0
    ecode: U32 = 0


@message(C.TFLUSH)
class Tflush:
    tag: int = 0
    oldtag: U16 = 0


@message(C.RFLUSH)
class Rflush:
    tag: int = 0


@message(C.TWALK)
class Twalk:
    tag: int = 0
    fid: U32 = 0
    newfid: U32 = 0
    wnames: STRS = ()


@message(C.RWALK)
class Rwalk:
    tag: int = 0
    qids: QIDS = ()


@message(C.TWALKQIDS)
class Twalkqids:
    """snakevisor dialect: walk ``wnames`` from ``fid`` and report each name's qid without
    binding a new fid (revalidating cached names costs no Tclunk)."""
    tag: int = 0
    fid: U32 = 0
    wnames: STRS = ()


@message(C.RWALKQIDS)
class Rwalkqids:
    tag: int = 0
    qids: QIDS = ()


@message(C.TREAD)
class Tread:
    tag: int = 0
    fid: U32 = 0
    offset: U64 = 0
    count: U32 = 0


@message(C.RREAD)
class Rread:
    tag: int = 0
    data: DATA = b""


@message(C.TWRITE)
class Twrite:
    tag: int = 0
    fid: U32 = 0
    offset: U64 = 0
    data: DATA = b""


@message(C.RWRITE)
class Rwrite:
    tag: int = 0
    count: U32 = 0


@message(C.TCLUNK)
class Tclunk:
    tag: int = 0
    fid: U32 = 0


@message(C.RCLUNK)
class Rclunk:
    tag: int = 0


@message(C.TREMOVE)
class Tremove:
    tag: int = 0
    fid: U32 = 0


@message(C.RREMOVE)
class Rremove:
    tag: int = 0


@message(C.TSTATFS)
class Tstatfs:
    tag: int = 0
    fid: U32 = 0


@message(C.RSTATFS)
class Rstatfs:
    tag: int = 0
    type: U32 = 0
    bsize: U32 = 0
    blocks: U64 = 0
    bfree: U64 = 0
    bavail: U64 = 0
    files: U64 = 0
    ffree: U64 = 0
    fsid: U64 = 0
    namelen: U32 = 0


@message(C.TLOPEN)
class Tlopen:
    tag: int = 0
    fid: U32 = 0
    flags: U32 = 0


@message(C.RLOPEN)
class Rlopen:
    tag: int = 0
    qid: QID = Qid()
    iounit: U32 = 0
    # Not on the wire: the host descriptor donated with this reply (extension).
    fd: int | None = field(default=None, compare=False)


@message(C.TLCREATE)
class Tlcreate:
    tag: int = 0
    fid: U32 = 0
    name: STR = b""
    flags: U32 = 0
    mode: U32 = 0
    gid: U32 = 0


@message(C.RLCREATE)
class Rlcreate:
    tag: int = 0
    qid: QID = Qid()
    iounit: U32 = 0
    fd: int | None = field(default=None, compare=False)


@message(C.TSYMLINK)
class Tsymlink:
    tag: int = 0
    fid: U32 = 0
    name: STR = b""
    symtgt: STR = b""
    gid: U32 = 0


@message(C.RSYMLINK)
class Rsymlink:
    tag: int = 0
    qid: QID = Qid()


@message(C.TMKNOD)
class Tmknod:
    tag: int = 0
    dfid: U32 = 0
    name: STR = b""
    mode: U32 = 0
    major: U32 = 0
    minor: U32 = 0
    gid: U32 = 0


@message(C.RMKNOD)
class Rmknod:
    tag: int = 0
    qid: QID = Qid()


@message(C.TRENAME)
class Trename:
    tag: int = 0
    fid: U32 = 0
    dfid: U32 = 0
    name: STR = b""


@message(C.RRENAME)
class Rrename:
    tag: int = 0


@message(C.TREADLINK)
class Treadlink:
    tag: int = 0
    fid: U32 = 0


@message(C.RREADLINK)
class Rreadlink:
    tag: int = 0
    target: STR = b""


@message(C.TGETATTR)
class Tgetattr:
    tag: int = 0
    fid: U32 = 0
    request_mask: U64 = C.GETATTR_BASIC


@message(C.RGETATTR)
class Rgetattr:
    tag: int = 0
    valid: U64 = 0
    qid: QID = Qid()
    mode: U32 = 0
    uid: U32 = 0
    gid: U32 = 0
    nlink: U64 = 0
    rdev: U64 = 0
    size: U64 = 0
    blksize: U64 = 0
    blocks: U64 = 0
    atime_sec: U64 = 0
    atime_nsec: U64 = 0
    mtime_sec: U64 = 0
    mtime_nsec: U64 = 0
    ctime_sec: U64 = 0
    ctime_nsec: U64 = 0
    btime_sec: U64 = 0
    btime_nsec: U64 = 0
    gen: U64 = 0
    data_version: U64 = 0


@message(C.TSETATTR)
class Tsetattr:
    tag: int = 0
    fid: U32 = 0
    valid: U32 = 0
    mode: U32 = 0
    uid: U32 = 0
    gid: U32 = 0
    size: U64 = 0
    atime_sec: U64 = 0
    atime_nsec: U64 = 0
    mtime_sec: U64 = 0
    mtime_nsec: U64 = 0


@message(C.RSETATTR)
class Rsetattr:
    tag: int = 0


@message(C.TXATTRWALK)
class Txattrwalk:
    tag: int = 0
    fid: U32 = 0
    newfid: U32 = 0
    name: STR = b""


@message(C.RXATTRWALK)
class Rxattrwalk:
    tag: int = 0
    size: U64 = 0


@message(C.TXATTRCREATE)
class Txattrcreate:
    tag: int = 0
    fid: U32 = 0
    name: STR = b""
    attr_size: U64 = 0
    flags: U32 = 0


@message(C.RXATTRCREATE)
class Rxattrcreate:
    tag: int = 0


@message(C.TREADDIR)
class Treaddir:
    tag: int = 0
    fid: U32 = 0
    offset: U64 = 0
    count: U32 = 0


@message(C.RREADDIR)
class Rreaddir:
    tag: int = 0
    data: DATA = b""   # packed dirents: see encode_dirents / decode_dirents


@message(C.TFSYNC)
class Tfsync:
    tag: int = 0
    fid: U32 = 0
    datasync: OPT_U32 = 0


@message(C.RFSYNC)
class Rfsync:
    tag: int = 0


@message(C.TLOCK)
class Tlock:
    tag: int = 0
    fid: U32 = 0
    type: U8 = 0
    flags: U32 = 0
    start: U64 = 0
    length: U64 = 0
    proc_id: U32 = 0
    client_id: STR = b""


@message(C.RLOCK)
class Rlock:
    tag: int = 0
    status: U8 = 0


@message(C.TGETLOCK)
class Tgetlock:
    tag: int = 0
    fid: U32 = 0
    type: U8 = 0
    start: U64 = 0
    length: U64 = 0
    proc_id: U32 = 0
    client_id: STR = b""


@message(C.RGETLOCK)
class Rgetlock:
    tag: int = 0
    type: U8 = 0
    start: U64 = 0
    length: U64 = 0
    proc_id: U32 = 0
    client_id: STR = b""


@message(C.TLINK)
class Tlink:
    tag: int = 0
    dfid: U32 = 0
    fid: U32 = 0
    name: STR = b""


@message(C.RLINK)
class Rlink:
    tag: int = 0


@message(C.TMKDIR)
class Tmkdir:
    tag: int = 0
    dfid: U32 = 0
    name: STR = b""
    mode: U32 = 0
    gid: U32 = 0


@message(C.RMKDIR)
class Rmkdir:
    tag: int = 0
    qid: QID = Qid()


@message(C.TRENAMEAT)
class Trenameat:
    tag: int = 0
    olddirfid: U32 = 0
    oldname: STR = b""
    newdirfid: U32 = 0
    newname: STR = b""


@message(C.RRENAMEAT)
class Rrenameat:
    tag: int = 0


@message(C.TUNLINKAT)
class Tunlinkat:
    tag: int = 0
    dirfid: U32 = 0
    name: STR = b""
    flags: U32 = 0


@message(C.RUNLINKAT)
class Runlinkat:
    tag: int = 0


def is_request(type_number: int) -> bool:
    """T-messages have even type numbers; R-messages are T + 1."""
    return type_number % 2 == 0


# --------------------------------------------------------------- readdir data

@dataclass(frozen=True, slots=True)
class DirEntry:
    """One Rreaddir entry: qid[13] offset[8] type[1] name[s].

    ``offset`` is the cookie to pass as the next Treaddir offset to continue
    after this entry; ``dtype`` is the Linux DT_* value.
    """
    qid: Qid
    offset: int
    dtype: int
    name: bytes


_DIRENT = struct.Struct("<BIQQB")


def dirent_size(name: bytes) -> int:
    return _DIRENT.size + 2 + len(name)


def encode_dirents(entries) -> bytes:
    out = []
    for e in entries:
        out.append(_DIRENT.pack(e.qid.type, e.qid.version, e.qid.path, e.offset, e.dtype))
        _pack_str(out, e.name)
    return b"".join(out)


def decode_dirents(data) -> list[DirEntry]:
    entries = []
    pos, end = 0, len(data)
    while pos < end:
        if pos + _DIRENT.size > end:
            raise ProtocolError("truncated dirent")
        qt, qv, qp, off, dtype = _DIRENT.unpack_from(data, pos)
        name, pos = _take_str(data, pos + _DIRENT.size, end)
        entries.append(DirEntry(Qid(qt, qv, qp), off, dtype, name))
    return entries
