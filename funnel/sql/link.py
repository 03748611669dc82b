"""SQL that merges rows into leads and opportunities and links them.

Tables (all per workspace connection):

- ``leads``: one row per lead key: first/last-touch source, dates, furthest status, owner…
- ``opps``: one row per opportunity key (deals repeated per contact collapse), with outcome
  and loss-reason category.
- ``lead_values`` / ``opp_values``: the link values (addresses or IDs) of each key.
- ``links``: distinct (lead key, opportunity key) pairs sharing a value.
"""

from __future__ import annotations

from collections.abc import Collection

import duckdb

from funnel.sql import drop_table, ident, rows, run, scalar
from funnel.sql.staging import null_of

# The lead columns only pages show (a lead's row in the lists and the account report): the
# first row's fields as written. A build for measures alone writes them NULL (the address as
# typed is not in its rows at all: staging.DISPLAY_COLUMNS, so ``filled`` leaves it out).
_DISPLAY = frozenset({"owner", "company", "name"})


def create_leads(con: duckdb.DuckDBPyConnection, *, status: bool, lifecycle: bool, converted: bool,
                 filled: Collection[str] | None = None, display: bool = True) -> None:
    """``leads`` from ``ma_rows``, the lookups ``status_levels``/``flags``, and the links.

    A lead's attributes come from its first row (its last row for the last-touch source):
    the row keys ``_kf``/``_kl`` are unique, so one aggregate finds the row and a join fetches
    it, which is much cheaper than an arg_min per attribute. Built after ``links`` so that
    each lead's opportunity counts are written with it (the largest table is written once).
    Lookups are joined only for the fields that are mapped. ``filled`` names the columns of
    ``ma_rows`` that hold data (:func:`funnel.sql.staging.filled_columns`; None: all): the
    others are NULL in every row, so they are written as NULL rather than aggregated or
    fetched (a narrow build for ``analyze`` skips most of the work). ``display=False`` writes
    the columns only pages show (the first row's owner, company and name) as NULL.
    """
    def has(col: str) -> bool:
        return (filled is None or col in filled) and (display or col not in _DISPLAY)

    # Aggregates of filled columns only: the CTE is materialised (read twice), and a column of
    # constants stored there still costs memory for every lead (the outer SELECT writes them).
    aggs: dict[str, str] = {}

    def agg(fn: str, col: str) -> None:
        if has(col):
            aggs[col] = f"{fn}(r.{col})"

    def of_agg(col: str, default: str | None = None) -> str:
        return f"a.{col}" if col in aggs else default or null_of("ma", col)

    def first(col: str) -> str:
        return f"f.{col}" if has(col) else null_of("ma", col)

    joins, levels = [], ["0"]
    if status and has("status"):
        joins.append("LEFT JOIN status_levels s ON s.k = r.status")
        levels.append("coalesce(s.level, 0)")
    if lifecycle and has("lifecycle_stage"):
        joins.append("LEFT JOIN status_levels l ON l.k = r.lifecycle_stage")
        levels.append("coalesce(l.level, 0)")
    converted = converted and has("converted_raw")
    if converted:
        joins.append("LEFT JOIN flags f ON f.k = r.converted_raw")
    for fn, col in (("min", "created_at"), ("min", "mql_at"), ("min", "sql_at"), ("min", "opp_at"), ("max", "score")):
        agg(fn, col)
    if len(levels) > 1:
        aggs["status_level"] = f"max(greatest({', '.join(levels)}))"
    if converted:
        aggs["converted_flag"] = "bool_or(coalesce(f.flag, false))"
    extra = "".join(f"{e} AS {c}, " for c, e in aggs.items())
    latest = ("CASE WHEN a.rows = 1 THEN f.latest_source ELSE l.latest_source END" if has("latest_source")
              else null_of("ma", "latest_source"))
    last_cols = ", r.latest_source" if has("latest_source") else ""
    run(con, f"""
        CREATE OR REPLACE TABLE leads AS
        WITH agg AS (
            SELECT r._key AS lead_key, min(r._kf) AS kf, max(r._kl) AS kl, {extra}count(*) AS rows
            FROM ma_rows r {' '.join(joins)}
            WHERE r._key IS NOT NULL
            GROUP BY r._key),
        counts AS (
            SELECT k.lead_key, count(*) AS n,
                   count(*) FILTER (WHERE o.outcome = 'won') AS won,
                   count(*) FILTER (WHERE o.outcome = 'lost') AS lost
            FROM links k JOIN opps o USING (opp_key) GROUP BY k.lead_key)
        SELECT a.lead_key, f.source AS source_first,
               CASE WHEN a.rows = 1 THEN f.source ELSE l.source END AS source_last,
               {latest} AS latest_source,
               {of_agg("created_at")} AS created_at, {of_agg("mql_at")} AS mql_at,
               {of_agg("sql_at")} AS sql_at, {of_agg("opp_at")} AS opp_at,
               {of_agg("status_level", "0")} AS status_level,
               {of_agg("converted_flag", "false")} AS converted_flag, {of_agg("score")} AS score,
               {first("owner")} AS owner, {first("company")} AS company, {first("name")} AS name,
               {first("email_raw")} AS email_raw, {{'f': f._file, 'r': f._row}} AS first_row, a.rows,
               coalesce(c.n, 0) AS n_opps, coalesce(c.won, 0) AS n_won, coalesce(c.lost, 0) AS n_lost
        FROM agg a
        JOIN ma_rows f ON f._kf = a.kf
        -- A lead of one row is its own last row: only leads of several rows look it up.
        LEFT JOIN (SELECT m.kl, r.source{last_cols} FROM agg m JOIN ma_rows r ON r._kl = m.kl
                   WHERE m.rows > 1) l ON l.kl = a.kl
        LEFT JOIN counts c USING (lead_key)""")


def create_opps_base(con: duckdb.DuckDBPyConnection) -> None:
    """``opps_base`` from ``sfa_rows``: one row per opportunity key, the last row of each key
    winning (a later monthly export); :func:`finish_opps` turns it into ``opps``."""
    run(con, """
        CREATE OR REPLACE TABLE opps_base AS
        SELECT _key AS opp_key,
               arg_max_null(deal_id, _pos) AS deal_id,
               arg_max_null(deal_name, _pos) AS deal_name,
               arg_max_null(company, _pos) AS company,
               arg_max_null(stage, _pos) AS stage,
               arg_max_null(is_won_raw, _pos) AS is_won_raw,
               arg_max_null(is_closed_raw, _pos) AS is_closed_raw,
               max(won_at) AS won_at,
               arg_max_null(amount, _pos) AS amount,
               arg_max_null(close_at, _pos) AS close_at,
               min(created_at) AS created_at,
               arg_max_null(loss_reason, _pos) AS loss_reason,
               arg_max_null(loss_detail, _pos) AS loss_detail,
               arg_max_null(owner, _pos) AS owner,
               arg_max_null(source, _pos) AS source,
               arg_max_null(probability, _pos) AS probability,
               arg_max_null(email_raw, _pos) AS email_raw,
               min({'f': _file, 'r': _row}) AS first_row,
               count(*) AS rows
        -- The last row wins: its position in file order as one BIGINT (cheaper than a struct).
        FROM (SELECT *, _file::BIGINT * 4294967296 + _row AS _pos FROM sfa_rows WHERE _key IS NOT NULL)
        GROUP BY _key""")


# The loss category and matched keyword of an opportunity ``o`` joined with ``loss_lookup ll``:
# written when ``opps`` is made and again when other loss rules are applied (add_loss_categories).
_LOSS_COLUMNS = """CASE WHEN o.outcome <> 'lost' THEN NULL
                    WHEN o.loss_reason IS NULL THEN 'blank'
                    ELSE coalesce(ll.category, 'other') END AS loss_category,
               CASE WHEN o.outcome = 'lost' THEN ll.keyword END AS loss_keyword"""


def finish_opps(con: duckdb.DuckDBPyConnection, *, has_is_won: bool, has_is_closed: bool,
                has_won_date: bool) -> None:
    """``opps`` from ``opps_base`` (which it drops): outcome, loss category and lead count.

    Needs the lookups ``stage_outcomes``/``flags``, ``loss_lookup`` over
    :func:`base_loss_reasons`, and ``links``: all three columns are added in the one statement
    that writes ``opps`` (each rewrite of the table is a full pass).
    """
    # A mapped flag column that is blank means "no" (Salesforce API exports write IsWon as
    # "1" or nothing); an unrecognisable value is NULL and the stage decides.
    won_flag = "(CASE WHEN o.is_won_raw IS NULL THEN false ELSE wf.flag END)" if has_is_won else "NULL::BOOLEAN"
    closed_flag = ("(CASE WHEN o.is_closed_raw IS NULL THEN false ELSE cf.flag END)" if has_is_closed
                   else "NULL::BOOLEAN")
    won_date = "o.won_at IS NOT NULL" if has_won_date else "false"
    run(con, f"""
        CREATE OR REPLACE TABLE opps AS
        SELECT o.*, {_LOSS_COLUMNS}, coalesce(c.n, 0) AS n_leads
        FROM (SELECT o.*,
                     CASE WHEN {won_flag} THEN 'won'
                          WHEN {won_flag} IS NULL AND ({won_date} OR coalesce(so.outcome, 'open') = 'won') THEN 'won'
                          WHEN {closed_flag} THEN 'lost'
                          WHEN {closed_flag} IS NULL AND coalesce(so.outcome, 'open') = 'lost' THEN 'lost'
                          ELSE 'open' END AS outcome
              FROM opps_base o
              LEFT JOIN stage_outcomes so ON so.k = o.stage
              LEFT JOIN flags wf ON wf.k = o.is_won_raw
              LEFT JOIN flags cf ON cf.k = o.is_closed_raw) o
        LEFT JOIN loss_lookup ll ON ll.k = o.loss_reason
        LEFT JOIN (SELECT opp_key, count(*) AS n FROM links GROUP BY opp_key) c USING (opp_key)""")
    run(con, "DROP TABLE opps_base")


def base_loss_reasons(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Distinct loss-reason texts of ``opps_base``, whatever the outcome (a superset of the
    lost ones: the outcome is only known in the statement that uses the lookup)."""
    return [r[0] for r in rows(con, "SELECT DISTINCT loss_reason FROM opps_base WHERE loss_reason IS NOT NULL")]


def add_loss_categories(con: duckdb.DuckDBPyConnection) -> None:
    """Add ``loss_category``/``loss_keyword`` to ``opps`` from the ``loss_lookup`` table."""
    run(con, f"""
        CREATE OR REPLACE TABLE opps AS
        SELECT o.* EXCLUDE (loss_category, loss_keyword), {_LOSS_COLUMNS}
        FROM (SELECT *, NULL::VARCHAR AS loss_category, NULL::VARCHAR AS loss_keyword FROM opps) o
        LEFT JOIN loss_lookup ll ON ll.k = o.loss_reason""")


def create_link_values(con: duckdb.DuckDBPyConnection, kind: str, salesforce_15: bool) -> None:
    """``lead_values``/``opp_values``: each key's addresses (email link) or ID values."""
    if kind == "email":
        # A view: read once, by the join into links (which is DISTINCT); a million-row
        # export need not be copied again.
        drop_table(con, "lead_values")
        run(con, "CREATE OR REPLACE VIEW lead_values AS SELECT _key AS lead_key, unnest(emails) AS v "
                 "FROM ma_rows WHERE _key IS NOT NULL")
        run(con, "CREATE OR REPLACE TABLE opp_values AS SELECT DISTINCT _key AS opp_key, unnest(emails) AS v "
                 "FROM sfa_rows WHERE _key IS NOT NULL")
        return
    # Several IDs in one cell (HubSpot "Associated Deal IDs" = "123;456") are each a link.
    # Salesforce 18-character IDs are the 15-character ID plus a checksum: compare 15.
    value = "left(trim(x), 15)" if salesforce_15 else "trim(x)"
    for table, key, src in (("lead_values", "lead_key", "ma_rows"), ("opp_values", "opp_key", "sfa_rows")):
        drop_table(con, table)
        run(con, f"""
            CREATE OR REPLACE TABLE {table} AS
            SELECT DISTINCT {key}, v FROM (
                SELECT _key AS {key}, {value} AS v
                FROM (SELECT _key, unnest(string_split_regex(link_raw, '[;\\n]')) AS x
                      FROM {src} WHERE _key IS NOT NULL AND link_raw IS NOT NULL))
            WHERE v <> ''""")


def lost_reason_texts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Distinct loss-reason texts of lost opportunities (to classify in Python)."""
    return [r[0] for r in rows(con, "SELECT DISTINCT loss_reason FROM opps "
                                    "WHERE outcome = 'lost' AND loss_reason IS NOT NULL")]


def create_links(con: duckdb.DuckDBPyConnection) -> None:
    run(con, "CREATE OR REPLACE TABLE links AS SELECT DISTINCT l.lead_key, o.opp_key "
             "FROM lead_values l JOIN opp_values o ON l.v = o.v")


def salesforce_id_mix(con: duckdb.DuckDBPyConnection) -> bool:
    """True when both link columns hold Salesforce IDs and one side uses the 15-char form."""
    pattern = "^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$"
    stats = {}
    for src in ("ma_rows", "sfa_rows"):
        stats[src] = scalar(con, f"""
            SELECT {{'n': count(*), 'sf': count(*) FILTER (WHERE regexp_matches(trim(link_raw), $p)),
                    'l15': count(*) FILTER (WHERE length(trim(link_raw)) = 15)}}
            FROM {src} WHERE link_raw IS NOT NULL""", {"p": pattern})
    if any(not s or not s["n"] or s["sf"] < s["n"] * 0.95 for s in stats.values()):
        return False
    return any(s["l15"] > 0 for s in stats.values()) and any(s["l15"] < s["n"] for s in stats.values())


def create_candidate_values(con: duckdb.DuckDBPyConnection, parts: list[tuple[str, str, str, str]],
                            per_column: int) -> None:
    """``link_candidates(side, name, v)``: distinct trimmed values of candidate ID columns.

    ``parts`` are ``(side, column name, raw table, raw column)``; each column contributes at
    most ``per_column`` values so a million-row export stays cheap to compare.
    """
    run(con, "CREATE OR REPLACE TABLE link_candidates (side VARCHAR, name VARCHAR, v VARCHAR)")
    for side, name, table, col in parts:
        run(con, f"""
            INSERT INTO link_candidates
            SELECT DISTINCT $side, $name, trim({ident(col)}) FROM {ident(table)}
            WHERE _drop IS NULL AND nullif(trim({ident(col)}), '') IS NOT NULL LIMIT $lim""",
            {"side": side, "name": name, "lim": per_column})


def candidate_overlaps(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int, int, int]]:
    """``(ma name, sfa name, shared values, ma distinct, sfa distinct)`` for overlapping pairs."""
    return [tuple(r) for r in rows(con, """
        WITH d AS (SELECT side, name, count(DISTINCT v) AS n FROM link_candidates GROUP BY ALL),
             m AS (SELECT DISTINCT name, v FROM link_candidates WHERE side = 'ma'),
             s AS (SELECT DISTINCT name, v FROM link_candidates WHERE side = 'sfa')
        SELECT m.name, s.name, count(*) AS shared, any_value(dm.n), any_value(ds.n)
        FROM m JOIN s ON m.v = s.v
        JOIN d dm ON dm.side = 'ma' AND dm.name = m.name
        JOIN d ds ON ds.side = 'sfa' AND ds.name = s.name
        GROUP BY m.name, s.name ORDER BY shared DESC""")]
