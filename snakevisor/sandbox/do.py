"""``snakevisor do``: run one host command in a fresh sandbox whose root is the host's / (read-only).

This process becomes the Sentry; the Gofer is a separate process. The exit
status of the sandboxed command is returned (128+N for death by signal N).
"""
import os
import sys

from snakevisor.abi.errno import ERRNO_NAMES, SyscallError
from snakevisor.sandbox.gofer_process import GoferMount, GoferProcess
from snakevisor.sandbox.sentry_boot import Sentry, SentryConfig


def wait_status_to_exit_code(status):
    if status is None:
        return 128 + 9
    if status & 0x7F:
        return 128 + (status & 0x7F)
    return (status >> 8) & 0xFF


def run_do(cmd, strace=False, cwd="/", cpu=None, hostname="snakevisor"):
    gofer = GoferProcess([GoferMount("root", "/", readonly=True)])
    try:
        config = SentryConfig(argv=list(cmd), env=dict(os.environ), cwd=cwd, strace=strace, cpu=cpu,
                              hostname=hostname)
        try:
            sentry = Sentry(config, gofer.sockets)
            status = sentry.run()
        except SyscallError as e:
            print(f"snakevisor do: {cmd[0]}: {os.strerror(e.errno)} ({ERRNO_NAMES.get(e.errno, e.errno)})",
                  file=sys.stderr)
            return 127 if e.errno == 2 else 126
        return wait_status_to_exit_code(status)
    finally:
        gofer.stop()
