"""Charts that hold any range: the period (month / quarter / year) chosen from the span, at
most ~24 bars, labels that never overlap, sources folded to the top 15 and one その他 bar —
asserted on the chart specs with multi-year data (2013–2021 monthly leads, as the real
Salesforce + Pardot org has)."""

from __future__ import annotations

import datetime as dt

import pytest
from test_charts_rate import layers, of

from funnel.config import setting
from funnel.measures import periods as P
from funnel.measures.cohorts import Cohort
from funnel.measures.loss import BreakdownRow
from funnel.measures.metrics import Rate
from funnel.present.charts.loss import build_loss_by_period
from funnel.present.charts.rate import build_rate_by_month, build_rate_by_source

MAX_BARS = setting("chart_max_bars")


def monthly(first: tuple[int, int], last: tuple[int, int], maturing_from: str | None = None) -> list[Cohort]:
    """Monthly cohorts from ``first`` to ``last`` (year, month): month m of year y has 40 + m
    leads of which (y + m) % 5 converted."""
    out, (y, m) = [], first
    while (y, m) <= last:
        label = f"{y}-{m:02d}"
        out.append(Cohort(label, Rate(label, 40 + m, (y + m) % 5), 100,
                          maturing_from is not None and label >= maturing_from))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


@pytest.mark.parametrize(("first", "last", "grain", "bars"), [
    (dt.date(2021, 1, 5), dt.date(2022, 12, 1), "month", 24),
    (dt.date(2021, 1, 5), dt.date(2023, 1, 1), "quarter", 9),
    (dt.date(2013, 3, 1), dt.date(2018, 12, 31), "quarter", 24),
    (dt.date(2013, 1, 1), dt.date(2021, 12, 31), "year", 9),
    (dt.date(1990, 1, 1), dt.date(2030, 1, 1), "year", 41),       # years even when they do not fit
])
def test_the_grain_is_the_finest_that_fits(first, last, grain, bars):
    assert P.choose_grain(first, last) == grain
    assert P.bars(first, last, grain) == bars


def test_period_labels_and_ends():
    assert P.period_of("2021-07", "quarter") == "2021-Q3" and P.period_of("2021-07", "year") == "2021"
    assert P.period_end("2021-Q1") == dt.date(2021, 3, 31) and P.period_end("2020-02") == dt.date(2020, 2, 29)
    assert [P.grain_of(x) for x in ("2021-07", "2021-Q3", "2021")] == ["month", "quarter", "year"]


def test_summed_periods_keep_every_lead_and_the_youngest_month_decides():
    months = monthly((2013, 1), (2021, 12), maturing_from="2021-11")
    years = P.cohorts_by(months, "year")
    assert [c.month for c in years] == [str(y) for y in range(2013, 2022)]
    assert sum(c.rate.leads for c in years) == sum(c.rate.leads for c in months)
    # 2013 by hand: leads 12 × 40 + (1 + … + 12) = 558; converted Σ (2013 + m) % 5 over m = 1..12.
    assert years[0].rate.leads == 558 and years[0].rate.converted == sum((2013 + m) % 5 for m in range(1, 13))
    assert [c.maturing for c in years] == [False] * 8 + [True]


def test_nine_years_of_monthly_cohorts_draw_as_years_with_no_crowded_labels():
    spec = layers(build_rate_by_month(monthly((2013, 1), (2021, 12)), target=0.15, lang="ja"))
    (bars,) = of(spec, "bar")
    assert [v["month"] for v in bars["data"]["values"]] == [str(y) for y in range(2013, 2022)]
    assert bars["encoding"]["x"]["title"] == "リード作成年"
    assert len(bars["encoding"]["x"]["axis"]["values"]) <= setting("chart_max_axis_labels")
    # Nine columns carry labels, all in one lane above the highest whisker.
    top = max(v["ci_high"] for v in bars["data"]["values"])
    assert of(spec, "text") and all(v["lane"] >= top for s in of(spec, "text") for v in s["data"]["values"])


def test_two_years_monthly_keep_months_but_drop_value_labels_and_thin_the_axis():
    spec = layers(build_rate_by_month(monthly((2020, 1), (2021, 12)), target=0.15, lang="en"))
    (bars,) = of(spec, "bar")
    assert len(bars["data"]["values"]) == 24 <= MAX_BARS
    axis = bars["encoding"]["x"]["axis"]
    assert axis["values"] == [f"{y}-{m:02d}" for y in (2020, 2021) for m in range(1, 13, 2)]
    assert axis["labelAngle"] == 0 and axis["labelOverlap"] is True
    # More columns than value labels fit: no text over the columns (the tooltip has the numbers).
    assert of(spec, "text") == []
    assert {t["field"] for t in bars["encoding"]["tooltip"]} >= {"rate", "leads", "ci_low", "ci_high"}


@pytest.mark.parametrize(("first", "last"), [((2013, 1), (2021, 12)), ((2016, 5), (2021, 2)), ((2021, 1), (2021, 3))])
def test_no_rate_chart_has_more_than_the_limit_of_bars(first, last):
    spec = layers(build_rate_by_month(monthly(first, last), target=0.15, lang="ja"))
    assert 0 < len(of(spec, "bar")[0]["data"]["values"]) <= MAX_BARS


def test_a_grain_can_be_forced():
    spec = layers(build_rate_by_month(monthly((2020, 1), (2021, 12)), target=0.15, lang="ja", grain="quarter"))
    assert [v["month"] for v in of(spec, "bar")[0]["data"]["values"]][:2] == ["2020-Q1", "2020-Q2"]


def test_source_chart_shows_the_top_15_and_one_other_bar():
    rates = [Rate(f"Source {i:02d}", 1000 - 20 * i, 100 - 3 * i) for i in range(25)]
    rates += [Rate("Tiny A", 1, 1), Rate("Tiny B", 2, 2), Rate("SOURCE 00", 10, 1)]     # a case variant
    spec = layers(build_rate_by_source(rates, target=0.15, lang="ja"))
    (bars,) = of(spec, "bar")
    values = bars["data"]["values"]
    assert len(values) == setting("chart_top_sources") + 1
    other = values[-1]
    assert other["other"] and other["label"] == "残りのソース（12）"       # 10 beyond the top + 2 tiny
    assert sum(v["leads"] for v in values) == sum(r.leads for r in rates)       # nothing dropped
    assert values[0]["label"] == "Source 00" and values[0]["leads"] == 1010     # the variant is summed in
    assert "Tiny A" not in [v["label"] for v in values[:-1]]                    # 1 of 1 never leads
    # Value labels in one column right of every whisker.
    top = max(v["ci_high"] for v in values)
    assert all(v["lane"] >= top for s in of(spec, "text") for v in s["data"]["values"])
    assert {s["encoding"]["x"]["field"] for s in of(spec, "text")} == {"lane"}


def test_pardot_like_sources_rank_by_sample_size_aware_rate():
    # The real Pardot org's first-touch sources (analyze --json), two of them 1 of 1.
    rates = [Rate("Inside Sales", 2786, 16), Rate("Website", 2195, 211), Rate("Field Sales", 577, 105),
             Rate("Referral", 20, 6), Rate("Other", 47, 9), Rate("Key Account Event", 1, 1),
             Rate("Organic Social", 1, 1)]
    spec = layers(build_rate_by_source(rates, target=0.15, lang="en"))
    order = of(spec, "bar")[0]["encoding"]["y"]["sort"]
    # Shrunk by hand (overall 349/5627 = 6.2%, 30 leads): Field Sales 17.6%, Other (9 of 47) 14.1%;
    # Referral (6 of 20, 15.7%) has under 30 leads and goes with the two 1-of-1 sources.
    assert order == ["Field Sales", "Other", "Website", "Inside Sales", "Remaining sources (3)"]


def test_loss_by_close_month_over_twenty_years_draws_as_years():
    rows = [BreakdownRow(f"{y}-{m:02d}", "value", {"budget": 1, "other": m % 3}) for y in range(2011, 2031)
            for m in (1, 6)] + [BreakdownRow(None, "missing", {"blank": 4})]
    chart, grain = build_loss_by_period(rows, {c: c for c in ("budget", "other", "blank")}, normalize=False,
                                        value_title="v", count_title="n", share_title="s", undated_label="(none)")
    assert grain == "year"
    spec = chart.to_dict()
    (bar,) = of(layers(chart), "bar")
    groups = bar["encoding"]["y"]["sort"]
    assert len(groups) == 21 and groups[0] == "2011" and groups[-1] == "(none)"
    counts = {(v["group"], v["category"]): v["count"] for v in (bar.get("data") or spec["data"])["values"]}
    assert counts[("2011", "budget")] == 2 and counts[("2011", "other")] == 1 + 0     # Jan 1 % 3, Jun 6 % 3
