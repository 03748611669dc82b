"""SQL of activity exports (行動履歴): staged rows, events linked to leads, and behaviour.

Tables (per workspace connection):

- ``activity_rows``: one row per data row of every activity file, stacked in the order given
  (``pos`` = file order: file × :data:`POS_FILE` + row), with its event day, whether it is
  ``usable`` (a person key — ``e:`` + first valid address, else ``i:`` + record ID — and a
  day), its lead, its record ID, type / campaign / channel / asset, and its address where it
  has no day.
- ``events``: a view of the rows with a key and a day (one event each), with the lead they
  belong to (``lead_key`` NULL: no lead of the MA export has that address or ID), their
  position in file order ``pos``, and the touch label (campaign, else channel, else type).
- ``lead_cut``: per converted lead, the created day of its first opportunity; its events up
  to and including that day are its *counted* events.

Every comparison is by calendar day as exported (no time-zone conversion); a day compares as
"on or before" inclusive.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from funnel.sql import drop_table, ident, rows, run
from funnel.sql import normalize as nz

#: ``pos`` = file index × POS_FILE + row: file order in one number (2^40 rows per file).
POS_FILE = 1099511627776


@dataclass(frozen=True)
class ActivityPlan:
    """How one raw activity table feeds ``activity_rows``."""

    index: int
    table: str
    columns: Mapping[str, str | None]   # field → raw column (None: not in this file)
    date_column: str                    # raw column of the event date
    date_order: str                     # "mdy" | "dmy" for a/b/yyyy cells
    date_formats: Sequence[str] = ()    # the column's own strptime formats (fast path)


def _select(plan: ActivityPlan, params: dict[str, Any]) -> str:
    """One file's rows, normalised. An activity log repeats a few values many times (20M
    events of 1M people, a dozen types, a few campaigns): each text and address column is
    normalised once per distinct value and joined back, not once per row."""
    c, src = plan.columns, ident(plan.table)
    joins: list[str] = []

    def mapped(field: str, normalise: Callable[[str], str]) -> str:
        col = c.get(field)
        if not col:
            return "NULL::VARCHAR"
        alias = ident(f"m_{field}")
        joins.append(f"LEFT JOIN (SELECT k, {normalise('k')} AS v FROM (SELECT DISTINCT {ident(col)} AS k FROM {src} "
                     f"WHERE _drop IS NULL)) {alias} ON {alias}.k = r.{ident(col)}")
        return f"{alias}.v"

    # The first valid address of the cell is the person key (the contract's key of a row).
    email = mapped("email", lambda k: f"({nz.email_list(k)})[1]")
    texts = {f: mapped(f, nz.text) for f in ("person_id", "activity_type", "campaign", "channel", "asset")}
    fast = [f"af{plan.index}_{i}" for i in range(len(plan.date_formats))]
    params.update(zip(fast, plan.date_formats, strict=True))
    day = f"({nz.date_value('r.' + ident(plan.date_column), plan.date_order, fast or None)})::DATE"
    return (f"SELECT {plan.index}::INTEGER AS _file, r.rowid AS _row, {email} AS email, "
            f"{texts['person_id']} AS person_id, {day} AS day, {texts['activity_type']} AS activity, "
            f"{texts['campaign']} AS campaign, {texts['channel']} AS channel, {texts['asset']} AS asset "
            f"FROM {src} r {' '.join(joins)} WHERE r._drop IS NULL")


def create_activity_rows(con: duckdb.DuckDBPyConnection, plans: Sequence[ActivityPlan]) -> None:
    """``activity_rows`` from the raw tables of ``plans`` (files in the order given), each row
    with its lead (``lead_key``), its position in file order (``pos``) and its touch label, in
    one pass: the usable rows are the ``events`` (:func:`create_events`), not a second copy.

    A person key finds its lead through the MA rows (``ma_rows``): an address of the lead, or
    its record ID (a row with both tries the address first). Where a key names several leads
    (one MA cell with several addresses) the smallest lead key is taken, so a rebuild gives
    the same answer.
    """
    params: dict[str, Any] = {}
    union = " UNION ALL BY NAME ".join(_select(p, params) for p in plans)
    run(con, """
        CREATE OR REPLACE TEMP TABLE person_keys AS
        SELECT pk, min(_key) AS lead_key FROM (
            SELECT 'e:' || unnest(emails) AS pk, _key FROM ma_rows WHERE _key IS NOT NULL
            UNION ALL
            SELECT 'i:' || lead_id, _key FROM ma_rows WHERE _key IS NOT NULL AND lead_id IS NOT NULL)
        GROUP BY pk""")
    # Kept narrow (20M rows must fit the memory limit rather than spill): the position holds
    # file and row, the label and the person key are computed where read, and the address is
    # kept only where the row has no date (the one place it is shown: rows that are no event).
    sql = f"""
        CREATE OR REPLACE TABLE activity_rows AS
        WITH a AS (SELECT *, CASE WHEN email IS NOT NULL THEN 'e:' || email
                                  WHEN person_id IS NOT NULL THEN 'i:' || person_id END AS _pkey FROM ({union}))
        SELECT a._file::BIGINT * {POS_FILE} + a._row AS pos, a.day,
               a._pkey IS NOT NULL AND a.day IS NOT NULL AS usable,
               CASE WHEN a._pkey IS NOT NULL AND a.day IS NOT NULL THEN coalesce(pe.lead_key, pi.lead_key) END
                   AS lead_key,
               a.person_id, a.activity, a.campaign, a.channel, a.asset,
               CASE WHEN a.day IS NULL THEN a.email END AS email
        FROM a
        LEFT JOIN person_keys pe ON pe.pk = a._pkey
        LEFT JOIN person_keys pi ON pi.pk = 'i:' || a.person_id AND a._pkey LIKE 'e:%'"""
    params.update(nz.date_params(sorted({p.date_order for p in plans})))
    if "$placeholders" in sql:
        params.update(nz.text_params())
    try:
        run(con, sql, params)
    finally:
        run(con, "DROP TABLE IF EXISTS person_keys")


def create_events(con: duckdb.DuckDBPyConnection) -> None:
    """``events`` (the usable rows of ``activity_rows``, linked to a lead or not: a view, as
    the rows are already there) and ``lead_cut`` from ``links`` and ``opps``."""
    drop_table(con, "events")
    run(con, """
        CREATE OR REPLACE VIEW events AS
        SELECT lead_key, day, pos, activity, campaign, channel, asset, coalesce(campaign, channel, activity) AS label
        FROM activity_rows WHERE usable""")
    run(con, """
        CREATE OR REPLACE TABLE lead_cut AS
        SELECT k.lead_key, min(o.created_at)::DATE AS cut
        FROM links k JOIN opps o USING (opp_key) GROUP BY k.lead_key""")


def activity_counts(con: duckdb.DuckDBPyConnection) -> tuple[int, int, int, int]:
    """``(rows, events, events_unlinked, leads_with_events)``."""
    n_rows = rows(con, "SELECT count(*) FROM activity_rows")[0][0]
    events, unlinked, leads = rows(con, """
        SELECT count(*), count(*) FILTER (WHERE lead_key IS NULL), count(DISTINCT lead_key)
        FROM events""")[0]
    return int(n_rows), int(events), int(unlinked), int(leads)


def rows_without_key(con: duckdb.DuckDBPyConnection, limit: int | None = None) -> list[tuple[Any, ...]]:
    """Activity rows that are no event: ``(_file, _row, what the row held, reason)`` with reason
    ``activity_no_key`` (no valid address nor ID) or ``activity_no_date``, in file order.
    Needs ``activity_rows`` (kept unless the build dropped the raw tables)."""
    lim = f" LIMIT {int(limit)}" if limit else ""
    return rows(con, f"""
        SELECT pos // {POS_FILE}, pos % {POS_FILE}, coalesce(person_id, email),
               CASE WHEN day IS NOT NULL OR (person_id IS NULL AND email IS NULL) THEN 'activity_no_key'
                    ELSE 'activity_no_date' END
        FROM activity_rows WHERE NOT usable ORDER BY pos{lim}""")


# The counted events of each lead: all of them if it never converted (or its opportunities
# carry no created date to cut at), else those on or before its first opportunity's day.
COUNTED_EVENTS = """
    SELECT e.* FROM events e LEFT JOIN lead_cut c USING (lead_key)
    WHERE e.lead_key IS NOT NULL AND (c.cut IS NULL OR e.day <= c.cut)"""


#: What behaviour can be grouped by: the event's activity type (contracts/cli.md) or its campaign.
BEHAVIOUR_GROUPS: tuple[str, ...] = ("activity", "campaign")


def behaviour(by: str = "activity") -> str:
    """Per activity type (``by="activity"``) or campaign: ``(group, leads, converted, other
    leads, other converted)``, the other leads being every lead of the MA export with no
    counted event of that group. Events without a campaign are in no campaign group."""
    if by not in BEHAVIOUR_GROUPS:
        raise ValueError(f"by must be one of {BEHAVIOUR_GROUPS}")
    where = "" if by == "activity" else f" WHERE {ident(by)} IS NOT NULL"
    return f"""
        WITH done AS (SELECT DISTINCT lead_key, {ident(by)} AS grp FROM ({COUNTED_EVENTS}){where}),
             per AS (SELECT d.grp, count(*) AS leads, count(*) FILTER (WHERE l.n_opps > 0) AS converted
                     FROM done d JOIN leads l USING (lead_key) GROUP BY d.grp),
             tot AS (SELECT count(*) AS leads, count(*) FILTER (WHERE n_opps > 0) AS converted FROM leads)
        SELECT p.grp, p.leads, p.converted, t.leads - p.leads, t.converted - p.converted
        FROM per p CROSS JOIN tot t
        ORDER BY p.leads DESC, p.grp NULLS LAST"""


# -- the lead timeline and the MQL hand-off list (views/activity.py) -------------------------------
def find_people(limit: int) -> str:
    """Leads whose name, company or address contains ``$q`` (case-insensitive; every lead when
    ``$q`` is empty):
    ``(lead_key, name, company, email, events, n_opps)``, leads with events first."""
    return f"""
        SELECT l.lead_key, l.name, l.company, l.email_raw, coalesce(e.n, 0) AS events, l.n_opps
        FROM leads l LEFT JOIN (SELECT lead_key, count(*) AS n FROM events GROUP BY lead_key) e USING (lead_key)
        WHERE $q = '' OR strpos(lower(coalesce(l.name, '') || ' ' || coalesce(l.company, '') || ' ' || coalesce(l.email_raw, '')),
                     lower($q)) > 0
        ORDER BY events DESC, l.company NULLS LAST, l.name NULLS LAST, l.lead_key
        LIMIT {int(limit)}"""


def lead_events() -> str:
    """The events of the leads ``$keys`` in time order (day, then file order):
    ``(lead_key, day, activity, campaign, channel, asset, counted)``; ``counted``: on or before
    the lead's first opportunity's created day (or the lead never converted)."""
    return """
        SELECT e.lead_key, e.day, e.activity, e.campaign, e.channel, e.asset, (c.cut IS NULL OR e.day <= c.cut)
        FROM events e LEFT JOIN lead_cut c USING (lead_key)
        WHERE list_contains($keys, e.lead_key)
        ORDER BY e.day, e.pos"""


def lead_opportunities() -> str:
    """The opportunities linked to the leads ``$keys``: ``(lead_key, deal_name, company, stage,
    outcome, created day, close day, amount)``, in created order."""
    return """
        SELECT k.lead_key, o.deal_name, o.company, o.stage, o.outcome, o.created_at::DATE, o.close_at::DATE, o.amount
        FROM links k JOIN opps o USING (opp_key)
        WHERE list_contains($keys, k.lead_key)
        ORDER BY o.created_at NULLS LAST, o.deal_name, k.lead_key"""


def handoff(passive: Sequence[str]) -> str:
    """Current MQLs (a recorded MQL, no recorded SQL, no opportunity) with their last ``$n``
    meaningful events (an activity type containing none of ``passive``, case-insensitive):
    ``(lead_key, name, company, email, owner, score, mql day, events, last day, actions)``,
    ``actions`` a list of (day, activity, label) structs, newest first; most recent activity first."""
    from funnel.sql import recorded_mql, recorded_sql
    cond = " OR ".join(f"strpos(lower(coalesce(activity, '')), lower($p{i})) > 0" for i in range(len(passive)))
    meaningful = f"NOT ({cond})" if passive else "TRUE"
    return f"""
        WITH m AS (SELECT * FROM leads WHERE {recorded_mql()} AND NOT {recorded_sql()} AND n_opps = 0),
             ev AS (SELECT lead_key, day, pos, activity, label,
                           row_number() OVER (PARTITION BY lead_key ORDER BY day DESC, pos DESC) AS k
                    FROM events WHERE lead_key IN (SELECT lead_key FROM m) AND {meaningful}),
             agg AS (SELECT lead_key, count(*) AS n, max(day) AS last_day,
                            list({{'day': day, 'activity': activity, 'label': label}} ORDER BY day DESC, pos DESC)
                                FILTER (WHERE k <= $n) AS actions
                     FROM ev GROUP BY lead_key)
        SELECT m.lead_key, m.name, m.company, m.email_raw, m.owner, m.score, m.mql_at::DATE,
               coalesce(a.n, 0), a.last_day, coalesce(a.actions, [])
        FROM m LEFT JOIN agg a USING (lead_key)
        ORDER BY a.last_day DESC NULLS LAST, a.n DESC NULLS LAST, m.lead_key"""


def first_touch_sources() -> str:
    """Each opportunity's credit of 1 split equally over its linked leads' first-touch sources
    (``(no lead)`` when none): ``(source, opportunities, won, won_amount)``. Sums in a fixed
    order, so a run gives the same last digit as the one before (``sql/attribution.py``)."""
    return """
        WITH c AS (SELECT k.opp_key, l.source_first AS source, 1.0 / o.n_leads AS credit, o.outcome, o.amount
                   FROM links k JOIN leads l USING (lead_key) JOIN opps o USING (opp_key)
                   UNION ALL
                   SELECT opp_key, $no_lead, 1.0, outcome, amount FROM opps WHERE n_leads = 0)
        SELECT source, fsum(credit ORDER BY credit),
               coalesce(fsum(credit ORDER BY credit) FILTER (WHERE outcome = 'won'), 0.0),
               coalesce(fsum(credit * coalesce(amount, 0.0) ORDER BY credit * coalesce(amount, 0.0))
                        FILTER (WHERE outcome = 'won'), 0.0)
        FROM c GROUP BY source ORDER BY 2 DESC, source NULLS LAST"""
