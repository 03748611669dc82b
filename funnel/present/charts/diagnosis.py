"""Self-diagnosis charts: the five-step roadmap as a progress bar per step (done in green, the
current step in orange, later steps in grey), and the answers per category as stacked bars
(Yes green, No red, Don't know grey, unanswered pale). Values are computed in Python and put
into the inline data, so a test reads them back from ``chart.to_dict()``.
"""

from __future__ import annotations

from typing import Any

import altair as alt

from funnel.i18n import t
from funnel.measures.diagnosis import ANSWERS, Checklist, Diagnosis
from funnel.present.charts import COLORS
from funnel.present.format import pct

STATUS = ("done", "current", "todo")
STATUS_COLORS = {"done": COLORS["good"], "current": COLORS["target"], "todo": COLORS["benchmark"]}
TRACK = {"done": "#dcfce7", "current": "#fed7aa", "todo": "#f3f4f6"}     # pale backgrounds of the steps
ANSWER_COLORS = {"yes": COLORS["good"], "no": COLORS["warn"], "unknown": COLORS["benchmark"], None: "#e5e7eb"}


def roadmap_values(diag: Diagnosis, checklist: Checklist, lang: str) -> list[dict[str, Any]]:
    """One row per roadmap step: its label, Yes share, ``yes/total`` text and status."""
    order = [s.id for s in checklist.steps]
    current = order.index(diag.current_step) if diag.current_step else len(order)
    out = []
    for i, (step, tally) in enumerate(zip(checklist.steps, diag.by_step, strict=True)):
        status = "done" if i < current else "current" if i == current else "todo"
        share = tally.yes / tally.total if tally.total else 0.0
        out.append({"step": step.id, "label": f"{i + 1}. {step.name(lang)}", "yes": tally.yes,
                    "total": tally.total, "share": share, "text": f"{tally.yes}/{tally.total}",
                    "status": status, "status_label": t(f"diagnosis.chart.status.{status}", lang)})
    return out


def build_roadmap_chart(diag: Diagnosis, checklist: Checklist, lang: str) -> alt.LayerChart:
    """Bars of the Yes share per step, in roadmap order, coloured by done / current / later.

    Each step stands on a full-height track (pale orange under the current step), so the
    current step is visible even when none of its items is Yes yet.
    """
    values = roadmap_values(diag, checklist, lang)
    order = [v["label"] for v in values]
    statuses = [t(f"diagnosis.chart.status.{s}", lang) for s in STATUS]
    x = alt.X("label:N", sort=order, title=None, axis=alt.Axis(labelAngle=0, labelFontSize=15, labelLimit=200))
    y = alt.Y("share:Q", title=t("diagnosis.chart.share", lang), scale=alt.Scale(domain=[0, 1]),
              axis=alt.Axis(format="%", tickCount=5))
    base = alt.Chart(alt.Data(values=values)).encode(x=x)
    track = base.mark_bar(size=90, color=TRACK["todo"]).encode(
        y=alt.YDatum(1), color=alt.Color("status:N", legend=None,
                                        scale=alt.Scale(domain=list(STATUS), range=[TRACK[s] for s in STATUS])))
    bars = base.mark_bar(size=90).encode(
        y=y, color=alt.Color("status_label:N", title=None,
                             scale=alt.Scale(domain=statuses, range=[STATUS_COLORS[s] for s in STATUS])),
        tooltip=[alt.Tooltip("label:N", title=" "), alt.Tooltip("text:N", title=t("diagnosis.chart.items", lang)),
                 alt.Tooltip("share:Q", title=t("diagnosis.chart.share", lang), format=".0%")])
    text = base.mark_text(dy=-12, fontSize=17, fontWeight="bold", color=COLORS["text"]).encode(
        y=alt.Y("share:Q"), text=alt.Text("text:N"))
    return alt.LayerChart(layer=[track, bars, text], height=280, width="container").resolve_scale(color="independent")


def category_values(diag: Diagnosis, checklist: Checklist, lang: str) -> list[dict[str, Any]]:
    """One row per category and answer (Yes, No, Don't know, unanswered): the item count."""
    out = []
    for cat, tally in zip(checklist.categories, diag.by_category, strict=True):
        counts = {"yes": tally.yes, "no": tally.no, "unknown": tally.unknown, None: tally.unanswered}
        label = cat.name(lang)
        for rank, answer in enumerate((*ANSWERS, None)):
            out.append({"category": cat.id, "label": label, "answer": answer or "none", "rank": rank,
                        "answer_label": t(f"diagnosis.answer.{answer or 'none'}", lang), "n": counts[answer],
                        "share_text": f"{pct(tally.yes / tally.total, 0)} ({tally.yes}/{tally.total})"
                        if tally.total else ""})
    return out


def build_category_chart(diag: Diagnosis, checklist: Checklist, lang: str) -> alt.LayerChart:
    """Stacked horizontal bars: items per answer in each category, the Yes share at the end."""
    values = category_values(diag, checklist, lang)
    order = [c.name(lang) for c in checklist.categories]
    answers = [*ANSWERS, None]
    domain = [t(f"diagnosis.answer.{a or 'none'}", lang) for a in answers]
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=260, labelFontSize=15))
    room = max((tl.total for tl in diag.by_category), default=1) * 1.3      # space for the share text
    bars = alt.Chart(alt.Data(values=values)).mark_bar(height=28).encode(
        y=y, x=alt.X("n:Q", stack="zero", title=t("diagnosis.chart.items", lang), scale=alt.Scale(domain=[0, room]),
                     axis=alt.Axis(tickMinStep=1)),
        color=alt.Color("answer_label:N", title=None,
                        scale=alt.Scale(domain=domain, range=[ANSWER_COLORS[a] for a in answers])),
        order=alt.Order("rank:Q"),
        tooltip=[alt.Tooltip("label:N", title=" "), alt.Tooltip("answer_label:N", title=" "),
                 alt.Tooltip("n:Q", title=t("diagnosis.chart.items", lang))])
    totals = [{"label": c.name(lang), "total": tl.total, "text": v["share_text"]}
              for c, tl, v in zip(checklist.categories, diag.by_category, values[::len(answers)], strict=True)]
    text = alt.Chart(alt.Data(values=totals)).mark_text(align="left", dx=6, fontSize=14, color=COLORS["text"]).encode(
        y=alt.Y("label:N", sort=order), x=alt.X("total:Q"), text=alt.Text("text:N"))
    return alt.LayerChart(layer=[bars, text], height=alt.Step(44), width="container")
