"""Locking the Gofer down before it serves: the place for overlay mounts,
pivot_root into the container root, dropping capabilities and the seccomp
whitelist (DESIGN.md, "The Gofer and 9P").

Not implemented yet (a later issue).  ``isolate`` is called by the entry point
after the mount roots are known and before any request is read.  Whatever it
does must keep /proc/self/fd usable: Tlopen and Tlink reopen O_PATH
descriptors through it.
"""
from __future__ import annotations


def isolate(mounts, *, enabled: bool = False) -> None:
    """Confine this process to ``mounts`` [(name, root_dir, readonly), ...].

    Currently a no-op.
    """
    if enabled:
        raise NotImplementedError("gofer isolation is not implemented yet")
