"""Lead-source clean-up: variants grouped, near-spellings suggested, the source → channel
mapping (CSV in and out, ``analyze --sources``), the ranking rate and the その他 row.

Expected numbers are worked out by hand or with pandas on the raw file, never copied from
the engine."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from test_cli import run_cli

from funnel.errors import FunnelError
from funnel.measures import sources as ms
from funnel.measures.metrics import Rate
from funnel.model.sources import (
    SourceMap,
    SourceMapError,
    find_channel,
    group_variants,
    read_csv,
    source_key,
    suggest_channel,
    suggest_merges,
    suggested_map,
)
from tests.conftest import real

PARDOT = "crm_analytics_salesforce_pardot"


# -- variants ---------------------------------------------------------------------------------

def test_case_width_and_space_variants_group_under_the_most_frequent_spelling():
    groups = group_variants({"Web": 10, "WEB": 3, "Ｗｅｂ": 2, " web ": 1, "Trade Show": 5, "Tradeshow": 7,
                             "展示会": 4, "展示会 ": 1, None: 9, "": 2})
    by_name = {g.name: g for g in groups}
    assert set(by_name) == {"Web", "Tradeshow", "展示会"}           # blank and None are not sources
    assert by_name["Web"].leads == 16 and by_name["Web"].grouped
    assert dict(by_name["Web"].members) == {"Web": 10, "WEB": 3, "Ｗｅｂ": 2, "web": 1}   # " web " trimmed
    assert by_name["Tradeshow"].members == (("Tradeshow", 7), ("Trade Show", 5))
    assert by_name["展示会"].leads == 5
    assert [g.name for g in groups] == ["Web", "Tradeshow", "展示会"]     # most leads first


def test_source_key_folds_width_case_and_every_space():
    assert source_key("ＴＲＡＤＥ\u3000Show") == source_key("trade  show") == "tradeshow"


# -- suggestions ------------------------------------------------------------------------------

def test_typos_are_suggested_and_distinct_sources_are_not():
    groups = group_variants({"Advertisement": 613, "Advertisment": 11, "Advertising": 1, "Trade Show": 1610,
                             "Trades Show": 6, "Google Natural Search": 17, "Bing Natural Search": 2,
                             "Ad": 3, "AI": 2, "Seminar - Internal": 5, "Seminar - Partner": 4})
    pairs = {(s.keep, s.merge) for s in suggest_merges(groups)}
    assert pairs == {("Advertisement", "Advertisment"), ("Trade Show", "Trades Show")}
    top = suggest_merges(groups)[0]
    # Indel ratio by hand: "advertisement" (13) vs "advertisment" (12), common subsequence 12.
    assert top.score == pytest.approx(round(100 * 2 * 12 / 25, 1))
    assert (top.keep_leads, top.merge_leads) == (613, 11)


def test_the_threshold_is_the_setting_and_can_be_lowered():
    groups = group_variants({"Advertisement": 5, "Advertising": 1})
    assert suggest_merges(groups) == []
    assert [(s.keep, s.merge) for s in suggest_merges(groups, min_score=70)] == [("Advertisement", "Advertising")]


# -- channels and the mapping -----------------------------------------------------------------

def test_channels_are_suggested_by_their_words():
    assert suggest_channel("Google 広告").id == "ad"
    assert suggest_channel("Banner Ads").id == "ad"
    assert suggest_channel("Download") is None            # "ad" is a whole word, not a substring
    assert suggest_channel("Trades Show").id == "event"
    assert suggest_channel("ウェビナー2025春").id == "seminar"
    assert find_channel("広告") is find_channel("ad") is find_channel("ADVERTISING")


def test_mapping_round_trips_through_csv_and_maps_every_variant():
    m = SourceMap.from_pairs([("Trade Show", "event"), ("Advertisement", "広告"), ("Advertisment", "広告"),
                              ("Webinar", "My own channel")])
    back = read_csv(m.to_csv())
    assert back.pairs() == m.pairs()
    assert back.label("TRADESHOW", "ja") == "展示会・イベント"          # an id shows the channel's label
    assert back.label("Trade Show", "en") == "Trade shows and events"
    assert back.label("advertisment", "en") == "広告"                   # a label is kept as written
    assert back.is_ad("Advertisement") and not back.is_ad("Webinar")
    assert back.label("Webinar", "ja") == "My own channel" and back.channel("Webinar") is None
    assert back.label("Website", "ja") is None


def test_mapping_csv_accepts_japanese_headers_cp932_and_semicolons():
    data = "チャネル;リードソース;メモ\r\n広告;Google 広告;x\r\n展示会・イベント;展示会;\r\n;空行;\r\n".encode("cp932")
    m = read_csv(data, "対応表.csv")
    assert m.pairs() == [("Google 広告", "広告"), ("展示会", "展示会・イベント")]


@pytest.mark.parametrize(("data", "key"), [
    (b"", "error.sources.empty"),
    (b"a,b\n1,2\n", "error.sources.columns"),
    ("source,channel\nWeb,web\nＷＥＢ,広告\n".encode(), "error.sources.conflict"),
    (b"source,channel\n\xff\xfe\x00\x81\n", "error.sources.encoding"),
])
def test_a_bad_mapping_file_names_the_file_and_the_problem(data, key):
    with pytest.raises(SourceMapError) as exc:
        read_csv(data, "map.csv")
    assert exc.value.key == key
    assert exc.value.render("ja").startswith("map.csv: ") and exc.value.render("en").startswith("map.csv: ")
    assert isinstance(exc.value, FunnelError)


def test_an_accepted_suggestion_replaces_the_entry_of_its_source():
    m = SourceMap.from_pairs([("Trades Show", "other")]).with_pairs([("trades show", "event"), ("Trade Show", "event")])
    assert m.channel_name("Trades Show") == "event" and len(m) == 2


# -- ranking rate and the その他 row -----------------------------------------------------------

RATES = [Rate("Website", 2195, 211), Rate("Field Sales", 577, 105), Rate("Key Account Event", 1, 1),
         Rate("Organic Social", 1, 1), Rate("Referral", 20, 6), Rate("web site", 5, 0), Rate(None, 16, 0),
         Rate("WEBSITE", 3, 1)]


def test_regroup_sums_variants_and_keeps_the_blank_source_apart():
    rows = {s.group: s for s in ms.regroup(RATES)}
    assert rows["Website"].rate == Rate("Website", 2203, 212)           # Website + web site + WEBSITE
    assert set(rows["Website"].members) == {"Website", "web site", "WEBSITE"}
    assert sum(s.rate.leads for s in rows.values()) == sum(r.leads for r in RATES)
    assert rows[None].members == (None,)


def test_small_sources_never_lead_the_ranking():
    overall = sum(r.converted for r in RATES) / sum(r.leads for r in RATES)
    rows = ms.regroup(RATES)
    # Shrunk by hand: Referral (6 + 30p) / 50 = 18.9% > Field Sales (105 + 30p) / 607 = 17.9%
    # > a 1-of-1 source (1 + 30p) / 31 = 14.4%, though the raw rates are 30%, 18.2% and 100%.
    assert [s.group for s in rows[:2]] == ["Referral", "Field Sales"]
    one = next(s for s in rows if s.group == "Key Account Event")
    assert one.ranking_rate == pytest.approx((1 + 30 * overall) / (1 + 30))
    assert one.ranking_rate < rows[1].ranking_rate and one.rate.rate == 1.0


def test_sources_under_the_minimum_fold_into_one_other_row():
    ranking = ms.fold(ms.regroup(RATES))
    assert [s.group for s in ranking.kept] == ["Field Sales", "Website"]
    assert ranking.other is not None and ranking.other.is_other
    assert ranking.other.rate.leads == 1 + 1 + 20 + 16                  # what is folded, counted
    assert {s.group for s in ranking.folded} == {"Key Account Event", "Organic Social", "Referral", None}
    assert sum(s.rate.leads for s in ranking.rows) == sum(r.leads for r in RATES)
    top1 = ms.fold(ms.regroup(RATES), top=1)
    assert [s.group for s in top1.kept] == ["Field Sales"] and top1.other.rate.leads == 2203 + 38


def test_a_mapping_regroups_by_channel():
    m = SourceMap.from_pairs([("Key Account Event", "event"), ("Referral", "event")])
    rows = {s.group: s for s in ms.regroup(RATES, m, "en")}
    assert rows["Trade shows and events"].rate == Rate("Trade shows and events", 21, 7)
    assert set(rows["Trade shows and events"].members) == {"Key Account Event", "Referral"}


# -- the real Pardot org ------------------------------------------------------------------------

def _pardot_sources() -> pd.Series:
    raw = pd.read_csv(real(PARDOT, "Lead.csv"), encoding="cp1252", dtype=str, keep_default_na=False)
    s = raw["Lead Source"].str.strip()
    return s[s != ""].value_counts()


@pytest.mark.real
def test_pardot_sources_grouped_and_typos_suggested():
    counts = _pardot_sources()
    groups = group_variants(dict(counts))
    # Independently: distinct values after lower-casing and removing spaces.
    expected = counts.groupby(counts.index.str.lower().str.replace(" ", "")).sum()
    assert len(groups) == len(expected) == 27
    pairs = {(s.keep, s.merge) for s in suggest_merges(groups)}
    assert ("Trade Show", "Trades Show") in pairs and ("Advertisement", "Advertisment") in pairs
    assert all(s.score >= 85 for s in suggest_merges(groups))
    mapped = suggested_map(groups)
    assert mapped.is_ad("Advertisment") and mapped.is_ad("Banner Ads") and not mapped.is_ad("Website")


@pytest.mark.real
def test_analyze_with_a_sources_file_on_pardot(tmp_path):
    p = real(PARDOT)
    (tmp_path / "map.csv").write_text("source,channel\nTrade Show,event\nTrades Show,event\n"
                                      "Advertisement,ad\nAdvertisment,ad\nBanner Ads,ad\n", encoding="utf-8")
    base = ["analyze", "--ma", str(p / "Lead.csv"), "--sfa", str(p / "Oppertuninty Table.csv"), "--json"]
    plain = json.loads(run_cli(*base).stdout)
    r = run_cli(*base, "--sources", str(tmp_path / "map.csv"))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    rows = {x["source"]: x for x in data["by_source"]}
    counts = _pardot_sources()
    assert rows["展示会・イベント"]["leads"] == counts["Trade Show"] + counts["Trades Show"]
    assert rows["広告"]["leads"] == counts["Advertisement"] + counts["Advertisment"] + counts["Banner Ads"]
    assert sum(x["leads"] for x in data["by_source"]) == data["overall"]["leads"] == plain["overall"]["leads"]
    assert "Inside Sales" in data["sources"]["unmapped"] and data["sources"]["entries"] == 5
    # Without the option the contract's by_source is untouched: one row per spelling.
    assert {x["source"] for x in plain["by_source"]} >= {"Trade Show", "Trades Show"}
    assert "sources" not in plain


def test_analyze_with_a_bad_sources_file_exits_2_naming_it(tmp_path):
    (tmp_path / "m.csv").write_text("x,y\n1,2\n", encoding="utf-8")
    r = run_cli("analyze", "--ma", "nope.csv", "--sfa", "nope.csv", "--sources", str(tmp_path / "m.csv"))
    assert r.returncode == 2 and "m.csv" in r.stderr and "Traceback" not in r.stderr
