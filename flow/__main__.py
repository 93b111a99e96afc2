"""Entry point: `python -m flow select|prune|eval|export --help`."""

import sys

from flow.cli import main

sys.exit(main())
