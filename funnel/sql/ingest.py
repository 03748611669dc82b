"""SQL that turns an export into a raw table: one VARCHAR column per export column.

Raw tables are named by the workspace and their columns are ``c0001``, ``c0002``… in export
order (real header names are kept in Python, where they may hold quotes, newlines, or be
repeated). Each row gets ``_drop``: NULL for data, otherwise why it is not data (blank,
repeated header, total, footer, group header, sub-table continuation). Row order is the
table's ``rowid`` (DuckDB keeps insertion order).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import duckdb

from funnel.sql import ident, rows, run, run_ordered
from funnel.sql.normalize import nfkc_if_needed
from funnel.vocabulary import vocabulary


def raw_column(i: int) -> str:
    """Name of the ``i``-th (0-based) column of a raw table."""
    return f"c{i + 1:04d}"


def _folded(expr: str) -> str:
    """SQL for ``funnel.vocabulary.fold`` of a short text: NFKC, whitespace collapsed, lower-case."""
    return f"lower(trim(regexp_replace({nfkc_if_needed(expr)}, '\\s+', ' ', 'g')))"


def _alternation(patterns: Sequence[Any]) -> str:
    return "|".join(f"(?:{p.pattern})" for p in patterns)


_BLANK_CHARS = " \t\r\n\u3000\u00a0"


def _candidate_pattern(voc: Any) -> str:
    """One case-insensitive regex that every first cell of a layout row matches, raw.

    The layout patterns are written for the folded cell (NFKC, trimmed, whitespace collapsed,
    case-folded); a raw cell may still hold leading/trailing space, tabs, double spaces or
    characters NFKC changes. So: the anchored patterns after optional leading space and with
    optional trailing space, a blank cell, any tab / double space / foldable character, and
    the group patterns. One regex per row is several times cheaper than separate tests.
    """
    def loosen(pattern: str) -> str:
        p = pattern[1:] if pattern.startswith("^") else pattern
        return p[:-1] + "\\s*$" if p.endswith("$") else p

    anchored = "|".join(f"(?:{loosen(p.pattern)})" for p in (*voc.total_patterns, *voc.footer_patterns))
    groups = "|".join(f"(?:{loosen(p.pattern)})" for p in voc.group_patterns)
    foldable = "[\\x{A0}\\x{2000}-\\x{200A}\\x{3000}\\x{FF01}-\\x{FF9F}]"
    return f"(?i)^\\s*(?:{anchored})|^\\s*$|\\t|  |{foldable}|{groups}"


def _filled(col: str) -> str:
    """NULL for an empty or whitespace-only cell (tabs and U+3000 included)."""
    return f"nullif(trim({ident(col)}, '{_BLANK_CHARS}'), '')"


def layout_case(cols: Sequence[str], header: Sequence[str], lead: str | None = None) -> tuple[str, str, dict[str, Any]]:
    """``(case, where, params)``: the ``_drop`` expression for a table with raw columns ``cols``,
    and the condition a row must meet to need it (every other row is data).

    ``header`` holds the header cells as exported (a repeated header repeats those, not the
    cleaned names). ``lead`` is a column holding text left of the table (formatted reports
    start in column B and may put footers in column A); it only feeds the first-cell tests.

    Data rows must cost little: a NULL test, a comparison with the header, and one
    case-insensitive regex on the first filled cell that is a superset of the layout
    patterns (matching them on the raw cell, or finding a character that folding would
    change). Only the rows it lets through get the exact tests on the folded cell. The case
    reads the columns that :func:`classify_rows` computes for those rows: ``_fr`` (the first
    cell, see :func:`first_cell`), ``_f3`` (the first filled of the first three cells),
    ``_fo`` (the first filled cell folded) and ``_n`` (the filled cells of the row, counted
    only where :data:`_NEEDS_COUNT`; NULL elsewhere).
    """
    voc = vocabulary()
    params: dict[str, Any] = {
        "tot": _alternation(voc.total_patterns), "foot": _alternation(voc.footer_patterns),
        "grp": _alternation(voc.group_patterns),
        "cand": _candidate_pattern(voc)}
    # A repeated header repeats the header's cells, perhaps padded: compare exactly, and trim
    # only cells whose length leaves room for padding around the name (few data cells).
    named = _named(cols, header)
    # A blank row has no first cell, so it is a candidate and gets its label below.
    cheap: list[tuple[str, str]] = []
    if named:
        same = [f"({ident(c)} = $h{i} OR (length({ident(c)}) > {len(h)} AND length({ident(c)}) <= {len(h) + 16} "
                f"AND trim({ident(c)}) = $h{i}))" for i, (c, h) in enumerate(named)]
        cheap.append((" AND ".join(same), "repeated_header"))
        params.update({f"h{i}": h for i, (_, h) in enumerate(named)})
    if header and header[0].strip() == "レコードの開始行":
        # kintone sub-table export: only the row marked "*" starts a record (export_formats §6).
        cheap.append((f"coalesce(trim({ident(cols[0])}), '') <> '*'", "subtable_row"))
    candidate = "(_fr IS NULL OR regexp_matches(_fr, $cand))"
    # A blank row has no filled cell among its first three.
    blank = "_f3 IS NULL AND _n = 0"
    exact = [(f"{blank} AND {_filled(lead)} IS NULL" if lead else blank, "blank"),
             ("regexp_matches(_fo, $tot)", "total"),
             # A footer line fills a cell or two; a data row that merely starts with a footer
             # word ("レポート作成ツール導入") is data.
             ("regexp_matches(_fo, $foot) AND _n <= 2", "footer"),
             ("regexp_matches(_fo, $grp) AND _n <= 1", "group_header"),
             (blank, "blank")]
    whens = " ".join(f"WHEN {c} THEN '{label}'" for c, label in cheap)
    exact_whens = " ".join(f"WHEN {c} THEN '{label}'" for c, label in exact)
    case = f"CASE {whens} WHEN NOT {candidate} THEN NULL {exact_whens} ELSE NULL END"
    where = " OR ".join([f"({c})" for c, _ in cheap] + [candidate])
    return case, where, params


# The rows whose filled cells layout_case counts (``_n``): the blank tests and the footer and
# group-header tests are the only ones that read it.
_NEEDS_COUNT = "_f3 IS NULL OR regexp_matches(_fo, $foot) OR regexp_matches(_fo, $grp)"


def _named(cols: Sequence[str], header: Sequence[str]) -> list[tuple[str, str]]:
    """The first three columns with a header name, and the name (a repeated header's test)."""
    return [(c, h.strip()) for c, h in zip(cols, header, strict=False) if h and h.strip()][:3]


def classify_rows(con: duckdb.DuckDBPyConnection, table: str, cols: Sequence[str], header: Sequence[str],
                  lead: str | None = None) -> None:
    """Set ``_drop`` on the rows of ``table`` that are not data.

    Data rows cost one pass of cheap tests over the first few columns (see
    :func:`layout_case`); only the rows they let through are folded, and only those that might
    be blank, a footer or a group header have every cell read (a wide export's table is mostly
    columns these tests never need: reading them for every candidate took 0.8 of 0.9 s at 1M
    rows × 48 columns). Only the rows found are updated, so the big table is not rewritten.
    """
    case, where, params = layout_case(cols, header, lead)
    t = ident(table)
    # The columns the cheap tests and the first cell read (the kintone test reads the first).
    narrow = dict.fromkeys([*cols[:3], *(c for c, _ in _named(cols, header)), *([lead] if lead else [])])
    first3 = f"coalesce({', '.join(_filled(c) for c in cols[:3])})" if cols else "NULL::VARCHAR"
    first = f"coalesce(_f3, {_filled(lead)})" if lead else "_f3"
    # Flat expressions only, and none written out per column: a chain "a + b + …" nests one
    # level per column (DuckDB refuses more than 1,000), and a trim per column costs DuckDB
    # about a millisecond each to plan, seconds for a 2,000-column HubSpot export. The cells
    # go into one list with one lambda.
    count = f"len(list_filter([{', '.join(ident(c) for c in cols)}], lambda x: trim(x, '{_BLANK_CHARS}') <> ''))"
    # One projection per step: the fold writes its argument out several times, and DuckDB
    # would evaluate a written-out coalesce of trims each time (0.39 → 0.24 s on a million
    # rows whose first cell ends in an ideographic space). The candidates (c) are read twice,
    # for the rows to count and for the case: materialised, they are found once.
    found = rows(con, f"""
        WITH c AS MATERIALIZED (
            SELECT *, {_folded('_ff')} AS _fo FROM (SELECT *, {first} AS _ff FROM (SELECT *, {first3} AS _f3 FROM (
                SELECT {', '.join(['rowid AS rid', *(ident(c) for c in narrow), f'{first_cell(cols, lead)} AS _fr'])}
                FROM {t}) WHERE {where}))),
        n AS (SELECT rowid AS rid, {count if cols else '0'} AS _n FROM {t}
              WHERE rowid IN (SELECT rid FROM c WHERE {_NEEDS_COUNT})),
        r AS (SELECT rid, {case} AS reason FROM c LEFT JOIN n USING (rid))
        SELECT rid, reason FROM r WHERE reason IS NOT NULL""", params)
    # Most exports have a handful of such rows, often none: update just those (an UPDATE
    # joined against the whole table costs a full pass).
    if found:
        run(con, f"UPDATE {t} SET _drop = m.reason FROM (SELECT unnest($ids) AS rid, unnest($reasons) AS reason) m "
                 f"WHERE {t}.rowid = m.rid", {"ids": [r[0] for r in found], "reasons": [r[1] for r in found]})


def first_cell(cols: Sequence[str], lead: str | None = None) -> str:
    """The first non-empty of a row's first three cells (or the text left of the table)."""
    cells = [f"nullif({ident(c)}, '')" for c in cols[:3]] + ([f"nullif({ident(lead)}, '')"] if lead else [])
    return f"coalesce({', '.join(cells)})"


def create_from_csv(con: duckdb.DuckDBPyConnection, table: str, path: str, *, width: int,
                    first_column: int, header: Sequence[str], skip: int, delimiter: str,
                    max_line_bytes: int, max_rows: int | None = None) -> None:
    """Read a UTF-8 CSV into ``table`` (rows with a wrong field count go to ``<table>_rej``).

    ``header`` are the header cells as exported, for recognising repeated headers. With
    ``max_rows``, reading stops after ``max_rows + 1`` rows (the scan ends there), so the
    caller can refuse a file over the limit without reading it all. The LIMIT keeps DuckDB's
    reader on one thread, so a caller that knows the file cannot hold that many rows passes
    None. Likewise a ``max_line_bytes`` far above the file's lines makes DuckDB's buffers so
    large that a 120 MB file is read by one thread.
    """
    all_cols = [raw_column(i) for i in range(width)]
    keep = all_cols[first_column:]
    lead = "_lead" if first_column else None
    # Columns left of the table (a formatted report starts in column B) are not kept as data;
    # the kept ones are renamed so that raw column i always carries header name i. Text left
    # of the table (a footer in column A) is kept in _lead, only to classify rows.
    select = [f"{ident(c)} AS {ident(raw_column(i))}" for i, c in enumerate(keep)]
    if lead:
        select.append(f"{ident(all_cols[0])} AS {ident(lead)}")
    params: dict[str, Any] = {
        "path": path, "skip": skip, "delim": delimiter, "maxline": max_line_bytes,
        "cols": {c: "VARCHAR" for c in all_cols}, "rt": f"{table}_rej", "rs": f"{table}_scan",
    }
    limit = _fresh_table(con, table, params, max_rows)
    run_ordered(con, f"""
        CREATE OR REPLACE TABLE {ident(table)} AS
        SELECT {', '.join(select)}, NULL::VARCHAR AS _drop
        FROM read_csv($path, auto_detect = false, header = false, skip = $skip, delim = $delim,
                      quote = '"', escape = '"', strict_mode = true, columns = $cols,
                      max_line_size = $maxline, store_rejects = true,
                      rejects_table = $rt, rejects_scan = $rs){limit}""", params)
    classify_rows(con, table, [raw_column(i) for i in range(len(keep))], header, lead)
    if lead:
        run(con, f"ALTER TABLE {ident(table)} DROP COLUMN {ident(lead)}")


def create_from_relation(con: duckdb.DuckDBPyConnection, table: str, view: str,
                         header: Sequence[str], lead: str | None = None,
                         exprs: Sequence[str] | None = None) -> None:
    """Copy a registered view (Excel, HTML) into ``table`` as text columns with ``_drop``.

    ``exprs`` (one per column, lead last) turn typed columns into text; by default the view's
    columns are already text.
    """
    cols = [raw_column(i) for i in range(len(header))]
    names = cols + ([lead] if lead else [])
    exprs = list(exprs) if exprs is not None else [ident(c) for c in names]
    for suffix in ("_rej", "_scan", "_lines"):
        run(con, f"DROP TABLE IF EXISTS {ident(table + suffix)}")
    select = ", ".join(f"{e} AS {ident(n)}" for e, n in zip(exprs, names, strict=True))
    run_ordered(con, f"CREATE OR REPLACE TABLE {ident(table)} AS "
                  f"SELECT {select}, NULL::VARCHAR AS _drop FROM {ident(view)}", {})
    classify_rows(con, table, cols, header, lead)
    if lead:
        run(con, f"ALTER TABLE {ident(table)} DROP COLUMN {ident(lead)}")


def has_encoding_errors(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """True when DuckDB rejected a line of the CSV as invalid UTF-8."""
    return _has_reject(con, table, "INVALID ENCODING")


def has_long_lines(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """True when DuckDB rejected a line of the CSV as longer than the read's ``max_line_size``."""
    return _has_reject(con, table, "LINE SIZE OVER MAXIMUM")


def _has_reject(con: duckdb.DuckDBPyConnection, table: str, error_type: str) -> bool:
    rej = f"{table}_rej"
    if not rows(con, "SELECT 1 FROM duckdb_tables() WHERE table_name = $n", {"n": rej}):
        return False
    return bool(rows(con, f"SELECT 1 FROM {ident(rej)} WHERE error_type = $e LIMIT 1", {"e": error_type}))


def rejected_lines(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[int, str, str]]:
    """``(line, error type, text)`` of each CSV line DuckDB could not fit to the columns."""
    rej = f"{table}_rej"
    if not rows(con, "SELECT 1 FROM duckdb_tables() WHERE table_name = $n", {"n": rej}):
        return []
    return [(int(r[0]), str(r[1]), r[2] or "") for r in rows(
        con, f"SELECT line, min(error_type), any_value(csv_line) FROM {ident(rej)} "
             "GROUP BY line ORDER BY line")]


def _by_rowid(con: duckdb.DuckDBPyConnection, table: str, cols: Sequence[str], ids: str,
              params: dict[str, Any], extra: str = "") -> list[tuple[Any, ...]]:
    """``(rowid, {extra,} cells…)`` of the rows whose rowid the query ``ids`` selects, in table order.

    The few row ids are chosen first and the cells fetched for them alone, then put in order
    here: an ORDER BY or a window over every column of a 2,000-column export needs buffers per
    column and thread that fill the session's memory cap, for a handful of rows.
    """
    cells = ", ".join([*([extra] if extra else []), *(ident(c) for c in cols)])
    t = ident(table)
    found = rows(con, f"SELECT rowid, {cells} FROM {t} WHERE rowid IN ({ids})", params)
    return sorted(found, key=lambda r: r[0])


def row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(rows(con, f"SELECT count(*) FROM {ident(table)}")[0][0])


def tail_rows(con: duckdb.DuckDBPyConnection, table: str, cols: Sequence[str],
              n: int) -> list[tuple[Any, ...]]:
    """The last ``n`` rows as ``(rowid, _drop, cells…)`` in table order."""
    t = ident(table)
    return _by_rowid(con, table, cols, f"SELECT rowid FROM {t} WHERE rowid >= (SELECT max(rowid) FROM {t}) - $n",
                     {"n": n}, "_drop")


def mark_rows(con: duckdb.DuckDBPyConnection, table: str, reasons: dict[int, str]) -> None:
    """Set ``_drop`` of the given rows (a handful at the end of a table)."""
    for rowid, reason in reasons.items():
        run(con, f"UPDATE {ident(table)} SET _drop = $r WHERE rowid = $id", {"r": reason, "id": rowid})


def drop_counts(con: duckdb.DuckDBPyConnection, table: str) -> dict[str | None, int]:
    """Rows per ``_drop`` value (None = data rows), in the order each reason first occurs in the
    file: an unordered GROUP BY came back in a different order from run to run (2 threads), and
    the load report lists the reasons in this order."""
    return {r[0]: int(r[1]) for r in rows(
        con, f"SELECT _drop, count(*) FROM {ident(table)} GROUP BY _drop ORDER BY min(rowid)")}


def column_profiles(con: duckdb.DuckDBPyConnection, table: str, cols: Sequence[str],
                    sample: int) -> tuple[list[int], list[tuple[Any, ...]]]:
    """Non-empty counts of every column over the data rows, and the first ``sample`` rows."""
    # Whitespace-only cells are rare enough not to pay a trim on every cell of every column;
    # count_if plans ten times faster than count(nullif(…)) (1 s for a 2,000-column export).
    counts = f"SELECT {', '.join(f'count_if({ident(c)} <> {chr(39)}{chr(39)})' for c in cols)} " \
             f"FROM {ident(table)} WHERE _drop IS NULL"
    non_empty = [int(x or 0) for x in rows(con, counts)[0]]     # count_if of no rows is NULL
    head = [r[1:] for r in _by_rowid(con, table, cols, f"SELECT rowid FROM {ident(table)} WHERE _drop IS NULL "
                                                          "ORDER BY rowid LIMIT $n", {"n": sample})]
    return non_empty, head


def store_rejects(con: duckdb.DuckDBPyConnection, table: str,
                  lines: Sequence[tuple[int, str, str, str]]) -> None:
    """Keep the classified rejected lines as ``<table>_lines`` (line, reason, error, text)."""
    name = ident(f"{table}_lines")
    run(con, f"CREATE OR REPLACE TABLE {name} (line BIGINT, reason VARCHAR, error VARCHAR, text VARCHAR)")
    con.executemany(f"INSERT INTO {name} VALUES (?, ?, ?, ?)", [list(x) for x in lines])
    run(con, f"DROP TABLE IF EXISTS {ident(table + '_rej')}")
    run(con, f"DROP TABLE IF EXISTS {ident(table + '_scan')}")


def keep_columns(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str], kept: Collection[str]) -> None:
    """Drop the raw ``columns`` of ``table`` not in ``kept`` (``_drop`` and the row ids stay: a
    dropped column leaves the other columns' storage, and so each row's ``rowid``, as it was)."""
    for c in columns:
        if c not in kept:
            run(con, f"ALTER TABLE {ident(table)} DROP COLUMN {ident(c)}")


def drop_beside(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Drop the tables a CSV read creates beside ``table``: DuckDB's rejects tables (temporary,
    so :func:`funnel.sql.drop_table` does not see them) and the kept rejected lines."""
    for suffix in ("_rej", "_scan", "_lines"):
        run(con, f"DROP TABLE IF EXISTS {ident(table + suffix)}")


def dropped_rows(con: duckdb.DuckDBPyConnection, table: str, cols: Sequence[str],
                 limit: int | None = None) -> list[tuple[Any, ...]]:
    """Every row of a load that is not data: ``(where, reason, text)`` in file order.

    ``where`` is ``row N`` (N-th row after the header) for rows of the raw table and the
    physical line number for CSV lines that did not fit the columns.
    """
    cells = f"concat_ws(' | ', {', '.join(f'coalesce({ident(c)}, {chr(39)}{chr(39)})' for c in cols)})" if cols else "''"
    parts = [f"SELECT 0 AS src, rowid + 1 AS pos, _drop AS reason, {cells} AS text "
             f"FROM {ident(table)} WHERE _drop IS NOT NULL"]
    if rows(con, "SELECT 1 FROM duckdb_tables() WHERE table_name = $n", {"n": f"{table}_lines"}):
        parts.append(f"SELECT 1, line, reason, text FROM {ident(table + '_lines')}")
    lim = "" if limit is None else f" LIMIT {int(limit)}"
    return rows(con, " UNION ALL ".join(parts) + f" ORDER BY src, pos{lim}")


def head_rows(con: duckdb.DuckDBPyConnection, table: str, cols: Sequence[str], limit: int) -> list[tuple[Any, ...]]:
    """The first ``limit`` data rows of a raw table, in file order."""
    return [r[1:] for r in _by_rowid(con, table, cols, f"SELECT rowid FROM {ident(table)} WHERE _drop IS NULL "
                                                       "ORDER BY rowid LIMIT $n", {"n": limit})]


# -- Parquet ------------------------------------------------------------------------------------
# A typed Parquet column becomes the text a CSV export of the same data holds, so that the
# engine parses both alike (``analyze --json`` is the same for either): numbers without a
# spurious ".0", timestamps as 'YYYY-MM-DD HH:MM:SS' (a fraction only when there is one),
# booleans as true/false, an empty string as an empty cell (NULL, as read_csv gives).
# NaN is how pandas marks a missing number; to_csv writes it as an empty cell.
_FLOATING = "CASE WHEN isnan({c}) THEN NULL WHEN {c} = trunc({c}) AND abs({c}) < 1e15 " \
            "THEN CAST(CAST({c} AS BIGINT) AS VARCHAR) ELSE CAST({c} AS VARCHAR) END"
_PARQUET_TEXT: dict[str, str] = {
    "VARCHAR": "nullif({c}, '')",
    "BOOLEAN": "CAST({c} AS VARCHAR)",     # true / false
    "DOUBLE": _FLOATING,
    "FLOAT": _FLOATING,
    "DATE": "CAST({c} AS VARCHAR)",
    # An instant is written as UTC wall-clock time, whatever the server's time zone.
    "TIMESTAMP WITH TIME ZONE": "CAST(({c} AT TIME ZONE 'UTC') AS VARCHAR)",
    # Strings of old Hive/Impala writers carry no UTF-8 annotation and arrive as BLOB.
    "BLOB": "nullif(coalesce(try(decode({c})), CAST({c} AS VARCHAR)), '')",
}


def parquet_text(duckdb_type: str) -> str:
    """SQL (``{c}`` for the column) turning a Parquet column of ``duckdb_type`` into export text.

    TIMESTAMP (any precision) already casts as 'YYYY-MM-DD HH:MM:SS' with a fraction only when
    it is not zero; integers, TIME, LIST, STRUCT and MAP take DuckDB's text form.
    """
    if duckdb_type in _PARQUET_TEXT:
        return _PARQUET_TEXT[duckdb_type]
    if duckdb_type.startswith("DECIMAL"):
        # Exact: an integral value of any size loses its zero fraction ('5.00' → '5').
        return "CASE WHEN {c} = trunc({c}) THEN CAST(CAST({c} AS HUGEINT) AS VARCHAR) ELSE CAST({c} AS VARCHAR) END"
    return "CAST({c} AS VARCHAR)"


# A partitioned folder's key=value path segments become text columns, exactly as written
# (DuckDB would otherwise guess 0012 to be the number 12).
_HIVE = ", hive_types_autocast = false"


def parquet_columns(con: duckdb.DuckDBPyConnection, path: str) -> list[tuple[str, str]]:
    """``(name, DuckDB type)`` of each column of one Parquet file, from its footer alone."""
    return [(str(r[0]), str(r[1])) for r in rows(con, f"DESCRIBE SELECT * FROM read_parquet($p{_HIVE})", {"p": path})]


def parquet_rows(con: duckdb.DuckDBPyConnection, paths: Sequence[str]) -> int:
    """Rows of the Parquet files ``paths`` together, from their footers (no page is read)."""
    return int(rows(con, "SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata($p)", {"p": list(paths)})[0][0])


def _fresh_table(con: duckdb.DuckDBPyConnection, table: str, params: dict[str, Any], max_rows: int | None) -> str:
    """Drop what an earlier read of ``table`` left beside it; returns the LIMIT clause that reads
    one row past ``max_rows`` (binding it in ``params``), so a file over the limit is noticed."""
    for suffix in ("_rej", "_scan", "_lines"):
        run(con, f"DROP TABLE IF EXISTS {ident(table + suffix)}")
    if max_rows is None:
        return ""
    params["maxrows"] = int(max_rows) + 1
    return " LIMIT $maxrows"


def create_from_parquet(con: duckdb.DuckDBPyConnection, table: str, paths: Sequence[str],
                        header: Sequence[str], exprs: Sequence[str], max_rows: int | None = None) -> None:
    """Read the Parquet files ``paths`` (one schema) into ``table`` as one table, in the order
    given and each in its row order, as text columns ``c0001``… with ``_drop``.

    ``exprs`` (one per column, see :func:`parquet_text`) turn typed columns into text. The
    columns are taken by position (a Parquet name may be anything, or repeated).
    """
    cols = [raw_column(i) for i in range(len(header))]
    select = ", ".join(f"{e.format(c=ident(n))} AS {ident(n)}" for e, n in zip(exprs, cols, strict=True))
    params: dict[str, Any] = {"paths": list(paths)}
    limit = _fresh_table(con, table, params, max_rows)
    run_ordered(con, f"CREATE OR REPLACE TABLE {ident(table)} AS "
                     f"SELECT {select}, NULL::VARCHAR AS _drop "
                     f"FROM read_parquet($paths{_HIVE}) AS p({', '.join(ident(c) for c in cols)}){limit}", params)
    classify_rows(con, table, cols, header)
