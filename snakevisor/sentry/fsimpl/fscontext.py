"""Filesystem contexts: the files fsopen(2) and fspick(2) return (fs/fs_context.c, fs/fsopen.c).

An ``FsContextImpl`` is an anon_inode "[fscontext]" file holding a filesystem type's parameters
as fsconfig(2) sets them, its phase (Linux's enum fs_context_phase: parameters, then a created
superblock awaiting fsmount; or, picked, a superblock's parameters awaiting a reconfigure) and a
log of the last eight error messages, each read(2) returning one ("e tmpfs: Unknown parameter
'x'\\n"; ENODATA when none is left, EMSGSIZE, the message kept, for a smaller buffer).
Parameters are checked as they are set, as Linux's parse_param: superblock flags (ro, rw...),
then the filesystem's own (abi/mount_options.py), then "source". Creating the superblock and
mounting it are syscalls/mount_api.py's.
"""
from collections import deque

from snakevisor.abi.errno import EBUSY, EINVAL, EMSGSIZE, ENODATA, SyscallError
from snakevisor.abi.mount_api import FC_LOG_SIZE
from snakevisor.abi.mount_options import FS_PARAMETERS, OPTION_PARSERS, SB_FLAGS_CLEAR, SB_FLAGS_SET
from snakevisor.sentry.fsimpl.anon import anon_inode_file
from snakevisor.sentry.vfs.file import FileDescriptionImpl
from snakevisor.abi.fs import O_RDWR

# Phases (enum fs_context_phase)
CREATE_PARAMS, AWAITING_MOUNT, MOUNTED, FAILED, RECONF_PARAMS, AWAITING_RECONF = range(6)


class FsContextImpl(FileDescriptionImpl):
    seekable = False

    def __init__(self, fstype: str, fs=None):
        super().__init__()
        self.fstype = fstype
        self.fs = fs                  # the superblock: created, or picked (fspick)
        self.phase = CREATE_PARAMS if fs is None else RECONF_PARAMS
        # key -> string value or None: the filesystem's parameters, a key set again replacing its
        # value (bounded by the keys there are, however often the application sets them)
        self.params = {}
        self.source = None
        self.readonly = False         # sb_flags' SB_RDONLY, and whether a parameter named it
        self.readonly_set = False
        self.log = deque(maxlen=FC_LOG_SIZE)

    def read(self, task, n, offset):
        if not self.log:
            raise SyscallError(ENODATA)
        if len(self.log[0]) > n:
            raise SyscallError(EMSGSIZE)   # the message stays for a larger read (Linux 6.x)
        return self.log.popleft()

    def fail(self, text: str, prefixed: bool = True, level: str = "e", errno: int = EINVAL, times: int = 1):
        """invalf (warnfc for ``level`` "w"): log a message (prefixed with the type's name;
        ``times`` over, as Linux's layers each may) and refuse with ``errno``."""
        line = (f"{level} " + (f"{self.fstype}: " if prefixed else "") + text + "\n").encode()
        self.log.extend([line] * times)
        raise SyscallError(errno)

    def release(self):
        """put_fs_context: a superblock created but never mounted goes with the context (only
        where that frees something: ``kill_unmounted``, an overlay's hold on its layers)."""
        fs = self.fs
        if self.phase == AWAITING_MOUNT and getattr(fs, "kill_unmounted", False) and not fs.active_mounts:
            fs.kill()

    def settle(self):
        """finish_clean_context: a context reconfigured before takes parameters again."""
        if self.phase == AWAITING_RECONF:
            self.phase = RECONF_PARAMS

    def set_param(self, key: str, value, is_string: bool):
        """vfs_parse_fs_param: ``value`` a str (string parameters), bytes or None."""
        if self.phase not in (CREATE_PARAMS, RECONF_PARAMS):
            raise SyscallError(EBUSY)
        if key in SB_FLAGS_SET or key in SB_FLAGS_CLEAR:
            if key in ("ro", "rw"):
                self.readonly, self.readonly_set = key == "ro", True
            return
        if key in FS_PARAMETERS.get(self.fstype, ()):
            parse = OPTION_PARSERS.get(self.fstype)
            try:
                if parse is not None:
                    parse(self.fstype, [(key, value if is_string else None)], total=0)   # checked, not used
            except ValueError as e:   # Linux's words: "Bad value for 'size'", "Unexpected value for 'noswap'"
                self.fail(str(e), times=getattr(e, "count", 1))
            if key.endswith("+"):   # lowerdir+: each one adds a layer
                value = self.params.get(key, ()) + (value,)
            self.params[key] = value if is_string else None
        elif key == "source":
            if not is_string:
                self.fail("Non-string source", prefixed=False)
            if self.source is not None:
                self.fail("Multiple sources", prefixed=False)
            self.source = value
        elif self.fstype != "ramfs":   # ramfs ignores what it does not know
            self.fail(f"Unknown parameter '{key}'")

    def reconfigured(self):
        """vfs_clean_context after a reconfigure: the parameters and flags go, the flags' mask
        stays (a second reconfigure with no "ro" makes the superblock writable again, as Linux's)."""
        self.params, self.source, self.readonly = {}, None, False
        self.phase = AWAITING_RECONF


def new_fs_context(fstype: str, fs=None):
    """The fscontext file of a new context for ``fstype`` (or for reconfiguring ``fs``)."""
    return anon_inode_file("fscontext", FsContextImpl(fstype, fs), O_RDWR)
