"""Behaviour-history charts (行動履歴): a lead's timeline with its opportunities on the same
line of time, and the 商談化率 of leads per activity type with 95% intervals against the rate
of the others.

Every number a chart shows is computed here and put into its inline data, so a test reads it
from ``chart.to_dict()``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import altair as alt

from funnel.i18n import t
from funnel.measures.activity import Behaviour, Event, OppMark
from funnel.present.charts import COLORS, height_for, layer
from funnel.present.format import num, pct, yen


def timeline_values(events: Sequence[Event], opps: Sequence[OppMark], lang: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    ev = [{"day": e.day.isoformat(), "activity": e.activity or t("activity.blank", lang),
           "touch": e.campaign or e.channel or "", "asset": e.asset or "",
           "counted": t("activity.timeline.counted" if e.counted else "activity.timeline.after", lang)}
          for e in events]
    marks = []
    for o in opps:
        for kind, day in (("created", o.created), ("close", o.close)):
            if day is not None:
                # The stage is written once per deal: at its close day, else at its created day.
                label = o.stage or "" if kind == "close" or o.close is None else ""
                marks.append({"day": day.isoformat(), "kind": t(f"activity.timeline.opp_{kind}", lang),
                              "deal": o.deal_name or "", "stage": o.stage or "", "label": label,
                              "amount": yen(o.amount) if o.amount else "—"})
    return ev, marks


def build_timeline(events: Sequence[Event], opps: Sequence[OppMark], *, lang: str) -> alt.LayerChart:
    """One row per activity type, a dot per event in time; each opportunity's created day (and
    close day) as a vertical rule labelled with the deal's stage."""
    ev, marks = timeline_values(events, opps, lang)
    types = sorted({v["activity"] for v in ev})
    day = alt.X("day:T", title=t("activity.timeline.day", lang), axis=alt.Axis(format="%Y-%m-%d"))
    dots = alt.Chart(alt.Data(values=ev)).mark_circle(size=110, opacity=0.85).encode(
        x=day, y=alt.Y("activity:N", title=None, sort=types),
        color=alt.Color("counted:N", title=None,
                        scale=alt.Scale(domain=[t("activity.timeline.counted", lang), t("activity.timeline.after", lang)],
                                        range=[COLORS["data"], "#94a3b8"]),
                        legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("day:T", title=t("activity.timeline.day", lang), format="%Y-%m-%d"),
                 alt.Tooltip("activity:N", title=t("activity.term.activity", lang)),
                 alt.Tooltip("touch:N", title=t("activity.col.touch", lang)),
                 alt.Tooltip("asset:N", title=t("activity.col.asset", lang))])
    parts: list[alt.Chart] = [dots]
    if marks:
        rule_data = alt.Data(values=marks)
        parts.append(alt.Chart(rule_data).mark_rule(strokeWidth=2, strokeDash=[5, 3], color=COLORS["good"]).encode(
            x="day:T", tooltip=[alt.Tooltip("kind:N", title=" "), alt.Tooltip("deal:N", title=t("activity.col.deal", lang)),
                                alt.Tooltip("stage:N", title=t("activity.col.stage", lang)),
                                alt.Tooltip("amount:N", title=t("activity.col.amount", lang))]))
        # A stage written right of a rule near the last day ran off the plot's right edge
        # ("4.見積提示"): those in the right part of the span are written left of their rule.
        days = sorted([v["day"] for v in ev] + [m["day"] for m in marks])
        lo, hi = dt.date.fromisoformat(days[0]), dt.date.fromisoformat(days[-1])
        for m in marks:
            m["flip"] = (dt.date.fromisoformat(m["day"]) - lo).days > 0.6 * (hi - lo).days
        for flip in (False, True):
            part = [m for m in marks if m["flip"] == flip and m["label"]]
            if part:
                parts.append(alt.Chart(alt.Data(values=part), description="stage-labels").mark_text(
                    align="right" if flip else "left", dx=-4 if flip else 4, dy=-6, baseline="bottom",
                    color=COLORS["good"], fontSize=12).encode(x="day:T", y=alt.value(0), text=alt.Text("label:N")))
    return layer(*parts).properties(height=height_for(len(types), 40, 180))


def behaviour_values(items: Sequence[Behaviour], lang: str) -> list[dict[str, Any]]:
    out = []
    for b in items:
        lo, hi = b.ci
        out.append({"activity": b.activity or t("activity.blank", lang), "rate": b.rate, "lo": lo, "hi": hi,
                    "leads": b.leads, "converted": b.converted, "without": b.rate_without,
                    "rate_text": pct(b.rate), "without_text": pct(b.rate_without) if b.rate_without is not None else "—",
                    "lift_text": f"{b.lift:.2f}" if b.lift is not None else "—", "n_text": num(b.leads)})
    return out


def build_behaviour(items: Sequence[Behaviour], *, lang: str, by: str = "activity") -> alt.LayerChart:
    """A bar of 商談化率 per activity type (or campaign, ``by="campaign"``) with its 95% interval,
    and a tick at the rate of the leads who did not do it: how far the bar is from the tick is
    the lift."""
    values = behaviour_values(items, lang)
    order = [v["activity"] for v in sorted(values, key=lambda v: -v["rate"])]
    y = alt.Y("activity:N", sort=order, title=None)
    tips = [alt.Tooltip("activity:N", title=t("activity.term.activity" if by == "activity" else "activity.col.campaign", lang)),
            alt.Tooltip("rate_text:N", title=t("activity.col.rate", lang)),
            alt.Tooltip("without_text:N", title=t("activity.term.rate_without", lang)),
            alt.Tooltip("lift_text:N", title=t("activity.term.lift", lang)),
            alt.Tooltip("n_text:N", title=t("activity.col.leads", lang))]
    base = alt.Chart(alt.Data(values=values))
    bars = base.mark_bar(color=COLORS["data"], opacity=0.8).encode(
        x=alt.X("rate:Q", title=t("activity.col.rate", lang), axis=alt.Axis(format="%")), y=y, tooltip=tips)
    ci = base.mark_rule(color="#1e293b").encode(x="lo:Q", x2="hi:Q", y=y)
    tick = base.mark_tick(color=COLORS["warn"], thickness=3, size=22).encode(x="without:Q", y=y, tooltip=tips)
    return layer(bars, ci, tick).properties(height=height_for(len(values)))
