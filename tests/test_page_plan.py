"""The KPI逆算 page on the sample data, as a user sees it: the defaults are the engine's actual
values, the plan equals funnel.planning.plan's on the same inputs, editing an input or applying a
benchmark changes the plan, the month and mix tables add up, and downloads hold what is shown."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from funnel.ingest.reader import Source
from funnel.model.cost_data import read_costs
from funnel.model.workspace import Workspace
from funnel.planning import plan as pl
from funnel.planning.inputs import plan_defaults, plan_inputs
from funnel.present.format import num, yen
from tests.conftest import SAMPLE, csv_rows, switch_to

PAGE = "views/plan.py"


@pytest.fixture(scope="module")
def actual(sample_ws: Workspace) -> pl.Actuals:
    """The engine's actual values on the same sample files (with the sample's cost file)."""
    cost = read_costs(sample_ws.con, Source.from_path(SAMPLE / "cost_by_source.csv"), sample_ws.workdir)
    return pl.actuals(sample_ws.con, cost)


def default_plan(a: pl.Actuals, revenue: float | None = None) -> pl.Plan:
    """The plan of the page's opening inputs: actual values, yen rounded to the yen; the
    revenue target the won amount of the data's last 12 months."""
    assert a.deal_size and a.win_rate and a.opp_rate and a.cpa and a.year_revenue
    revenue = round(a.year_revenue) if revenue is None else revenue
    return pl.plan_backward(pl.exact(revenue), pl.exact(float(round(a.deal_size))),
                            pl.from_percent(float(a.win_rate * 100)), pl.from_percent(float(a.opp_rate * 100)),
                            pl.exact(float(round(a.cpa))))


def kpis(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def frame_with(at: AppTest, column: str) -> Any:
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert found, f"no table with {column!r}"
    return found[0]


def open_plan(app: AppTest) -> AppTest:
    switch_to(app, PAGE)
    assert not app.error, [e.value for e in app.error]
    return app


def test_defaults_are_the_actual_values_and_the_plan_is_the_engines(app: AppTest, actual: pl.Actuals,
                                                                    downloads: dict[str, Any]) -> None:
    at = open_plan(app)
    assert at.number_input(key="plan_revenue").value == round(actual.year_revenue or 0) > 0
    assert at.number_input(key="plan_deal_size").value == round(actual.deal_size or 0)
    assert at.number_input(key="plan_win_rate").value == pytest.approx(float((actual.win_rate or 0) * 100))
    assert at.number_input(key="plan_opp_rate").value == pytest.approx(float((actual.opp_rate or 0) * 100))
    assert at.number_input(key="plan_cpa").value == round(actual.cpa or 0)
    plan = default_plan(actual)
    shown = kpis(at)
    assert shown["必要な受注数"] == f"{num(plan.deals)} 件"
    assert shown["必要な商談数"] == f"{num(plan.opportunities)} 件"
    assert shown["必要なリード数"] == f"{num(plan.leads)} 件"
    assert shown["リード獲得予算"] == yen(plan.budget)
    captions = " ".join(c.value for c in at.caption)
    assert f"商談化 {num(actual.converted)} ÷ リード {num(actual.leads)}" in captions
    assert f"受注 {num(actual.won)} ÷ 受注＋失注 {num(actual.won + actual.lost)}" in captions
    # The download holds the plan shown.
    rows = {r["項目"]: r for r in csv_rows(downloads["kpi_plan.csv"])}
    assert float(rows["必要なリード数"]["値"]) == plan.leads and float(rows["必要な受注数"]["値"]) == plan.deals
    assert rows["必要なリード数"]["計算式"].startswith(f"⌈商談数 {num(plan.opportunities)} ÷ 商談化率")
    assert len(at.get("vega_lite_chart")) >= 4                     # steps, 2 per month, mix


def test_typing_the_contracts_example_gives_its_plan(app: AppTest, downloads: dict[str, Any]) -> None:
    at = open_plan(app)
    at.number_input(key="plan_revenue").set_value(100_000_000.0)        # the contract's example
    at.number_input(key="plan_deal_size").set_value(5_000_000.0)
    at.number_input(key="plan_win_rate").set_value(25.0)
    at.number_input(key="plan_opp_rate").set_value(15.0)
    at.number_input(key="plan_cpa").set_value(8_000.0).run()
    assert not at.exception
    shown = kpis(at)
    assert (shown["必要な受注数"], shown["必要な商談数"], shown["必要なリード数"], shown["リード獲得予算"]) == (
        "20 件", "80 件", "534 件", "¥4,272,000")
    rows = {r["項目"]: r for r in csv_rows(downloads["kpi_plan.csv"])}
    assert float(rows["リード獲得予算"]["値"]) == 4_272_000
    # Per month: 12 equal months that add up to the plan (534 leads = 6 × 45 + 6 × 44).
    month = csv_rows(downloads["kpi_plan_by_month.csv"])
    assert [r["リード数"] for r in month[:12]] == ["45"] * 6 + ["44"] * 6
    assert month[-1]["月"] == "合計" and month[-1]["リード数"] == "534" and float(month[-1]["予算"]) == 4_272_000
    # CPA 0 leaves the budget out.
    at.number_input(key="plan_cpa").set_value(0.0).run()
    assert kpis(at)["リード獲得予算"] == "CPA未入力"


def test_benchmarks_are_one_click_away(app: AppTest, actual: pl.Actuals) -> None:
    at = open_plan(app)
    at.button(key="plan_win_rate_bench_0").click().run()             # 受注率 benchmark: 20%
    at.button(key="plan_opp_rate_bench_0").click().run()             # 商談化率 20–30%: the middle, 25%
    at.button(key="plan_cpa_bench_0").click().run()                  # CPA ¥5,000–10,000: ¥7,500
    assert not at.exception
    assert at.number_input(key="plan_win_rate").value == pytest.approx(20.0)
    assert at.number_input(key="plan_opp_rate").value == pytest.approx(25.0)
    assert at.number_input(key="plan_cpa").value == 7_500
    deal = pl.exact(float(round(actual.deal_size or 0)))
    plan = pl.plan_backward(pl.exact(round(actual.year_revenue or 0)), deal, Fraction(1, 5), Fraction(1, 4), Fraction(7_500))
    assert kpis(at)["必要なリード数"] == f"{num(plan.leads)} 件"
    # …and the actual value is one click back.
    at.button(key="plan_cpa_actual").click().run()
    assert at.number_input(key="plan_cpa").value == round(actual.cpa or 0)


def test_monthly_weights_change_the_months(app: AppTest, downloads: dict[str, Any]) -> None:
    at = open_plan(app)
    at.number_input(key="plan_revenue").set_value(100_000_000.0)        # the contract's example
    at.number_input(key="plan_deal_size").set_value(5_000_000.0)
    at.number_input(key="plan_win_rate").set_value(25.0)
    at.number_input(key="plan_opp_rate").set_value(15.0)
    at.number_input(key="plan_cpa").set_value(8_000.0)
    at.number_input(key="plan_months").set_value(3).run()
    start = at.selectbox(key="plan_start").value
    assert f"{start:%Y-%m}" == "2026-04"                            # the month after the last lead
    key = "plan_weights_202604_3_0"
    at.session_state[key] = {"edited_rows": {2: {"比重": 2.0}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception
    month = csv_rows(downloads["kpi_plan_by_month.csv"])
    # Weights 1, 1, 2: revenue 25M, 25M, 50M; 534 leads → 133.5, 133.5, 267 → 134, 133, 267.
    assert [(r["月"], float(r["売上目標"]), r["受注数"], r["リード数"]) for r in month[:3]] == [
        ("2026-04", 25_000_000, "5", "134"), ("2026-05", 25_000_000, "5", "133"), ("2026-06", 50_000_000, "10", "267")]
    # A lead time shows when the leads are needed.
    at.number_input(key="plan_lead_time").set_value(2).run()
    month = csv_rows(downloads["kpi_plan_by_month.csv"])
    assert month[0]["リードが必要な月"] == "2026-02"


def test_mix_defaults_to_the_actual_mix_and_follows_edits(app: AppTest, actual: pl.Actuals,
                                                          downloads: dict[str, Any]) -> None:
    at = open_plan(app)
    plan = default_plan(actual)
    # The actual mix at actual rates is the overall rate: the same leads as the plan.
    assert kpis(at)["ミックスの商談化率"] == f"{float(actual.opp_rate or 0) * 100:.2f}%"
    mix = csv_rows(downloads["kpi_plan_by_source.csv"])
    assert sum(int(r["リード数"]) for r in mix) == plan.leads
    assert [r["ソース"] for r in mix] == [r.source or "（ソース未入力）" for r in actual.by_source]
    # Put everything on the first source (展示会): leads = ⌈opportunities ÷ its rate⌉.
    first = actual.by_source[0]
    edits = {i: {"構成比": 100.0 if i == 0 else 0.0} for i in range(len(actual.by_source))}
    at.session_state["plan_mix"] = {"edited_rows": edits, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception and not at.error
    assert first.rate is not None
    rate = pl.from_percent(float(first.rate * 100))
    expected = pl.plan_mix(plan.opportunities, [pl.MixInput(first.source, Fraction(100), rate)]).leads
    mix = csv_rows(downloads["kpi_plan_by_source.csv"])
    assert int(mix[0]["リード数"]) == expected and all(r["リード数"] == "0" for r in mix[1:])
    assert kpis(at)["ミックスで必要なリード数"] == f"{num(expected)} 件"
    assert kpis(at)["必要なリード数"] == f"{num(plan.leads)} 件"       # the headline plan is unchanged


def test_forward_view(app: AppTest, actual: pl.Actuals, downloads: dict[str, Any]) -> None:
    at = open_plan(app)
    assert at.number_input(key="plan_spend").value == round((actual.cost or 0) / 12)   # 12 months of cost data
    at.number_input(key="plan_revenue").set_value(100_000_000.0)
    at.number_input(key="plan_deal_size").set_value(5_000_000.0)
    at.number_input(key="plan_win_rate").set_value(25.0)
    at.number_input(key="plan_opp_rate").set_value(15.0)
    at.number_input(key="plan_cpa").set_value(8_000.0)
    at.number_input(key="plan_spend").set_value(800_000.0).run()
    shown = kpis(at)
    assert shown["見込み売上（12 か月）"] == "¥225,000,000"             # 100 leads, 3.75 deals a month
    assert shown["売上目標に対して"] == "225.0%"
    assert shown["目標に必要な月間広告費"] == "¥356,000"                  # ¥4,272,000 / 12
    rows = csv_rows(downloads["kpi_forward.csv"])
    assert [(r["リード"], r["受注"]) for r in rows] == [("100.0", "3.8"), ("1200.0", "45.0"), ("534.0", "20.0")]


def test_english_and_own_exports_without_cost(app: AppTest) -> None:
    app.session_state["lang"] = "en"
    at = open_plan(app)
    assert at.title[0].value.startswith("Reverse KPI plan")
    assert "Leads needed" in kpis(at)
    # Own exports without a cost file: the CPA starts at the first CPA benchmark and says why.
    at.session_state["lang"] = "ja"
    at.switch_page("views/upload.py").run()
    at.file_uploader(key="up_ma").set_value(("ma.csv", (SAMPLE / "ma_leads.csv").read_bytes(), "text/csv")).run()
    at.file_uploader(key="up_sfa").set_value(
        ("sfa.xlsx", (SAMPLE / "sfa_opportunities.xlsx").read_bytes(), "application/octet-stream")).run()
    at = open_plan(at)
    assert at.number_input(key="plan_cpa").value == 7_500
    assert any("費用データなし" in c.value for c in at.caption)


def test_data_without_closed_deals_starts_from_benchmarks_and_says_so(app: AppTest) -> None:
    ma = "メールアドレス,流入元,登録日時\na@x.jp,Web広告,2025/04/01\nb@x.jp,展示会,2025/04/02\n"
    sfa = "商談 ID,フェーズ,取引先責任者メールアドレス,金額\nO1,提案,a@x.jp,\n"
    app.file_uploader(key="up_ma").set_value(("ma.csv", ma.encode(), "text/csv")).run()
    app.file_uploader(key="up_sfa").set_value(("sfa.csv", sfa.encode(), "text/csv")).run()
    at = open_plan(app)
    assert at.number_input(key="plan_win_rate").value == pytest.approx(20.0)          # the benchmark set's
    assert at.number_input(key="plan_deal_size").value == pl.PLACEHOLDERS["deal_size"]
    assert at.number_input(key="plan_opp_rate").value == pytest.approx(50.0)          # 1 of 2 leads: actual
    assert sum("データから計算できません" in c.value for c in at.caption) == 2
    assert at.button(key="plan_win_rate_actual").disabled


def test_page_and_report_get_the_same_defaults_on_data_without_dates(app: AppTest) -> None:
    """One rule for the defaults (funnel.planning.inputs.plan_defaults): on exports without a
    date the plan page opens on the same first month and assumptions as the report and the CLI
    (``plan_inputs``); they once differed by a month."""
    ma = "メールアドレス,流入元\na@x.jp,Web広告\nb@x.jp,展示会\nc@x.jp,展示会\n"
    sfa = "商談 ID,フェーズ,取引先責任者メールアドレス,金額\nO1,受注,a@x.jp,1200000\nO2,失注,b@x.jp,\n"
    with Workspace() as ws:
        ws.load("ma", Source.from_bytes("ma.csv", ma.encode()))
        ws.load("sfa", Source.from_bytes("sfa.csv", sfa.encode()))
        ws.build()
        report = plan_inputs(ws.con, Fraction(100_000_000))
        assert plan_defaults(ws.con).start == report.start
    today = dt.date.today()
    assert report.start == pl.add_months(dt.date(today.year, today.month, 1), 1)     # no dates: next month
    app.file_uploader(key="up_ma").set_value(("ma.csv", ma.encode(), "text/csv")).run()
    app.file_uploader(key="up_sfa").set_value(("sfa.csv", sfa.encode(), "text/csv")).run()
    at = open_plan(app)
    assert at.selectbox(key="plan_start").value == report.start
    assert at.number_input(key="plan_deal_size").value == float(report.deal_size)
    assert at.number_input(key="plan_win_rate").value == pytest.approx(float(report.win_rate * 100))
    assert at.number_input(key="plan_opp_rate").value == pytest.approx(float(report.opp_rate * 100))
    assert (report.origins["deal_size"], report.origins["win_rate"], report.origins["opp_rate"]) == (
        "actual", "actual", "actual")
