"""The saved workspace file (.funnel): a save and an opening give the engine's JSON unchanged
(sample data, and inline data with a mapping override, an ID link and edited loss rules),
set-aside rows and load reports survive, and a newer, corrupt, truncated, foreign or unsafe
file is refused with the right error — leaving the workspace as it was."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from funnel import config
from funnel.errors import TooLargeError, UnreadableFileError
from funnel.ingest.reader import Source
from funnel.measures.analysis import measure, to_json
from funnel.model import accounting, saved
from funnel.model.cost_data import CostData
from funnel.model.link import LinkSpec
from funnel.model.rules import LossRules
from funnel.model.workspace import Workspace
from funnel.sql import rows
from tests.conftest import SAMPLE, load_sample

MA = """リードID,メールアドレス,流入元,キャンペーン,登録日
L1,a@x.jp,展示会,春フェア,2025/04/01
L2,b@x.jp,Web広告,検索広告,2025/04/02
L3,c@x.jp,展示会,秋フェア,2025/04/03
L4,,紹介,紹介,2025/04/04
合計,4
""".encode("cp932")

SFA = """商談ID,フェーズ,元リードID,失注理由,金額
O1,6.受注,L1,,100
O2,7.失注,L2,ライバルに負けた,200
O3,7.失注,L3,先方都合で延期,300
O4,3.提案,,,
"""

OVERRIDES = {"ma": {"source": "キャンペーン"}, "sfa": {}}
LINK = LinkSpec("id", "リードID", "元リードID")
RULES = LossRules(tuple((c, (*kws, "ライバル") if c == "competitor" else kws)
                        for c, kws in LossRules.default().categories))
SETTINGS = saved.Settings(OVERRIDES, LINK, RULES)


def snapshot(ws: Workspace) -> dict:
    """Everything a user sees of the data: the engine JSON, row accounting, set-aside rows,
    rows without a key, the previews and the load reports."""
    out: dict = {"json": to_json(measure(ws))}
    for side in ("ma", "sfa"):
        out[side] = {"account": accounting.account(ws, side), "set_aside": accounting.set_aside_rows(ws, side),
                     "without_key": accounting.rows_without_key(ws, side),
                     "preview": [accounting.preview(ws, side, i, 50) for i in range(len(ws.files[side]))],
                     "reports": [lt.report for lt in ws.files[side]]}
    return out


@pytest.fixture(scope="module")
def sample_saved() -> tuple[dict, bytes]:
    with Workspace() as ws:
        load_sample(ws)
        ws.build()
        return snapshot(ws), saved.save_bytes(ws)


@pytest.fixture(scope="module")
def inline_saved() -> tuple[dict, bytes]:
    with Workspace() as ws:
        ws.load("ma", Source.from_bytes("leads.csv", MA, digest="abc123"))
        ws.load("sfa", Source.from_bytes("deals.csv", SFA.encode()))
        ws.build(OVERRIDES, LINK, RULES)
        cost = CostData("cost.csv", {(dt.date(2025, 4, 1), "展示会"): 50000.0, (dt.date(2025, 4, 1), "Web広告"): 1.5}, 2)
        return snapshot(ws), saved.save_bytes(ws, settings=SETTINGS, costs={"data": cost},
                                              session={"answers": {"q1": "yes"}, "kept": {"plan_months": 6}},
                                              digests={ws.files["ma"][0].table: "f" * 64}, language="en")


def test_sample_round_trip_gives_identical_numbers_accounting_and_reports(sample_saved, ws):
    before, data = sample_saved
    saved.restore(ws, data, "sample.funnel")
    assert snapshot(ws) == before
    assert before["json"]["ma"]["rows_dropped"] or before["json"]["sfa"]["rows_dropped"]   # set-aside rows exist


def test_inline_round_trip_keeps_override_link_rules_and_rejected_lines(inline_saved, ws):
    before, data = inline_saved
    restored = saved.restore(ws, data, "inline.funnel")
    after = snapshot(ws)
    assert after == before
    j = after["json"]
    # The settings were in force, not the automatic choices: the campaign column as source,
    # the ID link, the edited rule putting "ライバル…" under competitor.
    assert sorted(r["source"] for r in j["by_source"]) == ["春フェア", "検索広告", "秋フェア", "紹介"]
    assert j["link"] == {"ma_column": "リードID", "sfa_column": "元リードID", "kind": "id", "auto": False}
    assert {r["category"]: r["count"] for r in j["loss_reasons"]}["competitor"] == 1
    # The footer line DuckDB rejected is kept with its reason, at its line number.
    assert after["ma"]["set_aside"] == [{"file": "leads.csv", "where": "line", "position": 6, "reason": "total",
                                         "text": "合計,4"}]
    assert restored.settings == SETTINGS
    assert restored.session == {"answers": {"q1": "yes"}, "kept": {"plan_months": 6}}
    assert restored.costs["data"] == CostData("cost.csv", {(dt.date(2025, 4, 1), "展示会"): 50000.0,
                                                           (dt.date(2025, 4, 1), "Web広告"): 1.5}, 2)
    assert list(restored.digests.values()) == ["f" * 64, ""]
    m = restored.manifest
    assert (m["format"], m["format_version"], m["language"]) == ("funnel-workspace", 1, "en")
    assert m["files"]["ma"][0]["sha256"] == "f" * 64 and m["files"]["ma"][0]["report"]["encoding"].startswith("CP932")


def test_a_second_restore_on_another_workspace_replaces_what_was_there(inline_saved, sample_saved):
    before, data = inline_saved
    with Workspace() as first, Workspace() as second:
        saved.restore(first, data, "inline.funnel")
        second.load("ma", Source.from_path(SAMPLE / "ma_leads.csv"))       # something else loaded before
        saved.restore(second, sample_saved[1], "sample.funnel")
        saved.restore(second, data, "inline.funnel")
        assert snapshot(first) == snapshot(second) == before
        assert [lt.table for lt in second.files["ma"]] != [lt.table for lt in first.files["ma"]]


def test_restore_without_build_then_build_with_the_saved_settings(inline_saved, ws):
    before, data = inline_saved
    restored = saved.restore(ws, data, "inline.funnel", build=False)
    assert ws.build_result is None
    s = restored.settings
    ws.build(s.overrides, s.link, s.loss_rules)
    assert to_json(measure(ws)) == before["json"]


def test_save_to_a_path_and_open_from_it(tmp_path, ws):
    ws.load("ma", Source.from_bytes("leads.csv", MA))
    ws.load("sfa", Source.from_bytes("deals.csv", SFA.encode()))
    ws.build()
    target = saved.save(ws, tmp_path / "analysis.funnel")
    assert zipfile.is_zipfile(target) and not (tmp_path / "analysis.funnel.part").exists()
    with Workspace() as other:
        saved.restore(other, target, target.name)
        assert to_json(measure(other)) == to_json(measure(ws))
    assert saved.read_manifest(target, target.name)["settings"]["link"] is None


def test_members_are_parquet_tables_and_a_manifest():
    with Workspace() as w:
        w.load("ma", Source.from_bytes("leads.csv", MA))
        w.load("sfa", Source.from_bytes("deals.csv", SFA.encode()))
        data = saved.save_bytes(w)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        assert names[0] == "manifest.json"
        assert set(names[1:]) == {"tables/ma_1.parquet", "tables/ma_1_lines.parquet", "tables/sfa_1.parquet"}
        assert all(zf.read(n)[:4] == b"PAR1" for n in names[1:])
        assert zf.getinfo("tables/ma_1.parquet").compress_type == zipfile.ZIP_STORED


# -- refused files ---------------------------------------------------------------------------------
def rezip(data: bytes, change: Callable[[dict[str, bytes]], dict[str, bytes]]) -> bytes:
    """The saved file with its members changed by ``change``."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, b in change(members).items():
            zf.writestr(n, b)
    return buf.getvalue()


def with_manifest(data: bytes, edit: Callable[[dict], None]) -> bytes:
    def change(members: dict[str, bytes]) -> dict[str, bytes]:
        m = json.loads(members["manifest.json"])
        edit(m)
        return {**members, "manifest.json": json.dumps(m).encode()}
    return rezip(data, change)


def refused(data: bytes, ws: Workspace, name: str = "bad.funnel") -> UnreadableFileError | TooLargeError:
    with pytest.raises((UnreadableFileError, TooLargeError)) as info:
        saved.restore(ws, data, name)
    return info.value


def test_a_newer_format_is_refused_with_a_clear_message(sample_saved, ws):
    data = with_manifest(sample_saved[1], lambda m: m.update(format_version=2, app_version="9.0"))
    err = refused(data, ws, "next.funnel")
    assert err.key == "saved.error.newer"
    assert err.render("ja").startswith("next.funnel: このファイルは新しいバージョンのアプリで保存されています")
    assert "v2" in err.render("en") and "9.0" in err.render("en")
    with pytest.raises(UnreadableFileError):
        saved.read_manifest(data, "next.funnel")


def _drop_member(members: dict[str, bytes]) -> dict[str, bytes]:
    return {n: b for n, b in members.items() if n != "tables/sfa_1.parquet"}


def _flip_byte(members: dict[str, bytes]) -> dict[str, bytes]:
    b = bytearray(members["tables/ma_1.parquet"])
    b[len(b) // 2] ^= 0xFF
    return {**members, "tables/ma_1.parquet": bytes(b)}


@pytest.mark.parametrize(("make", "key", "part"), [
    (lambda d: d[: len(d) // 2], "saved.error.corrupt", "zip"),                    # truncated download
    (lambda d: d[:-30], "saved.error.corrupt", "zip"),
    (lambda d: b"", "saved.error.not_saved", None),
    (lambda d: (SAMPLE / "ma_leads.csv").read_bytes(), "saved.error.not_saved", None),
    (lambda d: (SAMPLE / "sfa_opportunities.xlsx").read_bytes(), "saved.error.no_manifest", None),
    (lambda d: rezip(d, _drop_member), "saved.error.corrupt", "tables/sfa_1.parquet"),
    (lambda d: rezip(d, _flip_byte), "saved.error.corrupt", "tables/ma_1.parquet"),
    (lambda d: rezip(d, lambda m: {**m, "manifest.json": b"{not json"}), "saved.error.corrupt", "manifest.json"),
    (lambda d: with_manifest(d, lambda m: m.update(format="other")), "saved.error.no_manifest", None),
    (lambda d: with_manifest(d, lambda m: m.update(format_version="1")), "saved.error.corrupt", "manifest.json"),
    (lambda d: with_manifest(d, lambda m: m["files"]["ma"][0].pop("report")), "saved.error.corrupt", "manifest.json"),
    (lambda d: with_manifest(d, lambda m: m["files"]["ma"][0]["table"].update(rows=5)), "saved.error.corrupt",
     "tables/ma_1.parquet"),
    (lambda d: with_manifest(d, lambda m: m["files"]["ma"][0]["report"]["columns"].pop()), "saved.error.corrupt",
     "manifest.json"),
    (lambda d: with_manifest(d, lambda m: m["settings"].update(loss_rules="[[x")), "saved.error.corrupt",
     "manifest.json"),
])
def test_damaged_or_foreign_files_are_refused_naming_the_file(inline_saved, make, key, part):
    with Workspace() as w:
        load_sample(w)
        w.build()
        before = to_json(measure(w))
        err = refused(make(inline_saved[1]), w)
        assert err.key == key and err.file == "bad.funnel"
        if part:
            assert err.params["part"] == part
        assert err.render("ja").startswith("bad.funnel: ")
        # Nothing changed: the same files, the same numbers, no staging table left behind.
        assert [lt.report.file for s in ("ma", "sfa") for lt in w.files[s]] == ["ma_leads.csv", "sfa_opportunities.xlsx"]
        assert to_json(measure(w)) == before
        assert not rows(w.con, "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'saved_stage%'")


@pytest.mark.parametrize("member", ["../evil.txt", "/etc/passwd", "tables/../../x.parquet", "C:\\x.txt",
                                    "tables\\..\\x"])
def test_path_traversal_member_names_are_refused(inline_saved, ws, member):
    data = rezip(inline_saved[1], lambda m: {**m, member: b"x"})
    err = refused(data, ws)
    assert err.key == "saved.error.unsafe_member" and err.params["member"] == member


def test_a_file_that_would_expand_too_far_is_refused(inline_saved, ws, monkeypatch):
    monkeypatch.setattr(saved, "MAX_EXPANDED_BYTES", 1000)
    err = refused(inline_saved[1], ws)
    assert isinstance(err, TooLargeError) and err.key == "saved.error.expands"


def test_a_table_over_the_row_limit_is_refused_before_the_workspace_is_touched(inline_saved, ws, monkeypatch):
    ws.load("ma", Source.from_bytes("kept.csv", MA))
    monkeypatch.setitem(config._BY_NAME, "max_rows", dataclasses.replace(config._BY_NAME["max_rows"], default=3))
    err = refused(inline_saved[1], ws, "big.funnel")
    assert isinstance(err, TooLargeError) and err.key == "saved.error.too_many_rows"
    assert err.params == {"source": "leads.csv", "limit": "3"}
    assert err.render("ja").startswith("big.funnel: 中の leads.csv の行数が上限の 3 行を超えている")
    assert [lt.report.file for lt in ws.files["ma"]] == ["kept.csv"] and not ws.files["sfa"]
    assert not [t for (t,) in rows(ws.con, "SELECT table_name FROM duckdb_tables()") if t.startswith("saved_stage")]
    # At the limit it opens: each file's table holds 4 rows.
    monkeypatch.setitem(config._BY_NAME, "max_rows", dataclasses.replace(config._BY_NAME["max_rows"], default=4))
    saved.restore(ws, inline_saved[1], "big.funnel")
    assert [lt.report.file for lt in ws.files["ma"]] == ["leads.csv"]


def test_a_missing_path_is_an_unreadable_file(ws, tmp_path):
    err = refused(tmp_path / "gone.funnel", ws, "gone.funnel")   # type: ignore[arg-type]
    assert err.key == "error.os"


def test_saved_bytes_hold_no_temporary_files_in_the_workspace(inline_saved, ws):
    saved.restore(ws, inline_saved[1], "x.funnel")
    saved.save_bytes(ws)
    assert [p.name for p in Path(ws.workdir).iterdir() if p.suffix in (".funnel", ".parquet", ".part")] == []
