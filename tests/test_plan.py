"""The reverse plan against hand-computed values: the contract's worked example at engine level,
the split per month and per source mix, the forward view, the defaults read from a tiny inline
pair of exports, and the chart builders' data.

The exports below: 9 MA rows → 8 leads (a@ registers twice: Web広告 in April, 展示会 in May),
7 SFA rows → 6 opportunities (O2 is repeated for a second contact, c@). Worked out by hand:

- won O1 (¥1,000,000), O2 (no amount), O4 (¥2,000,000), O5 (¥0); lost O3; open O6
  → win rate 4 / (4 + 1) = 4/5; average deal size over won deals with an amount > 0
  = (1,000,000 + 2,000,000) / 2 = ¥1,500,000 (O2 and O5 left out)
- leads with an opportunity: a b c d e f (not g, h) → 商談化率 6/8 = 3/4; by first touch:
  Web広告 a b f 3/3, 展示会 c d g 2/3, 紹介 e 1/1, no source h 0/1
- cost (April–May): Web広告 ¥90,000 over 3 registrations (a, b, f) = ¥30,000; 展示会 ¥50,000 over
  3 registrations (a's second row, c, g; d is in July) ; ウェビナー ¥10,000, no registration
  → overall CPA ¥150,000 / 6 = ¥25,000
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from fractions import Fraction as F
from typing import Any

import pytest

from funnel.errors import FunnelError
from funnel.measures.benchmarks import Benchmark
from funnel.model.cost_data import CostData
from funnel.model.workspace import Workspace
from funnel.planning import plan as pl
from funnel.present.charts.plan import build_mix_chart, build_monthly_plan, build_plan_steps
from tests.conftest import inline_workspace

MA = """メールアドレス,流入元,登録日時
a@x.jp,Web広告,2025/04/01
a@x.jp,展示会,2025/05/10
b@x.jp,Web広告,2025/04/15
c@x.jp,展示会,2025/05/20
d@x.jp,展示会,2025/07/01
e@x.jp,紹介,2025/04/20
f@x.jp,Web広告,2025/05/05
g@x.jp,展示会,2025/05/25
h@x.jp,,2025/04/03
"""

SFA = """商談 ID,フェーズ,取引先責任者メールアドレス,金額
O1,受注,a@x.jp,1000000
O2,受注,b@x.jp,
O2,受注,c@x.jp,
O3,失注,c@x.jp,500000
O4,受注,d@x.jp,2000000
O5,受注,e@x.jp,0
O6,商談中,f@x.jp,300000
"""

COST = CostData("cost.csv", {(dt.date(2025, 4, 1), "Web広告"): 60_000.0, (dt.date(2025, 5, 1), "Web広告"): 30_000.0,
                             (dt.date(2025, 5, 1), "展示会"): 50_000.0, (dt.date(2025, 5, 1), "ウェビナー"): 10_000.0})


@pytest.fixture(scope="module")
def tiny() -> Iterator[Workspace]:
    with inline_workspace(MA, SFA) as ws:
        yield ws


# -- the backward plan -----------------------------------------------------------------------

def test_contract_worked_example_at_engine_level() -> None:
    got = pl.plan_backward(F(100_000_000), F(5_000_000), F(1, 4), F(15, 100), F(8_000))
    assert got == pl.Plan(deals=20, opportunities=80, leads=534, budget=4_272_000)
    assert got.to_json() == {"deals": 20, "opportunities": 80, "leads": 534, "budget": 4272000}
    # The same plan from what a user types (units, percent, form floats).
    typed = pl.plan_backward(pl.parse_amount("1億", "r"), pl.parse_amount("500万", "d"), pl.parse_rate("25%", "w"),
                             pl.parse_rate("0.15", "o"), pl.parse_amount("¥8,000", "c"))
    assert typed == got
    assert pl.plan_backward(pl.exact(100_000_000.0), pl.exact(5_000_000.0), pl.from_percent(25.0),
                            pl.from_percent(15.0), pl.exact(8000.0)) == got
    assert pl.plan_backward(F(100_000_000), F(5_000_000), F(1, 4), F(15, 100)).budget is None


def test_form_numbers_are_exact() -> None:
    assert pl.exact(0.15) == F(3, 20) and pl.from_percent(15.0) == F(3, 20)
    assert pl.from_percent(8.83) == F(883, 10_000)
    # 533.33… leads round up to 534; a whole quotient is not rounded up by a float hair.
    assert pl.plan_backward(F(100), F(10), F(1, 1), F(3, 10)).leads == 34
    assert pl.plan_backward(F(300), F(100), F(3, 10), F(1, 1)).opportunities == 10


# -- per month -------------------------------------------------------------------------------

def test_apportion_largest_remainder() -> None:
    assert pl.apportion(20, [1] * 12) == [2] * 8 + [1] * 4           # 20/12: 8 months get the extra
    assert pl.apportion(10, [1, 2, 0]) == [3, 7, 0]                  # 3.33, 6.67, 0
    assert pl.apportion(0, [1, 1]) == [0, 0]
    assert sum(pl.apportion(534, [F(1, 3), F(1, 3), F(1, 3)])) == 534
    for bad in ([0, 0], [1, -1], []):
        with pytest.raises(FunnelError) as err:
            pl.apportion(5, bad)
        assert err.value.key == "plan.error.weights"


def test_add_months_crosses_years() -> None:
    assert pl.add_months(dt.date(2025, 12, 1), 1) == dt.date(2026, 1, 1)
    assert pl.add_months(dt.date(2026, 1, 1), -2) == dt.date(2025, 11, 1)
    assert pl.add_months(dt.date(2026, 4, 1), 12) == dt.date(2027, 4, 1)


def test_plan_by_month_adds_up_to_the_plan() -> None:
    plan = pl.plan_backward(F(100_000_000), F(5_000_000), F(1, 4), F(15, 100), F(8_000))
    months = [pl.add_months(dt.date(2026, 4, 1), i) for i in range(12)]
    got = pl.plan_by_month(plan, F(100_000_000), months, [1] * 12, F(8_000))
    assert [m.revenue for m in got] == [F(25_000_000, 3)] * 12
    assert [m.deals for m in got] == [2] * 8 + [1] * 4                # 20 / 12
    assert [m.opportunities for m in got] == [7] * 8 + [6] * 4        # 80 / 12 = 6.67
    assert [m.leads for m in got] == [45] * 6 + [44] * 6              # 534 / 12 = 44.5
    assert [m.budget for m in got] == [360_000] * 6 + [352_000] * 6
    assert sum(m.budget or 0 for m in got) == 4_272_000
    assert got[0].lead_month == got[0].month and got[0].share == F(1, 12)


def test_plan_by_month_with_seasonality_and_lead_time() -> None:
    plan = pl.Plan(deals=10, opportunities=40, leads=400, budget=None)
    months = [dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)]
    got = pl.plan_by_month(plan, F(30_000_000), months, [F(1), F(1), F(2)], lead_time=2)
    assert [m.revenue for m in got] == [7_500_000, 7_500_000, 15_000_000]
    assert [m.deals for m in got] == [3, 2, 5]                        # 2.5, 2.5, 5: the tie goes to January
    assert [m.leads for m in got] == [100, 100, 200]
    assert [m.lead_month for m in got] == [dt.date(2025, 11, 1), dt.date(2025, 12, 1), dt.date(2026, 1, 1)]
    assert all(m.budget is None for m in got)


# -- per source mix --------------------------------------------------------------------------

def test_plan_mix_hand_values() -> None:
    mix = pl.plan_mix(80, [pl.MixInput("A", F(50), F(1, 5), F(10_000)), pl.MixInput("B", F(50), F(1, 10))])
    assert mix.blended_rate == F(3, 20)                               # ½·20% + ½·10%
    assert mix.leads == 534                                           # ⌈80 / 0.15⌉
    assert [(r.source, r.leads, r.opportunities) for r in mix.rows] == [("A", 267, F(267, 5)), ("B", 267, F(267, 10))]
    assert [r.budget for r in mix.rows] == [2_670_000, None]
    # B's cost is unknown, not zero: the mix has no budget, only the part that is priced.
    assert mix.budget is None and mix.priced_budget == 2_670_000 and mix.unpriced == ["B"]
    priced = pl.plan_mix(80, [pl.MixInput("A", F(50), F(1, 5), F(10_000)), pl.MixInput("B", F(50), F(1, 10), F(2_000))])
    assert priced.budget == 267 * 10_000 + 267 * 2_000 == priced.priced_budget
    nothing = pl.plan_mix(80, [pl.MixInput("A", F(1), F(1, 5))])
    assert nothing.budget is None and nothing.priced_budget == 0


def test_actual_mix_gives_the_overall_rate() -> None:
    # Sources with 6 leads / 3 converted and 4 leads / 1 converted: overall 4/10.
    inputs = [pl.MixInput("A", F(6), F(3, 6)), pl.MixInput("B", F(4), F(1, 4))]
    mix = pl.plan_mix(10, inputs)
    assert mix.blended_rate == F(4, 10)
    assert mix.leads == pl.plan_backward(F(10), F(1), F(1), F(4, 10)).leads == 25
    assert [r.leads for r in mix.rows] == [15, 10]


@pytest.mark.parametrize(("inputs", "key"), [
    ([pl.MixInput("A", F(0), F(1, 10))], "plan.error.no_share"),
    ([], "plan.error.no_share"),
    ([pl.MixInput("A", F(1), F(0)), pl.MixInput("B", F(0), F(1, 2))], "plan.error.mix_zero"),
    ([pl.MixInput("A", F(1), F(3, 2))], "plan.error.mix_rate"),
])
def test_plan_mix_refuses_what_cannot_be_planned(inputs: list[pl.MixInput], key: str) -> None:
    with pytest.raises(FunnelError) as err:
        pl.plan_mix(10, inputs)
    assert err.value.key == key


# -- forward ---------------------------------------------------------------------------------

def test_forward_hand_values() -> None:
    one = pl.plan_forward(F(800_000), F(8_000), F(15, 100), F(1, 4), F(5_000_000))
    assert (one.leads, one.opportunities, one.deals, one.revenue) == (100, 15, F(15, 4), 18_750_000)
    year = one.times(12)
    assert (year.spend, year.leads, year.deals, year.revenue) == (9_600_000, 1200, 45, 225_000_000)


# -- defaults from the data ------------------------------------------------------------------

def test_actuals_hand_values(tiny: Workspace) -> None:
    a = pl.actuals(tiny.con, COST)
    assert (a.won, a.won_with_amount, a.won_amount, a.lost) == (4, 2, 3_000_000, 1)
    assert a.deal_size == 1_500_000 and a.win_rate == F(4, 5)
    assert (a.leads, a.converted, a.opp_rate) == (8, 6, F(3, 4))
    assert {r.source: (r.leads, r.converted) for r in a.by_source} == {
        "Web広告": (3, 3), "展示会": (3, 2), "紹介": (1, 1), None: (1, 0)}
    assert (a.cost, a.registrations, a.cpa) == (150_000, 6, 25_000)
    assert a.source_cpa["Web広告"] == 30_000 and a.source_cpa["ウェビナー"] is None
    assert a.source_cpa["展示会"] == pytest.approx(50_000 / 3)


def test_actuals_without_cost_or_closed_deals(tiny: Workspace) -> None:
    a = pl.actuals(tiny.con)
    assert a.cost is None and a.cpa is None and a.source_cpa == {}
    empty = pl.Actuals(won=0, won_with_amount=0, won_amount=0, lost=0, leads=0, converted=0)
    assert (empty.deal_size, empty.win_rate, empty.opp_rate, empty.cpa) == (None, None, None, None)


def test_benchmark_value_is_target_else_middle() -> None:
    assert pl.benchmark_value(Benchmark("cpa", 5000, 10000)) == 7500
    assert pl.benchmark_value(Benchmark("opportunity_rate", 20, 30)) == pytest.approx(0.25)
    assert pl.benchmark_value(Benchmark("opportunity_rate_ad", 11, 20, 15)) == pytest.approx(0.15)
    assert pl.benchmark_value(Benchmark("win_rate", 20, 20)) == pytest.approx(0.20)


# -- charts ----------------------------------------------------------------------------------

def leaves(chart: Any) -> list[dict[str, Any]]:
    """Every leaf layer with its mark under ``_mark`` and its data (a layer without its own
    data draws its parent's: Altair lifts data shared by all layers to the top)."""
    out, todo = [], [chart.to_dict()]
    while todo:
        spec = todo.pop(0)
        if "layer" in spec:
            todo[:0] = [{"data": spec["data"], **sub} if "data" in spec else sub for sub in spec["layer"]]
            continue
        mark = spec["mark"]
        out.append({**spec, "_mark": mark if isinstance(mark, str) else mark["type"]})
    return out


def values_of(chart: Any, mark: str) -> list[dict[str, Any]]:
    return [v for s in leaves(chart) if s["_mark"] == mark for v in s["data"]["values"]]


def test_plan_steps_chart() -> None:
    plan = pl.Plan(20, 80, 534, 4_272_000)
    bars = values_of(build_plan_steps(plan, F(15, 100), F(1, 4), "ja"), "bar")
    assert [(v["step"], v["count"], v["text"]) for v in bars] == [
        ("リード", 534, "534 件"), ("商談（× 商談化率 15.00%）", 80, "80 件"), ("受注（× 受注率 25.00%）", 20, "20 件")]
    en = values_of(build_plan_steps(plan, F(15, 100), F(1, 4), "en"), "text")
    assert [v["step"] for v in en][0] == "Leads"


def test_monthly_chart_draws_leads_at_the_month_they_are_needed() -> None:
    plan = pl.Plan(10, 40, 400, None)
    months = [dt.date(2026, 1, 1), dt.date(2026, 2, 1)]
    by_month = pl.plan_by_month(plan, F(20_000_000), months, [1, 1], lead_time=1)
    rev = values_of(build_monthly_plan(by_month, "revenue", "ja"), "bar")
    assert [(v["month"], v["value"], v["text"], v["full"]) for v in rev] == [
        ("2026-01", 10_000_000, "1,000万", "¥10,000,000"), ("2026-02", 10_000_000, "1,000万", "¥10,000,000")]
    assert values_of(build_monthly_plan(by_month, "revenue", "en"), "bar")[0]["text"] == "¥10.0M"
    leads = values_of(build_monthly_plan(by_month, "leads", "ja"), "bar")
    assert [(v["month"], v["value"]) for v in leads] == [("2025-12", 200), ("2026-01", 200)]
    with pytest.raises(ValueError):
        build_monthly_plan(by_month, "deals", "ja")


def test_mix_chart_most_leads_first() -> None:
    mix = pl.plan_mix(80, [pl.MixInput("A", F(25), F(1, 5)), pl.MixInput(None, F(75), F(2, 15))])
    bars = values_of(build_mix_chart(mix, "ja"), "bar")
    # blended = ¼·20% + ¾·13.3% = 15% → 534 leads: 133.5 / 400.5 → 134 (tie to the first) / 400
    assert [(v["source"], v["leads"]) for v in bars] == [("（ソース未入力）", 400), ("A", 134)]
    assert bars[1]["text"] == "134 件（構成比 25.0%・見込み商談 26.8）"
