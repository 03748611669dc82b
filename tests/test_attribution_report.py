"""Attribution in the Excel report and in 前回との比較 (issue 18): the report's sheet written by
``python -m funnel report --activity`` and the diff's credit per touch, checked against the
JSON of ``python -m funnel analyze --activity`` (another process, another code path for the
totals): each model's column sums to the deal counts, the default model's column is the
JSON's ``by_touch``, ``(no lead)`` and ``(no touch)`` are rows."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from test_cli import run_cli

from funnel.ingest.reader import Source
from funnel.measures.diff import compare
from funnel.model.workspace import Workspace
from funnel.report.workbook import build_report

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
ACTIVITY = SAMPLE / "activity_log.csv"
MONTHS = {"now": (SAMPLE / "ma_leads.csv", SAMPLE / "sfa_opportunities.xlsx"),
          "last": (SAMPLE / "previous" / "ma_leads.csv", SAMPLE / "previous" / "sfa_opportunities.xlsx")}
MODEL_COLS = ["ファースト", "ラスト", "均等", "U字型", "減衰"]


def analyze_json(month: str) -> dict[str, Any]:
    ma, sfa = MONTHS[month]
    out = run_cli("analyze", "--ma", str(ma), "--sfa", str(sfa), "--activity", str(ACTIVITY), "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def now_json() -> dict[str, Any]:
    return analyze_json("now")


def tables(sheet: Any) -> dict[str, list[tuple[Any, ...]]]:
    """The sheet's tables under their heading: the header row, then the rows up to a blank one."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    current: list[tuple[Any, ...]] | None = None
    for row in sheet.iter_rows(values_only=True):
        if row[0] is None:
            current = None
        elif isinstance(row[0], str) and row[0].startswith("モデルの比較"):
            current = found.setdefault(row[0], [])
        elif current is not None:
            current.append(row)
    return found


@pytest.mark.slow
def test_report_sheet_sums_to_the_deal_counts_of_the_json(tmp_path, now_json):
    ma, sfa = MONTHS["now"]
    out = tmp_path / "report.xlsx"
    done = run_cli("report", "--ma", str(ma), "--sfa", str(sfa), "--activity", str(ACTIVITY), "--out", str(out))
    assert done.returncode == 0, done.stderr
    sheet = load_workbook(out)["アトリビューション"]
    found = tables(sheet)
    assert list(found) == ["モデルの比較（商談数）", "モデルの比較（受注数）", "モデルの比較（受注金額）"]
    by_touch = {t["touch"]: t for t in now_json["attribution"]["by_touch"]}
    label = {"(no lead)": "（リードなし）", "(no touch)": "（接点なし）"}
    won_amount = sum(t["won_amount"] for t in now_json["attribution"]["by_touch"])
    for (title, rows), measure, total in zip(
            found.items(), ("opportunities", "won", "won_amount"),
            (now_json["sfa"]["opportunities"], now_json["outcomes"]["won"], won_amount), strict=True):
        header, body, total_row = rows[0], rows[1:-1], rows[-1]
        assert header[0].startswith("接点") and list(header[2:7]) == MODEL_COLS
        assert total_row[0] == "合計"
        for j in range(1, 7):                      # first-touch source and the five models
            assert sum(r[j] for r in body) == pytest.approx(total, abs=1e-6), (title, header[j])
            assert total_row[j] == pytest.approx(total, abs=1e-6), (title, header[j])
        # The default model (position, U字型) is the JSON's by_touch, touch by touch.
        position = {r[0]: r[5] for r in body}
        for touch, credit in by_touch.items():
            assert position[label.get(touch, touch)] == pytest.approx(credit[measure], abs=1e-6), (title, touch)
        assert {"（リードなし）", "（接点なし）"} <= set(position)
    assert now_json["attribution"]["model"] == "position"


def test_report_without_activity_says_so(sample_ws):
    sheet = load_workbook(io.BytesIO(build_report(sample_ws)))["アトリビューション"]
    text = [r[0] for r in sheet.iter_rows(values_only=True) if r[0]]
    assert any("行動履歴のファイルが読み込まれていない" in x for x in text)
    assert not any(str(x).startswith("モデルの比較") for x in text)


def build(month: str, activity: bool) -> Workspace:
    ws = Workspace()
    ma, sfa = MONTHS[month]
    ws.load("ma", Source.from_path(ma))
    ws.load("sfa", Source.from_path(sfa))
    if activity:
        ws.load("activity", Source.from_path(ACTIVITY))
    ws.build()
    return ws


@pytest.mark.slow
@pytest.mark.parametrize("last_has_activity", [False, True])
def test_diff_credit_per_touch_is_each_months_json(now_json, last_has_activity):
    last_json = analyze_json("last")
    with build("last", last_has_activity) as prev, build("now", True) as cur:
        at = compare(prev, cur).attribution
    assert at is not None and at.model == "position"
    assert at.events == ("previous" if last_has_activity else "current")
    for side, data in (("before", last_json), ("after", now_json)):
        want = {t["touch"]: t for t in data["attribution"]["by_touch"]}
        got = {m.touch: getattr(m, side) for m in at.moves}
        assert set(got) >= set(want)
        for touch, credit in got.items():
            w = want.get(touch, {"opportunities": 0.0, "won": 0.0, "won_amount": 0.0})
            for k in ("opportunities", "won", "won_amount"):
                assert getattr(credit, k) == pytest.approx(w[k], abs=1e-6), (side, touch, k)
        total = at.totals_before if side == "before" else at.totals_after
        assert total.opportunities == pytest.approx(data["sfa"]["opportunities"])
        assert total.won == pytest.approx(data["outcomes"]["won"])
    assert last_json["sfa"]["opportunities"] != now_json["sfa"]["opportunities"]   # two different months


def test_no_activity_this_month_no_credit_per_touch():
    with build("last", False) as prev, build("now", False) as cur:
        assert compare(prev, cur).attribution is None


def test_diff_page_shows_credit_per_touch_on_the_sample(app, downloads):
    app.switch_page("views/diff.py").run()
    assert not app.exception
    frame = next(d.value for d in app.dataframe if "商談（前回）" in d.value.columns)
    total = frame.iloc[-1]
    assert total["接点"] == "合計"
    body = frame.iloc[:-1]
    assert body["商談（今回）"].sum() == pytest.approx(total["商談（今回）"])
    assert body["商談（前回）"].sum() == pytest.approx(total["商談（前回）"])
    assert (body["差"] == body["商談（今回）"] - body["商談（前回）"]).all()
    assert "（リードなし）" in set(body["接点"])
    with Workspace() as cur:
        for side, (path) in (("ma", MONTHS["now"][0]), ("sfa", MONTHS["now"][1])):
            cur.load(side, Source.from_path(path))
        cur.build()
        assert round(total["商談（今回）"]) == cur.build_result.counts["sfa"].keys
    assert "attribution_change_by_touch.csv" in downloads
