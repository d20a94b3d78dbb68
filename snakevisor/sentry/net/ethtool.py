"""SIOCETHTOOL: the queries anyone may make of a network device of the socket's network namespace
(Linux's dev_ethtool: settings, driver, link, offloads, ...), answered by the host kernel for
that namespace's device (the sandbox's own: its loopback, or the devices of a namespace it made).
Changes (every other command) are EPERM, as the sandbox's other interface changes are."""
import ctypes
import fcntl
import struct

from snakevisor.abi import ethtool as E
from snakevisor.abi import netlink as NL
from snakevisor.abi.errno import ENODEV, EOPNOTSUPP, EPERM, SyscallError

_U32 = struct.Struct("<I")
_PTR = struct.Struct("<Q")


def ethtool_ioctl(task, arg, host_fd: int) -> int:
    """SIOCETHTOOL on ``arg`` (a struct ifreq whose ifr_data points at the command's structure),
    asked of the host through ``host_fd``, a socket in the namespace. Linux's order: the ifreq and
    the command are read (EFAULT), the device looked up (ENODEV), then the caller's right."""
    mm = task.mm
    ifreq = bytes(mm.copy_in(arg, NL.IFREQ_SIZE))
    data = _PTR.unpack_from(ifreq, NL.IFNAMSIZ)[0]
    cmd = _U32.unpack(mm.copy_in(data, 4))[0]
    try:
        fcntl.ioctl(host_fd, NL.SIOCGIFINDEX, ifreq[:NL.IFNAMSIZ] + bytes(NL.IFREQ_SIZE - NL.IFNAMSIZ))
    except OSError as e:
        raise SyscallError(e.errno or ENODEV)
    if cmd not in E.QUERIES:
        raise SyscallError(EPERM)
    size = _size(mm, data, cmd)
    if size is None:
        raise SyscallError(EOPNOTSUPP)   # a query the Sentry does not pass on: "not supported"
    buf = ctypes.create_string_buffer(bytes(mm.copy_in(data, size)), size)
    request = ifreq[:NL.IFNAMSIZ] + _PTR.pack(ctypes.addressof(buf)) + bytes(NL.IFREQ_SIZE - NL.IFNAMSIZ - 8)
    try:
        fcntl.ioctl(host_fd, E.SIOCETHTOOL, request)
    except OSError as e:
        raise SyscallError(e.errno or EOPNOTSUPP)
    mm.copy_out(data, buf.raw)
    return 0


def _size(mm, data, cmd):
    """The bytes of the command's structure at ``data`` (the caller's counts in it bounded), or None."""
    size = E.FIXED_SIZES.get(cmd)
    if size is not None:
        return size
    if cmd == E.ETHTOOL_GLINKSETTINGS:
        head = mm.copy_in(data, E.LINK_SETTINGS_SIZE)
        nwords = E.LINK_SETTINGS_NWORDS.unpack_from(head, E.LINK_SETTINGS_NWORDS_OFFSET)[0]
        return E.LINK_SETTINGS_SIZE + 3 * 4 * max(nwords, 0)
    if cmd == E.ETHTOOL_GFEATURES:
        blocks = E.GFEATURES_HEADER.unpack(mm.copy_in(data, E.GFEATURES_HEADER.size))[1]
        return E.GFEATURES_HEADER.size + E.FEATURES_BLOCK_SIZE * min(blocks, E.FEATURE_WORDS_MAX)
    if cmd == E.ETHTOOL_GSSET_INFO:
        mask = E.SSET_INFO_HEADER.unpack(mm.copy_in(data, E.SSET_INFO_HEADER.size))[2]
        return E.SSET_INFO_HEADER.size + 4 * bin(mask).count("1")
    return None
