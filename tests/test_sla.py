"""SLA / speed engine (funnel.measures.sla) against hand-computed values on a tiny pair of exports.

Leads (MA) and their opportunities (SFA, linked by email):

    lead  created     MQL日       source  owner  opportunities (created)      lead→opp days
    p1    2025/04/01  2025/04/05  展示会  佐藤   Q1 (04/11)                   10 (MQL: 6)
    p2    2025/04/10              展示会  佐藤   Q2 (04/10)                   0  (same day)
    p3    2025/05/01  2025/05/03  Web     鈴木   Q3 (05/21), Q4 (05/31)       20 (earliest; MQL: 18)
    p4    2025/06/01              Web     鈴木   Q5 (05/20)                   negative (−12)
    p5    2025/06/05              Web     —      Q6 (no created date)         no end date
    p6    —                       展示会  佐藤   Q7 (07/01)                   no start date
    p7    2025/04/20              Web     鈴木   —                            not converted

Lead → opportunity over [0, 10, 20] (quantile_cont interpolates at (n−1)·q): P10 2, P25 5,
P50 10, P75 15, P90 18; within 10 days: 2 of 3.

Opportunities (close = 完了予定日; won also 受注日):

    opp  owner  outcome  created     受注日      完了予定日   amount   created→close
    Q1   田中   won      2025/04/11  2025/05/01  2025/05/11   100      20 (won date)
    Q2   田中   won      2025/04/10              2025/06/09   200      60 (close date stands in)
    Q3   山本   lost     2025/05/21              2025/06/20            30
    Q4   山本   open     2025/05/31              2025/08/31   300
    Q5   山本   lost     2025/05/20              2025/05/10            negative
    Q6   田中   open     —                       2025/09/30
    Q7   田中   open     2025/07/01              2025/07/15   500
    Q8   田中   lost     2025/04/01  (no lead)   —                     no close date
    Q9   山本   open     2025/01/10  (no lead)   2025/03/31   —

Created → close over [20, 30, 60]: P10 22, P25 25, P50 30, P75 45, P90 54.
As of 2025/07/01 (latest creation date), open ages: Q4 31, Q7 0, Q9 172, Q6 none.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from funnel.measures import sla as sp
from funnel.measures.metrics import Filters
from tests.conftest import inline_workspace

MA = """メールアドレス,作成日,MQL日,リードソース,担当者
p1@x.jp,2025/04/01 09:30,2025/04/05,展示会,佐藤
p2@x.jp,2025/04/10 17:00,,展示会,佐藤
p3@x.jp,2025/05/01,2025/05/03,Web,鈴木
p4@x.jp,2025/06/01,,Web,鈴木
p5@x.jp,2025/06/05,,Web,
p6@x.jp,,,展示会,佐藤
p7@x.jp,2025/04/20,,Web,鈴木
"""

SFA = """商談 ID,商談名,フェーズ,メールアドレス,商談 所有者,作成日,受注日,完了予定日,金額
Q1,Deal 1,6.受注,p1@x.jp,田中,2025/04/11,2025/05/01,2025/05/11,100
Q2,Deal 2,6.受注,p2@x.jp,田中,2025/04/10 09:00,,2025/06/09,200
Q3,Deal 3,7.失注,p3@x.jp,山本,2025/05/21,,2025/06/20,
Q4,Deal 4,3.提案,p3@x.jp,山本,2025/05/31,,2025/08/31,300
Q5,Deal 5,7.失注,p4@x.jp,山本,2025/05/20,,2025/05/10,
Q6,Deal 6,2.ヒアリング,p5@x.jp,田中,,,2025/09/30,
Q7,Deal 7,1.アプローチ,p6@x.jp,田中,2025/07/01,,2025/07/15,500
Q8,Deal 8,7.失注,other@y.jp,田中,2025/04/01,,,
Q9,Deal 9,4.見積提示,,山本,2025/01/10,,2025/03/31,
"""


@pytest.fixture(scope="module")
def con():
    with inline_workspace(MA, SFA, "utf-8") as ws:
        yield ws.con


def counts(s: sp.Spread) -> tuple[int, int, int, int, int, int]:
    return s.total, s.measured, s.no_start, s.no_end, s.negative, s.fallback


def test_lead_to_opportunity_overall(con):
    (s,) = sp.lead_to_opp(con, sla_days=10)
    assert s.group is None
    assert counts(s) == (6, 3, 1, 1, 1, 0)
    assert s.excluded == 3
    assert s.quantiles == pytest.approx((2, 5, 10, 15, 18))
    assert s.median == 10
    assert (s.within, s.within_share) == (2, pytest.approx(2 / 3))
    # The SLA boundary is inclusive: 9 days leaves p1 (10 days) out.
    (s9,) = sp.lead_to_opp(con, sla_days=9)
    assert s9.within == 1


def test_lead_to_opportunity_by_source_and_owner(con):
    by_source = {s.group: s for s in sp.lead_to_opp(con, by="source", sla_days=10)}
    assert counts(by_source["展示会"]) == (3, 2, 1, 0, 0, 0)       # p1 10, p2 0, p6 no start
    assert by_source["展示会"].median == 5 and by_source["展示会"].within == 2
    assert counts(by_source["Web"]) == (3, 1, 0, 1, 1, 0)          # p3 20, p4 negative, p5 no end
    assert by_source["Web"].median == 20 and by_source["Web"].within == 0
    by_owner = {s.group: s for s in sp.lead_to_opp(con, by="owner", sla_days=10)}
    assert set(by_owner) == {"佐藤", "鈴木", None}
    assert counts(by_owner["鈴木"]) == (2, 1, 0, 0, 1, 0)
    # A group with nothing measured is still listed, with no percentiles and no share.
    assert counts(by_owner[None]) == (1, 0, 0, 1, 0, 0)
    assert by_owner[None].median is None and by_owner[None].within_share is None


def test_mql_basis_counts_leads_without_an_mql_date(con):
    (s,) = sp.lead_to_opp(con, basis="mql", sla_days=10)
    # p1 6 days, p3 18 days; p2 p4 p5 p6 have no MQL date.
    assert counts(s) == (6, 2, 4, 0, 0, 0)
    assert s.median == 12 and s.within == 1
    assert sp.has_mql_dates(con)
    assert not sp.has_mql_dates(con, Filters(sources=("展示会",), date_from=dt.date(2025, 4, 6)))


def test_lead_filters_apply(con):
    (s,) = sp.lead_to_opp(con, Filters(date_from=dt.date(2025, 4, 1), date_to=dt.date(2025, 4, 30)))
    assert counts(s) == (2, 2, 0, 0, 0, 0)                          # p1 and p2 (p7 did not convert)


def test_opportunity_to_close(con):
    (s,) = sp.opp_to_close(con)
    assert counts(s) == (5, 3, 0, 1, 1, 1)                          # Q8 no close, Q5 negative, Q2 fallback
    assert s.quantiles == pytest.approx((22, 25, 30, 45, 54))
    assert s.within is None and s.within_share is None
    by_outcome = {x.group: x for x in sp.opp_to_close(con, by="outcome")}
    assert counts(by_outcome["won"]) == (2, 2, 0, 0, 0, 1) and by_outcome["won"].median == 40
    assert counts(by_outcome["lost"]) == (3, 1, 0, 1, 1, 0) and by_outcome["lost"].median == 30


def test_opportunity_to_close_by_owner_and_source(con):
    by_owner = {x.group: x for x in sp.opp_to_close(con, by="owner")}
    assert counts(by_owner["田中"]) == (3, 2, 0, 1, 0, 1) and by_owner["田中"].median == 40
    assert counts(by_owner["山本"]) == (2, 1, 0, 0, 1, 0)
    by_source = {(x.group, x.no_lead): x for x in sp.opp_to_close(con, by="source")}
    assert counts(by_source[("展示会", False)]) == (2, 2, 0, 0, 0, 1)
    assert counts(by_source[("Web", False)]) == (2, 1, 0, 0, 1, 0)
    assert counts(by_source[(None, True)]) == (1, 0, 0, 1, 0, 0)    # Q8: no linked lead
    # An SLA on the close cycle counts too when asked for.
    (s,) = sp.opp_to_close(con, sla_days=30)
    assert s.within == 2


def test_as_of_is_the_latest_creation_date(con):
    assert sp.as_of(con) == dt.date(2025, 7, 1)


def test_stuck_list(con):
    st = sp.stuck(con, dt.date(2025, 7, 1), 30)
    assert (st.open, st.total, st.no_created, st.after_as_of) == (4, 2, 1, 0)
    assert [r["deal_id"] for r in st.items] == ["Q9", "Q4"]        # oldest first
    assert [r["age_days"] for r in st.items] == [172, 31]
    assert [r["overdue"] for r in st.items] == [True, False]
    assert st.items[1]["owner"] == "山本" and st.items[1]["stage"] == "3.提案" and st.items[1]["amount"] == 300
    assert (st.amount, st.no_amount) == (300, 1)
    # "Longer than N days" is strict: at 31 days Q4 is not stuck.
    assert sp.stuck(con, dt.date(2025, 7, 1), 31).total == 1
    # An earlier as-of date: Q7 (created 07/01) has no age yet and is counted, not listed.
    early = sp.stuck(con, dt.date(2025, 6, 30), 0)
    assert early.after_as_of == 1 and [r["deal_id"] for r in early.items] == ["Q9", "Q4"]


def test_stuck_pages_and_csv(con):
    first = sp.stuck(con, dt.date(2025, 7, 1), 0, page=1, page_size=1)
    second = sp.stuck(con, dt.date(2025, 7, 1), 0, page=2, page_size=1)
    assert first.total == 2 and first.pages == 2
    assert [r["deal_id"] for r in first.items + second.items] == ["Q9", "Q4"]
    assert sp.stuck(con, dt.date(2025, 7, 1), 0, page=9, page_size=1).page == 2     # clamped
    data = sp.stuck_csv(con, dt.date(2025, 7, 1), 0, list(sp.STUCK_COLUMNS))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == list(sp.STUCK_COLUMNS)
    assert [r[sp.STUCK_COLUMNS.index("deal_id")] for r in rows[1:]] == ["Q9", "Q4"]
    with pytest.raises(ValueError):
        sp.stuck_csv(con, dt.date(2025, 7, 1), 0, ["too few"])


def test_spread_median_exclusions_and_share_within(con):
    (s,) = sp.lead_to_opp(con, sla_days=10)
    assert s.q(0.5) == 10 and s.excluded == 3 and s.within_share == pytest.approx(2 / 3)


def test_charts():
    from funnel.present.charts.sla import build_spread, build_within, group_label, spread_values

    spreads = [sp.Spread("展示会", 3, 2, 1, 0, 0, 0, (2.0, 5.0, 10.0, 15.0, 18.0), 2),
               sp.Spread(None, 1, 0, 0, 1, 0, 0, (None,) * 5, 0),
               sp.Spread(None, 4, 4, 0, 0, 0, 0, (1.0, 2.0, 3.0, 4.0, 5.0), 1, no_lead=True)]
    assert [group_label(s, "source", "ja") for s in spreads] == ["展示会", "（ソース未入力）", "（リードの紐付けなし）"]
    assert group_label(sp.Spread("won", 1, 1, 0, 0, 0, 0, (1.0,) * 5), "outcome", "ja") == "受注"
    values = spread_values(spreads, "source", "ja")
    assert [v["label"] for v in values] == ["展示会", "（リードの紐付けなし）"]      # nothing measured: table only
    assert values[0]["text"] == "半数 10.0日以内（n=2）"
    spec = build_spread(spreads, by="source", lang="ja", sla_days=14).to_dict()
    box = next(x for x in spec["layer"] if x["mark"]["type"] == "bar")
    assert box["encoding"]["x"]["field"] == "p25" and box["encoding"]["x2"]["field"] == "p75"
    assert box["data"]["values"][0]["p50"] == 10
    sla = next(x for x in spec["layer"] if x.get("description") == "sla")
    assert sla["data"]["values"][0]["days"] == 14
    spec = build_within(spreads, by="source", sla_days=14, lang="ja", small_n=3).to_dict()
    # Every layer draws the same records, so Altair lifts them to the top level.
    data = spec["data"] if "values" in spec["data"] else {"values": spec["datasets"][spec["data"]["name"]]}
    got = {v["label"]: (v["share"], v["text"]) for v in data["values"]}
    assert got == {"展示会": (1.0, "100%（n=2）・少数"), "（リードの紐付けなし）": (0.25, "25%（n=4）")}
