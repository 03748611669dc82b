"""Parquet exports: one file, or the folder a warehouse hands over.

Spark (and Hive, Databricks, Glue) writes a table as a folder ``x.parquet/`` holding
``part-00000-….snappy.parquet`` files beside ``_SUCCESS`` and ``.part-….crc`` checksums; the
parts, in name order, are the table. DuckDB's built-in ``read_parquet`` reads them (the
Parquet reader is linked into the Python wheel: nothing is downloaded).

Each column becomes the text a CSV export of the same data holds
(:func:`funnel.sql.ingest.parquet_text`), so everything after the raw table is the same as
for a CSV.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

from funnel.config import setting
from funnel.errors import EmptyFileError, TooLargeError, UnreadableFileError
from funnel.ingest.sniff import PARQUET_MAGIC
from funnel.sql import ingest


def is_part(path: Path) -> bool:
    """A data file of a Parquet folder: ``*.parquet`` or ``part-*``, not hidden (``.crc``
    checksums are), not a marker (``_SUCCESS``, ``_metadata``), not a subfolder."""
    name = path.name
    if name.startswith((".", "_")) or name.endswith(".crc"):
        return False
    return (name.endswith(".parquet") or name.startswith("part-")) and path.is_file()


def folder_parts(folder: Path, name: str) -> list[Path]:
    """The data files of the folder ``folder`` (shown as ``name``), sorted by their path in it.

    A partitioned table (``dt=2024-01-05/region=jp/part-….parquet``, as Spark's ``partitionBy``
    and Hive write it) is read through its ``key=value`` subfolders; the reader then adds each
    key as a column, its value taken from the folder name (decoded; Hive's default partition is
    blank). Other subfolders are not part of the table.

    Raises:
        UnreadableFileError: the folder holds no Parquet file, or cannot be listed.
    """
    try:
        found = sorted(_parts(folder), key=lambda p: p.relative_to(folder).parts)
    except OSError as exc:
        raise UnreadableFileError(name, key="error.os", detail=exc.strerror or "") from exc
    if not found:
        raise UnreadableFileError(name, key="error.no_parquet")
    return found


def _parts(folder: Path) -> list[Path]:
    out = []
    for p in folder.iterdir():
        if is_part(p):
            out.append(p)
        elif p.is_dir() and "=" in p.name and not p.name.startswith((".", "_")):
            out.extend(_parts(p))
    return out


def has_magic(path: Path) -> bool:
    """Whether the file starts and ends with ``PAR1`` (a cut-off copy has no footer)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
            fh.seek(0, 2)
            if fh.tell() < 12:
                return False
            fh.seek(-4, 2)
            return head == PARQUET_MAGIC and fh.read(4) == PARQUET_MAGIC
    except OSError:
        return False


def load(con: duckdb.DuckDBPyConnection, table: str, name: str, path: Path | None, data: bytes | None,
         copy: Path) -> tuple[list[str], int]:
    """Read a Parquet export into the raw table ``table``: the bytes ``data`` (an upload, written
    to ``copy`` for DuckDB, which reads Parquet from a file, and deleted after), else the file or
    folder ``path``. Returns the header names and the number of files read.
    """
    if data is not None:
        copy.write_bytes(data)
        files = [(str(copy), name)]
    elif path is not None and path.is_dir():
        files = [(str(p), f"{name}/{p.name}") for p in folder_parts(path, name)]
    else:
        assert path is not None
        files = [(str(path), name)]
    try:
        return read_parquet(con, table, files, name), len(files)
    finally:
        copy.unlink(missing_ok=True)


def read_parquet(con: duckdb.DuckDBPyConnection, table: str, files: Sequence[tuple[str, str]], name: str) -> list[str]:
    """Read the Parquet files ``files`` (``(path, label)``, in order) into the raw table ``table``
    as one table and return the header names of the Parquet schema.

    ``label`` names a file in a message (``x.parquet/part-00001.parquet``), ``name`` the whole
    input. Every footer is read before any page: a damaged part, parts with different columns,
    or more rows or cells than the limits are refused before a row is loaded.

    Raises:
        UnreadableFileError: a damaged or truncated file, or parts with different columns.
        EmptyFileError: a schema without columns.
        TooLargeError: more rows than ``max_rows``, columns than ``max_columns``, or cells than
            ``saved_max_cells`` (a Parquet bomb is a few KB that expand to billions of cells).
    """
    schema: list[tuple[str, str]] | None = None
    for path, label in files:
        if not has_magic(Path(path)):
            raise UnreadableFileError(label, key="error.corrupt_parquet")
        try:
            columns = ingest.parquet_columns(con, path)
        except duckdb.Error as exc:
            raise UnreadableFileError(label, key="error.corrupt_parquet") from exc
        if schema is None:
            schema = columns
        elif columns != schema:
            raise UnreadableFileError(label, key="error.parquet_parts_differ", first=files[0][1])
    if not schema:
        raise EmptyFileError(name, key="error.empty")
    paths = [p for p, _ in files]
    try:
        n_rows = ingest.parquet_rows(con, paths)
    except duckdb.Error as exc:
        raise UnreadableFileError(name, key="error.corrupt_parquet") from exc
    _check_shape(name, n_rows, len(schema))
    header = [n for n, _ in schema]
    try:
        ingest.create_from_parquet(con, table, paths, header, [ingest.parquet_text(t) for _, t in schema],
                                   max_rows=int(setting("max_rows")))
    except duckdb.InterruptException:
        raise       # the workspace is closing (see Workspace.close), not a bad file
    except duckdb.Error as exc:
        # A footer that reads but pages that do not: flipped bytes, a bad codec stream. DuckDB
        # raises its base Error for many of these ("Out of buffer", "TProtocolException");
        # running out of memory is not one (funnel.sql makes that a TooLargeError).
        raise UnreadableFileError(name, key="error.corrupt_parquet") from exc
    if ingest.row_count(con, table) > int(setting("max_rows")):
        raise TooLargeError(name, key="error.too_many_rows", limit=f"{int(setting('max_rows')):,}")
    return header


def _check_shape(name: str, n_rows: int, n_columns: int) -> None:
    max_rows, max_columns = int(setting("max_rows")), int(setting("max_columns"))
    if n_columns > max_columns:
        raise TooLargeError(name, key="error.too_many_columns", columns=f"{n_columns:,}", limit=f"{max_columns:,}")
    if n_rows > max_rows:
        raise TooLargeError(name, key="error.too_many_rows", limit=f"{max_rows:,}")
    cells, limit = n_rows * n_columns, int(setting("saved_max_cells"))
    if cells > limit:
        raise TooLargeError(name, key="error.too_many_cells", cells=f"{cells:,}", limit=f"{limit:,}")
