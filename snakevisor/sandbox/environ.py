"""The caller's environment, as the caller really set it."""
import os


def caller_environment():
    """Python's locale coercion (PEP 538) adds LC_CTYPE to os.environ at start-up when the
    locale is C; /proc/self/environ still shows what the caller passed to exec."""
    try:
        with open("/proc/self/environ", "rb") as f:
            raw = f.read()
    except OSError:
        return dict(os.environ)
    env = {}
    for item in raw.split(b"\0"):
        if b"=" in item:
            k, _, v = item.partition(b"=")
            env[os.fsdecode(k)] = os.fsdecode(v)
    return env
