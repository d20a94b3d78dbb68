import sys

from snakevisor.cli.light import try_light

code = try_light(sys.argv[1:])   # start, kill, delete, state: without the CLI's parser, cold
if code is not None:
    from snakevisor.cli.ending import exit_now
    exit_now(code)

from snakevisor.warm.client import try_warm  # noqa: E402

code = try_warm(sys.argv[1:])   # before the CLI's imports: a warm ``do`` needs none of them
if code is not None:
    sys.exit(code)

from snakevisor.cli.main import main  # noqa: E402
from snakevisor.cli.ending import exit_now  # noqa: E402

exit_now(main(warm=False))
