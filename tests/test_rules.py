"""Value vocabularies: stage → outcome, flags, statuses, and the loss-reason taxonomy."""

from __future__ import annotations

import pytest

from funnel.model.rules import LossRules, classify_stage, parse_flag, status_level
from funnel.vocabulary import fold, is_placeholder


@pytest.mark.parametrize(("stage", "outcome"), [
    ("受注", "won"), ("成約", "won"), ("成立", "won"), ("6.受注", "won"), ("６．受注", "won"),
    ("Closed Won", "won"), ("closedwon", "won"), ("Closed - Won", "won"), ("won", "won"), ("契約", "won"),
    ("失注", "lost"), ("不成立", "lost"), ("7.失注", "lost"), ("Closed Lost", "lost"), ("closedlost", "lost"),
    ("lost", "lost"), ("見送り", "lost"), ("消滅", "lost"), ("他決", "lost"), ("Closed Lost to Competition", "lost"),
    ("Dead Deals", "lost"),
    ("受注見込み", "open"), ("契約予定", "open"), ("3.提案", "open"), ("Qualification", "open"),
    ("Negotiation/Review", "open"), ("appointmentscheduled", "open"), ("", "open"), (None, "open"),
])
def test_stage_outcomes(stage, outcome):
    assert classify_stage(stage) == outcome


@pytest.mark.parametrize(("cell", "flag"), [
    ("TRUE", True), ("true", True), ("1", True), ("○", True), ("はい", True), ("Yes", True),
    ("FALSE", False), ("0", False), ("", False), (None, False), ("いいえ", False), ("×", False),
    ("maybe", None),
])
def test_flags(cell, flag):
    assert parse_flag(cell) is flag


@pytest.mark.parametrize(("status", "level"), [
    ("MQL", 1), ("marketingqualifiedlead", 1), ("マーケティングクオリファイドリード(MQL)", 1),
    ("SQL", 2), ("salesqualifiedlead", 2), ("Sales Qualified Lead", 2),
    ("opportunity", 3), ("商談化", 3), ("Closed - Converted", 3), ("取引開始済み", 3), ("Converted", 3),
    ("customer", 4), ("受注", 4),
    ("Nurturing", 0), ("Open - Not Contacted", 0), ("リード", 0), ("", 0),
])
def test_status_levels(status, level):
    assert status_level(status) == level


@pytest.mark.parametrize(("text", "category"), [
    ("予算が確保できなかった", "budget"), ("価格が高い", "budget"), ("Lost or No Budget", "budget"),
    ("Price", "budget"), ("No Budget / Lost Funding", "budget"),
    ("他社製品に決定（価格面）", "competitor"),          # competitor wins over budget by precedence
    ("Lost to Competitor", "competitor"), ("Competitive product", "competitor"), ("相見積もり負け", "competitor"),
    ("来期に再検討", "timing"), ("導入時期が合わない", "timing"), ("タイミングが合わない", "timing"),
    ("繁忙期で見送り", "timing"), ("Contact has moved", "timing"),
    ("ニーズがなくなった", "no_need"), ("情報収集のみ", "no_need"), ("Incompatible Mass Spec", "no_need"),
    ("Demo data not compelling", "no_need"),
    ("音信不通", "other"), ("Non Responsive", "other"), ("Duplicate opportunity", "excluded"), ("Other", "other"),
    ("社内稟議が通らず", "other"), ("なんとなく", "other"),
    ("", "blank"), (None, "blank"), ("N/A", "blank"),
])
def test_loss_categories(text, category):
    assert LossRules.default().classify(text)[0] == category


def test_loss_rule_reports_matched_keyword():
    assert LossRules.default().classify("他社製品に決定（価格面）") == ("competitor", "他社")


def test_english_keywords_match_whole_words_only():
    # "price" must not fire inside "priceless"; "cost" not inside "costa".
    assert LossRules.default().classify("priceless costa")[0] == "other"


def test_loss_rules_round_trip_and_extension():
    rules = LossRules.default()
    again = LossRules.from_toml(rules.to_toml())
    assert again == rules
    extended = rules.with_categories(tuple((c, kws + ("稟議",)) if c == "budget" else (c, kws) for c, kws in rules.categories))
    assert extended.classify("社内稟議が通らず")[0] == "budget"


def test_unknown_category_is_refused():
    with pytest.raises(ValueError):
        LossRules((("price", ("高い",)),))


def test_fold_and_placeholders():
    assert fold("  Ｔｏｔａｌ\u3000 Ｓ ") == "total s"
    assert is_placeholder("#N/A") and is_placeholder("  ") and not is_placeholder("Web")
