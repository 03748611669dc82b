"""Stage-funnel charts: Lead → MQL → SQL → 商談 → 受注 as horizontal bars, and a heat table of
stage conversion per lead source.

A stage the exports cannot measure gets no bar and the words "cannot be measured" in its row
(a zero bar would claim that nobody reached it). In ``reached`` mode, leads counted at a stage
only because they reached a later one are drawn as a lighter segment, so the inference is
visible. All numbers are computed in Python and put into the inline data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt

from funnel.config import setting
from funnel.i18n import t
from funnel.measures.metrics import FunnelStep
from funnel.measures.stages import GroupFunnel
from funnel.present.charts import COLORS, layer
from funnel.present.format import num, pct, source_label, stage_label

_INFERRED = "#93c5fd"
#: Heat cells darker than this share get white text (contrast on the blue scale).
DARK_FROM = 0.55
VALUES = ("previous", "first")


def step_text(step: FunnelStep, lang: str, first: bool) -> str:
    """``1,001 件（リード比 34.9%・前段比 41.1%）``; the first step shows its count only."""
    if not step.available:
        return t("stages.chart.unavailable", lang)
    if first:
        return t("stages.chart.first_text", lang, count=num(step.count))
    return t("stages.chart.step_text", lang, count=num(step.count), of_first=pct(step.pct_of_first),
             of_previous=pct(step.pct_of_previous))


def funnel_values(steps: Sequence[FunnelStep], lang: str) -> list[dict[str, Any]]:
    """Bar segments (recorded and inferred part of each step) and one label per step."""
    out = []
    for i, s in enumerate(steps):
        label = stage_label(s.stage, lang)
        text = step_text(s, lang, i == 0)
        recorded = s.count - s.inferred if s.available else 0
        out.append({"stage": s.stage, "label": label, "part": "recorded",
                    "part_label": t("stages.chart.recorded", lang), "start": 0, "end": recorded,
                    "count": s.count if s.available else None, "available": s.available,
                    "pct_of_first": s.pct_of_first if s.available else None,
                    "pct_of_previous": s.pct_of_previous if s.available else None,
                    "text": text, "text_at": s.count if s.available else 0})
        if s.available and s.inferred:
            out.append({"stage": s.stage, "label": label, "part": "inferred",
                        "part_label": t("stages.chart.inferred", lang), "start": recorded, "end": s.count,
                        "count": s.count, "available": True, "pct_of_first": s.pct_of_first,
                        "pct_of_previous": s.pct_of_previous, "text": "", "text_at": s.count})
    return out


def build_funnel_chart(steps: Sequence[FunnelStep], *, lang: str) -> alt.LayerChart:
    """One bar per stage, top to bottom, labelled with the count, % of leads and % of the
    previous measurable stage."""
    values = funnel_values(steps, lang)
    order = [stage_label(s.stage, lang) for s in steps]
    top = max((v["end"] for v in values), default=1) or 1
    # Room on the right for the longest label (about 30 characters at 16 px).
    x_scale = alt.Scale(domain=[0, top * 1.6], nice=False)
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelFontSize=17, labelFontWeight="bold"))
    parts = [p for p in ("recorded", "inferred") if any(v["part"] == p for v in values)]
    color = alt.Color("part_label:N", scale=alt.Scale(
        domain=[t(f"stages.chart.{p}", lang) for p in parts],
        range=[COLORS["data"] if p == "recorded" else _INFERRED for p in parts]),
        legend=alt.Legend(title=None, orient="bottom", labelLimit=480) if "inferred" in parts else None)
    bars_data = [v for v in values if v["available"]]
    bars = alt.Chart(alt.Data(values=bars_data)).mark_bar(height={"band": 0.7}).encode(
        y=y, x=alt.X("start:Q", scale=x_scale, title=t("stages.chart.x_axis", lang),
                     axis=alt.Axis(format=",d", grid=False, tickCount=6)),
        x2=alt.X2("end:Q"), color=color,
        tooltip=[alt.Tooltip("label:N", title=" "), alt.Tooltip("count:Q", format=","),
                 alt.Tooltip("pct_of_first:Q", title=t("stages.col.pct_of_first", lang), format=".1%"),
                 alt.Tooltip("pct_of_previous:Q", title=t("stages.col.pct_of_previous", lang), format=".1%")])
    labels_data = [v for v in values if v["part"] == "recorded"]
    labels = alt.Chart(alt.Data(values=labels_data)).mark_text(align="left", dx=10, fontSize=16).encode(
        y=y, x=alt.X("text_at:Q", scale=x_scale), text=alt.Text("text:N"),
        color=alt.ColorValue(COLORS["muted"], condition={"test": "datum.available", "value": COLORS["text"]}))
    return layer(bars, labels, height=max(260, 70 * len(steps)))


def heat_values(funnels: Sequence[GroupFunnel], lang: str, value: str = "previous",
                small_n: int | None = None) -> list[dict[str, Any]]:
    """One cell per (source, stage after the first): the share shown, its text, text colour."""
    if value not in VALUES:
        raise ValueError(f"value must be one of {VALUES}")
    small_n = int(setting("small_sample_n")) if small_n is None else small_n
    out = []
    columns = _heat_columns(funnels[0].steps if funnels else [], lang, value)
    for g in funnels:
        row = source_label(g.group, lang) + (" " + t("rate.chart.small_mark_short", lang) if g.leads < small_n else "")
        row = t("lang.with_n", lang, label=row, n=num(g.leads))
        for s, column in zip(g.steps[1:], columns, strict=True):
            share = (s.pct_of_previous if value == "previous" else s.pct_of_first) if s.available else None
            # Not measurable (no evidence in the exports) differs from "no base" (the previous
            # stage has no lead in this source): the first is 測定不可, the second a dash.
            text = pct(share) if share is not None else t("stages.chart.na", lang) if not s.available else "—"
            out.append({"row": row, "stage": column, "share": share, "count": s.count, "text": text,
                        "dark": share is not None and share >= DARK_FROM, "available": s.available})
    return out


def _heat_columns(steps: Sequence[FunnelStep], lang: str, value: str) -> list[str]:
    """Column titles: ``リード→MQL`` (from the previous measurable stage) or the stage alone."""
    out, prev = [], None
    for s in steps:
        label = stage_label(s.stage, lang)
        if prev is not None:
            out.append(f"{prev}→{label}" if value == "previous" and s.available else label)
        if s.available:
            prev = label
    return out


def build_stage_heat(funnels: Sequence[GroupFunnel], *, lang: str, value: str = "previous") -> alt.LayerChart:
    """Sources × stages; each cell the conversion into that stage (from the previous stage or
    from leads), darker = higher, with the % written in the cell."""
    values = heat_values(funnels, lang, value)
    rows = list(dict.fromkeys(v["row"] for v in values))
    stages = list(dict.fromkeys(v["stage"] for v in values))
    base = alt.Chart(alt.Data(values=values)).encode(
        y=alt.Y("row:N", sort=rows, title=None, axis=alt.Axis(labelFontSize=14, labelLimit=320)),
        x=alt.X("stage:N", sort=stages, title=None, axis=alt.Axis(orient="top", labelAngle=0, labelFontSize=16,
                                                                  labelFontWeight="bold")))
    title = t(f"stages.heat.legend.{value}", lang)
    scale = alt.Scale(scheme="blues", domain=[0, 1]) if value == "previous" else alt.Scale(scheme="blues")
    legend = alt.Legend(title=title, format=".0%", orient="bottom", gradientLength=320)
    # Grey where there is no share (written as alt.condition() would, keys in the same order).
    shaded = {"test": "datum.share != null", "field": "share", "legend": legend, "scale": scale, "type": "quantitative"}
    cells = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.ColorValue("#f3f4f6", condition=shaded),
        tooltip=[alt.Tooltip("row:N", title=t("term.source", lang)), alt.Tooltip("stage:N", title=" "),
                 alt.Tooltip("count:Q", format=","), alt.Tooltip("share:Q", title=title, format=".1%")])
    text = base.mark_text(fontSize=15).encode(
        text=alt.Text("text:N"),
        color=alt.ColorValue(COLORS["text"], condition={"test": "datum.dark", "value": "white"}))
    return layer(cells, text, height=max(200, 42 * len(rows)))
