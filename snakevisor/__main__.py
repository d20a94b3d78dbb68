import os
import sys

from snakevisor.warm.client import try_warm

code = try_warm(sys.argv[1:])   # before the CLI's imports: a warm ``do`` needs none of them
if code is not None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)   # nothing of ours to tear down: an interpreter's finalisation costs the caller ~2 ms

from snakevisor.sandbox import coldgc  # noqa: E402
coldgc.pause()   # the collector finds nothing in a cold start's imports and boot (sandbox/coldgc.py)

from snakevisor.cli.main import main  # noqa: E402

sys.exit(main(warm=False))
