"""作業の保存・読み込み page through AppTest: a session with uploaded exports and edits (column
mapping, target, KPI plan input, loss rules, a checklist answer) is saved; the file opened in
a fresh session shows the same numbers on the rate page and the same edits; a bad or newer
file gives an error box and the app keeps its data."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pandas as pd
import pytest

from funnel.i18n import t
from funnel.measures import diagnosis as D
from funnel.measures import metrics as m
from funnel.model.workspace import Workspace
from funnel.present.format import source_label
from tests.conftest import ROOT, SAMPLE, load_sample
from ui.saved import file_name

pytestmark = pytest.mark.slow
PAGE = "views/workspace.py"
ASSESS = next(i.id for i in D.load_checklist().items if i.step == "assess" and not i.rule)


def fresh_app() -> Any:
    """A new browser session (caches cleared: that also ends the previous AppTest's session)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    return at


def go(at: Any, page: str) -> Any:
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def rate_page(at: Any) -> tuple[pd.DataFrame, dict[str, str]]:
    """The rate page's table by source and its headline numbers."""
    go(at, "views/rate.py")
    table = next(d.value for d in at.dataframe if d.value.columns[0] == t("rate.col.source", "ja"))
    return table.reset_index(drop=True), {x.label: x.value for x in at.metric}


def open_saved(at: Any, name: str, data: bytes) -> Any:
    go(at, PAGE)
    at.file_uploader(key="saved_upload_0").set_value((name, data, "application/zip")).run()
    assert not at.exception, at.exception
    return at


def edit_session(at: Any) -> None:
    """A user's afternoon: own exports, a mapping change, a target, a plan input, a rule, an answer."""
    at.file_uploader(key="up_ma").set_value(("leads.csv", (SAMPLE / "ma_leads.csv").read_bytes(), "text/csv")).run()
    at.file_uploader(key="up_sfa").set_value(
        ("deals.xlsx", (SAMPLE / "sfa_opportunities.xlsx").read_bytes(), "application/vnd.ms-excel")).run()
    editor = next(e for e in at.data_editor if e.key == "map_ma")
    fields = list(editor.value["field"])
    at.session_state["map_ma"] = {"edited_rows": {fields.index(t("field.source", "ja")): {"column": "最終流入元"}},
                                  "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception, at.exception
    go(at, "views/rate.py").number_input(key="target_rate").set_value(12.5).run()
    go(at, "views/plan.py").number_input(key="plan_revenue").set_value(250_000_000.0).run()
    go(at, "views/loss.py")
    at.session_state["loss_rules_editor_0_ja"] = {"edited_rows": {0: {"keywords": "競合, 他社"}},
                                                  "added_rows": [], "deleted_rows": []}
    at.run()
    go(at, "views/diagnosis.py").segmented_control(key=f"diagnosis_{ASSESS}_0").set_value("no").run()
    assert not at.exception, at.exception


def test_saved_session_reopens_with_the_same_numbers_and_edits(downloads):
    a = fresh_app()
    edit_session(a)
    table_a, metrics_a = rate_page(a)
    kept = {k: a.session_state["session"].kept[k] for k in ("target_rate", "plan_revenue")}
    rules = a.session_state["session"].loss_rules_toml
    go(a, PAGE)
    shown = next(d.value for d in a.dataframe if t("saved.col.item", "ja") in d.value.columns)
    assert "leads.csv（データ 3,000 行、除外 0 行）" in set(shown[t("saved.col.value", "ja")])
    assert f"1 件（MA（リード）: {t('field.source', 'ja')}）" in set(shown[t("saved.col.value", "ja")])
    data = downloads[file_name()]
    assert isinstance(data, bytes) and zipfile.is_zipfile(io.BytesIO(data))

    b = fresh_app()
    go(b, "views/rate.py").number_input(key="target_rate").set_value(30.0).run()   # replaced by the file
    open_saved(b, file_name(), data)
    assert any(t("saved.open.confirm", "ja") == w.value for w in b.warning)
    b.button(key="saved_open").click().run()
    assert not b.exception, b.exception
    assert [s.value for s in b.success] == [t("saved.open.done", "ja", file=file_name())]

    table_b, metrics_b = rate_page(b)
    pd.testing.assert_frame_equal(table_b, table_a)
    assert metrics_b == metrics_a
    # The numbers are the mapping edit's: sources of the 最終流入元 column, as the engine says.
    with Workspace() as ws:
        load_sample(ws)
        ws.build({"ma": {"source": "最終流入元"}})
        expected = {source_label(r.group, "ja"): r.leads for r in m.by_source(ws.con)}
    assert dict(zip(table_b.iloc[:, 0], table_b[t("rate.col.leads", "ja")], strict=True)) == expected
    assert b.number_input(key="target_rate").value == 12.5
    assert b.session_state["session"].overrides["ma"] == {"source": "最終流入元"}
    assert b.session_state["session"].loss_rules_toml == rules
    assert b.session_state["session"].answers == {ASSESS: "no"}
    assert go(b, "views/plan.py").number_input(key="plan_revenue").value == kept["plan_revenue"] == 250_000_000.0
    go(b, "views/upload.py")
    assert any("アップロードしたデータを表示中" in s.value for s in b.success)
    assert {e.label.split(" — ")[0] for e in b.expander} >= {"leads.csv", "deals.xlsx"}
    assert b.data_editor(key="map_ma") is not None


def test_the_sample_with_its_cost_data_round_trips(downloads):
    a = fresh_app()
    go(a, "views/cost.py")
    cost_a = {x.label: x.value for x in a.metric}
    table_a, metrics_a = rate_page(a)
    go(a, PAGE)
    data = downloads[file_name()]

    b = fresh_app()
    open_saved(b, "mine.funnel", data)
    b.button(key="saved_open").click().run()
    go(b, "views/cost.py")
    assert {x.label: x.value for x in b.metric} == cost_a
    table_b, metrics_b = rate_page(b)
    pd.testing.assert_frame_equal(table_b, table_a)
    assert metrics_b == metrics_a
    go(b, "views/upload.py")
    assert any("サンプルデータを表示中" in i.value for i in b.info)


def newer(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(members["manifest.json"])
    manifest["format_version"] += 1
    members["manifest.json"] = json.dumps(manifest).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    return buf.getvalue()


def test_bad_files_give_an_error_box_and_the_data_stays(app, downloads):
    before = rate_page(app)
    go(app, PAGE)
    good = downloads[file_name()]
    # A CSV renamed to .funnel (the uploader refuses other extensions itself).
    app.file_uploader(key="saved_upload_0").set_value(("leads.funnel", (SAMPLE / "ma_leads.csv").read_bytes(),
                                                       "application/octet-stream")).run()
    assert not app.exception
    assert [e.value for e in app.error] == ["leads.funnel: " + t("saved.error.not_saved", "ja")]
    assert not [b for b in app.button if b.key == "saved_open"]
    app.file_uploader(key="saved_upload_0").set_value(("cut.funnel", good[: len(good) // 3], "application/zip")).run()
    assert [e.value for e in app.error] == ["cut.funnel: " + t("saved.error.corrupt", "ja", part="zip")]
    app.file_uploader(key="saved_upload_0").set_value(("new.funnel", newer(good), "application/zip")).run()
    assert app.error[0].value.startswith("new.funnel: このファイルは新しいバージョンのアプリで保存されています")
    app.session_state["lang"] = "en"
    app.run()
    assert app.title[0].value == t("saved.title", "en")
    assert app.error[0].value.startswith("new.funnel: this file was saved by a newer version of the app")
    app.session_state["lang"] = "ja"
    after = rate_page(app)
    pd.testing.assert_frame_equal(after[0], before[0])
    assert after[1] == before[1]


def test_session_values_survive_json():
    import datetime as dt

    import numpy as np

    from funnel.model.session_json import decode, encode

    # Page markers (the MQL page's question, which held a Filters) are no longer saved: the
    # session part holds page inputs and edits only (funnel/model/session.py).
    value = {"plan_start": dt.date(2025, 4, 1), "date_range": (dt.date(2025, 4, 1), dt.date(2025, 6, 30)),
             "sources": ["展示会", ""], "target_rate": 12.5, "plan_months": 12, "blank": float("nan"),
             "n": np.int64(3), "pair": (("展示会", None), "f1", 0.0, 10),
             "at": dt.datetime(2025, 4, 1, 9, 30)}
    back = decode(json.loads(json.dumps(encode(value), allow_nan=False)))
    assert back == {**value, "blank": None, "n": 3}
    assert isinstance(back["date_range"], tuple) and isinstance(back["pair"][0], tuple)
