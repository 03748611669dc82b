"""アトリビューション: each opportunity's credit of 1 (and each won deal's, and its amount)
split over the touches of its leads under every model side by side, beside the first-touch
source view; ``(no lead)`` and ``(no touch)`` shown, so each column sums to the deals."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from funnel.measures import attribution as credit
from funnel.present.charts.attribution import build_attribution, build_source_credit, touch_label
from funnel.present.format import num, yen
from ui.state import keep, lang, query, restate, t
from ui.widgets import UPLOAD_PAGE, definition, download_frame, require_current, show_chart, show_table

MEASURES = credit.MEASURES

st.title(t("attribution.title"))
cur = require_current()
st.caption(t("attribution.intro"))
if cur.build.activity is None:
    st.info(t("activity.no_files"), icon="ℹ️")
    st.page_link(UPLOAD_PAGE, label=t("app.go_upload"), icon="📂")
    st.stop()

c1, c2, c3 = st.columns([2, 1, 1.4])
restate("attribution_model", credit.default_model(), credit.MODELS)
model = c1.radio(t("attribution.model"), list(credit.MODELS), key="attribution_model", horizontal=True,
                 format_func=lambda m: t(f"activity.model_short.{m}"), help=t("attribution.model_help"))
half_life = float(c2.number_input(t("attribution.half_life"), min_value=0.5, max_value=365.0, step=1.0,
                                  value=float(keep("attribution_half_life", credit.default_half_life())),
                                  key="attribution_half_life", help=t("attribution.half_life_help")))
restate("attribution_measure", "opportunities", MEASURES)
measure = c3.radio(t("attribution.measure"), list(MEASURES), key="attribution_measure", horizontal=True,
                   format_func=lambda m: t(f"attribution.measure.{m}"))

models = query(credit.all_models, half_life)
first_touch = query(credit.first_touch_sources)
chosen = models[model]
totals = {m: sum(c.opportunities for c in a.by_touch) for m, a in models.items()}
won_total = sum(c.won for c in chosen.by_touch)
amount_total = sum(c.won_amount for c in chosen.by_touch)
no_lead = next((c.opportunities for c in chosen.by_touch if c.touch == credit.NO_LEAD), 0.0)
no_touch = next((c.opportunities for c in chosen.by_touch if c.touch == credit.NO_TOUCH), 0.0)

k1, k2, k3, k4 = st.columns([1, 1, 1.5, 1])
k1.metric(t("attribution.kpi.opps"), num(round(totals[model])), border=True)
k2.metric(t("attribution.kpi.won"), num(round(won_total)), border=True)
k3.metric(t("attribution.kpi.amount"), yen(amount_total), border=True)
k4.metric(t("attribution.kpi.untouched"), t("attribution.kpi.untouched_value", no_lead=num(round(no_lead)),
                                               no_touch=num(round(no_touch))), border=True)
definition("attribution.def", half_life=f"{half_life:g}")

st.subheader(t("attribution.chart.title", measure=t(f"attribution.measure.{measure}")))
series = {credit.FIRST_TOUCH_SOURCE: first_touch, **{m: a.by_touch for m, a in models.items()}}
# 3:2 keeps the five-model legend whole at 1280 px; the source view writes its values on the bars.
left, right = st.columns([3, 2])
with left:
    st.markdown("**" + t("attribution.chart.models") + "**")
    show_chart(build_attribution({m: a.by_touch for m, a in models.items()}, lang=lang(), measure=measure))
with right:
    st.markdown("**" + t("activity.model_short.first_touch_source") + "**")
    show_chart(build_source_credit(first_touch, lang=lang(), measure=measure))
st.caption(t("attribution.chart.caption"))

# -- side by side: one row per touch, one column per model (and the first-touch source view) -------------
st.subheader(t("attribution.table.title", measure=t(f"attribution.measure.{measure}")))
model_cols = {name: t(f"activity.model_short.{name}") for name in series}
touch_col = t("activity.term.touch")
# Tables show one decimal (shares of a deal); downloads keep the exact credit.
one_decimal = st.column_config.NumberColumn(format="%.1f")
table = pd.DataFrame([{touch_col: touch_label(touch, lang()), **{model_cols[n]: v[n] for n in series}}
                      for touch, v in credit.side_by_side(series, measure, order_by=model)],
                     columns=[touch_col, *model_cols.values()])
total_row = {touch_col: t("attribution.table.total"),
             **{model_cols[n]: v for n, v in credit.totals(series, measure).items()}}
table = pd.concat([table, pd.DataFrame([total_row])], ignore_index=True)
if measure == "won_amount":
    show_table(table, yen=list(model_cols.values()), height=min(560, 40 + 35 * len(table)))
else:
    show_table(table, column_config=dict.fromkeys(model_cols.values(), one_decimal),
               height=min(560, 40 + 35 * len(table)))
download_frame(table, f"attribution_{measure}.csv", "dl_attribution")
definition("attribution.def.table")

st.subheader(t("attribution.detail.title", model=t(f"activity.model_short.{model}")))
credit_cols = [t("activity.term.credit_opps"), t("activity.term.credit_won")]
detail = pd.DataFrame([{touch_col: touch_label(c.touch, lang()), credit_cols[0]: c.opportunities,
                        credit_cols[1]: c.won, t("activity.term.credit_amount"): c.won_amount}
                       for c in chosen.by_touch])
show_table(detail, yen=[t("activity.term.credit_amount")], column_config=dict.fromkeys(credit_cols, one_decimal))
download_frame(detail, f"attribution_{model}.csv", "dl_attribution_model")
