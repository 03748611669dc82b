"""The match chart: opportunities per source as a stacked bar, linked (blue) and without a
lead (red), with the match rate at the end of each bar."""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import pandas as pd

from funnel.present.charts import COLORS, height_for


def build_match_chart(frame: pd.DataFrame, labels: Mapping[str, str]) -> alt.LayerChart:
    """Stacked horizontal bars of linked / unlinked opportunities per group.

    Args:
        frame: ``group`` (label, shown top to bottom in frame order), ``linked``,
            ``unlinked`` (counts) and ``rate_text`` (shown after the bar, may be empty).
        labels: ``linked``/``unlinked`` (legend), ``x`` (axis title), ``group`` (tooltip).
    """
    missing = [c for c in ("group", "linked", "unlinked", "rate_text") if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks {missing}")
    order = list(frame["group"])
    long = frame.melt(id_vars=["group"], value_vars=["linked", "unlinked"], var_name="kind", value_name="n")
    long["kind_label"] = long["kind"].map({"linked": labels["linked"], "unlinked": labels["unlinked"]})
    long["stack"] = long["kind"].map({"linked": 0, "unlinked": 1})
    y = alt.Y("group:N", sort=order, title=None, axis=alt.Axis(labelLimit=260))
    bars = alt.Chart(long).mark_bar(height=22).encode(
        y=y, x=alt.X("n:Q", stack="zero", title=labels["x"]),
        color=alt.Color("kind_label:N", title=None,
                        scale=alt.Scale(domain=[labels["linked"], labels["unlinked"]],
                                        range=[COLORS["data"], COLORS["warn"]])),
        order=alt.Order("stack:Q"),
        tooltip=[alt.Tooltip("group:N", title=labels.get("group", "")), alt.Tooltip("kind_label:N", title=" "),
                 alt.Tooltip("n:Q", title=labels["x"], format=",")])
    totals = frame.assign(total=frame["linked"] + frame["unlinked"])
    text = alt.Chart(totals).mark_text(align="left", dx=6, fontSize=13, color=COLORS["text"]).encode(
        y=alt.Y("group:N", sort=order), x=alt.X("total:Q"), text=alt.Text("rate_text:N"))
    return alt.LayerChart(layer=[bars, text], height=height_for(len(frame)), width="container")
