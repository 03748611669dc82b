"""失注分析: why deals are lost — one taxonomy over free-text reasons, its data quality, the
Pareto, breakdowns by source/owner/month, the raw texts behind each category (with the
keyword that decided and the doubts), and the keyword rules, editable on the page."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from funnel import i18n
from funnel.measures import loss as L
from funnel.measures.loss_learning import suggestions
from funnel.measures.metrics import outcomes
from funnel.model.owners import named
from funnel.model.rules import LOSS_CATEGORIES, LossRules
from funnel.present.charts.loss import build_loss_breakdown, build_loss_pareto
from funnel.present.format import cell_text, loss_label, num, owner_label, pct, source_label
from funnel.present.paging import Page
from ui import state
from ui.state import query, remembered, t
from ui.widgets import definition, download_frame, owner_id_hint, require_current, show_chart_of, show_table

LEARN_ROWS = 15           # texts left in その他 offered for the rules, most frequent first
CHART_GROUPS = 20          # groups drawn in a breakdown chart (the table lists all)
BY_TABS = ("source", "owner", "month")
EDITOR = "loss_rules_editor"

lang = state.lang()
GEN = "loss_rules"          # the rule editor's and uploader's generation
LABELS = {c: loss_label(c, lang) for c in LOSS_CATEGORIES}


def deals(n: int) -> str:
    """A count of deals ("29件", "1 deal")."""
    return i18n.plural("loss.count", n, lang, count=num(n))


def set_rules(rules: LossRules) -> None:
    """Make ``rules`` the session's rules; the next require_current() re-applies them."""
    state.session().set_loss_rules(rules)


def reset_rules() -> None:
    """Back to the default rules, in a fresh editor (a callback: runs before the page does)."""
    state.session().set_loss_rules(None)
    state.next_generation(GEN)


def editor_key() -> str:
    # A new key (after reset/upload, or in the other language) is a new editor seeded from
    # the session's rules; the same key keeps the same input frame (streamlit #7749).
    return f"{EDITOR}_{state.generation(GEN)}_{lang}"


def edit_rules() -> LossRules:
    """Reset / upload / edit the keyword rules; returns the rules in force for this run."""
    st.header(t("loss.rules.title"))
    st.caption(t("loss.rules.caption"))
    c_reset, c_upload, c_download = st.columns([1, 2, 1], vertical_alignment="bottom")
    reset_slot = c_reset.empty()        # filled after the editor, so "disabled" reflects this run's edit
    upload = c_upload.file_uploader(t("loss.rules.upload"), type=["toml", "txt"], help=t("loss.rules.upload_help"),
                                    max_upload_size=1, key=f"loss_rules_upload_{state.generation(GEN)}")
    if upload is not None:
        try:
            set_rules(L.parse_rules_toml(upload.getvalue(), upload.name))
        except L.RulesError as exc:
            st.error(exc.render(lang), icon="⛔")
        else:
            state.next_generation(GEN)      # clears the uploader, reseeds the editor
            st.success(t("loss.rules.loaded", file=upload.name), icon="✅")
    key = editor_key()
    if not state.has_widget(key) or state.page_value("loss_rules_base") is None:
        state.set_page_value("loss_rules_base", state.loss_rules().to_toml())
    base = LossRules.from_toml(state.page_value("loss_rules_base"))
    frame = pd.DataFrame([{**r, "label": LABELS[r["category"]]} for r in L.rules_to_table(base)])
    edited = st.data_editor(
        frame, key=key, hide_index=True, num_rows="fixed", width="stretch", disabled=["category", "label"],
        column_order=["label", "keywords"],
        column_config={"label": st.column_config.TextColumn(t("loss.rules.col.category"), width="small"),
                       "keywords": st.column_config.TextColumn(t("loss.rules.col.keywords"), width="large",
                                                               help=t("loss.rules.col.keywords_help"))})
    try:
        rules = L.rules_from_table(edited.to_dict("records"), base)
    except L.RulesError as exc:      # fixed rows make this unreachable; say so rather than crash
        st.error(exc.render(lang), icon="⛔")
        rules = state.loss_rules()
    set_rules(rules)
    reset_slot.button(t("loss.rules.reset"), key="loss_rules_reset", icon="↩️", on_click=reset_rules,
                      disabled=state.session().loss_rules_toml is None)
    with c_download:
        st.download_button(t("loss.rules.download"), data=rules.to_toml().encode("utf-8"),
                           file_name="loss_rules.toml", mime="application/toml", key="loss_rules_download",
                           icon="⬇️", on_click="ignore", width="stretch")
    for wkey, params in L.rule_warnings(rules):
        params = {**params, **{k: LABELS[v] for k, v in params.items() if k in ("category", "by_category")}}
        st.warning(t(wkey, **params), icon="⚠️")
    show_patterns(rules)
    return rules


def show_patterns(rules: LossRules) -> None:
    """The rules that are not keywords, read-only (they are edited in the TOML file)."""
    with st.expander(t("loss.rules.patterns", patterns=num(len(rules.patterns)), vendors=num(len(rules.vendors)))):
        st.caption(t("loss.rules.patterns_caption", vendor="{vendor}"))
        st.dataframe(pd.DataFrame([{t("loss.col.category"): LABELS[p.category], t("loss.rules.col.pattern"): p.name,
                                    t("loss.rules.col.regex"): p.regex} for p in rules.patterns]),
                     hide_index=True, width="stretch")
        st.caption(t("loss.rules.vendors", names=", ".join(rules.vendors)))
        st.caption(t("loss.rules.neutral", patterns=" / ".join(f"`{n}`" for n in rules.neutral)))


def accept(text: str, key: str) -> None:
    """Add ``text`` as a keyword of the category chosen in ``key`` (a callback: runs before the
    page, so the new rules classify this run and the editor is reseeded with them)."""
    category = state.widget(key)
    if category not in L.RULE_CATEGORIES:
        return
    set_rules(state.loss_rules().with_keyword(category, text))
    state.next_generation(GEN)          # the editor is reseeded with the new keyword
    state.set_page_value("loss_learn_added", (text, category))


def learn(rules: LossRules) -> None:
    """Texts left in その他 with a suggested category, each accepted into the rules by one click."""
    st.header(t("loss.learn.title"))
    added = state.page_value("loss_learn_added")
    if added is not None:
        state.drop_page_value("loss_learn_added")
        text, category = added
        st.success(t("loss.learn.added", text=text, category=LABELS[category]), icon="✅")
    items, total = query(suggestions, rules, LEARN_ROWS)
    if not items:
        st.caption(t("loss.learn.none"))
        return
    st.caption(t("loss.learn.caption", shown=num(len(items)), total=num(total)))
    choices = list(L.RULE_CATEGORIES)
    for i, s in enumerate(items):
        c_text, c_cat, c_add, c_near = st.columns([3, 2, 1, 4], vertical_alignment="center")
        c_text.markdown(t("loss.text_count", text=s.text, count=deals(s.count)))
        key = f"loss_learn_cat_{i}_{hash(s.text)}"
        c_cat.selectbox(t("loss.learn.col.category"), choices, key=key, label_visibility="collapsed",
                        index=choices.index(s.category) if s.category in choices else choices.index("other"),
                        format_func=LABELS.__getitem__, placeholder=t("app.choose"))
        c_add.button(t("loss.learn.add"), key=f"loss_learn_add_{i}_{hash(s.text)}", on_click=accept,
                     args=(s.text, key), icon="➕")
        c_near.caption(" / ".join(s.neighbours[:3]) if s.category else t("loss.learn.no_suggestion"))



def pager(page: Page[Any], key: str) -> None:
    """The page number under a table (only when there is more than one page); the page shown
    is the engine's, clamped, so a number kept from a longer list (the rules changed) moves."""
    state.set_widget(key, page.page)
    if page.pages > 1:
        st.number_input(t("loss.page", pages=page.pages, total=num(page.total)), min_value=1, max_value=page.pages,
                        step=1, key=key)


def group_label(by: str, row: L.BreakdownRow) -> str:
    if row.kind == "no_lead":
        return t("term.no_lead")
    if by == "source":
        return source_label(row.group, lang)
    if by == "owner":
        return owner_label(row.group, lang)
    return row.group or t("term.undated")


# Words of the two long tables, looked up once per run: the frames are also made on a download
# click, outside the script run, where the session (and so t()) is not available.
TEXT_HEAD = [t(k) for k in ("loss.texts.col.text", "loss.col.count", "loss.col.category", "loss.texts.col.keyword",
                            "loss.texts.col.ambiguity")]
EMPTY_TEXT = t("loss.texts.empty_text")
AMBIGUITIES = {a.id: t(f"loss.ambiguity.{a.id}") for a in L.ambiguity_rules()}
DEAL_COLS = ("deal_id", "deal_name", "company", "owner", "amount", "close_at", "loss_reason", "loss_detail",
             "loss_category", "loss_keyword", "lead_source")
DEAL_HEAD = [t(f"loss.deals.col.{c}") for c in DEAL_COLS]
NO_LEAD = t("term.no_lead")
IMPLAUSIBLE = t("loss.deals.implausible_date")     # after a close date far in the future or past
USERS = state.owner_names()   # read in the run: the download frames are made after it


def texts_frame(items: list[L.ReasonText]) -> pd.DataFrame:
    return pd.DataFrame([(r.text if r.text is not None else EMPTY_TEXT, r.count, LABELS[r.category], r.keyword or "—",
                          "・".join(AMBIGUITIES[a] for a in r.ambiguities)) for r in items], columns=TEXT_HEAD)


def deals_frame(items: list[dict]) -> pd.DataFrame:
    """The lost deals: dates in the one date format (no 00:00:00), blanks as —."""
    return pd.DataFrame([[LABELS[d[c]] if c == "loss_category" else
                          NO_LEAD if c == "lead_source" and not d["n_leads"] else
                          d[c] if c == "amount" else
                          cell_text(d[c]) + (IMPLAUSIBLE if c == "close_at" and d.get("close_implausible") else "")
                          for c in DEAL_COLS]
                         for d in items], columns=DEAL_HEAD)


@st.fragment
def explore(rules: LossRules, quality: L.LossQuality, rows: list[L.ParetoRow], cur: state.Current) -> None:
    """The breakdowns by source/owner/month, the texts behind a category and the lost deals: what
    the share/count and touch choices, the tabs, the category and the pagers change. A fragment:
    a change here reruns only this function (not the router, the sidebar, the KPI cards, the
    Pareto, the rule editor or the learning list); its queries are kept per session version and
    its chart specs per input (ui.state.query, show_chart_of). An edit of the rules is outside
    it and reruns the whole page, so the arguments are always this run's."""
    con = cur.ws.con
    st.header(t("loss.by.title"))
    c_mode, c_touch, c_def = st.columns([1, 1, 2], vertical_alignment="bottom")
    # Option labels are looked up now, not inside format_func (called again outside this run).
    modes = {m: t(f"loss.by.mode.{m}") for m in ("share", "count")}
    mode = remembered("loss_by_mode", "share", lambda v, k: c_mode.radio(
        t("loss.by.show"), list(modes), horizontal=True, key=k, index=list(modes).index(v),
        format_func=modes.__getitem__))
    touches = {x: t(f"term.touch.{x}") for x in ("first", "last")}
    touch = remembered("loss_touch", "first", lambda v, k: c_touch.radio(
        t("loss.by.touch"), list(touches), horizontal=True, key=k, index=list(touches).index(v),
        format_func=touches.__getitem__))
    with c_def:
        definition("loss.by.definition")
    normalize = mode == "share"
    # Only the open tab is drawn (each tab is a breakdown query, a chart and a table): a filter
    # change at a million leads draws one breakdown, and a tab click is a rerun of one.
    tab_labels = {b: t(f"loss.by.{b}") for b in BY_TABS}
    tabs: dict[str, Any] = {}

    def draw_tabs(initial: str, key: str) -> str:
        tabs.update(zip(BY_TABS, st.tabs(list(tab_labels.values()), default=tab_labels[initial], key=key,
                                         on_change="rerun"), strict=True))
        return next((b for b, tab in tabs.items() if tab.open), BY_TABS[0])

    by = remembered("loss_by_tab", BY_TABS[0], draw_tabs)
    with tabs[by]:
        groups = query(L.breakdown, by, touch)
        if by == "owner":
            groups = named(USERS, groups)      # owner IDs as names, given a users export
        names = [group_label(by, g) for g in groups]
        if by == "owner":
            owner_id_hint(g.group for g in groups)
        shown = groups[:CHART_GROUPS]
        show_chart_of(
            build_loss_breakdown, shown,
            [t("loss.by.group_n", group=n, count=num(g.total)) for n, g in zip(names, shown, strict=False)],
            LABELS, normalize=normalize, value_title=t(f"loss.by.axis.{mode}"), count_title=t("loss.col.count"),
            share_title=t("loss.col.share"))
        if len(groups) > CHART_GROUPS:
            st.caption(t("loss.by.more_groups", shown=CHART_GROUPS, total=len(groups)))
        cats = [c for c in LOSS_CATEGORIES if any(g.counts.get(c) for g in groups)]
        table = pd.DataFrame([{t(f"loss.by.{by}"): n, t("loss.by.total"): g.total,
                               **{LABELS[c]: (g.share(c) if normalize else g.counts.get(c, 0)) for c in cats}}
                              for n, g in zip(names, groups, strict=True)])
        show_table(table, percent=[LABELS[c] for c in cats] if normalize else [],
                   integer=[t("loss.by.total")] + ([] if normalize else [LABELS[c] for c in cats]),
                   key=f"loss_by_{by}_table")
        download_frame(table, f"loss_by_{by}_{mode}.csv", f"dl_loss_by_{by}")

    st.header(t("loss.texts.title"))
    st.caption(t("loss.texts.caption"))
    options = {"all": t("loss.texts.all", count=num(quality.lost)),
               **{r.category: t("loss.texts.option", label=LABELS[r.category], count=num(r.count)) for r in rows}}
    if quality.excluded:
        options["excluded"] = t("loss.texts.option", label=LABELS["excluded"], count=num(quality.excluded))
    choices = list(options)
    c_cat, c_amb = st.columns([2, 1], vertical_alignment="bottom")
    first = 1 if len(choices) > 1 else 0
    choice = remembered("loss_text_cat", choices[first], lambda v, k: c_cat.selectbox(
        t("loss.texts.category"), choices, key=k, index=choices.index(v) if v in choices else first,
        format_func=options.__getitem__, placeholder=t("app.choose")))
    amb_only = remembered("loss_text_amb", False, lambda v, k: c_amb.toggle(
        t("loss.texts.ambiguous_only"), key=k, value=v))
    category = None if choice == "all" else choice
    page_key = f"loss_text_page_{choice}_{amb_only}_{lang}"
    texts = query(L.reason_texts, rules, category, page=int(state.widget(page_key, 1)), ambiguous_only=amb_only)
    if texts.total:
        show_table(texts_frame(texts.items), integer=[t("loss.col.count")], key="loss_texts_table")
        pager(texts, page_key)
        download_frame(lambda: texts_frame([r for r in L.all_reason_texts(con, rules, category)
                                            if r.ambiguities or not amb_only]),
                       f"loss_reason_texts_{choice}.csv", "dl_loss_texts", label=t("loss.download_all"))
    else:
        st.info(t("loss.texts.none"), icon="ℹ️")

    st.subheader(t("loss.deals.title"), anchor=False)
    contains = remembered("loss_deals_contains", "", lambda v, k: st.text_input(
        t("loss.deals.contains"), key=k, placeholder=t("loss.deals.placeholder"), value=v)).strip() or None
    deals_key = f"loss_deals_page_{choice}_{contains}_{lang}"
    deals = query(L.lost_opportunities, category=category, contains=contains, touch=touch,
                  page=int(state.widget(deals_key, 1)))
    st.caption(t("loss.deals.caption", count=num(deals.total)))
    if deals.total:
        show_table(deals_frame(named(USERS, deals.items, "owner")), integer=[], money=[t("loss.deals.col.amount")],
                   currency=cur.build.currency, key="loss_deals_table", placeholder="—")
        pager(deals, deals_key)
        download_frame(lambda: deals_frame(named(USERS, L.lost_opportunities(
            con, category=category, contains=contains, touch=touch, page_size=None).items, "owner")),
                       f"lost_deals_{choice}.csv", "dl_loss_deals",
                       label=t("loss.download_all"))


# ---------------------------------------------------------------------------------------------
# First, before any widget acts: on a fresh server this may rerun the script through the router.
state.ensure_loaded()
st.title(t("loss.title"))
st.caption(t("loss.caption"))
# The rules section sits at the bottom but runs first: an edit must be in the session's rules
# before require_current() re-applies them, so every number above shows the new
# classification in the same run.
head, body, rules_box = st.container(), st.container(), st.container()
with rules_box:
    rules = edit_rules()
    rules_counts = st.container()
with head:
    cur = require_current()
con = cur.ws.con
quality = query(L.quality)
oc = query(outcomes)
order = "→".join(LABELS[c] for c, _ in rules.categories)

with head:
    if not quality.lost:
        st.info(t("loss.none"), icon="ℹ️")
        st.stop()
    if not any(mp.column("loss_reason") for mp in cur.build.mappings["sfa"]):
        st.warning(t("loss.no_reason_column"), icon="⚠️")
    k1, k2, k3, k4 = st.columns([1, 1.3, 1, 0.6], vertical_alignment="top")
    k1.metric(t("loss.kpi.lost"), deals(quality.lost), border=True)
    k2.metric(t("loss.kpi.quality"), pct(quality.share), border=True,
              help=t("loss.kpi.quality_help"))
    k2.caption(t("loss.kpi.quality_detail", classified=num(quality.classified),
                 lost=num(quality.lost - quality.excluded), other=num(quality.other), blank=num(quality.blank)))
    if quality.excluded:
        k1.caption(t("loss.kpi.excluded", excluded=num(quality.excluded)))
    k3.metric(t("term.win_rate"), pct(oc.win_rate), border=True)
    k3.caption(t("loss.kpi.win_rate_detail", won=num(oc.won), lost=num(oc.lost)))
    with k4:
        definition("loss.definition", order=order)

with body:
    st.header(t("loss.pareto.title"))
    rows = query(L.pareto)
    show_chart_of(build_loss_pareto, rows, LABELS, count_title=t("loss.col.count"), share_title=t("loss.col.share"),
                  cumulative_title=t("loss.col.cumulative"), axis_title=t("loss.pareto.axis"), count_text=deals)
    if rows:        # none when every lost deal is excluded (not a real loss)
        top = next(i for i, r in enumerate(rows) if r.cumulative >= 0.8) + 1
        st.caption(t("loss.pareto.insight", n=top, categories="・".join(LABELS[r.category] for r in rows[:top]),
                     share=pct(rows[top - 1].cumulative)))
    # Amounts in the export's currency; amounts in several currencies are never summed.
    mixed = cur.build.mixed_currency
    if mixed:
        st.warning(t("loss.mixed_currency", files=", ".join(
            f"{c.file} ({'/'.join(sorted(c.counts))})" for c in cur.build.currencies if c.counts)), icon="⚠️")
    pareto = pd.DataFrame([{t("loss.col.category"): LABELS[r.category], t("loss.col.count"): r.count,
                            t("loss.col.share"): r.share, t("loss.col.cumulative"): r.cumulative}
                           | ({} if mixed else {t("loss.col.amount"): r.amount}) for r in rows])
    show_table(pareto, percent=[t("loss.col.share"), t("loss.col.cumulative")], integer=[t("loss.col.count")],
               money=[] if mixed else [t("loss.col.amount")], currency=cur.build.currency, key="loss_pareto_table")
    download_frame(pareto, "loss_reasons.csv", "dl_loss_pareto")

    flagged = [a for a in query(L.ambiguity_summary, rules) if a.opportunities]
    if flagged:
        with st.container(border=True):
            st.subheader(t("loss.amb.title"), anchor=False)
            st.caption(t("loss.amb.caption"))
            st.markdown("\n".join("- " + t("loss.amb.item", label=t(f"loss.ambiguity.{a.id}"), count=num(a.opportunities),
                                           current=i18n.join((f"{LABELS[c]} {deals(n)}"
                                                              for c, n in a.categories.items()), lang),
                                           readings=" / ".join(LABELS[c] for c in a.readings),
                                           help=t(f"loss.ambiguity.{a.id}.help")) for a in flagged))

    explore(rules, quality, rows, cur)

with body:
    learn(rules)

with rules_counts:
    now = {r.category: r.count for r in rows}
    moved = query(L.reclassified, LossRules.default(), rules)
    if moved:
        st.info(t("loss.rules.changed", count=num(sum(n for _, _, n in moved))), icon="✏️")
        show_table(pd.DataFrame([{t("loss.rules.col.from"): LABELS[a], t("loss.rules.col.to"): LABELS[b],
                                  t("loss.col.count"): n} for a, b, n in moved]),
                   integer=[t("loss.col.count")], key="loss_rules_moved")
    else:
        st.caption(t("loss.rules.unchanged"))
    st.caption(t("loss.rules.counts", counts=i18n.join((f"{LABELS[c]} {num(now[c])}" for c in LOSS_CATEGORIES if c in now),
                                                           lang)))
