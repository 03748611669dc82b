"""Attribution charts (アトリビューション): the credit of each touch under every model side by
side (colours), or of each first-touch source.

Every number a chart shows is computed here and put into its inline data, so a test reads it
from ``chart.to_dict()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt

from funnel.i18n import t
from funnel.measures.attribution import NO_LEAD, NO_TOUCH, Credit
from funnel.present.charts import COLORS, PALETTE, height_for, layer
from funnel.present.format import source_label, yen


def touch_label(touch: str | None, lang: str) -> str:
    """A touch as shown: ``(no lead)`` / ``(no touch)`` in the reader's language; a blank touch
    (no source written) under the one label of a missing source, :func:`source_label`."""
    if touch == NO_LEAD:
        return t("activity.touch.no_lead", lang)
    if touch == NO_TOUCH:
        return t("activity.touch.no_touch", lang)
    return source_label(touch or None, lang)


def attribution_values(models: Mapping[str, Sequence[Credit]], lang: str, measure: str = "opportunities") -> list[dict[str, Any]]:
    out = []
    for model, credits in models.items():
        for c in credits:
            value = float(getattr(c, measure))
            out.append({"model": t(f"activity.model_short.{model}", lang), "touch": touch_label(c.touch, lang),
                        "credit": round(value, 6), "text": yen(value) if measure == "won_amount" else f"{value:,.2f}"})
    return out


def build_attribution(models: Mapping[str, Sequence[Credit]], *, lang: str, measure: str = "opportunities",
                      top: int = 10) -> alt.Chart:
    """Credit per touch (rows) under each model (colours, side by side); the ``top`` touches by
    the largest credit under any model, the rest left to the table."""
    values = attribution_values(models, lang, measure)
    best: dict[str, float] = {}
    for v in values:
        best[v["touch"]] = max(best.get(v["touch"], 0.0), v["credit"])
    keep = sorted(best, key=lambda k: -best[k])[:top]
    shown = [v for v in values if v["touch"] in keep]
    names = list(dict.fromkeys(v["model"] for v in values))
    return alt.Chart(alt.Data(values=shown)).mark_bar().encode(
        y=alt.Y("touch:N", sort=keep, title=None),
        yOffset=alt.YOffset("model:N", sort=names),
        x=alt.X("credit:Q", title=t(f"activity.term.credit_{'amount' if measure == 'won_amount' else 'won' if measure == 'won' else 'opps'}", lang)),
        color=alt.Color("model:N", sort=names, title=None, scale=alt.Scale(range=PALETTE[:len(names)]),
                        legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("touch:N", title=t("activity.term.touch", lang)), alt.Tooltip("model:N", title=" "),
                 alt.Tooltip("text:N", title=" ")]).properties(height=height_for(len(keep), max(28, 11 * len(names) + 10)))


def build_source_credit(credits: Sequence[Credit], *, lang: str, measure: str = "opportunities",
                        top: int = 10) -> alt.LayerChart:
    """The first-touch source view: one bar per source (the ``top`` by credit) with its value
    written at the end, so the narrow column beside the models still reads; no legend (the
    heading above names the view)."""
    values = attribution_values({"first_touch_source": credits}, lang, measure)
    keep = [v["touch"] for v in sorted(values, key=lambda v: -v["credit"])[:top]]
    shown = [v for v in values if v["touch"] in keep]
    y = alt.Y("touch:N", sort=keep, title=None, axis=alt.Axis(labelLimit=160))
    x_title = t(f"activity.term.credit_{'amount' if measure == 'won_amount' else 'won' if measure == 'won' else 'opps'}", lang)
    # Room at the end of the longest bar for its value (a yen amount is the longest text).
    room = max([v["credit"] for v in shown] or [1.0]) * (1.35 if measure == "won_amount" else 1.15) or 1.0
    base = alt.Chart(alt.Data(values=shown))
    bars = base.mark_bar(color=COLORS["data"]).encode(
        y=y, x=alt.X("credit:Q", title=x_title, scale=alt.Scale(domain=[0, room], nice=True)),
        tooltip=[alt.Tooltip("touch:N", title=t("activity.model_short.first_touch_source", lang)),
                 alt.Tooltip("text:N", title=" ")])
    labels = base.mark_text(align="left", dx=4, fontSize=12, color=COLORS["text"]).encode(
        y=y, x="credit:Q", text=alt.Text("label:N"))
    for v in shown:
        v["label"] = v["text"] if measure == "won_amount" else f"{v['credit']:,.1f}".removesuffix(".0")
    return layer(bars, labels).properties(height=height_for(len(keep), 30))
