"""The cyclic garbage collector over a cold start (issue 17, "Start like runc").

A cold ``snakevisor do`` allocates almost only what lives as long as its process: modules, the
parser, the Sentry's boot. The collector's ~80 passes over that find nothing and cost ~7 ms of
CPU, so ``snakevisor/__main__.py`` pauses it (``pause``) until each process knows what it is:
the verbs other than ``do`` turn it back on at once (cli/main.py), ``do`` once its processes
are forked and booted (``resume``: sandbox/do.py for the CLI and the Sentry, gofer_process.py for
the Gofer). ``resume`` freezes what exists first: the heap a fork shares is never walked again
(a pass writes every object's header, which would copy its page into the process), and the
collector only looks at what is made from then on.
"""
import gc


def pause():
    gc.disable()


def resume():
    """Freeze what exists (kept for the process's life, with the few cycles a boot leaves: tens of
    KiB, cheaper than a full pass of ~11 ms to find them) and collect from now on."""
    gc.freeze()
    gc.enable()
