"""Load one export through the engine's reader into a fresh DuckDB (what the app does on upload).
Run as ``python bench/load_only.py FILE``."""

import sys
import tempfile
from pathlib import Path


def load(path: str) -> None:
    """Load ``path`` into a fresh connection, then close it (the engine is imported here, so a
    command line can start the parsing worker first)."""
    from funnel.ingest.reader import Source, load_file
    from funnel.sql import connect

    with tempfile.TemporaryDirectory() as tmp:
        con = connect(temp_directory=str(Path(tmp) / "duckdb"))
        load_file(con, Source.from_path(path), "raw_t", Path(tmp))
        con.close()


if __name__ == "__main__":
    from funnel.ingest.sandbox import prestart_for

    prestart_for(sys.argv[1:])      # as ``python -m funnel`` does
    load(sys.argv[1])
