"""Entry point of ``python -m funnel``."""

import sys

from funnel.ingest.sandbox import prestart_for

if __name__ == "__main__":
    # A workbook is parsed in a child process: it starts while the engine is imported.
    prestart_for(sys.argv[1:])
    from funnel.cli import main

    sys.exit(main())
