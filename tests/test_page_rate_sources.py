"""The 商談化率 page's source clean-up (issue 16) as a user sees it: the ranking by the shrunk
rate, the editable minimum count and the その他 row, spelling variants grouped, merge
suggestions accepted with one click into the editable source → channel mapping (held by the
Session, downloadable, uploadable), and the benchmark band compared by its scope. The
numbers are the engine's, computed here from a workspace of the same files; the real
Salesforce + Pardot export is used where it is present.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from funnel.i18n import t
from funnel.measures import benchmarks as bm
from funnel.measures import metrics as m
from funnel.measures.sources import ad_rate, clean_up, fold, regroup, shrunk
from funnel.model.sources import SourceMap, suggested_map
from funnel.present.format import source_label
from tests.conftest import built_workspace, real
from tests.test_page_rate import downloads, open_page  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow

PARDOT = "crm_analytics_salesforce_pardot"
PARDOT_NAMES = ("Lead.csv", "Oppertuninty Table.csv")


def col(key: str) -> str:
    return t(f"rate.col.{key}", "ja")


def source_table(at: Any) -> pd.DataFrame:
    found = [d.value for d in at.dataframe if d.value.columns[0] == col("source")]
    assert len(found) == 1
    return found[0]


def session_of(at: Any) -> Any:
    return at.session_state["session"]


def leads_csv(rows: list[tuple[str, str]]) -> bytes:
    return ("メールアドレス,流入元\n" + "".join(f"{e},{s}\n" for e, s in rows)).encode()


# Spelling variants (case, spacing) and misspellings, with a few converted leads.
VARIANTS = ([(f"t{i}@x.jp", "Trade Show") for i in range(40)] + [(f"u{i}@x.jp", "trade  show") for i in range(5)]
            + [(f"v{i}@x.jp", "Trades Show") for i in range(6)] + [(f"a{i}@x.jp", "Advertisement") for i in range(35)]
            + [(f"b{i}@x.jp", "Advertisment") for i in range(4)] + [("w0@x.jp", "Webinar")])
DEALS = "商談 ID,フェーズ,メール\n" + "".join(f"O{i},7.失注,{e}\n" for i, e in enumerate(
    ["t1@x.jp", "t2@x.jp", "t3@x.jp", "u1@x.jp", "v1@x.jp", "a1@x.jp", "b1@x.jp", "w0@x.jp"]))


def upload(at: Any, ma: bytes, sfa: bytes, names: tuple[str, str] = ("ma.csv", "sfa.csv")) -> None:
    at.switch_page("views/upload.py").run()
    at.file_uploader(key="up_ma").set_value((names[0], ma, "text/csv")).run()
    at.file_uploader(key="up_sfa").set_value((names[1], sfa, "text/csv")).run()
    at.switch_page("views/rate.py").run()
    assert not at.exception, at.exception


def open_uploaded(page: str, ma: bytes, sfa: bytes, names: tuple[str, str] = ("ma.csv", "sfa.csv")) -> Any:
    """A fresh app's ``page`` after ``ma`` and ``sfa`` were uploaded on the upload page."""
    at = open_page(page)
    upload(at, ma, sfa, names)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def pardot_exports(folder: Path) -> tuple[bytes, bytes]:
    """The real Salesforce + Pardot export (``real(PARDOT)``): its MA and SFA files' bytes."""
    return (folder / PARDOT_NAMES[0]).read_bytes(), (folder / PARDOT_NAMES[1]).read_bytes()


def engine_rates(ma: bytes, sfa: bytes, names: tuple[str, str] = ("ma.csv", "sfa.csv")) -> list[m.Rate]:
    with built_workspace(ma, sfa, names) as ws:
        return m.by_source(ws.con)


def assert_table_is(df: pd.DataFrame, rates: list[m.Rate], mapping: SourceMap | None, min_leads: int) -> None:
    """The page's table: every regrouped row with the engine's counts, rate, shrunk ranking rate,
    members and whether it is folded into その他, in ranking order."""
    ranking = fold(regroup(rates, mapping, "ja"), min_leads=min_leads)
    rows = ranking.kept + ranking.folded
    assert df[col("source")].tolist() == [source_label(s.group, "ja") for s in rows]
    assert df[col("leads")].tolist() == [s.rate.leads for s in rows]
    assert df[col("converted")].tolist() == [s.rate.converted for s in rows]
    overall = sum(r.converted for r in rates) / sum(r.leads for r in rates)
    assert df[col("ranking_rate")].tolist() == pytest.approx(
        [shrunk(s.rate.converted, s.rate.leads, overall) for s in rows])
    assert df[col("folded")].tolist() == [s.rate.leads < min_leads for s in rows]


@pytest.fixture
def charts(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The last spec each rate chart was built into, with its data inline."""
    import funnel.present.charts.rate as module

    built: dict[str, Any] = {}
    for name in ("build_rate_by_source", "build_rate_by_month"):
        real_build = getattr(module, name)

        def spy(*args: Any, _real: Any = real_build, _name: str = name, **kwargs: Any) -> Any:
            chart = _real(*args, **kwargs)
            built[_name] = chart.to_dict(validate=False)
            return chart

        monkeypatch.setattr(module, name, spy)
    return built


def records(spec: dict[str, Any], field: str) -> list[dict[str, Any]]:
    found = [v for d in spec.get("datasets", {}).values() for v in d if field in v]
    for layer in spec.get("layer", []):
        found += [v for v in (layer.get("data") or {}).get("values", []) if field in v]
    return found


def test_sample_ranking_minimum_and_others(downloads, charts):   # noqa: F811
    at = open_page("views/rate.py")
    s = session_of(at)
    rates = engine_rates_sample(s)
    assert at.number_input(key="rate_min_leads").value == 30
    assert_table_is(source_table(at), rates, None, 30)
    at.number_input(key="rate_min_leads").set_value(200).run()
    assert not at.exception
    df = source_table(at)
    assert_table_is(df, rates, None, 200)
    folded = df[df[col("folded")]]
    assert len(folded) and (folded[col("leads")] < 200).all()
    # The chart's その他 bar holds exactly the folded rows' leads.
    bars = {v["label"]: v for v in records(charts["build_rate_by_source"], "label")}
    other = bars[t("sources.other_top", "ja", count=len(folded))]
    assert other["leads"] == int(folded[col("leads")].sum()) and other["other"]
    assert len(bars) == len(df) - len(folded) + 1
    # The definition names the ranking rate and why.
    text = " ".join(x.value for x in at.markdown)
    assert "経験ベイズの縮小推定" in text and "Wilson" in text


def engine_rates_sample(s: Any) -> list[m.Rate]:
    return m.by_source(s.data.workspace.con)


def test_variants_grouped_and_a_merge_accepted_into_the_mapping(downloads):   # noqa: F811
    at = open_page("views/rate.py")
    ma, sfa = leads_csv(VARIANTS), DEALS.encode()
    upload(at, ma, sfa)
    rates = engine_rates(ma, sfa)
    df = source_table(at)
    assert_table_is(df, rates, None, 30)
    # Case and spacing variants are one row, shown under the most frequent spelling.
    row = df[df[col("source")] == "Trade Show"].iloc[0]
    assert row[col("leads")] == 45 and row[col("converted")] == 4
    assert row[col("members")] == "Trade Show, trade  show"
    # Misspellings are suggested, not merged.
    found = clean_up(rates)
    assert {(x.keep, x.merge) for x in found.suggestions} >= {("Trade Show", "Trades Show"),
                                                               ("Advertisement", "Advertisment")}
    text = " ".join(x.value for x in at.markdown)
    assert "「Trades Show」（6件）は「Trade Show」（45件）の表記ゆれかもしれません" in text
    assert session_of(at).source_map is None and at.toggle(key="rate_by_channel").disabled
    i = next(i for i, x in enumerate(found.suggestions) if x.merge == "Trades Show")
    at.button(key=f"source_merge_{i}").click().run()
    assert not at.exception
    mapping = session_of(at).source_map
    base = suggested_map(found.groups, "ja")
    channel = base.channel_name("Trade Show") or "Trade Show"
    assert mapping.channel_name("Trades Show") == mapping.channel_name("trade show") == channel
    assert at.toggle(key="rate_by_channel").value
    df = source_table(at)
    assert_table_is(df, rates, mapping, 30)
    merged = df[df[col("source")] == source_label(mapping.label("Trade Show", "ja"), "ja")].iloc[0]
    assert merged[col("leads")] == 51 and merged[col("converted")] == 5
    # The mapping is downloadable as the engine writes it, and read back from an upload.
    assert downloads["source_channels.csv"] == mapping.to_csv()
    own = "source,channel\nTrade Show,展示会\nTrades Show,展示会\nAdvertisement,広告\nAdvertisment,広告\n"
    at.file_uploader(key=f"source_map_up_{session_of(at).generation('source_map')}").set_value(
        ("map.csv", own.encode(), "text/csv")).run()
    assert not at.exception
    mine = SourceMap.from_pairs([tuple(line.split(",")) for line in own.splitlines()[1:]])
    assert session_of(at).source_map.pairs() == mine.pairs()
    assert_table_is(source_table(at), rates, mine, 30)
    assert set(source_table(at)[col("source")]) >= {"展示会", "広告"}


def test_ad_band_compared_with_mapped_ad_sources():
    at = open_page("views/rate.py")
    ma, sfa = leads_csv(VARIANTS), DEALS.encode()
    upload(at, ma, sfa)
    rates = engine_rates(ma, sfa)

    def says_ad_rate(members: tuple[str, ...]) -> bool:
        ad = [r for r in rates if r.group in members]
        n, c = sum(r.leads for r in ad), sum(r.converted for r in ad)
        text = " ".join(x.value for x in at.markdown)
        return f"広告経由のソース（{'、'.join(members)}、{n}件）の商談化率は {c / n * 100:.1f}%" in text

    # The guessed mapping (shown in the editor) maps both spellings to the ad channel.
    guess = ad_rate(rates, suggested_map(clean_up(rates).groups, "ja"))
    assert guess.members == ("Advertisement", "Advertisment") and says_ad_rate(guess.members)
    load_map(at, "source,channel\nAdvertisement,ad\nTrade Show,ad\n")
    mine = ad_rate(rates, session_of(at).source_map)
    # As mapped; the unmapped typo "Advertisment" by the channel its name suggests.
    assert set(mine.members) == {"Trade Show", "trade  show", "Advertisement", "Advertisment"}
    assert says_ad_rate(mine.members)
    # Nothing mapped to, or named like, an ad channel: the ad-sourced band is not compared with
    # the overall rate.
    load_map(at, "source,channel\nAdvertisement,展示会\nAdvertisment,展示会\n")
    assert bm.ad_sources([r.group for r in rates], mapping=session_of(at).source_map) == []
    assert "全体の商談化率とは比べていません" in " ".join(x.value for x in at.markdown)


def load_map(at: Any, text: str) -> None:
    at.file_uploader(key=f"source_map_up_{session_of(at).generation('source_map')}").set_value(
        ("map.csv", text.encode(), "text/csv")).run()
    assert not at.exception


def test_real_pardot_export_small_sources_never_lead(downloads, charts):   # noqa: F811
    ma, sfa = pardot_exports(real(PARDOT))
    at = open_page("views/rate.py")
    upload(at, ma, sfa, PARDOT_NAMES)
    rates = engine_rates(ma, sfa, PARDOT_NAMES)
    df = source_table(at)
    assert_table_is(df, rates, None, 30)
    # The 1-of-1 sources at 100% do not lead: the first rows all have at least 30 leads.
    assert max(r.rate for r in rates if r.leads == 1) == 1.0
    assert (df[col("leads")].head(5) >= 30).all()
    found = clean_up(rates)
    assert ("Advertisement", "Advertisment") in {(x.keep, x.merge) for x in found.suggestions}
    # The source chart holds at most 15 bars and one folded bar, named apart from the export's
    # own source "Other" (n=47); the cohort chart at most 24 columns.
    bars = {v["label"] for v in records(charts["build_rate_by_source"], "label")}
    folded = [b for b in bars if b.startswith("残りのソース（")]
    assert 2 <= len(bars) <= 16 and len(folded) == 1 and "Other" in bars and not folded[0].startswith("Other")
    periods = {v["month"] for v in records(charts["build_rate_by_month"], "month")}
    assert 2 <= len(periods) <= 24 and not any("-" in p and "Q" not in p for p in periods)   # not monthly
    # The cohort table is in the chart's period, its leads the engine's monthly cohorts summed.
    grain_col = next(d.value for d in at.dataframe if d.value.columns[0].startswith("リード作成")
                     and d.value.columns[0] != col("month"))
    assert set(grain_col.iloc[:, 0]) - {t("term.undated", "ja")} == periods
    assert int(grain_col[col("leads")].sum()) == sum(r.leads for r in rates)


def test_mapping_download_is_a_csv_the_cli_reads(downloads, tmp_path):   # noqa: F811
    from funnel.model.sources import read_path

    at = open_page("views/rate.py")
    data = downloads["source_channels.csv"]
    (tmp_path / "m.csv").write_bytes(data)
    back = read_path(str(tmp_path / "m.csv"))
    rates = engine_rates_sample(session_of(at))
    assert back.pairs() == suggested_map(clean_up(rates).groups, "ja").pairs()
    assert pd.read_csv(io.BytesIO(data), encoding="utf-8-sig").columns.tolist() == ["source", "channel"]
