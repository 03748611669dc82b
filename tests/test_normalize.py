"""The SQL normalisation rules, table-driven: emails exactly as contracts/cli.md defines them,
dates, amounts and placeholder text."""

from __future__ import annotations

import datetime as dt

import pytest

from funnel.sql import normalize as nz
from funnel.sql import rows, run


def evaluate(con, build, values, params=None):
    """Apply a SQL expression builder to each value; results in input order."""
    run(con, "CREATE OR REPLACE TABLE v AS SELECT unnest($v) AS x, generate_subscripts($v, 1) AS i",
        {"v": list(values)})
    return [r[0] for r in rows(con, f"SELECT {build('x')} FROM v ORDER BY i", params or {})]


EMAILS = [
    # (cell, valid normalised addresses in order) — cli.md "Email normalisation"
    ("Taro@Example.co.jp", ["taro@example.co.jp"]),                 # lower-case the whole address
    ("ＴＡＲＯ＠ＥＸＡＭＰＬＥ．ＪＰ", ["taro@example.jp"]),          # NFKC full-width
    ("\u3000 taro@example.jp \t", ["taro@example.jp"]),              # trim incl. U+3000
    ("\u00a0taro@example.jp\u00a0", ["taro@example.jp"]),            # NBSP
    ("mailto:Taro@example.jp", ["taro@example.jp"]),                 # drop mailto:
    ("MAILTO:taro@example.jp", ["taro@example.jp"]),
    ("山田 太郎 <Taro@Example.jp>", ["taro@example.jp"]),              # Name <addr>
    ("Taro Yamada (taro@example.jp)", ["taro@example.jp"]),          # Name (addr)
    ("山田 太郎（ＴＡＲＯ＠ＥＸ．ＪＰ）", ["taro@ex.jp"]),                # full-width brackets via NFKC
    ("a@x.jp; b@y.jp", ["a@x.jp", "b@y.jp"]),                        # several per cell, ;
    ("a@x.jp,b@y.jp", ["a@x.jp", "b@y.jp"]),                         # and ,
    ("Taro Yamada (t@x.jp);Hanako Sato (h@x.jp)", ["t@x.jp", "h@x.jp"]),  # HubSpot Associated Contact
    ("Yamada, Taro <t@x.jp>", ["t@x.jp"]),                           # comma inside the name part
    ("<mailto:Z@z.jp>", ["z@z.jp"]),
    ("tanaka@example", []),                                           # domain without a dot
    ("@example.jp", []),                                              # empty local part
    ("a@@example.jp", []),                                            # two @
    ("なし", []),
    ("", []),
    ("a@x.jp; bad; c@y.jp", ["a@x.jp", "c@y.jp"]),                   # invalid parts dropped
]


@pytest.mark.parametrize(("cell", "expected"), EMAILS)
def test_email_rules(con, cell, expected):
    assert evaluate(con, nz.email_list, [cell]) == [expected]


def test_email_null_cell_has_no_addresses(con):
    assert evaluate(con, nz.email_list, [None]) == [None]


DATES = [
    ("2025/04/01", "mdy", dt.datetime(2025, 4, 1)),
    ("2025/4/1", "mdy", dt.datetime(2025, 4, 1)),
    ("2025-04-01 10:00", "mdy", dt.datetime(2025, 4, 1, 10, 0)),
    ("2025/04/01 10:00", "dmy", dt.datetime(2025, 4, 1, 10, 0)),
    ("2024-01-22T20:36:47.000+0000", "mdy", dt.datetime(2024, 1, 22, 20, 36, 47)),
    ("2025-04-01T10:00:00Z", "mdy", dt.datetime(2025, 4, 1, 10, 0)),
    ("4/1/2025", "mdy", dt.datetime(2025, 4, 1)),
    ("4/1/2025 10:00 AM", "mdy", dt.datetime(2025, 4, 1, 10, 0)),
    ("8/6/2020 15:38", "mdy", dt.datetime(2020, 8, 6, 15, 38)),
    ("02/03/24", "mdy", dt.datetime(2024, 2, 3)),                    # two-digit year, US order
    ("06-08-2020 15:38", "dmy", dt.datetime(2020, 8, 6, 15, 38)),     # Indian re-save
    ("01.02.2018", "dmy", dt.datetime(2018, 2, 1)),
    ("2018.02.26 19:58", "dmy", dt.datetime(2018, 2, 26, 19, 58)),    # Hungarian re-save
    ("05-Mar-2026", "dmy", dt.datetime(2026, 3, 5)),
    ("2025年4月1日", "mdy", dt.datetime(2025, 4, 1)),
    ("令和7年4月1日", "mdy", dt.datetime(2025, 4, 1)),
    ("R7.4.1", "mdy", dt.datetime(2025, 4, 1)),
    ("平成31年4月30日", "mdy", dt.datetime(2019, 4, 30)),
    ("２０２５／０４／０１", "mdy", dt.datetime(2025, 4, 1)),          # full-width digits
    ("45383", "mdy", dt.datetime(2024, 4, 1)),                        # Excel serial
    ("45383.5", "mdy", dt.datetime(2024, 4, 1, 12, 0)),
    ("20250401", "mdy", dt.datetime(2025, 4, 1)),
    ("garbage", "mdy", None),
    ("13/13/2025", "mdy", None),
    ("", "mdy", None),
]


@pytest.mark.parametrize(("cell", "order", "expected"), DATES)
def test_date_parsing(con, cell, order, expected):
    assert evaluate(con, lambda x: nz.date_value(x, order), [cell], nz.date_params([order])) == [expected]


@pytest.mark.parametrize(("cells", "expected"), [
    (["4/23/2020", "1/2/2020"], ("mdy", False)),       # second part > 12 proves month-first
    (["23/04/2020", "1/2/2020"], ("dmy", False)),      # first part > 12 proves day-first
    (["1/2/2020", "3/4/2020"], ("mdy", False)),        # slashes without proof: US export
    (["01.02.2018", "03.04.2018"], ("dmy", False)),    # dots without proof: European
    (["13/01/2020", "01/13/2020", "12/25/2020"], ("mdy", True)),   # mixed: majority, flagged
])
def test_date_order_detection(con, cells, expected):
    run(con, "CREATE OR REPLACE TABLE d AS SELECT unnest($v) AS c, NULL::VARCHAR AS _drop", {"v": cells})
    assert nz.detect_date_order(con, "d", "c") == expected


AMOUNTS = [
    ("¥1,234,567", 1234567.0), ("￥１２３", 123.0), ("$923.00 ", 923.0), ("JPY 1,234,567", 1234567.0),
    ("1,234円", 1234.0), ("(1,000)", -1000.0), ("▲500", -500.0), ("-3", -3.0), ("45k", 45000.0),
    ("1.2M", 1200000.0), ("120万", 1200000.0), ("1.2億", 120000000.0), ("$1,77,000.00 ", 177000.0),
    ("1.234,56", 1234.56), ("12,50", 12.5), ("1,234", 1234.0), ("abc", None), ("", None), (None, None),
]


@pytest.mark.parametrize(("cell", "expected"), AMOUNTS)
def test_amount_parsing(con, cell, expected):
    assert evaluate(con, nz.amount_value, [cell]) == [expected]


def test_text_trims_and_blanks_placeholders(con):
    cells = ["  展示会\u3000", "N/A", "#N/A", "", None, "Select", "Web"]
    assert evaluate(con, nz.text, cells, nz.text_params()) == ["展示会", None, None, None, None, None, "Web"]


# -- the fast paths and the SQL NFKC agree with the general definitions -----------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as hs  # noqa: E402

# Characters real exports hold: ASCII, full-width forms, kana (incl. half-width and combining
# marks), kanji, circled numbers, ㈱, ligatures, odd spaces.
_ALPHABET = hs.sampled_from(
    [chr(c) for c in (*range(0x20, 0x7F), *range(0xFF01, 0xFF9F), *range(0x3000, 0x3100), 0x4E00, 0x9AD9,
                      0x2460, 0x2461, 0x3231, 0xFB01, 0x00A0, 0x2003, 0x3099, 0x309A)])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hs.lists(hs.text(_ALPHABET, max_size=12), min_size=1, max_size=20))
def test_sql_nfkc_equals_python_nfkc(con, cells):
    import unicodedata

    got = evaluate(con, nz.nfkc_if_needed, cells)
    assert got == [unicodedata.normalize("NFKC", c) for c in cells]


_EMAILISH = hs.text(hs.sampled_from(list("abcXYZ09._%+-@ <>();,:mailto") + ["＠", "．", "\u3000", "山"]), max_size=30)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hs.lists(_EMAILISH, min_size=1, max_size=20))
def test_email_fast_path_agrees_with_the_general_path(con, cells):
    general = lambda x: f"list_filter({nz.email_candidates(x)}, lambda e: regexp_matches(e, '{nz.EMAIL_VALID}'))"  # noqa: E731
    assert evaluate(con, nz.email_list, cells) == evaluate(con, general, cells)


# ASCII cells without ";" or ",": the general path's lambda-free form (nz._plain_general),
# with every ASCII whitespace and control character the trims and brackets meet.
_ASCII_ONE_PART = hs.text(hs.sampled_from(list("aZ09._%+-@ <>():MAILTOmailto\"'") + ["\t", "\n", "\x0b", "\x1c", "\x7f"]),
                          max_size=30)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hs.lists(_ASCII_ONE_PART, min_size=1, max_size=20))
def test_plain_one_part_email_agrees_with_the_general_path(con, cells):
    general = lambda x: f"list_filter({nz.email_candidates(x)}, lambda e: regexp_matches(e, '{nz.EMAIL_VALID}'))"  # noqa: E731
    assert evaluate(con, nz.email_list, cells) == evaluate(con, general, cells)


# "Name <address>" cells, with names that the named tier must take (ASCII, kana, kanji) and
# must leave to the general path (half-width kana, full-width brackets, separators, tabs).
_NAME = hs.text(hs.sampled_from(list("Ab9 ._-;,()\t") + ["山", "田", "タ", "ろ", "ｱ", "＜", "＞", "\u3000", "\u3099"]),
                max_size=8)
_ADDR = hs.text(hs.sampled_from(list("aZ0.-@+")), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hs.lists(hs.tuples(_NAME, _ADDR, hs.sampled_from(["", " ", ">", "\u3000"])), min_size=1, max_size=20))
def test_named_email_tier_agrees_with_the_general_path(con, parts):
    cells = [f"{name}<{addr}>{tail}" for name, addr, tail in parts]
    general = lambda x: f"list_filter({nz.email_candidates(x)}, lambda e: regexp_matches(e, '{nz.EMAIL_VALID}'))"  # noqa: E731
    assert evaluate(con, nz.email_list, cells) == evaluate(con, general, cells)


def test_named_email_is_its_address(con):
    cells = ["山田 太郎 <Taro.Yamada@Example.co.jp>", "Sato Hanako<h-sato@example.jp>", "<a@b.co>"]
    assert evaluate(con, nz.email_list, cells) == [["taro.yamada@example.co.jp"], ["h-sato@example.jp"], ["a@b.co"]]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hs.lists(hs.text(hs.sampled_from(list("0123456789-.,¥$ 万億k()▲") + ["１", "円"]), max_size=12),
                min_size=1, max_size=20))
def test_amount_fast_path_agrees_with_the_general_path(con, cells):
    # The general path alone: the same builder with a fast-path pattern that never matches.
    fast_pattern = "'-?[0-9]+(\\.[0-9]+)?'"
    assert fast_pattern in nz.amount_value("x")          # else this test would compare a path with itself
    general = lambda x: nz.amount_value(x).replace(fast_pattern, "'a^'")  # noqa: E731
    assert evaluate(con, nz.amount_value, cells) == evaluate(con, general, cells)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hs.lists(hs.sampled_from(["2025/04/01 10:00", "2025/4/1 9:05", "4/1/2025", "2025-04-01", "", "x",
                                 "2025/13/01 10:00", "R7.4.1", "45383"]), min_size=1, max_size=10))
def test_date_fast_format_agrees_with_the_general_path(con, cells):
    params = {**nz.date_params(["mdy"]), "f": "%Y/%m/%d %H:%M"}
    fast = evaluate(con, lambda x: nz.date_value(x, "mdy", "f"), cells, params)
    assert fast == evaluate(con, lambda x: nz.date_value(x, "mdy"), cells, nz.date_params(["mdy"]))


_LAYOUT_WORDS = ["Total", "Grand Totals", "Subtotal", "合計", "小計", "総計", "計", "Sum", "Count",
                 "Confidential Information - Do Not Distribute", "Copyright (c) 2000-2026 salesforce.com",
                 "© 2026", "(c) Foo", "機密情報 - 配布禁止", "作成者: 山田", "Generated by X",
                 "Report generated", "レポート作成", "出力日時: 2026", "All rights reserved",
                 "Stage: Closed Won (12 records)", "展示会 (34件)", "a@x.jp", "株式会社サンプル", "Web"]


def _vary(word: str, how: int) -> str:
    if how & 1:
        word = word.upper()
    if how & 2:
        word = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)   # full-width
    if how & 4:
        word = "\u3000" + word + " "
    if how & 8:
        word = word.replace(" ", "  ").replace(":", "\t:")
    return word


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hs.lists(hs.tuples(hs.sampled_from(_LAYOUT_WORDS), hs.integers(0, 15)), min_size=1, max_size=15))
def test_layout_prefilter_never_misses_a_layout_row(con, picks):
    """Whatever the exact rules (on the folded cell) call a total, footer or group label, the
    cheap SQL pre-filter on the raw cell lets through — otherwise it would be kept as data."""
    from funnel.ingest.layout import classify_cell
    from funnel.sql.ingest import _candidate_pattern
    from funnel.vocabulary import fold, vocabulary

    cells = [_vary(w, how) for w, how in picks]
    passed = evaluate(con, lambda x: "regexp_matches(x, $cand)", cells, {"cand": _candidate_pattern(vocabulary())})
    for cell, ok in zip(cells, passed, strict=True):
        folded = fold(cell)
        exact = classify_cell(cell) or (any(p.search(folded) for p in vocabulary().group_patterns) or None)
        if exact:
            assert ok, cell
