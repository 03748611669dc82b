"""SQL of the drill-down behind a rate: the leads of one source, one page at a time.

Only one page of rows ever leaves DuckDB for the UI (``LIMIT``/``OFFSET`` on a total order:
creation date, then the unique lead key, so consecutive pages never overlap or skip a lead).
The full list is built only when the user asks for the CSV of all leads.
"""

from __future__ import annotations

from funnel.sql import SqlParams, ident
from funnel.sql.metrics import source_column

STATUSES: tuple[str, ...] = ("all", "converted", "not_converted")


def _where(where: SqlParams, status: str, search: str | None) -> SqlParams:
    """The rate's lead filter, narrowed to converted / not converted leads and a search text."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}")
    cond, params = where
    conds = [f"({cond})"]
    if status == "converted":
        conds.append("n_opps > 0")
    elif status == "not_converted":
        conds.append("n_opps = 0")
    if search:
        # Plain substring, case-insensitive, over what a person recognises a lead by; the text
        # is bound, and contains() has no wildcard syntax, so % and _ are literal.
        conds.append("contains(lower(concat_ws(' ', email_raw, name, company, owner, substr(lead_key, 3))), lower($search))")
        params = {**params, "search": search}
    return " AND ".join(conds), params


def count(where: SqlParams, status: str, search: str | None) -> SqlParams:
    cond, params = _where(where, status, search)
    return f"SELECT count(*) FROM leads WHERE {cond}", params


def leads(where: SqlParams, status: str, search: str | None, touch: str,
          limit: int | None, offset: int = 0) -> SqlParams:
    """The leads behind a number with their opportunities summarised; one page when ``limit``
    is given, else all of them (for a download built on click)."""
    cond, params = _where(where, status, search)
    col = ident(source_column(touch))
    page = ""
    if limit is not None:
        page = "LIMIT $lim OFFSET $off"
        params = {**params, "lim": limit, "off": offset}
    # The page is cut first, then only its leads are joined to their opportunities.
    return (f"""
        WITH page AS (
            -- lead_ref: the key without its two-character kind prefix (e:, i:, r:; staging.ma_key_expr)
            SELECT lead_key, substr(lead_key, 3) AS lead_ref, email_raw, name, company, {col} AS source, created_at, owner,
                   mql_at, sql_at, n_opps > 0 AS converted, n_opps, n_won, n_lost
            FROM leads WHERE {cond}
            ORDER BY created_at NULLS LAST, lead_key {page})
        SELECT p.*, o.first_opp_at, o.stages
        FROM page p
        LEFT JOIN (SELECT k.lead_key, min(o.created_at) AS first_opp_at,
                          string_agg(DISTINCT o.stage, ' / ' ORDER BY o.stage) AS stages
                   FROM links k JOIN opps o USING (opp_key)
                   WHERE k.lead_key IN (SELECT lead_key FROM page) GROUP BY k.lead_key) o USING (lead_key)
        ORDER BY p.created_at NULLS LAST, p.lead_key""", params)
