"""The one place that talks to DuckDB.

Every SQL text of the engine is built in this package. Identifiers go through
:func:`ident` (real export headers hold quotes, spaces and Japanese); values are always
bound parameters, file paths included. The connection is passed in: one per workspace,
never the module-level ``duckdb.sql`` connection that all sessions would share.

One convention for the modules here (one per feature, named as its measure):

- A **builder** takes no connection and returns :data:`SqlParams`, the statement with the
  values it binds: ``rows(con, *q.overall(where))``. A builder that binds nothing may return
  the bare statement (``str``); one whose statement holds a ``$name`` binds it itself, so a
  caller never supplies a value a builder's text expects.
- A **runner** takes the connection first and runs statements it builds itself, returning
  Python values (``create_*``, ``drop_*``, ``import_previous``, counts of the ingest and link
  steps). Runners hold SQL mechanics only (which tables, in which order); the decisions and
  the arithmetic on what they return live in ``funnel.measures`` / ``funnel.model``, which
  never hold SQL text.
- Executing goes through :func:`run`, :func:`rows`, :func:`records`, :func:`scalar` and
  :func:`frame` (locking, the ``nfkc`` UDF, out-of-memory as a user message).
- A rule that more than one statement states is a function here, written once
  (:func:`reached_stage`, :func:`recorded_mql`, :func:`recorded_sql`).
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import duckdb

from funnel.config import setting
from funnel.errors import TooLargeError

Params = Mapping[str, Any] | Sequence[Any] | None
#: What a builder returns: the statement and the values it binds (``$name`` placeholders).
SqlParams = tuple[str, dict[str, Any]]
T = TypeVar("T")


def ident(name: str) -> str:
    """Quote an identifier for DuckDB: wrap in double quotes, double any inside."""
    if "\x00" in name:
        raise ValueError("identifier contains NUL")
    return '"' + name.replace('"', '""') + '"'


# -- rules that more than one statement states ----------------------------------------------
# The evidence of each funnel stage on one row of ``leads`` (or of a table with its columns,
# under ``alias``). The stage funnel, the funnel per source and the comparison of two loads all
# count with these, so "reached" means the same everywhere.

def recorded_mql(alias: str = "") -> str:
    """The lead has a recorded MQL: an MQL date, or a status at MQL level or beyond."""
    a = f"{alias}." if alias else ""
    return f"({a}mql_at IS NOT NULL OR {a}status_level >= 1)"


def recorded_sql(alias: str = "") -> str:
    """The lead has a recorded SQL: an SQL date, or a status at SQL level or beyond."""
    a = f"{alias}." if alias else ""
    return f"({a}sql_at IS NOT NULL OR {a}status_level >= 2)"


def reached_stage(alias: str = "") -> str:
    """The furthest funnel stage a lead reached: 0 lead, 1 MQL, 2 SQL, 3 商談 (an opportunity),
    4 受注 (a won one). A later stage implies the earlier ones, recorded or not."""
    a = f"{alias}." if alias else ""
    return (f"greatest(CASE WHEN {a}n_won > 0 THEN 4 WHEN {a}n_opps > 0 THEN 3 ELSE 0 END, "
            f"CASE WHEN {recorded_sql(alias)} THEN 2 WHEN {recorded_mql(alias)} THEN 1 ELSE 0 END)")


def nfkc_text(text: str) -> str:
    """Unicode NFKC of one cell: the ``nfkc`` UDF of both engines (here and funnel.sql.spark)."""
    return unicodedata.normalize("NFKC", text)


def connect(threads: int | None = None, memory_limit: str | None = None,
            temp_directory: str | None = None) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB connection for one workspace.

    Threads and memory are capped so that several sessions on one server do not each claim
    the whole machine; replacement scans are off so SQL can only see tables we created.
    What DuckDB spills to disk goes to ``temp_directory`` (the workspace's own folder, deleted
    with it) rather than ``.tmp`` in whatever folder the process runs in. Insertion order is
    only kept where it matters (reading a file, whose row order is the file's): elsewhere rows
    carry their position explicitly.
    """
    config: dict[str, Any] = {
        "threads": threads or setting("duckdb_threads"),
        "memory_limit": memory_limit or setting("duckdb_memory_limit"),
        "python_enable_replacements": False,
        "preserve_insertion_order": False,
        "max_temp_directory_size": setting("duckdb_temp_limit"),
    }
    if temp_directory:
        config["temp_directory"] = temp_directory
    con = duckdb.connect(config=config)
    # A progress bar on stdout would break the CLI's one-JSON-object output.
    con.execute("SET enable_progress_bar = false").fetchall()
    con.execute(_NFKC_STANDIN).fetchall()
    return con


_LOCKS: dict[int, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


def lock_for(con: duckdb.DuckDBPyConnection) -> threading.RLock:
    """The lock serialising statements on one connection.

    Streamlit starts a new script run (a new thread) when a widget changes, while the old
    run may still be inside a query; a connection runs one statement at a time, so the new
    run waits here instead of failing with "connection is busy".
    """
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(id(con), threading.RLock())


def forget_lock(con: duckdb.DuckDBPyConnection) -> None:
    """Forget a closed connection's lock (ids are reused)."""
    with _LOCKS_GUARD:
        _LOCKS.pop(id(con), None)


# Unicode NFKC has no DuckDB built-in, so ``nfkc`` is a Python UDF. Registering one costs
# a tenth of a second (DuckDB imports NumPy for it), and most exports never have a cell that
# needs it: the SQL only calls it on cells with characters NFKC changes and SQL cannot fold.
# So a connection starts with a stand-in macro that fails when a row actually reaches it;
# the statement (rolled back: no statement here runs inside an explicit transaction) is then
# run again with the real UDF. Failing late, not at planning, keeps the saving for statements
# that merely mention it.
_NFKC_NEEDED = "funnel: nfkc UDF needed"
_NFKC_STANDIN = f"CREATE MACRO nfkc(x) AS CASE WHEN x IS NULL THEN NULL ELSE error('{_NFKC_NEEDED}') END"


def _register_nfkc(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DROP MACRO IF EXISTS nfkc").fetchall()
    con.create_function("nfkc", nfkc_text, ["VARCHAR"], "VARCHAR")


def _execute(con: duckdb.DuckDBPyConnection, sql: str, params: Params, take: Callable[[Any], T]) -> T:
    """Execute and ``take`` what is wanted of the result, registering the ``nfkc`` UDF the first
    time a row needs it (see above; a result streams, so the stand-in can fail in ``take``);
    running out of the connection's memory raises :class:`~funnel.errors.TooLargeError`."""
    try:
        try:
            return take(con.execute(sql, params))
        except (duckdb.CatalogException, duckdb.InvalidInputException) as exc:
            # CatalogException: a connection not made by connect() has no stand-in.
            if _NFKC_NEEDED not in str(exc) and "nfkc" not in str(exc).split("\n")[0]:
                raise
            _register_nfkc(con)
            return take(con.execute(sql, params))
    except duckdb.OutOfMemoryException as exc:
        # The workspace's memory cap was reached (what DuckDB cannot spill to disk): a message
        # for the user instead of a traceback; the reader adds the file's name.
        try:
            limit = str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
        except duckdb.Error:
            limit = str(setting("duckdb_memory_limit"))
        raise TooLargeError(key="error.out_of_memory", limit=limit) from exc


def _fetch(result: Any) -> list[tuple[Any, ...]]:
    return result.fetchall()


def _dicts(result: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in result.description]
    return [dict(zip(names, r, strict=True)) for r in result.fetchall()]


def run(con: duckdb.DuckDBPyConnection, sql: str, params: Params = None) -> None:
    """Execute a statement and consume its result (DuckDB 2.0 keeps unfinished results)."""
    with lock_for(con):
        _execute(con, sql, params, _fetch)


def run_ordered(con: duckdb.DuckDBPyConnection, sql: str, params: Params = None) -> None:
    """Run a statement that must keep row order (a file read into ``rowid`` order, a table
    written out and read back): connections run with insertion order off elsewhere."""
    with lock_for(con):
        run(con, "SET preserve_insertion_order = true")
        try:
            run(con, sql, params)
        finally:
            run(con, "SET preserve_insertion_order = false")


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
    """All result rows as tuples."""
    with lock_for(con):
        return _execute(con, sql, params, _fetch)


def records(con: duckdb.DuckDBPyConnection, sql: str, params: Params = None) -> list[dict[str, Any]]:
    """All result rows as dicts keyed by column name."""
    with lock_for(con):
        return _execute(con, sql, params, _dicts)


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Params = None) -> Any:
    """The first column of the first row (None when there is no row)."""
    with lock_for(con):
        found = _execute(con, sql, params, _fetch)
    return found[0][0] if found else None


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: Params = None) -> Any:
    """The result as a pandas DataFrame (imports pandas only when a caller asks for one)."""
    with lock_for(con):
        return _execute(con, sql, params, lambda result: result.df())


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    # The Spark stand-in (funnel.sql.spark) knows its own tables besides DuckDB's.
    found = kinds_of(con, name) if isinstance(con, duckdb.DuckDBPyConnection) else con.kinds_of(name)
    return "TABLE" in found


def copy_tables(con: duckdb.DuckDBPyConnection, tables: Mapping[str, Any]) -> None:
    """Store each Arrow table of ``tables`` in ``con`` under its name (replacing one there): how
    a table read from another connection (last month's) is brought into this one."""
    with lock_for(con):
        for name, table in tables.items():
            view = f"_import_{name}"
            con.register(view, table)
            try:
                run(con, f"CREATE OR REPLACE TABLE {ident(name)} AS SELECT * FROM {ident(view)}")
            finally:
                con.unregister(view)


def drop_table(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop the table or view ``name`` if there is one (DROP TABLE refuses a view and back)."""
    if not isinstance(con, duckdb.DuckDBPyConnection):      # the Spark stand-in (funnel.sql.spark)
        with lock_for(con):
            con.execute(f"DROP TABLE IF EXISTS {ident(name)}")
        return
    for kind in kinds_of(con, name):
        run(con, f"DROP {kind} IF EXISTS {ident(name)}")


def kinds_of(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    """'TABLE' and/or 'VIEW': what ``name`` is in DuckDB's catalogue (nothing: no such name)."""
    return [str(k) for (k,) in rows(
        con, "SELECT 'TABLE' FROM duckdb_tables() WHERE table_name = $n AND NOT temporary "
             "UNION ALL SELECT 'VIEW' FROM duckdb_views() WHERE view_name = $n AND NOT internal", {"n": name})]

