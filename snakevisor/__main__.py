import sys

from snakevisor.cli.light import try_light

code = try_light(sys.argv[1:])   # start, kill, delete, state: without the CLI's parser, cold
if code is not None:
    from snakevisor.cli.ending import exit_now
    exit_now(code)

from snakevisor.warm.client import try_warm  # noqa: E402

code = try_warm(sys.argv[1:])   # before the CLI's imports: a warm ``do`` needs none of them
if code is not None:
    from snakevisor.cli.ending import exit_now
    exit_now(code)   # nothing of ours to tear down: an interpreter's finalisation costs the caller ~2 ms

from snakevisor.sandbox import coldgc  # noqa: E402
coldgc.pause()   # the collector finds nothing in a cold start's imports and boot (sandbox/coldgc.py)

from snakevisor.cli.main import main  # noqa: E402
from snakevisor.cli.ending import exit_now  # noqa: E402

exit_now(main(warm=False))
