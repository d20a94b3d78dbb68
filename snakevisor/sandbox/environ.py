"""The caller's environment, as the caller really set it."""
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
