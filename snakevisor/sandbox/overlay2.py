"""runsc's ``--overlay2``: where the changes to the container's root filesystem go.

- ``root:memory`` (the default): an overlay whose upper layer is a scratch tmpfs of the Gofer's,
  dropped when the sandbox ends; the root directory on the host is never written.
- ``root:DIR``: the same overlay with its upper layer on the host directory DIR (a fresh
  directory made in it, removed when the sandbox ends): a large build writes to disk, not to
  memory. runsc's file-backed medium.
- ``none``: no overlay; the sandbox writes the root directory itself, as runc does (what an
  engine's `docker cp`, `docker diff` and `commit` read). ``do`` accepts it only with
  ``--rootfs``: its default root is the host's own ``/``.

runsc's ``root:self`` (a file-backed upper inside the image's directory) and the ``all:`` forms
(binds overlaid too) are refused with a one-line reason: a bind is written through, as runc does.
"""
import contextlib
import os
import shutil
from dataclasses import dataclass


@dataclass(frozen=True)
class Overlay2:
    overlay: bool                 # the root is an overlay (else served as it is)
    directory: str | None = None  # root:DIR: the host directory the upper layer is made in

    def __str__(self):
        return "none" if not self.overlay else f"root:{self.directory or 'memory'}"


MEMORY = Overlay2(True)


def parse_overlay2(text):
    """The choice ``text`` names; ValueError with a one-line reason if none."""
    if text == "none":
        return Overlay2(False)
    mounts, sep, medium = text.partition(":")
    if not sep or not medium:
        raise ValueError(f"--overlay2 {text!r}: want root:memory, root:DIR or none")
    if mounts != "root":
        raise ValueError(f"--overlay2 {text!r}: only the root is overlaid ({mounts}: binds are written "
                         f"through, as under runc); want root:memory, root:DIR or none")
    if medium == "memory":
        return MEMORY
    if medium == "self":
        raise ValueError(f"--overlay2 {text!r}: a file-backed upper inside the image is not supported; "
                         f"use root:DIR (a host directory)")
    if not os.path.isabs(medium):
        raise ValueError(f"--overlay2 {text!r}: DIR must be an absolute path")
    if not os.path.isdir(medium):
        raise ValueError(f"--overlay2 {text!r}: {medium} is not a directory")
    return Overlay2(True, medium)


def make_upper(choice):
    """The directory for the upper layer (its upper/ and work/): made fresh in root:DIR's DIR;
    None for a scratch tmpfs (root:memory) or no overlay."""
    if choice.directory is None:
        return None
    import tempfile   # here: root:DIR only; the default start does without it (and random, ~1 ms)
    return tempfile.mkdtemp(prefix="snakevisor-overlay-", dir=choice.directory)


def remove_upper(path):
    """Remove what make_upper made, whatever the sandbox left in it (once the Gofer, whose
    overlay mount used it, has stopped)."""
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def upper_layer(choice):
    """make_upper for the block, remove_upper after it."""
    path = make_upper(choice)
    try:
        yield path
    finally:
        remove_upper(path)
