"""連携診断 page through AppTest on the sample data: the data-answered items show the engine's
evidence, answering items moves the score and the roadmap position, a data answer can be
overridden and restored, the downloaded JSON and CSV load back through the uploader, bad files
are refused with a message in the user's language, answers survive a page switch, English."""

from __future__ import annotations

import json

import pytest

from funnel.i18n import t
from funnel.measures import diagnosis as D
from funnel.model.workspace import Workspace

PAGE = "views/diagnosis.py"
CHECKLIST = D.load_checklist()
ASSESS = [i.id for i in CHECKLIST.items if i.step == "assess"]


@pytest.fixture(scope="module")
def found(sample_ws: Workspace):
    """The engine's evidence on the sample data, computed outside the app."""
    assert sample_ws.build_result is not None
    return D.evidence(sample_ws.con, sample_ws.build_result, CHECKLIST)


@pytest.fixture
def page(app):
    app.switch_page(PAGE).run()
    assert not app.exception
    return app


def metric(at, label_key: str, lang: str = "ja") -> str:
    return next(m.value for m in at.metric if m.label == t(label_key, lang))


def control(at, item: str, gen: int = 0):
    return at.segmented_control(key=f"diagnosis_{item}_{gen}")


def answer(at, item: str, value: str | None, gen: int = 0) -> None:
    control(at, item, gen).set_value(value).run()
    assert not at.exception


def texts(at) -> list[str]:
    return [m.value for m in at.markdown] + [c.value for c in at.caption]


def test_opens_with_the_engines_evidence(page, found):
    assert page.title[0].value == t("diagnosis.title", "ja")
    assert len(page.segmented_control) == len(CHECKLIST.items)
    shown = texts(page)
    for item in (i for i in CHECKLIST.items if i.rule):
        ev = found[item.rule]
        line = t("diagnosis.item.data", "ja", answer=t(f"diagnosis.answer.{ev.answer}", "ja"),
                 evidence=D.describe(ev, CHECKLIST.rules[item.rule], "ja"))
        assert line in shown, item.id
    # The sample: 8 data answers Yes, 失注理由の入力 No (87.3% < 90%) → step 1, 8/22 → 36 points.
    assert found["loss_recorded"].answer == "no"
    diag = D.diagnose(CHECKLIST, found, {})
    assert metric(page, "diagnosis.score") == t("diagnosis.score_value", "ja", points=diag.points) == "36 点"
    assert metric(page, "diagnosis.current") == "現状診断"
    assert metric(page, "diagnosis.no_count") == "1"
    assert any("失注した商談には必ず失注理由が入力されている" in m for m in shown)   # the next actions of step 1


def test_answering_moves_the_score_and_the_roadmap(page, found):
    before = metric(page, "diagnosis.score")
    answer(page, "rate_measured", "yes")
    assert metric(page, "diagnosis.score") != before
    for item in ASSESS:
        answer(page, item, "yes")
    user = dict.fromkeys(ASSESS, "yes")
    diag = D.diagnose(CHECKLIST, found, user)
    assert diag.current_step == "define"
    assert metric(page, "diagnosis.score") == t("diagnosis.score_value", "ja", points=diag.points) == "50 点"
    assert metric(page, "diagnosis.current") == "KPI定義統一"
    assert metric(page, "diagnosis.no_count") == "0"
    assert t("diagnosis.item.override", "ja", answer="はい") in texts(page)      # 失注理由: team over data
    answer(page, "shared_kpi", "no")
    assert metric(page, "diagnosis.no_count") == "1"
    assert page.table[0].value.iloc[0].tolist()[:3] == [1, "いいえ", "KPI定義統一"]   # No first in the priorities
    # Headers and the short columns never wrap (a browser breaks Japanese mid-word: "いい/え").
    styles = page.table[0].proto.arrow_data.styler.styles
    nowrap = {line.split("{")[0].split(" ", 1)[1].strip() for line in styles.splitlines() if "nowrap" in line}
    assert {"th", "th *", "td.col0 *", "td.col1 *", "td.col2 *"} <= nowrap and "td.col3 *" not in nowrap
    assert len(page.table[0].value.columns) == 5


def test_clearing_an_override_returns_to_the_data(page):
    answer(page, "loss_recorded", "yes")
    assert metric(page, "diagnosis.current") != "現状診断" or metric(page, "diagnosis.no_count") == "0"
    answer(page, "loss_recorded", None)
    assert metric(page, "diagnosis.no_count") == "1"
    assert t("diagnosis.item.follows_data", "ja", answer="いいえ") in texts(page)


@pytest.mark.parametrize("file_name", ["diagnosis_answers.json", "diagnosis_answers.csv"])
def test_download_loads_back_through_the_upload(app, downloads, file_name):
    app.switch_page(PAGE).run()
    chosen = {"rate_measured": "yes", "loss_recorded": "yes", "shared_kpi": "no", "sla_response": "unknown"}
    for item, value in chosen.items():
        answer(app, item, value)
    score, saved = metric(app, "diagnosis.score"), downloads[file_name]
    if file_name.endswith(".json"):
        assert json.loads(saved)["answers"] == chosen
    app.button(key="diagnosis_reset").click().run()                       # forget everything
    assert metric(app, "diagnosis.score") == "36 点" and control(app, "rate_measured", 1).value is None
    app.file_uploader(key="diagnosis_upload_1").set_value((file_name, saved, "application/octet-stream")).run()
    assert not app.exception and not app.error
    assert t("diagnosis.files.loaded", "ja", file=file_name, n=4) in [s.value for s in app.success]
    assert metric(app, "diagnosis.score") == score
    assert {item: control(app, item, 2).value for item in chosen} == chosen


def test_bad_files_are_refused_in_the_users_language(page):
    newer = json.dumps({"format": "funnel-diagnosis", "version": 9, "answers": {}}).encode()
    page.file_uploader(key="diagnosis_upload_0").set_value(("answers.json", newer, "application/json")).run()
    assert not page.exception
    assert "新しいバージョン" in page.error[0].value and "v9" in page.error[0].value
    page.file_uploader(key="diagnosis_upload_0").set_value(
        ("answers.csv", b"id,answer\nno_such_item,yes\n", "text/csv")).run()
    assert "no_such_item" in page.error[0].value and "このチェックリストにない" in page.error[0].value
    page.session_state["lang"] = "en"
    page.run()
    assert "not in this checklist" in page.error[0].value
    assert metric(page, "diagnosis.score", "en") == "36 / 100"       # nothing was loaded


def test_answers_survive_a_page_switch(page):
    answer(page, "rate_measured", "yes")
    page.switch_page("views/rate.py").run()
    page.switch_page(PAGE).run()
    assert not page.exception
    assert control(page, "rate_measured").value == "yes"
    assert metric(page, "diagnosis.score") == "41 点"


def test_english(page, found):
    page.session_state["lang"] = "en"
    page.run()
    assert page.title[0].value == "Marketing × sales alignment self-diagnosis"
    ev = found["match_rate"]
    line = t("diagnosis.item.data", "en", answer="Yes", evidence=D.describe(ev, CHECKLIST.rules["match_rate"], "en"))
    assert line in texts(page)
    assert metric(page, "diagnosis.current", "en") == "Assess"
    assert [c.options for c in page.segmented_control][0] == ["Yes", "No", "Don't know"]
