"""データ品質・名寄せ: how well the two exports linked — match rate overall and by source,
opportunities without a lead, leads never linked, duplicate people, and what email
normalisation did on each side."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from funnel import i18n
from funnel.config import setting
from funnel.measures import quality as q
from funnel.measures.dates import implausible_dates
from funnel.measures.metrics import match
from funnel.present.charts.quality import build_match_chart
from funnel.present.export import frame_csv_bytes
from funnel.present.format import date_text, lead_key_label, lead_key_text, num, pct, source_label
from funnel.present.paging import PAGE_SIZE, fetch_page, page_count
from funnel.present.privacy import mask_frame
from ui.privacy import masking_on
from ui.state import lang, remember, set_widget, t, widget
from ui.widgets import definition, download_frame, percent_column, require_current, show_chart, show_table

st.title(t("quality.title"))
cur = require_current()
ws, build, L = cur.ws, cur.build, lang()
link = build.link
st.caption(t("quality.link", kind=t(f"link.{link.kind}"), ma=link.ma_column or "—", sfa=link.sfa_column or "—"))


def memo(name: str, fn: Callable[[], Any]) -> Any:
    """Compute once per build (the email rules scan every cell) and keep it in this session."""
    return remember(f"quality_{name}", fn)


def csv_download(label: str, file_name: str, key: str, make: Callable[[], pd.DataFrame]) -> None:
    """A download built only when clicked (lists can hold a million rows); the frame is made
    from a cursor of the session's connection, as the click is served outside the script (which
    is also why the privacy switch is read now)."""
    mask = masking_on()
    st.download_button(label, data=lambda: frame_csv_bytes(mask_frame(make()) if mask else make()),
                       file_name=file_name, mime="text/csv", key=key, icon="⬇️", on_click="ignore")


def wide_table(frame: pd.DataFrame, wide: Sequence[str], percent: Sequence[str] = ()) -> None:
    """A table whose text columns ``wide`` get room (raw cells and explanations)."""
    config: dict[str, Any] = {c: st.column_config.TextColumn(c, width="large") for c in wide}
    config.update({c: percent_column(c) for c in percent})
    show_table(frame, column_config=config)


def paged(key: str, total: int, fetch: Callable[[int, int], list[Any]],
          frame: Callable[[list[Any]], pd.DataFrame], **fmt: Any) -> None:
    """One page of a long list (``fetch(limit, offset)`` reads its rows, ``frame`` shows them),
    with a page number and what is shown."""
    pages = page_count(total, PAGE_SIZE)
    if widget(key, 1) > pages:
        set_widget(key, 1)
    c1, c2 = st.columns([1, 4], vertical_alignment="bottom")
    chosen = int(c1.number_input(t("quality.page", pages=num(pages)), min_value=1, max_value=pages, key=key))
    page = fetch_page(total, chosen, PAGE_SIZE, fetch)
    c2.caption(t("quality.showing", start=num(page.first), end=num(page.last), total=num(total)))
    if "wide" in fmt:
        wide_table(frame(page.items), fmt["wide"])
    else:
        show_table(frame(page.items), placeholder="—", **fmt)


def tx(key: str, **params: Any) -> str:
    """A message in the page's language without Streamlit (usable when a download is served)."""
    return i18n.t(key, L, **params)


#: The leads' key column, named after what identifies a lead here (an ID-linked export's
#: leads are keyed by record ID, not email).
KEY = lead_key_label(build.identity, L)


def opp_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    cols = ("reason", "deal_name", "company", "deal_source", "email_raw", "outcome", "amount", "created", "stage",
            "deal_id")
    return pd.DataFrame([{
        tx("quality.col.reason"): tx(f"quality.unlinked.{r['reason']}"), tx("quality.col.deal_name"): r["deal_name"],
        tx("quality.col.company"): r["company"], tx("quality.col.deal_source"): source_label(r["source"], L),
        tx("quality.col.email_raw"): r["email_raw"], tx("quality.col.outcome"): tx(f"term.{r['outcome']}"),
        tx("quality.col.amount"): r["amount"], tx("quality.col.created"): date_text(r["created_at"]),
        tx("quality.col.stage"): r["stage"], tx("quality.col.deal_id"): r["deal_id"]}
        for r in rows], columns=[tx(f"quality.col.{c}") for c in cols])


def lead_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([{
        KEY: lead_key_text(r["lead_key"]), tx("quality.col.email_raw"): r["email_raw"],
        tx("quality.col.name"): r["name"], tx("quality.col.company"): r["company"],
        tx("quality.col.lead_source"): source_label(r["source"], L),
        tx("quality.col.created"): date_text(r["created_at"]),
        tx("quality.col.rows"): r["rows"]} for r in rows],
        columns=[KEY, *(tx(f"quality.col.{c}") for c in ("email_raw", "name", "company", "lead_source", "created",
                                                         "rows"))])


def shown(cell: str | None) -> str:
    """A raw cell with its edges visible: 「TARO@X.JP」「taro@x.jp␣」."""
    return tx("quality.blank_cell") if cell is None else f"「{cell}」"


def dup_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([{
        KEY: lead_key_text(r["lead_key"]), tx("quality.col.rows"): r["rows"],
        tx("quality.col.variants"): " / ".join(shown(v) for v in r["variants"]),
        tx("quality.col.row_sources"): i18n.join(r["sources"] or [], L) or "—",
        tx("quality.col.lead_source"): source_label(r["source"], L), tx("quality.col.first_at"): r["first_at"],
        tx("quality.col.last_at"): r["last_at"], tx("quality.col.n_opps"): r["n_opps"]} for r in rows],
        columns=[KEY, *(tx(f"quality.col.{c}") for c in ("rows", "variants", "row_sources", "lead_source",
                                                         "first_at", "last_at", "n_opps"))])


def invalid_frame(side: str, rows: list[tuple[int, int, str, str]]) -> pd.DataFrame:
    return pd.DataFrame([{
        tx("quality.col.file"): ws.files[side][f].report.file, tx("quality.col.row"): r,
        tx("quality.col.email_raw"): shown(raw), tx("quality.col.reason"): tx(f"quality.invalid.{reason}")}
        for f, r, raw, reason in rows],
        columns=[tx(f"quality.col.{c}") for c in ("file", "row", "email_raw", "reason")])


# -- overview ----------------------------------------------------------------------------------
m = match(ws.con)
opps = m.linked + m.unlinked
never = memo("never", lambda: q.count_unlinked_leads(ws.con))
dups = memo("dups", lambda: q.duplicates(ws.con))
c = st.columns(4)
with c[0]:
    st.metric(t("quality.match_rate"), pct(m.rate))
    definition("quality.def.match_rate", linked=num(m.linked), opps=num(opps))
with c[1]:
    st.metric(t("quality.unlinked_opps"), num(m.unlinked))
    definition("quality.def.unlinked_opps", n=num(m.unlinked), opps=num(opps))
with c[2]:
    st.metric(t("quality.never_linked"), num(never))
    definition("quality.def.never_linked", n=num(never), leads=num(dups.leads))
with c[3]:
    st.metric(t("quality.duplicates"), t("quality.duplicates_value", n=num(dups.duplicated), share=pct(dups.share)))
    definition("quality.def.duplicates", n=num(dups.duplicated), leads=num(dups.leads), extra=num(dups.extra_rows))

# -- match rate by source ----------------------------------------------------------------------
st.header(t("quality.by_source.title"))
labels = {"linked": t("quality.chart.linked"), "unlinked": t("quality.chart.unlinked"), "x": t("quality.chart.x"),
          "group": t("term.source")}
tab_deal, tab_lead = st.tabs([t("quality.by_source.deal"), t("quality.by_source.lead")])
with tab_deal:
    if not q.deal_source_mapped(build):
        st.info(t("quality.by_source.no_deal_source"), icon="ℹ️")
    else:
        groups = q.match_by_deal_source(ws.con)
        frame = pd.DataFrame([{"group": source_label(g.group, L), "linked": g.linked, "unlinked": g.unlinked,
                               "rate_text": pct(g.rate)} for g in groups])
        show_chart(build_match_chart(frame, labels))
        definition("quality.def.by_deal_source")
        table = pd.DataFrame([{t("quality.col.deal_source"): source_label(g.group, L), t("quality.col.opps"): g.opportunities,
                               t("quality.col.linked"): g.linked, t("quality.col.unlinked"): g.unlinked,
                               t("quality.col.match_rate"): g.rate} for g in groups])
        show_table(table, percent=[t("quality.col.match_rate")],
                   integer=[t("quality.col.opps"), t("quality.col.linked"), t("quality.col.unlinked")])
        download_frame(table, "match_by_deal_source.csv", "q_dl_deal_source")
with tab_lead:
    per = q.match_by_lead_source(ws.con)
    frame = pd.DataFrame([{"group": source_label(s.source, L), "linked": s.opportunities, "unlinked": 0, "rate_text": ""}
                          for s in per] + [{"group": t("term.no_lead"), "linked": 0, "unlinked": m.unlinked,
                                            "rate_text": ""}])
    show_chart(build_match_chart(frame, labels))
    definition("quality.def.by_lead_source")
    table = pd.DataFrame([{t("quality.col.lead_source"): source_label(s.source, L), t("quality.col.leads"): s.leads,
                           t("quality.col.leads_linked"): s.leads_linked, t("quality.col.lead_rate"): s.lead_rate,
                           t("quality.col.opps"): s.opportunities} for s in per]
                         + [{t("quality.col.lead_source"): t("term.no_lead"), t("quality.col.opps"): m.unlinked}])
    show_table(table, percent=[t("quality.col.lead_rate")],
               integer=[t("quality.col.leads"), t("quality.col.leads_linked"), t("quality.col.opps")])
    download_frame(table, "match_by_lead_source.csv", "q_dl_lead_source")

# -- opportunities without a lead ----------------------------------------------------------------
st.header(t("quality.unlinked_opps.title"))
reasons = q.unlinked_reasons(ws.con, build)
st.caption(t("quality.unlinked_opps.caption", n=num(m.unlinked), **{k: num(v) for k, v in reasons.items()}))
definition("quality.def.unlinked_reasons")
if m.unlinked:
    paged("q_page_opps", m.unlinked, lambda lim, off: q.unlinked_opportunities(ws.con, build, lim, off), opp_frame,
          money=[tx("quality.col.amount")], currency=build.currency)
    csv_download(t("app.download_csv"), "opportunities_without_lead.csv", "q_dl_opps",
                 lambda: opp_frame(q.unlinked_opportunities(ws.con.cursor(), build)))

# -- leads never linked ----------------------------------------------------------------------------
st.header(t("quality.never_linked.title"))
st.caption(t("quality.never_linked.caption", n=num(never), leads=num(dups.leads),
             share=pct(never / dups.leads if dups.leads else None)))
if never:
    paged("q_page_leads", never, lambda lim, off: q.unlinked_leads(ws.con, limit=lim, offset=off), lead_frame)
    csv_download(t("app.download_csv"), "leads_never_linked.csv", "q_dl_leads",
                 lambda: lead_frame(q.unlinked_leads(ws.con.cursor())))

# -- duplicate people --------------------------------------------------------------------------------
st.header(t("quality.dups.title"))
st.caption(t("quality.dups.caption", n=num(dups.duplicated), share=pct(dups.share), extra=num(dups.extra_rows),
             different=num(dups.written_differently)))
if dups.duplicated:
    paged("q_page_dups", dups.duplicated, lambda lim, off: q.duplicate_people(ws.con, limit=lim, offset=off), dup_frame,
          wide=[tx("quality.col.variants")])
    csv_download(t("app.download_csv"), "duplicate_people.csv", "q_dl_dups",
                 lambda: dup_frame(q.duplicate_people(ws.con.cursor())))

# -- implausible dates (far past or far future): flagged here, never left to sort first ----------------
st.header(t("quality.dates.title"))
checks = remember("quality_dates", lambda: implausible_dates(ws.con))
floor, future = int(setting("date_floor_year")), int(setting("date_future_years"))
bad = [c for c in checks if c.implausible]
if not bad:
    st.caption(t("quality.dates.none", floor=floor, future=future))
else:
    st.warning(t("quality.dates.found", n=num(sum(c.implausible for c in bad)), floor=floor, future=future), icon="⚠️")
DC = {c: t(f"quality.dates.col.{c}") for c in ("field", "dated", "too_old", "too_new", "first", "last")}
dates_table = pd.DataFrame([{DC["field"]: t(f"quality.dates.field.{c.table}.{c.column}"), DC["dated"]: c.dated,
                             DC["too_old"]: c.too_old, DC["too_new"]: c.too_new, DC["first"]: date_text(c.first),
                             DC["last"]: date_text(c.last)} for c in checks], columns=list(DC.values()))
show_table(dates_table, integer=[DC["dated"], DC["too_old"], DC["too_new"]], key="quality_dates_table")
download_frame(dates_table, "implausible_dates.csv", "q_dl_dates")
definition("quality.dates.def", floor=floor, future=future)

# -- email normalisation ---------------------------------------------------------------------------------
st.header(t("quality.rules.title"))
st.caption(t("quality.rules.caption"))
for side, tab in zip(("ma", "sfa"), st.tabs([t("side.ma"), t("side.sfa")]), strict=True):
    with tab:
        if not q.email_mapped(build, side):
            st.info(t("quality.rules.no_email"), icon="ℹ️")
            continue
        r = memo(f"rules_{side}", lambda s=side: q.email_rules(ws.con, s))
        items = [(rule, r.changed[rule]) for rule in q.RULES] + [("blank", r.blank), ("invalid", r.invalid),
                                                                 ("partly_invalid", r.partly_invalid)]
        rules = pd.DataFrame([{t("quality.col.rule"): t(f"quality.rule.{k}"), t("quality.col.cells"): n,
                               t("quality.col.share"): n / r.cells if r.cells else None,
                               t("quality.col.example"): shown(r.examples.get(k)) if r.examples.get(k) is not None else "—",
                               t("quality.col.what"): t(f"quality.rule_help.{k}")} for k, n in items])
        st.caption(t("quality.rules.summary", cells=num(r.cells), valid=num(r.valid), unchanged=num(r.unchanged),
                     blank=num(r.blank), invalid=num(r.invalid)))
        wide_table(rules, [t("quality.col.example"), t("quality.col.what")], percent=[t("quality.col.share")])
        definition("quality.def.rules")
        download_frame(rules, f"email_rules_{side}.csv", f"q_dl_rules_{side}")
        if r.invalid:
            st.subheader(t("quality.invalid.title"))
            st.caption(i18n.join((f"{t(f'quality.invalid.{k}')}: {num(v)}" for k, v in r.invalid_by_reason.items() if v),
                                  lang()))
            paged(f"q_page_invalid_{side}", r.invalid,
                  lambda lim, off, s=side: q.invalid_emails(ws.con, s, lim, off),
                  lambda found, s=side: invalid_frame(s, found))
            csv_download(t("app.download_csv"), f"invalid_emails_{side}.csv", f"q_dl_invalid_{side}",
                         lambda s=side: invalid_frame(s, q.invalid_emails(ws.con.cursor(), s)))
