"""Syscall handlers, one module per family; linux64.py is the table that maps each x86_64 number
to its handler (or to ENOSYS, with the reason), and the boot code installs it."""
