"""SQL expressions that normalise raw cells: emails, dates, amounts, plain text.

Each builder takes a SQL expression for the raw (VARCHAR) cell and returns a SQL expression.
Regular expressions are RE2 (DuckDB); the few values that need Unicode NFKC go through the
``nfkc`` UDF, which the ``CASE`` only calls for cells holding non-ASCII characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from funnel.sql import ident, rows

# Python's str.isspace() set, so "trim all whitespace" means the same here as in Python.
_WS = r"[\t\n\x0B\f\r\x1C-\x20\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]"
_FULLWIDTH_DIGITS = ("０１２３４５６７８９，．－／：（）＋", "0123456789,.-/:()+")


def trim_ws(expr: str) -> str:
    """Remove leading and trailing whitespace of every kind (incl. U+3000, NBSP)."""
    return f"regexp_replace({expr}, '^{_WS}+|{_WS}+$', '', 'g')"


def nfkc_if_needed(expr: str) -> str:
    return f"CASE WHEN regexp_matches({expr}, '[^\\x00-\\x7F]') THEN nfkc({expr}) ELSE {expr} END"


def text(expr: str) -> str:
    """A categorical text cell: trimmed; blank and placeholders (N/A, #N/A …) become NULL.

    Needs the bound parameter ``$placeholders`` (see :func:`text_params`).
    """
    t = trim_ws(expr)
    return f"CASE WHEN {t} = '' OR list_contains($placeholders, lower({t})) THEN NULL ELSE {t} END"


def text_params() -> dict[str, Any]:
    from funnel.rules import vocabulary

    return {"placeholders": sorted(vocabulary().placeholders)}


def _email_part(p: str) -> str:
    """One address out of one ``;``/``,`` part: brackets, ``mailto:``, whitespace, case."""
    inner = (f"CASE WHEN regexp_matches({p}, '<[^<>]*@[^<>]*>') THEN regexp_extract({p}, '<([^<>]*@[^<>]*)>', 1) "
             f"WHEN regexp_matches({p}, '\\(([^()]*@[^()]*)\\)') THEN regexp_extract({p}, '\\(([^()]*@[^()]*)\\)', 1) "
             f"ELSE {p} END")
    no_mailto = f"regexp_replace({trim_ws(inner)}, '^(?i:mailto:)', '')"
    return f"lower({trim_ws(no_mailto)})"


EMAIL_VALID = r"^[^@]+@[^@]*\.[^@]*$"


def email_candidates(expr: str) -> str:
    """LIST of every address in a cell after the contract's normalisation (valid or not)."""
    n = nfkc_if_needed(expr)
    return (f"CASE WHEN {expr} IS NULL THEN NULL ELSE list_filter(list_transform(string_split_regex({n}, '[;,]'), "
            f"lambda p: {_email_part('p')}), lambda e: e <> '') END")


def email_list(expr: str) -> str:
    """LIST of the valid normalised addresses in a cell, in cell order (``cli.md`` rules)."""
    return f"list_filter({email_candidates(expr)}, lambda e: regexp_matches(e, '{EMAIL_VALID}'))"


def _prepared_date(expr: str) -> str:
    t = trim_ws(f"translate({expr}, '{_FULLWIDTH_DIGITS[0]}', '{_FULLWIDTH_DIGITS[1]}')")
    # Drop a time-zone suffix after a time: the wall-clock time as exported is what users see
    # in their tool. (A bare "-2026" ending a day-month-year date is not a zone.)
    return (f"regexp_replace({t}, '(?i)(\\d{{1,2}}:\\d{{2}}(:\\d{{2}})?(\\.\\d+)?)\\s*(Z|[+-]\\d{{2}}:?\\d{{2}}|JST|UTC|GMT)$', "
            f"'\\1')")


_YMD = ["%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M",
        "%Y.%m.%d", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日", "%Y年%m月%d日 %H時%M分",
        "%d-%b-%Y", "%d-%b-%y", "%d %b %Y", "%b %d, %Y", "%B %d, %Y", "%d %B %Y"]
_MDY = ["%m/%d/%y %I:%M:%S %p", "%m/%d/%y %I:%M %p", "%m/%d/%y %H:%M:%S", "%m/%d/%y %H:%M", "%m/%d/%y",
        "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y",
        "%m-%d-%Y %H:%M", "%m-%d-%Y", "%m.%d.%Y"]
_DMY = ["%d/%m/%y %H:%M:%S", "%d/%m/%y %H:%M", "%d/%m/%y", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M",
        "%d/%m/%Y", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M",
        "%d.%m.%Y", "%d.%m.%y"]
DATE_ORDERS = ("mdy", "dmy")


def date_formats(order: str) -> list[str]:
    # Day-month formats first: DuckDB's %Y also takes "02" as a year, so "02/03/24" must meet
    # "%m/%d/%y" before "%Y/%m/%d".
    return (_MDY if order == "mdy" else _DMY) + _YMD


def date_value(expr: str, order: str) -> str:
    """TIMESTAMP from a date cell: ISO, slashed, Japanese 年月日 and 和暦, Excel serials.

    ``order`` (``mdy``/``dmy``) settles ``4/1/2025``-style days; it is chosen per column by
    :func:`detect_date_order`. Unparseable cells become NULL. Needs ``$fmt_<order>``.
    """
    p = _prepared_date(expr)
    era = (f"CASE WHEN regexp_matches({p}, '^(令和|平成|昭和|[RrHhSs])\\s*(\\d{{1,2}}|元)[年./-]\\s*\\d{{1,2}}[月./-]\\s*\\d{{1,2}}日?') "
           f"THEN try_cast(make_date(CAST((CASE regexp_extract({p}, '^(令和|平成|昭和|[RrHhSs])', 1) "
           f"WHEN '令和' THEN 2018 WHEN 'R' THEN 2018 WHEN 'r' THEN 2018 WHEN '平成' THEN 1988 WHEN 'H' THEN 1988 "
           f"WHEN 'h' THEN 1988 ELSE 1925 END) + coalesce(try_cast(regexp_extract({p}, '^\\D+\\s*(\\d+)', 1) AS INT), 1) AS BIGINT), "
           f"CAST(regexp_extract({p}, '[年./-]\\s*(\\d{{1,2}})[月./-]', 1) AS BIGINT), "
           f"CAST(regexp_extract({p}, '[月./-]\\s*(\\d{{1,2}})日?\\s*$', 1) AS BIGINT)) AS TIMESTAMP) END")
    serial = (f"CASE WHEN regexp_matches({p}, '^\\d{{5}}(\\.\\d+)?$') AND try_cast({p} AS DOUBLE) BETWEEN 20000 AND 80000 "
              f"THEN TIMESTAMP '1899-12-30' + to_microseconds(CAST(round(try_cast({p} AS DOUBLE) * 86400000000) AS BIGINT)) END")
    compact = (f"CASE WHEN regexp_matches({p}, '^(19|20)\\d{{6}}$') THEN try_strptime({p}, '%Y%m%d') END")
    # DuckDB's cast also reads "02/03/24" as year 2, so it is only trusted on ISO "yyyy-".
    iso = f"CASE WHEN regexp_matches({p}, '^\\d{{4}}-\\d') THEN try_cast({p} AS TIMESTAMP) END"
    value = f"coalesce({iso}, try_strptime({p}, $fmt_{order}), {era}, {serial}, {compact})"
    # Years outside 1900–2199 are misreadings, not dates anyone exported.
    return (f"(SELECT CASE WHEN d >= TIMESTAMP '1900-01-01' AND d < TIMESTAMP '2200-01-01' THEN d END "
            f"FROM (SELECT {value} AS d))")


def date_params(orders: Sequence[str] = DATE_ORDERS) -> dict[str, Any]:
    """Bound format lists for the ``orders`` a query uses (DuckDB refuses unused parameters)."""
    return {f"fmt_{o}": date_formats(o) for o in sorted(set(orders))}


def detect_date_order(con: duckdb.DuckDBPyConnection, table: str, column: str) -> tuple[str, bool]:
    """``(order, ambiguous)`` for the ``a/b/yyyy`` cells of a column.

    A first part above 12 proves day-first, a second part above 12 proves month-first. With no
    proof either way, slashes read month-first (US-style Salesforce, Marketo, Zoho exports)
    and dots or dashes day-first (European and Indian re-saves).
    """
    c = ident(column)
    first, second, slash, other = rows(con, f"""
        SELECT count(*) FILTER (WHERE try_cast(regexp_extract({c}, '^\\s*(\\d{{1,2}})[/.-]\\d{{1,2}}[/.-]\\d', 1) AS INT) > 12),
               count(*) FILTER (WHERE try_cast(regexp_extract({c}, '^\\s*\\d{{1,2}}[/.-](\\d{{1,2}})[/.-]\\d', 1) AS INT) > 12),
               count(*) FILTER (WHERE regexp_matches({c}, '^\\s*\\d{{1,2}}/\\d{{1,2}}/\\d')),
               count(*) FILTER (WHERE regexp_matches({c}, '^\\s*\\d{{1,2}}[.-]\\d{{1,2}}[.-]\\d'))
        FROM {ident(table)} WHERE _drop IS NULL""")[0]
    if second and not first:
        return "mdy", False
    if first and not second:
        return "dmy", False
    if first and second:
        return ("mdy" if second >= first else "dmy"), True
    return ("mdy" if slash >= other else "dmy"), False


def amount_value(expr: str) -> str:
    """DOUBLE from a money or number cell: ¥/￥/$/JPY/円, commas, (1,000) and ▲ negatives,
    万/億/k/M multipliers, European ``1.234,56``. Unparseable cells become NULL."""
    s = trim_ws(f"translate({expr}, '{_FULLWIDTH_DIGITS[0]}', '{_FULLWIDTH_DIGITS[1]}')")
    neg = f"(regexp_matches({s}, '^\\(.*\\)$') OR regexp_matches({s}, '^[-▲△−]'))"
    mult = (f"(CASE WHEN regexp_matches({s}, '億') THEN 1e8 WHEN regexp_matches({s}, '万') THEN 1e4 "
            f"WHEN regexp_matches({s}, '千') THEN 1e3 WHEN regexp_matches({s}, '(?i)\\d\\s*k$') THEN 1e3 "
            f"WHEN regexp_matches({s}, '(?i)\\d\\s*(m|mm)$') THEN 1e6 WHEN regexp_matches({s}, '(?i)\\d\\s*(b|bn)$') THEN 1e9 "
            f"ELSE 1 END)")
    core = f"regexp_replace({s}, '[^0-9.,]', '', 'g')"
    euro = f"(regexp_matches({core}, '^\\d{{1,3}}(\\.\\d{{3}})+(,\\d+)?$') OR regexp_matches({core}, '^\\d+,\\d{{1,2}}$'))"
    number = (f"try_cast(CASE WHEN {euro} THEN replace(replace({core}, '.', ''), ',', '.') "
              f"ELSE replace({core}, ',', '') END AS DOUBLE)")
    return (f"CASE WHEN {expr} IS NULL OR NOT regexp_matches({s}, '\\d') THEN NULL "
            f"ELSE {number} * {mult} * (CASE WHEN {neg} THEN -1 ELSE 1 END) END")


def bind(params: Sequence[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in params:
        out.update(p)
    return out
