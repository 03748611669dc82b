"""The レポート出力 page on the sample data (AppTest): it renders, its download is a valid
workbook whose summary shows what the 商談化率 page shows, in the language chosen, with the
session's KPI plan, checklist answers and masking switch carried into the workbook."""

from __future__ import annotations

import io
import warnings
import zipfile
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.workbook import Workbook
from streamlit.testing.v1 import AppTest

from funnel.i18n import t
from funnel.measures.diagnosis import load_checklist
from funnel.present.format import num, pct

pytestmark = pytest.mark.slow
PAGE = "views/report.py"


def workbook(downloads: dict[str | None, Any]) -> Workbook:
    """The workbook the download button gives (its name carries the time it was made)."""
    names = [n for n in downloads if n and n.startswith("funnel_report_") and n.endswith(".xlsx")]
    assert len(names) == 1, list(downloads)
    data = downloads[names[0]]
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return load_workbook(io.BytesIO(data))


def beside(ws: Any, label: str) -> Any:
    for row in ws.iter_rows():
        for c in row:
            if c.value == label:
                return ws.cell(c.row, c.column + 1).value
    raise AssertionError(label)


def open_report(app: AppTest) -> AppTest:
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    return app


def test_the_download_is_the_rate_pages_numbers(app: AppTest, downloads: dict[str | None, Any]) -> None:
    app.switch_page("views/rate.py").run()
    shown = {x.label: x.value for x in app.metric}
    downloads.clear()
    open_report(app)
    assert [x.value for x in app.title] == [t("report.page.title", "ja")]
    assert [b.label for b in app.get("download_button")] == [t("report.page.button", "ja")]
    wb = workbook(downloads)
    assert wb.sheetnames[0] == t("report.sheet.summary", "ja") and len(wb.sheetnames) == 12
    summary = wb.worksheets[0]
    assert num(beside(summary, t("rate.kpi.leads", "ja"))) == shown[t("rate.kpi.leads", "ja")]
    assert num(beside(summary, t("rate.kpi.converted", "ja"))) == shown[t("rate.kpi.converted", "ja")]
    assert pct(beside(summary, t("term.opportunity_rate", "ja"))) == shown[t("term.opportunity_rate", "ja")]
    # The sample's cost file is the session's cost data: the cost sheet is filled.
    assert wb[t("report.sheet.cost", "ja")]["A2"].value != t("report.cost.none", "ja")
    # The sample's activity log is loaded: the attribution sheet has the models side by side.
    cells = [r[0] for r in wb[t("report.sheet.attribution", "ja")].iter_rows(values_only=True)]
    assert t("attribution.table.title", "ja", measure=t("attribution.measure.won", "ja")) in cells


def test_english_switch(app: AppTest, downloads: dict[str | None, Any]) -> None:
    app.session_state["lang"] = "en"
    open_report(app)
    assert [x.value for x in app.title] == [t("report.page.title", "en")]
    assert app.radio(key="report_lang_en").value == "en"           # the report follows the UI language
    wb = workbook(downloads)
    assert wb.sheetnames[0] == "Summary" and wb["Summary"]["A1"].value == t("report.title", "en")


def test_report_language_can_differ_from_the_ui(app: AppTest, downloads: dict[str | None, Any]) -> None:
    open_report(app)
    downloads.clear()
    app.radio(key="report_lang_ja").set_value("en").run()
    assert [x.value for x in app.title] == [t("report.page.title", "ja")]
    assert workbook(downloads).sheetnames[0] == "Summary"


def test_plan_answers_and_masking_are_carried_over(app: AppTest, downloads: dict[str | None, Any]) -> None:
    app.switch_page("views/plan.py").run()
    app.number_input(key="plan_revenue").set_value(200_000_000.0).run()
    item = next(i for i in load_checklist().items if i.rule is None)
    app.session_state["session"].set_answers({item.id: "yes"})
    app.session_state["mask_pii"] = True
    downloads.clear()
    open_report(app)
    texts = " ".join(m.value for m in app.markdown)
    assert "¥200,000,000" in texts
    wb = workbook(downloads)
    plan = wb[t("report.sheet.plan", "ja")]
    assert beside(plan, t("plan.kpi.revenue", "ja")) == 200_000_000
    assert isinstance(beside(plan, t("plan.kpi.leads", "ja")), int)
    checklist = wb[t("report.sheet.checklist", "ja")]
    assert checklist["A2"].value == t("report.checklist.team", "ja", n=1)
    cells = [c.value for s in wb.worksheets for row in s.iter_rows() for c in row if isinstance(c.value, str)]
    assert t("report.masked", "ja") in cells
    unlinked = wb[t("report.sheet.unlinked", "ja")]
    column = [c.value for c in unlinked[3]].index(t("quality.col.email_raw", "ja")) + 1
    emails = [unlinked.cell(r, column).value for r in range(4, unlinked.max_row + 1)]
    emails = [e for e in emails if isinstance(e, str) and "@" in e]
    assert emails and all("***@" in e for e in emails)


def test_the_plan_pages_starting_plan_is_the_reports(app: AppTest, downloads: dict[str | None, Any]) -> None:
    """Issue 16: the report never says "no plan" while the plan page shows one. Opened before
    the plan page was ever visited, the report carries the plan page's starting plan."""
    open_report(app)
    texts = " ".join(m.value for m in app.markdown)
    assert "まだ入力されていません" not in texts
    wb = workbook(downloads)
    sheet = wb[t("report.sheet.plan", "ja")]
    assert sheet["A2"].value != t("report.plan.none", "ja")
    app.switch_page("views/plan.py").run()
    assert not app.exception
    shown = {x.label: x.value for x in app.metric}
    revenue = app.number_input(key="plan_revenue").value
    assert beside(sheet, t("plan.kpi.revenue", "ja")) == revenue
    for kpi in ("deals", "opportunities", "leads"):
        assert t("plan.count", "ja", n=num(beside(sheet, t(f"plan.kpi.{kpi}", "ja")))) == shown[t(f"plan.kpi.{kpi}", "ja")]
    deals = shown[t("plan.kpi.deals", "ja")]
    assert f"¥{revenue:,.0f} → 必要な受注 {deals}" in texts
    assert "初期値" in texts
