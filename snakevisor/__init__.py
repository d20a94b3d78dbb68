"""snakevisor: an application kernel for containers, in gVisor's architecture.

``snakevisor.Sandbox`` (sandbox/api.py) runs untrusted code from Python; it is imported
on first use so that ``import snakevisor`` stays cheap.
"""

_API = ("Sandbox", "Result", "Process", "SandboxError")


def __getattr__(name):
    if name in _API:
        from snakevisor.sandbox import api
        return getattr(api, name)
    raise AttributeError(f"module 'snakevisor' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_API))
