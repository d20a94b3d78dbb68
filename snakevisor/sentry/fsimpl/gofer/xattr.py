"""Extended attributes of gofer files, over 9P2000.L's Txattrwalk and Txattrcreate.

Each operation works on a fid of its own walked from the file's: reading walks to an
xattr fid and reads it; writing turns a fresh fid into an xattr being written, and
the value is committed (or its failure reported) when that fid is clunked.
"""
from snakevisor.abi.errno import SyscallError

XATTR_REPLACE = 2


def get(fid, name):
    """The value of ``name`` (b"": the list of names, NUL-separated)."""
    xfid, size = fid.xattrwalk(name)
    try:
        return xfid.read(0, size) if size else b""
    finally:
        xfid.clunk()


def names(fid):
    return [n for n in get(fid, b"").split(b"\0") if n]


def put(fid, name, value, flags):
    """Set ``name`` to ``value`` (an empty value removes it: 9P has no other way)."""
    xfid = fid.walk([])
    try:
        xfid.xattrcreate(name, len(value), flags)
        if value:
            xfid.write(0, value)
    except SyscallError:
        xfid.clunk()
        raise
    xfid.clunk()      # commits the value; a failure to store it is reported here
