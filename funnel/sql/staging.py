"""SQL that stages each side's data rows into one normalised table per side.

``ma_rows`` and ``sfa_rows`` hold one row per data row of every file on that side (stacked
with ``UNION ALL BY NAME``), with ``_file``/``_row`` pointing back to the raw table, the
canonical fields normalised, and the row's key (NULL: the row has none and is counted in
``rows_without_key``). Each is a view over ``<side>_rows_data``, which stores only the fields
some file fills; the view adds the others as typed NULLs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from funnel.sql import drop_table, ident, rows, run
from funnel.sql import normalize as nz

# Output columns of each side: name → (field it comes from, how it is normalised).
# Kinds: "text" is trimmed with placeholders made NULL (grouping keys users see); "plain" is a
# native trim (display only: names, companies); "raw" is the cell as read (values classified
# in Python from their distinct values, where fold() does the cleaning once per value).
MA_COLUMNS: dict[str, tuple[str, str]] = {
    "email_raw": ("email", "raw"), "emails": ("email", "emails"), "lead_id": ("lead_id", "text"),
    "name": ("name", "plain"), "company": ("company", "plain"), "corporate_number": ("corporate_number", "plain"),
    "source": ("source", "text"),
    "latest_source": ("latest_source", "text"), "created_at": ("created_at", "date"),
    "status": ("status", "raw"), "lifecycle_stage": ("lifecycle_stage", "raw"),
    "mql_at": ("mql_date", "date"), "sql_at": ("sql_date", "date"), "opp_at": ("opp_date", "date"),
    "converted_raw": ("converted", "raw"), "score": ("score", "amount"), "owner": ("owner", "text"),
}
SFA_COLUMNS: dict[str, tuple[str, str]] = {
    "email_raw": ("email", "raw"), "emails": ("email", "emails"), "deal_id": ("deal_id", "text"),
    "deal_name": ("deal_name", "text"), "company": ("company", "text"),
    "corporate_number": ("corporate_number", "plain"), "stage": ("stage", "text"),
    "is_won_raw": ("is_won", "text"), "is_closed_raw": ("is_closed", "text"),
    "won_at": ("won_date", "date"), "amount": ("amount", "amount"), "close_at": ("close_date", "date"),
    "created_at": ("created_at", "date"), "loss_reason": ("loss_reason", "text"),
    "loss_detail": ("loss_reason_detail", "text"), "owner": ("owner", "text"),
    "source": ("source", "text"), "probability": ("probability", "amount"),
}
SIDE_COLUMNS = {"ma": MA_COLUMNS, "sfa": SFA_COLUMNS}
# Columns only pages show (an address as it was typed: the quality and match pages, a lead's
# row). A build for measures alone (``Workspace.build(fields=…)``) does not store them: at 5M
# leads the email is 28 bytes of each MA row stored a third time, and the rows spill to disk.
DISPLAY_COLUMNS = frozenset({"email_raw"})
_NULL_TYPES = {"raw": "VARCHAR", "plain": "VARCHAR", "emails": "VARCHAR[]", "text": "VARCHAR",
               "date": "TIMESTAMP", "amount": "DOUBLE"}


@dataclass(frozen=True)
class FilePlan:
    """How one raw table feeds its side: raw column per field, date order per date field."""

    index: int
    table: str
    columns: Mapping[str, str]          # field → raw column (c0001 …)
    date_orders: Mapping[str, str]      # field → "mdy" | "dmy"
    link_column: str | None = None      # raw column holding the ID-link value
    has_id: bool = False                # the side's record-ID field is mapped in this file
    date_formats: Mapping[str, Sequence[str]] = field(default_factory=dict)   # field → the column's own formats

    def raw_columns(self) -> set[str]:
        """The raw columns staging reads."""
        return set(self.columns.values()) | ({self.link_column} if self.link_column else set())


def _expr(kind: str, col: str | None, order: str | None, fast: Sequence[str] | None = None) -> str:
    if col is None:
        return f"NULL::{_NULL_TYPES[kind]}"
    c = ident(col)
    if kind == "raw":
        return c
    if kind == "plain":
        return f"nullif(trim({c}), '')"
    if kind == "emails":
        return nz.email_list(c)
    if kind == "text":
        return nz.text(c)
    if kind == "date":
        return nz.date_value(c, order or "mdy", fast)
    return nz.amount_value(c)


def filled_columns(side: str, plans: Sequence[FilePlan], *, display: bool = True) -> set[str]:
    """The output columns of ``<side>_rows`` that some file fills (the others are all NULL:
    their field is not mapped, or not asked for, or they are :data:`DISPLAY_COLUMNS` and
    ``display`` is false)."""
    return {out for out, (fname, _) in SIDE_COLUMNS[side].items()
            if any(fname in p.columns for p in plans) and (display or out not in DISPLAY_COLUMNS)}


def null_of(side: str, column: str) -> str:
    """A typed NULL standing for the output column ``column`` of ``<side>_rows``."""
    return f"NULL::{_NULL_TYPES[SIDE_COLUMNS[side][column][1]]}"


def _file_select(side: str, plan: FilePlan, params: dict[str, Any]) -> tuple[str, set[str]]:
    parts = [f"{plan.index}::INTEGER AS _file", "rowid AS _row", f"{str(plan.has_id).upper()} AS _idcol"]
    orders: set[str] = set()
    for out, (fname, kind) in SIDE_COLUMNS[side].items():
        order = plan.date_orders.get(fname) if kind == "date" else None
        fast = None
        if kind == "date" and plan.columns.get(fname):
            orders.add(order or "mdy")
            if plan.date_formats.get(fname):
                fast = [f"df{plan.index}_{fname}_{i}" for i in range(len(plan.date_formats[fname]))]
                params.update(zip(fast, plan.date_formats[fname], strict=True))
        parts.append(f"{_expr(kind, plan.columns.get(fname), order, fast)} AS {ident(out)}")
    link = nz.text(ident(plan.link_column)) if plan.link_column else "NULL::VARCHAR"
    parts.append(f"{link} AS link_raw")
    return f"SELECT {', '.join(parts)} FROM {ident(plan.table)} WHERE _drop IS NULL", orders


# Orderings of a side's rows as one sortable number, computed once per row: "first" is the
# earliest created (undated rows after dated ones; ties and undated rows in file order) and
# "last" its mirror image. The number is created-at seconds, then the file, then the row; it is
# unique per row, so min/max of it also point at the row itself. BIGINT holds it while files
# have under 2^24 rows and there are under 32 of them; beyond that HUGEINT does.
def _order_keys(big: bool) -> tuple[str, str]:
    kind, shift, pos_bits = ("HUGEINT", 1 << 64, 1 << 40) if big else ("BIGINT", 1 << 29, 1 << 24)
    pos = f"(_file::{kind} * {pos_bits} + _row)"
    secs = f"(epoch(created_at)::BIGINT)::{kind} * {shift}"
    undated = f"({(1 << 100) if big else (1 << 62)})::{kind}"
    first = f"CASE WHEN created_at IS NULL THEN {undated} + {pos} ELSE {secs} + {pos} END"
    last = f"CASE WHEN created_at IS NULL THEN {pos} - {undated} ELSE {secs} + {pos} END"
    return first, last


def create_side_rows(con: duckdb.DuckDBPyConnection, side: str, plans: Sequence[FilePlan],
                     key_expr: str, total_rows: int = 0, *, display: bool = True) -> None:
    """Create ``<side>_rows`` from the raw tables of ``plans`` with the row key ``key_expr``
    and the row-order keys ``_kf`` (first) and ``_kl`` (last); ``display=False`` leaves the
    :data:`DISPLAY_COLUMNS` NULL."""
    selects, orders = [], set()
    params: dict[str, Any] = {}
    for plan in plans:
        sql, used = _file_select(side, plan, params)
        selects.append(sql)
        orders |= used
    union = " UNION ALL BY NAME ".join(selects)
    first, last = _order_keys(big=len(plans) >= 32 or total_rows >= (1 << 24))
    # Only the columns some file fills are stored; the view adds the others as typed NULLs
    # (measured: peak RSS at 1M leads 1,129 → 1,047 MB, spill at 5M 2.72 → 2.59 GB).
    filled = filled_columns(side, plans, display=display)
    if any(p.link_column for p in plans):
        filled.add("link_raw")
    names = ["_file", "_row", "_idcol", *SIDE_COLUMNS[side], "link_raw"]
    kept = [c for c in names if c.startswith("_") or c in filled]
    data, view = ident(f"{side}_rows_data"), ident(f"{side}_rows")
    shown = [ident(c) if c in kept else f"{_null_of_column(side, c)} AS {ident(c)}" for c in names]
    drop_table(con, f"{side}_rows")
    sql = (f"CREATE OR REPLACE TABLE {data} AS "
           f"SELECT {', '.join(ident(c) for c in kept)}, {key_expr} AS _key, {first} AS _kf, {last} AS _kl FROM ({union})")
    # DuckDB refuses bound parameters the statement does not use (no text column mapped).
    if orders:
        params.update(nz.date_params(orders))
    if "$placeholders" in sql:
        params.update(nz.text_params())
    run(con, sql, params)
    run(con, f"CREATE VIEW {view} AS SELECT {', '.join(shown)}, _key, _kf, _kl FROM {data}")


def _null_of_column(side: str, column: str) -> str:
    return "NULL::VARCHAR" if column == "link_raw" else null_of(side, column)


def ma_key_expr(identity: str, email_link: bool) -> str:
    """The lead key of an MA row.

    With the email link the key is the first valid address (none: no key). Otherwise the
    identity falls back from email to record ID to the row itself, so every row is a lead.
    """
    email = "CASE WHEN len(emails) > 0 THEN 'e:' || emails[1] END"
    if email_link:
        return email
    parts = [email] if identity == "email" else []
    parts += ["CASE WHEN _idcol THEN 'i:' || lead_id END", "'r:' || _file || ':' || _row"]
    return f"coalesce({', '.join(parts)})"


def sfa_key_expr() -> str:
    """The opportunity key: its deal ID where the row has one, else the row itself.

    A deal without an ID is still a deal (contracts/cli.md): a blank ID on an export whose
    other rows carry IDs keys that row on its own, so it counts in the deals, the win rate and
    the converted leads rather than only in ``rows_without_key``. Row keys carry a prefix that
    no deal ID is given by the tools (``r:file:row``)."""
    return "CASE WHEN _idcol AND deal_id IS NOT NULL THEN deal_id ELSE 'r:' || _file || ':' || _row END"


def distinct_values(con: duckdb.DuckDBPyConnection, table: str, column: str) -> list[Any]:
    return [r[0] for r in rows(con, f"SELECT DISTINCT {ident(column)} FROM {ident(table)} "
                                    f"WHERE {ident(column)} IS NOT NULL")]


def put_lookup(con: duckdb.DuckDBPyConnection, name: str, keys: Sequence[Any],
               values: Mapping[str, tuple[str, Sequence[Any]]]) -> None:
    """Create a small lookup table ``name(k, <value columns>)`` from Python lists."""
    cols = ", ".join(f"{ident(c)} {t}" for c, (t, _) in values.items())
    run(con, f"CREATE OR REPLACE TABLE {ident(name)} (k VARCHAR, {cols})")
    if not keys:
        return
    params: dict[str, Any] = {"k": list(keys)}
    sel = ["unnest($k)"]
    for i, (_c, (t, vals)) in enumerate(values.items()):
        params[f"v{i}"] = list(vals)
        sel.append(f"unnest($v{i})::{t}")
    run(con, f"INSERT INTO {ident(name)} SELECT {', '.join(sel)}", params)


def unkeyed_rows(con: duckdb.DuckDBPyConnection, side: str, limit: int | None = None) -> list[tuple[Any, ...]]:
    """``(_file, _row, email_raw)`` of the rows of a side that have no key."""
    lim = "" if limit is None else f" LIMIT {int(limit)}"
    return rows(con, f"SELECT _file, _row, email_raw FROM {ident(side + '_rows')} "
                     f"WHERE _key IS NULL ORDER BY _file, _row{lim}")
