"""The stage-funnel chart builders, read back through ``chart.to_dict()``: a stage the exports
cannot measure is said so (no bar, not a zero), inferred leads are a separate segment, every
label carries both percentages; the heat table tells "not measurable" from "no base"."""

from __future__ import annotations

import pytest

from funnel.measures.metrics import FunnelStep, build_steps
from funnel.measures.stages import GroupFunnel
from funnel.present.charts.stages import build_funnel_chart, build_stage_heat, heat_values
from tests.test_charts_rate import layers, of

STEPS = [FunnelStep("lead", 100, 1.0, None), FunnelStep("mql", 0, 0.0, None, False),
         FunnelStep("sql", 40, 0.4, 0.4, True, 12), FunnelStep("opportunity", 30, 0.3, 0.75),
         FunnelStep("won", 8, 0.08, 8 / 30)]


def test_funnel_bars_labels_and_unmeasurable_stage():
    spec = layers(build_funnel_chart(STEPS, lang="ja"))
    (bars,) = of(spec, "bar")
    stages = [v["stage"] for v in bars["data"]["values"]]
    assert "mql" not in stages                                   # no bar at all, not a zero bar
    (labels,) = of(spec, "text")
    text = {v["stage"]: v["text"] for v in labels["data"]["values"]}
    assert text["mql"] == "測定できません（エクスポートに記録がありません）"
    assert text["lead"] == "100 件"
    assert text["opportunity"] == "30 件（リード比 30.0%・前段比 75.0%）"
    assert bars["encoding"]["y"]["sort"] == ["リード", "MQL", "SQL", "商談", "受注"]


def test_inferred_leads_are_their_own_segment():
    spec = layers(build_funnel_chart(STEPS, lang="en"))
    (bars,) = of(spec, "bar")
    sql = [(v["part"], v["start"], v["end"]) for v in bars["data"]["values"] if v["stage"] == "sql"]
    assert sql == [("recorded", 0, 28), ("inferred", 28, 40)]
    assert bars["encoding"]["color"]["legend"] is not None
    assert "Inferred (reached a later stage)" in bars["encoding"]["color"]["scale"]["domain"]


def _group(name: str | None, counts: list[int], available: list[bool]) -> GroupFunnel:
    return GroupFunnel(name, build_steps(counts, [0] * 5, available))


def test_heat_cells_and_columns():
    funnels = [_group("展示会", [50, 20, 10, 5, 1], [True] * 5), _group("紹介", [4, 0, 0, 0, 0], [True] * 5)]
    values = heat_values(funnels, "ja", "previous", small_n=30)
    cols = list(dict.fromkeys(v["stage"] for v in values))
    assert cols == ["リード→MQL", "MQL→SQL", "SQL→商談", "商談→受注"]
    cell = {(v["row"], v["stage"]): v for v in values}
    assert cell[("展示会（n=50）", "MQL→SQL")]["share"] == pytest.approx(0.5)
    assert cell[("展示会（n=50）", "MQL→SQL")]["text"] == "50.0%"
    # 紹介 has no MQL, so MQL→SQL has no base: a dash, not 測定不可 and not 0%.
    small = "紹介 ⚠少数（n=4）"
    assert cell[(small, "リード→MQL")]["text"] == "0.0%"
    assert cell[(small, "MQL→SQL")]["text"] == "—" and cell[(small, "MQL→SQL")]["share"] is None
    first = {(v["row"], v["stage"]): v for v in heat_values(funnels, "ja", "first")}
    assert first[("展示会（n=50）", "受注")]["share"] == pytest.approx(0.02)


def test_heat_unmeasurable_stage():
    funnels = [_group("Web", [10, 0, 0, 4, 1], [True, False, False, True, True])]
    values = heat_values(funnels, "en", "previous")
    cols = [v["stage"] for v in values]
    assert cols == ["MQL", "SQL", "Leads→Opportunities", "Opportunities→Won"]
    assert [v["text"] for v in values] == ["n/a", "n/a", "40.0%", "25.0%"]
    spec = layers(build_stage_heat(funnels, lang="en"))
    rect = of(spec, "rect")[0]
    build_stage_heat(funnels, lang="ja", value="first").to_dict()      # both value scales serialise
    assert rect["encoding"]["color"]["condition"]["test"] == "datum.share != null"
    with pytest.raises(ValueError):
        heat_values(funnels, "en", "both")
