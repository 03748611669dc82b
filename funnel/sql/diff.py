"""SQL of the comparison between two loads (last month's exports and this month's).

Two workspaces have two DuckDB connections. What the comparison needs of the previous one
(its ``leads``, ``opps`` and the link values of its opportunities) is fetched as Arrow in one
query per table and copied into the current connection as ``prev_leads`` / ``prev_opps``;
everything else is SQL in the current connection:

- ``diff_leads``: one row per lead key of either export (full outer join on ``lead_key``).
- ``diff_opps``: one row per opportunity identity of either export (see :data:`OPP_IDENTITY`).

Both are tables, rebuilt by :func:`prepare`; the summary, the breakdowns and the drill-down
read them with small aggregate queries.
"""

from __future__ import annotations

import duckdb

from funnel.sql import SqlParams, copy_tables, drop_table, ident, lock_for, reached_stage, rows, run
from funnel.sql.metrics import OPP_SOURCES, opp_sources, source_column

_LEAD_COLS = ("lead_key, source_first, source_last, created_at, mql_at, sql_at, status_level, "
              "n_opps, n_won, email_raw, name, company, owner")
_OPP_COLS = ("opp_key, deal_id, deal_name, company, stage, outcome, loss_category, loss_reason, "
             "loss_detail, amount, close_at, owner, n_leads")

#: How an opportunity is recognised in both exports, by the first method both can use:
#: its deal ID; else its deal name with its account; else the link values (addresses or IDs)
#: it was linked by. The row position is never an identity (it changes with every export).
OPP_IDENTITY: dict[str, str] = {
    "deal_id": "'d:' || deal_id",
    "name": "'n:' || lower(regexp_replace(trim(deal_name), '\\s+', ' ', 'g')) || '|' "
            "|| coalesce(lower(regexp_replace(trim(company), '\\s+', ' ', 'g')), '')",
    "link": "'l:' || link_values",
}


def _opps_select(values_table: str) -> str:
    """The opportunities with their link values as one sorted text (for the ``link`` identity)."""
    return f"""
        SELECT {_OPP_COLS}, v.link_values,
               deal_id IS NOT NULL AND opp_key = deal_id AS has_id
        FROM opps LEFT JOIN (SELECT opp_key, string_agg(DISTINCT v, ';' ORDER BY v) AS link_values
                             FROM {ident(values_table)} GROUP BY opp_key) v USING (opp_key)"""


def import_previous(prev: duckdb.DuckDBPyConnection, cur: duckdb.DuckDBPyConnection) -> None:
    """Copy the previous workspace's leads and opportunities into ``cur`` as ``prev_*``."""
    with lock_for(prev):
        # A relation's Arrow output (not a DB-API result's, which copies the rows once more).
        leads = prev.sql(f"SELECT {_LEAD_COLS} FROM leads").to_arrow_table()
        opps = prev.sql(_opps_select("opp_values")).to_arrow_table()
    copy_tables(cur, {"prev_leads": leads, "prev_opps": opps})


def capabilities(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    """Per export (``prev``/``cur``): opportunities, and how many have a deal ID (as their
    key), a deal name, link values."""
    out = {}
    for side, sql in (("prev", "SELECT * FROM prev_opps"), ("cur", _opps_select("opp_values"))):
        n, with_id, with_name, with_link = rows(con, f"""
            SELECT count(*), count(*) FILTER (WHERE has_id), count(deal_name), count(link_values)
            FROM ({sql})""")[0]
        out[side] = {"n": int(n), "deal_id": int(with_id), "name": int(with_name), "link": int(with_link)}
    return out


def prepare(con: duckdb.DuckDBPyConnection, method: str) -> dict[str, int]:
    """Create ``diff_leads`` and ``diff_opps``. Returns how many opportunities shared an
    identity inside one export (``repeated``: told apart by order, so they may pair up
    wrongly) and how many had none (``unidentified``: counted as new or removed)."""
    identity = OPP_IDENTITY[method]
    with lock_for(con):
        run(con, f"""
            CREATE OR REPLACE TABLE diff_leads AS
            SELECT lead_key, p.lead_key IS NOT NULL AS was, c.lead_key IS NOT NULL AS now,
                   coalesce(p.n_opps, 0) > 0 AS conv_before, coalesce(c.n_opps, 0) > 0 AS conv_after,
                   coalesce(p.n_won, 0) > 0 AS won_before, coalesce(c.n_won, 0) > 0 AS won_after,
                   coalesce(p.n_opps, 0) AS opps_before, coalesce(c.n_opps, 0) AS opps_after,
                   CASE WHEN p.lead_key IS NOT NULL THEN {reached_stage('p')} END AS reached_before,
                   CASE WHEN c.lead_key IS NOT NULL THEN {reached_stage('c')} END AS reached_after,
                   CASE WHEN c.lead_key IS NOT NULL THEN c.source_first ELSE p.source_first END AS source_first,
                   CASE WHEN c.lead_key IS NOT NULL THEN c.source_last ELSE p.source_last END AS source_last,
                   coalesce(c.created_at, p.created_at) AS created_at,
                   coalesce(c.email_raw, p.email_raw) AS email_raw, coalesce(c.name, p.name) AS name,
                   coalesce(c.company, p.company) AS company, coalesce(c.owner, p.owner) AS owner
            FROM prev_leads p FULL OUTER JOIN leads c USING (lead_key)""")
        found = {"repeated": 0, "unidentified": 0}
        for side, source in (("prev", "prev_opps"), ("cur", f"({_opps_select('opp_values')})")):
            # Unique within the export: a repeated identity gets #2, #3 … in a fixed order; an
            # opportunity without one gets a key of its own export, so it never pairs up.
            run(con, f"""
                CREATE OR REPLACE TABLE {ident('_diff_' + side)} AS
                SELECT *, CASE WHEN base IS NULL THEN $side || ':' || opp_key WHEN n = 1 THEN base
                               ELSE base || '#' || n END AS ident
                FROM (SELECT *, row_number() OVER (PARTITION BY base ORDER BY close_at NULLS LAST,
                                                   deal_id NULLS LAST, opp_key) AS n
                      FROM (SELECT *, {identity} AS base FROM {source}))""", {"side": "?" + side})
            rep, unid = rows(con, f"SELECT count(*) FILTER (WHERE base IS NOT NULL AND n > 1), "
                                  f"count(*) FILTER (WHERE base IS NULL) FROM {ident('_diff_' + side)}")[0]
            found["repeated"] += int(rep)
            found["unidentified"] += int(unid)
        run(con, opp_sources())
        run(con, f"""
            CREATE OR REPLACE TABLE diff_opps AS
            SELECT ident, p.ident IS NOT NULL AS was, c.ident IS NOT NULL AS now,
                   c.opp_key, coalesce(c.deal_id, p.deal_id) AS deal_id,
                   coalesce(c.deal_name, p.deal_name) AS deal_name, coalesce(c.company, p.company) AS company,
                   coalesce(c.owner, p.owner) AS owner, coalesce(c.amount, p.amount) AS amount,
                   coalesce(c.close_at, p.close_at) AS close_at,
                   p.stage AS stage_before, c.stage AS stage_after,
                   p.outcome AS outcome_before, c.outcome AS outcome_after,
                   CASE WHEN c.ident IS NOT NULL THEN c.loss_category ELSE p.loss_category END AS loss_category,
                   CASE WHEN c.ident IS NOT NULL THEN c.loss_reason ELSE p.loss_reason END AS loss_reason,
                   CASE WHEN c.ident IS NOT NULL THEN c.loss_detail ELSE p.loss_detail END AS loss_detail,
                   coalesce(c.n_leads, p.n_leads, 0) AS n_leads,
                   s.source_first, s.source_last
            FROM _diff_prev p FULL OUTER JOIN _diff_cur c USING (ident)
            LEFT JOIN {OPP_SOURCES} s ON s.opp_key = c.opp_key""")
        for side in ("prev", "cur"):
            drop_table(con, "_diff_" + side)
    return found


def clear(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every table of the comparison (the baseline was removed)."""
    for name in ("prev_leads", "prev_opps", "diff_leads", "diff_opps"):
        drop_table(con, name)


# -- conditions of each kind of change (over diff_leads / diff_opps) ---------------------------
LEAD_KINDS: dict[str, str] = {
    "new_leads": "now AND NOT was",
    "removed_leads": "was AND NOT now",
    "newly_converted": "was AND now AND NOT conv_before AND conv_after",
    "unconverted": "was AND now AND conv_before AND NOT conv_after",
}
OPP_KINDS: dict[str, str] = {
    "new_opps": "now AND NOT was",
    "removed_opps": "was AND NOT now",
    "moved": "was AND now AND stage_before IS DISTINCT FROM stage_after",
    "won": "now AND outcome_after = 'won' AND outcome_before IS DISTINCT FROM 'won'",
    "lost": "now AND outcome_after = 'lost' AND outcome_before IS DISTINCT FROM 'lost'",
    "reopened": "was AND now AND outcome_before IN ('won', 'lost') AND outcome_after = 'open'",
}


def counts() -> str:
    """Every count of the summary in one row (names as in :data:`LEAD_KINDS`/:data:`OPP_KINDS`)."""
    lead = ", ".join(f"(SELECT count(*) FROM diff_leads WHERE {c}) AS {k}" for k, c in LEAD_KINDS.items())
    opp = ", ".join(f"(SELECT count(*) FROM diff_opps WHERE {c}) AS {k}" for k, c in OPP_KINDS.items())
    extra = ("(SELECT count(*) FROM diff_leads WHERE now AND NOT was AND conv_after) AS new_converted, "
             "(SELECT count(*) FROM diff_opps WHERE was) AS opps_before, "
             "(SELECT count(*) FROM diff_opps WHERE now) AS opps_after")
    return f"SELECT {lead}, {opp}, {extra}"


def new_leads_by_source(touch: str) -> str:
    """Per source of the new leads: leads, converted (≥ 1 opportunity now), won."""
    col = source_column(touch)
    return f"""
        SELECT {col} AS grp, count(*) AS leads, count(*) FILTER (WHERE conv_after),
               count(*) FILTER (WHERE won_after)
        FROM diff_leads WHERE {LEAD_KINDS['new_leads']} GROUP BY ALL ORDER BY leads DESC, grp NULLS LAST"""


def converted_by_source(touch: str) -> str:
    """Per source of the leads in both exports without an opportunity before: how many, and
    how many have one now."""
    col = source_column(touch)
    return f"""
        SELECT {col} AS grp, count(*) AS open_before, count(*) FILTER (WHERE conv_after) AS converted,
               count(*) FILTER (WHERE won_after)
        FROM diff_leads WHERE was AND now AND NOT conv_before
        GROUP BY ALL ORDER BY converted DESC, open_before DESC, grp NULLS LAST"""


def stage_moves() -> str:
    return f"""
        SELECT stage_before, outcome_before, stage_after, outcome_after, count(*) AS n
        FROM diff_opps WHERE {OPP_KINDS['moved']} GROUP BY ALL"""


def reached_moves() -> str:
    """Leads in both exports by furthest funnel stage before and now (0 lead … 4 won)."""
    return """SELECT reached_before, reached_after, count(*) FROM diff_leads
              WHERE was AND now GROUP BY ALL ORDER BY 1, 2"""


def reached_counts(side: str) -> str:
    """Leads of one export reaching each funnel stage (for the consistency test)."""
    col = {"prev": "reached_before", "cur": "reached_after"}[side]
    cond = {"prev": "was", "cur": "now"}[side]
    return f"SELECT {col}, count(*) FROM diff_leads WHERE {cond} GROUP BY 1"


def loss_categories_of_new_losses() -> str:
    return f"SELECT loss_category, count(*) FROM diff_opps WHERE {OPP_KINDS['lost']} GROUP BY 1"


def lead_page(kind: str, touch: str, limit: int | None, offset: int = 0) -> SqlParams:
    """The leads of one kind of change, oldest first (all of them when ``limit`` is None)."""
    page, params = "", {}
    if limit is not None:
        page, params = "LIMIT $lim OFFSET $off", {"lim": limit, "off": offset}
    return (f"""
        SELECT lead_key, email_raw, name, company, {source_column(touch)} AS source, created_at, owner,
               opps_before, opps_after, reached_before, reached_after
        FROM diff_leads WHERE {LEAD_KINDS[kind]}
        ORDER BY created_at NULLS LAST, lead_key {page}""", params)


def opp_page(kind: str, touch: str, limit: int | None, offset: int = 0) -> SqlParams:
    """The opportunities of one kind of change, largest amount first."""
    page, params = "", {}
    if limit is not None:
        page, params = "LIMIT $lim OFFSET $off", {"lim": limit, "off": offset}
    return (f"""
        SELECT ident, deal_id, deal_name, company, owner, amount, close_at, stage_before, stage_after,
               outcome_before, outcome_after, loss_category, loss_reason, loss_detail,
               {ident(source_column(touch))} AS lead_source, n_leads, NOT was AS is_new
        FROM diff_opps WHERE {OPP_KINDS[kind]}
        ORDER BY amount DESC NULLS LAST, ident {page}""", params)


def kind_count(kind: str) -> str:
    table, cond = (("diff_leads", LEAD_KINDS[kind]) if kind in LEAD_KINDS else ("diff_opps", OPP_KINDS[kind]))
    return f"SELECT count(*) FROM {table} WHERE {cond}"


def stages_seen() -> str:
    """Every stage of either export with its outcome (to order them)."""
    return """SELECT DISTINCT stage_before, outcome_before FROM diff_opps WHERE was AND stage_before IS NOT NULL
              UNION SELECT DISTINCT stage_after, outcome_after FROM diff_opps WHERE now AND stage_after IS NOT NULL"""

