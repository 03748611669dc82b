"""Activity exports (行動履歴): read in several tools' layouts, every row accounted for, and
behaviour → 商談化率 exactly as contracts/cli.md defines it, against a plain-Python oracle
(tests/activity_world.py), plus the real Salesforce campaign-member export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import activity_world as aw
import pandas as pd
import pytest
from conftest import real
from openpyxl import Workbook
from test_cli import run_cli

from funnel.ingest.reader import Source
from funnel.measures import analysis
from funnel.model.link import LinkSpec
from funnel.model.workspace import Workspace

DATACLOUD = "salesforce_datacloud_workshop"


def id_csv(world: aw.World, rows: list[dict[str, Any]]) -> str:
    """Marketo bulk-extract style: keyed by the lead's record ID only (the MA export's Id)."""
    ids = {x["email"]: x["id"] for x in world.leads}
    return aw._csv(["Lead ID", "Activity Date", "Activity Type", "Campaign", "Channel"],
                   [[ids.get(r["email"], f"X{abs(hash(r['email'])) % 997}" if r["email"] else ""),
                     r["at"].strftime("%Y-%m-%d %H:%M:%S") if r["at"] else "", r["type"], r["campaign"],
                     r["channel"]] for r in rows])


def kintone_xlsx(rows: list[dict[str, Any]], path: Path) -> None:
    """kintone / Excel 行動ログ: a title row above the table, real Excel date-times."""
    wb = Workbook()
    ws = wb.active
    ws.append(["行動ログ（2025年）"])
    ws.append(["メールアドレス", "行動日時", "行動", "施策", "チャネル"])
    for r in rows:
        ws.append([r["email"], r["at"], r["type"], r["campaign"] or None, r["channel"] or None])
    wb.save(path)


@pytest.fixture(scope="module")
def world_files(tmp_path_factory) -> tuple[aw.World, Path, list[Path]]:
    world = aw.make_world(seed=18, n_files=5)
    d = tmp_path_factory.mktemp("activity")
    (d / "ma.csv").write_text(aw.ma_csv(world), encoding="utf-8")
    (d / "sfa.csv").write_text(aw.sfa_csv(world), encoding="utf-8-sig")
    paths = [d / "marketo.csv", d / "satori.csv", d / "hubspot.csv", d / "by_id.csv", d / "kintone.xlsx"]
    paths[0].write_text(aw.marketo_csv(world.files[0]), encoding="utf-8")
    paths[1].write_bytes(aw.satori_csv(world.files[1]).encode("cp932"))
    paths[2].write_text(aw.hubspot_csv(world.files[2]), encoding="utf-16")
    paths[3].write_text(id_csv(world, world.files[3]), encoding="utf-8")
    kintone_xlsx(world.files[4], paths[4])
    return world, d, paths


def measure(d: Path, paths: list[Path], **kw: Any) -> dict[str, Any]:
    with Workspace() as ws:
        ws.load("ma", Source.from_path(d / "ma.csv"))
        ws.load("sfa", Source.from_path(d / "sfa.csv"))
        for p in paths:
            ws.load("activity", Source.from_path(p))
        ws.build(kw.pop("overrides", None), kw.pop("link", None), keep_raw=False)
        return analysis.to_json(analysis.measure(ws, **kw))


def test_every_layout_is_mapped(world_files):
    _world, d, paths = world_files
    got = measure(d, paths)["mapping"]["activity"]
    assert [m.get("email") or m.get("person_id") for m in got] == [
        "Email Address", "メールアドレス", "Associated Email", "Lead ID", "メールアドレス"]
    assert [m["occurred_at"] for m in got] == ["Activity Date", "日時", "Activity date", "Activity Date", "行動日時"]
    assert [m["activity_type"] for m in got] == ["Activity Type", "アクション", "Activity type", "Activity Type", "行動"]
    assert [m.get("campaign") for m in got] == ["Campaign Name", "キャンペーン", "Campaign", "Campaign", "施策"]


def test_every_row_is_accounted_for(world_files):
    world, d, paths = world_files
    got = measure(d, paths)["activity"]
    assert got == aw.counts(world)
    assert got["rows"] == got["events"] + got["rows_without_key"]
    assert got["rows_without_key"] > 0 and got["events_unlinked"] > 0    # the world has both


def test_behaviour_matches_the_definition(world_files):
    world, d, paths = world_files
    got = {b["activity"]: b for b in measure(d, paths)["behaviour"]}
    want = aw.behaviour(world)
    assert set(got) == set(want)
    for kind, w in want.items():
        g = got[kind]
        assert {k: g[k] for k in ("leads", "converted")} == {k: w[k] for k in ("leads", "converted")}, kind
        for k in ("opportunity_rate", "ci_low", "ci_high", "rate_without", "lift"):
            assert g[k] == pytest.approx(w[k], abs=1e-12), (kind, k)


def test_files_stack_in_the_order_given(world_files):
    """The same rows split differently over files give the same counts (and the order of files
    decides ties, checked in test_attribution)."""
    world, d, paths = world_files
    one = measure(d, paths[:2])["activity"]
    two = measure(d, paths[:2][::-1])["activity"]
    assert one == two
    assert one["rows"] == len(world.files[0]) + len(world.files[1])


def test_an_event_on_the_opportunity_day_counts_and_the_day_after_does_not(tmp_path):
    (tmp_path / "ma.csv").write_text("Email\na@x.jp\nb@x.jp\n", encoding="utf-8")
    (tmp_path / "sfa.csv").write_text("Opportunity ID,Email,Stage,Created Date\nO1,a@x.jp,Closed Won,2025/03/10\n",
                                      encoding="utf-8")
    (tmp_path / "act.csv").write_text(
        "Email,Activity Date,Activity Type\n"
        "a@x.jp,2025/03/10 23:59,資料ダウンロード\n"      # the opportunity's own day: counts
        "a@x.jp,2025/03/11 00:00,セミナー参加\n"          # after it: not counted
        "b@x.jp,2025/03/12,セミナー参加\n", encoding="utf-8")
    got = {b["activity"]: b for b in measure(tmp_path, [tmp_path / "act.csv"])["behaviour"]}
    assert got["資料ダウンロード"]["leads"] == 1 and got["資料ダウンロード"]["converted"] == 1
    assert got["資料ダウンロード"]["rate_without"] == 0.0 and got["資料ダウンロード"]["lift"] is None
    assert got["セミナー参加"]["leads"] == 1 and got["セミナー参加"]["converted"] == 0
    assert got["セミナー参加"]["rate_without"] == 1.0 and got["セミナー参加"]["lift"] == 0.0


def test_campaign_member_list_uses_the_response_date(tmp_path):
    """A campaign-member list: one event per member with a response date (its type the member
    status, its touch the campaign); members without one count in rows_without_key even where
    another date column is filled."""
    (tmp_path / "ma.csv").write_text("メールアドレス\na@x.jp\nb@x.jp\nc@x.jp\n", encoding="utf-8")
    (tmp_path / "sfa.csv").write_text("商談 ID,メール,フェーズ,作成日\nO1,a@x.jp,受注,2025/05/01\n", encoding="utf-8")
    (tmp_path / "cm.csv").write_text(
        "キャンペーン名,状況,メール,初回応答日,作成日\n"
        "ウェビナー2025春,出席,a@x.jp,2025/04/10,2025/04/01\n"
        "ウェビナー2025春,送信済み,b@x.jp,,2025/04/01\n"
        "展示会2025,来場,c@x.jp,2025/04/20,2025/04/01\n", encoding="cp932")
    got = measure(tmp_path, [tmp_path / "cm.csv"])
    assert got["mapping"]["activity"][0]["responded_at"] == "初回応答日"
    assert got["activity"] == {"rows": 3, "events": 2, "rows_without_key": 1, "events_unlinked": 0,
                               "leads_with_events": 2}
    assert {b["activity"] for b in got["behaviour"]} == {"出席", "来場"}
    assert got["attribution"]["by_touch"] == [
        {"touch": "ウェビナー2025春", "opportunities": 1.0, "won": 1.0, "won_amount": 0.0}]


def test_map_override_and_id_link(world_files):
    """--map activity.FIELD=COLUMN picks a column; the ID link (--link) leaves the activity key
    by email intact."""
    world, d, paths = world_files
    got = measure(d, [paths[0]], overrides={"activity": {"campaign": "Primary Attribute Value"}})
    assert got["mapping"]["activity"][0]["campaign"] == "Primary Attribute Value"
    assert {t["touch"] for t in got["attribution"]["by_touch"]} <= {"/pricing", "(no lead)", "(no touch)"}
    by_id = measure(d, [paths[0]], link=LinkSpec.parse("Email=Contact Email"))
    assert by_id["activity"] == measure(d, [paths[0]])["activity"]


def test_cli_keys_exact_and_unchanged_without_activity(world_files):
    _world, d, paths = world_files
    base = ["analyze", "--ma", str(d / "ma.csv"), "--sfa", str(d / "sfa.csv"), "--json"]
    plain = run_cli(*base)
    assert plain.returncode == 0, plain.stderr
    without = json.loads(plain.stdout)
    assert not {"activity", "behaviour", "attribution"} & set(without)
    r = run_cli(*base, "--activity", *map(str, paths))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert set(data["activity"]) == {"rows", "events", "rows_without_key", "events_unlinked", "leads_with_events"}
    assert set(data["behaviour"][0]) == {"activity", "leads", "converted", "opportunity_rate", "ci_low", "ci_high",
                                         "rate_without", "lift"}
    assert set(data["attribution"]) == {"model", "half_life_days", "by_touch"}
    assert data["attribution"]["model"] == "position" and data["attribution"]["half_life_days"] is None
    assert set(data["attribution"]["by_touch"][0]) == {"touch", "opportunities", "won", "won_amount"}
    for key in without:            # everything else is what it was without --activity
        if key not in ("files", "mapping"):
            assert data[key] == without[key], key
    td = json.loads(run_cli(*base, "--activity", str(paths[0]), "--model", "time_decay").stdout)
    assert td["attribution"]["half_life_days"] == 7.0
    td3 = json.loads(run_cli(*base, "--activity", str(paths[0]), "--model", "time_decay", "--half-life", "3").stdout)
    assert td3["attribution"]["half_life_days"] == 3.0


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_unusable_activity_file_exits_2_naming_it(world_files, tmp_path, lang):
    _world, d, _paths = world_files
    bad = tmp_path / "行動ログ.csv"
    bad.write_text("Page,Visits\n/a,3\n", encoding="utf-8")
    r = run_cli("analyze", "--ma", str(d / "ma.csv"), "--sfa", str(d / "sfa.csv"), "--activity", str(bad),
                "--json", lang=lang)
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "行動ログ.csv" in r.stderr
    r = run_cli("analyze", "--ma", str(d / "ma.csv"), "--sfa", str(d / "sfa.csv"), "--activity",
                str(_paths[0]), "--model", "time_decay", "--half-life", "0", "--json", lang=lang)
    assert r.returncode == 2 and "--half-life" in r.stderr and "Traceback" not in r.stderr


def test_real_campaign_member_export_reads_and_links():
    """Salesforce's own CampaignMember.csv (BOM, API names): contacts link to deals through
    their account (--link AccountId=AccountId), members to contacts by email. No member has
    responded (FirstRespondedDate blank), so by the contract no row is an event; with the
    member's added date as the event date, 68 events, the contact members linked."""
    cm, contact = real(DATACLOUD, "CampaignMember.csv"), real(DATACLOUD, "Contact.csv")
    opp = real(DATACLOUD, "Opportunity.csv")
    members = pd.read_csv(cm, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    contacts = pd.read_csv(contact, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert (members["FirstRespondedDate"] == "").all()
    base = ["analyze", "--ma", str(contact), "--sfa", str(opp), "--link", "AccountId=AccountId",
            "--activity", str(cm), "--json"]
    r = run_cli(*base)
    assert r.returncode == 0, r.stderr
    strict = json.loads(r.stdout)
    assert strict["activity"] == {"rows": 68, "events": 0, "rows_without_key": 68, "events_unlinked": 0,
                                  "leads_with_events": 0}
    r = run_cli(*base, "--map", "activity.responded_at=", "activity.occurred_at=Added_Date__c")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    emails = set(contacts["Email"].str.strip().str.lower()) - {""}
    linked = members["Email"].str.strip().str.lower().isin(emails)
    assert data["activity"] == {"rows": 68, "events": 68, "rows_without_key": 0,
                                "events_unlinked": int((~linked).sum()),
                                "leads_with_events": members.loc[linked, "Email"].str.lower().nunique()}
    assert data["mapping"]["activity"][0]["campaign"] == "CampaignId"
    assert data["mapping"]["activity"][0]["activity_type"] == "Status"
    assert [b["activity"] for b in data["behaviour"]] == ["Sent"]
    by = data["attribution"]["by_touch"]
    assert sum(t["opportunities"] for t in by) == pytest.approx(data["sfa"]["opportunities"], abs=1e-9)
    assert sum(t["won"] for t in by) == pytest.approx(data["outcomes"]["won"], abs=1e-9)
    assert {t["touch"] for t in by} - {"(no lead)", "(no touch)"} <= set(members["CampaignId"])


def test_sample_activity_log_opens_filled():
    """The bundled 行動履歴 (CP932, SATORI-style) reads whole: anonymous visitors and rows
    without a time stamp are rows_without_key (counted here with pandas), every other row is an
    event of a lead, and the high-intent actions separate converters (lift > 1)."""
    sample = Path(__file__).resolve().parents[1] / "sample_data"
    raw = pd.read_csv(sample / "activity_log.csv", dtype=str, keep_default_na=False, encoding="cp932")
    unusable = int(((raw["メールアドレス"].str.strip() == "") | (raw["日時"].str.strip() == "")).sum())
    with Workspace() as ws:
        ws.load("ma", Source.from_path(sample / "ma_leads.csv"))
        ws.load("sfa", Source.from_path(sample / "sfa_opportunities.xlsx"))
        ws.load("activity", Source.from_path(sample / "activity_log.csv"))
        ws.build(keep_raw=False)
        data = analysis.to_json(analysis.measure(ws))
    assert data["activity"]["rows"] == len(raw)
    assert data["activity"]["rows_without_key"] == unusable > 0
    assert data["activity"]["events_unlinked"] == 0
    lift = {b["activity"]: b["lift"] for b in data["behaviour"]}
    assert lift["価格ページ閲覧"] > 2 and lift["問い合わせフォーム送信"] > 2
    assert sum(t["opportunities"] for t in data["attribution"]["by_touch"]) == pytest.approx(
        data["sfa"]["opportunities"], abs=1e-9)


# -- passive actions (data/activity.toml) and the behaviour-based MQL criteria --------------------
def test_passive_words_are_data_with_their_reasons():
    import tomllib

    from funnel.config import DATA_DIR
    from funnel.measures import activity as history

    entries = tomllib.loads((DATA_DIR / "activity.toml").read_text(encoding="utf-8"))["passive"]
    assert history.passive_words() == tuple(e["word"] for e in entries)
    assert {"開封", "open"} <= set(history.passive_words())
    assert all(len(e["reason"]) > 40 and "https://" in e["reason"] for e in entries)
    assert history.is_passive("メール開封") and history.is_passive("Open Email") and history.is_passive("Email Delivered")
    assert not history.is_passive("資料ダウンロード") and not history.is_passive("Fill Out Form")
    assert not history.is_passive(None)


def test_separating_actions_are_clear_not_passive_and_ranked_by_lift():
    from funnel.measures.activity import Behaviour, separating

    # (activity, leads, converted, others, others converted)
    found = [Behaviour("価格ページ閲覧", 100, 30, 900, 54),       # 30% vs 6%: lift 5, interval clear
             Behaviour("メール開封", 400, 60, 600, 24),            # passive, even with lift 3.75
             Behaviour("セミナー参加", 50, 10, 950, 76),           # 20% vs 8%: lift 2.5, interval 11%-33%: clear
             Behaviour("事例ページ閲覧", 12, 6, 988, 78),           # lift 6.3 but only 12 leads
             Behaviour("Webページ訪問", 500, 45, 500, 39),          # 9% vs 7.8%: interval reaches below
             Behaviour("展示会ブース来場", 200, 8, 800, 76),        # lift below 1
             Behaviour(None, 100, 50, 900, 34)]                     # no type: no criterion
    got = separating(found, min_leads=30)
    assert [b.activity for b in got] == ["価格ページ閲覧", "セミナー参加"]
    assert [b.activity for b in separating(found, min_leads=10)] == ["事例ページ閲覧", "価格ページ閲覧", "セミナー参加"]
    assert [b.activity for b in separating(found, min_leads=10, top=1)] == ["事例ページ閲覧"]
    for b in got:    # the rule, computed here from the counts
        lo = b.ci[0]
        assert lo > b.converted_without / b.leads_without and b.lift == pytest.approx(
            (b.converted / b.leads) / (b.converted_without / b.leads_without))
