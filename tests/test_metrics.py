"""Metric definitions against hand-computed values on a tiny, fully known pair of exports.

The exports (inline below) hold 8 MA rows → 5 leads (a person twice, two rows without a
valid email) and 6 SFA rows → 5 opportunities (one deal repeated for a second contact).
Every expected number in this file was worked out by hand from those rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from funnel.ingest.reader import Source
from funnel.measures import metrics as m
from funnel.model.workspace import Workspace
from tests.conftest import inline_workspace

MA = """メールアドレス,流入元,登録日時,ステータス,MQL日,SQL日,担当者
a@x.jp,展示会,2025/04/01,MQL,2025/04/05,,佐藤
A@X.JP,Web広告,2025/05/01,SQL,,2025/05/10,佐藤
b@x.jp,展示会,2025/04/10,リード,,,鈴木
c@x.jp,Web広告,2025/04/15,SQL,2025/04/16,2025/04/20,鈴木
d@x.jp,,2025/05/02,リード,,,佐藤
,展示会,2025/05/03,リード,,,佐藤
bad-email,紹介,2025/05/04,リード,,,佐藤
e@x.jp,紹介,2025/06/01,商談化,,,
"""

SFA = """商談 ID,フェーズ,取引先責任者メールアドレス,失注理由,商談 所有者,完了予定日,金額
O1,6.受注,a@x.jp,,田中,2025/06/30,1000000
O2,7.失注,c@x.jp,予算が合わない,田中,2025/07/31,500000
O2,7.失注,C@x.jp,予算が合わない,田中,2025/07/31,500000
O3,3.提案,c@x.jp,,山本,2025/08/31,
O4,7.失注,z@x.jp,,山本,2025/06/15,
O5,7.失注,b@x.jp,他社に決定,田中,2025/06/20,
"""


@pytest.fixture(scope="module")
def built():
    with inline_workspace(MA, SFA) as ws:
        yield ws, ws.build_result


def test_wilson_against_hand_values():
    lo, hi = m.wilson(3, 5)
    assert (round(lo, 4), round(hi, 4)) == (0.2307, 0.8824)
    assert m.wilson(0, 10)[0] == 0.0 and round(m.wilson(0, 10)[1], 4) == 0.2775   # z²/(n+z²)
    assert round(m.wilson(10, 10)[0], 4) == 0.7225 and m.wilson(10, 10)[1] == 1.0
    assert m.wilson(0, 0) == (0.0, 0.0)


def test_rates_behaviours_and_bands_share_one_rate_rule():
    """Rate, activity's Behaviour and mql's Band take the rate and interval from one place:
    3 of 5 is 60% within Wilson's (0.2307, 0.8824) above; no lead is 0% within (0, 0)."""
    from funnel.measures.activity import Behaviour
    from funnel.measures.mql import Band

    for leads, converted, rate in ((5, 3, 0.6), (0, 0, 0.0), (10, 10, 1.0)):
        got = [(x.rate, x.ci) for x in (m.Rate(None, leads, converted), Behaviour("x", leads, converted, 7, 1),
                                        Band(0.0, None, leads, converted, 0.0, 0.0))]
        assert got == [(rate, m.wilson(converted, leads))] * 3


def test_row_accounting(built):
    _, b = built
    assert (b.counts["ma"].rows, b.counts["ma"].keys, b.counts["ma"].rows_without_key) == (8, 5, 2)
    assert (b.counts["sfa"].rows, b.counts["sfa"].keys, b.counts["sfa"].rows_without_key) == (6, 5, 0)
    assert b.link.kind == "email" and b.link.ma_column == "メールアドレス"
    assert b.link.sfa_column == "取引先責任者メールアドレス"


def test_overall_and_by_source_first_touch(built):
    ws, _ = built
    assert m.overall(ws.con) == m.Rate(None, 5, 3, 1)
    got = {r.group: (r.leads, r.converted) for r in m.by_source(ws.con)}
    assert got == {"展示会": (2, 2), "Web広告": (1, 1), "紹介": (1, 0), None: (1, 0)}


def test_by_source_last_touch(built):
    ws, _ = built
    got = {r.group: (r.leads, r.converted) for r in m.by_source(ws.con, m.Filters(touch="last"))}
    assert got == {"Web広告": (2, 2), "展示会": (1, 1), "紹介": (1, 0), None: (1, 0)}


def test_filters_by_date_and_source(built):
    ws, _ = built
    april = m.Filters(date_from=dt.date(2025, 4, 1), date_to=dt.date(2025, 4, 30))
    assert (m.overall(ws.con, april).leads, m.overall(ws.con, april).converted) == (3, 3)
    assert m.overall(ws.con, m.Filters(sources=("展示会",))).leads == 2
    assert m.overall(ws.con, m.Filters(sources=(None,))).leads == 1
    assert m.overall(ws.con, m.Filters(sources=("展示会", None))).leads == 3


def test_outcomes_win_rate_and_dedup(built):
    ws, _ = built
    oc = m.outcomes(ws.con)
    assert (oc.won, oc.lost, oc.open) == (1, 3, 1)
    assert oc.win_rate == 0.25


def test_loss_reasons_shares_sum_to_one(built):
    ws, _ = built
    got = {s.category: s.count for s in m.loss_reasons(ws.con)}
    assert got == {"budget": 1, "competitor": 1, "blank": 1}
    assert sum(s.share for s in m.loss_reasons(ws.con)) == pytest.approx(1.0)


def test_loss_reasons_by_owner_and_source(built):
    ws, _ = built
    by_owner = {k: {s.category: s.count for s in v} for k, v in m.loss_reasons_by(ws.con, "owner").items()}
    assert by_owner == {"田中": {"budget": 1, "competitor": 1}, "山本": {"blank": 1}}
    by_source = {k: {s.category: s.count for s in v} for k, v in m.loss_reasons_by(ws.con, "source").items()}
    assert by_source == {"Web広告": {"budget": 1}, "展示会": {"competitor": 1}, m.NO_LEAD: {"blank": 1}}


def test_loss_by_source_keeps_no_source_apart_from_no_lead():
    ws = Workspace()
    try:
        ws.load("ma", Source.from_bytes("l.csv", "email,source\na@x.jp,展示会\nc@x.jp,\n".encode()))
        ws.load("sfa", Source.from_bytes("d.csv", "deal id,stage,email,失注理由\nO1,失注,a@x.jp,予算\n"
                                                  "O2,失注,c@x.jp,予算\nO3,失注,z@x.jp,予算\n".encode()))
        ws.build()
        got = {k: sum(s.count for s in v) for k, v in m.loss_reasons_by(ws.con, "source").items()}
        assert got == {"展示会": 1, None: 1, m.NO_LEAD: 1}
    finally:
        ws.close()


def test_loss_by_source_follows_a_rebuild():
    """The per-build table of each deal's lead source is made again after new data: a source
    renamed in a re-uploaded MA export shows under its new name, first and last touch."""
    deals = "deal id,stage,email,失注理由\nO1,失注,a@x.jp,予算\nO2,失注,b@x.jp,競合\n".encode()
    with Workspace() as ws:
        ws.load("ma", Source.from_bytes("l.csv", "email,source\na@x.jp,展示会\nb@x.jp,Web\n".encode()))
        ws.load("sfa", Source.from_bytes("d.csv", deals))
        ws.build()
        assert set(m.loss_reasons_by(ws.con, "source", "last")) == {"展示会", "Web"}
        ws.clear("ma")
        ws.load("ma", Source.from_bytes("l.csv", "email,source\na@x.jp,セミナー\nb@x.jp,Web\n".encode()))
        ws.build()
        for touch in ("first", "last"):
            assert set(m.loss_reasons_by(ws.con, "source", touch)) == {"セミナー", "Web"}


def test_remembered_results_last_until_the_tables_change(monkeypatch):
    """Workspace.remember keeps a query's result for the pages' reruns, and forgets it on every
    change to the tables: a load, a removal, a build, new loss rules."""
    from funnel import config
    from funnel.measures import loss as losses
    from funnel.model.rules import LossRules

    deals = "deal id,stage,email,失注理由\nO1,失注,a@x.jp,予算\nO2,失注,b@x.jp,稟議が通らず\n".encode()
    calls: list[str] = []

    def lost_by_category(ws: Workspace) -> dict[str, int]:
        def compute() -> dict[str, int]:
            calls.append("q")
            return {r.category: r.count for r in losses.pareto(ws.con)}
        return ws.remember(("pareto",), compute)

    with Workspace() as ws:
        ws.load("ma", Source.from_bytes("l.csv", "email,source\na@x.jp,展示会\nb@x.jp,Web\n".encode()))
        ws.load("sfa", Source.from_bytes("d.csv", deals))
        ws.build()
        assert lost_by_category(ws) == lost_by_category(ws) == {"budget": 1, "other": 1} and len(calls) == 1
        budget = LossRules(tuple((c, (*k, "稟議") if c == "budget" else k) for c, k in LossRules.default().categories))
        ws.apply_loss_rules(budget)
        assert lost_by_category(ws) == {"budget": 2} and len(calls) == 2
        ws.build()                                   # the default rules again
        assert lost_by_category(ws) == {"budget": 1, "other": 1} and len(calls) == 3
        ws.load("sfa", Source.from_bytes("d2.csv", "deal id,stage,email,失注理由\nO3,失注,a@x.jp,競合\n".encode()))
        assert ws.build_result is None
        ws.build()
        assert lost_by_category(ws) == {"budget": 1, "other": 1, "competitor": 1} and len(calls) == 4
        ws.remove("sfa", ws.files["sfa"][1].table)
        ws.build()
        assert lost_by_category(ws) == {"budget": 1, "other": 1} and len(calls) == 5
        # At most memo_entries results are kept, the oldest dropped first.
        monkeypatch.setitem(config._BY_NAME, "memo_entries",
                            dataclasses.replace(config._BY_NAME["memo_entries"], default=2))
        for k in ("a", "b", "c"):
            ws.remember(k, lambda k=k: k.upper())
        assert ws.remember("a", lambda: "again") == "again" and ws.remember("c", lambda: "x") == "C"


def test_a_build_without_raw_tables_measures_the_same_and_cannot_build_again():
    """build(keep_raw=False), as analyze uses it, drops the files' raw tables once their rows
    are normalised: the measures are those of a normal build; building again is refused."""
    from funnel.measures.analysis import measure, to_json
    from funnel.sql import rows
    from tests.conftest import load_sample

    found = []
    for keep in (True, False):
        with Workspace() as ws:
            load_sample(ws)
            ws.build(keep_raw=keep)
            found.append(to_json(measure(ws, "last")))
            raw = [t for (t,) in rows(ws.con, "SELECT table_name FROM duckdb_tables()") if t.startswith("raw_")]
            assert bool(raw) == keep
            if not keep:
                with pytest.raises(RuntimeError):
                    ws.build()
    assert found[0] == found[1] and found[0]["overall"]["leads"] > 0


def test_a_narrow_build_measures_the_same_and_normalises_only_what_analyze_reads():
    """build(fields=FIELDS), as analyze uses it, fills only the columns its measures read:
    the analysis (both touches, accounts included) is that of a full build, the other columns
    of the rows and leads are NULL (the columns only pages show too), and the leads' other
    measures are left out."""
    from funnel.measures.analysis import FIELDS, measure, to_json
    from funnel.sql import rows
    from tests.conftest import load_sample

    found = []
    for fields in (None, FIELDS):
        with Workspace() as ws:
            load_sample(ws)
            # As analyze builds: the raw tables lose the columns no plan reads, then go.
            ws.build(fields=fields, keep_raw=fields is None)
            found.append([to_json(measure(ws, touch)) for touch in ("first", "last")])
            owners, scores, statuses, sources = rows(
                ws.con, "SELECT count(owner), count(score), count(status), count(source) FROM ma_rows")[0]
            lead_owners, levels = rows(ws.con, "SELECT count(owner), max(status_level) FROM leads")[0]
            deal_names = rows(ws.con, "SELECT count(deal_name) FROM opps")[0][0]
            # Columns only pages show: the address as typed, the first row's company on a lead.
            shown = rows(ws.con, "SELECT (SELECT count(email_raw) FROM ma_rows), (SELECT count(email_raw) FROM sfa_rows), "
                                 "(SELECT count(email_raw) FROM leads), (SELECT count(company) FROM leads)")[0]
            emails, companies = rows(ws.con, "SELECT count(emails), count(company) FROM ma_rows")[0]
            assert sources > 0 and emails > 0 and companies > 0
            if fields is None:
                assert owners and scores and statuses and lead_owners and levels and deal_names and all(shown)
            else:
                assert (owners, scores, statuses, lead_owners, levels, deal_names) == (0, 0, 0, 0, 0, 0)
                assert shown == (0, 0, 0, 0)
    assert found[0] == found[1] and found[0][0]["overall"]["leads"] > 0


def test_match(built):
    ws, _ = built
    assert m.match(ws.con) == m.Match(4, 1)


def test_funnel_reached(built):
    ws, _ = built
    f = m.funnel(ws.con)
    assert [(s.stage, s.count) for s in f.steps] == [("lead", 5), ("mql", 4), ("sql", 4), ("opportunity", 3),
                                                    ("won", 1)]
    assert [s.inferred for s in f.steps] == [0, 1, 1, 0, 0]
    assert f.steps[3].pct_of_first == pytest.approx(0.6)
    assert f.steps[3].pct_of_previous == pytest.approx(0.75)
    assert f.steps[4].pct_of_previous == pytest.approx(1 / 3)
    assert ("funnel.note.unlinked", {"count": 1}) in f.notes


def test_funnel_recorded(built):
    ws, _ = built
    f = m.funnel(ws.con, mode="recorded")
    assert [s.count for s in f.steps] == [5, 3, 3, 3, 1]


def test_by_owner_and_month(built):
    ws, _ = built
    assert {r.group: (r.leads, r.converted) for r in m.by_owner(ws.con)} == {
        "佐藤": (2, 1), "鈴木": (2, 2), None: (1, 0)}
    assert [(r.group, r.leads, r.converted) for r in m.by_month(ws.con)] == [
        ("2025-04", 3, 3), ("2025-05", 1, 0), ("2025-06", 1, 0)]


def test_rows_without_key_are_listed(built):
    ws, _ = built
    from funnel.sql.staging import unkeyed_rows

    assert sorted(r[2] or "" for r in unkeyed_rows(ws.con, "ma")) == ["", "bad-email"]


def test_funnel_marks_stages_without_evidence():
    ws = Workspace()
    try:
        ws.load("ma", Source.from_bytes("l.csv", b"email,source\na@x.jp,Web\nb@x.jp,Web\n"))
        ws.load("sfa", Source.from_bytes("d.csv", b"deal id,stage,email\n1,Closed Won,a@x.jp\n"))
        ws.build()
        f = m.funnel(ws.con)
        assert [s.available for s in f.steps] == [True, False, False, True, True]
        assert f.steps[3].pct_of_previous == pytest.approx(0.5)   # opportunity vs leads, skipping MQL/SQL
        assert ("funnel.note.unavailable", {"stage": "mql"}) in f.notes
    finally:
        ws.close()


def test_exports_with_only_an_email_column_link():
    # No text field mapped at all: the staging SQL then uses no placeholder parameter.
    ws = Workspace()
    try:
        ws.load("ma", Source.from_bytes("l.csv", b"email\na@x.jp\nb@x.jp\n"))
        ws.load("sfa", Source.from_bytes("d.csv", b"deal id,email\nD1,a@x.jp\n"))
        ws.build()
        assert m.overall(ws.con) == m.Rate(None, 2, 1, 0)
    finally:
        ws.close()


def test_a_workspace_builds_again_with_either_link():
    # lead_values is a view for the email link and a table for an ID link: rebuilding in either
    # order must replace whichever exists.
    ws = Workspace()
    try:
        ws.load("ma", Source.from_bytes("l.csv", "メールアドレス,mql_id\na@x.jp,m1\n".encode()))
        ws.load("sfa", Source.from_bytes("d.csv", "商談 ID,メールアドレス,mql_id\nO1,a@x.jp,m1\n".encode()))
        from funnel.model.link import LinkSpec

        for link in (None, LinkSpec.parse("mql_id=mql_id"), None, None):
            ws.build(link=link)
            assert m.match(ws.con).linked == 1
    finally:
        ws.close()


# -- a deal without an ID is still a deal (contracts/cli.md, issue 16) ------------------------------
BLANK_ID_MA = """メールアドレス,流入元
a@x.jp,展示会
b@x.jp,展示会
c@x.jp,Web広告
d@x.jp,Web広告
"""
BLANK_ID_SFA = """商談 ID,フェーズ,取引先責任者メールアドレス,失注理由
O1,受注,a@x.jp,
O1,受注,a@x.jp,
,失注,b@x.jp,予算が合わない
,受注,c@x.jp,
 ,失注,z@x.jp,他社に決定
O2,商談中,,
"""


def _expected_from_rows(ma: str, sfa: str) -> dict[str, int]:
    """The contract's counts worked out in plain Python: an ID keys a deal, a blank ID keys its row."""
    import csv
    import io

    leads = {r["メールアドレス"].strip().lower() for r in csv.DictReader(io.StringIO(ma))}
    deals: dict[str, dict[str, str]] = {}
    for i, r in enumerate(csv.DictReader(io.StringIO(sfa))):
        deals.setdefault(r["商談 ID"].strip() or f"row {i}", r)
    outcome = {"受注": "won", "失注": "lost"}
    emails = {d["取引先責任者メールアドレス"].strip().lower() for d in deals.values()}
    return {"opportunities": len(deals),
            "won": sum(outcome.get(d["フェーズ"]) == "won" for d in deals.values()),
            "lost": sum(outcome.get(d["フェーズ"]) == "lost" for d in deals.values()),
            "converted": len(leads & emails),
            "linked": sum(d["取引先責任者メールアドレス"].strip().lower() in leads for d in deals.values())}


def test_deals_with_a_blank_id_are_keyed_by_their_row():
    expected = _expected_from_rows(BLANK_ID_MA, BLANK_ID_SFA)
    assert expected == {"opportunities": 5, "won": 2, "lost": 2, "converted": 3, "linked": 3}
    with Workspace() as ws:
        ws.load("ma", Source.from_bytes("leads.csv", BLANK_ID_MA.encode()))
        ws.load("sfa", Source.from_bytes("deals.csv", BLANK_ID_SFA.encode()))
        b = ws.build()
        o, match = m.outcomes(ws.con), m.match(ws.con)
        assert (b.counts["sfa"].rows, b.counts["sfa"].keys, b.counts["sfa"].rows_without_key) == (6, 5, 0)
        assert (o.won, o.lost) == (expected["won"], expected["lost"])
        assert m.overall(ws.con).converted == expected["converted"]
        assert match.linked == expected["linked"]
        assert match.linked + match.unlinked == expected["opportunities"]
