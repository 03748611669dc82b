"""Cost by source against hand-computed values (the tiny exports of tests/test_plan.py), the
editable form of the cost data, and the cost charts' data.

By hand, cost months April–May 2025 (period [2025-04-01, 2025-06-01)):

- Web広告 ¥90,000: registrations a, b, f = 3 → CPA ¥30,000; leads (first touch) a, b, f = 3;
  opportunities O1 (a), O2 (b and c → the earlier lead, b), O6 (f) = 3 → ¥30,000 each;
  won O1, O2 = 2 → ¥45,000 each; won amount ¥1,000,000 (O2 has none) → return 1,000,000 / 90,000
- 展示会 ¥50,000: registrations a's 2nd row, c, g = 3 (d is July); leads c, g = 2 (a's first touch
  is Web広告); opportunities O3 (c) = 1; won 0; return 0
- ウェビナー ¥10,000: no registration (its CPA cannot be computed, a note says so)
- lead sources without cost: 紹介
- per month: April ¥60,000 / 2 registrations (a, b); May ¥90,000 / 4 (a's 2nd, c, f, g)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from funnel.ingest.reader import Source
from funnel.measures import cost as costs
from funnel.model.cost_data import CostData, cpa
from funnel.model.workspace import Workspace
from funnel.present.charts.cost import build_cpa_chart, build_return_chart
from tests.conftest import inline_workspace
from tests.test_plan import COST, MA, SFA, values_of


@pytest.fixture(scope="module")
def tiny() -> Iterator[Workspace]:
    with inline_workspace(MA, SFA) as ws:
        yield ws


def test_source_costs_hand_values(tiny: Workspace) -> None:
    report = costs.source_costs(tiny.con, COST)
    by = {r.source: r for r in report.rows}
    assert [r.source for r in report.rows] == ["Web広告", "展示会", "ウェビナー"]        # largest cost first
    w, s, v = by["Web広告"], by["展示会"], by["ウェビナー"]
    assert (w.cost, w.registrations, w.leads, w.opportunities, w.won, w.won_amount, w.won_without_amount) == (
        90_000, 3, 3, 3, 2, 1_000_000, 1)
    assert (w.cpa, w.cost_per_opportunity, w.cost_per_won) == (30_000, 30_000, 45_000)
    assert w.return_ratio == pytest.approx(1_000_000 / 90_000)
    assert (s.registrations, s.leads, s.opportunities, s.won, s.won_amount) == (3, 2, 1, 0, 0)
    assert s.cost_per_opportunity == 50_000 and s.cost_per_won is None and s.return_ratio == 0
    assert (v.registrations, v.cpa, v.cost_per_opportunity) == (0, None, None)
    t = report.total
    assert (t.source, t.cost, t.registrations, t.leads, t.opportunities, t.won, t.won_amount) == (
        None, 150_000, 6, 5, 4, 2, 1_000_000)
    assert t.cpa == 25_000
    assert report.period == (dt.date(2025, 4, 1), dt.date(2025, 6, 1))
    assert report.notes == ["bench.cost.unmatched_source"] and report.free_sources == ["紹介"]


def test_cpa_is_the_benchmark_pages_cpa(tiny: Workspace) -> None:
    """One CPA everywhere: the cost page's equals funnel.model.cost_data.cpa (the benchmark page's)."""
    report = costs.source_costs(tiny.con, COST)
    ref = cpa(tiny.con, COST)
    assert {r.source: r.cpa for r in report.rows} == {r.source: r.cpa for r in ref.by_source}
    assert report.total.cpa == ref.total().cpa


def test_an_opportunity_counts_once_for_its_earliest_lead(tiny: Workspace) -> None:
    # O2 is linked to b (Web広告, April) and c (展示会, May): it is Web広告's, never both.
    only_fair = CostData("c", {(dt.date(2025, 5, 1), "展示会"): 1.0})
    fair = costs.source_costs(tiny.con, only_fair).rows[0]
    assert (fair.leads, fair.opportunities, fair.won) == (2, 1, 0)           # c, g; O3 only


def test_last_touch(tiny: Workspace) -> None:
    # a's last touch is 展示会 (its May row): a and its O1 move from Web広告 to 展示会.
    report = costs.source_costs(tiny.con, COST, touch="last")
    by = {r.source: r for r in report.rows}
    assert (by["Web広告"].leads, by["Web広告"].opportunities, by["Web広告"].won) == (2, 2, 1)
    assert (by["展示会"].leads, by["展示会"].opportunities, by["展示会"].won_amount) == (3, 2, 1_000_000)
    assert by["Web広告"].registrations == 3                                 # rows do not move


def test_monthly_costs(tiny: Workspace) -> None:
    got = [(m.month, m.cost, m.registrations, m.cpa) for m in costs.monthly_costs(tiny.con, COST)]
    assert got == [(dt.date(2025, 4, 1), 60_000, 2, 30_000), (dt.date(2025, 5, 1), 90_000, 4, 22_500)]
    assert costs.monthly_costs(tiny.con, CostData("c", {})) == []


def test_undated_exports_count_every_row() -> None:
    with Workspace() as ws:
        ws.load("ma", Source.from_bytes("l.csv", "メールアドレス,流入元\na@x.jp,Web広告\nb@x.jp,Web広告\n".encode()))
        ws.load("sfa", Source.from_bytes("d.csv", "商談 ID,フェーズ,取引先責任者メールアドレス,金額\nO1,受注,a@x.jp,500\n".encode()))
        ws.build()
        report = costs.source_costs(ws.con, CostData("c", {(dt.date(2025, 4, 1), "Web広告"): 1000.0}))
    assert report.period is None and report.notes == ["bench.cost.no_dates"]
    row = report.rows[0]
    assert (row.registrations, row.leads, row.opportunities, row.won, row.won_amount, row.cpa) == (2, 2, 1, 1, 500, 500)


# -- the editable table ----------------------------------------------------------------------

@pytest.mark.parametrize(("cell", "month"), [
    ("2025-04", dt.date(2025, 4, 1)), ("2025/4", dt.date(2025, 4, 1)), ("２０２５年４月", dt.date(2025, 4, 1)),
    ("2025-04-15", dt.date(2025, 4, 1)), (dt.date(2025, 12, 31), dt.date(2025, 12, 1)),
    (dt.datetime(2026, 1, 2, 3, 4), dt.date(2026, 1, 1)), ("2025-13", None), ("April", None), (None, None),
    (float("nan"), None), ("202504", None),
])
def test_parse_month(cell: Any, month: dt.date | None) -> None:
    assert costs.parse_month(cell) == month


def test_records_round_trip() -> None:
    recs = costs.to_records(COST)
    assert recs[0] == {"month": "2025-04", "source": "Web広告", "cost": 60_000.0}
    back, problems = costs.from_records(recs, "edited")
    assert problems == [] and back.amounts == COST.amounts and back.file == "edited"
    assert costs.same_amounts(back, COST) and not costs.same_amounts(back, None)
    assert costs.to_records(None) == []


def test_from_records_reports_bad_rows_and_adds_repeats() -> None:
    rows = [{"month": "2025-04", "source": "Web広告", "cost": "¥1,000"},
            {"month": "2025/4", "source": " Web広告 ", "cost": 500},            # same month and source: added
            {"month": None, "source": None, "cost": None},                      # blank row: skipped quietly
            {"month": "4月", "source": "展示会", "cost": 10},
            {"month": "2025-05", "source": "", "cost": -1}]
    got, problems = costs.from_records(rows, "t")
    assert got.amounts == {(dt.date(2025, 4, 1), "Web広告"): 1500.0}
    assert got.skipped == 2
    assert [(p.row, p.key) for p in problems] == [(4, "cost.error.month"), (5, "cost.error.source"),
                                                  (5, "cost.error.cost")]
    assert problems[0].value == "4月"


# -- charts ----------------------------------------------------------------------------------

def test_cpa_chart_band_and_states(tiny: Workspace) -> None:
    report = costs.source_costs(tiny.con, COST)
    chart = build_cpa_chart(report.rows, (20_000, 28_000), "ja")
    bars = values_of(chart, "bar")
    assert [(v["source"], v["cpa"], v["state"], v["text"]) for v in bars] == [
        ("Web広告", 30_000, "above", "¥30,000"), ("展示会", pytest.approx(50_000 / 3), "below", "¥16,667")]
    band = values_of(chart, "rect")
    assert band[0]["lo"] == 20_000 and band[0]["hi"] == 28_000 and band[0]["text"] == "目安 ¥20,000〜¥28,000"
    assert values_of(build_cpa_chart(report.rows, None, "en"), "rect") == []


def test_return_chart_line_at_one(tiny: Workspace) -> None:
    report = costs.source_costs(tiny.con, COST)
    chart = build_return_chart(report.rows, "ja")
    bars = values_of(chart, "bar")
    assert [(v["source"], v["good"]) for v in bars] == [("Web広告", True), ("展示会", False), ("ウェビナー", False)]
    assert bars[0]["text"] == "11.11 倍（受注 ¥1,000,000）"
    assert values_of(chart, "rule")[0]["x"] == 1.0
