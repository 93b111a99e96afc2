"""`python -m silicon`: see silicon.report."""

import sys

from silicon.report import main

sys.exit(main())
