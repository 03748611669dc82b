"""ファネル: Lead → MQL → SQL → 商談 → 受注 over the filtered leads, with what each number means
(reached vs recorded), the stages the exports cannot measure, and the funnel per source."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from funnel.measures import metrics, stages
from funnel.measures.metrics import FUNNEL_STAGES
from funnel.present.charts.stages import VALUES, build_funnel_chart, build_stage_heat
from funnel.present.format import funnel_note, source_label, stage_label
from ui.filters import describe, lead_filters
from ui.state import lang, restate, t
from ui.widgets import definition, download_frame, require_current, show_chart, show_table

MODES = ("reached", "recorded")

st.title(t("stages.title"))
cur = require_current()
con = cur.ws.con
lf = lead_filters(cur)
f = lf.filters

restate("funnel_mode", "reached", MODES)
mode = st.radio(t("stages.mode"), list(MODES), key="funnel_mode", horizontal=True,
                format_func=lambda m: t(f"stages.mode.{m}"))
st.caption(t(f"stages.mode.{mode}.help"))

fn = metrics.funnel(con, f, mode)
if fn.steps[0].count == 0:
    st.warning(t("rate.no_leads"))
    st.stop()

show_chart(build_funnel_chart(fn.steps, lang=lang()))

for note, params in fn.notes:
    st.info(funnel_note(note, params, lang()), icon="ℹ️")
link = cur.build.link
definition("stages.def.body", filters=describe(lf),
           link=t(f"rate.def.link.{link.kind}", ma=link.ma_column or "—", sfa=link.sfa_column or "—"))

SC = {c: t(f"stages.col.{c}") for c in ("stage", "count", "pct_of_first", "pct_of_previous", "inferred", "measured")}
steps_table = pd.DataFrame([{SC["stage"]: stage_label(s.stage, lang()), SC["count"]: s.count if s.available else None,
                             SC["pct_of_first"]: s.pct_of_first if s.available else None,
                             SC["pct_of_previous"]: s.pct_of_previous if s.available else None,
                             SC["inferred"]: s.inferred, SC["measured"]: s.available} for s in fn.steps],
                           columns=list(SC.values()))
show_table(steps_table, percent=[SC["pct_of_first"], SC["pct_of_previous"]], integer=[SC["count"], SC["inferred"]],
           key="stages_table")
download_frame(steps_table, f"funnel_{mode}.csv", "dl_funnel")

# -- by source -----------------------------------------------------------------------------
st.header(t("stages.by_source.title"))
st.caption(t("stages.by_source.caption"))
restate("stages_value", "previous", VALUES)
value = st.radio(t("stages.heat.value"), list(VALUES), key="stages_value", horizontal=True,
                 format_func=lambda v: t(f"stages.heat.value.{v}"))
per_source = stages.funnel_by_source(con, f, mode)
show_chart(build_stage_heat(per_source, lang=lang(), value=value))

rows, percent_cols = [], []
for g in per_source:
    row: dict[str, object] = {t("stages.col.source"): source_label(g.group, lang())}
    for s in g.steps:
        name = stage_label(s.stage, lang())
        row[name] = s.count if s.available else None
        if s.stage != "lead":
            prev_col, first_col = t("stages.col.of_previous", stage=name), t("stages.col.of_first", stage=name)
            row[prev_col] = s.pct_of_previous if s.available else None
            row[first_col] = s.pct_of_first if s.available else None
            percent_cols += [c for c in (prev_col, first_col) if c not in percent_cols]
    row[t("rate.col.small")] = g.small_sample
    rows.append(row)
by_source = pd.DataFrame(rows)
count_cols = [stage_label(s, lang()) for s in FUNNEL_STAGES]
show_table(by_source, percent=percent_cols, integer=count_cols, key="stages_source_table")
download_frame(by_source, f"funnel_by_source_{mode}.csv", "dl_funnel_source")
