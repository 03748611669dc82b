"""The comparison of two loads (funnel/measures/diff.py) on generated snapshot pairs whose changes are
known: every count is checked exactly against the generator's own plan (tests/snapshot_pair.py,
which writes CSV without engine code), the rates against metrics run on each workspace alone,
and the edge cases — identical loads, a missing side, leads without identity, renamed headers
and exports without deal IDs — and the charts through ``to_dict()``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from snapshot_pair import LOST, MOVED_TO, OPEN, REOPENED_TO, SOURCES, WON, Pair, Plan, make_pair

from funnel.ingest.reader import Source
from funnel.measures import diff as D
from funnel.measures import metrics as m
from funnel.model.link import LinkSpec
from funnel.model.rules import LossRules
from funnel.model.workspace import Workspace
from funnel.present.charts.diff import (
    build_new_leads,
    build_rate_moves,
    new_leads_values,
    points_text,
    rate_move_values,
)
from funnel.present.format import source_label

VARIANTS = {
    "plain": {},
    "renamed_headers_and_odd_addresses": {"english": True, "shout": True},
    "no_deal_id": {"deal_ids": False},
    "no_deal_id_no_name": {"deal_ids": False, "deal_names": False},
}
METHODS = {"plain": "deal_id", "renamed_headers_and_odd_addresses": "deal_id", "no_deal_id": "name",
           "no_deal_id_no_name": "link"}


def built(ma: bytes, sfa: bytes, link: LinkSpec | None = None) -> Workspace:
    ws = Workspace()
    ws.load("ma", Source.from_bytes("leads.csv", ma))
    ws.load("sfa", Source.from_bytes("deals.csv", sfa))
    ws.build(link=link)
    return ws


@pytest.fixture(scope="module", params=list(VARIANTS))
def case(request) -> Iterator[tuple[str, Pair, Workspace, Workspace, D.Diff]]:
    pair = make_pair(**VARIANTS[request.param])
    prev, cur = built(pair.prev_ma, pair.prev_sfa), built(pair.cur_ma, pair.cur_sfa)
    yield request.param, pair, prev, cur, D.compare(prev, cur)
    prev.close()
    cur.close()


def test_every_count_is_exact(case):
    name, pair, _, _, d = case
    e, s = pair.expected, d.summary
    assert d.opp_method == METHODS[name]
    assert (s.leads_before, s.leads_after) == (e.leads_before, e.leads_after) == (48, 55)
    assert s.new_leads == sum(e.new_leads.values()) == 10
    assert s.new_converted == sum(e.new_converted.values()) == 2
    assert s.removed_leads == e.removed_leads == 3
    assert s.newly_converted == sum(e.newly_converted.values()) == 4
    assert s.unconverted == e.unconverted == 1
    assert (s.opps_before, s.opps_after) == (e.opps_before, e.opps_after) == (28, 34)
    assert s.new_opps == e.new_opps == 7
    assert s.removed_opps == e.removed_opps == 1
    assert s.moved == e.moved == 11
    assert (s.won, s.lost, s.reopened) == (len(e.won), len(e.lost), e.reopened) == (3, 3, 1)
    assert not s.unchanged


def test_rates_are_the_metrics_of_each_load_alone(case):
    _, pair, prev, cur, d = case
    s, e = d.summary, pair.expected
    assert s.rate_before == m.overall(prev.con) and s.rate_after == m.overall(cur.con)
    assert (s.rate_before.leads, s.rate_before.converted) == (e.leads_before, e.converted_before)
    assert (s.rate_after.leads, s.rate_after.converted) == (e.leads_after, e.converted_after)
    assert s.rate_change_points == pytest.approx((33 / 55 - 28 / 48) * 100)
    assert s.outcomes_before == m.outcomes(prev.con) and s.outcomes_after == m.outcomes(cur.con)
    # Won 4 → 7 (+3 won), lost 4 → 6 (+3 lost, −1 reopened): win rate 4/8 → 7/13.
    assert (s.outcomes_before.win_rate, s.outcomes_after.win_rate) == (4 / 8, 7 / 13)
    assert s.win_rate_change_points == pytest.approx((7 / 13 - 4 / 8) * 100)
    # The converted count moves by exactly the changes that the comparison counted.
    assert s.rate_after.converted - s.rate_before.converted == s.newly_converted + s.new_converted - s.unconverted


def test_new_leads_and_newly_converted_by_source(case):
    _, pair, prev, cur, d = case
    e = pair.expected
    got = {r.group: (r.leads, r.converted) for r in d.new_leads_by_source}
    assert got == {src: (n, e.new_converted.get(src, 0)) for src, n in e.new_leads.items()}
    assert [r.group for r in d.new_leads_by_source] == ["展示会", "Web広告", "ウェビナー"]   # most first
    conv = {r.group: (r.leads, r.converted) for r in d.newly_converted}
    assert conv == {src: (e.open_before[src], e.newly_converted.get(src, 0)) for src in SOURCES}
    # Rates with Wilson intervals from metrics (same Rate type).
    r = d.new_leads_by_source[0]
    assert r.ci == m.wilson(1, 5) and r.rate == 0.2
    # Per-source rates before/after are metrics.by_source of each load.
    before = {r.group: r for r in m.by_source(prev.con)}
    after = {r.group: r for r in m.by_source(cur.con)}
    assert {mv.group: (mv.before, mv.after) for mv in d.rate_by_source} == {
        g: (before.get(g), after.get(g)) for g in set(before) | set(after)}


def test_stage_moves_in_pipeline_order(case):
    _, pair, _, _, d = case
    assert {(mv.from_stage, mv.to_stage): mv.count for mv in d.stage_moves} == pair.expected.stage_moves
    assert [(mv.from_stage, mv.to_stage, mv.direction) for mv in d.stage_moves] == [
        (OPEN, MOVED_TO, "forward"), (OPEN, WON, "won"), (OPEN, LOST, "lost"), (LOST, REOPENED_TO, "reopened")]
    assert d.stage_order == ["1.アプローチ", REOPENED_TO, OPEN, MOVED_TO, WON, LOST]


def test_newly_won_and_lost_with_reasons(case):
    name, pair, _, cur, d = case
    e = pair.expected
    rules = LossRules.default()
    won = D.changes(cur.con, "won", page_size=None)
    lost = D.changes(cur.con, "lost", page_size=None)
    assert won.total == 3 and lost.total == 3
    if name in ("plain", "renamed_headers_and_odd_addresses"):
        assert sorted(r["deal_id"] for r in won.items) == sorted(e.won)
        assert {r["deal_id"]: r["loss_reason"] for r in lost.items} == e.lost
    else:   # no deal ID column: identified by name or contact, reasons all the same
        assert sorted(r["loss_reason"] for r in lost.items) == sorted(e.lost.values())
    for r in lost.items:
        assert (r["stage_before"], r["stage_after"], r["outcome_after"]) == (OPEN, LOST, "lost")
        assert r["loss_category"] == rules.classify(r["loss_reason"])[0]
        assert r["is_new"] is False
    assert {c.category: c.count for c in d.lost_by_category} == {"budget": 1, "competitor": 1, "timing": 1}
    assert sum(c.share for c in d.lost_by_category) == pytest.approx(1.0)


def test_drill_totals_match_the_summary_and_pages_do_not_overlap(case):
    _, _, _, cur, d = case
    s = d.summary
    expected = {"new_leads": s.new_leads, "removed_leads": s.removed_leads, "newly_converted": s.newly_converted,
                "unconverted": s.unconverted, "new_opps": s.new_opps, "removed_opps": s.removed_opps,
                "moved": s.moved, "won": s.won, "lost": s.lost, "reopened": s.reopened}
    for kind, n in expected.items():
        page = D.changes(cur.con, kind, page_size=None)
        assert page.total == n == len(page.items), kind
    first, second = (D.changes(cur.con, "moved", page=p, page_size=6).items for p in (1, 2))
    keys = [r["ident"] for r in first + second]
    assert len(keys) == len(set(keys)) == 11
    new = D.changes(cur.con, "new_leads", page_size=None).items
    assert {r["reached_after"] for r in new} == {"lead", "opportunity"} and {r["reached_before"] for r in new} == {None}


def test_lead_funnel_stages_match_metrics_funnel(case):
    _, _, prev, cur, _ = case
    for side, ws in (("prev", prev), ("cur", cur)):
        assert D.reached_counts(cur.con, side) == [step.count for step in m.funnel(ws.con).steps]


def test_last_touch_uses_the_last_rows_source():
    pair = make_pair()
    with built(pair.prev_ma, pair.prev_sfa) as prev, built(pair.cur_ma, pair.cur_sfa) as cur:
        d = D.compare(prev, cur, touch="last")
        assert d.touch == "last"
        assert {r.group: r.leads for r in d.new_leads_by_source} == pair.expected.new_leads   # one row per lead
        assert d.summary.rate_after == m.overall(cur.con, m.Filters(touch="last"))


def test_identical_loads_change_nothing():
    pair = make_pair()
    with built(pair.prev_ma, pair.prev_sfa) as a, built(pair.prev_ma, pair.prev_sfa) as b:
        d = D.compare(a, b)
        s = d.summary
        assert s.unchanged
        assert (s.new_leads, s.removed_leads, s.newly_converted, s.new_converted, s.unconverted) == (0,) * 5
        assert (s.new_opps, s.removed_opps, s.moved, s.won, s.lost, s.reopened) == (0,) * 6
        assert s.rate_before == s.rate_after and s.rate_change_points == 0 and s.win_rate_change_points == 0
        assert d.new_leads_by_source == [] and d.stage_moves == [] and d.lost_by_category == []
        assert all(r.converted == 0 for r in d.newly_converted)
        assert all(mv.change_points == 0 for mv in d.rate_by_source)
        assert D.changes(b.con, "won").total == 0


def test_a_new_baseline_replaces_the_previous_comparison():
    pair = make_pair()
    with (built(pair.prev_ma, pair.prev_sfa) as a, built(pair.cur_ma, pair.cur_sfa) as same,
          built(pair.cur_ma, pair.cur_sfa) as cur):
        assert D.compare(a, cur).summary.won == 3
        assert D.compare(same, cur).summary.unchanged          # no stale prev_* / diff_* tables
        assert D.changes(cur.con, "won").total == 0


def test_previous_side_missing_gives_a_clear_message():
    pair = make_pair()
    with Workspace() as prev, built(pair.cur_ma, pair.cur_sfa) as cur, Workspace() as empty:
        prev.load("ma", Source.from_bytes("leads.csv", pair.prev_ma))
        with pytest.raises(D.DiffError) as info:
            D.compare(prev, cur)
        assert info.value.key == "diff.error.previous_missing"
        assert "SFA" in info.value.render("ja") and "前回" in info.value.render("ja")
        assert "Last month's data has no SFA file" in info.value.render("en")
        with pytest.raises(D.DiffError) as info:
            D.compare(cur, empty)
        assert info.value.key == "diff.error.current_missing"


def test_unbuilt_previous_is_refused():
    pair = make_pair()
    with Workspace() as prev, built(pair.cur_ma, pair.cur_sfa) as cur:
        prev.load("ma", Source.from_bytes("leads.csv", pair.prev_ma))
        prev.load("sfa", Source.from_bytes("deals.csv", pair.prev_sfa))
        with pytest.raises(D.DiffError, match="not built"):
            D.compare(prev, cur)


def test_leads_identified_by_row_cannot_be_compared():
    # A Salesforce lead report with only the converted-opportunity ID: no email, no lead ID,
    # so each row is a lead and nothing identifies it next month.
    ma = b"Converted Opportunity ID,Lead Source\nO1,Web\nO2,Event\n"
    sfa = b"Opportunity ID,Stage\nO1,Closed Won\nO2,Prospecting\n"
    link = LinkSpec("id", "Converted Opportunity ID", "Opportunity ID")
    with built(ma, sfa, link) as a, built(ma, sfa, link) as b:
        assert a.build_result is not None and a.build_result.identity == "row"
        with pytest.raises(D.DiffError) as info:
            D.compare(a, b)
        assert info.value.key == "diff.error.previous_row_identity"


def test_leads_identified_differently_cannot_be_compared():
    by_id = b"Lead ID,Converted Opportunity ID,Lead Source\nL1,O1,Web\nL2,O2,Event\n"
    by_email = b"Email,Converted Opportunity ID,Lead Source\na@x.jp,O1,Web\nb@x.jp,O2,Event\n"
    sfa = b"Opportunity ID,Stage\nO1,Closed Won\nO2,Prospecting\n"
    link = LinkSpec("id", "Converted Opportunity ID", "Opportunity ID")
    with built(by_id, sfa, link) as a, built(by_email, sfa, link) as b:
        with pytest.raises(D.DiffError) as info:
            D.compare(a, b)
        assert info.value.key == "diff.error.identity_differs"


def test_repeated_deal_names_are_paired_in_order_and_reported():
    ma = "メールアドレス,流入元\na@x.jp,展示会\nb@x.jp,展示会\n".encode()
    prev = "商談名,取引先名,メール,フェーズ,完了予定日\n更新,A社,a@x.jp,3.提案,2025/05/01\n更新,A社,b@x.jp,3.提案,2025/06/01\n"
    cur = "商談名,取引先名,メール,フェーズ,完了予定日\n更新,A社,a@x.jp,6.受注,2025/05/01\n更新,A社,b@x.jp,3.提案,2025/06/01\n"
    with built(ma, prev.encode()) as a, built(ma, cur.encode()) as b:
        d = D.compare(a, b)
        assert d.opp_method == "name"
        assert ("diff.notice.repeated", {"count": 2}) in d.notices
        assert (d.summary.moved, d.summary.won, d.summary.new_opps) == (1, 1, 0)


def test_plan_variations_are_counted():
    plan = Plan(new={"紹介": 4}, new_with_deal={}, removed={}, converted={"紹介": 3}, moves=0, wins=1, losses=(),
                reopen=False, remove_deal=False, unlinked_new_deal=False)
    pair = make_pair(plan)
    with built(pair.prev_ma, pair.prev_sfa) as a, built(pair.cur_ma, pair.cur_sfa) as b:
        s = D.compare(a, b).summary
        assert (s.new_leads, s.newly_converted, s.new_opps, s.moved, s.won, s.lost, s.removed_leads) == (
            4, 3, 3, 1, 1, 0, 0)


def test_stage_order_numbers_then_won_then_lost():
    stages = [("7.失注", "lost"), ("10.契約準備", "open"), ("2.ヒアリング", "open"), ("受注", "won"),
              ("１.アプローチ", "open"), ("保留", "open"), (None, "open")]
    assert D.stage_order(stages) == ["１.アプローチ", "2.ヒアリング", "10.契約準備", "保留", "受注", "7.失注"]


# -- charts ----------------------------------------------------------------------------------
RATES = [m.Rate("展示会", 5, 1), m.Rate("Web広告", 3, 1), m.Rate(None, 2, 0)]
NONE_JA = source_label(None, "ja")


def layer_values(spec: dict, i: int) -> list[dict]:
    """Inline data of layer ``i`` (Altair hoists data that all layers share to the top)."""
    return (spec["layer"][i].get("data") or spec["data"])["values"]


def test_points_text():
    assert [points_text(x) for x in (1.25, -0.44, 0.01, None)] == ["+1.2pt", "-0.4pt", "±0.0pt", "—"]


def test_new_leads_chart_data():
    values = new_leads_values(RATES, "ja")
    assert [(v["label"], v["start"], v["end"]) for v in values] == [
        ("展示会", 0, 1), ("展示会", 1, 5), ("Web広告", 0, 1), ("Web広告", 1, 3), (NONE_JA, 0, 0), (NONE_JA, 0, 2)]
    assert values[1]["text"] == "5件・商談化 20.0%"
    spec = build_new_leads(RATES, "en").to_dict()
    data = layer_values(spec, 0)
    assert data[0]["text"] == "5 · rate 20.0%" and data[0]["part"] == "With an opportunity"
    assert spec["layer"][0]["encoding"]["y"]["sort"] == ["展示会", "Web広告", source_label(None, "en")]
    assert spec["layer"][0]["encoding"]["color"]["scale"]["range"] == ["#2563eb", "#93c5fd"]


def test_rate_moves_chart_data():
    moves = [D.RateMove("展示会", m.Rate("展示会", 10, 2), m.Rate("展示会", 20, 6)),
             D.RateMove("紹介", m.Rate("紹介", 10, 5), m.Rate("紹介", 10, 4)),
             D.RateMove("新ソース", None, m.Rate("新ソース", 3, 1))]
    values = rate_move_values(moves, "ja")
    assert [(v["label"], v["trend"], v["text"]) for v in values] == [
        ("展示会", "up", "30.0% (+10.0pt)"), ("紹介", "down", "40.0% (-10.0pt)")]
    spec = build_rate_moves(moves, "ja").to_dict()
    before, after = spec["layer"][1], spec["layer"][2]
    assert before["encoding"]["color"]["scale"]["domain"] == ["前回", "今回"]
    assert (before["mark"]["filled"], after["mark"]["filled"]) == (False, True)     # ring under dot
    assert [(v["which"], v["rate"]) for v in layer_values(spec, 1) + layer_values(spec, 2)] == [
        ("前回", 0.2), ("前回", 0.5), ("今回", 0.3), ("今回", 0.4)]
    assert [v["line_color"] for v in layer_values(spec, 0)] == ["#16a34a", "#dc2626"]        # rise, fall
    assert spec["layer"][0]["encoding"]["color"]["scale"] is None            # not in the legend
