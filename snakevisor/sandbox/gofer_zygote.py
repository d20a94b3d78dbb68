"""The Gofer zygote: a small process the warm server forks before it imports the Sentry, and which
forks every warm sandbox's Gofer, so that a Gofer maps only the Gofer's modules.

A warm sandbox process is a fork of the server, which holds every module a sandbox needs; a Gofer
forked from it carries all of them (RSS 21 MiB against 14 MiB cold), though it runs none of the
Sentry's. The cold path avoids that by forking the Gofer before it imports the Sentry (do.py); the
server cannot, so it keeps this zygote, forked while it has imported little more than the CLI.

A sandbox process that is the init of its PID namespace asks for its Gofer with ``fork_gofer``:
its pidfd, the Gofer's sockets and its stdout and stderr go over the inherited link (SCM_RIGHTS).
The zygote forks a helper that joins the requester's namespaces (setns on the pidfd: mount, PID,
IPC, UTS, network, cgroup) and takes its scheduling policy; the helper's child, the first of it
inside the PID namespace, forks the Gofer and exits, so the orphaned Gofer is re-parented to the
namespace's init, the requester: from then on it is its child exactly as one it forked itself
(waited for, killed with the namespace). Its pid, as the namespace sees it, is the reply.

Only the server's own processes hold the link (a socketpair, never a path), and a sandbox process
drops it (``forget``) once its Gofer runs, before its Sentry locks down and runs application code.
Where there is no zygote (a cold ``do``, a process not its namespace's init, another user
namespace, the link closed by a wholesale close), the caller forks its Gofer itself.
"""
import errno
import fcntl
import gc
import marshal
import os
import signal
import socket

from snakevisor.abi.prctl import PR_SET_NAME
from snakevisor.abi.sched import CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS
from snakevisor.hostos.libc import close_fds_except, die_with_parent, kill_and_reap, libc, prctl, readable
from snakevisor.hostos.setup import HostSetupError
from snakevisor.sandbox.messages import peer

JOINED = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWCGROUP
MAX_FDS = 200          # sockets per request (one per mount): more, and the caller forks its Gofer
MAX_REQUEST = 1 << 20  # bytes of a request (the Gofer's command-line specs)
REPLY_TIMEOUT_S = 60.0
NAME = b"sv-zygote"

_link = None   # (fd, (st_dev, st_ino) of it, our user namespace's inode): the server's end, inherited
_zygote_pid = []   # in the server: the zygote it forked


class ZygoteError(HostSetupError):
    """The zygote took a request and gave no Gofer: the sandbox cannot boot (one may be running).
    A HostSetupError, so `do` prints it as one line."""

    def __init__(self, what):
        super().__init__(errno.EIO, what)


def start():
    """Fork the zygote (in the server, before it imports the Sentry); its link is inherited by
    every process the server forks from now on."""
    global _link
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            ours.close()
            code = _zygote(theirs)
        finally:
            os._exit(code)
    theirs.close()
    st = os.fstat(ours.fileno())
    _link = (ours.detach(), (st.st_dev, st.st_ino), _user_namespace())
    _zygote_pid.append(pid)
    return pid


def reaped(pid):
    """The server reaped child ``pid``: if it was the zygote, there is none to stop."""
    if pid in _zygote_pid:
        _zygote_pid.remove(pid)


def stop():
    """End the zygote this process started (SIGKILL) and reap it; the link is closed here."""
    forget()
    while _zygote_pid:
        kill_and_reap(_zygote_pid.pop())


def held_fd():
    """The link's descriptor in this process (for a wholesale close to keep), or None."""
    return _link[0] if _link is not None else None


def forget():
    """Close the link here (a sandbox process, once its Gofer runs)."""
    global _link
    if _link is not None and _usable():
        os.close(_link[0])
    _link = None


def _usable():
    fd, ident, _ = _link
    try:
        st = os.fstat(fd)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == ident   # not a number a wholesale close freed and reused


def _user_namespace():
    return os.stat("/proc/self/ns/user").st_ino


def fork_gofer(specs, fds):
    """The pid of a Gofer the zygote forked for us with command-line ``specs``, holding our
    descriptors ``fds`` at the same numbers (and our stdout, stderr); None if there is no zygote
    for us (then fork it yourself). ZygoteError if it took the request and gave no Gofer."""
    if _link is None or os.getpid() != 1 or len(fds) > MAX_FDS or not _usable():
        return None
    if _user_namespace() != _link[2]:
        return None
    reply, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    me = os.pidfd_open(os.getpid())
    try:
        request = marshal.dumps({"specs": list(specs), "fds": list(fds)})
        with socket.socket(fileno=os.dup(_link[0])) as link:
            socket.send_fds(link, [request], [theirs.fileno(), me, 1, 2, *fds], socket.MSG_NOSIGNAL)
    except OSError:
        return None   # no zygote (gone): nothing was forked
    finally:
        theirs.close()
        os.close(me)
    with reply:
        if not readable(reply.fileno(), REPLY_TIMEOUT_S):
            raise ZygoteError("the Gofer zygote did not answer")
        answer = reply.recv(64)
    if answer == b"no":
        return None   # it forked no Gofer: fork one yourself
    if not answer.startswith(b"pid ") or not answer[4:].isdigit():
        raise ZygoteError("the Gofer zygote failed")
    return int(answer[4:])


# --- the zygote ------------------------------------------------------------------------------------
def _zygote(link):
    """Serve requests until the link's other ends are all closed (or the server dies)."""
    die_with_parent()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)   # (^C to the server's group): it ends with the server
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    close_fds_except({link.fileno()}, lowest=3)
    prctl(PR_SET_NAME, NAME, 0, 0, 0)
    import snakevisor.gofer.__main__  # noqa: F401  (what every Gofer runs: imported once, here)
    import snakevisor.sandbox.gofer_process  # noqa: F401
    gc.collect()
    gc.freeze()   # shared with every Gofer: no collection there walks (and copies) it
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(link, MAX_REQUEST, MAX_FDS + 4)
        except InterruptedError:
            continue
        except OSError:
            return 1
        if not data and not fds:
            return 0   # the server and every process it forked are gone
        try:
            _serve(data, fds)
        except Exception:   # a malformed request from our own processes: that one gets no answer
            pass
        finally:
            for fd in fds:
                os.close(fd)


def _serve(data, fds):
    """Fork the helper for one request and answer it once the Gofer is the requester's child."""
    request = marshal.loads(data)
    reply = socket.socket(fileno=os.dup(fds[0]))
    with reply:
        if not _well_formed(request, fds):
            reply.send(b"no")
            return
        policy = os.sched_getscheduler(peer(reply)[0])   # (the requester made the pair)
        r, w = os.pipe()
        helper = os.fork()
        if helper == 0:
            os.close(r)
            _helper(fds[1], policy, request, fds[2:], w)   # never returns
        os.close(w)
        os.waitpid(helper, 0)
        with os.fdopen(r, "rb") as f:
            answer = f.read(64)
        reply.send(answer or b"no")


def _well_formed(request, fds):
    return (isinstance(request, dict) and isinstance(request.get("specs"), list)
            and all(isinstance(s, str) for s in request["specs"])
            and isinstance(request.get("fds"), list) and all(isinstance(n, int) and n > 2 for n in request["fds"])
            and len(fds) == 4 + len(request["fds"]))


def _helper(pidfd, policy, request, stdio_and_fds, answer_fd):
    """In the requester's namespaces: fork the one process inside its PID namespace, which forks
    the Gofer, writes its pid and exits (the Gofer is then re-parented to the namespace's init)."""
    code = 1
    try:
        if libc.setns(pidfd, JOINED) != 0:
            os.write(answer_fd, b"no")
            os._exit(1)
        os.sched_setscheduler(0, policy, os.sched_param(0))
        inner = os.fork()
        if inner == 0:
            gofer = os.fork()
            if gofer == 0:
                _gofer(request, stdio_and_fds, answer_fd)
            os.write(answer_fd, b"pid %d" % gofer)
            os._exit(0)
        os.waitpid(inner, 0)   # its exit re-parents the Gofer: then the zygote answers
        code = 0
    finally:
        os._exit(code)


def _gofer(request, stdio_and_fds, answer_fd):
    """The Gofer: the requester's descriptors at their numbers, then the Gofer's main."""
    os.close(answer_fd)
    targets = [1, 2, *request["fds"]]
    top = max(targets + stdio_and_fds) + 1
    moved = [fcntl.fcntl(fd, fcntl.F_DUPFD, top) for fd in stdio_and_fds]
    for target, fd in zip(targets, moved):
        os.dup2(fd, target)
    from snakevisor.sandbox.gofer_process import gofer_child
    gofer_child(request["specs"], request["fds"], parent=None)   # never returns
