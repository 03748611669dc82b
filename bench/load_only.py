"""Load one export through the engine's reader into a fresh DuckDB (what the app does on upload).
Run as ``python bench/load_only.py FILE``."""

import sys
import tempfile
from pathlib import Path

if __name__ == "__main__":
    from funnel.ingest.sandbox import prestart_for

    prestart_for(sys.argv[1:])      # as ``python -m funnel`` does
    from funnel.ingest.reader import Source, load_file
    from funnel.sql import connect

    with tempfile.TemporaryDirectory() as tmp:
        con = connect(temp_directory=str(Path(tmp) / "duckdb"))
        load_file(con, Source.from_path(sys.argv[1]), "raw_t", Path(tmp))
        con.close()
