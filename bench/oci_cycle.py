"""The OCI cycle of the startup benchmark (``startup.oci_cycle``): what a container engine's shim
does for each container, ``create --pid-file``, ``start``, wait for the container's pid to exit,
``delete``, each a command of its own, from one busybox bundle shared by every runtime (runc,
runsc, snakevisor cold and warm). The wall time of the whole cycle is the figure.
"""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMESPACES = ("pid", "ipc", "uts", "mount", "network")


def bundle(work_dir, argv):
    """The bundle running ``argv`` (made once per work directory and argv)."""
    path = os.path.join(work_dir, "oci-cycle-" + "-".join(os.path.basename(a) for a in argv)[:60])
    if not os.path.exists(os.path.join(path, "config.json")):
        sys.path.insert(0, os.path.join(REPO, "tests"))
        from oci_support import make_bundle   # the tests' busybox root filesystem, cached
        make_bundle(path, list(argv), linux={"namespaces": [{"type": t} for t in NAMESPACES]})
    return path


def command(shim, runtime, bundle_path, work_dir, cid):
    """The command of one cycle of container ``cid`` with ``runtime`` (the argv of its CLI,
    global flags included): bench/programs/oci_shim.c (built at ``shim``), a subreaper that
    waits for the container's pid as its child, as containerd's shim and conmon do."""
    return [shim, os.path.join(work_dir, f"{cid}.pid"), cid, bundle_path, *runtime]
