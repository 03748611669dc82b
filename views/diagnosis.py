"""連携診断: the marketing × sales alignment checklist. Items the exports can answer are answered
from them with the evidence shown (and can be overridden); the team answers the rest. Shows the
score, where the team stands on the five-step roadmap with the next actions, the priorities
(No first), the answers by category, and saves / loads the answers as JSON or CSV."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from funnel.measures import answers as A
from funnel.measures import diagnosis as D
from funnel.present.charts.diagnosis import build_category_chart, build_roadmap_chart
from ui.privacy import masked
from ui.state import generation, lang, next_generation, remember, session, t
from ui.widgets import definition, download_frame, require_current, show_chart

L = lang()
GEN = "diagnosis"           # the answer widgets' generation

st.title(t("diagnosis.title"))
cur = require_current()
checklist = D.load_checklist()
st.caption(t("diagnosis.intro", n=len(checklist.items), data=sum(1 for i in checklist.items if i.rule)))


def evidence() -> dict[str, D.Evidence]:
    """The data's evidence, measured once per build and loss-rule set (answer clicks only rerun)."""
    return remember("diagnosis_evidence", lambda: D.evidence(cur.ws.con, cur.build, checklist))


def answer_label(value: str | None) -> str:
    return t(f"diagnosis.answer.{value or 'none'}")


def clear_answers() -> None:
    """Forget the team's answers and start fresh widgets (a callback: runs before the page)."""
    session().set_answers({})
    next_generation(GEN)


found = evidence()
answers: dict[str, Any] = session().answers
summary, listing, files = st.container(), st.container(), st.container()

# -- loading a saved file comes first: it seeds the answer widgets drawn below ------------------
with files:
    st.header(t("diagnosis.files.title"))
    st.caption(t("diagnosis.files.caption"))
    c_save, c_load = st.columns([1, 1])
    upload = c_load.file_uploader(t("diagnosis.files.upload"), type=["json", "csv"], max_upload_size=1,
                                  key=f"diagnosis_upload_{generation(GEN)}")
    if upload is not None:
        try:
            loaded = A.read_answers(upload.getvalue(), checklist, upload.name)
        except A.DiagnosisFileError as exc:
            c_load.error(exc.render(L), icon="⛔")
        else:
            session().set_answers(loaded)
            answers = session().answers
            next_generation(GEN)        # fresh widgets and a cleared uploader
            c_load.success(t("diagnosis.files.loaded", file=upload.name, n=len(loaded)), icon="✅")
gen = generation(GEN)

# -- the checklist -------------------------------------------------------------------------------
step_captions = {}
with listing:
    st.header(t("diagnosis.checklist.title"))
    st.caption(t("diagnosis.checklist.caption"))
    for step in checklist.steps:
        st.subheader(t("diagnosis.checklist.step", n=checklist.step_number(step.id), name=step.name(L)))
        step_captions[step.id] = st.empty()
        for item in (i for i in checklist.items if i.step == step.id):
            with st.container(border=True):
                c_q, c_a = st.columns([5, 2], vertical_alignment="center")
                c_q.markdown(f"**{'📊 ' if item.rule else ''}{item.question(L)}**")
                c_q.caption(t("diagnosis.item.why", why=item.why(L)))
                value = c_a.segmented_control(
                    t("diagnosis.answer_label"), D.ANSWERS, format_func=answer_label, default=answers.get(item.id),
                    key=f"diagnosis_{item.id}_{gen}", label_visibility="collapsed", width="stretch")
                session().set_answer(item.id, value if value in D.ANSWERS else None)
                ev = found.get(item.rule) if item.rule else None
                if ev is not None and item.rule:
                    rule = checklist.rules[item.rule]
                    text = D.describe(ev, rule, L)
                    line = (t("diagnosis.item.data", answer=answer_label(ev.answer), evidence=text) if ev.answer
                            else t("diagnosis.item.no_data", evidence=text))
                    c_q.markdown(line, help=f"**{t('diagnosis.item.threshold_help')}**: {rule.note(L)}")
                    if ev.answer and value in D.ANSWERS:
                        c_a.caption(t("diagnosis.item.override", answer=answer_label(value)))
                    elif ev.answer:
                        c_a.caption(t("diagnosis.item.follows_data", answer=answer_label(ev.answer)))

diag = D.diagnose(checklist, found, answers)
for step, tally in zip(checklist.steps, diag.by_step, strict=True):
    step_captions[step.id].caption(t("diagnosis.checklist.step_caption", goal=step.goal(L) if step.goal else "",
                                     yes=tally.yes, total=tally.total))

# -- summary: score, roadmap, priorities, categories -------------------------------------------------
with summary:
    total = diag.overall.total
    by_source = [a.source for a in diag.answers]
    k = st.columns([1, 1, 1.5, 1])
    k[0].metric(t("diagnosis.score"), t("diagnosis.score_value", points=diag.points), border=True)
    k[0].caption(t("diagnosis.score_detail", yes=diag.overall.yes, total=total))
    k[1].metric(t("diagnosis.answered"), f"{total - diag.overall.unanswered}/{total}", border=True)
    k[1].caption(t("diagnosis.answered_detail", data=by_source.count("data"),
                   team=by_source.count("user") + by_source.count("override"), unknown=diag.overall.unknown))
    if diag.current_step:
        step = checklist.step(diag.current_step)
        k[2].metric(t("diagnosis.current"), step.name(L), border=True)
        k[2].caption(t("diagnosis.current_value", n=checklist.step_number(step.id), total=len(checklist.steps)))
    else:
        k[2].metric(t("diagnosis.current"), t("diagnosis.current_done"), border=True)
    k[3].metric(t("diagnosis.no_count"), diag.overall.no, border=True)
    definition("diagnosis.def.score")

    st.header(t("diagnosis.roadmap.title"))
    show_chart(build_roadmap_chart(diag, checklist, L))
    if diag.current_step:
        step = checklist.step(diag.current_step)
        st.markdown(t("diagnosis.roadmap.current", n=checklist.step_number(step.id), name=step.name(L),
                      goal=step.goal(L) if step.goal else ""))
        st.markdown("\n".join("- " + t("diagnosis.roadmap.action", question=a.item.question(L),
                                       answer=answer_label(a.value), action=a.item.action(L))
                              for a in diag.next_actions()))
    else:
        st.success(t("diagnosis.roadmap.done"), icon="🎉")

    st.header(t("diagnosis.priorities.title"))
    st.caption(t("diagnosis.priorities.caption"))
    todo = diag.priorities()
    cols = [t(f"diagnosis.col.{c}") for c in ("rank", "answer", "step", "item", "action", "source", "evidence")]
    table = pd.DataFrame([[n, answer_label(a.value), checklist.step(a.item.step).name(L), a.item.question(L),
                           a.item.action(L), t(f"diagnosis.source.{a.source}"),
                           D.describe(a.evidence, checklist.rules[a.item.rule], L) if a.evidence and a.item.rule else ""]
                          for n, a in enumerate(todo, 1)], columns=cols)
    if todo:
        # A static table: the questions and actions are sentences, and must wrap to be read. The
        # headers and the short columns (rank, answer, step) never wrap: a browser breaks Japanese
        # anywhere, and squeezed beside the sentences they split mid-word ("いい/え", "優先/順").
        shown = masked(table.drop(columns=[cols[5], cols[6]])).style.hide(axis="index")
        # (The cell's text sits in an inner element with its own white-space: style it too.)
        shown = shown.set_table_styles([{"selector": sel, "props": [("white-space", "nowrap")]} for sel in (
            "th", "th *", *(f"td.col{i}{inner}" for i in range(3) for inner in ("", " *")))])
        st.table(shown, hide_index=True, border="horizontal")
        download_frame(table, "diagnosis_priorities.csv", "diagnosis_dl_priorities")
    else:
        st.success(t("diagnosis.priorities.none"), icon="✅")

    st.header(t("diagnosis.category.title"))
    show_chart(build_category_chart(diag, checklist, L))

# -- saving ------------------------------------------------------------------------------------------
with c_save:
    st.download_button(t("diagnosis.files.json"), data=A.answers_json(diag, answers), file_name="diagnosis_answers.json",
                       mime="application/json", key="diagnosis_dl_json", icon="⬇️", on_click="ignore", width="stretch")
    st.download_button(t("diagnosis.files.csv"), data=A.answers_csv(diag, answers, checklist, L),
                       file_name="diagnosis_answers.csv", mime="text/csv", key="diagnosis_dl_csv", icon="⬇️",
                       on_click="ignore", width="stretch")
    st.button(t("diagnosis.files.reset"), key="diagnosis_reset", icon="↩️", on_click=clear_answers,
              disabled=not answers, width="stretch")
