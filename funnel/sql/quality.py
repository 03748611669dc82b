"""SQL of the match report: how well the two exports linked, and what normalisation did.

Everything reads the tables a build leaves behind (``ma_rows``/``sfa_rows``, ``leads``,
``opps``, ``links``, ``opp_values``) and returns aggregates or one page of rows.

The email-rule counts re-run the steps of :func:`funnel.sql.normalize.email_candidates`
one by one over ``email_raw`` so that each rule can be seen changing a cell; a test keeps the
addresses this pipeline ends with equal to the ``emails`` column the build computed.
"""

from __future__ import annotations

from typing import Any

import duckdb

from funnel.sql import ident, records, rows
from funnel.sql import normalize as nz

SIDE_TABLES = {"ma": "ma_rows", "sfa": "sfa_rows"}

# Rule flags of one cell, in the order the normaliser applies them (names are i18n keys).
RULES: tuple[str, ...] = ("nfkc", "trimmed", "mailto", "bracket", "several", "lowercased")
INVALID_REASONS: tuple[str, ...] = ("no_at", "multiple_at", "no_local", "no_dot")

_BRACKET_ANGLE = "<[^<>]*@[^<>]*>"
_BRACKET_ROUND = "\\(([^()]*@[^()]*)\\)"


def _table(side: str) -> str:
    if side not in SIDE_TABLES:
        raise ValueError(f"side must be one of {tuple(SIDE_TABLES)}")
    return SIDE_TABLES[side]


def _cells_sql(side: str, where: str = "TRUE") -> str:
    """One row per data row of ``side`` with the rule flags of its email cell.

    Steps per ``;``/``,`` part, as the normaliser does them: NFKC on the cell, address out of
    ``Name <a>``/``Name (a)``, trim, drop ``mailto:``, trim, lower-case. A rule "changed" a
    cell when one of its non-empty candidates differs before and after that step. ``where``
    restricts the rows (a condition on the side's table) before the per-part work.
    """
    table = ident(_table(side))
    reason = ("CASE WHEN NOT contains(addr, '@') THEN 'no_at' "
              "WHEN length(addr) - length(replace(addr, '@', '')) > 1 THEN 'multiple_at' "
              "WHEN starts_with(addr, '@') THEN 'no_local' ELSE 'no_dot' END")
    return f"""
        WITH cells AS (
            SELECT _file, _row, email_raw AS raw, emails,
                   CASE WHEN email_raw IS NULL THEN NULL ELSE {nz.nfkc_if_needed('email_raw')} END AS n
            FROM {table} WHERE {where}),
        parts AS (
            SELECT _file, _row, unnest(l) AS p, generate_subscripts(l, 1) AS i
            FROM (SELECT _file, _row, string_split_regex(n, '[;,]') AS l FROM cells WHERE n IS NOT NULL)),
        s1 AS (
            SELECT *, regexp_matches(p, '{_BRACKET_ANGLE}') OR regexp_matches(p, '{_BRACKET_ROUND}') AS bracket,
                   CASE WHEN regexp_matches(p, '{_BRACKET_ANGLE}') THEN regexp_extract(p, '<([^<>]*@[^<>]*)>', 1)
                        WHEN regexp_matches(p, '{_BRACKET_ROUND}') THEN regexp_extract(p, '{_BRACKET_ROUND}', 1)
                        ELSE p END AS inner_ FROM parts),
        s2 AS (SELECT *, {nz.trim_ws('inner_')} AS t1 FROM s1),
        s3 AS (SELECT *, regexp_replace(t1, '^(?i:mailto:)', '') AS nm FROM s2),
        s4 AS (SELECT *, {nz.trim_ws('nm')} AS t2 FROM s3),
        cand AS (
            SELECT _file, _row, i, bracket, (t1 <> inner_ OR t2 <> nm) AS trimmed, (nm <> t1) AS mailto,
                   (t2 <> lower(t2)) AS lowercased, lower(t2) AS addr,
                   regexp_matches(lower(t2), '{nz.EMAIL_VALID}') AS valid
            FROM s4 WHERE lower(t2) <> ''),
        per_cell AS (
            SELECT _file, _row, bool_or(bracket) AS bracket, bool_or(trimmed) AS trimmed,
                   bool_or(mailto) AS mailto, bool_or(lowercased) AS lowercased,
                   count(*) AS n_cand, count(*) FILTER (WHERE valid) AS n_valid,
                   list(addr ORDER BY i) FILTER (WHERE valid) AS valid_addrs,
                   arg_min({reason}, i) FILTER (WHERE NOT valid) AS first_invalid
            FROM cand GROUP BY _file, _row)
        SELECT c._file, c._row, c.raw, c.emails,
               (c.n IS NULL OR coalesce(p.n_cand, 0) = 0) AS blank,
               coalesce(c.n <> c.raw, false) AS nfkc,
               coalesce(p.trimmed, false) AS trimmed, coalesce(p.mailto, false) AS mailto,
               coalesce(p.bracket, false) AS bracket, coalesce(p.n_cand, 0) > 1 AS several,
               coalesce(p.lowercased, false) AS lowercased,
               coalesce(p.n_valid, 0) AS n_valid, coalesce(p.valid_addrs, []::VARCHAR[]) AS valid_addrs,
               CASE WHEN coalesce(p.n_valid, 0) = 0 AND coalesce(p.n_cand, 0) > 0 THEN p.first_invalid END AS reason,
               coalesce(p.n_valid, 0) > 0 AND p.n_valid < p.n_cand AS partly_invalid
        FROM cells c LEFT JOIN per_cell p USING (_file, _row)"""


def cell_flags(con: duckdb.DuckDBPyConnection, side: str) -> list[dict[str, Any]]:
    """Every email cell of ``side`` with its rule flags (file order); for tests and checks."""
    return records(con, f"SELECT * FROM ({_cells_sql(side)}) ORDER BY _file, _row")


def rule_counts(con: duckdb.DuckDBPyConnection, side: str) -> dict[str, Any]:
    """Cells of ``side`` changed by each rule, blank/invalid counts, and one example per rule."""
    flags = [*RULES, "partly_invalid"]
    counts = ", ".join(f"count(*) FILTER (WHERE {f}) AS {f}" for f in flags)
    examples = ", ".join(f"arg_min(raw, (_file, _row)) FILTER (WHERE {f}) AS ex_{f}" for f in flags)
    reasons = ", ".join(f"count(*) FILTER (WHERE reason = '{r}') AS {r}" for r in INVALID_REASONS)
    ex_reasons = ", ".join(f"arg_min(raw, (_file, _row)) FILTER (WHERE reason = '{r}') AS ex_{r}"
                           for r in INVALID_REASONS)
    changed = " OR ".join(RULES)
    return records(con, f"""
        SELECT count(*) AS cells, count(*) FILTER (WHERE blank) AS blank,
               count(*) FILTER (WHERE n_valid > 0) AS valid,
               count(*) FILTER (WHERE NOT blank AND n_valid = 0) AS invalid,
               count(*) FILTER (WHERE n_valid > 0 AND NOT ({changed})) AS unchanged,
               {counts}, {reasons}, {examples}, {ex_reasons}
        FROM ({_cells_sql(side)})""")[0]


def invalid_cells(con: duckdb.DuckDBPyConnection, side: str, limit: int | None = None,
                  offset: int = 0) -> list[tuple[Any, ...]]:
    """``(_file, _row, raw, reason)`` of non-blank cells without a valid address, file order."""
    lim = "" if limit is None else f" LIMIT {int(limit)} OFFSET {int(offset)}"
    # Cells without a valid address are those whose build-time ``emails`` list is empty: filter
    # on it first so the per-part pipeline only runs for them.
    where = f"(email_raw IS NOT NULL AND len(emails) = 0 AND {nz.trim_ws('email_raw')} <> '')"
    return rows(con, f"SELECT _file, _row, raw, reason FROM ({_cells_sql(side, where)}) "
                     f"WHERE NOT blank AND n_valid = 0 ORDER BY _file, _row{lim}")


# -- match -----------------------------------------------------------------------------------

def match_by_deal_source() -> str:
    """Opportunities and linked opportunities per deal-side (SFA) source."""
    return ("SELECT source AS grp, count(*) AS opportunities, count(*) FILTER (WHERE n_leads > 0) AS linked "
            "FROM opps GROUP BY ALL ORDER BY opportunities DESC, grp NULLS LAST")


def match_by_lead_source(source_col: str) -> str:
    """Per lead source: leads, leads with an opportunity, opportunities attributed to it.

    An opportunity linked to leads of several sources is attributed once, to the smallest
    source value (the rule of the loss-by-source view), so the counts add up to the linked
    opportunities.
    """
    col = ident(source_col)
    return f"""
        WITH attributed AS (
            SELECT k.opp_key, min(l.{col}) AS grp FROM links k JOIN leads l USING (lead_key) GROUP BY k.opp_key),
        per_source AS (SELECT grp, count(*) AS opportunities FROM attributed GROUP BY grp),
        lead_counts AS (
            SELECT {col} AS grp, count(*) AS leads, count(*) FILTER (WHERE n_opps > 0) AS leads_linked
            FROM leads GROUP BY ALL)
        SELECT lc.grp, lc.leads, lc.leads_linked, coalesce(ps.opportunities, 0) AS opportunities
        FROM lead_counts lc LEFT JOIN per_source ps ON ps.grp IS NOT DISTINCT FROM lc.grp
        ORDER BY opportunities DESC, lc.leads DESC, lc.grp NULLS LAST"""


def _unlinked_opps_sql(link_column: str) -> str:
    raw = ident(link_column)
    return f"""
        WITH vals AS (SELECT opp_key, count(*) AS n FROM opp_values GROUP BY opp_key),
             raws AS (SELECT _key AS opp_key, bool_or(nullif({nz.trim_ws(raw)}, '') IS NOT NULL) AS has_raw
                      FROM sfa_rows WHERE _key IS NOT NULL GROUP BY _key)
        SELECT o.opp_key, o.deal_id, o.deal_name, o.company, o.source, o.stage, o.outcome, o.amount,
               o.created_at, o.close_at, o.owner, o.email_raw,
               CASE WHEN coalesce(v.n, 0) > 0 THEN 'not_found'
                    WHEN coalesce(r.has_raw, false) THEN 'invalid' ELSE 'no_value' END AS reason
        FROM opps o LEFT JOIN vals v USING (opp_key) LEFT JOIN raws r USING (opp_key)
        WHERE o.n_leads = 0"""


def unlinked_opportunities(con: duckdb.DuckDBPyConnection, link_column: str, limit: int | None = None,
                           offset: int = 0) -> list[dict[str, Any]]:
    """Opportunities without a lead, newest first, with why (no value / invalid / not found).

    ``link_column`` is the ``sfa_rows`` column the link reads: ``email_raw`` or ``link_raw``.
    """
    lim = "" if limit is None else " LIMIT $lim OFFSET $off"
    params = {} if limit is None else {"lim": int(limit), "off": int(offset)}
    return records(con, f"SELECT * FROM ({_unlinked_opps_sql(link_column)}) "
                        f"ORDER BY created_at DESC NULLS LAST, opp_key{lim}", params)


def unlinked_reason_counts(con: duckdb.DuckDBPyConnection, link_column: str) -> dict[str, int]:
    return {r: int(n) for r, n in rows(con, f"SELECT reason, count(*) FROM ({_unlinked_opps_sql(link_column)}) "
                                            f"GROUP BY reason")}


_LEAD_EMAIL = "CASE WHEN starts_with(lead_key, 'e:') THEN substr(lead_key, 3) END"


def unlinked_leads(con: duckdb.DuckDBPyConnection, source_col: str, limit: int | None = None,
                   offset: int = 0) -> list[dict[str, Any]]:
    """Leads never linked to an opportunity, oldest first."""
    lim = "" if limit is None else " LIMIT $lim OFFSET $off"
    params = {} if limit is None else {"lim": int(limit), "off": int(offset)}
    return records(con, f"""
        SELECT lead_key, {_LEAD_EMAIL} AS email, email_raw, name, company, {ident(source_col)} AS source,
               created_at, rows
        FROM leads WHERE n_opps = 0 ORDER BY created_at NULLS LAST, lead_key{lim}""", params)


def count_unlinked_leads(con: duckdb.DuckDBPyConnection) -> int:
    return int(rows(con, "SELECT count(*) FROM leads WHERE n_opps = 0")[0][0])


def duplicate_summary(con: duckdb.DuckDBPyConnection) -> tuple[int, int, int, int]:
    """``(leads, leads merged from several rows, extra rows, leads written differently)``."""
    found = rows(con, """
        WITH v AS (SELECT _key, count(DISTINCT coalesce(email_raw, '')) AS variants FROM ma_rows
                   WHERE _key IS NOT NULL GROUP BY _key)
        SELECT count(*), count(*) FILTER (WHERE l.rows > 1), coalesce(sum(l.rows - 1), 0),
               count(*) FILTER (WHERE v.variants > 1)
        FROM leads l JOIN v ON v._key = l.lead_key""")[0]
    return int(found[0]), int(found[1]), int(found[2]), int(found[3])


def duplicate_people(con: duckdb.DuckDBPyConnection, source_col: str, limit: int | None = None,
                     offset: int = 0) -> list[dict[str, Any]]:
    """Leads merged from several rows: the raw cells as written (first seen first), the
    sources of the rows, and dates; most rows first."""
    lim = "" if limit is None else " LIMIT $lim OFFSET $off"
    params = {} if limit is None else {"lim": int(limit), "off": int(offset)}
    # Page the leads first: the variants are then gathered for one page of keys only.
    return records(con, f"""
        WITH page AS (
            SELECT lead_key, rows, n_opps, {ident(source_col)} AS source FROM leads
            WHERE rows > 1 ORDER BY rows DESC, lead_key{lim}),
        mine AS (SELECT r.* FROM ma_rows r JOIN page p ON p.lead_key = r._key),
        variants AS (
            SELECT _key, email_raw, min({{'f': _file, 'r': _row}}) AS first_seen FROM mine GROUP BY _key, email_raw),
        per_lead AS (SELECT _key, list(email_raw ORDER BY first_seen) AS variants FROM variants GROUP BY _key),
        sources AS (
            SELECT _key, list(DISTINCT source ORDER BY source) FILTER (WHERE source IS NOT NULL) AS sources,
                   min(created_at) AS first_at, max(created_at) AS last_at
            FROM mine GROUP BY _key)
        SELECT p.lead_key, {_LEAD_EMAIL} AS email, p.rows, v.variants, s.sources, p.source,
               s.first_at, s.last_at, p.n_opps
        FROM page p JOIN per_lead v ON v._key = p.lead_key JOIN sources s ON s._key = p.lead_key
        ORDER BY p.rows DESC, p.lead_key""", params)
