"""The engine's Session and Dataset on tiny inline exports: the version counter moves on every
change made through a method (and not on page inputs), a session survives its own JSON and a
saved file unchanged, a dataset builds again only when its files or settings changed, and a
file saved before the Session object existed still opens with its edits."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from funnel.ingest.reader import Source
from funnel.model import saved
from funnel.model.cost_data import CostData
from funnel.model.dataset import BuildSettings, Dataset, digest_of
from funnel.model.link import LinkSpec
from funnel.model.rules import LossRules
from funnel.model.session import Session
from funnel.model.session_json import decode, encode, read_session_part
from funnel.model.workspace import Workspace
from funnel.sql.account_graph import Edits
from tests.conftest import ROOT, SAMPLE
from tests.test_limits import override

LEADS = ("メールアドレス,リードソース,作成日,会社名,予備ID\n"
         "a@x.jp,展示会,2025/04/01,A社,L1\nb@x.jp,Web,2025/04/02,B社,L2\nc@x.jp,Web,2025/05/01,C社,L3\n").encode()
DEALS = ("商談名,メールアドレス,フェーズ,金額,作成日,失注理由,LID\n"
         "A案件,a@x.jp,受注,100000,2025/04/10,,L1\nB案件,b@x.jp,失注,50000,2025/04/20,稟議が通らず,L2\n").encode()


@pytest.fixture
def session() -> Any:
    s = Session()
    s.data.attach(Workspace())
    s.baseline.attach(Workspace())
    yield s
    s.close()


def user_session(s: Session) -> Session:
    s.use_uploads("ma", [("leads.csv", LEADS)])
    s.use_uploads("sfa", [("deals.csv", DEALS)])
    return s


def edited_rules() -> LossRules:
    text = LossRules.default().to_toml().replace('"budget", ', '"budget", "稟議", ', 1)
    rules = LossRules.from_toml(text)
    assert rules != LossRules.default()
    return rules


def test_every_change_through_a_method_bumps_the_version_once(session):
    s = user_session(session)
    steps = [lambda: s.set_overrides("ma", {"source": "リードソース"}), lambda: s.set_link(LinkSpec("id", "予備ID", "LID")),
             lambda: s.set_loss_rules(edited_rules()), lambda: s.set_benchmarks([{"metric": "win_rate"}]),
             lambda: s.set_answer("q1", "yes"), lambda: s.set_plan_weights({"2025-04": 2.0}),
             lambda: s.set_plan_mix([{"source": "Web"}], "ja"), lambda: s.set_account_edits(Edits().merge("c:a", "c:b")),
             lambda: s.remove_file("ma", s.files["ma"][0].digest)]
    for step in steps:
        before = s.version
        step()
        assert s.version == before + 1
    # The same value again is no change; page inputs are arguments of queries, not a change.
    before = s.version
    s.set_plan_weights({"2025-04": 2.0})
    s.set_answer("q1", "yes")
    s.set_account_edits(Edits().merge("c:a", "c:b").merge("c:a", "c:b"))
    s.set_loss_rules(edited_rules())
    s.kept["target_rate"] = 12.5
    assert s.version == before


def test_the_same_uploads_are_not_read_again(session):
    s = user_session(session)
    before = (s.version, s.data.version)
    assert s.use_uploads("ma", [("leads.csv", LEADS)]) is False
    assert (s.version, s.data.version) == before
    assert s.use_uploads("ma", [("leads.csv", LEADS + "d@x.jp,Web,2025/05/02,D社,L4\n".encode())]) is True
    assert s.files["ma"][0].report is not None and s.files["ma"][0].report.rows_read == 4


def test_a_file_over_the_upload_limit_is_refused_by_the_engine(session, monkeypatch):
    override(monkeypatch, "max_upload_mb", 0)
    s = user_session(session)
    entry = s.files["ma"][0]
    assert entry.table is None and entry.error is not None and entry.error[1] == "error.upload_too_large"
    assert "leads.csv" in (entry.error_text("en") or "")
    assert not s.data.ready()


def test_ensure_built_builds_only_when_files_or_settings_changed(monkeypatch):
    calls: list[str] = []
    real_build, real_rules = Workspace.build, Workspace.apply_loss_rules

    def build(self: Workspace, *args: Any, **kwargs: Any) -> Any:
        calls.append("build")
        return real_build(self, *args, **kwargs)

    def rules(self: Workspace, *args: Any, **kwargs: Any) -> Any:
        calls.append("rules")
        return real_rules(self, *args, **kwargs)

    monkeypatch.setattr(Workspace, "build", build)
    monkeypatch.setattr(Workspace, "apply_loss_rules", rules)
    with Workspace() as ws:
        d = Dataset(ws)
        d.add_bytes("ma", "leads.csv", LEADS)
        d.add_bytes("sfa", "deals.csv", DEALS)
        plain = BuildSettings({}, None, LossRules.default())
        first = d.ensure_built(plain)
        assert d.ensure_built(plain) is first and calls == ["build"]
        d.ensure_built(BuildSettings({}, None, edited_rules()))          # only the rules changed
        assert calls == ["build", "rules"]
        d.ensure_built(BuildSettings({}, LinkSpec("id", "予備ID", "LID"), edited_rules()))
        assert calls == ["build", "rules", "build"] and d.build is not None and d.build.link.kind == "id"
        d.remove("ma", d.files["ma"][0].digest)
        assert not d.ready() and d.build is None
        d.add_bytes("ma", "leads.csv", LEADS)
        d.ensure_built(plain)
        assert calls == ["build", "rules", "build", "build"]


def test_a_baseline_falls_back_to_automatic_linking_when_the_link_column_is_missing(session):
    s = user_session(session)
    s.set_link(LinkSpec("id", "予備ID", "LID"))
    assert s.ensure_built().link.kind == "id"
    s.use_baseline_uploads("ma", [("leads.csv", LEADS.replace("予備ID".encode(), "別ID".encode()))])
    s.use_baseline_uploads("sfa", [("deals.csv", DEALS)])
    build = s.ensure_baseline_built()
    assert build.link.kind == "email"
    assert s.baseline.notices == [("diff.baseline.link_fallback", {"ma": "予備ID", "sfa": "LID"})]


def test_json_round_trip_gives_the_same_values():
    value = {"d": dt.date(2025, 4, 1), "t": (1, dt.date(2025, 5, 1)), "nan": float("nan"), "nested": {"x": [1, (2,)]}}
    assert decode(json.loads(json.dumps(encode(value)))) == {**value, "nan": None}


def edit(s: Session) -> Session:
    user_session(s)
    s.set_overrides("ma", {"source": "リードソース"})
    s.set_link(LinkSpec("id", "予備ID", "LID"))
    s.set_loss_rules(edited_rules())
    s.set_benchmarks([{"metric": "win_rate", "low": 20.0, "high": 30.0}])
    s.set_answers({"q1": "yes", "q2": "no"})
    s.set_plan_weights({"2025-04": 2.0, "2025-05": 0.5})
    s.set_plan_mix([{"ソース": "Web", "比率": 60.0}], "ja")
    s.set_source_map([("Trade Show", "展示会・イベント"), ("Trades Show", "展示会・イベント"), ("Google Ads", "ad")])
    s.set_account_edits(Edits().merge("c:alpha", "d:beta.example.jp").split_key("d:shared.example.jp")
                        .split_lead("e:x@w.example.jp"))
    s.set_cost(CostData("cost.csv", {(dt.date(2025, 4, 1), "Web"): 120000.0}), "upload")
    s.set_cost(CostData("edited", {(dt.date(2025, 4, 1), "Web"): 150000.0}))
    s.kept.update({"target_rate": 12.5, "plan_start": dt.date(2025, 6, 1), "date_range": (dt.date(2025, 4, 1), None)})
    s.kept_by_language["loss_touch"] = "last"
    return s


def open_into(path: Path) -> Session:
    fresh = Session()
    fresh.data.attach(Workspace())
    manifest = saved.read_manifest(path, path.name)
    part = read_session_part(manifest["session"])
    fresh.apply_saved(part, saved.restore(fresh.data.workspace, path, path.name, build=False))
    return fresh


def test_a_saved_session_opens_equal_to_the_original(session, tmp_path):
    s = edit(session)
    built = s.ensure_built()
    path = saved.save(s.data.workspace, tmp_path / "a.funnel", **s.save_arguments("ja"))
    back = open_into(path)
    try:
        assert back.to_json() == s.to_json()
        for name in ("mode", "overrides", "link", "loss_rules_toml", "benchmarks", "answers", "plan_weights",
                     "plan_mix", "plan_mix_lang", "kept", "kept_by_language", "source_pairs", "account_edits"):
            assert getattr(back, name) == getattr(s, name), name
        assert back.cost() == s.cost() and back.cost_entry().file == s.cost_entry().file
        assert back.source_map is not None and back.source_map.channel_name("trades  show") == "展示会・イベント"
        assert back.source_map.is_ad("GOOGLE ADS")
        assert [e.digest for e in back.files["ma"]] == [e.digest for e in s.files["ma"]]
        again = back.ensure_built()
        assert again.counts == built.counts and again.link == built.link
        # The restored data counts as seen: pages keep the restored inputs.
        assert not back.changed("plan_data_sig", "data")
        back.use_uploads("ma", [("other.csv", LEADS)])
        assert back.changed("plan_data_sig", "data")
    finally:
        back.close()


def test_a_file_saved_before_the_session_object_still_opens(tmp_path):
    """tests/fixtures/saved_session_v1.json is the session part main's code wrote (layout 1,
    with the MQL page's marker); a file carrying it opens with its inputs and edits."""
    legacy = json.loads((ROOT / "tests/fixtures/saved_session_v1.json").read_text(encoding="utf-8"))
    assert "layout" not in legacy and "mql_sig" in legacy
    with Workspace() as ws:
        digests = {}
        for side, name, sample in (("ma", "leads.csv", "ma_leads.csv"), ("sfa", "deals.xlsx", "sfa_opportunities.xlsx")):
            data = (SAMPLE / sample).read_bytes()
            digests[ws.load(side, Source.from_bytes(name, data)).table] = digest_of(data)
        path = saved.save(ws, tmp_path / "old.funnel", session=legacy, digests=digests,
                          settings=saved.Settings({"ma": {"source": "最終流入元"}}))
    back = open_into(path)
    try:
        part = decode(legacy)
        assert back.mode == "user"
        assert back.kept == part["kept"] and back.kept["plan_start"] == dt.date(2026, 4, 1)
        assert back.kept_by_language == part["kept_by_language"]
        assert back.benchmarks == part["benchmarks"] and back.answers == part["answers"]
        assert back.plan_mix == part["plan"]["mix_rows"] and back.plan_mix_lang == "ja"
        assert back.overrides["ma"] == {"source": "最終流入元"}
        assert [(e.name, e.digest) for e in back.files["ma"]] == [(e["name"], e["digest"]) for e in part["entries"]["ma"]]
        assert back.ensure_built().counts["ma"].rows == 3000
        assert "mql_sig" not in back.to_json() and back.to_json()["layout"] == 2
    finally:
        back.close()
