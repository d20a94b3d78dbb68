"""How the ``snakevisor`` command ends: the exit without the interpreter's finalisation, and the
quiet end when whoever read its output went away. Imported by __main__ once a command has run
(``do``'s too): it imports only what every path has loaded by then (signal) or builds in (atexit).
"""
import atexit
import os
import signal
import sys


def quiet_broken_pipe():
    """Whoever read our output went away (`snakevisor state c | head -1`): end quietly, as cat
    does, with no traceback, and nothing more to flush at exit; the exit status."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 128 + signal.SIGPIPE


def exit_now(code):
    """Exit with ``code`` (an int) without finalising the interpreter: after a create it holds the
    whole Sentry's modules and objects, whose teardown would add ~20 ms to the engine's wait. What
    finalising does that matters is done first: the atexit functions (logging's shutdown flushes
    and closes --log) and the standard streams' flush."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):   # a reader gone, or closed
            pass
    os._exit(code or 0)
