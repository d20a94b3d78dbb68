"""/proc/PID/loginuid and /proc/PID/sessionid: a task's audit login uid and session, as Linux's audit
keeps them (unset, 4294967295, until a login sets it; inherited by fork and kept across execve).

A task sets its own login uid, only (EPERM for another's file): once freely while unset, then
again only with CAP_AUDIT_CONTROL (in the sandbox's initial user namespace); each valid one starts
a new session, numbered from 1 in the sandbox; 4294967295 unsets both. Writes are whole: at offset
0, a decimal u32 (kstrtou32: EINVAL, ERANGE)."""
import itertools

from snakevisor.abi.capability import CAP_AUDIT_CONTROL
from snakevisor.abi.errno import EINVAL, EPERM, ERANGE, SyscallError
from snakevisor.sentry.fsimpl.procfs_inodes import GeneratedFile, WritableFile, WritableImpl
from snakevisor.sentry.kernel.userns import ns_capable

AUDIT_UNSET = 0xFFFFFFFF
_sessions = itertools.count(1)


def _loginuid_text(task, reader) -> str:
    """The login uid as the reader's user namespace names it (from_kuid: unmapped is unset too)."""
    kid = task.loginuid
    ns = getattr(getattr(reader, "creds", None), "user_ns", None)
    uid = kid if kid is None or ns is None else ns.from_kernel("uid", kid)
    return f"{AUDIT_UNSET if uid is None else uid}"


def _parse_u32(data: bytes) -> int:
    text = data[:-1] if data.endswith(b"\n") else data
    text = text.removeprefix(b"+")
    if not text.isdigit():
        raise SyscallError(EINVAL)
    value = int(text)
    if value > 0xFFFFFFFF:
        raise SyscallError(ERANGE)
    return value


class _WholeWriteImpl(WritableImpl):
    def write(self, task, data, offset):
        if offset:
            raise SyscallError(EINVAL)   # no partial writes
        return super().write(task, data, offset)


class LoginuidFile(WritableFile):
    def __init__(self, fs, task):
        super().__init__(fs, lambda reader: _loginuid_text(task, reader), self._set, 0o644, per_task=True)
        self.task = task

    def open(self, task, flags):
        return self._watched(_WholeWriteImpl(self, lambda: self._content(task)), task)

    def _set(self, writer, data):
        if writer is not self.task:
            raise SyscallError(EPERM)
        uid = _parse_u32(bytes(data))
        kid = None
        if uid != AUDIT_UNSET:
            ns = writer.creds.user_ns
            kid = uid if ns is None else ns.to_kernel("uid", uid)
            if kid is None:
                raise SyscallError(EINVAL)
        if writer.loginuid is not None and not ns_capable(writer.creds, None, CAP_AUDIT_CONTROL):
            raise SyscallError(EPERM)
        writer.loginuid = kid
        writer.sessionid = next(_sessions) if kid is not None else None


def audit_entries(fs, task) -> dict:
    """The audit files of a /proc/PID or /proc/PID/task/TID directory."""
    return {b"loginuid": lambda: LoginuidFile(fs, task),
            b"sessionid": lambda: GeneratedFile(
                fs, lambda: f"{AUDIT_UNSET if task.sessionid is None else task.sessionid}")}
