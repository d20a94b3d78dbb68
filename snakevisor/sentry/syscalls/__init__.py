"""Syscall handlers, one module per family; importing this package registers them all in TABLE."""
import importlib

FAMILIES = ("fs", "file", "mm", "process", "signal", "time", "info", "sched", "futex")

for _name in FAMILIES:
    try:
        importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as e:  # a family still being written
        if e.name != f"{__name__}.{_name}":
            raise
