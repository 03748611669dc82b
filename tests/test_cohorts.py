"""Monthly cohorts, the "still maturing" rule, the drill-down pages and the rate-vs-reference
judgements, against hand-computed values on tiny inline exports.

The pair below: 6 leads over January–March 2025 and 4 opportunities with creation dates.
Days from lead creation to its opportunity's creation (worked out by hand):
a 01-10 → O1 01-20 = 10, c 02-05 → O2 03-07 = 30, e 03-01 → O3 03-21 = 20, and d 02-25 → O4
02-20 = -5 (the deal predates the lead). Non-negative lags [10, 20, 30]: the interpolated 80th
percentile sits at position 0.8 × (3 − 1) = 1.6, i.e. 20 + 0.6 × 10 = 26 days. The latest
creation date in either file is the lead f, 2025-03-30.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from funnel.measures import cohorts, drill
from funnel.measures import metrics as m
from funnel.planning.targets import against_band, against_target
from tests.conftest import inline_workspace

MA = """メールアドレス,流入元,登録日時,ステータス
a@x.jp,展示会,2025/01/10,MQL
b@x.jp,展示会,2025/01/20,リード
c@x.jp,Web,2025/02/05,SQL
d@x.jp,Web,2025/02/25,リード
e@x.jp,展示会,2025/03/01,リード
f@x.jp,,2025/03/30,リード
"""

SFA = """商談 ID,フェーズ,メールアドレス,作成日
O1,受注,a@x.jp,2025/01/20
O2,提案,c@x.jp,2025/03/07
O3,失注,e@x.jp,2025/03/21
O4,失注,d@x.jp,2025/02/20
"""


@pytest.fixture(scope="module")
def built():
    ws = inline_workspace(MA, SFA, "utf-8")
    yield ws
    ws.close()


def test_maturity_from_the_data(built):
    rule = cohorts.maturity(built.con, min_lags=3)
    assert (rule.basis, rule.lags, rule.negative) == ("data", 3, 1)
    assert rule.measured_days == pytest.approx(26.0)
    assert rule.days == 26
    assert rule.as_of == dt.date(2025, 3, 30)


def test_maturity_rounds_a_fractional_percentile_up(built):
    # 83rd percentile: position 1.66 → 20 + 0.66 × 10 = 26.6 days, so 27 whole days are needed.
    assert cohorts.maturity(built.con, quantile=0.83, min_lags=3).days == 27


def test_maturity_falls_back_with_too_few_lags(built):
    rule = cohorts.maturity(built.con)           # default MIN_LAGS = 30 > 3 measured lags
    assert (rule.basis, rule.days, rule.lags) == ("fallback", cohorts.FALLBACK_DAYS, 3)
    assert rule.measured_days == pytest.approx(26.0)   # still reported


def test_cohorts_flag_months_younger_than_the_rule(built):
    rule = cohorts.maturity(built.con, min_lags=3)
    got, used = cohorts.cohorts(built.con, rule=rule)
    assert used == rule
    # Month ends 01-31, 02-28, 03-31 against as-of 03-30: ages 58, 30, -1 days; rule 26 days.
    assert [(c.month, c.rate.leads, c.rate.converted, c.age_days, c.maturing) for c in got] == [
        ("2025-01", 2, 1, 58, False), ("2025-02", 2, 2, 30, False), ("2025-03", 2, 1, -1, True)]


def test_cohorts_with_the_fallback_rule_flag_every_young_month(built):
    got, rule = cohorts.cohorts(built.con)
    assert rule.basis == "fallback"
    assert [c.maturing for c in got] == [True, True, True]      # 58, 30, -1 < 90


def test_cohorts_follow_the_filters_but_not_the_rule(built):
    rule = cohorts.maturity(built.con, min_lags=3)
    got, _ = cohorts.cohorts(built.con, m.Filters(sources=("展示会",)), rule)
    assert [(c.month, c.rate.leads, c.rate.converted) for c in got] == [("2025-01", 2, 1), ("2025-03", 1, 1)]
    assert cohorts.maturity(built.con, min_lags=3) == rule


def test_month_end_and_boundary():
    assert cohorts.month_end("2024-02") == dt.date(2024, 2, 29)
    rule = cohorts.Maturity(30, "data", 0.8, 100, 0, dt.date(2025, 3, 31))
    assert cohorts.is_maturing("2025-03", rule) == (0, True)
    assert cohorts.is_maturing("2025-02", rule) == (31, False)     # exactly enough days: mature
    assert cohorts.is_maturing("2025-01", cohorts.Maturity(30, "data", 0.8, 1, 0, None)) == (None, False)


def test_lag_falls_back_to_the_ma_opportunity_date():
    # No creation date on the SFA side: the MA's 商談化日 gives the lag (a: 5 days, b: 15 days).
    ma = "メールアドレス,流入元,登録日時,商談化日\na@x.jp,Web,2025/01/01,2025/01/06\nb@x.jp,Web,2025/01/01,2025/01/16\n"
    sfa = "商談 ID,フェーズ,メールアドレス\nO1,提案,a@x.jp\nO2,提案,b@x.jp\n"
    ws = inline_workspace(ma, sfa, "utf-8")
    try:
        rule = cohorts.maturity(ws.con, quantile=0.5, min_lags=2)
        assert (rule.basis, rule.lags, rule.measured_days, rule.days) == ("data", 2, 10.0, 10)
    finally:
        ws.close()


def test_created_range(built):
    assert cohorts.created_range(built.con) == (dt.date(2025, 1, 10), dt.date(2025, 3, 30))


# -- drill-down pages --------------------------------------------------------------------------

PAGED_MA = "メールアドレス,流入元,登録日時\n" + "".join(
    f"p{i}@x.jp,展示会,2025/04/{1 + i // 3:02d}\n" for i in range(7)) + "q@x.jp,Web,2025/04/01\n"
PAGED_SFA = "商談 ID,フェーズ,メールアドレス,作成日\nO1,提案,p1@x.jp,2025/05/01\nO2,受注,p5@x.jp,2025/05/02\n"


@pytest.fixture(scope="module")
def paged():
    ws = inline_workspace(PAGED_MA, PAGED_SFA, "utf-8")
    yield ws
    ws.close()


def test_pages_do_not_overlap_and_cover_every_lead(paged):
    # Three leads share each creation date: only the lead key keeps the order total.
    pages = [drill.lead_page(paged.con, m.Filters(), "展示会", page=p, page_size=3) for p in (1, 2, 3)]
    assert [len(p.items) for p in pages] == [3, 3, 1]
    assert {(p.total, p.pages) for p in pages} == {(7, 3)}
    emails = [r["email_raw"] for p in pages for r in p.items]
    assert len(emails) == len(set(emails)) == 7
    assert set(emails) == {f"p{i}@x.jp" for i in range(7)}
    assert [p.offset for p in pages] == [0, 3, 6]
    # Asking twice gives the same page (a stable order, not whatever DuckDB returns first).
    assert drill.lead_page(paged.con, m.Filters(), "展示会", page=2, page_size=3).items == pages[1].items


def test_page_number_is_clamped(paged):
    last = drill.lead_page(paged.con, m.Filters(), "展示会", page=99, page_size=3)
    assert (last.page, len(last.items)) == (3, 1)
    assert drill.lead_page(paged.con, m.Filters(), "展示会", page=0, page_size=3).page == 1
    empty = drill.lead_page(paged.con, m.Filters(), "紹介", page=1, page_size=3)
    assert (empty.total, empty.pages, empty.page, empty.items) == (0, 1, 1, [])


def test_status_and_search_filters(paged):
    conv = drill.lead_page(paged.con, m.Filters(), "展示会", status="converted")
    assert sorted(r["email_raw"] for r in conv.items) == ["p1@x.jp", "p5@x.jp"]
    assert all(r["converted"] and r["n_opps"] == 1 for r in conv.items)
    assert {r["email_raw"]: r["stages"] for r in conv.items} == {"p1@x.jp": "提案", "p5@x.jp": "受注"}
    assert conv.items[0]["first_opp_at"] == dt.datetime(2025, 5, 1)
    assert drill.lead_page(paged.con, m.Filters(), "展示会", status="not_converted").total == 5
    assert [r["email_raw"] for r in drill.lead_page(paged.con, m.Filters(), "展示会", search="P6@").items] == [
        "p6@x.jp"]
    # A search text with SQL wildcards is literal.
    assert drill.lead_page(paged.con, m.Filters(), "展示会", search="%").total == 0
    with pytest.raises(ValueError):
        drill.lead_page(paged.con, m.Filters(), "展示会", status="won")


def test_page_follows_the_rate_filters(paged):
    f = m.Filters(date_from=dt.date(2025, 4, 2), date_to=dt.date(2025, 4, 2))
    assert drill.lead_page(paged.con, f, "展示会").total == 3              # p3, p4, p5
    assert drill.lead_page(paged.con, m.Filters(), None).total == 0        # no lead without a source
    assert drill.lead_page(paged.con, m.Filters(touch="last"), "Web").total == 1


def test_all_leads_csv_is_every_page(paged):
    headers = [f"h{i}" for i in range(len(drill.COLUMNS))]
    data = drill.all_leads_csv(paged.con, m.Filters(), "展示会", headers)
    assert data.startswith("\ufeff".encode())
    got = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert got[0] == headers
    pages = [drill.lead_page(paged.con, m.Filters(), "展示会", page=p, page_size=3) for p in (1, 2, 3)]
    assert [r[0] for r in got[1:]] == [r["email_raw"] for p in pages for r in p.items]
    with pytest.raises(ValueError):
        drill.all_leads_csv(paged.con, m.Filters(), "展示会", ["too few"])


# -- against the benchmark band and the target ---------------------------------------------------

@pytest.mark.parametrize(("ci", "band", "target"), [
    ((0.05, 0.10), "below", "below"),
    ((0.05, 0.12), "overlaps", "below"),
    ((0.10, 0.16), "overlaps", "undecided"),
    ((0.16, 0.19), "overlaps", "above"),
    ((0.21, 0.30), "above", "above"),
])
def test_interval_against_band_and_target(ci, band, target):
    assert against_band(ci, (0.11, 0.20)) == band
    assert against_target(ci, 0.15) == target
