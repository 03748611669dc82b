"""The behaviour-history and attribution charts: valid Vega-Lite (``to_dict()`` validates) whose
inline data holds the engine's numbers."""

from __future__ import annotations

import datetime as dt

import pytest

from funnel.measures import activity as history
from funnel.measures import attribution as credit
from funnel.model.workspace import Workspace
from funnel.present.charts.activity import build_behaviour, build_timeline
from funnel.present.charts.attribution import build_attribution, build_source_credit


@pytest.fixture(scope="module")
def engine(sample_activity_ws: Workspace) -> Workspace:
    return sample_activity_ws


def data_of(spec: dict) -> list[list[dict]]:
    """The inline data of each layer (Altair may move it to the top-level ``datasets``)."""
    layers = spec.get("layer") or [spec]
    out = []
    for x in layers:
        data = x.get("data") or spec.get("data") or {}
        out.append(data["values"] if "values" in data else spec["datasets"][data["name"]])
    return out


def test_timeline_holds_every_event_and_both_days_of_each_deal(engine: Workspace) -> None:
    events, opps = history.timeline(engine.con, ["e:watanabe.kenta@tokiwa-foods.example.co.jp"])
    spec = build_timeline(events, opps, lang="ja").to_dict()
    dots, rules, *label_layers = data_of(spec)
    labels = [x for layer in label_layers for x in layer]
    assert len(dots) == len(events) == 12
    assert [d["day"] for d in dots] == [e.day.isoformat() for e in events]
    assert sorted(r["day"] for r in rules) == sorted(d.isoformat() for o in opps for d in (o.created, o.close) if d)
    assert [x["label"] for x in labels if x["label"]] == ["6.受注"]      # the stage, once per deal
    assert dt.date.fromisoformat(rules[0]["day"]) == opps[0].created


def test_a_stage_near_the_last_day_is_written_left_of_its_rule() -> None:
    """An open deal created on the last event day: "4.見積提示" was written right of its rule,
    past the plot's right edge; a stage early in the span stays right of its rule."""
    from funnel.measures.activity import Event, OppMark

    days = [dt.date(2024, 1, 1) + dt.timedelta(days=30 * i) for i in range(6)]
    events = [Event("k", d, "Web", None, None, None, True) for d in days]
    opps = [OppMark("k", "A", None, "2.ヒアリング", None, days[0] + dt.timedelta(days=5), None, None),
            OppMark("k", "B", None, "4.見積提示", None, days[-1], None, None)]
    spec = build_timeline(events, opps, lang="ja").to_dict()
    texts = [x for x in spec["layer"] if x.get("description") == "stage-labels"]
    align = {v["label"]: x["mark"]["align"] for x in texts for v in x["data"]["values"]}
    assert align == {"2.ヒアリング": "left", "4.見積提示": "right"}
    dx = {x["mark"]["align"]: x["mark"]["dx"] for x in texts}
    assert dx["left"] > 0 > dx["right"]


def test_behaviour_chart_holds_the_engines_rates(engine: Workspace) -> None:
    found = history.behaviour(engine.con)
    bars = data_of(build_behaviour(found, lang="en").to_dict())[0]
    assert [(b["activity"], b["rate"], b["without"]) for b in bars] == [
        (x.activity, x.rate, x.rate_without) for x in found]


def test_attribution_chart_keeps_the_top_touches_under_every_model(engine: Workspace) -> None:
    models = {m: a.by_touch for m, a in credit.all_models(engine.con).items()}
    values = data_of(build_attribution(models, lang="ja", top=5).to_dict())[0]
    touches = {v["touch"] for v in values}
    assert len(touches) == 5 and "（リードなし）" in touches
    pos = {c.touch: c.opportunities for c in models["position"]}
    for v in values:
        if v["model"] == "U字型" and v["touch"] in pos:
            assert v["credit"] == pytest.approx(pos[v["touch"]])


@pytest.mark.parametrize("measure", ["opportunities", "won_amount"])
def test_source_view_writes_each_value_and_starts_at_zero(engine: Workspace, measure: str) -> None:
    sources = credit.first_touch_sources(engine.con)
    spec = build_source_credit(sources, lang="ja", measure=measure, top=6).to_dict()
    bars, labels = data_of(spec)
    want = sorted(sources, key=lambda c: -getattr(c, measure))[:6]
    assert sorted(v["credit"] for v in bars) == pytest.approx(sorted(getattr(c, measure) for c in want))
    assert len(labels) == 6 and all(v["label"] for v in labels)
    big = max(want, key=lambda c: getattr(c, measure))
    if measure == "won_amount":
        assert f"¥{big.won_amount:,.0f}" in {v["label"] for v in labels}
    else:
        assert f"{big.opportunities:,.1f}".removesuffix(".0") in {v["label"] for v in labels}
    domain = spec["layer"][0]["encoding"]["x"]["scale"]["domain"]
    assert domain[0] == 0 and domain[1] > getattr(big, measure)        # room for the value, no negative axis
    assert "legend" not in str(spec["layer"][0]["encoding"].get("color", {}))
