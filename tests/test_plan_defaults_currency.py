"""The reverse plan's starting values come from the user's own data in their currency: the
revenue target is the last 12 months' won amount, the deal size their average won deal; the
worked example's yen CPA is never offered for a dollar export (the box starts empty)."""

from __future__ import annotations

import csv
import datetime as dt
from fractions import Fraction

import pytest

from funnel.ingest.reader import Source
from funnel.planning.inputs import plan_defaults
from funnel.planning.plan import PLACEHOLDERS
from tests.conftest import real

MA = "メールアドレス,流入元\na@x.jp,Web広告\nb@x.jp,展示会\nc@x.jp,展示会\nd@x.jp,展示会\n"
# Won deals: 2023-01 (over a year before the last), 2023-06, 2024-03 (the last); one without an
# amount; one lost.
SFA = ("商談 ID,フェーズ,取引先責任者メールアドレス,金額,完了予定日\n"
       "O1,受注,a@x.jp,1000,2023-01-10\nO2,受注,b@x.jp,2500,2023-06-01\nO3,受注,c@x.jp,4000,2024-03-31\n"
       "O4,受注,d@x.jp,,2024-03-01\nO5,失注,a@x.jp,9000,2024-02-01\n")


def _built(ws):
    ws.load("ma", Source.from_bytes("ma.csv", MA.encode()))
    ws.load("sfa", Source.from_bytes("sfa.csv", SFA.encode()))
    ws.build()
    return ws


def test_revenue_starts_at_the_last_12_months_won_and_the_yen_cpa_only_for_yen(ws):
    _built(ws)
    usd = plan_defaults(ws.con, currency="USD")
    assert usd.actuals.year_won == 2 and usd.actuals.year_revenue == 6500          # 2023-06 + 2024-03
    assert usd.input_value("revenue") == 6500
    assert usd.input_value("deal_size") == round((1000 + 2500 + 4000) / 3)
    assert usd.values["cpa"] is None and usd.input_value("cpa") == 0                 # blank: no yen example
    jpy = plan_defaults(ws.con, currency="JPY")
    assert jpy.input_value("cpa") == PLACEHOLDERS["cpa"]                            # the example is in yen
    assert jpy.input_value("revenue") == 6500


def test_no_won_amount_keeps_the_example_revenue(ws):
    ws.load("ma", Source.from_bytes("ma.csv", MA.encode()))
    ws.load("sfa", Source.from_bytes("sfa.csv", "商談 ID,フェーズ,取引先責任者メールアドレス\nO1,受注,a@x.jp\n".encode()))
    ws.build()
    d = plan_defaults(ws.con, currency="JPY")
    assert d.actuals.year_revenue is None and d.input_value("revenue") == PLACEHOLDERS["revenue"]


def _usd(text: str) -> float:
    return float(text.strip().lstrip("$").replace(",", "") or 0)


def _date(text: str) -> dt.date:
    return dt.datetime.strptime(text.split(" ")[0], "%m/%d/%Y").date() if "/" in text else dt.date.fromisoformat(text[:10])


def test_real_pardot_defaults_are_its_own_dollars(ws):
    """Pardot (USD): the revenue target is its last year of won amounts, counted here from
    the CSV with the csv module; the CPA box starts empty, not at ¥8,000 shown as $8,000."""
    d = real("crm_analytics_salesforce_pardot")
    ws.load("ma", Source.from_path(d / "Lead.csv"))
    ws.load("sfa", Source.from_path(d / "Oppertuninty Table.csv"))
    ws.build()
    with open(d / "Oppertuninty Table.csv", encoding="cp1252", newline="") as f:
        won = [(_date(r["Close Date"]), _usd(r["Amount"])) for r in csv.DictReader(f)
               if r["Won"] == "TRUE" and _usd(r["Amount"]) > 0 and r["Close Date"]]
    last = max(day for day, _ in won)
    start = dt.date(last.year - 1, last.month, last.day)
    year = [a for day, a in won if day > start]
    got = plan_defaults(ws.con, currency="USD")
    assert got.actuals.year_won == len(year)
    assert float(got.input_value("revenue")) == pytest.approx(sum(year), abs=1)
    assert got.input_value("revenue") != PLACEHOLDERS["revenue"]
    assert got.input_value("cpa") == Fraction(0)
