"""Parquet inputs: one file, a warehouse's folder of parts, typed columns as CSV text, and the
same ``analyze --json`` as for a CSV of the same data."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

from funnel import config
from funnel.cli import main
from funnel.errors import TooLargeError, UnreadableFileError
from funnel.ingest import parquet
from funnel.ingest.reader import Source, load_file
from funnel.ingest.sniff import detect_kind
from funnel.sql import connect, rows


@pytest.fixture
def con():
    c = connect()
    yield c
    c.close()


def raw(con: duckdb.DuckDBPyConnection, table: str = "t") -> list[tuple[object, ...]]:
    return rows(con, f'SELECT * FROM "{table}" ORDER BY rowid')


TYPED = pa.table({
    "登録日時": pa.array([dt.datetime(2025, 4, 1, 9, 25), dt.datetime(2025, 4, 2, 0, 0, 0, 500000), None],
                     pa.timestamp("us")),
    "MQL日": pa.array([dt.date(2025, 4, 4), None, dt.date(1999, 12, 31)]),
    "同意": pa.array([True, False, None]),
    "スコア": pa.array([46, None, -3], pa.int64()),
    "金額": pa.array([1_000_000.0, 1.5, None]),
    "単価": pa.array([Decimal("5.00"), Decimal("123.40"), None], pa.decimal128(10, 2)),
    "会社名": pa.array(["株式会社髙橋①", "", None]),
    "タグ": pa.array([["a", "b"], None, []], pa.list_(pa.string())),
    "住所": pa.array([{"pref": "東京都", "zip": 100}, None, {"pref": None, "zip": 1}]),
    "更新": pa.array([dt.datetime(2025, 4, 1, 1, 2, 3, tzinfo=dt.UTC), None, None], pa.timestamp("us", tz="UTC")),
})


def test_typed_columns_become_the_text_of_a_csv_export(con, tmp_path):
    path = tmp_path / "typed.parquet"
    pq.write_table(TYPED, path)
    loaded = load_file(con, Source.from_path(path), "t", tmp_path)
    report = loaded.report
    assert (report.kind, report.rows_read, report.columns) == ("parquet", 3, TYPED.column_names)
    assert loaded.raw_columns[:2] == ["c0001", "c0002"]
    assert [d for d in rows(con, "DESCRIBE t")] and {r[1] for r in rows(con, "DESCRIBE t")} == {"VARCHAR"}
    assert raw(con) == [
        ("2025-04-01 09:25:00", "2025-04-04", "true", "46", "1000000", "5", "株式会社髙橋①", "[a, b]",
         "{'pref': 東京都, 'zip': 100}", "2025-04-01 01:02:03", None),
        ("2025-04-02 00:00:00.5", None, "false", None, "1.5", "123.40", None, None, None, None, None),
        (None, "1999-12-31", None, "-3", None, None, None, "[]", "{'pref': NULL, 'zip': 1}", None, None),
    ]


def test_an_upload_reads_the_same_and_leaves_no_copy(con, tmp_path):
    path = tmp_path / "typed.parquet"
    pq.write_table(TYPED, path)
    work = tmp_path / "work"
    work.mkdir()
    load_file(con, Source.from_path(path), "a", work)
    # Named .csv on purpose: the content decides, not the name.
    load_file(con, Source.from_bytes("leads.csv", path.read_bytes()), "b", work)
    assert raw(con, "a") == raw(con, "b")
    assert list(work.iterdir()) == []


def spark_folder(root: Path, parts: list[pa.Table]) -> Path:
    """A folder as Spark writes it: parts, _SUCCESS, hidden .crc checksums."""
    folder = root / "leads.parquet"
    folder.mkdir()
    for i, part in enumerate(parts):
        name = f"part-{i:05d}-6f1c.c000.snappy.parquet"
        pq.write_table(part, folder / name)
        (folder / f".{name}.crc").write_bytes(b"crc")
    (folder / "_SUCCESS").write_bytes(b"")
    (folder / "._SUCCESS.crc").write_bytes(b"crc")
    return folder


def test_a_folder_of_parts_is_one_table_in_part_order(con, tmp_path):
    first = pa.table({"メール": ["a@x.jp", "b@x.jp"], "n": [1, 2]})
    second = pa.table({"メール": ["c@x.jp"], "n": [3]})
    folder = spark_folder(tmp_path, [first, second])
    source = Source.from_path(folder)
    loaded = load_file(con, source, "t", tmp_path)
    assert raw(con) == [("a@x.jp", "1", None), ("b@x.jp", "2", None), ("c@x.jp", "3", None)]
    assert loaded.report.rows_read == 3 and loaded.report.file == "leads.parquet"
    assert loaded.report.size_bytes == sum(p.stat().st_size for p in folder.glob("part-*"))
    assert ("notice.parquet_parts", {"parts": 2}) in loaded.report.notices


def test_a_partitioned_folder_reads_its_keys_as_columns(con, tmp_path):
    # Spark's partitionBy("dt", "region"): key=value subfolders, values percent-encoded, the
    # default partition for a blank value; the keys come last, as text exactly as written.
    folder = tmp_path / "leads.parquet"
    for dt_, region, email in [("2024-02-01", "jp", "b@x.jp"), ("2024-01-05", "us%2Fca", "a@x.jp"),
                               ("__HIVE_DEFAULT_PARTITION__", "0012", "c@x.jp")]:
        part = folder / f"dt={dt_}" / f"region={region}"
        part.mkdir(parents=True)
        pq.write_table(pa.table({"email": [email]}), part / "part-00000.snappy.parquet")
        (part / ".part-00000.snappy.parquet.crc").write_bytes(b"x")
    (folder / "_SUCCESS").write_bytes(b"")
    (folder / "_temporary").mkdir()        # an unfinished write's leftovers: not the table
    pq.write_table(pa.table({"email": ["stale@x.jp"]}), folder / "_temporary" / "part-9.parquet")
    loaded = load_file(con, Source.from_path(folder), "t", tmp_path)
    assert loaded.columns == ["email", "dt", "region"]
    # In path order: dt=2024-01-05 < dt=2024-02-01 < dt=__HIVE_DEFAULT_PARTITION__.
    assert raw(con) == [("a@x.jp", "2024-01-05", "us/ca", None), ("b@x.jp", "2024-02-01", "jp", None),
                        ("c@x.jp", None, "0012", None)]
    assert ("notice.parquet_parts", {"parts": 3}) in loaded.report.notices


def test_rows_of_many_row_groups_keep_the_file_order(con, tmp_path):
    folder = tmp_path / "big.parquet"
    folder.mkdir()
    for i in range(2):
        part = pa.table({"n": list(range(i * 50_000, (i + 1) * 50_000))})
        pq.write_table(part, folder / f"part-{i}.parquet", row_group_size=1_000)
    load_file(con, Source.from_path(folder), "t", tmp_path)
    assert rows(con, "SELECT count(*), bool_and(CAST(c0001 AS BIGINT) = rowid) FROM t") == [(100_000, True)]


@pytest.mark.parametrize(("make", "error", "key"), [
    (lambda d: None, UnreadableFileError, "error.no_parquet"),
    (lambda d: (d / "_SUCCESS").write_bytes(b""), UnreadableFileError, "error.no_parquet"),
    (lambda d: (d / "notes.txt").write_text("x"), UnreadableFileError, "error.no_parquet"),
])
def test_a_folder_without_parquet_is_a_user_error_naming_it(con, tmp_path, make, error, key):
    folder = tmp_path / "export.parquet"
    folder.mkdir()
    make(folder)
    with pytest.raises(error) as exc:
        load_file(con, Source.from_path(folder), "t", tmp_path)
    assert exc.value.key == key and exc.value.file == "export.parquet"
    assert "export.parquet" in exc.value.render("ja")


def test_parts_with_different_columns_name_the_part(con, tmp_path):
    folder = spark_folder(tmp_path, [pa.table({"a": [1]}), pa.table({"b": [1]})])
    with pytest.raises(UnreadableFileError) as exc:
        load_file(con, Source.from_path(folder), "t", tmp_path)
    assert exc.value.key == "error.parquet_parts_differ"
    assert exc.value.file == "leads.parquet/part-00001-6f1c.c000.snappy.parquet"


def good_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "good.parquet"
    pq.write_table(pa.table({"メール": [f"u{i}@x.jp" for i in range(1000)]}), path)
    return path.read_bytes()


@pytest.mark.parametrize("damage", [
    lambda b: b[: len(b) // 2],                           # a cut-off download: no footer
    lambda b: b"PAR1" + b"\x00" * 64 + b"PAR1",           # magic at both ends, no real footer
    lambda b: b[:8] + b"\xff" * (len(b) - 16) + b[-8:],   # footer length intact, footer garbage
])
def test_a_damaged_parquet_is_unreadable_naming_the_file(con, tmp_path, damage):
    path = tmp_path / "broken.parquet"
    path.write_bytes(damage(good_bytes(tmp_path)))
    with pytest.raises(UnreadableFileError) as exc:
        load_file(con, Source.from_path(path), "t", tmp_path)
    assert exc.value.file == "broken.parquet" and exc.value.key == "error.corrupt_parquet"
    assert not rows(con, "SELECT 1 FROM duckdb_tables() WHERE table_name = 't'")


def test_a_damaged_part_is_named_inside_its_folder(con, tmp_path):
    folder = spark_folder(tmp_path, [pa.table({"a": [1]}), pa.table({"a": [2]})])
    part = sorted(folder.glob("part-*"))[1]
    part.write_bytes(part.read_bytes()[:-10])
    with pytest.raises(UnreadableFileError) as exc:
        load_file(con, Source.from_path(folder), "t", tmp_path)
    assert exc.value.file == f"leads.parquet/{part.name}"


def test_content_decides_not_the_name():
    assert detect_kind(b"PAR1" + b"\x00" * 20 + b"PAR1").name == "parquet"
    assert detect_kind(b"PAR1" + b"\x00" * 20).name == "corrupt_parquet"
    assert detect_kind(b"PAR1" + b"\x00" * 20, b"\x00PAR1").name == "parquet"   # a big file's tail
    assert detect_kind(b"a,b\n1,2\n").name == "text"


@pytest.mark.parametrize(("name", "value", "key"), [
    ("max_rows", 10, "error.too_many_rows"), ("max_columns", 1, "error.too_many_columns"),
    ("saved_max_cells", 20, "error.too_many_cells")])
def test_limits_are_checked_from_the_footer(con, tmp_path, monkeypatch, name, value, key):
    path = tmp_path / "many.parquet"
    pq.write_table(pa.table({"n": list(range(11)), "m": list(range(11))}), path)
    monkeypatch.setitem(config._BY_NAME, name, dataclasses.replace(config._BY_NAME[name], default=value))
    with pytest.raises(TooLargeError) as exc:
        load_file(con, Source.from_path(path), "t", tmp_path)
    assert exc.value.key == key and exc.value.file == "many.parquet"
    assert not rows(con, "SELECT 1 FROM duckdb_tables() WHERE table_name = 't'")


def test_folder_helpers_skip_markers_checksums_and_hidden_files(tmp_path):
    for name in ("part-00001.parquet", "part-00000.parquet", "_SUCCESS", "_metadata", ".part-00000.parquet.crc",
                 ".hidden.parquet", "x.parquet.crc", "data.parquet"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub.parquet").mkdir()
    assert [p.name for p in parquet.folder_parts(tmp_path, "f")] == [
        "data.parquet", "part-00000.parquet", "part-00001.parquet"]


# -- the same analysis from a CSV and from Parquet ---------------------------------------------

def generated_pair() -> tuple[pd.DataFrame, pd.DataFrame]:
    """An MA export and an SFA export with typed columns: datetimes, dates, ints, floats with
    gaps, booleans, Japanese text, blanks."""
    rng = random.Random(7)
    sources = ["展示会", "Web広告", "紹介", "ウェビナー", None]
    ma = []
    for i in range(240):
        created = dt.datetime(2025, 4, 1, 9) + dt.timedelta(hours=rng.randrange(0, 24 * 90), minutes=rng.randrange(60))
        mql = (created + dt.timedelta(days=rng.randrange(1, 20))).date() if rng.random() < 0.5 else None
        ma.append({"メールアドレス": None if i % 37 == 0 else f"user{i % 200}@example.co.jp",
                   "流入元": rng.choice(sources), "登録日時": created, "スコア": rng.randrange(0, 100),
                   "ステータス": "MQL" if mql else "リード", "MQL日": mql, "配信同意": rng.random() < 0.7,
                   "担当者": rng.choice(["佐藤", "鈴木", "髙橋"])})
    sfa = []
    for j in range(90):
        stage = rng.choice(["6.受注", "7.失注", "3.提案"])
        amount = float(rng.randrange(1, 50) * 100_000) if rng.random() < 0.8 else float("nan")
        sfa.append({"商談 ID": f"OPP-{j:04d}", "フェーズ": stage,
                    "取引先責任者メールアドレス": f"user{rng.randrange(0, 260)}@example.co.jp",
                    "失注理由": rng.choice(["予算が合わない", "他社に決定", "時期尚早", ""]) if stage == "7.失注" else "",
                    "作成日": pd.Timestamp(2025, 4, 1) + pd.Timedelta(days=rng.randrange(0, 120)),
                    "完了予定日": dt.date(2025, 6, 1) + dt.timedelta(days=rng.randrange(0, 120)),
                    "金額": amount})
    return pd.DataFrame(ma), pd.DataFrame(sfa)


def analyze_json(capsys: pytest.CaptureFixture[str], ma: Path, sfa: Path) -> dict[str, object]:
    """The JSON of ``analyze``, the input files called ``ma`` and ``sfa`` wherever it names them
    (date orders, currencies… say which file they were found in)."""
    assert main(["analyze", "--ma", str(ma), "--sfa", str(sfa), "--json"]) == 0
    text = capsys.readouterr().out
    out: dict[str, object] = json.loads(text.replace(json.dumps(ma.name)[1:-1], "ma")
                                            .replace(json.dumps(sfa.name)[1:-1], "sfa"))
    return out


def test_analyze_json_is_the_same_for_csv_and_parquet(tmp_path, capsys):
    ma, sfa = generated_pair()
    ma.to_csv(tmp_path / "ma.csv", index=False)
    sfa.to_csv(tmp_path / "sfa.csv", index=False)
    ma.to_parquet(tmp_path / "ma.parquet", index=False)
    # The SFA side as a warehouse hands it over: a folder of two parts.
    folder = tmp_path / "sfa.parquet"
    folder.mkdir()
    sfa.iloc[:40].to_parquet(folder / "part-00000.parquet", index=False)
    sfa.iloc[40:].to_parquet(folder / "part-00001.parquet", index=False)
    (folder / "_SUCCESS").write_bytes(b"")
    from_csv = analyze_json(capsys, tmp_path / "ma.csv", tmp_path / "sfa.csv")
    from_parquet = analyze_json(capsys, tmp_path / "ma.parquet", folder)
    assert from_csv["overall"]["leads"] > 100       # type: ignore[index]
    from_csv.pop("files")
    from_parquet.pop("files")
    for key in from_csv:
        assert from_parquet[key] == from_csv[key], key
    assert from_parquet == from_csv


def test_a_corrupt_parquet_exits_2_with_one_line_naming_it(tmp_path, capsys):
    bad = tmp_path / "leads.parquet"
    bad.write_bytes(good_bytes(tmp_path)[:300])
    ma, sfa = generated_pair()
    sfa.to_csv(tmp_path / "sfa.csv", index=False)
    assert main(["analyze", "--ma", str(bad), "--sfa", str(tmp_path / "sfa.csv"), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "leads.parquet" in err and "Traceback" not in err


def test_duckdb_reads_parquet_with_its_built_in_reader(tmp_path):
    path = tmp_path / "x.parquet"
    pq.write_table(pa.table({"a": [1, 2]}), path)
    c = duckdb.connect()
    assert c.execute("SELECT sum(a) FROM read_parquet($p)", {"p": str(path)}).fetchall() == [(3,)]
    # Linked into the wheel: nothing is downloaded (the app runs offline).
    found = c.execute("SELECT install_mode FROM duckdb_extensions() WHERE extension_name = 'parquet'").fetchall()
    assert found == [("STATICALLY_LINKED",)]


def test_the_sample_exports_as_parquet_give_the_same_analysis_with_activity(tmp_path, capsys):
    """The bundled exports (a report with a title, totals and footers, an activity log) read
    into typed frames, then written as CSV and as Parquet: the same analysis, behaviour
    history and attribution included, and the same rows set aside."""
    root = Path(__file__).resolve().parents[1] / "sample_data"
    frames = {
        "ma": pd.read_csv(root / "ma_leads.csv", encoding="cp932", parse_dates=["登録日時"],
                          date_format="%Y/%m/%d %H:%M"),
        "sfa": pd.read_excel(root / "sfa_opportunities.xlsx", header=3, engine="calamine").iloc[:, 1:],
        "act": pd.read_csv(root / "activity_log.csv", encoding="cp932", parse_dates=["日時"],
                           date_format="%Y/%m/%d %H:%M"),
    }
    # The report's footer rows put text into typed columns: keep those cells as text.
    sfa = frames["sfa"]
    for c in [c for c in sfa.columns if sfa[c].dtype == "object"]:
        sfa[c] = sfa[c].map(lambda v: v if v is None or isinstance(v, str | pd.Timestamp) or pd.isna(v) else str(v))
    out = {}
    for ext in ("csv", "parquet"):
        for name, df in frames.items():
            getattr(df, f"to_{ext}")(tmp_path / f"{name}.{ext}", index=False)
        assert main(["analyze", "--ma", str(tmp_path / f"ma.{ext}"), "--sfa", str(tmp_path / f"sfa.{ext}"),
                     "--activity", str(tmp_path / f"act.{ext}"), "--json"]) == 0
        out[ext] = json.loads(capsys.readouterr().out.replace(f".{ext}", ".file"))
    files = [out[ext].pop("files") for ext in out]
    assert out["parquet"] == out["csv"]
    assert out["csv"]["behaviour"] and out["csv"]["attribution"]
    def accounting(f: dict[str, list[dict[str, object]]]) -> list[tuple[object, ...]]:
        return [(r["columns"], r["rows_read"], r["dropped"]) for side in ("ma", "sfa", "activity") for r in f[side]]

    assert accounting(files[1]) == accounting(files[0])
    assert accounting(files[0])[1][2] == {"total": 1, "blank": 1, "footer": 4}


def test_the_summary_says_parquet_not_a_sheet(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FUNNEL_LANG", "en")
    ma, sfa = generated_pair()
    ma.to_parquet(tmp_path / "ma.parquet", index=False)
    sfa.to_parquet(tmp_path / "sfa.parquet", index=False)
    assert main(["analyze", "--ma", str(tmp_path / "ma.parquet"), "--sfa", str(tmp_path / "sfa.parquet")]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "ma.parquet" in x)
    assert "Parquet, 240 data rows" in line and "sheet" not in line


@pytest.mark.parametrize("compression", ["snappy", "zstd", "none"])
def test_flipped_bytes_load_or_give_the_unreadable_message_never_a_traceback(tmp_path, compression):
    """Random damage between intact magic numbers: DuckDB raises its base Error for much of it
    ("Out of buffer", "TProtocolException"), which must still be the user's message."""
    table = pa.table({"e": [f"u{i}@x.jp" for i in range(3000)], "n": list(range(3000)),
                      "ts": [dt.datetime(2025, 1, 1) + dt.timedelta(minutes=i) for i in range(3000)]})
    pq.write_table(table, tmp_path / "g.parquet", compression=compression, row_group_size=500)
    good = (tmp_path / "g.parquet").read_bytes()
    rng = random.Random(1)
    keys = set()
    for _ in range(40):
        b = bytearray(good)
        for _ in range(rng.choice([1, 4, 32])):
            b[rng.randrange(4, len(b) - 4)] = rng.randrange(256)
        (tmp_path / "m.parquet").write_bytes(bytes(b))
        c = connect()
        try:
            load_file(c, Source.from_path(tmp_path / "m.parquet"), "t", tmp_path)
            keys.add("loaded")
        except UnreadableFileError as exc:
            assert exc.file == "m.parquet"
            keys.add(exc.key)
        finally:
            c.close()
    assert keys <= {"loaded", "error.corrupt_parquet"} and "error.corrupt_parquet" in keys


def test_a_parquet_bomb_is_refused_from_its_footer_before_a_row_is_read(con, tmp_path):
    """A few KB holding more rows than ``max_rows`` (one dictionary value, run-length encoded).
    The cell limit is the same check from the same footer (test_limits_are_checked_from_the_footer)."""
    path = tmp_path / "bomb.parquet"
    rows_over = int(config.setting("max_rows")) + 1
    column = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows_over, dtype=np.int8)), pa.array(["x" * 100]))
    pq.write_table(pa.table({"c": column}), path, compression="zstd")
    assert path.stat().st_size < 64 * 1024
    start = time.process_time()
    with pytest.raises(TooLargeError) as exc:
        load_file(con, Source.from_bytes("bomb.parquet", path.read_bytes()), "t", tmp_path)
    assert exc.value.key == "error.too_many_rows" and exc.value.file == "bomb.parquet"
    assert time.process_time() - start < 0.5
    assert [p.name for p in tmp_path.iterdir()] == ["bomb.parquet"]     # the upload's copy is gone
