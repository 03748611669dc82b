"""The match report against hand-computed values on a tiny, fully known pair of exports.

MA (13 rows → 9 leads, 3 rows without a valid address): one person twice (``TARO@X.JP`` and
``taro@x.jp `` with a trailing space), and one cell per normalisation rule. SFA (7 deals):
4 link to a lead, 3 do not — one per reason (blank, invalid, not in the MA export).
Every expected number below was worked out by hand from these rows.
"""

from __future__ import annotations

import pytest

from funnel.measures import quality as q
from funnel.model.link import LinkSpec
from funnel.model.workspace import Workspace
from funnel.sql import quality as sq
from tests.conftest import inline_workspace

MA = """メールアドレス,流入元,登録日時
TARO@X.JP,展示会,2025/04/01
taro@x.jp ,Web広告,2025/05/01
ｈａｎａ＠ｘ．ｊｐ,Web広告,2025/04/02
\u3000jiro@x.jp\u3000,紹介,2025/04/03
mailto:Saburo@x.jp,展示会,2025/04/04
山田 <yamada@x.jp>,展示会,2025/04/05
Suzuki (suzuki@x.jp),,2025/04/06
a@x.jp;b@x.jp,紹介,2025/04/07
,展示会,2025/04/08
なし,展示会,2025/04/09
foo@bar,紹介,2025/04/10
c@x.jp; junk,紹介,2025/04/11
d@x.jp,Web広告,2025/04/12
"""

SFA = """商談 ID,フェーズ,取引先責任者メールアドレス,リードソース,作成日
O1,6.受注,taro@x.jp,展示会,2025/06/01
O2,7.失注,HANA@X.JP,Web広告,2025/06/02
O3,3.提案,zz@x.jp,営業開拓,2025/06/03
O4,3.提案,,営業開拓,2025/06/04
O5,7.失注,bad-email,,2025/06/05
O6,6.受注,b@x.jp,紹介,2025/06/06
O7,6.受注,c@x.jp,,2025/06/07
"""


def make(ma: str = MA, sfa: str = SFA, link: LinkSpec | None = None) -> Workspace:
    return inline_workspace(ma, sfa, link=link)


@pytest.fixture(scope="module")
def built():
    ws = make()
    yield ws
    ws.close()


def test_the_fixture_is_what_the_docstring_says(built):
    c = built.build_result.counts
    assert (c["ma"].rows, c["ma"].keys, c["ma"].rows_without_key) == (13, 9, 3)
    assert (c["sfa"].rows, c["sfa"].keys) == (7, 7)


def test_match_by_deal_source(built):
    got = {g.group: (g.opportunities, g.linked) for g in q.match_by_deal_source(built.con)}
    assert got == {"展示会": (1, 1), "Web広告": (1, 1), "営業開拓": (2, 0), "紹介": (1, 1), None: (2, 1)}
    first = q.match_by_deal_source(built.con)[0]
    assert first.opportunities == 2 and first.group == "営業開拓"   # ties: named sources before blank
    assert q.deal_source_mapped(built.build_result)


def test_match_by_lead_source_adds_up_to_linked_opportunities(built):
    got = {s.source: (s.leads, s.leads_linked, s.opportunities) for s in q.match_by_lead_source(built.con)}
    assert got == {"展示会": (3, 1, 1), "Web広告": (2, 1, 1), "紹介": (3, 2, 2), None: (1, 0, 0)}
    assert sum(v[2] for v in got.values()) == 4
    # Last touch moves taro (展示会 → Web広告).
    last = {s.source: (s.leads, s.opportunities) for s in q.match_by_lead_source(built.con, "last")}
    assert last["展示会"] == (2, 0) and last["Web広告"] == (3, 2)


def test_unlinked_opportunities_with_reasons(built):
    rows = q.unlinked_opportunities(built.con, built.build_result)
    assert {r["deal_id"]: r["reason"] for r in rows} == {"O3": "not_found", "O4": "no_value", "O5": "invalid"}
    assert [r["deal_id"] for r in rows] == ["O5", "O4", "O3"]          # newest first
    assert q.unlinked_reasons(built.con, built.build_result) == {"no_value": 1, "invalid": 1, "not_found": 1}
    assert [r["deal_id"] for r in q.unlinked_opportunities(built.con, built.build_result, limit=2, offset=1)] \
        == ["O4", "O3"]


def test_leads_never_linked(built):
    assert q.count_unlinked_leads(built.con) == 5
    rows = q.unlinked_leads(built.con)
    assert [r["email"] for r in rows] == ["jiro@x.jp", "saburo@x.jp", "yamada@x.jp", "suzuki@x.jp", "d@x.jp"]
    assert rows[0]["email_raw"] == "\u3000jiro@x.jp\u3000" and rows[3]["source"] is None
    assert [r["email"] for r in q.unlinked_leads(built.con, limit=2, offset=2)] == ["yamada@x.jp", "suzuki@x.jp"]


def test_duplicate_people_show_the_cells_as_written(built):
    d = q.duplicates(built.con)
    assert (d.leads, d.duplicated, d.extra_rows, d.written_differently) == (9, 1, 1, 1)
    assert d.share == pytest.approx(1 / 9)
    (row,) = q.duplicate_people(built.con)
    assert row["email"] == "taro@x.jp" and row["rows"] == 2
    assert row["variants"] == ["TARO@X.JP", "taro@x.jp "]
    assert sorted(row["sources"]) == ["Web広告", "展示会"] and row["source"] == "展示会"
    assert str(row["first_at"])[:10] == "2025-04-01" and str(row["last_at"])[:10] == "2025-05-01"


def test_email_rules_on_the_ma_side(built):
    r = q.email_rules(built.con, "ma")
    assert (r.cells, r.blank, r.valid, r.invalid, r.unchanged, r.partly_invalid) == (13, 1, 10, 2, 1, 1)
    assert r.changed == {"nfkc": 2, "trimmed": 3, "mailto": 1, "bracket": 2, "several": 2, "lowercased": 2}
    assert r.invalid_by_reason == {"no_at": 1, "multiple_at": 0, "no_local": 0, "no_dot": 1}
    assert r.examples["nfkc"] == "ｈａｎａ＠ｘ．ｊｐ" and r.examples["trimmed"] == "taro@x.jp "
    assert r.examples["bracket"] == "山田 <yamada@x.jp>" and r.examples["no_dot"] == "foo@bar"
    assert r.without_address == built.build_result.counts["ma"].rows_without_key


def test_email_rules_on_the_sfa_side(built):
    r = q.email_rules(built.con, "sfa")
    assert (r.cells, r.blank, r.valid, r.invalid, r.unchanged) == (7, 1, 5, 1, 4)
    assert r.changed["lowercased"] == 1 and sum(r.changed.values()) == 1
    assert r.invalid_by_reason["no_at"] == 1


def test_one_cell_counts_under_every_rule_that_changed_it(built):
    flags = {f["raw"]: f for f in sq.cell_flags(built.con, "ma")}
    jiro = flags["\u3000jiro@x.jp\u3000"]          # U+3000 → space by NFKC, then trimmed
    assert jiro["nfkc"] and jiro["trimmed"] and not jiro["lowercased"]
    saburo = flags["mailto:Saburo@x.jp"]
    assert saburo["mailto"] and saburo["lowercased"] and not saburo["trimmed"]
    assert flags["a@x.jp;b@x.jp"]["several"] and not flags["a@x.jp;b@x.jp"]["trimmed"]
    assert flags["c@x.jp; junk"]["partly_invalid"]


@pytest.mark.parametrize("side", ["ma", "sfa"])
def test_the_rule_pipeline_ends_where_the_build_did(built, side):
    # The step-by-step pipeline must keep the same addresses as the normaliser used to link.
    for f in sq.cell_flags(built.con, side):
        assert list(f["valid_addrs"]) == list(f["emails"] or []), f["raw"]


def test_invalid_emails_point_at_their_rows(built):
    assert q.invalid_emails(built.con, "ma") == [(0, 10, "なし", "no_at"), (0, 11, "foo@bar", "no_dot")]
    assert q.invalid_emails(built.con, "ma", limit=1, offset=1) == [(0, 11, "foo@bar", "no_dot")]
    assert q.invalid_emails(built.con, "sfa") == [(0, 5, "bad-email", "no_at")]


def test_more_invalid_reasons():
    ma = "email,source\n@x.jp,展示会\na@@x.jp,展示会\nok@x.jp,展示会\n"   # (an email-only export hits a shared bug)
    with make(ma, "deal id,email\nD1,ok@x.jp\n") as ws:
        assert ws.build_result is not None
        assert [r[3] for r in q.invalid_emails(ws.con, "ma")] == ["no_local", "multiple_at"]
        assert q.email_rules(ws.con, "ma").invalid_by_reason == {"no_at": 0, "multiple_at": 1, "no_local": 1,
                                                                 "no_dot": 0}


def test_id_link_reasons_and_no_email_column():
    ma = "mql_id,source\nM1,展示会\nM2,展示会\n"
    sfa = "deal id,mql_id\nD1,M1\nD2,\nD3,M9\n"
    with make(ma, sfa, LinkSpec("id", "mql_id", "mql_id")) as ws:
        b = ws.build_result
        assert b is not None
        assert {r["deal_id"]: r["reason"] for r in q.unlinked_opportunities(ws.con, b)} == \
            {"D2": "no_value", "D3": "not_found"}
        assert not q.email_mapped(b, "ma") and not q.deal_source_mapped(b)
        assert q.email_rules(ws.con, "ma").valid == 0


def test_match_chart():
    import pandas as pd

    from funnel.present.charts import COLORS
    from funnel.present.charts.quality import build_match_chart

    frame = pd.DataFrame([{"group": "営業開拓", "linked": 0, "unlinked": 2, "rate_text": "0%"},
                          {"group": "展示会", "linked": 1, "unlinked": 0, "rate_text": "100%"}])
    labels = {"linked": "リードあり", "unlinked": "リードなし", "x": "商談数", "group": "ソース"}
    spec = build_match_chart(frame, labels).to_dict()
    bars, text = spec["layer"]
    color = bars["encoding"]["color"]["scale"]
    assert color == {"domain": ["リードあり", "リードなし"], "range": [COLORS["data"], COLORS["warn"]]}
    assert bars["encoding"]["y"]["sort"] == ["営業開拓", "展示会"] and bars["encoding"]["x"]["stack"] == "zero"
    assert text["encoding"]["text"]["field"] == "rate_text"
    data = {name: rows for name, rows in spec["datasets"].items()}
    long = next(rows for rows in data.values() if rows and "kind" in rows[0])
    assert {(r["group"], r["kind"], r["n"]) for r in long} == {("営業開拓", "linked", 0), ("営業開拓", "unlinked", 2),
                                                              ("展示会", "linked", 1), ("展示会", "unlinked", 0)}
    with pytest.raises(ValueError):
        build_match_chart(frame.drop(columns=["rate_text"]), labels)
