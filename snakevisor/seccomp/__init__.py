"""seccomp-BPF filters shared by the Gofer, the Sentry and the stubs (see filter.py)."""
from .filter import KILL, ArgRule, SeccompError, build_whitelist, install_whitelist, load

__all__ = ["KILL", "ArgRule", "SeccompError", "build_whitelist", "install_whitelist", "load"]
