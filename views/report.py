"""レポート出力: the whole analysis as one Excel workbook to share — what it holds, in which
language, built on click from this session's data, filters, KPI plan, checklist answers,
benchmark set and cost data, with personal data masked when the privacy switch is on."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from fractions import Fraction
from typing import Any

import pandas as pd
import streamlit as st

from funnel import i18n
from funnel.measures.attribution import default_half_life
from funnel.measures.diagnosis import ANSWERS
from funnel.planning import plan as pl
from funnel.planning.inputs import PlanInputs, plan_defaults, plan_inputs
from funnel.present.format import num, pct
from funnel.report.workbook import MIME, build_report, sheet_list
from ui import state
from ui.filters import describe, lead_filters
from ui.privacy import masking_on
from ui.state import keep, lang, session_benchmarks, t
from ui.widgets import money_in, require_current

PLAN_KEYS = ("plan_revenue", "plan_deal_size", "plan_win_rate", "plan_opp_rate", "plan_cpa", "plan_start",
             "plan_months", "plan_lead_time")
MIX_COLUMNS = ("source", "share", "rate", "cpa")


def _mix() -> tuple[pl.MixInput, ...]:
    """The per-source mix as last edited on the plan page (its rows are keyed by the column
    labels of the language it was edited in)."""
    rows, mix_lang = state.session().plan_mix, state.session().plan_mix_lang
    if not rows or not mix_lang:
        return ()
    col = {c: i18n.t(f"plan.col.{c}", mix_lang) for c in MIX_COLUMNS}
    out = []
    for r in rows:
        source, share, rate, cpa = (r.get(col[c]) for c in MIX_COLUMNS)
        if source is None and not share:
            continue
        out.append(pl.MixInput(str(source or "—"), pl.exact(share or 0), pl.from_percent(rate or 0),
                               pl.exact(cpa) if cpa else None))
    return tuple(out)


def session_plan(cur: Any) -> tuple[PlanInputs, bool]:
    """The plan the KPI plan page shows, and whether the user typed any of it (False: the
    page's starting values, :func:`funnel.planning.inputs.plan_defaults`). Inputs the plan page
    forgets when the data or the cost data changed (they were that data's numbers) are not used."""
    con = cur.ws.con
    kept = {k: keep(k, None) for k in PLAN_KEYS}
    stale_data = state.changed("plan_data_sig", "data", record=False)
    stale_cost = state.changed("plan_cost_sig", "cost", record=False)
    if stale_data:
        kept |= {"plan_deal_size": None, "plan_win_rate": None, "plan_opp_rate": None, "plan_cpa": None,
                 "plan_start": None}
    if stale_cost:
        kept["plan_cpa"] = None
    entered = any(v is not None for v in kept.values())
    cost = state.session_cost()
    defaults = plan_defaults(con, session_benchmarks(cur.build.currency), cost, currency=cur.build.currency)
    given = {"deal_size": kept["plan_deal_size"], "win_rate": kept["plan_win_rate"], "opp_rate": kept["plan_opp_rate"],
             "cpa": kept["plan_cpa"]}
    # The plan page's cost box starts at the worked example's placeholder where nothing gives a
    # cost per lead; its plan has that budget, so the report's has too (labelled a placeholder).
    cpa_placeholder = given["cpa"] is None and defaults.values["cpa"] is None
    if cpa_placeholder:
        given["cpa"] = float(defaults.input_value("cpa"))
    revenue = kept["plan_revenue"] if kept["plan_revenue"] is not None else float(defaults.input_value("revenue"))
    base = plan_inputs(con, pl.exact(revenue),
                       deal_size=None if given["deal_size"] is None else pl.exact(given["deal_size"]),
                       win_rate=None if given["win_rate"] is None else pl.from_percent(given["win_rate"]),
                       opp_rate=None if given["opp_rate"] is None else pl.from_percent(given["opp_rate"]),
                       cpa=None if not given["cpa"] else pl.exact(given["cpa"]),
                       benchmarks=session_benchmarks(cur.build.currency), cost=cost)
    if given["cpa"] is not None and not given["cpa"]:       # 0 on the plan page: no budget
        base = replace(base, cpa=None, origins={**base.origins, "cpa": "input"})
    if cpa_placeholder:
        base = replace(base, origins={**base.origins, "cpa": "placeholder"})
    if kept["plan_revenue"] is None:
        base = replace(base, origins={**base.origins, "revenue": "placeholder"})
    start = kept["plan_start"] if isinstance(kept["plan_start"], dt.date) else base.start
    months = int(kept["plan_months"] or 12)
    weights = cur.state.plan_weights
    month_weights = tuple(Fraction(str(weights.get(f"{pl.add_months(start, i):%Y-%m}", 1.0))) for i in range(months))
    mix = () if stale_data or stale_cost else _mix()
    return PlanInputs(base.revenue, base.deal_size, base.win_rate, base.opp_rate, base.cpa, start, months,
                      month_weights, int(kept["plan_lead_time"] or 0), mix, base.origins), entered


st.title(t("report.page.title"))
st.caption(t("report.page.intro"))
cur = require_current()
CUR = cur.build.currency          # amounts in the export's currency (None: several)
cash = money_in(cur.build)
con = cur.ws.con

lf = lead_filters(cur, with_target=True)
assert lf.target is not None
plan, plan_entered = session_plan(cur)
answers = {k: v for k, v in cur.state.answers.items() if v in ANSWERS}
bench = session_benchmarks()
cost = state.session_cost()
mask = masking_on()
funnel_mode = keep("funnel_mode", "reached")
kept_ad = keep("bench_ad", None)            # the benchmark page's choice of advertising sources
ad = list(kept_ad) if kept_ad is not None else None

# -- what goes in ---------------------------------------------------------------------------------
st.header(t("report.page.inputs"))
items = [
    t("report.page.filters", filters=describe(lf)),
    t("report.page.funnel_mode", mode=t(f"stages.mode.{funnel_mode}")),
    t("report.page.plan" if plan_entered else "report.page.plan_default", revenue=cash(float(plan.revenue)),
      deals=num(pl.plan_backward(plan.revenue, plan.deal_size, plan.win_rate, plan.opp_rate, plan.cpa).deals)),
    t("report.page.answers", n=len(answers)) if answers else t("report.page.no_answers"),
    t("report.page.bench", n=len(bench)),
    (t("report.page.cost", file=cost.file, total=cash(cost.total)) if cost is not None else t("report.page.no_cost")),
    t("report.page.mask_on") if mask else t("report.page.mask_off"),
]
st.markdown("\n".join(f"- {x}" for x in items))
links = st.columns(3)
links[0].page_link("views/plan.py", label=t("nav.plan"), icon="🧮")
links[1].page_link("views/diagnosis.py", label=t("nav.diagnosis"), icon="🩺")
links[2].page_link("views/cost.py", label=t("nav.cost"), icon="💴")

# -- the workbook ---------------------------------------------------------------------------------
st.header(t("report.page.download"))
codes = list(i18n.LANGS)
# One widget per UI language: the report follows the UI language unless another is picked here.
report_lang = st.radio(t("report.page.lang"), codes, index=codes.index(lang()), key=f"report_lang_{lang()}",
                       horizontal=True, format_func=i18n.language_name)
# Everything the workbook needs is read now: the click is served after this run, outside the
# session (a download callback cannot read the session's state).
options: dict[str, Any] = {
    "lang": report_lang, "filters": lf.filters, "target": lf.target, "funnel_mode": funnel_mode, "benchmarks": bench,
    "ad_sources": ad, "plan": plan, "checklist": answers, "cost": cost, "loss_rules": state.loss_rules(),
    "mask": mask, "sources": state.session_source_map(),
    "half_life": float(keep("attribution_half_life", default_half_life()))}
ws = cur.ws
stamp = dt.datetime.now().strftime("%Y%m%d_%H%M")
st.download_button(t("report.page.button"), data=lambda: build_report(ws, **options),
                   file_name=f"funnel_report_{stamp}.xlsx", mime=MIME, key="report_download", icon="📗",
                   type="primary", on_click="ignore")
st.caption(t("report.page.note", target=pct(lf.target)))

st.subheader(t("report.page.contents", n=len(sheet_list(report_lang))))
st.dataframe(pd.DataFrame(sheet_list(report_lang), columns=[t("report.col.sheet"), t("report.col.contents")]),
             hide_index=True, width="stretch")
