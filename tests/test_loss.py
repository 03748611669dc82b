"""Loss-reason analysis (funnel.measures.loss) and its charts against hand-computed values.

The exports below hold 3 leads and 11 opportunities: 9 lost, 1 won, 1 open. Every expected
number was worked out by hand from these rows:

    deal  owner  close       reason                  category (keyword)   lead (source)
    O1    田中   2025-06-30  他社製品に決定（価格面）  competitor (他社)     a (展示会)   ¥1,000,000
    O2    田中   2025-06-15  予算が確保できなかった    budget (予算)         a (展示会)   ¥500,000
    O3    山本   2025-07-10  今回は見送り              timing (見送り)       b (Web広告)
    O4    山本   2025-07-20  繁忙期で見送り            timing (見送り)       b (Web広告)
    O5    山本   2025-07-31  社内稟議が通らず          other (稟議)          — (no lead)
    O6    田中   2025-08-01  (empty)                   blank                 — (no lead)
    O7    田中   2025-08-05  機能不足（外部連携）      no_need (機能不足)    c (no source)
    O10   田中   2025-08-10  他社製品に決定（価格面）  competitor (他社)     c (no source) ¥2,000,000
    O11   山本   2025-08-20  なんとなく                other (—)             b (Web広告)

Ambiguous (§8.2): O1/O10 price + competitor, O3 見送り alone (O4 has 繁忙期), O5 稟議 without
予算, O7 機能不足.
"""

from __future__ import annotations

import pytest

from funnel import i18n
from funnel.i18n import catalogue
from funnel.measures import loss as L
from funnel.measures import metrics as m
from funnel.measures.dates import implausible_dates
from funnel.model.rules import LOSS_CATEGORIES, LossRules
from funnel.present.charts import LOSS_COLORS
from funnel.present.charts.loss import breakdown_values, build_loss_breakdown, build_loss_pareto
from tests.conftest import inline_workspace

MA = """メールアドレス,流入元,登録日時
a@x.jp,展示会,2025/04/01
b@x.jp,Web広告,2025/04/02
c@x.jp,,2025/04/03
"""

SFA = """商談 ID,フェーズ,取引先責任者メールアドレス,失注理由,商談 所有者,完了予定日,金額
O1,7.失注,a@x.jp,他社製品に決定（価格面）,田中,2025/06/30,1000000
O2,7.失注,a@x.jp,予算が確保できなかった,田中,2025/06/15,500000
O3,7.失注,b@x.jp,今回は見送り,山本,2025/07/10,
O4,7.失注,b@x.jp,繁忙期で見送り,山本,2025/07/20,
O5,7.失注,z@x.jp,社内稟議が通らず,山本,2025/07/31,
O6,7.失注,z@x.jp,,田中,2025/08/01,
O7,7.失注,c@x.jp,機能不足（外部連携）,田中,2025/08/05,
O8,6.受注,a@x.jp,,田中,2025/05/31,3000000
O9,3.提案,b@x.jp,,山本,2025/09/30,
O10,7.失注,c@x.jp,他社製品に決定（価格面）,田中,2025/08/10,2000000
O11,7.失注,b@x.jp,なんとなく,山本,2025/08/20,
"""

DEFAULT = LossRules.default()


def with_keyword(rules: LossRules, category: str, keyword: str) -> LossRules:
    return rules.with_categories(tuple((c, (*kws, keyword)) if c == category else (c, kws) for c, kws in rules.categories))


def without_keyword(rules: LossRules, keyword: str) -> LossRules:
    return rules.with_categories(tuple((c, tuple(k for k in kws if k != keyword)) for c, kws in rules.categories))


@pytest.fixture
def ws():
    with inline_workspace(MA, SFA) as w:
        yield w


# -- headline and Pareto --------------------------------------------------------------------

def test_quality_counts_only_categories_that_name_a_cause(ws):
    q = L.quality(ws.con)
    assert (q.lost, q.classified, q.other, q.blank) == (9, 6, 2, 1)
    assert q.share == pytest.approx(6 / 9)
    assert L.LossQuality(0, 0, 0, 0).share is None


def test_pareto_sorted_with_cumulative_share_and_amounts(ws):
    got = [(r.category, r.count, r.amount) for r in L.pareto(ws.con)]
    # Ties in taxonomy order: timing, competitor, other (2 each); budget, no_need, blank (1 each).
    assert got == [("timing", 2, None), ("competitor", 2, 3_000_000.0), ("other", 2, None),
                   ("budget", 1, 500_000.0), ("no_need", 1, None), ("blank", 1, None)]
    cum = [r.cumulative for r in L.pareto(ws.con)]
    assert cum == pytest.approx([2 / 9, 4 / 9, 6 / 9, 7 / 9, 8 / 9, 1.0])
    assert cum[-1] == 1.0                                      # exactly, not 0.999…
    assert {r.category: r.count for r in L.pareto(ws.con)} == {s.category: s.count for s in m.loss_reasons(ws.con)}


# -- breakdowns -----------------------------------------------------------------------------

def counts_of(rows):
    return [(r.group, r.kind, r.total, {c: n for c, n in r.counts.items() if n}) for r in rows]


def test_breakdown_by_owner_most_lost_first(ws):
    assert counts_of(L.breakdown(ws.con, "owner")) == [
        ("田中", "value", 5, {"competitor": 2, "budget": 1, "blank": 1, "no_need": 1}),
        ("山本", "value", 4, {"timing": 2, "other": 2})]


def test_breakdown_by_source_blank_and_unlinked_last(ws):
    assert counts_of(L.breakdown(ws.con, "source")) == [
        ("Web広告", "value", 3, {"timing": 2, "other": 1}),
        ("展示会", "value", 2, {"competitor": 1, "budget": 1}),
        (None, "missing", 2, {"no_need": 1, "competitor": 1}),
        (None, "no_lead", 2, {"other": 1, "blank": 1})]
    row = L.breakdown(ws.con, "source")[0]
    assert row.share("timing") == pytest.approx(2 / 3) and row.share("budget") == 0.0


def test_breakdown_by_month_chronological(ws):
    assert [(r.group, r.total) for r in L.breakdown(ws.con, "month")] == [
        ("2025-06", 2), ("2025-07", 3), ("2025-08", 4)]


# -- ambiguity ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "flags"), [
    ("見送り", ("declined_alone",)), ("今回は見送り", ("declined_alone",)), ("見送ることになった", ("declined_alone",)),
    ("繁忙期で見送り", ()),                      # 繁忙期 is a timing keyword: not 見送り alone
    ("予算不足のため見送り", ()),                # 予算 decides
    ("他社より価格が高い", ("price_and_competitor",)), ("競合の方が料金が安い", ("price_and_competitor",)),
    ("価格が高い", ()), ("他社に決定", ()),
    ("機能不足（外部連携）", ("feature_gap",)), ("Missing feature: SSO", ("feature_gap",)),
    ("社内稟議が通らず", ("approval",)), ("予算不足で稟議が通らず", ()),
    ("", ()), (None, ()),
])
def test_ambiguity_flags(text, flags):
    assert L.AmbiguityFlagger(DEFAULT).flags(text) == flags


def test_alone_depends_on_the_rules_in_force():
    assert L.AmbiguityFlagger(without_keyword(DEFAULT, "繁忙期")).flags("繁忙期で見送り") == ("declined_alone",)


def test_every_ambiguity_rule_is_documented_and_uses_known_categories():
    for a in L.ambiguity_rules():
        assert f"loss.ambiguity.{a.id}" in catalogue() and f"loss.ambiguity.{a.id}.help" in catalogue()
        assert a.any_of and set(a.readings) <= set(L.RULE_CATEGORIES)


def test_reason_texts_with_keyword_and_flags(ws):
    page = L.reason_texts(ws.con, DEFAULT, "competitor")
    assert page.total == 1
    assert page.items == [L.ReasonText("他社製品に決定（価格面）", 2, "competitor", "他社", ("price_and_competitor",))]
    blank = L.reason_texts(ws.con, DEFAULT, "blank").items
    assert blank == [L.ReasonText(None, 1, "blank", None, ())]


def test_reason_texts_paginate(ws):
    first = L.reason_texts(ws.con, DEFAULT, None, page_size=3)
    assert first.total == 8                                    # 7 texts + the empty reason
    assert [(r.text, r.count) for r in first.items][:2] == [("他社製品に決定（価格面）", 2), (None, 1)]
    rest = L.reason_texts(ws.con, DEFAULT, None, page=2, page_size=3)
    every = L.all_reason_texts(ws.con, DEFAULT)
    assert first.items + rest.items == every[:6] and len(every) == 8


def test_ambiguous_only_and_summary(ws):
    flagged = L.reason_texts(ws.con, DEFAULT, None, ambiguous_only=True)
    assert {(r.text, r.ambiguities) for r in flagged.items} == {
        ("他社製品に決定（価格面）", ("price_and_competitor",)), ("今回は見送り", ("declined_alone",)),
        ("社内稟議が通らず", ("approval",)), ("機能不足（外部連携）", ("feature_gap",))}
    got = {a.id: (a.opportunities, a.texts, dict(a.categories)) for a in L.ambiguity_summary(ws.con, DEFAULT)}
    assert got == {"declined_alone": (1, 1, {"timing": 1}), "price_and_competitor": (2, 1, {"competitor": 2}),
                   "feature_gap": (1, 1, {"no_need": 1}), "approval": (1, 1, {"other": 1})}


# -- drill-down and reclassification --------------------------------------------------------

def test_lost_opportunities_filter_and_pages(ws):
    page = L.lost_opportunities(ws.con, category="timing")
    assert page.total == 2 and [d["deal_id"] for d in page.items] == ["O4", "O3"]     # latest close first
    assert page.items[0]["lead_source"] == "Web広告" and page.items[0]["loss_keyword"] == "見送り"
    second = L.lost_opportunities(ws.con, category="timing", page=2, page_size=1)
    assert second.total == 2 and [d["deal_id"] for d in second.items] == ["O3"]
    ringi = L.lost_opportunities(ws.con, contains="稟議").items
    assert [(d["deal_id"], d["n_leads"], d["lead_source"]) for d in ringi] == [("O5", 0, None)]
    assert L.lost_opportunities(ws.con, contains="100%_").total == 0       # literal, not a pattern
    assert L.lost_opportunities(ws.con).total == 9


def test_reclassified_and_applied_rules_move_counts(ws):
    rules = with_keyword(DEFAULT, "budget", "稟議")
    assert L.reclassified(ws.con, DEFAULT, rules) == [("other", "budget", 1)]
    # Without 見送り, 今回は見送り becomes other; 繁忙期で見送り stays timing through 繁忙期.
    assert L.reclassified(ws.con, DEFAULT, without_keyword(DEFAULT, "見送り")) == [("timing", "other", 1)]
    ws.apply_loss_rules(rules)
    assert L.quality(ws.con) == L.LossQuality(9, 7, 1, 1)
    assert L.reason_texts(ws.con, rules, "budget").total == 2


# -- rules as a table and as a file ---------------------------------------------------------

def test_split_keywords():
    assert L.split_keywords("予算、 価格,price;;  高い\n予算，ＰＲＩＣＥ") == ("予算", "価格", "price", "高い")
    assert L.split_keywords(None) == () and L.split_keywords("  ") == ()


def test_rules_table_round_trip():
    table = L.rules_to_table(DEFAULT)
    assert [r["category"] for r in table] == ["excluded", "competitor", "budget", "timing", "no_need", "other"]
    assert table[1]["keywords"].startswith("競合, 他社, ")
    assert L.rules_from_table(table) == DEFAULT
    partial = LossRules((("budget", ("予算",)),))
    assert [(r["category"], r["keywords"]) for r in L.rules_to_table(partial)] == [
        ("budget", "予算"), ("excluded", ""), ("competitor", ""), ("timing", ""), ("no_need", ""), ("other", "")]


@pytest.mark.parametrize(("rows", "key"), [
    ([{"category": "blank", "keywords": "x"}], "error.rules.unknown_category"),
    ([{"category": "price", "keywords": "x"}], "error.rules.unknown_category"),
    ([{"category": "budget", "keywords": "x"}, {"category": "budget", "keywords": "y"}],
     "error.rules.duplicate_category"),
])
def test_rules_from_table_refuses(rows, key):
    with pytest.raises(L.RulesError) as exc:
        L.rules_from_table(rows)
    assert exc.value.key == key


def test_parse_rules_toml_round_trip_and_bom():
    text = with_keyword(DEFAULT, "budget", "稟議").to_toml()
    assert L.parse_rules_toml(text) == with_keyword(DEFAULT, "budget", "稟議")
    assert L.parse_rules_toml(("\ufeff" + text).encode("utf-8")) == with_keyword(DEFAULT, "budget", "稟議")


@pytest.mark.parametrize(("data", "key"), [
    ('[[categories]]\nid = "budget"\nkeywords = ["予算"\n'.encode(), "error.rules.syntax"),
    ('[[categories]]\nid = "budget"\nkeywords = ["予算"]\n'.encode("cp932"), "error.rules.encoding"),
    (b"title = 'rules'\n", "error.rules.no_categories"),
    (b"categories = 3\n", "error.rules.no_categories"),
    (b'[[categories]]\nid = "blank"\nkeywords = ["x"]\n', "error.rules.unknown_category"),
    (b'[[categories]]\nkeywords = ["x"]\n', "error.rules.unknown_category"),
    (b'[[categories]]\nid = "budget"\n[[categories]]\nid = "budget"\n', "error.rules.duplicate_category"),
    ('[[categories]]\nid = "budget"\nkeywords = "予算"\n'.encode(), "error.rules.bad_keywords"),
    (b"#" * (L.MAX_RULES_BYTES + 1), "error.rules.too_large"),
])
def test_parse_rules_toml_refuses_with_a_clear_message(data, key):
    with pytest.raises(L.RulesError) as exc:
        L.parse_rules_toml(data, "rules.toml")
    assert exc.value.key == key
    ja, en = exc.value.render("ja"), exc.value.render("en")
    assert ja.startswith("rules.toml: ") and en.startswith("rules.toml: ") and ja != en
    assert key not in ja and key not in en                     # a real message, not the key


def test_rule_warnings():
    assert L.rule_warnings(DEFAULT) == []
    shadowed = with_keyword(DEFAULT, "budget", "他社より高い")
    assert L.rule_warnings(shadowed) == [("loss.rules.warn_shadowed", {
        "keyword": "他社より高い", "category": "budget", "by": "他社", "by_category": "competitor"})]
    emptied = LossRules(tuple((c, () if c == "no_need" else kws) for c, kws in DEFAULT.categories))
    assert L.rule_warnings(emptied) == [("loss.rules.warn_empty", {"category": "no_need"})]


# -- charts ---------------------------------------------------------------------------------

LABELS = {c: f"L-{c}" for c in LOSS_CATEGORIES}


def datasets(spec: dict) -> list[list[dict]]:
    """Every inline data set of a chart spec (per layer, or moved to top-level ``datasets``)."""
    found = list(spec.get("datasets", {}).values())
    if isinstance(spec.get("data"), dict) and "values" in spec["data"]:
        found.append(spec["data"]["values"])
    for layer in spec.get("layer", []):
        found += datasets(layer)
    return found


def layers(spec: dict) -> list[dict]:
    out = []
    for layer in spec.get("layer", []):
        out += layers(layer) if "layer" in layer else [layer]
    return out


def test_pareto_chart_bars_sorted_line_to_100_percent_colours_per_category():
    rows = [L.ParetoRow("timing", 5, 0.5, 0.5, None), L.ParetoRow("budget", 3, 0.3, 0.8, None),
            L.ParetoRow("blank", 2, 0.2, 1.0, None)]
    spec = build_loss_pareto(rows, LABELS, count_title="n", share_title="s", cumulative_title="c",
                             axis_title="a", count_text="{}件".format).to_dict()
    bars = next(d for d in datasets(spec) if d and "cumulative" in d[0])
    assert [(b["category"], b["count"]) for b in bars] == [("timing", 5), ("budget", 3), ("blank", 2)]
    assert [b["cumulative"] for b in bars] == [0.5, 0.8, 1.0]
    assert [b["bar_text"] for b in bars] == ["5件\n50%", "3件\n30%", "2件\n20%"]
    # English counts say "deal" for one (i18n.plural), with the catalogue's words.
    one = [L.ParetoRow("timing", 1, 0.25, 0.25, None), L.ParetoRow("budget", 3, 0.75, 1.0, None)]
    en = build_loss_pareto(one, LABELS, count_title="n", share_title="s", cumulative_title="c", axis_title="a",
                           count_text=lambda n: i18n.plural("loss.count", n, "en", count=n)).to_dict()
    assert [b["bar_text"] for b in next(d for d in datasets(en) if d and "cumulative" in d[0])] == \
        ["1 deal\n25%", "3 deals\n75%"]
    all_layers = layers(spec)
    bar = next(x for x in all_layers if (x["mark"] if isinstance(x["mark"], str) else x["mark"]["type"]) == "bar")
    assert bar["encoding"]["x"]["sort"] == ["L-timing", "L-budget", "L-blank"]
    assert bar["encoding"]["color"]["scale"] == {"domain": ["timing", "budget", "blank"],
                                                 "range": [LOSS_COLORS[c] for c in ("timing", "budget", "blank")]}
    rule = next(x for x in all_layers if (x["mark"] if isinstance(x["mark"], str) else x["mark"]["type"]) == "rule")
    assert rule["encoding"]["y"]["field"] == "cumulative"
    assert [0.8] == [v["cumulative"] for d in datasets(spec) for v in d if set(v) == {"cumulative"}]
    # Bars on their own axis (up to the largest share and room for its label), the line on a
    # 0-100% axis at the right: a shared 0-100% axis squashed small bars into the bottom.
    scales = {x["encoding"]["y"]["field"]: x["encoding"]["y"]["scale"] for x in all_layers}
    assert scales["share"] == {"domain": [0, 0.5 * 1.3], "nice": False}
    assert scales["cumulative"] == {"domain": [0, 1.08], "nice": False}
    assert spec["resolve"] == {"scale": {"y": "independent"}}
    assert bar["encoding"]["y"]["axis"]["orient"] == "left" and rule["encoding"]["y"]["axis"]["orient"] == "right"


def test_pareto_chart_from_the_engine(ws):
    spec = build_loss_pareto(L.pareto(ws.con), LABELS, count_title="n", share_title="s", cumulative_title="c",
                             axis_title="a").to_dict()
    bars = next(d for d in datasets(spec) if d and "cumulative" in d[0])
    counts = [b["count"] for b in bars]
    assert counts == sorted(counts, reverse=True) and sum(counts) == 9
    assert bars[-1]["cumulative"] == 1.0


def test_breakdown_values_normalised_and_counts():
    rows = [L.BreakdownRow("展示会", "value", {"budget": 1, "timing": 3}), L.BreakdownRow(None, "no_lead", {"blank": 2})]
    share = breakdown_values(rows, ["A", "B"], LABELS, normalize=True)
    assert [(v["group"], v["category"], v["start"], v["end"], v["text"]) for v in share] == [
        ("A", "budget", 0.0, 0.25, "25%"), ("A", "timing", 0.25, 1.0, "75%"), ("B", "blank", 0.0, 1.0, "100%")]
    counts = breakdown_values(rows, ["A", "B"], LABELS, normalize=False)
    assert [(v["start"], v["end"], v["text"]) for v in counts] == [(0.0, 1.0, "1"), (1.0, 4.0, "3"), (0.0, 2.0, "2")]
    assert {v["category"]: v["count"] for v in counts if v["group"] == "A"} == {"budget": 1, "timing": 3}


def test_breakdown_chart_colours_and_group_order():
    rows = [L.BreakdownRow("x", "value", {"competitor": 4, "other": 1}), L.BreakdownRow("y", "value", {"budget": 2})]
    spec = build_loss_breakdown(rows, ["X (5)", "Y (2)"], LABELS, normalize=True, value_title="v",
                                count_title="n", share_title="s").to_dict()
    bar = next(x for x in layers(spec) if (x["mark"] if isinstance(x["mark"], str) else x["mark"]["type"]) == "bar")
    assert bar["encoding"]["y"]["sort"] == ["X (5)", "Y (2)"]
    present = ["budget", "competitor", "other"]                 # taxonomy order
    assert bar["encoding"]["color"]["scale"] == {"domain": [LABELS[c] for c in present],
                                                 "range": [LOSS_COLORS[c] for c in present]}


def test_a_far_future_close_date_sorts_last_and_is_flagged():
    """Pardot holds a close date typed as 2030 in data that ends in 2021: the list of lost deals
    (newest first) shows it after the real dates and the blank one, flagged."""
    ma = "メール,作成日\na@x.jp,2021-01-05\nb@x.jp,2021-02-05\nc@x.jp,2021-03-05\nd@x.jp,1900-01-01\n"
    sfa = ("商談 ID,フェーズ,メール,失注理由,作成日,完了日\nO1,失注,a@x.jp,価格,2021-01-10,2021-02-01\n"
           "O2,失注,b@x.jp,価格,2021-02-10,2030-02-28\nO3,失注,c@x.jp,価格,2021-03-10,2021-04-01\n"
           "O4,失注,d@x.jp,価格,2021-03-11,\nO5,失注,a@x.jp,価格,2021-03-12,1900-01-01\n")
    with inline_workspace(ma, sfa, "utf-8") as w:
        items = L.lost_opportunities(w.con).items
        assert [d["deal_id"] for d in items] == ["O3", "O1", "O4", "O2", "O5"]
        assert [d["close_implausible"] for d in items] == [False, False, False, True, True]
        # The same rule as the data-quality check counts.
        checks = {(c.table, c.column): c for c in implausible_dates(w.con)}
        assert checks[("opps", "close_at")].implausible == 2
