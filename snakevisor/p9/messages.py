"""9P2000.L messages: one class per T/R message, and their wire layout.

Each message class declares its body as ``LAYOUT``, a string of ``name:kind``
fields in wire order; the kinds are U8..U64 ("B", "H", "I", "Q"), "qid",
"s" (len[2] bytes), "s*" (n[2] strings), "qid*" (n[2] qids), "data"
(count[4] bytes), and "I?" for an optional trailing u32 (absent on decode ->
0: Tfsync.datasync, which older clients omit).  ``_Layout`` turns it into
``__slots__``, ``FIELDS`` ((name, kind), ...) and a packer/unpacker (runs of
fixed-size fields become one ``struct.Struct``).  The header size[4] type[1]
tag[2] is handled by ``encode`` here and by ``p9.codec.Decoder``.  Strings are
bytes (Linux names are bytes; no decoding, so no UnicodeError can arise).

The classes behave as slotted dataclasses (keyword or positional arguments with
defaults, equality and repr over the fields) without dataclasses' cost at
import, which every sandbox start pays twice (Sentry and Gofer): a class's
``__init__`` is compiled at its first construction.
"""
from __future__ import annotations

import struct

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


class _Record:
    """Equality over the ``_compared`` slots and repr over all ``__slots__``, as a dataclass's:
    equal only to an instance of the same class, unhashable unless frozen."""
    __slots__ = ()
    _compared = ()

    def _values(self):
        return tuple([getattr(self, n) for n in self._compared])

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    __hash__ = None

    def __repr__(self):
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"{type(self).__qualname__}({fields})"


class _Frozen(_Record):
    """An immutable, hashable record (a frozen dataclass's behaviour)."""
    __slots__ = ()

    def __hash__(self):
        return hash(self._values())

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name):
        raise AttributeError(f"cannot delete field {name!r}")


_set = object.__setattr__


class Qid(_Frozen):
    """Server's unique file identity: type[1] version[4] path[8]."""
    __slots__ = ("type", "version", "path")
    _compared = __slots__

    def __init__(self, type: int = 0, version: int = 0, path: int = 0):
        _set(self, "type", type)
        _set(self, "version", version)
        _set(self, "path", path)


_FIXED = {"B": 1, "H": 2, "I": 4, "Q": 8, "qid": 13}
_DEFAULTS = {"B": 0, "H": 0, "I": 0, "Q": 0, "I?": 0, "qid": Qid(), "s": b"", "s*": (), "qid*": (), "data": b""}
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_HEADER = struct.Struct("<IBH")
_QID = struct.Struct("<BIQ")

MESSAGE_TYPES: dict[int, type] = {}


def _compile(fields):
    """The layout's ops for pack/unpack: ("fixed", Struct, [(name, is_qid)]) | (kind, name),
    and the optional trailing field (name, Struct) or None."""
    ops = []
    run_fmt, run_names = "", []
    optional = None
    for name, kind in fields:
        if kind.endswith("?"):
            optional = (name, struct.Struct("<" + kind[0]))
            continue
        if kind in _FIXED:
            run_fmt += "BIQ" if kind == "qid" else kind
            run_names.append((name, kind == "qid"))
            continue
        if run_names:
            ops.append(("fixed", struct.Struct("<" + run_fmt), run_names))
            run_fmt, run_names = "", []
        ops.append((kind, name))
    if run_names:
        ops.append(("fixed", struct.Struct("<" + run_fmt), run_names))
    return tuple(ops), optional


class _Layout(type):
    """Metaclass of the messages: ``LAYOUT`` (and ``LOCAL``: attributes not on the wire, None by
    default and not compared; ``DEFAULTS``: other defaults than 0, b"", (), Qid()) become the
    slots, the wire ops and the registration in MESSAGE_TYPES."""

    def __new__(mcs, name, bases, ns):
        if "LAYOUT" not in ns:
            return super().__new__(mcs, name, bases, ns)
        fields = tuple(tuple(f.split(":")) for f in ns["LAYOUT"].split())
        for _, kind in fields:
            if kind not in _DEFAULTS:
                raise ValueError(f"{name}: unknown field kind {kind!r}")
        local = tuple(ns.get("LOCAL", ()))
        wire = ("tag",) + tuple(n for n, _ in fields)
        ns["__slots__"] = ns["__match_args__"] = wire + local
        ns["_compared"] = wire
        ns["FIELDS"] = fields
        defaults = {"tag": 0, **{n: _DEFAULTS[k] for n, k in fields}, **dict.fromkeys(local)}
        defaults.update(ns.pop("DEFAULTS", {}))
        ns["_defaults"] = defaults
        ns["_ops"], ns["_optional"] = _compile(fields)
        cls = super().__new__(mcs, name, bases, ns)
        MESSAGE_TYPES[cls.TYPE] = cls
        return cls


def _specialise(cls):
    """Compile and install ``cls.__init__(self, tag=..., field=..., ...)``: the fields in slot order
    with their defaults, as a dataclass's (one function per class, made at its first use)."""
    names = cls.__slots__
    params = ", ".join(f"{n}=_d[{n!r}]" for n in names)
    body = "".join(f"    self.{n} = {n}\n" for n in names)
    scope = {"_d": cls._defaults}
    exec(f"def __init__(self, {params}):\n{body}", scope)
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init
    return init


class Message(_Record, metaclass=_Layout):
    """Base of the T/R messages (``TYPE``, ``LAYOUT``; ``FIELDS`` lists the wire fields)."""
    __slots__ = ()
    TYPE = None
    FIELDS = ()

    def __init__(self, *args, **kwargs):
        _specialise(type(self))(self, *args, **kwargs)


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

class Tversion(Message):
    TYPE = C.TVERSION
    LAYOUT = "msize:I version:s"
    DEFAULTS = {"tag": C.NOTAG}


class Rversion(Message):
    TYPE = C.RVERSION
    LAYOUT = "msize:I version:s"
    DEFAULTS = {"tag": C.NOTAG}


class Tauth(Message):
    TYPE = C.TAUTH
    LAYOUT = "afid:I uname:s aname:s n_uname:I"
    DEFAULTS = {"n_uname": C.NONUNAME}


class Rauth(Message):
    TYPE = C.RAUTH
    LAYOUT = "aqid:qid"


class Tattach(Message):
    TYPE = C.TATTACH
    LAYOUT = "fid:I afid:I uname:s aname:s n_uname:I"
    DEFAULTS = {"afid": C.NOFID, "n_uname": C.NONUNAME}


class Rattach(Message):
    TYPE = C.RATTACH
    LAYOUT = "qid:qid"


class Tlerror(Message):
    TYPE = C.TLERROR
    LAYOUT = ""


class Rlerror(Message):
    TYPE = C.RLERROR
    LAYOUT = "ecode:I"


class Tflush(Message):
    TYPE = C.TFLUSH
    LAYOUT = "oldtag:H"


class Rflush(Message):
    TYPE = C.RFLUSH
    LAYOUT = ""


class Twalk(Message):
    TYPE = C.TWALK
    LAYOUT = "fid:I newfid:I wnames:s*"


class Rwalk(Message):
    TYPE = C.RWALK
    LAYOUT = "qids:qid*"


class Twalkqids(Message):
    """snakevisor dialect: walk ``wnames`` from ``fid`` and report each name's qid without
    binding a new fid (revalidating cached names costs no Tclunk)."""
    TYPE = C.TWALKQIDS
    LAYOUT = "fid:I wnames:s*"


class Rwalkqids(Message):
    TYPE = C.RWALKQIDS
    LAYOUT = "qids:qid*"


class Twalkfd(Message):
    """snakevisor dialect (directfs): a Twalk whose Rwalkfd also carries, over SCM_RIGHTS, an
    O_PATH|O_NOFOLLOW descriptor of the file walked to (the new fid's own, in the Gofer's view)."""
    TYPE = C.TWALKFD
    LAYOUT = "fid:I newfid:I wnames:s*"


class Rwalkfd(Message):
    """``wd``: the watch of the Gofer's inotify instance (Tnotifyfd) on the directory walked to,
    0 if none (no instance, not a directory, or no watch to be had: the Sentry then checks)."""
    TYPE = C.RWALKFD
    LAYOUT = "qids:qid* wd:I?"
    LOCAL = ("fd",)   # the donated O_PATH descriptor (None: not donated)


class Tnotifyfd(Message):
    """snakevisor dialect (directfs, shared mounts): the mount's inotify instance, whose watches
    Rwalkfd names; Rnotifyfd carries its descriptor over SCM_RIGHTS (asked once per mount)."""
    TYPE = C.TNOTIFYFD
    LAYOUT = "fid:I"


class Rnotifyfd(Message):
    TYPE = C.RNOTIFYFD
    LAYOUT = ""
    LOCAL = ("fd",)   # the donated inotify descriptor (None: not donated)


class Tread(Message):
    TYPE = C.TREAD
    LAYOUT = "fid:I offset:Q count:I"


class Rread(Message):
    TYPE = C.RREAD
    LAYOUT = "data:data"


class Twrite(Message):
    TYPE = C.TWRITE
    LAYOUT = "fid:I offset:Q data:data"


class Rwrite(Message):
    TYPE = C.RWRITE
    LAYOUT = "count:I"


class Tclunk(Message):
    TYPE = C.TCLUNK
    LAYOUT = "fid:I"


class Rclunk(Message):
    TYPE = C.RCLUNK
    LAYOUT = ""


class Tremove(Message):
    TYPE = C.TREMOVE
    LAYOUT = "fid:I"


class Rremove(Message):
    TYPE = C.RREMOVE
    LAYOUT = ""


class Tstatfs(Message):
    TYPE = C.TSTATFS
    LAYOUT = "fid:I"


class Rstatfs(Message):
    TYPE = C.RSTATFS
    LAYOUT = "type:I bsize:I blocks:Q bfree:Q bavail:Q files:Q ffree:Q fsid:Q namelen:I"


class Tlopen(Message):
    TYPE = C.TLOPEN
    LAYOUT = "fid:I flags:I"


class Rlopen(Message):
    TYPE = C.RLOPEN
    LAYOUT = "qid:qid iounit:I"
    LOCAL = ("fd",)   # not on the wire: the host descriptor donated with this reply (extension)


class Tlcreate(Message):
    TYPE = C.TLCREATE
    LAYOUT = "fid:I name:s flags:I mode:I gid:I"


class Rlcreate(Message):
    TYPE = C.RLCREATE
    LAYOUT = "qid:qid iounit:I"
    LOCAL = ("fd",)


class Tsymlink(Message):
    TYPE = C.TSYMLINK
    LAYOUT = "fid:I name:s symtgt:s gid:I"


class Rsymlink(Message):
    TYPE = C.RSYMLINK
    LAYOUT = "qid:qid"


class Tmknod(Message):
    TYPE = C.TMKNOD
    LAYOUT = "dfid:I name:s mode:I major:I minor:I gid:I"


class Rmknod(Message):
    TYPE = C.RMKNOD
    LAYOUT = "qid:qid"


class Trename(Message):
    TYPE = C.TRENAME
    LAYOUT = "fid:I dfid:I name:s"


class Rrename(Message):
    TYPE = C.RRENAME
    LAYOUT = ""


class Treadlink(Message):
    TYPE = C.TREADLINK
    LAYOUT = "fid:I"


class Rreadlink(Message):
    TYPE = C.RREADLINK
    LAYOUT = "target:s"


class Tgetattr(Message):
    TYPE = C.TGETATTR
    LAYOUT = "fid:I request_mask:Q"
    DEFAULTS = {"request_mask": C.GETATTR_BASIC}


class Rgetattr(Message):
    TYPE = C.RGETATTR
    LAYOUT = ("valid:Q qid:qid mode:I uid:I gid:I nlink:Q rdev:Q size:Q blksize:Q blocks:Q"
              " atime_sec:Q atime_nsec:Q mtime_sec:Q mtime_nsec:Q ctime_sec:Q ctime_nsec:Q"
              " btime_sec:Q btime_nsec:Q gen:Q data_version:Q")


class Tsetattr(Message):
    TYPE = C.TSETATTR
    LAYOUT = ("fid:I valid:I mode:I uid:I gid:I size:Q"
              " atime_sec:Q atime_nsec:Q mtime_sec:Q mtime_nsec:Q")


class Rsetattr(Message):
    TYPE = C.RSETATTR
    LAYOUT = ""


class Txattrwalk(Message):
    TYPE = C.TXATTRWALK
    LAYOUT = "fid:I newfid:I name:s"


class Rxattrwalk(Message):
    TYPE = C.RXATTRWALK
    LAYOUT = "size:Q"


class Txattrcreate(Message):
    TYPE = C.TXATTRCREATE
    LAYOUT = "fid:I name:s attr_size:Q flags:I"


class Rxattrcreate(Message):
    TYPE = C.RXATTRCREATE
    LAYOUT = ""


class Treaddir(Message):
    TYPE = C.TREADDIR
    LAYOUT = "fid:I offset:Q count:I"


class Rreaddir(Message):
    TYPE = C.RREADDIR
    LAYOUT = "data:data"   # packed dirents: see encode_dirents / decode_dirents


class Tfsync(Message):
    TYPE = C.TFSYNC
    LAYOUT = "fid:I datasync:I?"


class Rfsync(Message):
    TYPE = C.RFSYNC
    LAYOUT = ""


class Tlock(Message):
    TYPE = C.TLOCK
    LAYOUT = "fid:I type:B flags:I start:Q length:Q proc_id:I client_id:s"


class Rlock(Message):
    TYPE = C.RLOCK
    LAYOUT = "status:B"


class Tgetlock(Message):
    TYPE = C.TGETLOCK
    LAYOUT = "fid:I type:B start:Q length:Q proc_id:I client_id:s"


class Rgetlock(Message):
    TYPE = C.RGETLOCK
    LAYOUT = "type:B start:Q length:Q proc_id:I client_id:s"


class Tlink(Message):
    TYPE = C.TLINK
    LAYOUT = "dfid:I fid:I name:s"


class Rlink(Message):
    TYPE = C.RLINK
    LAYOUT = ""


class Tmkdir(Message):
    TYPE = C.TMKDIR
    LAYOUT = "dfid:I name:s mode:I gid:I"


class Rmkdir(Message):
    TYPE = C.RMKDIR
    LAYOUT = "qid:qid"


class Trenameat(Message):
    TYPE = C.TRENAMEAT
    LAYOUT = "olddirfid:I oldname:s newdirfid:I newname:s"


class Rrenameat(Message):
    TYPE = C.RRENAMEAT
    LAYOUT = ""


class Trenameat2(Message):
    """snakevisor dialect only: Trenameat with renameat2(2)'s flags, done by the host in one call."""
    TYPE = C.TRENAMEAT2
    LAYOUT = "olddirfid:I oldname:s newdirfid:I newname:s flags:I"


class Rrenameat2(Message):
    TYPE = C.RRENAMEAT2
    LAYOUT = ""


class Tunlinkat(Message):
    TYPE = C.TUNLINKAT
    LAYOUT = "dirfid:I name:s flags:I"


class Runlinkat(Message):
    TYPE = C.RUNLINKAT
    LAYOUT = ""


def is_request(type_number: int) -> bool:
    """T-messages have even type numbers; R-messages are T + 1."""
    return type_number % 2 == 0


# --------------------------------------------------------------- readdir data

class DirEntry(_Frozen):
    """One Rreaddir entry: qid[13] offset[8] type[1] name[s].

    ``offset`` is the cookie to pass as the next Treaddir offset to continue
    after this entry; ``dtype`` is the Linux DT_* value.
    """
    __slots__ = ("qid", "offset", "dtype", "name")
    _compared = __slots__

    def __init__(self, qid: Qid, offset: int, dtype: int, name: bytes):
        _set(self, "qid", qid)
        _set(self, "offset", offset)
        _set(self, "dtype", dtype)
        _set(self, "name", name)


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
