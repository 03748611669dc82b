"""Amounts in the export's currency on the cost, plan (KPI逆算) and report pages (issue 16): a
US export shows dollars, never yen; deals in several currencies are flagged on each page. The
numbers are the engine's, formatted the one way (funnel.present.format.money)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook

from funnel.i18n import t
from funnel.ingest.reader import Source
from funnel.measures import cost as costs
from funnel.model.cost_data import read_costs
from funnel.model.workspace import Workspace
from funnel.present.format import money
from funnel.report.xlsx import money_format
from tests.test_page_rate import open_page
from tests.test_page_rate_sources import upload

pytestmark = pytest.mark.slow

MA = ("Email,Lead Source,Created Date\n" + "".join(
    f"l{i}@x.com,{'Webinar' if i % 2 else 'Google AdWords'},2025-0{1 + i % 6}-0{1 + i % 9}\n" for i in range(40))).encode()
SFA = (b"Opportunity ID,Stage,Email,Amount,Created Date,Close Date\n"
       b"O1,Closed Won,l1@x.com,\"$12,000.00\",2025-02-01,2025-03-01\n"
       b"O2,Closed Won,l2@x.com,\"$8,000.00\",2025-02-03,2025-03-05\n"
       b"O3,Closed Lost,l3@x.com,\"$5,500.00\",2025-02-05,2025-03-09\n")
COST = b"Month,Source,Cost\n2025-01,Webinar,3000\n2025-02,Google AdWords,4500\n"


def texts(at: Any) -> list[str]:
    """Every text a user reads on the page: metrics, markdown, captions, infos, table headers."""
    out = [f"{m.label} {m.value}" for m in at.metric]
    out += [m.value for m in [*at.markdown, *at.caption, *at.info, *at.warning, *at.subheader, *at.header]]
    out += [str(c) for d in at.dataframe for c in d.value.columns]
    return out


def engine_cost_total(cost: bytes) -> Any:
    with Workspace() as ws:
        ws.load("ma", Source.from_bytes("ma.csv", MA))
        ws.load("sfa", Source.from_bytes("sfa.csv", SFA))
        build = ws.build()
        data = read_costs(ws.con, Source.from_bytes("cost.csv", cost), ws.workdir)
        return build, costs.source_costs(ws.con, data).total


def test_cost_plan_and_report_pages_show_dollars_on_a_us_export() -> None:
    build, tot = engine_cost_total(COST)
    assert build.currency == "USD" and not build.mixed_currency
    at = open_page("views/upload.py")
    upload(at, MA, SFA, ("leads.csv", "deals.csv"))

    at.switch_page("views/cost.py").run()
    at.file_uploader(key="cost_up").set_value(("cost.csv", COST, "text/csv")).run()
    assert not at.exception, at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown[t("cost.kpi.cost", "ja")] == money(tot.cost, "USD") == "$7,500"
    assert shown[t("cost.kpi.cpa", "ja")] == money(tot.cpa, "USD") and shown[t("cost.kpi.cpa", "ja")].startswith("$")
    assert not [x for x in texts(at) if "¥" in x or "円" in x]

    at.switch_page("views/plan.py").run()
    assert not at.exception, at.exception
    words = texts(at)
    assert not [x for x in words if "¥" in x or "（円）" in x], [x for x in words if "¥" in x or "円" in x]
    assert any("$" in x for x in words)
    labels = [n.label for n in at.number_input]
    assert t("plan.in.revenue", "ja", unit="USD") in labels and t("plan.in.deal_size", "ja", unit="USD") in labels

    at.switch_page("views/report.py").run()
    assert not at.exception, at.exception
    assert not [x for x in texts(at) if "¥" in x]


def test_the_report_workbook_formats_amounts_in_the_exports_currency() -> None:
    from funnel.report.workbook import build_report

    assert money_format("USD") == '"$"#,##0' and money_format("JPY") == '"¥"#,##0' and money_format(None) == "#,##0"
    with Workspace() as ws:
        ws.load("ma", Source.from_bytes("ma.csv", MA))
        ws.load("sfa", Source.from_bytes("sfa.csv", SFA))
        ws.build()
        data = build_report(ws, lang="ja")
    book = load_workbook(io.BytesIO(data))
    cells = [(s.cell(c.row, 1).value, c.number_format) for s in book.worksheets for row in s.iter_rows() for c in row
             if isinstance(c.value, int | float)]
    assert any(f == '"$"#,##0' for _, f in cells)
    # Yen only where the number is one: the CPA benchmark bands (a Japanese market's, in yen).
    assert {label for label, f in cells if "¥" in f} == {t("bench.metric.cpa", "ja")}


def test_deals_in_two_currencies_are_flagged_on_the_plan_page() -> None:
    sfa = SFA.replace(b'"$8,000.00"', "¥800000".encode())
    at = open_page("views/upload.py")
    upload(at, MA, sfa, ("leads.csv", "deals.csv"))
    at.switch_page("views/plan.py").run()
    assert not at.exception, at.exception
    assert any("複数の通貨" in w.value for w in at.warning)
    assert not [x for x in texts(at) if "¥" in x or "$" in x]          # bare numbers, no one sign
