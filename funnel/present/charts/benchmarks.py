"""The benchmark chart: per benchmark, the published range as a grey band, the target as an
orange tick and the user's value as a blue diamond with its status beside it.

Rates and yen cannot share an axis, so the builder draws one unit at a time and the page
stacks one chart per unit.
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import pandas as pd

from funnel.present.charts import COLORS, height_for

COLUMNS = ("row", "low", "high", "target", "value", "label")
#: Axis end over the rightmost mark: the status texts stand in the part beyond it.
LABEL_ROOM = 1.8


def _axis(unit: str, title: str) -> alt.Axis:
    if unit == "percent":
        return alt.Axis(format=".0%", title=title, labelOverlap="greedy", tickCount=8)
    # d3's currency format is locale-bound ($); write the yen sign ourselves.
    return alt.Axis(title=title, labelExpr="'¥' + format(datum.value, ',.0f')", labelOverlap="greedy", tickCount=8)


def build_benchmark_chart(frame: pd.DataFrame, unit: str, titles: Mapping[str, str]) -> alt.LayerChart:
    """Range band, target tick and the user's marker per row of ``frame``.

    Args:
        frame: one row per benchmark with ``row`` (label, shown top to bottom in frame order),
            ``low``/``high``/``target``/``value`` in comparison units (fractions for
            ``percent``, yen for ``yen``; ``target``/``value`` may be missing) and ``label``
            (the text beside the marker, e.g. "12.0%（範囲内）").
        unit: ``percent`` or ``yen``.
        titles: ``{"percent": axis title, "yen": axis title}``.
    """
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks {missing}")
    df = frame.loc[:, list(COLUMNS)].copy()
    # The status text stands right of everything on its row (band, target tick, marker): beside
    # the marker it ran over the band and the target ("1.0%（下回る・要注意）" at 1024 px).
    df["lane"] = df[["low", "high", "target", "value"]].astype(float).max(axis=1, skipna=True)
    top = df["lane"].max()
    top = float(top) if pd.notna(top) and top > 0 else 1.0
    # Room on the right of the widest row for its text (about 45% of the plot).
    scale = alt.Scale(domain=[0, top * LABEL_ROOM], zero=True, nice=False)
    axis = _axis(unit, titles.get(unit, ""))
    y = alt.Y("row:N", sort=None, title=None, axis=alt.Axis(labelLimit=320))
    base = alt.Chart(df).encode(y=y)
    band = base.mark_bar(height=22, color=COLORS["benchmark"], opacity=0.45).encode(
        x=alt.X("low:Q", scale=scale, axis=axis), x2=alt.X2("high:Q"),
        tooltip=[alt.Tooltip("row:N", title=titles.get("row", "")), alt.Tooltip("label:N", title=titles.get("value", ""))])
    # A single published value ("約20%") has no width as a band: draw it as a tick.
    point = base.transform_filter("datum.low == datum.high").mark_tick(
        color=COLORS["muted"], thickness=4, size=26).encode(x=alt.X("low:Q", scale=scale))
    target = base.transform_filter("isValid(datum.target)").mark_tick(
        color=COLORS["target"], thickness=3, size=32).encode(x=alt.X("target:Q", scale=scale))
    marker = base.transform_filter("isValid(datum.value)").mark_point(
        shape="diamond", filled=True, size=200, opacity=1, color=COLORS["data"]).encode(
        x=alt.X("value:Q", scale=scale), tooltip=[alt.Tooltip("row:N", title=titles.get("row", "")),
                                                  alt.Tooltip("label:N", title=titles.get("value", ""))])
    text = base.transform_filter("isValid(datum.value)").mark_text(
        align="left", dx=14, fontSize=13, color=COLORS["text"]).encode(
        x=alt.X("lane:Q", scale=scale), text=alt.Text("label:N"))
    return alt.LayerChart(layer=[band, point, target, marker, text], height=height_for(len(df), per_row=44),
                          width="container")
