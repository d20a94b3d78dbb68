"""The caller's environment, as the caller really set it: its environ block, the signals it
ignores and its resource limits (exec keeps both: so does `do` for its command)."""
import _signal as signal   # the C module: signal.py imports enum, ~4 ms of the warm client's start
import os

# The caller's environ block when the caller is another process: the warm client
# (warm/session.py), whose /proc/PID/environ the session read. None: this process's own.
_adopted = None


def adopt(raw):
    """The environ block ``raw`` (NUL-separated KEY=VALUE) is the caller's from now on, and
    os.environ is set to it (this process then runs as the caller would have)."""
    global _adopted
    _adopted = raw
    os.environ.clear()
    os.environ.update(caller_environment())


def raw_environment():
    """The caller's environ block (NUL-separated KEY=VALUE), as adopt() takes it."""
    if _adopted is not None:
        return _adopted
    with open("/proc/self/environ", "rb") as f:
        return f.read()


def caller_environment():
    """Python's locale coercion (PEP 538) adds LC_CTYPE to os.environ at start-up when the
    locale is C; /proc/self/environ still shows what the caller passed to exec."""
    raw = _adopted
    if raw is None:
        try:
            with open("/proc/self/environ", "rb") as f:
                raw = f.read()
        except OSError:
            return dict(os.environ)
    return parse(raw)


def parse(raw):
    """The environ block ``raw`` (NUL-separated KEY=VALUE) as a dict of str."""
    env = {}
    for item in raw.split(b"\0"):
        if b"=" in item:
            k, _, v = item.partition(b"=")
            env[os.fsdecode(k)] = os.fsdecode(v)
    return env


# Python ignores these itself at start-up (and gives its subprocesses the default back): whether
# the caller ignored them cannot be told, so the command gets the default, as from subprocess.
_PYTHONS_OWN = {signal.SIGPIPE, signal.SIGXFSZ}


def ignored_signals():
    """The signals this process ignores as the caller left them (nohup's SIGHUP, a script's
    background job's SIGINT and SIGQUIT), which an exec'd program would find ignored too."""
    return sorted(s for s in signal.valid_signals() - _PYTHONS_OWN if signal.getsignal(s) == signal.SIG_IGN)


def resource_limits():
    """[(resource, soft, hard)] of this process's limits, as an exec'd program would start with them
    (RLIM_INFINITY as Linux's all-ones word, not Python's -1). (Imports here: the warm client,
    which uses this module, needs none of them.)"""
    import resource
    from snakevisor.abi.resource import RLIM_INFINITY, RLIM_NLIMITS
    return [(r, *(v & RLIM_INFINITY for v in resource.getrlimit(r))) for r in range(RLIM_NLIMITS)]


def ignore(signals):
    """Ignore ``signals`` here (a warm session's ``do`` process, as its client does)."""
    for sig in signals:
        signal.signal(sig, signal.SIG_IGN)
