"""MQL定義の検証: 商談化率 by lead-score band, and precision / recall / volume passed to sales at
every score threshold, with a recommended threshold under the user's constraints, so that
marketing and sales can agree a numeric handoff rule."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from funnel.config import setting
from funnel.measures import activity as history
from funnel.measures import metrics
from funnel.measures import mql as scoring
from funnel.measures.metrics import Filters
from funnel.present.charts.mql import band_label, build_band_rates, build_threshold_curve, score_text
from funnel.present.format import num, pct
from ui.filters import describe, lead_filters
from ui.state import changed, keep, lang, query, restate, set_widget, t
from ui.widgets import UPLOAD_PAGE, definition, download_frame, require_current, show_chart, show_table

st.title(t("mql.title"))
cur = require_current()
con = cur.ws.con
st.caption(t("mql.intro"))

if not scoring.summary(con, Filters()).has_scores:
    # No score column in the MA export (or none mapped): say so and how to map one.
    st.warning(t("mql.no_score"), icon="⚠️")
    st.markdown(t("mql.no_score_how", field=t("field.score"), side=t("side.ma"), mapping=t("upload.map.title"),
                  column=t("upload.map.column")))
    st.page_link(UPLOAD_PAGE, label=t("mql.go_upload"), icon="📂")
    st.stop()

lf = lead_filters(cur)
f = lf.filters
s = scoring.summary(con, f)
if s.leads == 0:
    st.warning(t("mql.no_leads"))
    st.stop()
if not s.has_scores:
    st.warning(t("mql.no_score_filtered", n=num(s.leads)))
    st.stop()
small_n = int(setting("small_sample_n"))
overall_rate = s.converted_scored / s.scored
st.markdown(t("mql.summary", scored=num(s.scored), leads=num(s.leads), lo=score_text(s.lo), hi=score_text(s.hi),
              converted=num(s.converted_scored), rate=pct(overall_rate)))
if s.unscored:
    st.info(t("mql.unscored_note", n=num(s.unscored), k=num(s.unscored_converted),
              rate=pct(s.unscored_converted / s.unscored)), icon="ℹ️")

# The bands come first on the page but are drawn last: their colours follow the threshold
# chosen further down.
band_area = st.container()

# -- thresholds ----------------------------------------------------------------------------


def per_month(c: scoring.Cut) -> float | None:
    """Leads passed per month as shown (one decimal; the download holds the same value)."""
    return None if c.per_month is None else round(c.per_month, 1)


def rounded(x: float | None, digits: int = 3) -> float | None:
    return None if x is None else round(x, digits)


cuts = scoring.thresholds(con, f, s)
months = s.months
st.header(t("mql.thr.title"))
c1, c2, c3 = st.columns([1.4, 1, 1.2])
restate("mql_criterion", "f1", scoring.CRITERIA)
criterion = c1.radio(t("mql.thr.criterion"), list(scoring.CRITERIA), key="mql_criterion", horizontal=True,
                     format_func=lambda c: t(f"mql.criterion.{c}"), help=t("mql.thr.criterion_help"))
min_prec = c2.number_input(t("mql.thr.min_precision"), min_value=0.0, max_value=100.0, step=5.0, format="%.0f",
                           value=float(keep("mql_min_precision", 0.0)), key="mql_min_precision",
                           help=t("mql.thr.min_precision_help"))
vol_label = t("mql.thr.max_volume") if months else t("mql.thr.max_volume_total")
max_vol = c3.number_input(vol_label, min_value=0, step=10, value=int(keep("mql_max_volume", 0)), key="mql_max_volume",
                          help=t("mql.thr.max_volume_help"))
constraints = {"min_precision": min_prec / 100 if min_prec > 0 else None,
               "max_per_month": float(max_vol) if max_vol > 0 and months else None,
               "max_passed": int(max_vol) if max_vol > 0 and not months else None}
recommended = scoring.best(cuts, criterion, **constraints)
unconstrained = scoring.best(cuts, criterion)
if s.converted_scored == 0:
    st.warning(t("mql.thr.no_converted"))
elif recommended is None:
    st.warning(t("mql.thr.none_meets", best=score_text(unconstrained.threshold) if unconstrained else "—"))

# The threshold slider follows the recommendation whenever the question changes (filters,
# criterion, constraints); in between, the user may move it to test another rule.
options = [c.threshold for c in cuts]
default = (recommended or unconstrained or cuts[0]).threshold
sig = (f, criterion, min_prec, max_vol)
kept = keep("mql_threshold", default)
if changed("mql_sig", token=sig) or kept not in options:
    kept = default
set_widget("mql_threshold", kept)
threshold = st.select_slider(t("mql.thr.threshold"), options=options, key="mql_threshold",
                             format_func=score_text, help=t("mql.thr.threshold_help"), disabled=len(options) < 2)
chosen = scoring.at(cuts, threshold)
assert chosen is not None

k1, k2, k3, k4 = st.columns(4)
k1.metric(t("mql.kpi.passed"), num(chosen.passed), delta=t("mql.kpi.passed_share", share=pct(chosen.share)),
          delta_color="off", delta_arrow="off", border=True, help=t("mql.kpi.passed_help"))
k2.metric(t("mql.kpi.per_month"), num(per_month(chosen)) if chosen.per_month is not None else "—",
          border=True, help=t("mql.kpi.per_month_help", months=months or "—"))
k3.metric(t("mql.kpi.precision"), pct(chosen.precision), border=True,
          delta=t("mql.kpi.vs_overall", rate=pct(overall_rate)), delta_color="off", delta_arrow="off",
          help=t("mql.kpi.precision_help"))
k4.metric(t("mql.kpi.recall"), pct(chosen.recall), border=True, help=t("mql.kpi.recall_help"))
st.success(t("mql.rule", threshold=score_text(chosen.threshold), passed=num(chosen.passed), share=pct(chosen.share),
             per_month=num(per_month(chosen)) if chosen.per_month is not None else "—",
             precision=pct(chosen.precision), converted=num(chosen.passed_converted), recall=pct(chosen.recall),
             missed=num(chosen.converted - chosen.passed_converted)), icon="🤝")
definition("mql.thr.def", filters=describe(lf), unscored=num(s.unscored), months=months or "—",
           criterion=t(f"mql.criterion.{criterion}"))

show_chart(build_threshold_curve(cuts, criterion=criterion, chosen=chosen, recommended=recommended, lang=lang()))
st.caption(t("mql.curve.caption", criterion=t(f"mql.criterion.{criterion}")))

# -- behaviour-based criteria next to the threshold (with activity exports) --------------------
st.subheader(t("mql.behaviour.title"))
if cur.build.activity is None:
    st.caption(t("mql.behaviour.no_activity"))
else:
    found = query(history.behaviour)
    picks = history.separating(found, small_n)
    if not picks:
        st.info(t("mql.behaviour.none"), icon="ℹ️")
    else:
        st.markdown(t("mql.behaviour.intro", threshold=score_text(chosen.threshold)))
        st.markdown("\n".join("- " + t("mql.behaviour.item", activity=b.activity, leads=num(b.leads), rate=pct(b.rate),
                                         without=pct(b.rate_without), times=f"{b.lift or 0:.1f}") for b in picks))
    stats = "\n".join("- " + t("mql.behaviour.stat", activity=b.activity, converted=num(b.converted), leads=num(b.leads),
                                 rate=pct(b.rate), lo=pct(b.ci[0]), hi=pct(b.ci[1]), without=pct(b.rate_without),
                                 lift=f"{b.lift or 0:.2f}") for b in picks)
    definition("mql.behaviour.def", n=num(small_n), passive=" / ".join(history.passive_words()),
               stats=stats or "—")

# -- comparison: chosen, recommended, the MA's current MQL marking, everything ---------------
CC = {c: t(f"mql.col.{c}") for c in ("rule", "threshold", "passed", "share", "per_month", "passed_converted",
                                     "precision", "recall", "f1", "youden")}
current = scoring.current_mql(con, f, s)
compare_rows = [("chosen", chosen), ("recommended", recommended), ("current", current), ("all", cuts[0])]
compare = pd.DataFrame([{CC["rule"]: t(f"mql.compare.{name}", criterion=t(f"mql.criterion.{criterion}")),
                         CC["threshold"]: ("—" if name == "current" else score_text(c.threshold)),
                         CC["passed"]: c.passed, CC["share"]: c.share, CC["per_month"]: per_month(c),
                         CC["passed_converted"]: c.passed_converted, CC["precision"]: c.precision,
                         CC["recall"]: c.recall, CC["f1"]: rounded(c.f1), CC["youden"]: rounded(c.youden)}
                        for name, c in compare_rows if c is not None], columns=list(CC.values()))
st.subheader(t("mql.compare.title"))
show_table(compare, percent=[CC["share"], CC["precision"], CC["recall"]],
           integer=[CC["passed"], CC["passed_converted"], CC["per_month"]], key="mql_compare")
if current is not None:
    st.caption(t("mql.compare.current_note"))
download_frame(compare, "mql_threshold_comparison.csv", "dl_mql_compare")

with st.expander(t("mql.thr.all_title", n=num(len(cuts)))):
    every = pd.DataFrame([{CC["threshold"]: c.threshold, CC["passed"]: c.passed, CC["share"]: c.share,
                           CC["per_month"]: per_month(c), CC["passed_converted"]: c.passed_converted,
                           CC["precision"]: c.precision, CC["recall"]: c.recall, CC["f1"]: rounded(c.f1),
                           CC["youden"]: rounded(c.youden)} for c in reversed(cuts)],
                         columns=[v for k, v in CC.items() if k != "rule"])
    show_table(every, percent=[CC["share"], CC["precision"], CC["recall"]],
               integer=[CC["passed"], CC["passed_converted"], CC["per_month"]], height=360, key="mql_all")
    download_frame(every, "mql_thresholds.csv", "dl_mql_thresholds")

# -- bands ---------------------------------------------------------------------------------
with band_area:
    st.header(t("mql.bands.title"))
    b1, b2 = st.columns([1.4, 1])
    restate("mql_band_mode", "width", scoring.BAND_MODES)
    mode = b1.radio(t("mql.bands.mode"), list(scoring.BAND_MODES), key="mql_band_mode", horizontal=True,
                    format_func=lambda m: t(f"mql.bands.mode.{m}"))
    auto = scoring.auto_width(s)
    width = None
    if mode == "width":
        # The kept width belongs to one data set's score range: fall back to the automatic one when
        # it would give an unreadable number of bands.
        kept_w = float(keep("mql_band_width", auto))
        span = (s.hi or 0) - (s.lo or 0)
        if kept_w <= 0 or span / kept_w > 60:
            kept_w = auto
        width = b2.number_input(t("mql.bands.width"), min_value=1.0 if s.integral else 0.01, value=kept_w,
                                step=1.0 if s.integral else 0.1, key="mql_band_width",
                                help=t("mql.bands.width_help", auto=score_text(auto)))
        if span / width > 60:
            st.warning(t("mql.bands.too_many"))
            width = auto
    bands = scoring.bands(con, f, mode, width, s)
    show_chart(build_band_rates(bands, integral=s.integral, overall_rate=overall_rate, threshold=chosen.threshold,
                                     lang=lang()))
    st.caption(t("mql.bands.caption", n=small_n, threshold=score_text(chosen.threshold)))
    BC = {c: t(f"mql.col.{c}") for c in ("band", "leads", "converted", "rate", "ci_low", "ci_high", "small")}
    band_rows = [{BC["band"]: band_label(b, s.integral, lang()), BC["leads"]: b.leads, BC["converted"]: b.converted,
                  BC["rate"]: b.rate, BC["ci_low"]: b.ci[0], BC["ci_high"]: b.ci[1], BC["small"]: b.leads < small_n}
                 for b in bands]
    if s.unscored:
        lo, hi = metrics.wilson(s.unscored_converted, s.unscored)
        band_rows.append({BC["band"]: t("mql.unscored_row"), BC["leads"]: s.unscored, BC["converted"]: s.unscored_converted,
                          BC["rate"]: s.unscored_converted / s.unscored, BC["ci_low"]: lo, BC["ci_high"]: hi,
                          BC["small"]: s.unscored < small_n})
    band_table = pd.DataFrame(band_rows, columns=list(BC.values()))
    # The chart says it in a meeting; the table is one click away (not scrolled past).
    with st.expander(t("mql.bands.table", n=num(len(band_table))), icon="📋"):
        show_table(band_table, percent=[BC["rate"], BC["ci_low"], BC["ci_high"]],
                   integer=[BC["leads"], BC["converted"]], key="mql_bands")
        download_frame(band_table, "opportunity_rate_by_score_band.csv", "dl_mql_bands")
    definition("mql.bands.def", filters=describe(lf), n=small_n, auto=score_text(auto),
               mode=t(f"mql.bands.mode.{mode}"))
