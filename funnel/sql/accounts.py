"""SQL of accounts (企業): the keys of each lead, leads merged into accounts, deals matched to them.

Definitions are those of ``contracts/cli.md`` "Accounts". Tables (per workspace connection):

- ``account_leads(lead_key, account, part, named, kf, kl)``: the account (a number) of
  every lead with a key (its keys, over all its rows: ``n:<corporate number>``,
  ``c:<normalised company name>``, ``d:<corporate email domain>``); see ``account_graph``.
- ``account_keys(k, account)``: each key and the one account holding it.
- ``account_opps(opp_key, account, by_lead, by_company)``: deals of each account, and how
  they belong to it (a linked lead; their own company name or corporate number).

How leads are joined into accounts (a union-find over the distinct key pairs) is
``funnel.sql.account_graph``.
"""

from __future__ import annotations

from typing import Any

import duckdb

from funnel.sql import normalize as nz
from funnel.sql import records, rows, run

TABLES = ("account_leads", "account_keys", "account_opps", "account_built")

# Spaces, punctuation marks and symbols (Unicode categories Z, P, S) and the other characters
# Python's str.isspace() counts (tab, line breaks): what a normalised name loses, and what
# separates the words a Latin legal form must stand alone in.
_SEPARATORS = r"[\p{Z}\p{P}\p{S}\s\x0B\x1C-\x1F\x{85}]+"
# Hyphens and dashes NFKC leaves as they are (and the long-vowel mark that IMEs type for one),
# removed with spaces from a corporate number.
_NUMBER_NOISE = r"[\s\p{Z}\-\x{2010}-\x{2015}\x{2212}\x{30FC}\x{FF70}]"


def name_core(expr: str) -> str:
    """A company name without legal forms, case, width, spaces, punctuation and symbols.

    Needs ``$jp_forms`` (a regex alternation) and ``$latin_forms`` (a list) bound. NFKC first
    (㈱ → (株), ＡＢＣ → ABC), then case-folding (``lower`` and ß → ss: Python's casefold for
    the scripts company names are written in), then Japanese forms wherever they stand, then
    Latin forms as whole words: the name is cut at separators, K.K. made one word first.
    """
    folded = f"replace(lower({nz.nfkc_if_needed(expr)}), 'ß', 'ss')"
    no_jp = f"regexp_replace({folded}, $jp_forms, '', 'g')"
    kk = f"regexp_replace({no_jp}, '(^|{_SEPARATORS})k\\.k\\.', '\\1 kk ', 'g')"
    words = f"regexp_split_to_array({kk}, '{_SEPARATORS}')"
    return f"array_to_string(list_filter({words}, lambda w: w <> '' AND NOT list_contains($latin_forms, w)), '')"


def name_key(expr: str) -> str:
    """:func:`name_core`, NULL when nothing is left or it is a placeholder (``$placeholders``:
    the placeholders' own cores)."""
    return nz.let(name_core(expr), "n", "CASE WHEN n = '' OR list_contains($placeholders, n) THEN NULL ELSE n END")


def number_key(expr: str) -> str:
    """A corporate number (法人番号): NFKC, hyphens and spaces removed, 13 digits whose first is
    the National Tax Agency's check digit: 9 − (Σ digit × weight mod 9) over the 12 digits that
    follow, weight 1 for the last digit, 2 for the one before, alternating. Else NULL.
    (A spreadsheet cell read as a number may end in ".0"; that is dropped.)"""
    cleaned = f"regexp_replace(regexp_replace({nz.nfkc_if_needed(expr)}, '{_NUMBER_NOISE}', '', 'g'), '\\.0+$', '')"
    # Position p (1-based, 2..13) is the (14 − p)-th digit from the right: weight 1 when p is odd.
    total = "list_sum(list_transform(range(2, 14), lambda p: (ascii(substr(c, p, 1)) - 48) * (2 - p % 2)))"
    body = (f"CASE WHEN regexp_full_match(c, '[1-9][0-9]{{12}}') "
            f"AND ascii(substr(c, 1, 1)) - 48 = 9 - ({total}) % 9 THEN c END")
    return f"CASE WHEN {expr} IS NULL THEN NULL ELSE {nz.let(cleaned, 'c', body)} END"


def name_params(params: dict[str, Any]) -> dict[str, Any]:
    """The bound values :func:`name_key` uses, out of all of ``params`` (DuckDB refuses a
    parameter a statement does not use)."""
    return {k: params[k] for k in ("jp_forms", "latin_forms", "placeholders")}


def placeholder_cores(con: duckdb.DuckDBPyConnection, raw: list[str], params: dict[str, Any]) -> list[str]:
    """The placeholders normalised as names are (so "N/A" is compared as "na")."""
    found = rows(con, f"SELECT DISTINCT {name_core('p')} FROM unnest($raw) t(p)",
                 {"raw": raw, "jp_forms": params["jp_forms"], "latin_forms": params["latin_forms"]})
    return sorted(r[0] for r in found if r[0])


def _keyed(table: str, key_as: str, column: str, kind: str) -> str:
    """The rows of ``table`` (``ma_rows`` / ``sfa_rows``) with their key of one kind: ``n`` (the
    corporate number) or ``c`` (the normalised company name), normalised once per distinct cell
    (a company appears on many rows). A name key needs :func:`name_params` bound."""
    norm = number_key("x") if kind == "n" else name_key("x")
    return f"""SELECT r._key AS {key_as}, '{kind}:' || v.k AS k FROM {table} r
            JOIN (SELECT x, {norm} AS k FROM (SELECT DISTINCT {column} AS x FROM {table}
                  WHERE {column} IS NOT NULL)) v ON v.x = r.{column}
            WHERE r._key IS NOT NULL AND v.k IS NOT NULL"""


def _keys_of(table: str, key_as: str, params: dict[str, Any], *, number: bool,
             company: bool) -> tuple[list[str], dict[str, Any]]:
    """The keyed SELECTs of the corporate number and the company name of ``table``, with the
    values they bind."""
    parts = [_keyed(table, key_as, "corporate_number", "n")] if number else []
    if company:
        parts.append(_keyed(table, key_as, "company", "c"))
    return parts, (name_params(params) if company else {})


def create_account_opps(con: duckdb.DuckDBPyConnection, params: dict[str, Any], *, number: bool,
                        company: bool) -> None:
    """``account_opps``: through the deals' linked leads, and through their own company name or
    corporate number equal to a key of an account (never their email domain)."""
    keys, used = _keys_of("sfa_rows", "opp_key", params, number=number, company=company)
    by_company = (f"""SELECT DISTINCT o.opp_key, a.account, false AS by_lead, true AS by_company
        FROM ({' UNION ALL '.join(keys)}) o JOIN account_keys a USING (k)""" if keys else
                  "SELECT NULL::VARCHAR AS opp_key, NULL::BIGINT AS account, false AS by_lead, false AS by_company WHERE false")
    run(con, f"""
        CREATE OR REPLACE TABLE account_opps AS
        SELECT opp_key, account, bool_or(by_lead) AS by_lead, bool_or(by_company) AS by_company FROM (
            SELECT l.opp_key, a.account, true AS by_lead, false AS by_company
            FROM links l JOIN account_leads a USING (lead_key)
            UNION ALL {by_company})
        GROUP BY opp_key, account""", used or None)


def mark_built(con: duckdb.DuckDBPyConnection, marker: str, rounds: int) -> None:
    """``account_built(marker, rounds)``: what the account tables were last built under."""
    run(con, "CREATE OR REPLACE TABLE account_built AS SELECT $m AS marker, $r::INTEGER AS rounds", {"m": marker, "r": rounds})


def built(con: duckdb.DuckDBPyConnection) -> tuple[str, int] | None:
    """What :func:`mark_built` last wrote (None: no account tables yet)."""
    if not rows(con, "SELECT 1 FROM duckdb_tables() WHERE table_name = 'account_built' AND NOT temporary"):
        return None
    found = rows(con, "SELECT marker, rounds FROM account_built")
    return (str(found[0][0]), int(found[0][1])) if found else None


def members(con: duckdb.DuckDBPyConnection, account: int) -> list[dict[str, Any]]:
    """The leads of one account: key, address as written and company, first created first."""
    return records(con, """SELECT l.lead_key, l.email_raw, l.company FROM account_leads a JOIN leads l USING (lead_key)
        WHERE a.account = $a ORDER BY a.kf""", {"a": account})


def totals(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The contract's account counts (accounts, converted, won, leads_without_account,
    opportunities_by_account_only)."""
    return records(con, """
        SELECT (SELECT count(DISTINCT account) FROM account_leads) AS accounts,
               (SELECT count(DISTINCT account) FROM account_opps) AS converted,
               (SELECT count(DISTINCT a.account) FROM account_opps a JOIN opps o USING (opp_key)
                WHERE o.outcome = 'won') AS won,
               (SELECT count(*) FROM leads) - (SELECT count(*) FROM account_leads) AS leads_without_account,
               (SELECT count(DISTINCT a.opp_key) FROM account_opps a JOIN opps o USING (opp_key)
                WHERE a.by_company AND o.n_leads = 0) AS opportunities_by_account_only""")[0]


def account_sources_sql(touch: str) -> str:
    """One row per account: its source, the source of the first (``last``: the latest) of all
    its leads' rows by created date, ties in file order (the row keys ``_kf``/``_kl``, kept
    per lead in ``account_leads``)."""
    agg, col, lead = ("min", "_kf", "kf") if touch == "first" else ("max", "_kl", "kl")
    return f"""
        SELECT s.account, r.source FROM (SELECT account, {agg}({lead}) AS pos FROM account_leads GROUP BY account) s
        JOIN ma_rows r ON r.{col} = s.pos"""


def by_source(con: duckdb.DuckDBPyConnection, touch: str) -> list[dict[str, Any]]:
    """Accounts, converted and won accounts per account source, most accounts first."""
    return records(con, f"""
        WITH src AS ({account_sources_sql(touch)}),
             conv AS (SELECT a.account, bool_or(o.outcome = 'won') AS won
                      FROM account_opps a JOIN opps o USING (opp_key) GROUP BY a.account)
        SELECT s.source, count(*) AS accounts, count(c.account) AS converted,
               count(*) FILTER (WHERE c.won) AS won
        FROM src s LEFT JOIN conv c USING (account)
        GROUP BY s.source ORDER BY accounts DESC, s.source NULLS LAST""")


def account_list(con: duckdb.DuckDBPyConnection, limit: int) -> list[dict[str, Any]]:
    """The largest accounts (most leads first): a company name as the leads wrote it (the most
    frequent), how the account was formed (how many numbers, names and domains it holds), its
    leads, deals and won deals, and one lead's address (for the caller to mask)."""
    return records(con, """
        WITH c AS (SELECT a.account, l.company, count(*) AS n, min(l.email_raw) AS example
                   FROM account_leads a JOIN leads l USING (lead_key) GROUP BY ALL),
             -- The most frequent spelling; ties to the last in text order (mode() picks any, so the order would change).
             m AS (SELECT account, sum(n)::BIGINT AS leads, arg_max(company, (n, company)) FILTER (WHERE company IS NOT NULL) AS company,
                          min(example) AS example FROM c GROUP BY account),
             k AS (SELECT account, count(*) FILTER (WHERE k LIKE 'n:%') AS numbers,
                          count(*) FILTER (WHERE k LIKE 'c:%') AS names,
                          count(*) FILTER (WHERE k LIKE 'd:%') AS domains,
                          string_agg(substr(k, 3), ', ' ORDER BY k) FILTER (WHERE k LIKE 'd:%') AS domain_list
                   FROM account_keys GROUP BY account),
             o AS (SELECT a.account, count(*) AS opps, count(*) FILTER (WHERE o.outcome = 'won') AS won,
                          count(*) FILTER (WHERE NOT a.by_lead) AS by_company_only
                   FROM account_opps a JOIN opps o USING (opp_key) GROUP BY a.account)
        SELECT m.company, m.leads, k.numbers, k.names, k.domains, k.domain_list, coalesce(o.opps, 0) AS opps,
               coalesce(o.won, 0) AS won, coalesce(o.by_company_only, 0) AS by_company_only, m.example
        FROM m JOIN k USING (account) LEFT JOIN o USING (account)
        ORDER BY m.leads DESC, m.company NULLS LAST, k.domain_list NULLS LAST, m.example LIMIT $n""", {"n": limit})


# The name an account is shown by: the most frequent company spelling of its leads that is a
# name (not a placeholder such as 個人), ties to the last in text order (as :func:`account_list`).
# Needs :func:`name_params` bound.
_NAMES = f"""SELECT account, arg_max(company, (real, n, company)) FILTER (WHERE company IS NOT NULL) AS company FROM (
        SELECT a.account, l.company, {name_key('l.company')} IS NOT NULL AS real, count(*) AS n
        FROM account_leads a JOIN leads l USING (lead_key) GROUP BY ALL)
    GROUP BY account"""
_CONVERTED = """SELECT a.account, bool_or(o.outcome = 'won') AS won, min(o.created_at) AS first_opp_at
    FROM account_opps a JOIN opps o USING (opp_key) GROUP BY a.account"""


def by_month(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Accounts, converted and won accounts per month of the account's first lead (the earliest
    lead creation date of its leads; accounts without any date under NULL, last)."""
    return records(con, f"""
        WITH m AS (SELECT a.account, date_trunc('month', min(l.created_at))::DATE AS month
                   FROM account_leads a JOIN leads l USING (lead_key) GROUP BY a.account),
             c AS ({_CONVERTED})
        SELECT m.month, count(*) AS accounts, count(c.account) AS converted, count(*) FILTER (WHERE c.won) AS won
        FROM m LEFT JOIN c USING (account) GROUP BY m.month ORDER BY m.month NULLS LAST""")


def depths(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Buying-group depth of every account: the leads (people) of the account created on or
    before its first deal's creation (all its leads when it has no deal; a lead or a deal
    without a date counts), whether it converted and won."""
    return records(con, f"""
        WITH c AS ({_CONVERTED})
        SELECT a.account, count(*) FILTER (WHERE c.account IS NULL OR c.first_opp_at IS NULL OR l.created_at IS NULL
                                           OR l.created_at <= c.first_opp_at) AS depth,
               count(*) AS leads, any_value(c.account) IS NOT NULL AS converted, coalesce(any_value(c.won), false) AS won
        FROM account_leads a JOIN leads l USING (lead_key) LEFT JOIN c USING (account)
        GROUP BY a.account ORDER BY a.account""")


def company_only_opps(con: duckdb.DuckDBPyConnection, params: dict[str, Any], touch: str) -> list[dict[str, Any]]:
    """Deals tied to an account only by their own company name or corporate number (no linked
    lead: marketing touched the company, sales' contact was someone else), with the account's
    name, leads and source, largest first."""
    return records(con, f"""
        WITH n AS ({_NAMES}),
             k AS (SELECT account, count(*) AS leads FROM account_leads GROUP BY account),
             s AS ({account_sources_sql(touch)})
        SELECT n.company AS account_name, o.company AS opp_company, o.deal_id, o.deal_name, o.stage, o.outcome,
               o.amount, o.created_at::DATE AS created, o.owner, o.email_raw AS contact, k.leads, s.source
        FROM account_opps a JOIN opps o USING (opp_key) JOIN n USING (account) JOIN k USING (account)
        LEFT JOIN s USING (account)
        WHERE a.by_company AND o.n_leads = 0
        ORDER BY o.created_at DESC NULLS LAST, o.deal_id, o.opp_key""", name_params(params))


def matches(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> list[dict[str, Any]]:
    """How every account was formed: its keys by kind (corporate numbers, names, domains, listed),
    its leads, the leads whose company is a placeholder, and its deals; most leads first."""
    return records(con, f"""
        WITH n AS ({_NAMES}),
             p AS (SELECT a.account, count(*) AS leads, count(DISTINCT a.part) FILTER (WHERE a.named) AS parts,
                          count(*) FILTER (WHERE l.company IS NOT NULL AND list_contains($placeholders, {name_core('l.company')}))
                              AS placeholder_leads
                   FROM account_leads a JOIN leads l USING (lead_key) GROUP BY a.account),
             k AS (SELECT account, count(*) FILTER (WHERE k LIKE 'n:%') AS numbers,
                          count(*) FILTER (WHERE k LIKE 'c:%') AS names,
                          count(*) FILTER (WHERE k LIKE 'd:%') AS domains,
                          string_agg(substr(k, 3), ', ' ORDER BY k) FILTER (WHERE k LIKE 'n:%') AS number_list,
                          string_agg(substr(k, 3), ', ' ORDER BY k) FILTER (WHERE k LIKE 'c:%') AS name_list,
                          string_agg(substr(k, 3), ', ' ORDER BY k) FILTER (WHERE k LIKE 'd:%') AS domain_list,
                          min(k) AS key
                   FROM account_keys GROUP BY account),
             o AS (SELECT account, count(*) AS opps FROM account_opps GROUP BY account)
        SELECT n.company, p.leads, p.placeholder_leads, coalesce(k.numbers, 0) AS numbers, coalesce(k.names, 0) AS names, coalesce(k.domains, 0) AS domains, k.number_list, k.name_list,
               k.domain_list, coalesce(o.opps, 0) AS opps, p.parts, k.key, account
        FROM n JOIN p USING (account) LEFT JOIN k USING (account) LEFT JOIN o USING (account)
        ORDER BY p.leads DESC, n.company NULLS LAST, k.domain_list NULLS LAST, k.name_list NULLS LAST, account""",
                   name_params(params))


def _domain(expr: str) -> str:
    """A domain written in a target list (``example.co.jp``, ``www.example.co.jp``, a URL or an
    address): lower case, scheme, ``www.``, path and anything up to ``@`` removed; NULL when
    what is left does not look like a domain."""
    cleaned = (f"regexp_replace(regexp_replace(regexp_replace(lower(trim({nz.nfkc_if_needed(expr)})), "
               f"'^[a-z]+://', ''), '^.*@|^www\\.', ''), '[/?#:].*$', '')")
    return nz.let(cleaned, "d", "CASE WHEN regexp_full_match(d, '[a-z0-9-]+(\\.[a-z0-9-]+)+') THEN d END")


def target_coverage(con: duckdb.DuckDBPyConnection, params: dict[str, Any], values: list[str]) -> list[dict[str, Any]]:
    """Each entry of a target-account list (in list order) with the account it names: found by
    its corporate number, else its domain, else its normalised name; the account's name, leads,
    deals and won deals (NULL account: not engaged)."""
    return records(con, f"""
        WITH t AS (SELECT i, v FROM unnest($values) WITH ORDINALITY u(v, i)),
             k AS (SELECT i, v, {number_key('v')} AS n, {_domain('v')} AS d, {name_key('v')} AS c FROM t),
             m AS (SELECT k.i, k.v, coalesce(an.account, ad.account, ac.account) AS account,
                          CASE WHEN an.account IS NOT NULL THEN 'number' WHEN ad.account IS NOT NULL THEN 'domain'
                               WHEN ac.account IS NOT NULL THEN 'name' END AS found_by
                   FROM k LEFT JOIN account_keys an ON an.k = 'n:' || k.n
                   LEFT JOIN account_keys ad ON ad.k = 'd:' || k.d
                   LEFT JOIN account_keys ac ON ac.k = 'c:' || k.c),
             n AS ({_NAMES}),
             l AS (SELECT account, count(*) AS leads FROM account_leads GROUP BY account),
             o AS (SELECT a.account, count(*) AS opps, count(*) FILTER (WHERE o.outcome = 'won') AS won
                   FROM account_opps a JOIN opps o USING (opp_key) GROUP BY a.account)
        SELECT m.v AS target, m.found_by, n.company, coalesce(l.leads, 0) AS leads, coalesce(o.opps, 0) AS opps,
               coalesce(o.won, 0) AS won
        FROM m LEFT JOIN n USING (account) LEFT JOIN l USING (account) LEFT JOIN o USING (account)
        ORDER BY m.i""", {"values": values, **name_params(params)})
