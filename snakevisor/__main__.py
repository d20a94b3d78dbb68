import sys

from snakevisor.cli.main import main

sys.exit(main())
