"""The コスト・CPA page on the sample data, as a user sees it: the table is the engine's on the
same files, an edit of the cost table changes CPA here and on the benchmark and plan pages (one
shared cost data), a bad row is explained, an upload replaces the table, downloads hold what is
shown."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from funnel.ingest.reader import Source
from funnel.measures import cost as costs
from funnel.model.cost_data import CostData, read_costs
from funnel.model.workspace import Workspace
from funnel.present.format import yen
from tests.conftest import SAMPLE, csv_rows, switch_to

PAGE = "views/cost.py"
EDITOR = "cost_editor"


@pytest.fixture(scope="module")
def engine(sample_ws: Workspace) -> tuple[Workspace, CostData]:
    return sample_ws, read_costs(sample_ws.con, Source.from_path(SAMPLE / "cost_by_source.csv"), sample_ws.workdir)


def kpis(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def source_table(at: AppTest) -> Any:
    found = [d.value for d in at.dataframe if "受注獲得単価（CPO）" in d.value.columns]
    assert found
    return found[0]


def open_cost(app: AppTest) -> AppTest:
    switch_to(app, PAGE)
    assert not app.error, [e.value for e in app.error]
    return app


def test_numbers_are_the_engines(app: AppTest, engine: tuple[Workspace, CostData], downloads: dict[str, Any]) -> None:
    ws, cost = engine
    report = costs.source_costs(ws.con, cost)
    at = open_cost(app)
    tot = report.total
    shown = kpis(at)
    assert shown["総費用"] == yen(tot.cost) == "¥31,972,000"
    assert shown["CPA（全体）"] == yen(tot.cpa)
    assert shown["受注獲得単価（CPO・全体）"] == yen(tot.cost_per_won)
    assert shown["費用対効果（全体）"] == f"{tot.return_ratio:.2f} 倍"
    table = source_table(at)
    assert list(table["ソース"]) == [r.source for r in report.rows] + ["合計"]
    for (_, row), r in zip(table.iterrows(), [*report.rows, tot], strict=True):
        assert (row["費用"], row["登録数"], row["リード数"], row["商談数"], row["受注数"], row["受注金額"]) == (
            r.cost, r.registrations, r.leads, r.opportunities, r.won, r.won_amount)
        assert row["CPA"] == pytest.approx(r.cpa)
    # 展示会 (¥22,102) is above the ¥5,000–10,000 band; 資料ダウンロード (¥7,198) within it.
    status = dict(zip(table["ソース"], table["CPA判定"], strict=True))
    assert status["展示会"] == "上回る・要注意" and status["資料ダウンロード"] == "範囲内"
    # The download holds the table shown; charts: CPA against the band, return.
    rows = csv_rows(downloads["cost_by_source.csv"])
    assert [r["ソース"] for r in rows] == list(table["ソース"])
    assert float(rows[-1]["費用"]) == tot.cost and int(rows[-1]["受注数"]) == tot.won
    assert len(at.get("vega_lite_chart")) == 2
    assert any("自然検索" in c.value for c in at.caption)                  # sources without cost are named
    months = csv_rows(downloads["cost_by_month.csv"])
    assert [(r["月"], float(r["費用"])) for r in months[:2]] == [("2025-04", 1_368_000), ("2025-05", 3_732_000)]


def test_editing_a_cost_changes_cpa_everywhere(app: AppTest, engine: tuple[Workspace, CostData],
                                               downloads: dict[str, Any]) -> None:
    ws, cost = engine
    at = open_cost(app)
    first = costs.to_records(cost)[0]
    assert (first["month"], first["source"]) == ("2025-04", "Web広告")
    at.session_state[EDITOR] = {"edited_rows": {0: {"費用": 1_060_000.0}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception and not at.error
    amounts = dict(cost.amounts)
    amounts[(dt.date(2025, 4, 1), "Web広告")] = 1_060_000.0
    edited = costs.source_costs(ws.con, CostData("e", amounts))
    table = source_table(at)
    web = table[table["ソース"] == "Web広告"].iloc[0]
    want = next(r for r in edited.rows if r.source == "Web広告")
    assert web["費用"] == 5_950_000 and web["CPA"] == pytest.approx(want.cpa)
    assert kpis(at)["CPA（全体）"] == yen(edited.total.cpa)
    assert "表で編集した費用" in " ".join(c.value for c in at.caption)
    saved = csv_rows(downloads["cost_by_source_month.csv"])
    assert (saved[0]["月"], saved[0]["ソース"], float(saved[0]["費用"])) == ("2025-04", "Web広告", 1_060_000)
    # One cost data: the benchmark page and the plan page now use the edited cost.
    at.switch_page("views/benchmarks.py").run()
    assert {m.label: m.value for m in at.metric}["CPA（リード獲得単価）"] == yen(edited.total.cpa)
    at.switch_page("views/plan.py").run()
    assert at.number_input(key="plan_cpa").value == round(edited.total.cpa or 0)
    # Back on the cost page the edit is still there, and "reset" brings back the file's values.
    at.switch_page(PAGE).run()
    assert source_table(at).iloc[1]["費用"] == 5_950_000
    at.button(key="cost_reset").click().run()
    assert not at.exception
    assert kpis(at)["総費用"] == "¥31,972,000"


def test_a_bad_row_is_explained_and_left_out(app: AppTest) -> None:
    at = open_cost(app)
    row = {"月": "来月", "ソース": "ウェビナー", "費用": 1000.0}
    at.session_state[EDITOR] = {"edited_rows": {}, "added_rows": [row], "deleted_rows": []}
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "55 行目: 月「来月」が読めません（2025-04 のように入力してください）（この行は集計に入れていません）"]
    assert kpis(at)["総費用"] == "¥31,972,000"


def test_own_exports_start_without_cost_and_an_upload_fills_the_table(app: AppTest,
                                                                      engine: tuple[Workspace, CostData]) -> None:
    ws, cost = engine
    at = app
    at.file_uploader(key="up_ma").set_value(("ma.csv", (SAMPLE / "ma_leads.csv").read_bytes(), "text/csv")).run()
    at.file_uploader(key="up_sfa").set_value(
        ("sfa.xlsx", (SAMPLE / "sfa_opportunities.xlsx").read_bytes(), "application/octet-stream")).run()
    at = open_cost(at)
    assert any("費用データがありません" in i.value for i in at.info) and not at.metric
    # Typed into the empty table: one month of one source.
    row = {"月": "2025-04", "ソース": "Web広告", "費用": 300_000.0}
    at.session_state[EDITOR] = {"edited_rows": {}, "added_rows": [row], "deleted_rows": []}
    at.run()
    typed = costs.source_costs(ws.con, CostData("t", {(dt.date(2025, 4, 1), "Web広告"): 300_000.0}))
    assert kpis(at)["CPA（全体）"] == yen(typed.total.cpa)
    # A file replaces it (CP932 with 年月 headers, read through the engine's reader).
    text = "年月,チャネル,広告費\n2025年4月,Web広告,\"530,000\"\n2025年4月,ウェビナー,370000\n"
    at.file_uploader(key="cost_up").set_value(("費用.csv", text.encode("cp932"), "text/csv")).run()
    assert not at.exception and not at.error
    assert kpis(at)["総費用"] == "¥900,000"
    assert list(source_table(at)["ソース"]) == ["Web広告", "ウェビナー", "合計"]
    at.switch_page("views/benchmarks.py").run()
    full = costs.source_costs(ws.con, CostData("f", {(dt.date(2025, 4, 1), "Web広告"): 530_000.0,
                                                      (dt.date(2025, 4, 1), "ウェビナー"): 370_000.0}))
    assert {m.label: m.value for m in at.metric}["CPA（リード獲得単価）"] == yen(full.total.cpa)


def test_an_unreadable_cost_file_is_refused(app: AppTest) -> None:
    at = open_cost(app)
    at.file_uploader(key="cost_up").set_value(("x.csv", b"a,b\n1,2\n", "text/csv")).run()
    assert not at.exception
    assert any("x.csv" in e.value for e in at.error)
    assert kpis(at)["総費用"] == "¥31,972,000"                            # the cost data stays


def test_english(app: AppTest) -> None:
    app.session_state["lang"] = "en"
    at = open_cost(app)
    assert at.title[0].value.startswith("Cost & CPA")
    assert "Total cost" in kpis(at)
    assert "Cost per won deal (CPO)" in source_table_en(at).columns     # the glossary's name


def source_table_en(at: AppTest) -> Any:
    return [d.value for d in at.dataframe if "Cost per won deal (CPO)" in d.value.columns][0]
