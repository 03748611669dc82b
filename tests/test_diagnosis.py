"""Self-diagnosis engine against hand-computed values on a tiny, fully known pair of exports.

The exports (inline below) hold 6 MA rows → 4 leads (a@x.jp twice, one row without an email)
and 8 opportunities. Every expected number was worked out by hand from those rows:

- match: linked O1 O2 O3 O6 O7 O8, unlinked O4 (z@ not in MA) and O5 (no email) → 6/8 = 75%
- keys: MA rows with an email 5/6; opportunities with an address 7/8 (O5 has none) → 5/6
- lost O2 O4 O5 O7: reason blank on O4 → 3/4 entered; 予算 (O2), 他社 (O5) classified,
  社内事情 (O7) is その他 → 2/4 classified
- required fields: O3 lacks the amount, O5 the owner → 6/8 complete
- MQL evidence on a, c (dates) and SQL on a, c (dates) → 2 and 2
- as-of date = latest creation date = 2025-06-10 (O6); open with a close date O3 (05-31),
  O6 (09-30), O8 (06-01) → 2 of 3 overdue
- duplicates: a@x.jp merged from 2 rows → 1 of 4 leads
- leads with an opportunity a, b, c, d; only a shows 商談化 in the MA → 1/4
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel.ingest.reader import Source
from funnel.measures import answers as A
from funnel.measures import diagnosis as D
from funnel.model.workspace import Workspace
from funnel.present.charts.diagnosis import build_category_chart, build_roadmap_chart, category_values, roadmap_values
from tests.conftest import inline_workspace

MA = """メールアドレス,流入元,登録日時,ステータス,MQL日,SQL日,担当者
a@x.jp,展示会,2025/04/01,MQL,2025/04/05,,佐藤
A@X.JP,Web広告,2025/05/01,商談化,,2025/05/10,佐藤
b@x.jp,展示会,2025/04/10,リード,,,鈴木
c@x.jp,Web広告,2025/04/15,SQL,2025/04/16,2025/04/20,鈴木
d@x.jp,,2025/05/02,リード,,,佐藤
,展示会,2025/05/03,リード,,,佐藤
"""

SFA = """商談 ID,フェーズ,取引先責任者メールアドレス,失注理由,商談 所有者,完了予定日,金額,作成日
O1,受注,a@x.jp,,田中,2025/06/30,1000000,2025/05/01
O2,失注,c@x.jp,予算が合わない,田中,2025/07/31,500000,2025/05/02
O3,提案,c@x.jp,,山本,2025/05/31,,2025/05/03
O4,失注,z@x.jp,,山本,2025/06/15,200000,2025/05/04
O5,失注,,他社に決定,,2025/06/20,300000,2025/05/05
O6,提案,b@x.jp,,田中,2025/09/30,200000,2025/06/10
O7,失注,d@x.jp,社内事情,山本,2025/04/30,100000,2025/04/20
O8,提案,d@x.jp,,山本,2025/06/01,150000,2025/05/20
"""

CHECKLIST = D.load_checklist()
DATA_ITEMS = {"loss_recorded": "loss_recorded", "mql_sql_defined": "stages_recorded", "loss_taxonomy": "loss_classified",
              "ma_sfa_linked": "match_rate", "identity_key": "key_coverage", "required_fields": "required_fields",
              "stage_updates": "overdue_open", "cleansing": "duplicate_rate", "results_fed_back": "results_in_ma"}


@pytest.fixture(scope="module")
def built():
    with inline_workspace(MA, SFA) as ws:
        yield ws, ws.build_result


@pytest.fixture(scope="module")
def found(built):
    ws, build = built
    return D.evidence(ws.con, build, CHECKLIST)


def with_threshold(rule_id: str, threshold: float) -> D.Checklist:
    rules = {**CHECKLIST.rules, rule_id: dataclasses.replace(CHECKLIST.rules[rule_id], threshold=threshold)}
    return dataclasses.replace(CHECKLIST, rules=rules)


# -- the checklist ---------------------------------------------------------------------------------

def test_checklist_is_about_twenty_distinct_items_over_five_steps():
    ids = [i.id for i in CHECKLIST.items]
    assert 18 <= len(ids) <= 24 and len(set(ids)) == len(ids)
    assert [s.id for s in CHECKLIST.steps] == ["assess", "define", "integrate", "operate", "improve"]
    assert [s.name("ja") for s in CHECKLIST.steps] == ["現状診断", "KPI定義統一", "データ連携基盤", "運用定着", "改善サイクル"]
    assert all(any(i.step == s.id for i in CHECKLIST.items) for s in CHECKLIST.steps)
    assert {i.id: i.rule for i in CHECKLIST.items if i.rule} == DATA_ITEMS
    for item in CHECKLIST.items:
        for text in (item.question, item.why, item.action):
            assert text("ja") and text("en") and text("ja") != text("en")
    assert all(r.note("ja") and r.note("en") for r in CHECKLIST.rules.values())


def test_checklist_references_are_checked():
    raw = {"step": [{"id": "s", "name": {"ja": "a", "en": "a"}, "goal": {"ja": "g", "en": "g"}}],
           "category": [{"id": "c", "name": {"ja": "c", "en": "c"}}],
           "item": [{"id": "x", "category": "c", "step": "nope", "rule": "missing",
                     **{k: {"ja": "q", "en": "q"} for k in ("question", "why", "action")}}]}
    with pytest.raises(ValueError, match="unknown step nope.*unknown rule missing"):
        D.parse_checklist(raw)


# -- evidence ----------------------------------------------------------------------------------------

def test_evidence_values_against_hand_counts(found):
    got = {k: (e.value, e.answer) for k, e in found.items()}
    assert got == {
        "match_rate": (6 / 8, "yes"), "key_coverage": (5 / 6, "no"), "loss_recorded": (3 / 4, "no"),
        "loss_classified": (2 / 4, "no"), "required_fields": (6 / 8, "no"), "stages_recorded": (2, "yes"),
        "overdue_open": (2 / 3, "no"), "duplicate_rate": (1 / 4, "no"), "results_in_ma": (1 / 4, "no")}
    assert found["key_coverage"].params["ma_keyed"] == 5 and found["key_coverage"].params["sfa_keyed"] == 7
    assert found["required_fields"].params["missing"] == {"stage": 0, "amount": 1, "close_date": 0, "owner": 1}
    assert found["overdue_open"].params == {"as_of": "2025-06-10", "open": 3, "overdue": 2}
    assert found["loss_classified"].params["other"] == 1 and found["loss_classified"].params["blank"] == 1


def test_evidence_text_states_numbers_and_threshold(found):
    rules = CHECKLIST.rules
    assert D.describe(found["match_rate"], rules["match_rate"], "ja") == \
        "商談 8 件のうち 6 件がリードに紐付いています（75%）。（基準: 70% 以上で「はい」）"
    assert D.describe(found["match_rate"], rules["match_rate"], "en") == \
        "6 of 8 opportunities are linked to a lead (75%). (Yes at 70% or more)"
    assert "金額 1、担当者 1" in D.describe(found["required_fields"], rules["required_fields"], "ja")
    assert "as of 2025-06-10 (66.7%). (Yes at 20% or less)" in D.describe(found["overdue_open"], rules["overdue_open"], "en")


@pytest.mark.parametrize(("rule", "at", "above_or_below"), [
    ("match_rate", 0.75, 0.76), ("loss_recorded", 0.75, 0.76), ("required_fields", 0.75, 0.751),
    ("duplicate_rate", 0.25, 0.249), ("overdue_open", 2 / 3, 0.66), ("stages_recorded", 2, 3)])
def test_data_answer_flips_at_the_threshold(built, rule, at, above_or_below):
    ws, build = built
    assert D.evidence(ws.con, build, with_threshold(rule, at))[rule].answer == "yes"       # at the threshold: Yes
    assert D.evidence(ws.con, build, with_threshold(rule, above_or_below))[rule].answer == "no"


def test_missing_columns_are_named_and_no_data_is_no_answer():
    with Workspace() as ws:
        ws.load("ma", Source.from_bytes("l.csv", "メールアドレス\na@x.jp\n".encode()))
        ws.load("sfa", Source.from_bytes("d.csv", "商談 ID,メールアドレス,フェーズ\nO1,a@x.jp,提案\n".encode()))
        found = D.evidence(ws.con, ws.build(), CHECKLIST)
    assert found["loss_recorded"].value is None and found["loss_recorded"].answer is None   # no lost deal
    assert found["loss_recorded"].unmapped == ("loss_reason",)
    assert found["required_fields"].value == 0 and found["required_fields"].unmapped == ("amount", "close_date", "owner")
    assert found["overdue_open"].answer is None
    assert found["stages_recorded"].value == 0 and found["stages_recorded"].answer == "no"
    text = D.describe(found["loss_recorded"], CHECKLIST.rules["loss_recorded"], "ja")
    assert text.startswith("失注した商談がないため") and "失注理由" in text


# -- answers, score, roadmap --------------------------------------------------------------------------

def test_data_answers_alone(found):
    diag = D.diagnose(CHECKLIST, found, {})
    assert (diag.overall.yes, diag.overall.no, diag.overall.unanswered, diag.overall.total) == (2, 7, 13, 22)
    assert diag.points == 9                        # 2 / 22 = 9.09 → 9
    assert diag.current_step == "assess"
    assert [a.item.id for a in diag.priorities()][:7] == [
        "loss_recorded", "loss_taxonomy", "identity_key", "required_fields", "stage_updates", "cleansing",
        "results_fed_back"]
    assert [a.item.id for a in diag.next_actions()] == ["rate_measured", "loss_recorded", "responsibilities"]
    data = next(t for t in diag.by_category if t.id == "data")
    assert (data.yes, data.no, data.unknown, data.unanswered) == (1, 5, 0, 1)


def test_user_answers_and_overrides(found):
    user = {"rate_measured": "yes", "responsibilities": "yes", "loss_recorded": "yes", "shared_kpi": "unknown"}
    diag = D.diagnose(CHECKLIST, found, user)
    by_id = {a.item.id: a for a in diag.answers}
    assert (by_id["loss_recorded"].value, by_id["loss_recorded"].source) == ("yes", "override")
    assert by_id["loss_recorded"].evidence.answer == "no"          # the evidence is kept
    assert (by_id["rate_measured"].source, by_id["ma_sfa_linked"].source, by_id["handoff_numeric"].source) == \
        ("user", "data", "none")
    assert diag.points == 23                        # 5 / 22 = 22.7 → 23
    assert diag.current_step == "define"
    assert diag.priorities()[-1].item.id == "criteria_reviewed"
    assert [a.item.id for a in diag.priorities() if a.value == "unknown"] == ["shared_kpi"]
    assert diag.priorities().index(by_id["shared_kpi"]) == 6      # after the 6 No items left


def test_roadmap_moves_step_by_step_and_ends(found):
    user: dict[str, str] = {}
    seen = []
    for step in CHECKLIST.steps:
        user.update({i.id: "yes" for i in CHECKLIST.items if i.step == step.id})
        seen.append(D.diagnose(CHECKLIST, found, user).current_step)
    assert seen == ["define", "integrate", "operate", "improve", None]
    done = D.diagnose(CHECKLIST, found, user)
    assert done.points == 100 and done.priorities() == [] and done.next_actions() == []
    # A later step all Yes does not move the position past an earlier open step.
    later = D.diagnose(CHECKLIST, found, {i.id: "yes" for i in CHECKLIST.items if i.step != "define"})
    assert later.current_step == "define"


# -- saving and loading --------------------------------------------------------------------------------

USER = {"rate_measured": "yes", "loss_recorded": "yes", "shared_kpi": "no", "sla_response": "unknown"}


def test_json_round_trip(found):
    diag = D.diagnose(CHECKLIST, found, USER)
    data = A.answers_json(diag, USER)
    doc = json.loads(data)
    assert (doc["format"], doc["version"], doc["answers"]) == ("funnel-diagnosis", 1, USER)
    assert doc["result"]["score"] == diag.points and doc["result"]["current_step"] == diag.current_step
    assert A.read_answers(data, CHECKLIST) == USER


def test_csv_round_trip_and_excel_resave(found):
    diag = D.diagnose(CHECKLIST, found, USER)
    data = A.answers_csv(diag, USER, CHECKLIST, "ja")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r["id"] for r in rows] == [i.id for i in CHECKLIST.items]
    loss = next(r for r in rows if r["id"] == "loss_recorded")
    assert (loss["answer"], loss["data_answer"], loss["result"]) == ("yes", "no", "yes")
    assert loss["evidence"].startswith("失注 4 件のうち 3 件")
    assert A.read_answers(data, CHECKLIST) == USER
    # Re-saved by Japanese Excel: CP932, answers typed as labels, blank answers.
    excel = "id,answer\r\nrate_measured,はい\r\nshared_kpi,いいえ\r\nsla_response,わからない\r\nhandoff_numeric,\r\n"
    assert A.read_answers(excel.encode("cp932"), CHECKLIST) == {
        "rate_measured": "yes", "shared_kpi": "no", "sla_response": "unknown"}
    assert A.read_answers(b"id,answer\nrate_measured,Don't know\n", CHECKLIST) == {"rate_measured": "unknown"}


@pytest.mark.parametrize(("data", "key", "needle"), [
    (b'{"format": "funnel-diagnosis", "version": 2, "answers": {}}', "diagnosis.file.newer", "v2"),
    (b'{"format": "funnel-diagnosis", "version": "x", "answers": {}}', "diagnosis.file.bad_version", "x"),
    (b'{"format": "funnel-diagnosis", "version": 1, "answers": {"nope": "yes"}}', "diagnosis.file.unknown_items", "nope"),
    (b'{"format": "funnel-diagnosis", "version": 1, "answers": {"shared_kpi": "maybe"}}', "diagnosis.file.bad_values",
     "shared_kpi=maybe"),
    (b'{"format": "funnel-diagnosis", "version": 1, "answers": {"shared_kpi": 1}}', "diagnosis.file.bad_values", "=1"),
    (b'{"format": "other", "version": 1}', "diagnosis.file.not_ours", ""),
    (b'{"answers": [1, 2]}', "diagnosis.file.not_ours", ""),
    (b'{"format": "funnel-diagnosis", ', "diagnosis.file.bad_json", ""),
    (b"version,id,answer\n3,shared_kpi,yes\n", "diagnosis.file.newer", "v3"),
    (b"id,answer\nshared_kpi,yes\nshared_kpi,no\n", "diagnosis.file.duplicate_items", "shared_kpi"),
    (b"name,value\na,b\n", "diagnosis.file.csv_columns", ""),
    (b"  \n", "diagnosis.file.empty", ""),
    (b"\xff\xfe\x00\xfd\xff", "diagnosis.file.not_text", ""),
    (b"x" * (A.MAX_FILE_BYTES + 1), "diagnosis.file.too_large", "1024 KB"),
])
def test_bad_files_are_refused_with_a_message(data, key, needle):
    with pytest.raises(A.DiagnosisFileError) as info:
        A.read_answers(data, CHECKLIST, "answers.json")
    assert info.value.key == key
    ja, en = info.value.render("ja"), info.value.render("en")
    assert ja.startswith("answers.json: ") and ja != en and "{" not in ja + en
    assert needle in en


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=200).map(lambda s: s.encode("utf-8")))
def test_any_bytes_either_load_or_are_refused(data):
    try:
        got = A.read_answers(data, CHECKLIST)
    except A.DiagnosisFileError:
        return
    assert set(got) <= {i.id for i in CHECKLIST.items} and set(got.values()) <= set(D.ANSWERS)


# -- charts ------------------------------------------------------------------------------------------

def test_roadmap_chart_values(found):
    diag = D.diagnose(CHECKLIST, found, {i.id: "yes" for i in CHECKLIST.items if i.step == "assess"})
    values = roadmap_values(diag, CHECKLIST, "ja")
    assert [v["status"] for v in values] == ["done", "current", "todo", "todo", "todo"]
    assert [v["text"] for v in values] == ["3/3", "1/6", "1/5", "0/4", "0/4"]
    assert values[0]["label"] == "1. 現状診断" and values[1]["share"] == pytest.approx(1 / 6)
    spec = build_roadmap_chart(diag, CHECKLIST, "en").to_dict()
    assert len(spec["layer"]) == 3 and spec["height"] == 280
    colour = spec["layer"][1]["encoding"]["color"]["scale"]
    assert colour["domain"] == ["Done", "You are here", "Later"] and colour["range"][0] == "#16a34a"
    done = D.diagnose(CHECKLIST, found, {i.id: "yes" for i in CHECKLIST.items})
    assert {v["status"] for v in roadmap_values(done, CHECKLIST, "ja")} == {"done"}


def test_category_chart_values(found):
    diag = D.diagnose(CHECKLIST, found, {"behaviour_visible": "unknown"})
    values = [v for v in category_values(diag, CHECKLIST, "en") if v["category"] == "data"]
    assert [(v["answer"], v["n"]) for v in values] == [("yes", 1), ("no", 5), ("unknown", 1), ("none", 0)]
    assert values[0]["share_text"] == "14% (1/7)" and values[0]["label"] == "Data & integration"
    spec = build_category_chart(diag, CHECKLIST, "ja").to_dict()
    assert spec["layer"][0]["encoding"]["color"]["scale"]["domain"] == ["はい", "いいえ", "わからない", "未回答"]
    assert spec["height"] == {"step": 44}
