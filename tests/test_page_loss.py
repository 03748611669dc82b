"""失注分析 page through AppTest: opens on the sample data with the engine's numbers, edits the
keyword rules through the data editor and sees the counts move, resets them, downloads and
uploads a rules file (a bad one is refused with a message in the user's language), drills
into the texts of a category, and switches to English."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from funnel.i18n import t
from funnel.measures import loss as L
from funnel.measures import metrics as m
from funnel.model.rules import LossRules
from funnel.model.workspace import Workspace
from funnel.present.format import loss_label, owner_label, pct
from tests.conftest import load_sample

DEFAULT = LossRules.default()
EDITOR = "loss_rules_editor_{n}_{lang}"
CATEGORY, COUNT = "失注理由の分類", "件数"


def with_keyword(rules: LossRules, category: str, keyword: str) -> LossRules:
    return rules.with_categories(tuple((c, (*kws, keyword)) if c == category else (c, kws) for c, kws in rules.categories))


WITH_RINGI = with_keyword(DEFAULT, "budget", "稟議")      # 「社内稟議が通らず」 moves from その他 to 予算


@pytest.fixture(scope="module")
def sample():
    w = Workspace()
    load_sample(w)
    w.build()
    yield w
    w.close()


def engine_counts(ws: Workspace, rules: LossRules, lang: str = "ja") -> dict[str, int]:
    ws.apply_loss_rules(rules)
    return {loss_label(s.category, lang): s.count for s in m.loss_reasons(ws.con)}


def frame_with(at, column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if column in d.value.columns)


def pareto_counts(at, category: str = CATEGORY, count: str = COUNT) -> dict[str, int]:
    table = frame_with(at, category)
    return dict(zip(table[category], table[count], strict=True))


def edit(at, row: int, keywords: str, n: int = 0) -> None:
    at.session_state[EDITOR.format(n=n, lang="ja")] = {
        "edited_rows": {row: {"keywords": keywords}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception


def english(at) -> None:
    """Switch the next run to English through the switch's key. Set before every run: under
    AppTest the page may run without app.py around it (Streamlit's legacy pages/ mode), and
    then the radio's state is dropped after the run."""
    at.session_state["lang"] = "en"


@pytest.fixture
def page(app):
    app.switch_page("views/loss.py").run()
    assert not app.exception
    return app


def test_opens_with_the_engines_numbers(page, sample):
    assert page.title[0].value == "失注分析"
    assert pareto_counts(page) == engine_counts(sample, DEFAULT)
    q, oc = L.quality(sample.con), m.outcomes(sample.con)
    metrics = {x.label: x.value for x in page.metric}
    assert metrics["失注件数"] == f"{q.lost:,}件"
    assert metrics["データ品質：理由を分類できた割合"] == pct(q.share)
    assert metrics["受注率"] == pct(oc.win_rate)
    assert len(page.get("vega_lite_chart")) >= 2               # the Pareto and a breakdown
    by_source = frame_with(page, "リードソース別")
    assert by_source["失注件数"].sum() == q.lost
    flagged = [a for a in L.ambiguity_summary(sample.con, DEFAULT) if a.opportunities]
    shown = "\n".join(md.value for md in page.markdown)
    assert flagged and all(f"（{a.opportunities} 件）" in shown for a in flagged)


def test_editing_the_rules_moves_the_counts(downloads, page, sample):
    moved = L.reclassified(sample.con, DEFAULT, WITH_RINGI)
    assert moved and moved[0][:2] == ("other", "budget")      # the sample has 稟議 reasons
    editor = page.data_editor[0]
    row = list(editor.value["category"]).index("budget")
    before = editor.value.loc[row, "keywords"]
    edit(page, row, before + ", 稟議")
    assert pareto_counts(page) == engine_counts(sample, WITH_RINGI) != engine_counts(sample, DEFAULT)
    assert LossRules.from_toml(page.session_state["session"].loss_rules_toml) == WITH_RINGI
    assert any("分類が変わっています" in i.value for i in page.info)
    assert downloads["loss_rules.toml"] == WITH_RINGI.to_toml().encode("utf-8")
    assert L.parse_rules_toml(downloads["loss_rules.toml"]) == WITH_RINGI          # round trip
    # The edit survives a rerun, and the editor's input stays what it was (streamlit #7749).
    page.run()
    assert pareto_counts(page) == engine_counts(sample, WITH_RINGI)
    assert page.data_editor[0].value.loc[row, "keywords"] == before


def test_reset_brings_the_default_back(page, sample):
    row = list(page.data_editor[0].value["category"]).index("budget")
    edit(page, row, "予算, 稟議")
    assert pareto_counts(page) != engine_counts(sample, DEFAULT)
    page.button(key="loss_rules_reset").click().run()
    assert not page.exception
    assert page.session_state["session"].loss_rules_toml is None
    assert pareto_counts(page) == engine_counts(sample, DEFAULT)
    assert page.data_editor[0].value.loc[row, "keywords"] == L.rules_to_table(DEFAULT)[row]["keywords"]


def test_uploaded_rules_file_is_applied(page, sample):
    page.file_uploader(key="loss_rules_upload_0").set_value(
        ("my_rules.toml", WITH_RINGI.to_toml().encode("utf-8"), "application/toml")).run()
    assert not page.exception
    assert any("my_rules.toml" in s.value for s in page.success)
    assert pareto_counts(page) == engine_counts(sample, WITH_RINGI)
    page.run()                                                  # a fresh uploader; the rules stay
    assert pareto_counts(page) == engine_counts(sample, WITH_RINGI)
    budget = list(page.data_editor[0].value["category"]).index("budget")
    assert page.data_editor[0].value.loc[budget, "keywords"].endswith(", 稟議")


@pytest.mark.parametrize(("lang", "expected"), [("ja", "[[categories]] がありません"), ("en", "has no [[categories]]")])
def test_bad_rules_file_is_refused_with_a_message(page, sample, lang, expected):
    if lang == "en":
        english(page)
    page.file_uploader(key="loss_rules_upload_0").set_value(("notes.toml", b"categories = 3\n", "text/plain")).run()
    assert not page.exception
    assert any(e.value.startswith("notes.toml: ") and expected in e.value for e in page.error)
    category, count = ("Loss category", "Deals") if lang == "en" else (CATEGORY, COUNT)
    assert pareto_counts(page, category, count) == engine_counts(sample, DEFAULT, lang)


def test_texts_behind_a_category(downloads, page, sample):
    page.selectbox(key="loss_text_cat_ja").set_value("other").run()
    texts = frame_with(page, "決めたルール")
    other = next(s.count for s in m.loss_reasons(sample.con) if s.category == "other")
    assert texts["件数"].sum() == other and set(texts["失注理由の分類"]) == {"その他"}
    assert any(f"失注商談 {other} 件" in c.value for c in page.caption)
    page.toggle(key="loss_text_amb_ja").set_value(True).run()
    flagged = frame_with(page, "決めたルール")
    assert len(flagged) and all(flagged["要確認"])
    got = pd.read_csv(io.BytesIO(downloads["loss_reason_texts_other.csv"]), encoding="utf-8-sig")
    assert list(got["失注理由（原文）"]) == list(flagged["失注理由（原文）"])


def test_lost_deals_are_paged(downloads, page, sample):
    page.selectbox(key="loss_text_cat_ja").set_value("all").run()
    lost = L.quality(sample.con).lost
    assert lost > 100                                           # the sample fills three pages of 50
    deals = frame_with(page, "商談ID")
    assert len(deals) == 50
    last = -(-lost // 50)
    page.number_input(key="loss_deals_page_all_None_ja").set_value(last).run()
    assert not page.exception
    assert len(frame_with(page, "商談ID")) == lost - 50 * (last - 1)
    everything = pd.read_csv(io.BytesIO(downloads["lost_deals_all.csv"]), encoding="utf-8-sig")
    assert len(everything) == lost and everything["商談ID"].is_unique


def test_pareto_csv_is_the_table_shown(downloads, page):
    page.run()
    got = pd.read_csv(io.BytesIO(downloads["loss_reasons.csv"]), encoding="utf-8-sig")
    assert dict(zip(got[CATEGORY], got[COUNT], strict=True)) == pareto_counts(page)


def test_without_a_loss_reason_column_every_loss_is_not_entered(app):
    app.file_uploader(key="up_ma").set_value(("ma.csv", "メールアドレス,流入元\na@x.jp,展示会\n".encode(), "text/csv")).run()
    app.file_uploader(key="up_sfa").set_value(
        ("sfa.csv", "商談 ID,フェーズ,メール\nO1,7.失注,a@x.jp\nO2,6.受注,a@x.jp\n".encode(), "text/csv")).run()
    app.switch_page("views/loss.py").run()
    assert not app.exception
    assert any("失注理由の列が見つからない" in w.value for w in app.warning)
    assert pareto_counts(app) == {"未入力": 1}


def test_only_the_open_breakdown_tab_is_drawn_and_the_choice_is_kept(page, sample):
    """Each breakdown tab is a query, a chart and a table: only the open one is drawn."""
    assert [tab.label for tab in page.tabs] == ["リードソース別", "担当者別", "月別（完了月）"]
    assert [len(tab.dataframe) for tab in page.tabs] == [1, 0, 0]
    page.session_state["loss_by_tab_ja"] = "担当者別"            # what a click on the tab sets
    page.run()
    assert [len(tab.dataframe) for tab in page.tabs] == [0, 1, 0]
    by_owner = page.tabs[1].dataframe[0].value
    assert dict(zip(by_owner["担当者別"], by_owner["失注件数"], strict=True)) == {
        (t("term.no_lead", "ja") if g.kind == "no_lead" else owner_label(g.group, "ja")): g.total
        for g in L.breakdown(sample.con, "owner", "first")}
    english(page)
    page.run()                                       # the open tab survives the language switch
    assert [len(tab.dataframe) for tab in page.tabs] == [0, 1, 0] and page.tabs[1].label == "By owner"


def test_english(page, sample):
    page.radio(key="loss_by_mode_ja").set_value("count").run()
    row = list(page.data_editor[0].value["category"]).index("budget")
    edit(page, row, page.data_editor[0].value.loc[row, "keywords"] + ", 稟議")
    english(page)
    page.run()
    assert not page.exception
    assert page.title[0].value == "Loss reasons"
    # The choice and the edited rules survive the switch (a new editor starts from them).
    assert page.radio(key="loss_by_mode_en").value == "count"
    assert page.data_editor[0].value.loc[row, "keywords"].endswith(", 稟議")
    assert pareto_counts(page, "Loss category", "Deals") == engine_counts(sample, WITH_RINGI, "en")
    # Counts in English words, one deal singular, ASCII brackets (catalogue, i18n.plural).
    metrics = {x.label: x.value for x in page.metric}
    assert metrics["Lost opportunities"] == f"{L.quality(sample.con).lost:,} deals"
    shown = "\n".join(md.value for md in page.markdown)
    assert "**先方都合** (1 deal)" in shown and "deals）" not in shown and "1 deals" not in shown
    # The amount column is wide enough for the currency sign (sized to the bare number, it cut it).
    amount = next(json.loads(d.proto.columns) for d in page.dataframe if "Lost amount" in d.value.columns)
    assert amount["Lost amount"]["width"] >= 120


def test_a_text_left_in_other_is_added_to_the_rules_by_one_click(page, sample):
    from funnel.measures.loss_learning import suggestions
    items, total = suggestions(sample.con, DEFAULT)
    assert [(s.text, s.category) for s in items] == [("先方都合", None)] and total == 1   # nothing similar
    text = items[0].text
    # No suggestion: the user picks the category (先方都合 = the client's circumstances: timing).
    next(s for s in page.selectbox if str(s.key).startswith("loss_learn_cat_0_")).set_value("timing").run()
    next(b for b in page.button if str(b.key).startswith("loss_learn_add_0_")).click().run()
    assert not page.exception
    accepted = DEFAULT.with_keyword("timing", text)
    assert LossRules.from_toml(page.session_state["session"].loss_rules_toml) == accepted
    assert pareto_counts(page) == engine_counts(sample, accepted) != engine_counts(sample, DEFAULT)
    assert any(text in s.value for s in page.success)
    # The rules table shows the keyword, and nothing is left to offer.
    editor = page.data_editor[0].value
    assert text in editor.loc[list(editor["category"]).index("timing"), "keywords"]
    assert not any(str(b.key).startswith("loss_learn_add_") for b in page.button)
    assert any(t("loss.learn.none") in c.value for c in page.caption)
