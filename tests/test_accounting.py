"""Nothing lost (issue #6, point 2): on every file we have, each row below the header is
accounted for, and the rows that cannot be used can be listed with their reason.

For one side of a built workspace:

    records below the header in the file = data rows + rows set aside (footers, totals, blank…)
    data rows = rows merged into leads/opportunities + rows without a key

The number of records is counted here without the engine (Python's csv module, or openpyxl
for a workbook), the merged rows are the sum of ``leads.rows``/``opps.rows``, and the two lists
the upload page shows and offers for download (:func:`funnel.model.accounting.set_aside_rows`,
:func:`funnel.model.accounting.rows_without_key`) must hold exactly the rows the report counts.

Every file of ``tests/fixtures/``, ``sample_data/`` and ``../shared/real_exports/`` is loaded
on the side its name suggests (opportunities, deals, a pipeline: SFA; anything else: MA) next
to the sample export of the other side. Files without an email column are linked on their
first column (a pair of ID columns), so that "rows without a key" is still meaningful.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from funnel.errors import EmptyFileError, NoKeyColumnError
from funnel.i18n import t
from funnel.ingest.reader import LoadedTable, Source
from funnel.model.accounting import account, rows_without_key, set_aside_rows
from funnel.model.link import LinkSpec
from funnel.model.workspace import Workspace
from funnel.sql import scalar
from funnel.vocabulary import INPUTS
from tests.conftest import REAL, ROOT, SAMPLE

FIXTURES = ROOT / "tests" / "fixtures"
SAMPLE_SIDE = {"ma": SAMPLE / "ma_leads.csv", "sfa": SAMPLE / "sfa_opportunities.xlsx"}
SFA_NAME = re.compile(r"opp|deal|pipeline", re.IGNORECASE)


def _files(folder: Path) -> list[Path]:
    if not folder.exists():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() not in (".md", ".py"))


def _param(path: Path) -> object:
    for base, label in ((FIXTURES, "fixtures"), (SAMPLE, "sample_data"), (REAL, "real_exports")):
        if path.is_relative_to(base):
            marks = [pytest.mark.real] if label == "real_exports" else []
            return pytest.param(path, id=f"{label}/{path.relative_to(base)}", marks=marks)
    raise AssertionError(path)


LOCAL = _files(FIXTURES) + _files(SAMPLE)
REAL_FILES = _files(REAL)
# The real exports of headers_only/ hold a header and no rows (their rows were personal data).
HEADER_ONLY = [p for p in REAL_FILES if p.parent.name == "headers_only"]


def side_of(path: Path) -> str:
    return "sfa" if SFA_NAME.search(path.name) else "ma"


# -- counting without the engine ---------------------------------------------------------------

def _text(data: bytes) -> str:
    """The file as text, for counting records only: quotes, delimiters and line ends are ASCII
    in UTF-8, CP932, EUC-JP and Windows-1252 alike, so Latin-1 splits them the same way."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    head = data[:4096]
    if head[1::2].count(0) > len(head) // 4:
        return data.decode("utf-16-le")
    if head[0::2].count(0) > len(head) // 4:
        return data.decode("utf-16-be")
    return data.removeprefix(codecs.BOM_UTF8).decode("latin-1")


def records_below_header(path: Path, lt: LoadedTable) -> int:
    """Records after the header row, counted by the csv module or openpyxl.

    A completely empty text line holds no cell and is not a record (see tests/test_reader.py);
    in a sheet, rows after the last non-empty one are not part of the table.
    """
    rep = lt.report
    if rep.kind == "csv":
        assert rep.delimiter is not None
        recs = list(csv.reader(io.StringIO(_text(path.read_bytes()), newline=""), delimiter=rep.delimiter))
        return sum(1 for r in recs[rep.header_row:] if r != [])
    assert rep.kind == "xlsx", rep.kind
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = list(wb[rep.sheet].iter_rows(values_only=True))
    finally:
        wb.close()
    filled = [i for i, r in enumerate(rows) if any(v is not None and str(v).strip() for v in r)]
    return filled[-1] + 1 - rep.header_row


# -- the identity ------------------------------------------------------------------------------

def build(path: Path) -> tuple[Workspace, str, LoadedTable]:
    side = side_of(path)
    other = "sfa" if side == "ma" else "ma"
    ws = Workspace()
    lt = ws.load(side, Source.from_path(path))
    ws.load(other, Source.from_path(SAMPLE_SIDE[other]))
    try:
        ws.build()
    except NoKeyColumnError:
        first = {s: ws.files[s][0].columns[0] for s in ("ma", "sfa")}
        ws.build(link=LinkSpec("id", first["ma"], first["sfa"]))
    return ws, side, lt


def assert_accounted(path: Path) -> None:
    ws, side, lt = build(path)
    try:
        rep = lt.report
        acc = account(ws, side)
        assert acc.balanced, acc
        # Every record below the header is a data row or a row set aside, by an independent count.
        assert rep.rows_read + rep.rows_dropped == records_below_header(path, lt), rep
        # The build kept every data row: merged into a lead/opportunity or without a key.
        merged = scalar(ws.con, f"SELECT coalesce(sum(rows), 0) FROM {'leads' if side == 'ma' else 'opps'}")
        assert acc.data_rows == rep.rows_read
        assert (acc.keyed_rows, acc.set_aside) == (merged, rep.rows_dropped)
        assert acc.keys == scalar(ws.con, f"SELECT count(*) FROM {'leads' if side == 'ma' else 'opps'}")
        # The rows the upload page lists (and offers for download) are exactly those counted.
        aside = set_aside_rows(ws, side)
        assert len(aside) == rep.rows_dropped
        assert Counter(r["reason"] for r in aside) == Counter(rep.dropped)
        assert {r["file"] for r in aside} <= {path.name}
        assert all(r["text"] is not None for r in aside)
        nokey = rows_without_key(ws, side)
        assert len(nokey) == acc.without_key == ws.build_result.counts[side].rows_without_key
        rows_of_file = rep.rows_read
        assert all(1 <= r["row"] <= rows_of_file + rep.rows_dropped for r in nokey)
    finally:
        ws.close()


@pytest.mark.parametrize("path", [_param(p) for p in LOCAL])
def test_every_fixture_and_sample_file_is_accounted_for(path: Path) -> None:
    assert_accounted(path)


@pytest.mark.parametrize("path", [_param(p) for p in REAL_FILES if p not in HEADER_ONLY])
def test_every_real_export_is_accounted_for(path: Path) -> None:
    assert_accounted(path)


@pytest.mark.parametrize("path", [_param(p) for p in HEADER_ONLY])
def test_header_only_real_exports_are_refused_with_a_message(path: Path) -> None:
    with Workspace() as ws, pytest.raises(EmptyFileError) as info:
        ws.load(side_of(path), Source.from_path(path))
    assert info.value.key == "error.header_only"
    assert ws.files == {kind: [] for kind in INPUTS}
    for lang in ("ja", "en"):
        assert info.value.render(lang).startswith(f"{path.name}: ")


def test_real_exports_are_there_or_skipped() -> None:
    if not REAL.exists():
        pytest.skip(f"real exports not available: {REAL} (../shared/real_exports is test data kept outside "
                    "the project)")
    assert len(REAL_FILES) >= 30 and len(HEADER_ONLY) == 8


# -- a hand-checked case -----------------------------------------------------------------------

HAND = ("Email,Source,Company\n"
        "a@x.jp,Web,A\n"
        "A@X.JP,Seminar,A\n"
        ",Web,B\n"
        "Email,Source,Company\n"
        "bad-email,Web,C\n"
        ",,\n"
        "c@x.jp,Web,D,extra\n"
        "d@x.jp,Ads,E\n"
        "e@x.jp,Ads,F\n"
        "Total,6,\n"
        "\n"
        "Confidential Information - Do Not Distribute\n"
        "Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved.\n")


def test_hand_counted_file_with_every_kind_of_row(tmp_path: Path) -> None:
    """12 records below the header: 6 data rows (one person twice, one blank and one invalid
    email), a repeated header, a line of empty cells, a line with too many fields, a total, a
    blank line (not a record) and a two-line footer."""
    path = tmp_path / "leads.csv"
    path.write_text(HAND, encoding="utf-8")
    ws, side, lt = build(path)
    try:
        acc = account(ws, side)
        assert records_below_header(path, lt) == 12
        assert (acc.file_rows, acc.set_aside, acc.data_rows, acc.keyed_rows, acc.without_key, acc.keys) == (
            12, 6, 6, 4, 2, 3)
        assert lt.report.dropped == {"repeated_header": 1, "blank": 1, "malformed": 1, "total": 1, "footer": 2}
        aside = {(r["reason"], r["text"]) for r in set_aside_rows(ws, side)}
        assert ("malformed", "c@x.jp,Web,D,extra") in aside
        assert {r["value"]: r["reason"] for r in rows_without_key(ws, side)} == {
            None: "email_blank", "bad-email": "email_invalid"}
    finally:
        ws.close()


def test_the_upload_page_shows_and_offers_every_row_not_used(app, downloads) -> None:
    from tests.test_metrics import SFA

    app.file_uploader(key="up_sfa").set_value([("deals.csv", SFA.encode("cp932"), "text/csv")]).run()
    app.file_uploader(key="up_ma").set_value([("leads.csv", HAND.encode(), "text/csv")]).run()
    assert not app.exception
    assert "MA（リード）: 除外した行 6 行・キーのない行 2 行を見る" in [e.label for e in app.expander]
    acc = next(d.value for d in app.dataframe if "合計一致" in d.value.columns).iloc[0]
    assert (acc["ファイルの行"], acc["除外した行"], acc["データ行"], acc["キーのない行"], acc["合計一致"]) == (
        12, 6, 6, 2, "✅")
    aside = pd.read_csv(io.BytesIO(downloads["set_aside_ma.csv"]), encoding="utf-8-sig", dtype=str)
    assert list(aside.columns) == ["ファイル", "位置", "理由", "内容"]
    assert len(aside) == 6 and set(aside["ファイル"]) == {"leads.csv"}
    assert sorted(aside["理由"]) == sorted(t(f"drop.{r}", "ja") for r in (
        "repeated_header", "blank", "malformed", "total", "footer", "footer"))
    assert "c@x.jp,Web,D,extra" in set(aside["内容"])
    nokey = pd.read_csv(io.BytesIO(downloads["rows_without_key_ma.csv"]), encoding="utf-8-sig", dtype=str,
                        keep_default_na=False)
    assert sorted(zip(nokey["値"], nokey["理由"], strict=True)) == [
        ("", "メールアドレスが空"), ("bad-email", "メールアドレスとして無効")]
