"""Credentials of a Task: the sandbox's own uids, gids and capabilities (root inside by default),
and its user namespace (kernel/userns.py)."""
from dataclasses import dataclass, field

from snakevisor.abi.capability import ALL_CAPS, CAP_SETUID, CAP_SYS_PTRACE, SECBIT_KEEP_CAPS, SECBIT_NOROOT
from snakevisor.abi.errno import EPERM, ESRCH, SyscallError
from snakevisor.abi.fs import S_ISGID, S_ISUID, S_IXGRP
from snakevisor.abi.prctl import SUID_DUMP_USER
from snakevisor.sentry.kernel.userns import ns_capable



@dataclass
class Credentials:
    uid: int = 0
    gid: int = 0
    euid: int = 0
    egid: int = 0
    suid: int = 0
    sgid: int = 0
    fsuid: int = 0
    fsgid: int = 0
    groups: list = field(default_factory=list)
    user_ns: object = None        # kernel/userns.py UserNamespace (None: the initial one); ids are kernel ids
    cap_effective: int = ALL_CAPS
    cap_permitted: int = ALL_CAPS
    cap_inheritable: int = 0
    cap_bounding: int = ALL_CAPS
    cap_ambient: int = 0
    # Kernel keyrings (kernel/keys.py), as Linux keeps them in the cred: a new thread has no thread
    # keyring, a new process no process keyring; the session keyring is inherited.
    thread_keyring: object = None
    process_keyring: object = None
    session_keyring: object = None
    reqkey_keyring: int = 0       # KEYCTL_SET_REQKEY_KEYRING's choice (KEY_REQKEY_DEFL_*), inherited
    no_new_privs: bool = False
    securebits: int = 0           # PR_SET_SECUREBITS's SECBIT_* (KEEP_CAPS: PR_SET_KEEPCAPS's)
    landlock: object = None       # the thread's Landlock Domain (kernel/landlock.py), immutable, shared by copies

    def copy(self, thread=False):
        # A copy of the fields as they are (dataclasses.replace runs __init__ over every field: 5x
        # the time, and clone copies the credentials for every thread).
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.groups = list(self.groups)
        new.thread_keyring = None
        new.process_keyring = self.process_keyring if thread else None
        return new

    @property
    def keep_caps(self):
        """PR_SET_KEEPCAPS: leaving uid 0 keeps the permitted set (cleared by execve)."""
        return bool(self.securebits & SECBIT_KEEP_CAPS)

    @keep_caps.setter
    def keep_caps(self, on):
        self.securebits = self.securebits | SECBIT_KEEP_CAPS if on else self.securebits & ~SECBIT_KEEP_CAPS

    def has_cap(self, cap):
        """``cap`` over what the sandbox's initial user namespace owns (Linux's capable()); a task
        in a user namespace of its own has capabilities only there (kernel/userns.py ns_capable)."""
        return self.user_ns is None and bool(self.cap_effective >> cap & 1)

    def own_cap(self, cap):
        """``cap`` in the task's own user namespace (set*id, setgroups, capset act only there)."""
        return bool(self.cap_effective >> cap & 1)

    def ns_root(self):
        """The kernel uid of uid 0 of the task's user namespace (None: unmapped there)."""
        return 0 if self.user_ns is None else self.user_ns.to_kernel("uid", 0)

    def on_exec(self):
        """execve's capability rules without file capabilities (security/commoncap.c): root gets
        its inheritable and bounding sets, effective if its euid is 0 (unless SECBIT_NOROOT);
        anyone else keeps only the ambient set. PR_SET_KEEPCAPS ends here."""
        self.keep_caps = False
        root = self.ns_root()
        if root is not None and root in (self.uid, self.euid) and not self.securebits & SECBIT_NOROOT:
            self.cap_permitted = (self.cap_inheritable | self.cap_bounding | self.cap_ambient) & ALL_CAPS
            self.cap_effective = self.cap_permitted if self.euid == root else 0
        else:
            self.cap_permitted = self.cap_effective = self.cap_ambient


def exec_creds(old, inode, may_suid, unsafe):
    """The credentials an execve of ``inode`` gives a task with ``old``, and whether the exec is a
    secure one (AT_SECURE) (fs/exec.c bprm_fill_uid, security/commoncap.c cap_bprm_creds_from_file,
    without file capabilities). A set-user-ID file's owner becomes the effective uid, a set-group-ID
    and group-executable file's group the effective gid: not on a nosuid mount (``may_suid``), not
    for an owner the task's user namespace cannot name. Under no_new_privs, or ``unsafe`` (traced by
    a tracer without CAP_SYS_PTRACE, or sharing its fs_struct with another process), the exec gains
    no capability, and no id unless the task has CAP_SETUID (never under no_new_privs). The saved
    and filesystem ids follow the effective ones."""
    new = old.copy()
    new.thread_keyring, new.process_keyring = old.thread_keyring, old.process_keyring
    ns = old.user_ns
    if may_suid and inode.mode & S_ISUID and (ns is None or ns.from_kernel("uid", inode.uid) is not None):
        new.euid = inode.uid
    if (may_suid and inode.mode & (S_ISGID | S_IXGRP) == S_ISGID | S_IXGRP
            and (ns is None or ns.from_kernel("gid", inode.gid) is not None)):
        new.egid = inode.gid
    setid = new.euid != old.uid or new.egid != old.gid
    if setid:
        new.cap_ambient = 0
    new.on_exec()
    if (setid or new.cap_permitted & ~old.cap_permitted) and (old.no_new_privs or unsafe):
        if old.no_new_privs or not old.own_cap(CAP_SETUID):
            new.euid, new.egid = old.uid, old.gid
        new.cap_permitted &= old.cap_permitted
        new.cap_effective &= new.cap_permitted
    new.suid = new.fsuid = new.euid
    new.sgid = new.fsgid = new.egid
    secure = setid or (new.uid != old.ns_root() and bool(new.cap_permitted & ~new.cap_ambient))
    return new, secure


def may_ptrace(caller, target, fscreds=False):
    """ptrace's access check (kernel/ptrace.c __ptrace_may_access) of Task ``caller`` on Task
    ``target``: the same process; or the caller's uid (fsuid with ``fscreds``) and gid equal to all
    of the target's real, effective and saved ones; or CAP_SYS_PTRACE. Then a target that is not
    dumpable still needs CAP_SYS_PTRACE. (/proc/PID/mem, pagemap, ns; kcmp.)"""
    if caller.tg is target.tg:
        return True
    c, t = caller.creds, target.creds
    if c.landlock is not None and not c.landlock.may_reach(t.landlock):
        return False   # Landlock: only into the caller's domain or one nested in it
    uid, gid = (c.fsuid, c.fsgid) if fscreds else (c.uid, c.gid)
    privileged = c.has_cap(CAP_SYS_PTRACE)
    if not privileged and not (uid == t.uid == t.euid == t.suid and gid == t.gid == t.egid == t.sgid):
        return False
    # cap_ptrace_access_check: in the target's user namespace with all its permitted capabilities,
    # or CAP_SYS_PTRACE over that namespace (a caller in a user namespace of its own has neither).
    caller_caps = c.cap_effective if fscreds else c.cap_permitted
    if not ((c.user_ns is t.user_ns and not t.cap_permitted & ~caller_caps)
            or ns_capable(c, t.user_ns, CAP_SYS_PTRACE)):
        return False
    return privileged or target.tg.dumpable == SUID_DUMP_USER


def ptrace_target(caller, pid):
    """The live Task ``pid`` names, if ``caller`` may inspect it (PTRACE_MODE_READ_REALCREDS):
    ESRCH if there is none, EPERM if it may not (kcmp, move_pages, migrate_pages)."""
    task = caller.tg.pidns.task_of(pid)
    if task is None or task.exited:
        raise SyscallError(ESRCH)
    if not may_ptrace(caller, task):
        raise SyscallError(EPERM)
    return task
