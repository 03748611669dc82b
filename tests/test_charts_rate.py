"""The opportunity-rate chart builders, read back through ``chart.to_dict()``: the layers a
reader relies on (benchmark band, target line, interval whiskers, labels with n) and the
marking of small samples and still-maturing months."""

from __future__ import annotations

from typing import Any

import pytest

from funnel.measures.cohorts import Cohort
from funnel.measures.metrics import Rate, wilson
from funnel.present.charts.rate import build_rate_by_month, build_rate_by_source, cohort_values

RATES = [Rate("展示会", 200, 20), Rate("紹介", 12, 6), Rate(None, 40, 2), Rate("Web広告", 100, 15)]


def layers(chart: Any) -> list[dict[str, Any]]:
    """Every leaf layer of a chart spec, with its mark type under ``_mark``."""
    out, todo = [], [chart.to_dict()]
    while todo:
        spec = todo.pop(0)
        if "layer" in spec:
            todo[:0] = spec["layer"]
            continue
        mark = spec["mark"]
        out.append({**spec, "_mark": mark if isinstance(mark, str) else mark["type"]})
    return out


def of(spec: list[dict[str, Any]], mark: str) -> list[dict[str, Any]]:
    return [s for s in spec if s["_mark"] == mark]


def texts(spec: list[dict[str, Any]], field: str = "text") -> list[str]:
    return [v[field] for s in of(spec, "text") for v in s["data"]["values"] if field in v]


def test_source_chart_has_band_target_whiskers_and_bars():
    spec = layers(build_rate_by_source(RATES, target=0.15, lang="ja"))
    band = [s for s in spec if s.get("description") == "benchmark-band" and s["_mark"] == "rect"]
    assert len(band) == 1 and band[0]["data"]["values"][0]["lo"] == 0.11 and band[0]["data"]["values"][0]["hi"] == 0.20
    rule = [s for s in spec if s.get("description") == "target"]
    assert rule[0]["_mark"] == "rule" and rule[0]["data"]["values"][0]["target"] == 0.15
    assert rule[0]["encoding"]["color"]["scale"]["range"] == ["#9ca3af", "#ea580c"]   # band grey, target orange
    (bars,) = of(spec, "bar")
    (whiskers,) = of(spec, "errorbar")
    assert whiskers["encoding"]["x"]["field"] == "ci_low" and whiskers["encoding"]["x2"]["field"] == "ci_high"
    values = {v["label"]: v for v in bars["data"]["values"]}
    lo, hi = wilson(20, 200)
    assert values["展示会"]["rate"] == pytest.approx(0.10)
    assert (values["展示会"]["ci_low"], values["展示会"]["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert "（ソース未入力）" in values                       # a blank source is labelled, not dropped


def _legend(spec: list[dict[str, Any]]) -> list[str]:
    """The names the band and target layers give in their legend."""
    band = next(s for s in spec if s.get("description") == "benchmark-band")
    target = next(s for s in spec if s.get("description") == "target")
    assert band["encoding"]["color"]["scale"] == target["encoding"]["color"]["scale"]
    assert band["encoding"]["color"]["legend"] is not None
    return band["encoding"]["color"]["scale"]["domain"]


def test_source_labels_show_rate_and_n_and_the_legend_names_band_and_target():
    spec = layers(build_rate_by_source(RATES, target=0.15, lang="ja"))
    labels = texts(spec)
    assert "10.0%（n=200）" in labels
    assert _legend(spec) == ["業界の目安（広告経由のリード） 11%–20%", "目標 15.0%"]
    assert not any("目安" in x or "目標" in x for x in labels)      # never as text over the bars
    en = layers(build_rate_by_source(RATES, target=0.15, lang="en"))
    assert "10.0% (n=200)" in texts(en) and _legend(en)[1] == "Target 15.0%"


def test_small_samples_are_marked_and_labelled():
    spec = layers(build_rate_by_source(RATES, target=0.15, lang="ja", small_n=30, min_leads=0))
    (bars,) = of(spec, "bar")
    kinds = {v["label"]: v["kind"] for v in bars["data"]["values"]}
    assert kinds == {"展示会": "normal", "紹介": "small", "（ソース未入力）": "normal", "Web広告": "normal"}
    small = next(v for v in bars["data"]["values"] if v["kind"] == "small")
    assert "⚠ 少数" in small["text"] and "n=12" in small["text"]
    # Drawn differently: lighter fill (colour scale) and a dashed outline.
    scale = bars["encoding"]["color"]["scale"]
    assert len(scale["domain"]) == 2 and scale["range"][0] != scale["range"][1]
    assert bars["encoding"]["strokeDash"]["condition"]["test"] == "datum.kind == 'normal'"
    assert bars["encoding"]["color"]["legend"] is not None     # two kinds → a legend says which is which


def test_one_kind_needs_no_legend():
    spec = layers(build_rate_by_source([Rate("A", 100, 10)], target=0.15, lang="ja"))
    assert of(spec, "bar")[0]["encoding"]["color"]["legend"] is None


# By ranking rate (shrunk toward the overall 43/352 with 30 leads, by hand): Web広告 14.4%,
# 展示会 10.3%, blank 8.1%; 紹介 (6 of 12 = 50%) has under 30 leads and is in その他, last.
@pytest.mark.parametrize(("sort", "order"), [("rate", ["Web広告", "展示会", "（ソース未入力）", "残りのソース（1）"]),
                                             ("leads", ["展示会", "Web広告", "（ソース未入力）", "残りのソース（1）"])])
def test_sorting(sort, order):
    spec = layers(build_rate_by_source(RATES, target=0.15, lang="ja", sort=sort))
    assert of(spec, "bar")[0]["encoding"]["y"]["sort"] == order


def test_axis_leaves_room_for_the_widest_whisker_and_target():
    spec = layers(build_rate_by_source([Rate("A", 10, 9)], target=0.5, lang="ja"))
    domain = of(spec, "bar")[0]["encoding"]["x"]["scale"]["domain"]
    assert domain[0] == 0 and domain[1] >= wilson(9, 10)[1]
    with pytest.raises(ValueError):
        build_rate_by_source(RATES, target=0.15, lang="ja", sort="name")


def _cohort(month: str | None, n: int, k: int, maturing: bool) -> Cohort:
    return Cohort(month, Rate(month, n, k), 10, maturing)


COHORTS = [_cohort("2025-01", 100, 12, False), _cohort("2025-02", 20, 2, False),
           _cohort("2025-03", 80, 4, True), _cohort(None, 5, 0, False)]


def test_month_chart_layers_and_flags():
    spec = layers(build_rate_by_month(COHORTS, target=0.15, lang="ja"))
    assert [s for s in spec if s.get("description") == "benchmark-band"]
    assert [s for s in spec if s.get("description") == "target"][0]["data"]["values"][0]["target"] == 0.15
    assert of(spec, "errorbar")[0]["encoding"]["y2"]["field"] == "ci_high_shown"
    (bars,) = of(spec, "bar")
    values = {v["month"]: v for v in bars["data"]["values"]}
    assert list(values) == ["2025-01", "2025-02", "2025-03"]          # undated leads: table only
    assert [values[m]["kind"] for m in values] == ["normal", "small", "maturing"]
    assert values["2025-03"]["flag_text"] == "集計途中"
    assert values["2025-02"]["flag_text"] == "⚠少数"
    assert values["2025-01"]["flag_text"] == "" and values["2025-01"]["n_text"] == "n=100"
    assert "12.0%" in texts(spec, "rate_text")
    assert _legend(spec)[1] == "目標 15.0%"


def test_maturing_small_month_says_both():
    (v,) = cohort_values([_cohort("2025-03", 5, 1, True)], "en")
    assert v["kind"] == "maturing" and v["flag_text"] == "maturing ⚠small n"


def test_month_labels_stand_above_every_whisker():
    spec = layers(build_rate_by_month(COHORTS, target=0.15, lang="ja"))
    top_whisker = max(v["ci_high_shown"] for v in of(spec, "bar")[0]["data"]["values"])
    lanes = [s["encoding"]["y"]["field"] for s in of(spec, "text")]
    assert lanes and set(lanes) == {"lane"}
    assert all(v["lane"] >= top_whisker for s in of(spec, "text") for v in s["data"]["values"])
    assert all(s["mark"]["baseline"] == "bottom" and s["mark"]["dy"] <= -6 for s in of(spec, "text"))


def test_a_one_lead_cohort_does_not_drive_the_axis():
    """Pardot's 2018 holds one lead (interval 0–79%): its whisker is cut at the label lane and
    the axis is set by the cohorts of a usable size; the full interval stays in the data."""
    years = [_cohort("2019", 291, 23, False), _cohort("2018", 1, 0, False), _cohort("2020", 3765, 227, False)]
    spec = layers(build_rate_by_month(years, target=0.15, lang="ja"))
    values = {v["month"]: v for v in of(spec, "bar")[0]["data"]["values"]}
    sized_top = max(wilson(23, 291)[1], wilson(227, 3765)[1])
    assert values["2018"]["ci_high"] == pytest.approx(wilson(0, 1)[1]) and values["2018"]["ci_high"] > 0.7
    assert values["2018"]["ci_high_shown"] == pytest.approx(sized_top) == values["2019"]["lane"]
    assert values["2019"]["ci_high_shown"] == values["2019"]["ci_high"]
    domain = of(spec, "bar")[0]["encoding"]["y"]["scale"]["domain"]
    assert domain[1] < 0.4                                   # was 0.9+ with the one lead's whisker
    # The legend says what a column is: a year here, not a month.
    assert values["2019"]["kind_label"] == "集計済みの年" and values["2018"]["kind_label"] == "少数サンプル（30 件未満）"


def test_charts_serialise_with_no_data():
    build_rate_by_month([], target=0.15, lang="ja").to_dict()
    build_rate_by_source([], target=0.15, lang="ja").to_dict()


def _scale_of(layer: dict[str, Any]) -> dict[str, str]:
    """Colour of each legend word, as the bar layer's colour scale maps it."""
    scale = layer["encoding"]["color"]["scale"]
    return dict(zip(scale["domain"], scale["range"], strict=True))


# Pardot's years: 2013 small, 2014–2020 mature, 2021 still maturing.
PARDOT_YEARS = [_cohort("2013", 25, 1, False), _cohort("2014", 51, 2, False), _cohort("2015", 711, 32, False),
                _cohort("2018", 1, 0, False), _cohort("2019", 291, 23, False),
                _cohort("2020", 3765, 227, False), _cohort("2021", 5156, 126, True)]


@pytest.mark.parametrize("grain_cohorts", [PARDOT_YEARS, COHORTS[:3],
                                           [_cohort("2024-Q1", 200, 20, False), _cohort("2024-Q2", 90, 9, True)]])
def test_every_period_has_a_filled_bar_with_its_rate(grain_cohorts):
    """Every period's column is drawn: it carries its rate on y and its legend word is in the
    colour scale (a word outside the domain gets no fill: mature years were invisible)."""
    (bars,) = of(layers(build_rate_by_month(grain_cohorts, target=0.15, lang="ja")), "bar")
    colours = _scale_of(bars)
    assert bars["encoding"]["y"]["field"] == "rate"
    drawn = {v["month"]: v for v in bars["data"]["values"]}
    assert list(drawn) == [c.month for c in grain_cohorts]
    for c in grain_cohorts:
        v = drawn[c.month]
        assert v["rate"] == pytest.approx(c.rate.converted / c.rate.leads)
        assert colours.get(v["kind_label"], "").startswith("#"), v["kind_label"]
    if grain_cohorts is PARDOT_YEARS:
        assert colours["集計済みの年"] != colours["少数サンプル（30 件未満）"]


def _label_span(spec: list[dict[str, Any]]) -> tuple[float, float]:
    """Data units the value labels cover above their lane: their pixel height on this axis."""
    domain = of(spec, "bar")[0]["encoding"]["y"]["scale"]["domain"]
    return domain[1], domain[1] * 58 / 440


@pytest.mark.parametrize("target", [0.05, 0.10, 0.13, 0.15, 0.16, 0.25])
def test_value_labels_never_sit_on_the_target_line(target):
    """The labels (flag, rate, n) stand in a block above the lane; the target rule must not
    cross it (Pardot: 4.0% and n=25 were drawn on the 15% line)."""
    spec = layers(build_rate_by_month(PARDOT_YEARS, target=target, lang="ja"))
    top, span = _label_span(spec)
    lanes = {v["lane"] for s in of(spec, "text") for v in s["data"]["values"]}
    (lane,) = lanes
    assert not (lane - 0.001 <= target <= lane + span), (lane, span, target)
    assert lane + span <= top                                   # the labels fit under the top
    assert lane >= max(v["ci_high_shown"] for v in of(spec, "bar")[0]["data"]["values"])
