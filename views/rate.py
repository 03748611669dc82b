"""商談化率: the opportunity rate overall, by lead source and by month of lead creation, with
95% intervals, the benchmark band, the user's target, and the leads behind each source."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from funnel import i18n
from funnel.config import setting
from funnel.measures import cohorts, drill, metrics
from funnel.planning.targets import against_band, against_target, band_and_target
from funnel.present.charts.rate import SORTS, build_rate_by_month, build_rate_by_source
from funnel.present.format import num, pct, source_label
from ui.filters import NO_SOURCE, describe, lead_filters
from ui.privacy import masking_on
from ui.state import lang, pager, query, restate, session_benchmarks, set_page_value, t, turn
from ui.widgets import definition, download_frame, require_current, show_chart_of, show_table

st.title(t("rate.title"))
cur = require_current()
con = cur.ws.con
lf = lead_filters(cur, with_target=True)
f, target = lf.filters, lf.target
assert target is not None
small_n = int(setting("small_sample_n"))
link = cur.build.link
link_text = t(f"rate.def.link.{link.kind}", ma=link.ma_column or "—", sfa=link.sfa_column or "—")

overall = query(metrics.overall, f)
if overall.leads == 0:
    st.warning(t("rate.no_leads"))
    st.stop()

# -- headline ------------------------------------------------------------------------------
lo, hi = overall.ci
# The band comes from the benchmark set (the benchmark page's edits included).
band, _ = band_and_target(session_benchmarks())
band_txt = f"{pct(band[0], 0)}–{pct(band[1], 0)}"
k1, k2, k3, k4 = st.columns(4)
k1.metric(t("rate.kpi.leads"), num(overall.leads), help=t("rate.kpi.leads_help"), border=True)
k2.metric(t("rate.kpi.converted"), num(overall.converted), help=t("rate.kpi.converted_help"), border=True)
k3.metric(t("term.opportunity_rate"), pct(overall.rate), delta=f"{(overall.rate - target) * 100:+.1f}pt",
          delta_description=t("rate.kpi.vs_target", target=pct(target)), border=True)
k4.metric(t("rate.kpi.ci"), f"{pct(lo)} – {pct(hi)}", help=t("rate.kpi.ci_help"), border=True)
st.markdown(t(f"rate.kpi.band.{against_band(overall.ci, band)}", band=band_txt) + " "
            + t(f"rate.kpi.target.{against_target(overall.ci, target)}", target=pct(target)))
definition("rate.def.body", filters=describe(lf), link=link_text, n=small_n)

# -- by source -----------------------------------------------------------------------------
st.header(t("rate.by_source.title"))
rates = query(metrics.by_source, f)
restate("rate_sort", "rate", SORTS)
sort = st.radio(t("rate.sort"), list(SORTS), key="rate_sort", horizontal=True, format_func=lambda s: t(f"rate.sort.{s}"))
show_chart_of(build_rate_by_source, tuple(rates), target=target, lang=lang(), sort=sort, band=band)
st.caption(t("rate.by_source.legend", band=band_txt, target=pct(target), n=small_n))

key = (lambda r: (-r.rate, -r.leads)) if sort == "rate" else (lambda r: (-r.leads, -r.rate))
ordered = sorted(rates, key=key)
COL = {c: t(f"rate.col.{c}") for c in ("source", "leads", "converted", "rate", "ci_low", "ci_high", "small")}
table = pd.DataFrame([{COL["source"]: source_label(r.group, lang()), COL["leads"]: r.leads,
                       COL["converted"]: r.converted, COL["rate"]: r.rate, COL["ci_low"]: r.ci[0],
                       COL["ci_high"]: r.ci[1], COL["small"]: r.small_sample} for r in ordered],
                     columns=list(COL.values()))
show_table(table, percent=[COL["rate"], COL["ci_low"], COL["ci_high"]], integer=[COL["leads"], COL["converted"]],
           key="rate_table")
download_frame(table, "opportunity_rate_by_source.csv", "dl_rate_source")

# -- drill-down ----------------------------------------------------------------------------
st.subheader(t("rate.drill.title"))
st.caption(t("rate.drill.caption"))
# Options are the source values themselves ("" = no source), so a choice survives a re-sort.
leads_of = {NO_SOURCE if r.group is None else r.group: r.leads for r in ordered}
c1, c2, c3 = st.columns([2, 2, 2])
# Labels carry counts and the language, both of which change under the same choice.
restate("drill_source", next(iter(leads_of), None), list(leads_of), kept=False)
picked = c1.selectbox(t("rate.drill.source"), list(leads_of), key="drill_source",
                      format_func=lambda s: t("rate.drill.source_option", source=source_label(s or None, lang()),
                                              n=num(leads_of[s])))
restate("drill_status", drill.STATUSES[0], drill.STATUSES, kept=False)
status = c2.radio(t("rate.drill.status"), list(drill.STATUSES), key="drill_status", horizontal=True,
                  format_func=lambda s: t(f"rate.drill.status.{s}"))
search = c3.text_input(t("rate.drill.search"), key="drill_search", placeholder=t("rate.drill.search_hint"))
group = None if picked in (None, NO_SOURCE) else picked
# A page number belongs to one list: a new source, status or search starts at page 1.
sig = (f, group, status, search)
page = query(drill.lead_page, f, group, status=status, search=search or None,
             page=pager("drill_page", sig))
set_page_value("drill_page", page.page)


def _turn(step: int) -> None:
    """Button callback: runs before the next script run, so that run already shows the page."""
    turn("drill_page", step)


p1, p2, p3 = st.columns([1, 4, 1])
p1.button(t("rate.drill.prev"), key="drill_prev", disabled=page.page <= 1, width="stretch", on_click=_turn,
          args=(-1,))
p3.button(t("rate.drill.next"), key="drill_next", disabled=page.page >= page.pages, width="stretch",
          on_click=_turn, args=(1,))
p2.markdown(t("rate.drill.position", total=num(page.total), first=num(page.first), last=num(page.last),
              page=page.page, pages=page.pages))
headers = [t(f"rate.drill.col.{c}") for c in drill.COLUMNS]
leads_frame = pd.DataFrame([[r[c] for c in drill.COLUMNS] for r in page.items], columns=headers)
# Dates as dates and blanks as "—" (the shared table helper shows None for missing values).
date_cols = {c: headers[drill.COLUMNS.index(c)] for c in ("created_at", "mql_at", "sql_at", "first_opp_at")}
drill_config = {h: st.column_config.DatetimeColumn(h, format="YYYY/MM/DD" if c != "created_at" else "YYYY/MM/DD HH:mm")
                for c, h in date_cols.items()}
drill_config[headers[drill.COLUMNS.index("converted")]] = st.column_config.CheckboxColumn()
show_table(leads_frame, column_config=drill_config, placeholder="—", key="drill_table")
safe = re.sub(r'[\\/:*?"<>|\s]+', "_", source_label(group, lang()))
d1, d2 = st.columns(2)
with d1:
    download_frame(leads_frame, f"leads_{safe}_p{page.page}.csv", "dl_drill_page", label=t("rate.drill.dl_page"))
with d2:
    mask = masking_on()   # read now: the download is built after the script run
    st.download_button(t("rate.drill.dl_all", n=num(page.total)), key="dl_drill_all", icon="⬇️", mime="text/csv",
                       file_name=f"leads_{safe}_all.csv", on_click="ignore",
                       data=lambda: drill.all_leads_csv(con, f, group, headers, status=status, search=search or None,
                                                        mask=mask))

# -- monthly cohorts -----------------------------------------------------------------------
st.header(t("rate.cohort.title"))
months, rule = query(cohorts.cohorts, f)
as_of = f"{rule.as_of:%Y/%m/%d}" if rule.as_of else "—"
maturing = [c.month for c in months if c.maturing]
if rule.basis == "data":
    rule_text = t("rate.cohort.rule.data", q=round(rule.quantile * 100), days=rule.days, n=num(rule.lags),
                  as_of=as_of)
else:
    rule_text = t("rate.cohort.rule.fallback", days=rule.days, n=num(rule.lags), min=cohorts.MIN_LAGS,
                  as_of=as_of)
flagged = (t("rate.cohort.flagged", months=i18n.join((m for m in maturing if m), lang())) if maturing else t("rate.cohort.none_flagged"))
st.info(rule_text + " " + flagged, icon="⏳")
definition("rate.cohort.def", q=round(rule.quantile * 100), days=rule.days, fallback=cohorts.FALLBACK_DAYS,
           min=cohorts.MIN_LAGS, n=num(rule.lags), negative=num(rule.negative), as_of=as_of,
           filters=describe(lf), link=link_text)
if any(c.month for c in months):
    show_chart_of(build_rate_by_month, tuple(months), target=target, lang=lang(), band=band)
MC = {c: t(f"rate.col.{c}") for c in ("month", "leads", "converted", "rate", "ci_low", "ci_high", "small",
                                      "maturing", "age_days")}
cohort_table = pd.DataFrame([{MC["month"]: c.month or t("term.undated"), MC["leads"]: c.rate.leads,
                              MC["converted"]: c.rate.converted, MC["rate"]: c.rate.rate,
                              MC["ci_low"]: c.rate.ci[0], MC["ci_high"]: c.rate.ci[1],
                              MC["small"]: c.rate.small_sample, MC["maturing"]: c.maturing,
                              MC["age_days"]: c.age_days} for c in months], columns=list(MC.values()))
show_table(cohort_table, percent=[MC["rate"], MC["ci_low"], MC["ci_high"]],
           integer=[MC["leads"], MC["converted"], MC["age_days"]], key="cohort_table")
download_frame(cohort_table, "opportunity_rate_by_month.csv", "dl_rate_month")
