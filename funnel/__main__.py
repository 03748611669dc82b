"""Entry point of ``python -m funnel``."""

import sys

from funnel.cli import main

if __name__ == "__main__":
    sys.exit(main())
