"""MQL-threshold engine (funnel.measures.mql) against hand-computed values on a tiny pair of exports.

Nine leads, seven with a score, linked by email to five opportunities:

    lead  score  source  created      MQL日       converted
    a     10     展示会  2025/04/01               no
    b     20     展示会  2025/04/10   2025/04/12  yes (O1)
    c     20     展示会  2025/05/01               no
    d     30     展示会  2025/05/10               yes (O2)
    e     40     Web     2025/05/20   2025/05/22  no
    f     40     Web     2025/06/01               yes (O3)
    g     50     Web     2025/06/15               yes (O4)
    h     —      Web     2025/06/20               yes (O5)
    i     —      Web     2025/06/25               no

Scored: 7 leads, 4 converted (b d f g), 3 not (a c e); the scored leads span April–June = 3
months. Threshold t passes score >= t:

    t    passed  conv  precision  recall  F1     FPR   Youden J  per month
    10   7       4     4/7        1       8/11   3/3   0         7/3
    20   6       4     2/3        1       4/5    2/3   1/3       2
    30   4       3     3/4        3/4     3/4    1/3   5/12      4/3
    40   3       2     2/3        1/2     4/7    1/3   1/6       1
    50   1       1     1          1/4     2/5    0     1/4       1/3
"""

from __future__ import annotations

import pytest

from funnel.measures import mql as sc
from funnel.measures.metrics import Filters, wilson
from funnel.model.workspace import Workspace
from tests.conftest import inline_workspace

MA = """メールアドレス,スコア,リードソース,作成日,MQL日
a@x.jp,10,展示会,2025/04/01,
b@x.jp,20,展示会,2025/04/10,2025/04/12
c@x.jp,20,展示会,2025/05/01,
d@x.jp,30,展示会,2025/05/10,
e@x.jp,40,Web,2025/05/20,2025/05/22
f@x.jp,40,Web,2025/06/01,
g@x.jp,50,Web,2025/06/15,
h@x.jp,,Web,2025/06/20,
i@x.jp,,Web,2025/06/25,
"""

SFA = """商談 ID,フェーズ,メールアドレス
O1,6.受注,b@x.jp
O2,3.提案,d@x.jp
O3,7.失注,f@x.jp
O4,3.提案,g@x.jp
O5,3.提案,h@x.jp
O6,3.提案,nobody@x.jp
"""

NO_SCORE_MA = """メールアドレス,リードソース,作成日
a@x.jp,展示会,2025/04/01
b@x.jp,展示会,2025/04/10
"""


def build(ma: str, sfa: str = SFA) -> Workspace:
    return inline_workspace(ma, sfa, "utf-8")


@pytest.fixture(scope="module")
def con():
    ws = build(MA)
    yield ws.con
    ws.close()


def test_summary(con):
    s = sc.summary(con)
    assert (s.leads, s.scored, s.unscored, s.converted, s.converted_scored, s.unscored_converted) == (9, 7, 2, 5, 4, 1)
    assert (s.lo, s.hi, s.distinct, s.integral, s.months) == (10.0, 50.0, 5, True, 3)


def test_precision_recall_volume_at_every_threshold(con):
    cuts = sc.thresholds(con)
    got = [(c.threshold, c.passed, c.passed_converted) for c in cuts]
    assert got == [(10, 7, 4), (20, 6, 4), (30, 4, 3), (40, 3, 2), (50, 1, 1)]
    expected = {  # threshold: precision, recall, share, per month, F1, Youden's J
        10: (4 / 7, 1, 1, 7 / 3, 8 / 11, 0),
        20: (2 / 3, 1, 6 / 7, 2, 4 / 5, 1 / 3),
        30: (3 / 4, 3 / 4, 4 / 7, 4 / 3, 3 / 4, 5 / 12),
        40: (2 / 3, 1 / 2, 3 / 7, 1, 4 / 7, 1 / 6),
        50: (1, 1 / 4, 1 / 7, 1 / 3, 2 / 5, 1 / 4),
    }
    for c in cuts:
        assert (c.precision, c.recall, c.share, c.per_month, c.f1, c.youden) == pytest.approx(expected[c.threshold])


def test_best_by_criterion_and_constraints(con):
    cuts = sc.thresholds(con)
    assert sc.best(cuts, "f1").threshold == 20
    assert sc.best(cuts, "youden").threshold == 30
    # Precision of at least 70% leaves 30 (0.75) and 50 (1.0); F1 prefers 30.
    assert sc.best(cuts, "f1", min_precision=0.7).threshold == 30
    # Sales can take one lead a month: 40 (1.0/month) and 50 qualify; F1 4/7 beats 2/5.
    assert sc.best(cuts, "f1", max_per_month=1.0).threshold == 40
    assert sc.best(cuts, "f1", max_passed=3).threshold == 40
    assert sc.best(cuts, "f1", min_precision=1.01) is None
    with pytest.raises(ValueError):
        sc.best(cuts, "auc")


def test_ties_go_to_the_higher_threshold():
    cuts = [sc.Cut(10, 4, 2, 8, 4), sc.Cut(20, 4, 2, 8, 4)]
    assert sc.best(cuts, "f1").threshold == 20


def test_at_picks_the_candidate_or_the_one_below(con):
    cuts = sc.thresholds(con)
    assert sc.at(cuts, 30).threshold == 30
    assert sc.at(cuts, 35).threshold == 30
    assert sc.at(cuts, 5) is None


def test_filters_apply(con):
    cuts = sc.thresholds(con, Filters(sources=("展示会",)))
    # a 10 no, b 20 yes, c 20 no, d 30 yes
    assert [(c.threshold, c.passed, c.passed_converted) for c in cuts] == [(10, 4, 2), (20, 3, 2), (30, 1, 1)]
    assert cuts[0].recall == 1 and cuts[-1].recall == 0.5


def test_many_distinct_scores_are_grouped_into_round_steps(con):
    s = sc.summary(con)
    assert sc.threshold_step(s, max_thresholds=10) is None
    # 5 distinct scores > 3: a round step of 50 (span 40 cut into at most one step) → 0 and 50.
    assert sc.threshold_step(s, max_thresholds=3) == 50
    cuts = sc.thresholds(con, s=s, max_thresholds=3)
    assert [(c.threshold, c.passed, c.passed_converted) for c in cuts] == [(0, 7, 4), (50, 1, 1)]


def test_nice_step():
    assert sc.nice_step(193, 10) == 20
    assert sc.nice_step(40, 10) == 5
    assert sc.nice_step(20, 10) == 2
    assert sc.nice_step(0.93, 10) == pytest.approx(0.1)
    assert sc.nice_step(1000, 8) == 200      # 125 → 200
    assert sc.nice_step(1000, 5) == 200
    assert sc.nice_step(900, 4) == 250       # 225 → 250


def test_width_bands(con):
    bands = sc.bands(con, mode="width", width=20)
    got = [(b.lo, b.hi, b.leads, b.converted, b.smin, b.smax) for b in bands]
    # [0,20): a | [20,40): b c d | [40,60): e f g
    assert got == [(0, 20, 1, 0, 10, 10), (20, 40, 3, 2, 20, 30), (40, 60, 3, 2, 40, 50)]
    assert bands[1].rate == pytest.approx(2 / 3)
    assert bands[1].ci == pytest.approx(wilson(2, 3))
    # Automatic width: the round number (1, 2, 2.5, 5 × 10^k) at or above 40 / 10 bands → 5.
    assert sc.auto_width(sc.summary(con)) == 5


def test_decile_bands(con):
    bands = sc.bands(con, mode="decile")
    # Sorted scores 10 20 20 30 40 40 50 (n = 7). DuckDB's quantile_disc takes the value at
    # 0-based index floor(n·q): q = .1 .2 … .9 → indexes 0 1 2 2 3 4 4 5 6 → values
    # 10 20 20 20 30 40 40 40 50. Cuts above the lowest score: 20, 30, 40, 50; equal scores
    # stay together, so five uneven bands rather than ten.
    got = [(b.lo, b.hi, b.leads, b.converted) for b in bands]
    assert got == [(10, 20, 1, 0), (20, 30, 2, 1), (30, 40, 1, 1), (40, 50, 2, 1), (50, None, 1, 1)]
    assert sum(b.leads for b in bands) == 7


def test_current_mql_marking(con):
    cur = sc.current_mql(con)
    # b and e have an MQL date; b converted.
    assert (cur.passed, cur.passed_converted) == (2, 1)
    assert cur.precision == 0.5 and cur.recall == 0.25


def test_no_score_column():
    ws = build(NO_SCORE_MA)
    try:
        s = sc.summary(ws.con)
        assert not s.has_scores and s.leads == 2 and s.unscored == 2
        assert sc.thresholds(ws.con) == [] and sc.bands(ws.con) == []
        assert sc.current_mql(ws.con) is None
    finally:
        ws.close()


def test_third_cut(con):
    cut = sc.thresholds(con)[2]
    assert cut.threshold == 30 and cut.precision == 0.75 and cut.passed == 4


def test_charts():
    from funnel.present.charts.mql import band_label, band_values, build_band_rates, build_threshold_curve, score_text

    bands = [sc.Band(0, 20, 10, 1, 0, 19), sc.Band(20, 40, 20, 10, 20, 39), sc.Band(40, None, 5, 5, 40, 57)]
    assert [band_label(b, True, "ja") for b in bands] == ["0–19", "20–39", "40–57"]
    assert band_label(sc.Band(0.5, 1.0, 1, 0, 0.5, 0.9), False, "ja") == "0.5〜1未満"
    assert band_label(sc.Band(0.5, 1.0, 1, 0, 0.5, 0.9), False, "en") == "0.5 to <1"
    assert score_text(1250.0) == "1,250" and score_text(2.5) == "2.5" and score_text(float("nan")) == "—"
    values = band_values(bands, integral=True, threshold=25, lang="ja", small_n=8)
    assert [v["kind"] for v in values] == ["below", "partial", "passed"]
    assert values[1]["rate_text"] == "50.0%" and values[1]["n_text"] == "n=20"
    assert values[2]["n_text"] == "n=5・少数"
    spec = build_band_rates(bands, integral=True, overall_rate=0.3, threshold=25, lang="ja").to_dict()
    layers = spec["layer"]
    bars = next(x for x in layers if x["mark"]["type"] == "bar")
    assert [v["band"] for v in bars["data"]["values"]] == ["0–19", "20–39", "40–57"]
    assert bars["data"]["values"][1]["ci_low"] == pytest.approx(wilson(10, 20)[0])
    overall = next(x for x in layers if x.get("description") == "overall")
    assert overall["data"]["values"][0]["rate"] == 0.3

    cuts = [sc.Cut(10, 7, 4, 7, 4, 3), sc.Cut(30, 4, 3, 7, 4, 3), sc.Cut(50, 1, 1, 7, 4, 3)]
    spec = build_threshold_curve(cuts, criterion="f1", chosen=cuts[1], recommended=cuts[0], lang="ja").to_dict()
    line = next(x for x in spec["layer"] if x["mark"]["type"] == "line")
    at30 = {v["metric"]: v["value"] for v in line["data"]["values"] if v["threshold"] == 30}
    assert at30 == pytest.approx({"precision": 0.75, "recall": 0.75, "share": 4 / 7, "f1": 0.75})
    marks = next(x for x in spec["layer"] if x.get("description") == "thresholds")
    assert [(m["threshold"], m["what"], m["text"]) for m in marks["data"]["values"]] == [
        (10, "recommended", "推奨 10"), (30, "chosen", "閾値 30")]
    chosen = next(x for x in spec["layer"] if x.get("description") == "chosen-values")
    assert [v["text"] for v in chosen["data"]["values"]] == ["商談化 75%", "拾える 75%", "引き渡し 57%"]
    # Above their curves, one line apart even where two values are equal (75% and 75%).
    texts = [x for x in spec["layer"] if x["mark"]["type"] == "text" and x["encoding"]["y"].get("field") == "label_y"]
    assert texts and all(x["mark"]["baseline"] == "bottom" and x["mark"]["dy"] < 0 for x in texts)
    heights = sorted(v["label_y"] for v in chosen["data"]["values"])
    assert all(b - a >= 0.05 - 1e-9 for a, b in zip(heights, heights[1:], strict=False))
    assert all(v["label_y"] <= v["value"] for v in chosen["data"]["values"])
