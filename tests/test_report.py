"""The Excel report: read back with openpyxl, its numbers checked against the engine and against
values worked out by hand on the tiny exports of test_metrics (5 leads, 3 converted; 5
opportunities: 1 won, 3 lost, 1 open; 4 linked), its cells formula-safe, its charts native,
and ``python -m funnel report`` writing it (exit 0) or refusing unusable input (exit 2).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import warnings
import zipfile
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.chart import BarChart, PieChart
from openpyxl.workbook import Workbook

from funnel.i18n import t
from funnel.ingest.reader import Source
from funnel.measures import metrics as m
from funnel.measures.diagnosis import load_checklist
from funnel.model.workspace import Workspace
from funnel.planning.inputs import PlanInputs, plan_inputs
from funnel.planning.plan import MixInput
from funnel.report.workbook import build_report, sheet_list
from tests.conftest import ROOT, SAMPLE, inline_workspace, load_sample
from tests.test_metrics import MA, SFA

# The tiny exports with hostile cells: a formula, an @-command, a control character, and a lost
# deal with a negative amount that no lead matches.
HOSTILE_MA = MA.replace("d@x.jp,,", 'd@x.jp,"=HYPERLINK(""http://x"")",').replace(
    "e@x.jp,紹介", "e@x.jp,@SUM(A1)").replace("b@x.jp,展示会", "b@x.jp,ベル\x07ソース")
HOSTILE_SFA = SFA + "O6,7.失注,q@x.jp,=1+1,田中,2025/06/10,-500000\n"


@pytest.fixture(scope="module")
def tiny() -> Iterator[Workspace]:
    ws = inline_workspace(MA, SFA)
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def sample() -> Iterator[Workspace]:
    ws = Workspace()
    load_sample(ws)
    ws.build()
    yield ws
    ws.close()


def read(data: bytes) -> Workbook:
    """The workbook, checked the way Excel would open it: a sound zip, no reader warnings."""
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return load_workbook(io.BytesIO(data))


def find(ws: Any, text: str) -> tuple[int, int]:
    """(row, column) of the first cell holding exactly ``text``."""
    for row in ws.iter_rows():
        for c in row:
            if c.value == text:
                return c.row, c.column
    raise AssertionError(f"{text!r} not on sheet {ws.title}")


def value_right_of(ws: Any, label: str, offset: int = 1) -> Any:
    r, c = find(ws, label)
    return ws.cell(r, c + offset)


def table(ws: Any, header: str) -> list[list[Any]]:
    """The rows of the table whose first header cell is ``header`` (until a blank first cell)."""
    r, c = find(ws, header)
    out = []
    r += 1
    while ws.cell(r, c).value is not None:
        out.append([ws.cell(r, c + j).value for j in range(12)])
        r += 1
    return out


def texts(wb: Workbook) -> list[str]:
    return [c.value for s in wb.worksheets for row in s.iter_rows() for c in row if isinstance(c.value, str)]


# -- structure ---------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_sheet_is_there_in_order(sample: Workspace, lang: str) -> None:
    wb = read(build_report(sample, lang=lang))
    assert wb.sheetnames == [name for name, _ in sheet_list(lang)]
    assert wb.sheetnames[0] == t("report.sheet.summary", lang)
    summary = wb.worksheets[0]
    assert summary["A1"].value == t("report.title", lang)
    assert all(s.max_row > 1 for s in wb.worksheets)        # none blank


def test_summary_kpis_are_the_engines_and_the_hand_values(tiny: Workspace) -> None:
    wb = read(build_report(tiny, lang="ja"))
    s = wb[t("report.sheet.summary", "ja")]
    ov, oc, mt = m.overall(tiny.con), m.outcomes(tiny.con), m.match(tiny.con)
    expected = {"rate.kpi.leads": (5, ov.leads), "rate.kpi.converted": (3, ov.converted),
                "term.opportunity_rate": (0.6, ov.rate), "report.kpi.opportunities": (5, oc.total),
                "term.won": (1, oc.won), "term.lost": (3, oc.lost), "term.open": (1, oc.open),
                "term.win_rate": (0.25, oc.win_rate), "quality.match_rate": (0.8, mt.rate),
                "rate.col.ci_low": (m.wilson(3, 5)[0], ov.ci[0])}
    for key, (by_hand, engine) in expected.items():
        cell = value_right_of(s, t(key, "ja"))
        assert cell.value == pytest.approx(by_hand) and cell.value == pytest.approx(engine), key
        assert isinstance(cell.value, int | float)
    assert value_right_of(s, t("term.opportunity_rate", "ja")).number_format == "0.0%"
    assert value_right_of(s, t("rate.kpi.leads", "ja")).number_format == "#,##0"
    # A definition beside each KPI.
    assert value_right_of(s, t("term.win_rate", "ja"), 3).value == t("report.def.win_rate", "ja")


def test_rate_sheet_is_the_by_source_table_with_percent_cells(sample: Workspace) -> None:
    wb = read(build_report(sample, lang="en"))
    s = wb[t("report.sheet.rate", "en")]
    rows = table(s, t("rate.col.source", "en"))
    engine = m.by_source(sample.con)
    assert [r[:4] for r in rows] == [[r.group if r.group else t("term.no_source", "en"), r.leads, r.converted,
                                      pytest.approx(r.rate)] for r in engine]
    r0, _ = find(s, t("rate.col.source", "en"))
    c0 = [c.value for c in s[r0]].index(t("rate.col.rate", "en")) + 1
    rate_cell = s.cell(r0 + 1, c0)
    assert isinstance(rate_cell.value, float) and rate_cell.number_format == "0.0%"
    assert s.freeze_panes == f"A{r0 + 1}"                   # the header stays in view
    months = table(s, t("rate.col.month", "en"))
    assert sum(r[1] for r in months) == m.overall(sample.con).leads


def test_loss_amounts_are_yen_and_shares_sum_to_one(sample: Workspace) -> None:
    wb = read(build_report(sample, lang="ja"))
    s = wb[t("report.sheet.loss", "ja")]
    rows = table(s, t("loss.col.category", "ja"))
    assert [r[1] for r in rows] == [x.count for x in m.loss_reasons(sample.con)]
    assert sum(r[2] for r in rows) == pytest.approx(1.0)
    r, c = find(s, t("loss.col.amount", "ja"))
    assert "¥" in s.cell(r + 1, c).number_format and isinstance(s.cell(r + 1, c).value, float | int)


def test_native_charts_on_the_expected_sheets(sample: Workspace) -> None:
    wb = read(build_report(sample, lang="ja"))
    charts = {s.title: s._charts for s in wb.worksheets}
    name = {sid: t(f"report.sheet.{sid}", "ja") for sid in ("rate", "funnel", "loss", "match", "checklist")}
    assert len(charts[name["rate"]]) == 2 and all(isinstance(c, BarChart) for c in charts[name["rate"]])
    assert len(charts[name["funnel"]]) == 1
    assert any(isinstance(c, PieChart) for c in charts[name["loss"]])
    assert sum(isinstance(c, BarChart) for c in charts[name["loss"]]) >= 2
    assert charts[name["match"]] and charts[name["checklist"]]
    # Each chart reads its own sheet's table.
    ref = charts[name["rate"]][0].series[0].val.numRef.f
    assert ref.startswith(f"'{name['rate']}'!") or ref.startswith(f"{name['rate']}!")


# -- safety -----------------------------------------------------------------------------------
def test_formula_injection_comes_out_as_text_and_numbers_stay_numbers() -> None:
    ws = inline_workspace(HOSTILE_MA, HOSTILE_SFA)
    try:
        wb = read(build_report(ws, lang="ja"))
    finally:
        ws.close()
    cells = [c for s in wb.worksheets for row in s.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]             # no formula anywhere
    found = [c.value for c in cells if isinstance(c.value, str)]
    assert "'=HYPERLINK(\"http://x\")" in found and "'@SUM(A1)" in found
    assert not any(v.startswith(("=", "@", "+")) for v in found)
    assert "ベルソース" in found                                                  # control character dropped
    unlinked = wb[t("report.sheet.unlinked", "ja")]
    r, c = find(unlinked, t("quality.col.amount", "ja"))
    amounts = [unlinked.cell(i, c).value for i in range(r + 1, unlinked.max_row + 1)]
    assert -500000 in amounts


def test_masking_hides_the_emails(tiny: Workspace) -> None:
    pytest.importorskip("funnel.present.privacy")
    plain_wb = read(build_report(tiny, lang="ja"))
    masked_wb = read(build_report(tiny, lang="ja", mask=True))
    assert "z@x.jp" in texts(plain_wb)                     # the unlinked deal's contact
    shown = texts(masked_wb)
    assert not [v for v in shown if "z@x.jp" in v or "c@x.jp" in v.lower()]
    assert "z***@x.jp" in shown
    assert t("report.masked", "ja") in shown


def test_nothing_to_show_still_makes_a_sound_workbook(tiny: Workspace) -> None:
    import datetime as dt

    none = m.Filters(date_from=dt.date(2030, 1, 1), date_to=dt.date(2030, 1, 31))
    wb = read(build_report(tiny, lang="en", filters=none))
    assert value_right_of(wb["Summary"], t("rate.kpi.leads", "en")).value == 0
    assert value_right_of(wb["Summary"], t("term.opportunity_rate", "en")).value == "—"
    rate = wb[t("report.sheet.rate", "en")]
    assert t("report.rate.no_leads", "en") in [c.value for c in rate["A"]] and not rate._charts
    no_loss = SFA.replace("7.失注", "3.提案")
    ws = inline_workspace(MA, no_loss)
    try:
        wb = read(build_report(ws, lang="en"))
    finally:
        ws.close()
    assert t("report.loss.none", "en") in [c.value for c in wb[t("report.sheet.loss", "en")]["A"]]


# -- inputs of the other pages ------------------------------------------------------------------
def test_a_sheet_without_its_input_says_so(tiny: Workspace) -> None:
    wb = read(build_report(tiny, lang="en"))
    assert wb[t("report.sheet.plan", "en")]["A2"].value == t("report.plan.none", "en")
    assert wb[t("report.sheet.cost", "en")]["A2"].value == t("report.cost.none", "en")
    assert wb[t("report.sheet.checklist", "en")]["A2"].value == t("report.checklist.no_team", "en")


def test_plan_sheet_is_the_contract_example(tiny: Workspace) -> None:
    plan = PlanInputs(Fraction(100_000_000), Fraction(5_000_000), Fraction(1, 4), Fraction(3, 20), Fraction(8000),
                      start=None, mix=(MixInput("展示会", Fraction(1), Fraction(1, 5)),
                                       MixInput("Web広告", Fraction(1), Fraction(1, 10), Fraction(5000))))
    wb = read(build_report(tiny, lang="ja", plan=plan))
    s = wb[t("report.sheet.plan", "ja")]
    got = {k: value_right_of(s, t(f"plan.kpi.{k}", "ja")).value for k in ("deals", "opportunities", "leads", "budget")}
    assert got == {"deals": 20, "opportunities": 80, "leads": 534, "budget": 534 * 8000}
    mix = table(s, t("plan.col.source", "ja"))
    # 80 opportunities at a blended 15%: ⌈80 ÷ 0.15⌉ = 534 leads, half each.
    assert [r[0] for r in mix] == ["展示会", "Web広告"] and sum(r[3] for r in mix) == 534


def test_plan_inputs_take_the_datas_values(tiny: Workspace) -> None:
    p = plan_inputs(tiny.con, Fraction(10_000_000))
    assert p.win_rate == Fraction(1, 4) and p.opp_rate == Fraction(3, 5)      # 1 ÷ (1 + 3); 3 ÷ 5
    assert p.deal_size == 1_000_000 and p.origins["deal_size"] == "actual"
    assert p.cpa is None and p.origins["cpa"] == "none"


def test_checklist_shows_the_teams_answers(tiny: Workspace) -> None:
    item = next(i for i in load_checklist().items if i.rule is None)
    wb = read(build_report(tiny, lang="ja", checklist={item.id: "no"}))
    s = wb[t("report.sheet.checklist", "ja")]
    r, c = find(s, item.question("ja"))
    row = [s.cell(r, j).value for j in range(1, 9)]
    assert t("diagnosis.answer.no", "ja") in row and t("diagnosis.source.user", "ja") in row
    assert s["A2"].value == t("report.checklist.team", "ja", n=1)


def test_cost_sheet_with_cost_data(sample: Workspace) -> None:
    from funnel.measures.cost import source_costs
    from funnel.model.cost_data import read_costs

    cost = read_costs(sample.con, Source.from_path(SAMPLE / "cost_by_source.csv"), sample.workdir)
    wb = read(build_report(sample, lang="ja", cost=cost))
    s = wb[t("report.sheet.cost", "ja")]
    total = source_costs(sample.con, cost).total
    assert value_right_of(s, t("cost.kpi.cpa", "ja")).value == pytest.approx(total.cpa)
    assert value_right_of(s, t("cost.kpi.cpa", "ja")).number_format == '"¥"#,##0'
    summary = wb[t("report.sheet.summary", "ja")]
    assert value_right_of(summary, t("bench.metric.cpa", "ja")).value == pytest.approx(total.cpa)


# -- command line ------------------------------------------------------------------------------
def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FUNNEL_LANG", None)
    return subprocess.run([sys.executable, "-m", "funnel", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=180)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("report_cli")
    (d / "leads.csv").write_text(MA, encoding="utf-8")
    (d / "deals.csv").write_bytes(SFA.encode("cp932"))
    return d


def test_cli_writes_the_workbook(files: Path) -> None:
    out = files / "report.xlsx"
    r = run_cli("report", "--ma", str(files / "leads.csv"), "--sfa", str(files / "deals.csv"), "--out", str(out),
                "--lang", "en", "--revenue", "100000000", "--deal-size", "5000000", "--win-rate", "0.25",
                "--opp-rate", "15%", "--cpa", "8000")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == t("report.cli.written", "en", path=str(out)) and not r.stderr
    wb = read(out.read_bytes())
    assert wb.sheetnames[0] == "Summary"
    assert value_right_of(wb["Summary"], t("rate.kpi.leads", "en")).value == 5
    assert value_right_of(wb[t("report.sheet.plan", "en")], t("plan.kpi.leads", "en")).value == 534


@pytest.mark.parametrize("args", [
    ["--ma", "{d}/missing.csv", "--sfa", "{d}/deals.csv", "--out", "{d}/x.xlsx"],             # unreadable input
    ["--ma", "{d}/leads.csv", "--sfa", "{d}/deals.csv", "--out", "{d}/x.xlsx", "--revenue", "lots"],
    ["--ma", "{d}/leads.csv", "--sfa", "{d}/deals.csv", "--out", "{d}/x.xlsx", "--win-rate", "0.3"],
    ["--ma", "{d}/leads.csv", "--sfa", "{d}/deals.csv", "--out", "{d}/no/such/folder/r.xlsx"],  # nowhere to write
    ["--ma", "{d}/leads.csv", "--sfa", "{d}/deals.csv", "--out", "{d}/x.xlsx", "--answers", "{d}/leads.csv"],
    ["--ma", "{d}/leads.csv", "--sfa", "{d}/deals.csv", "--out", "{d}/x.xlsx", "--cost", "{d}/deals.csv"],
], ids=["missing-file", "bad-revenue", "plan-without-revenue", "no-folder", "not-answers", "not-cost"])
def test_cli_unusable_input_exits_2_with_one_line(files: Path, args: list[str]) -> None:
    r = run_cli("report", *[a.replace("{d}", str(files)) for a in args])
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr and lines[0].startswith(t("cli.error_prefix", "ja"))
    assert not (files / "x.xlsx").exists()


def test_cli_report_groups_sources_by_the_sources_file(files: Path) -> None:
    """``report --sources FILE``: the 商談化率 sheet gains the by-channel table (the raw-source
    table stays), each channel summing its sources' leads as counted by hand."""
    mapping = files / "map.csv"
    mapping.write_text("source,channel\n展示会,event\nWeb広告,ad\n", encoding="utf-8")
    out = files / "mapped.xlsx"
    r = run_cli("report", "--ma", str(files / "leads.csv"), "--sfa", str(files / "deals.csv"), "--out", str(out),
                "--sources", str(mapping))
    assert r.returncode == 0, r.stderr
    sheet = read(out.read_bytes())[t("report.sheet.rate", "ja")]
    assert find(sheet, t("report.rate.by_channel", "ja"))
    raw = {row[0]: row[1] for row in table(sheet, t("rate.col.source", "ja"))}
    assert raw["展示会"] == 2 and raw["Web広告"] == 1           # leads per source (A@X.JP folds into a@x.jp)
    r0, c0 = find(sheet, t("report.rate.by_channel", "ja"))
    rows, r1 = [], r0 + 2
    while sheet.cell(r1, c0).value is not None:
        rows.append([sheet.cell(r1, c0 + j).value for j in range(8)])
        r1 += 1
    by_channel = {row[0]: (row[1], row[7]) for row in rows if isinstance(row[1], int)}   # not the note below
    assert by_channel["展示会・イベント"] == (raw["展示会"], "展示会")
    assert by_channel["広告"] == (raw["Web広告"], "Web広告")
    assert sum(v[0] for v in by_channel.values()) == sum(raw.values())
    assert any(t("sources.unmapped", "ja", sources="紹介") == x for x in texts(read(out.read_bytes())))
