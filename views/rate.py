"""商談化率: the opportunity rate overall, by lead source and by month of lead creation, with
95% intervals, the benchmark band, the user's target, and the leads behind each source."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from funnel import i18n
from funnel.config import setting
from funnel.errors import FunnelError
from funnel.measures import cohorts, drill, metrics
from funnel.measures.sources import ad_rate, clean_up, fold, regroup
from funnel.model.sources import SourceMap, channels, read_csv, suggested_map
from funnel.planning.targets import against_band, against_target, band_and_target, band_scope
from funnel.present.charts.rate import SORTS, build_rate_by_month, build_rate_by_source, periods_of
from funnel.present.format import lead_key_label, num, pct, source_label
from ui.filters import NO_SOURCE, describe, lead_filters
from ui.privacy import masking_on
from ui.state import (
    drop_page_value,
    generation,
    has_widget,
    keep,
    lang,
    next_generation,
    page_value,
    pager,
    query,
    restate,
    session_benchmarks,
    session_source_map,
    set_page_value,
    set_session_source_map,
    set_widget,
    t,
    turn,
    widget,
)
from ui.widgets import (
    HEADER_WIDTH,
    definition,
    download_frame,
    percent_column,
    require_current,
    show_chart_of,
    show_table,
)

st.title(t("rate.title"))
cur = require_current()
con = cur.ws.con


@st.fragment
def analysis() -> None:
    """Everything the lead filters change: the KPI cards, the ranking by source, the drill-down
    and the monthly cohorts. A fragment: a change of any widget here reruns only this function
    (not the router, the sidebar, the title or the data guard); its queries are kept per
    session version and its chart specs per input (ui.state.query, show_chart_of), so a value
    seen before costs no query and no Altair. A change elsewhere (language, masking, data, an
    edited source map, which calls st.rerun()) reruns the whole page as before."""
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
    # The band comes from the benchmark set (the benchmark page's edits included), with what it
    # measures: an ad-sourced band is compared with the ad-channel sources, never the overall rate.
    benchmarks = session_benchmarks()
    band, _ = band_and_target(benchmarks)
    scope = band_scope(benchmarks)
    band_txt = t("rate.band_text", scope=t(f"bench.scope.{scope}"), lo=pct(band[0], 0), hi=pct(band[1], 0))
    k1, k2, k3, k4 = st.columns(4)
    k1.metric(t("rate.kpi.leads"), num(overall.leads), help=t("rate.kpi.leads_help"), border=True)
    k2.metric(t("rate.kpi.converted"), num(overall.converted), help=t("rate.kpi.converted_help"), border=True)
    k3.metric(t("term.opportunity_rate"), pct(overall.rate), delta=f"{(overall.rate - target) * 100:+.1f}pt",
              delta_description=t("rate.kpi.vs_target", target=pct(target)), border=True)
    k4.metric(t("rate.kpi.ci"), f"{pct(lo)} – {pct(hi)}", help=t("rate.kpi.ci_help"), border=True)
    rates = query(metrics.by_source, f)
    saved_map = session_source_map()
    found = clean_up(rates)
    suggested = suggested_map(found.groups, lang())
    # Ad sources: those the mapping in view (the user's, else the guess shown in the editor) maps
    # to an ad channel.
    ad = ad_rate(rates, saved_map if saved_map is not None else suggested)
    if scope != "ad":
        band_line = t(f"rate.kpi.band.{against_band(overall.ci, band)}", band=band_txt)
    elif ad.rate.leads:
        band_line = t(f"rate.kpi.band_ad.{against_band(ad.rate.ci, band)}", band=band_txt, rate=pct(ad.rate.rate),
                      lo=pct(ad.rate.ci[0]), hi=pct(ad.rate.ci[1]), n=num(ad.rate.leads),
                      sources=i18n.join((source_label(s, lang()) for s in ad.members), lang()))
    else:
        band_line = t("rate.kpi.band_ad.none", band=band_txt)
    st.markdown(band_line + " " + t(f"rate.kpi.target.{against_target(overall.ci, target)}", target=pct(target)))
    definition("rate.def.body", filters=describe(lf), link=link_text, n=small_n)

    # -- by source -----------------------------------------------------------------------------
    st.header(t("rate.by_source.title"))
    restate("rate_sort", "rate", SORTS)
    c1, c2, c3 = st.columns([3, 2, 2])
    sort = c1.radio(t("rate.sort"), list(SORTS), key="rate_sort", horizontal=True,
                    format_func=lambda s: t(f"rate.sort.{s}"))
    min_leads = int(c2.number_input(t("rate.min_leads"), min_value=1, step=1, key="rate_min_leads",
                                    value=int(keep("rate_min_leads", int(setting("source_min_leads")))),
                                    help=t("rate.min_leads_help")))
    by_channel = c3.toggle(t("rate.by_channel"), key="rate_by_channel", disabled=saved_map is None,
                           help=t("rate.by_channel_help")) and saved_map is not None
    mapping = saved_map if by_channel else None
    show_chart_of(build_rate_by_source, tuple(rates), target=target, lang=lang(), sort=sort, band=band,
                  min_leads=min_leads, band_scope=scope, mapping=mapping)
    st.caption(t("rate.by_source.legend", band=band_txt, target=pct(target), n=small_n, min=min_leads))
    definition("rate.def.ranking", m=num(int(setting("rank_prior_leads"))), min=min_leads,
               top=int(setting("chart_top_sources")))

    ranking = fold(regroup(rates, mapping, lang()), min_leads=min_leads)
    listed = ranking.kept + ranking.folded
    if sort == "leads":
        listed = sorted(listed, key=lambda s: (-s.rate.leads, str(s.group)))
    folded = {id(s) for s in ranking.folded}
    COL = {c: t(f"rate.col.{c}") for c in ("source", "leads", "converted", "rate", "ci_low", "ci_high", "small",
                                           "ranking_rate", "members", "folded")}
    table = pd.DataFrame([{COL["source"]: source_label(s.group, lang()), COL["leads"]: s.rate.leads,
                           COL["converted"]: s.rate.converted, COL["rate"]: s.rate.rate, COL["ci_low"]: s.rate.ci[0],
                           COL["ci_high"]: s.rate.ci[1], COL["small"]: s.rate.small_sample,
                           COL["ranking_rate"]: s.ranking_rate,
                           COL["members"]: ", ".join(source_label(m, lang()) for m in s.members),
                           COL["folded"]: id(s) in folded} for s in listed],
                         columns=list(COL.values()))
    # Long headers get the width they need (auto-sized to the numbers, they were cut: "順位付けの商談…").
    show_table(table, percent=[COL["rate"], COL["ci_low"], COL["ci_high"]],
               integer=[COL["leads"], COL["converted"]], key="rate_table", column_config={
                   COL["ranking_rate"]: percent_column(COL["ranking_rate"], HEADER_WIDTH)})
    download_frame(table, "opportunity_rate_by_source.csv", "dl_rate_source")

    # -- source clean-up: variants grouped, merges suggested, the source → channel mapping --------
    with st.expander(t("rate.sources.title"), expanded=bool(found.suggestions) and saved_map is None):
        if found.grouped:
            st.caption(t("sources.variants", groups=i18n.join(
                (f"{g.name}（{', '.join(n for n, _ in g.members)}）" for g in found.grouped), lang())))
        else:
            st.caption(t("rate.sources.no_variants"))
        base_map = saved_map if saved_map is not None else suggested

        def _accept(keep_name: str, merge_name: str) -> None:
            """Button callback: both spellings onto one channel (the kept one's, else its name)."""
            current = session_source_map() or suggested
            channel = current.channel_name(keep_name) or keep_name
            set_session_source_map(current.with_pairs([(keep_name, channel), (merge_name, channel)]).pairs())
            next_generation("source_map")
            set_widget("rate_by_channel", True)

        if found.suggestions:
            st.markdown(t("rate.sources.suggestions"))
        for i, sug in enumerate(found.suggestions[:int(setting("chart_top_sources"))]):
            done = saved_map is not None and saved_map.channel_name(sug.merge) is not None and (
                saved_map.channel_name(sug.merge) == saved_map.channel_name(sug.keep))
            s1, s2 = st.columns([5, 1], vertical_alignment="center")
            s1.markdown(t("sources.suggestion", merge=sug.merge, keep=sug.keep, merge_leads=num(sug.merge_leads),
                          keep_leads=num(sug.keep_leads), score=f"{sug.score:.0f}"))
            s2.button(t("rate.sources.accept"), key=f"source_merge_{i}", disabled=done, on_click=_accept,
                      args=(sug.keep, sug.merge), width="stretch")
        st.markdown(t("rate.sources.map_title"))
        st.caption(t("rate.sources.map_caption" if saved_map is not None else "rate.sources.map_suggested",
                     channels=i18n.join((c.label(lang()) for c in channels()), lang())))
        MAPC = {c: t(f"rate.sources.col.{c}") for c in ("source", "channel")}
        # The editor keeps its edits as changes to the frame it was first drawn with: that frame
        # stays put while the editor lives (a new generation starts a fresh one).
        editor_key = f"source_map_{generation('source_map')}"
        if not has_widget(editor_key):
            set_page_value("source_map_base", base_map.pairs())
        map_in = st.data_editor(pd.DataFrame(page_value("source_map_base", []), columns=list(MAPC.values())),
                                key=editor_key, num_rows="dynamic", hide_index=True,
                                width="stretch", placeholder="—", column_config={
                                    MAPC["source"]: st.column_config.TextColumn(MAPC["source"], required=True),
                                    MAPC["channel"]: st.column_config.TextColumn(MAPC["channel"], required=True)})
        pairs = [(str(a), str(b)) for a, b in zip(map_in[MAPC["source"]], map_in[MAPC["channel"]], strict=True)
                 if isinstance(a, str) and isinstance(b, str) and a.strip() and b.strip()]
        try:
            edited_map = SourceMap.from_pairs(pairs)
        except FunnelError as exc:
            st.error(exc.render(lang()), icon="⛔")
        else:
            if edited_map.pairs() != base_map.pairs():
                set_session_source_map(edited_map.pairs())
                st.rerun()
        unmapped = [g.name for g in found.groups if base_map.channel_name(g.name) is None]
        if unmapped:
            st.caption(t("sources.unmapped", sources=i18n.join(unmapped, lang())))
        m1, m2, m3 = st.columns([2, 3, 2], vertical_alignment="bottom")
        with m1:
            st.download_button(t("rate.sources.download"), data=base_map.to_csv(), file_name="source_channels.csv",
                               mime="text/csv", key="dl_source_map", icon="⬇️", on_click="ignore")

        def _load(key: str) -> None:
            """Uploader callback (runs before the widgets are drawn): the file becomes the mapping."""
            up = widget(key)
            if up is None:
                return
            try:
                loaded = read_csv(up.getvalue(), up.name)
            except FunnelError as exc:
                set_page_value("source_map_error", exc.render(lang()))
                return
            drop_page_value("source_map_error")
            set_session_source_map(loaded.pairs())
            next_generation("source_map")
            set_widget("rate_by_channel", True)

        up_key = f"source_map_up_{generation('source_map')}"
        m2.file_uploader(t("rate.sources.upload"), type=["csv", "tsv", "txt"], key=up_key, on_change=_load,
                         args=(up_key,), help=t("rate.sources.upload_help"))
        if page_value("source_map_error"):
            st.error(page_value("source_map_error"), icon="⛔")

        def _reset() -> None:
            set_session_source_map(None)
            next_generation("source_map")
            set_widget("rate_by_channel", False)

        m3.button(t("rate.sources.reset"), key="source_map_reset", disabled=saved_map is None, on_click=_reset,
                  icon="↩️", width="stretch")

    # -- drill-down ----------------------------------------------------------------------------
    st.subheader(t("rate.drill.title"))
    st.caption(t("rate.drill.caption"))
    # Options are the source values themselves ("" = no source), so a choice survives a re-sort.
    leads_of = {NO_SOURCE if r.group is None else r.group: r.leads
                for r in sorted(rates, key=lambda r: (-r.leads, str(r.group)))}
    c1, c2, c3 = st.columns([2, 2, 2])
    # Labels carry counts and the language, both of which change under the same choice.
    restate("drill_source", next(iter(leads_of), None), list(leads_of), kept=False)
    picked = c1.selectbox(t("rate.drill.source"), list(leads_of), key="drill_source",
                          format_func=lambda s: t("rate.drill.source_option", source=source_label(s or None, lang()),
                                                  n=num(leads_of[s])), placeholder=t("app.choose"))
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
    # The lead's key under the name of what it is (email, record ID, file:row); first where the
    # export has no email, so each row of an ID-linked export is identifiable.
    headers = [lead_key_label(cur.build.identity, lang()) if c == "lead_ref" else t(f"rate.drill.col.{c}")
               for c in drill.COLUMNS]
    leads_frame = pd.DataFrame([[r[c] for c in drill.COLUMNS] for r in page.items], columns=headers)
    if cur.build.identity != "email":
        key_header = headers[drill.COLUMNS.index("lead_ref")]
        leads_frame = leads_frame[[key_header, *(h for h in headers if h != key_header)]]
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
    months, rule = query(cohorts.cohorts, f)
    # The table in the chart's period (months summed into quarters or years over a long span),
    # named in the heading.
    periods, grain = periods_of(months)
    st.header(t("rate.cohort.title", period=t(f"rate.cohort.period.{grain}")))
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
        show_chart_of(build_rate_by_month, tuple(months), target=target, lang=lang(), band=band, band_scope=scope)
    if grain != "month":
        st.caption(t("rate.cohort.grain", period=t(f"rate.chart.axis.{grain}"), max=int(setting("chart_max_bars"))))
    MC = {c: t(f"rate.col.{c}") for c in ("month", "leads", "converted", "rate", "ci_low", "ci_high", "small",
                                          "maturing", "age_days")}
    if grain != "month":
        MC["month"] = t(f"rate.chart.axis.{grain}")
    cohort_table = pd.DataFrame([{MC["month"]: c.month or t("term.undated"), MC["leads"]: c.rate.leads,
                                  MC["converted"]: c.rate.converted, MC["rate"]: c.rate.rate,
                                  MC["ci_low"]: c.rate.ci[0], MC["ci_high"]: c.rate.ci[1],
                                  MC["small"]: c.rate.small_sample, MC["maturing"]: c.maturing,
                                  MC["age_days"]: c.age_days} for c in periods], columns=list(MC.values()))
    show_table(cohort_table, percent=[MC["rate"], MC["ci_low"], MC["ci_high"]],
               integer=[MC["leads"], MC["converted"]], key="cohort_table", column_config={
                   MC["age_days"]: st.column_config.NumberColumn(MC["age_days"], format="localized",
                                                                 width=HEADER_WIDTH)})
    download_frame(cohort_table, "opportunity_rate_by_month.csv", "dl_rate_month")


analysis()
