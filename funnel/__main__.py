"""Entry point of ``python -m funnel``."""

import sys

from funnel.cli import main

sys.exit(main())
