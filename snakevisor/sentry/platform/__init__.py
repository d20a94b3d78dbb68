"""The platforms that run application code (interface.py declares what they do): their names,
and the one a sandbox uses unless told (``--platform``). Nothing else is imported here: the CLI
reads these before it forks the sandbox."""

NAMES = ("ptrace", "systrap")
DEFAULT = "systrap"   # seccomp traps into the stub (faster syscalls and hand-offs); ptrace loads hardware breakpoints
