"""The Gofer's log: warnings and errors on stderr as ``gofer: MESSAGE`` (an exception's traceback
after it), debug and info dropped. What ``logging.basicConfig(level=WARNING, format="gofer:
%(message)s")`` gave it, without importing logging (with threading's and string's parts of it,
~2 ms of CPU per sandbox start). One write per line: the worker threads may log at once.
"""
import sys
import traceback


def debug(msg, *args):
    pass


info = debug


def error(msg, *args, exc_info=None):
    """``msg % args``; with ``exc_info`` (an exception, or True: the one being handled) its traceback."""
    text = msg % args if args else msg
    if exc_info is True:
        exc_info = sys.exc_info()[1]
    if exc_info is not None:
        text += "\n" + "".join(traceback.format_exception(exc_info)).rstrip("\n")
    try:
        sys.stderr.write(f"gofer: {text}\n")
        sys.stderr.flush()
    except (OSError, ValueError):   # stderr gone: nothing to tell
        pass


warning = error


def exception(msg, *args):
    """error() with the traceback of the exception being handled."""
    error(msg, *args, exc_info=True)
