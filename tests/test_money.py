"""Money and people as the export says: currency per file, money() and one date format,
owner columns holding CRM user IDs, implausible dates, benchmark scopes."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from funnel.ingest.reader import Source
from funnel.measures import benchmarks as bm
from funnel.measures.dates import implausible_dates
from funnel.model.money import currency_of_cell, detect
from funnel.model.owners import id_kind, read_users
from funnel.model.sources import SourceMap
from funnel.model.workspace import Workspace
from funnel.present.format import cell_text, date_text, money
from tests.conftest import real

PARDOT = "crm_analytics_salesforce_pardot"


@pytest.mark.parametrize(("cell", "code"), [("¥1,234", "JPY"), ("1,234円", "JPY"), ("JPY 1,000", "JPY"),
                                            ("$923.00 ", "USD"), ("US$ 5", "USD"), ("1.234,56 €", "EUR"),
                                            ("EUR 10", "EUR"), ("CA$ 10", "CAD"), ("1,000", None), ("", None)])
def test_currency_of_a_cell(cell, code):
    assert currency_of_cell(cell) == code


def test_a_file_in_two_currencies_is_mixed():
    f = detect("deals.csv", ["$1", "$2", "¥3", None, "4"])
    assert f.currency == "USD" and f.mixed and f.counts == {"USD": 2, "JPY": 1}


def test_money_and_dates_as_one_format():
    assert money(476961250, "USD") == "$476,961,250" and money(1234, "JPY") == "¥1,234"
    assert money(-5, "EUR") == "-€5" and money(None, "USD") == "—" and money(12, None) == "12"
    assert date_text(dt.datetime(2021, 3, 5)) == "2021-03-05"            # never "00:00:00"
    assert date_text(dt.datetime(2021, 3, 5, 14, 30)) == "2021-03-05 14:30"
    assert [cell_text(v) for v in (None, pd.NaT, float("nan"), "", "x")] == ["—", "—", "—", "—", "x"]


def test_mixed_currencies_across_files_are_a_notice():
    with Workspace() as ws:
        ws.load("ma", Source.from_bytes("ma.csv", b"email,source\na@x.jp,Web\n"))
        ws.load("sfa", Source.from_bytes("us.csv", b"email,stage,amount\na@x.jp,Closed Won,$100\n"))
        ws.load("sfa", Source.from_bytes("jp.csv", "email,stage,amount\na@x.jp,受注,\"¥1,000\"\n".encode()))
        b = ws.build()
    assert [(c.file, c.currency) for c in b.currencies] == [("us.csv", "USD"), ("jp.csv", "JPY")]
    assert [k for k, _ in b.notices] == ["notice.mixed_currency"]


def test_owner_ids_are_flagged_and_resolved_by_a_users_export():
    assert id_kind(["0055A000009GjocQAC", "0055A000009Gjoc", None]) == "salesforce"
    assert id_kind(["52345678", "61234567"]) == "hubspot"
    assert id_kind(["山田 太郎", "0055A000009GjocQAC"]) is None
    users = read_users(b"User ID,Full Name\n0055A000009GjocQAC,Alyssa Example\n", "User.csv")
    assert users.name("0055A000009Gjoc") == users.name("0055A000009GjocQAC") == "Alyssa Example"
    assert users.name("山田") == "山田" and users.unresolved(["0055A000009XXXXQAC", "山田"]) == ["0055A000009XXXXQAC"]


def test_the_ad_band_is_compared_only_with_ad_channel_sources():
    m = SourceMap.from_pairs([("Google", "search"), ("Banner", "ad")])
    # "Google" has an ad keyword but the mapping says organic search; "Paid Social" is unmapped.
    assert bm.ad_sources(["Google", "Banner", "Paid Social", "Website"], mapping=m) == ["Banner", "Paid Social"]
    scopes = {b.metric: b.measured_scope for b in bm.defaults().benchmarks}
    assert scopes["opportunity_rate_ad"] == "ad" and scopes["opportunity_rate"] == "overall"
    _, problems = bm.from_records([{"metric": "win_rate", "low": 1, "high": 2, "numerator": "a",
                                    "denominator": "b", "source": "c", "scope": "everyone"}])
    assert [p.key for p in problems] == ["bench.error.scope"]


@pytest.mark.real
def test_pardot_is_in_dollars_and_its_stray_close_dates_are_flagged():
    p = real(PARDOT)
    with Workspace() as ws:
        ws.load("ma", Source.from_path(p / "Lead.csv"))
        ws.load("sfa", Source.from_path(p / "Oppertuninty Table.csv"))
        b = ws.build()
        checks = {(c.table, c.column): c for c in implausible_dates(ws.con)}
    assert [(c.file, c.currency, c.mixed) for c in b.currencies] == [("Oppertuninty Table.csv", "USD", False)]
    raw = pd.read_csv(p / "Oppertuninty Table.csv", encoding="cp1252", dtype=str)
    created = pd.to_datetime(raw["Created Date"], format="%m/%d/%Y %H:%M", errors="coerce")
    leads = pd.read_csv(p / "Lead.csv", encoding="cp1252", dtype=str)
    newest = max(created.max(), pd.to_datetime(leads["Created Date"], format="%m/%d/%Y %H:%M", errors="coerce").max())
    close = pd.to_datetime(raw["Close Date"], format="%m/%d/%Y", errors="coerce")
    expected = int((close > newest + pd.DateOffset(years=2)).sum())
    assert checks[("opps", "close_at")].too_new == expected > 0
    assert checks[("opps", "close_at")].last.year == 2030
    assert checks[("leads", "created_at")].implausible == 0
