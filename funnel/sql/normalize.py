"""SQL expressions that normalise raw cells: emails, dates, amounts, plain text.

Each builder takes a SQL expression for the raw (VARCHAR) cell and returns a SQL expression.
Regular expressions are RE2 (DuckDB); the few values that need Unicode NFKC go through the
``nfkc`` UDF, which the ``CASE`` only calls for cells holding non-ASCII characters.

Speed: a million-row export must normalise in well under a second, so each builder first
tests for the common, clean shape of a cell (a plain address, a plain number, the column's
own date format, text without edge whitespace) and returns it directly; only the other cells
take the general path. The fast path gives exactly what the general path would for the
cells it accepts (tests check both paths on the same inputs). DuckDB does not share repeated
sub-expressions, so the general paths bind intermediate values once with :func:`let`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

import duckdb

from funnel.sql import ident, rows
from funnel.vocabulary import vocabulary

# Python's str.isspace() set, so "trim all whitespace" means the same here as in Python.
_WS = r"[\t\n\x0B\f\r\x1C-\x20\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]"
_FULLWIDTH_DIGITS = ("０１２３４５６７８９，．－／：（）＋", "0123456789,.-/:()+")


def trim_ws(expr: str) -> str:
    """Remove leading and trailing whitespace of every kind (incl. U+3000, NBSP)."""
    return f"regexp_replace({expr}, '^{_WS}+|{_WS}+$', '', 'g')"


def let(value: str, name: str, body: str) -> str:
    """``body`` with ``name`` bound to ``value``, computed once per row."""
    return f"list_transform([{value}], lambda {name}: {body})[1]"


# Any whitespace at either end of a cell (RE2 \s is ASCII-only, so the rest are listed).
_EDGE_WS = (r"^[\s\x0B\x1C-\x1F\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]"
            r"|[\s\x0B\x1C-\x1F\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]$")


def _nfkc_tables() -> tuple[str, str, str]:
    """``(translate-from, translate-to, regex class of characters needing the UDF)``.

    Derived from Python's own NFKC so SQL and Python agree: characters whose NFKC is one
    ASCII character (full-width ASCII, the ideographic space) are translated in SQL; kana,
    kanji and Japanese punctuation that NFKC leaves alone (and that do not combine with a
    neighbour) need nothing; any other non-ASCII character sends the cell to the UDF.
    """
    src, dst, safe = [], [], []
    for cp in (*range(0x3000, 0x3100), *range(0x4E00, 0xA000), *range(0xFF00, 0xFF5F)):
        c = chr(cp)
        n = unicodedata.normalize("NFKC", c)
        if unicodedata.combining(c) or cp in (0x309B, 0x309C):
            continue
        if n == c:
            safe.append(cp)
        elif len(n) == 1 and ord(n) < 0x80 and n not in "'\\":
            src.append(c)
            dst.append(n)
    ranges, start = [], None
    for a, b in zip(safe, [*safe[1:], None], strict=True):
        start = a if start is None else start
        if b != a + 1:
            ranges.append(f"\\x{{{start:X}}}-\\x{{{a:X}}}" if a != start else f"\\x{{{a:X}}}")
            start = None
    return "".join(src), "".join(dst), "[^\\x00-\\x7F" + "".join(ranges) + "".join(
        f"\\x{{{ord(c):X}}}" for c in src) + "]"


_NFKC_FROM, _NFKC_TO, _NFKC_OTHER = _nfkc_tables()


def nfkc_if_needed(expr: str) -> str:
    """Unicode NFKC of a cell, doing in SQL what SQL can (see :func:`_nfkc_tables`).

    DuckDB's ``translate`` with the ~95-character full-width map costs ~2.5 µs a cell (more
    than the Python UDF), so it only runs on cells holding a full-width ASCII form: a cell of
    kanji/kana and ASCII is already NFKC, and one whose only foldable character is the
    ideographic space needs a plain ``replace``.
    """
    # Full-width ASCII forms (the two that are not translated, ＇ and ＼, took the UDF above).
    return (f"CASE WHEN NOT regexp_matches({expr}, '[^\\x00-\\x7F]') THEN {expr} "
            f"WHEN regexp_matches({expr}, '{_NFKC_OTHER}') THEN nfkc({expr}) "
            f"WHEN regexp_matches({expr}, '[\\x{{FF01}}-\\x{{FF5E}}]') "
            f"THEN translate({expr}, '{_NFKC_FROM}', '{_NFKC_TO}') "
            f"WHEN contains({expr}, '\u3000') THEN replace({expr}, '\u3000', ' ') "
            f"ELSE {expr} END")


def text(expr: str) -> str:
    """A categorical text cell: trimmed; blank and placeholders (N/A, #N/A …) become NULL.

    Needs the bound parameters of :func:`text_params`.
    """
    general = let(trim_ws(expr), "t", "CASE WHEN t = '' OR list_contains($placeholders, lower(t)) THEN NULL ELSE t END")
    return (f"CASE WHEN {expr} IS NULL OR {expr} = '' THEN NULL "
            f"WHEN regexp_matches({expr}, '{_EDGE_WS}') THEN {general} "
            f"WHEN regexp_full_match({expr}, $placeholder_re) THEN NULL ELSE {expr} END")


def text_params() -> dict[str, Any]:
    found = sorted(vocabulary().placeholders)
    # The same set as a case-insensitive whole-cell pattern, for cells that need no trimming.
    return {"placeholders": found, "placeholder_re": "(?i)" + "|".join(re.escape(p) for p in found)}


def _email_part(p: str) -> str:
    """One address out of one ``;``/``,`` part: brackets, ``mailto:``, whitespace, case."""
    inner = (f"CASE WHEN regexp_matches({p}, '<[^<>]*@[^<>]*>') THEN regexp_extract({p}, '<([^<>]*@[^<>]*)>', 1) "
             f"WHEN regexp_matches({p}, '\\(([^()]*@[^()]*)\\)') THEN regexp_extract({p}, '\\(([^()]*@[^()]*)\\)', 1) "
             f"ELSE {p} END")
    no_mailto = f"regexp_replace({trim_ws(inner)}, '^(?i:mailto:)', '')"
    return f"lower({trim_ws(no_mailto)})"


EMAIL_VALID = r"^[^@]+@[^@]*\.[^@]*$"


def email_candidates(expr: str) -> str:
    """LIST of every address in a cell after the contract's normalisation (valid or not).

    A cell without ``;`` or ``,`` is one part: it skips the split and the per-part lambda.
    """
    several = (f"list_filter(list_transform(string_split_regex(n, '[;,]'), lambda p: {_email_part('p')}), "
               "lambda e: e <> '')")
    one = f"list_filter([{_email_part('n')}], lambda e: e <> '')"
    body = f"CASE WHEN contains(n, ';') OR contains(n, ',') THEN {several} ELSE {one} END"
    return f"CASE WHEN {expr} IS NULL THEN NULL ELSE {let(nfkc_if_needed(expr), 'n', body)} END"


# A cell that is just one plain ASCII address: the contract's normalisation of it is lower().
FAST_EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+"


# A character that is not ASCII, or is ";" or ",". A cell without one is its own NFKC and one
# part, so the general path gives the address of that one part when valid (_plain_general).
_NOT_PLAIN = r"[^\x00-\x2B\x2D-\x3A\x3C-\x7F]"


def _plain_general(expr: str) -> str:
    """The general path for a cell without a :data:`_NOT_PLAIN` character, without lambdas.

    ``regexp_extract_all`` of the anchored :data:`EMAIL_VALID` is ``[part]`` when the part is a
    valid address and ``[]`` otherwise (an empty part is not valid): what the general path's
    two ``list_filter`` give for a one-part cell."""
    return f"regexp_extract_all({_email_part(expr)}, '{EMAIL_VALID}')"


def email_list(expr: str) -> str:
    """LIST of the valid normalised addresses in a cell, in cell order (``cli.md`` rules).

    Fast tiers before the general path: a plain ASCII address (lower-cased), a named one
    (:data:`NAMED_EMAIL`), then one padded with spaces or written in full-width characters,
    whose NFKC is exactly the SQL translation and whose trimming is a plain trim (anything else — a tab, NBSP, brackets,
    several addresses — fails the pattern and goes on to the general path).

    Speed: no regular expression sits inside a lambda on the way of a one-part ASCII cell.
    DuckDB builds a lambda's body anew for every 2,048-row vector, compiling each RE2 pattern
    in it again (about 50 µs each), so the few cells that leave the fast tiers, spread over
    every vector of a large export, used to cost more than all the fast cells together.
    """
    general = f"list_filter({email_candidates(expr)}, lambda e: regexp_matches(e, '{EMAIL_VALID}'))"
    general = (f"CASE WHEN NOT regexp_matches({expr}, '{_NOT_PLAIN}') THEN {_plain_general(expr)} "
               f"ELSE {general} END")
    # translate() is slow with a long map, so padding (ASCII or ideographic spaces) is tried
    # first with a trim, and only cells still failing are translated from full width.
    padded = f"trim({expr}, ' \u3000')"
    translated = f"trim(translate({expr}, '{_NFKC_FROM}', '{_NFKC_TO}'))"
    # Only a cell holding full-width forms can pass the third tier: the others skip its costly
    # translate(). The anchored regexp_extract is the translated cell when it is a plain
    # address ('' otherwise; an address is never empty), so the lambda's body has no pattern.
    wide = let(f"regexp_extract({translated}, '^(?:{FAST_EMAIL})$')", "t", "CASE WHEN t <> '' THEN [lower(t)] END")
    tier3 = f"coalesce(CASE WHEN regexp_matches({expr}, '[\\x{{FF01}}-\\x{{FF5E}}]') THEN {wide} END, {general})"
    tier2 = f"CASE WHEN regexp_full_match({padded}, '{FAST_EMAIL}') THEN [lower({padded})] ELSE {tier3} END"
    return (f"CASE WHEN {expr} IS NULL THEN NULL WHEN regexp_full_match({expr}, '{FAST_EMAIL}') "
            f"THEN [lower({expr})] WHEN regexp_full_match({expr}, '{NAMED_EMAIL}') "
            f"THEN [lower(regexp_extract({expr}, '{NAMED_EMAIL}', 1))] ELSE {tier2} END")


# "山田 太郎 <taro@example.co.jp>" (a mail client's form): a name of ASCII letters, spaces, kana
# and kanji (characters NFKC leaves alone, none a separator or bracket), then one plain address
# in angle brackets. The general path gives exactly the lower-cased address for these.
NAMED_EMAIL = (r"[A-Za-z0-9 ._\-\x{3041}-\x{3096}\x{30A1}-\x{30FA}\x{4E00}-\x{9FFF}]*<("
               + FAST_EMAIL + ")>")


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


def date_value(expr: str, order: str, fast: str | Sequence[str] | None = None) -> str:
    """TIMESTAMP from a date cell: ISO, slashed, Japanese 年月日 and 和暦, Excel serials.

    ``order`` (``mdy``/``dmy``) settles ``4/1/2025``-style days; it is chosen per column by
    :func:`detect_date_order`. Unparseable cells become NULL. Needs ``$fmt_<order>``, and
    ``fast`` names a bound parameter holding the column's own format (:func:`best_date_format`),
    tried first.
    """
    general = _general_date(expr, order)
    if not fast:
        return general
    names = [fast] if isinstance(fast, str) else list(fast)
    tries = ", ".join(f"try_strptime({expr}, ${n})" for n in names)
    return f"CASE WHEN {expr} IS NULL THEN NULL ELSE coalesce({tries}, {general}) END"


def _general_date(expr: str, order: str) -> str:
    p = _prepared_date(expr)
    # try(): make_date raises on a day that does not exist (令和7年2月30日), try_cast does not catch
    # that. The era year is the number right after the era name; 元年 (no number) is year 1.
    era = (f"CASE WHEN regexp_matches({p}, '^(令和|平成|昭和|[RrHhSs])\\s*(\\d{{1,2}}|元)[年./-]\\s*\\d{{1,2}}[月./-]\\s*\\d{{1,2}}日?') "
           f"THEN try_cast(try(make_date(CAST((CASE regexp_extract({p}, '^(令和|平成|昭和|[RrHhSs])', 1) "
           f"WHEN '令和' THEN 2018 WHEN 'R' THEN 2018 WHEN 'r' THEN 2018 WHEN '平成' THEN 1988 WHEN 'H' THEN 1988 "
           f"WHEN 'h' THEN 1988 ELSE 1925 END) + coalesce(try_cast(regexp_extract({p}, '^(?:令和|平成|昭和|[RrHhSs])\\s*(\\d+)', 1) AS INT), 1) AS BIGINT), "
           f"CAST(regexp_extract({p}, '[年./-]\\s*(\\d{{1,2}})[月./-]', 1) AS BIGINT), "
           f"CAST(regexp_extract({p}, '[月./-]\\s*(\\d{{1,2}})日?\\s*$', 1) AS BIGINT))) AS TIMESTAMP) END")
    serial = (f"CASE WHEN regexp_matches({p}, '^\\d{{5}}(\\.\\d+)?$') AND try_cast({p} AS DOUBLE) BETWEEN 20000 AND 80000 "
              f"THEN TIMESTAMP '1899-12-30' + to_microseconds(CAST(round(try_cast({p} AS DOUBLE) * 86400000000) AS BIGINT)) END")
    compact = (f"CASE WHEN regexp_matches({p}, '^(19|20)\\d{{6}}$') THEN try_strptime({p}, '%Y%m%d') END")
    # DuckDB's cast also reads "02/03/24" as year 2, so it is only trusted on ISO "yyyy-".
    iso = f"CASE WHEN regexp_matches({p}, '^\\d{{4}}-\\d') THEN try_cast({p} AS TIMESTAMP) END"
    value = f"coalesce({iso}, try_strptime({p}, $fmt_{order}), {era}, {serial}, {compact})"
    # Years outside 1900–2199 are misreadings, not dates anyone exported.
    return let(value, "d", "CASE WHEN d >= TIMESTAMP '1900-01-01' AND d < TIMESTAMP '2200-01-01' THEN d END")


def date_params(orders: Iterable[str] = DATE_ORDERS) -> dict[str, Any]:
    """Bound format lists for the ``orders`` a query uses (DuckDB refuses unused parameters)."""
    return {f"fmt_{o}": date_formats(o) for o in sorted(set(orders))}


DATE_SAMPLE_ROWS = 100_000
FORMAT_SAMPLE_ROWS = 2_000


def detect_date_order(con: duckdb.DuckDBPyConnection, table: str, column: str) -> tuple[str, bool]:
    """``(order, ambiguous)`` for the ``a/b/yyyy`` cells of a column.

    A first part above 12 proves day-first, a second part above 12 proves month-first. With no
    proof either way, slashes read month-first (US-style Salesforce, Marketo, Zoho exports)
    and dots or dashes day-first (European and Indian re-saves). The first
    :data:`DATE_SAMPLE_ROWS` filled cells decide (a day above 12 shows up within days).
    """
    c = ident(column)
    first, second, slash, other = rows(con, f"""
        SELECT count(*) FILTER (WHERE try_cast(regexp_extract(x, '^\\s*(\\d{{1,2}})[/.-]\\d{{1,2}}[/.-]\\d', 1) AS INT) > 12),
               count(*) FILTER (WHERE try_cast(regexp_extract(x, '^\\s*\\d{{1,2}}[/.-](\\d{{1,2}})[/.-]\\d', 1) AS INT) > 12),
               count(*) FILTER (WHERE regexp_matches(x, '^\\s*\\d{{1,2}}/\\d{{1,2}}/\\d')),
               count(*) FILTER (WHERE regexp_matches(x, '^\\s*\\d{{1,2}}[.-]\\d{{1,2}}[.-]\\d'))
        FROM (SELECT {c} AS x FROM {ident(table)} WHERE _drop IS NULL AND {c} IS NOT NULL LIMIT $n)""",
        {"n": DATE_SAMPLE_ROWS})[0]
    if second and not first:
        return "mdy", False
    if first and not second:
        return "dmy", False
    if first and second:
        return ("mdy" if second >= first else "dmy"), True
    return ("mdy" if slash >= other else "dmy"), False


def best_date_format(con: duckdb.DuckDBPyConnection, table: str, column: str, order: str) -> list[str]:
    """The strptime formats that read a column's cells (its fast path), most cells first.

    Chosen on a sample: formats are added, best first, until they read 95% of the sampled
    cells (at most three; a column often mixes dates and date-times), each reading only years
    in 1900–2199. An empty list: no format reads even half, the column takes the general path.
    """
    c = ident(column)
    formats = date_formats(order)
    # Per cell, the first format that reads it (a strptime format must be a constant, so each
    # is its own expression).
    first = "CASE " + " ".join(f"WHEN try_strptime(x, $f{i}) BETWEEN TIMESTAMP '1900-01-01' AND TIMESTAMP '2199-12-31' "
                               f"THEN {i}" for i in range(len(formats))) + " END"
    found = rows(con, f"""
        SELECT k, count(*) FROM (SELECT {first} AS k
        FROM (SELECT {c} AS x FROM {ident(table)} WHERE _drop IS NULL AND {c} IS NOT NULL LIMIT $n)) GROUP BY k""",
        {"n": FORMAT_SAMPLE_ROWS, **{f"f{i}": f for i, f in enumerate(formats)}})
    total = sum(n for _, n in found)
    read = sorted(((n, k) for k, n in found if k is not None), reverse=True)
    if not read or read[0][0] * 2 < total:
        return []
    chosen, covered = [], 0
    for n, k in read[:3]:
        chosen.append(formats[k])
        covered += n
        if covered >= 0.95 * total:
            break
    return chosen


def amount_value(expr: str) -> str:
    """DOUBLE from a money or number cell: ¥/￥/$/JPY/円, commas, (1,000) and ▲ negatives,
    万/億/k/M multipliers, European ``1.234,56``. Unparseable cells become NULL."""
    cleaned = trim_ws(f"translate({expr}, '{_FULLWIDTH_DIGITS[0]}', '{_FULLWIDTH_DIGITS[1]}')")
    neg = "(regexp_matches(s, '^\\(.*\\)$') OR regexp_matches(s, '^[-▲△−]'))"
    mult = ("(CASE WHEN regexp_matches(s, '億') THEN 1e8 WHEN regexp_matches(s, '万') THEN 1e4 "
            "WHEN regexp_matches(s, '千') THEN 1e3 WHEN regexp_matches(s, '(?i)\\d\\s*k$') THEN 1e3 "
            "WHEN regexp_matches(s, '(?i)\\d\\s*(m|mm)$') THEN 1e6 WHEN regexp_matches(s, '(?i)\\d\\s*(b|bn)$') THEN 1e9 "
            "ELSE 1 END)")
    euro = "(regexp_matches(c, '^\\d{1,3}(\\.\\d{3})+(,\\d+)?$') OR regexp_matches(c, '^\\d+,\\d{1,2}$'))"
    number = (f"try_cast(CASE WHEN {euro} THEN replace(replace(c, '.', ''), ',', '.') "
              "ELSE replace(c, ',', '') END AS DOUBLE)")
    core = let("regexp_replace(s, '[^0-9.,]', '', 'g')", "c", number)
    body = (f"CASE WHEN NOT regexp_matches(s, '\\d') THEN NULL "
            f"ELSE {core} * {mult} "
            f"* (CASE WHEN {neg} THEN -1 ELSE 1 END) END")
    general = let(cleaned, "s", body)
    return (f"CASE WHEN {expr} IS NULL THEN NULL "
            f"WHEN regexp_full_match({expr}, '-?[0-9]+(\\.[0-9]+)?') THEN CAST({expr} AS DOUBLE) "
            f"WHEN regexp_full_match({expr}, '{MONEY}') "
            f"THEN CAST(regexp_replace({expr}, '[^0-9.]', '', 'g') AS DOUBLE) ELSE {general} END")


# The usual money cell — ``¥1,234,567``, ``$923.00 ``, ``JPY 1,234``, ``1,234円`` — read by the
# second fast tier: digits in groups of three, no sign, no multiplier (the general path's
# result for these is the same number).
MONEY = r"\s*(¥|\$|JPY|USD)?\s*[0-9]{1,3}(,[0-9]{3})*(\.[0-9]+)?\s*(円)?\s*"
