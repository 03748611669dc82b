"""SQL of a saved workspace file: raw tables to Parquet and back, and the cost table.

Parquet is DuckDB's built-in format (no extension to install). Row order matters (a raw
table's ``rowid`` is the row's position in the export, shown in the row accounting), so both
directions run with ``preserve_insertion_order`` on: the file holds the rows in table order
and the restored table gets the same ``rowid`` for each row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import duckdb

from funnel.sql import ident, rows, run, run_ordered


def column_types(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """``(column, DuckDB type)`` of ``table`` in column order."""
    return [(str(r[0]), str(r[1])) for r in rows(
        con, "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = $n "
             "AND schema_name = 'main' AND database_name = current_database() ORDER BY column_index", {"n": table})]


def row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(rows(con, f"SELECT count(*) FROM {ident(table)}")[0][0])


def table_to_parquet(con: duckdb.DuckDBPyConnection, table: str, path: str) -> None:
    """Write every row of ``table`` (in ``rowid`` order) to a zstd-compressed Parquet file."""
    run_ordered(con, f"COPY (SELECT * FROM {ident(table)}) TO $path (FORMAT parquet, COMPRESSION zstd)",
             {"path": path})


def parquet_shape(con: duckdb.DuckDBPyConnection, path: str) -> tuple[int, list[tuple[str, str]], int]:
    """``(rows, columns with their DuckDB types, uncompressed bytes)`` of a Parquet file, from
    its footer alone (no page is decompressed): what a saved file's table must be checked
    against before it is read."""
    found = rows(con, "SELECT coalesce(sum(n), 0), coalesce(sum(b), 0) FROM (SELECT row_group_id, "
                      "any_value(row_group_num_rows) AS n, sum(total_uncompressed_size) AS b "
                      "FROM parquet_metadata($p) GROUP BY row_group_id)", {"p": path})[0]
    columns = [(str(r[0]), str(r[1])) for r in rows(con, "DESCRIBE SELECT * FROM read_parquet($p)", {"p": path})]
    return int(found[0]), columns, int(found[1])


def table_from_parquet(con: duckdb.DuckDBPyConnection, table: str, path: str) -> None:
    """Create ``table`` from a Parquet file, rows in file order (``rowid`` = position)."""
    run(con, f"DROP TABLE IF EXISTS {ident(table)}")
    run_ordered(con, f"CREATE TABLE {ident(table)} AS SELECT * FROM read_parquet($path)", {"path": path})


def rename_table(con: duckdb.DuckDBPyConnection, old: str, new: str) -> None:
    run(con, f"ALTER TABLE {ident(old)} RENAME TO {ident(new)}")


def costs_to_parquet(con: duckdb.DuckDBPyConnection, path: str, months: Sequence[dt.date],
                     sources: Sequence[str], costs: Sequence[float]) -> None:
    """Write the cost rows ``(month, source, cost)`` to a Parquet file."""
    run_ordered(con, "COPY (SELECT unnest($m::DATE[]) AS month, unnest($s::VARCHAR[]) AS source, "
                  "unnest($c::DOUBLE[]) AS cost) TO $path (FORMAT parquet, COMPRESSION zstd)",
             {"path": path, "m": list(months), "s": list(sources), "c": list(costs)})


def costs_from_parquet(con: duckdb.DuckDBPyConnection, path: str) -> list[tuple[dt.date, str, float]]:
    """The cost rows of a Parquet file written by :func:`costs_to_parquet`, in file order."""
    found = rows(con, "SELECT month, source, cost FROM read_parquet($path)", {"path": path})
    return [(r[0], str(r[1]), float(r[2])) for r in found]
