"""Bad input (issue #6, point 1), one table through all three surfaces.

Every unusable file gives one clear message naming the file and the problem, in Japanese and
English: the engine raises a :class:`~funnel.errors.FunnelError` with a message key; the CLI
exits 2 with that one line on stderr (no traceback, nothing on stdout); the app shows it in an
error box and every other page keeps working on the files that could be read.

Then the odd but valid files: each is read right (exact cell values) and measured.
(tests/test_reader.py covers many more broken layouts at the engine level only.)
"""

from __future__ import annotations

import codecs
import io
import json
import os
import random
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from funnel.cli import main
from funnel.config import setting
from funnel.errors import EmptyFileError, FunnelError, NoKeyColumnError, UnreadableFileError
from funnel.i18n import t
from funnel.ingest.reader import Source
from funnel.measures import metrics
from funnel.model.workspace import Workspace
from funnel.sql import rows, scalar
from tests.conftest import ROOT
from tests.test_limits import override
from tests.test_metrics import MA, SFA
from tests.test_reader import _truncated_xlsx, _zip, column, data_rows, simple_xlsx

MA_BYTES, SFA_BYTES = MA.encode("utf-8"), SFA.encode("cp932")   # 5 leads, 3 linked: 60.0%


def encrypted_xlsx() -> bytes:
    """A password-protected workbook as Excel saves one: not a zip but an OLE2 compound file
    with the streams EncryptionInfo (agile, version 4.4) and EncryptedPackage, sector by sector
    (512-byte sectors: the FAT, the directory, then each stream's eight sectors)."""
    end, free, none = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFF
    info = (struct.pack("<HHI", 4, 4, 0x40) + b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
            b'<encryption xmlns="http://schemas.microsoft.com/office/2006/encryption"/>').ljust(4096, b"\0")
    package = struct.pack("<Q", 9000) + random.Random(6).randbytes(4088)
    fat = [0xFFFFFFFD, end]                         # sector 0: the FAT; sector 1: the directory
    starts = []
    for data in (info, package):
        starts.append(len(fat))
        fat += [len(fat) + i + 1 for i in range(len(data) // 512 - 1)] + [end]
    fat += [free] * (128 - len(fat))

    def entry(name: str, kind: int, right: int = none, child: int = none, start: int = end, size: int = 0) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0" if name else b""
        return (raw.ljust(64, b"\0") + struct.pack("<HBBIII", len(raw), kind, 1, none, right, child)
                + bytes(20) + bytes(16) + struct.pack("<IQ", start, size))

    directory = (entry("Root Entry", 5, child=1) + entry("EncryptionInfo", 2, right=2, start=starts[0], size=4096)
                 + entry("EncryptedPackage", 2, start=starts[1], size=4096) + entry("", 0, start=0))
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16) + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
              + bytes(6) + struct.pack("<9I", 0, 1, 1, 0, 4096, end, 0, end, 0)
              + struct.pack("<I", 0) + struct.pack("<I", free) * 108)
    return header + struct.pack("<128I", *fat) + directory + info + package


@dataclass(frozen=True)
class Bad:
    what: str
    name: str
    data: bytes | None                 # None: the path does not exist
    error: type[FunnelError]
    key: str
    at_build: bool = False             # read fine, but cannot be linked


BAD = [
    Bad("empty file", "empty.csv", b"", EmptyFileError, "error.empty"),
    Bad("header only", "header_only.csv", "メールアドレス,流入元\r\n".encode("cp932"), EmptyFileError, "error.header_only"),
    Bad("random bytes", "export.csv", random.Random(6).randbytes(4096), UnreadableFileError, "error.foreign"),
    Bad("a picture named .xlsx", "leads.xlsx", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
        UnreadableFileError, "error.foreign"),
    Bad("a zip named .xlsx", "leads_export.xlsx", _zip({"leads.csv": MA_BYTES}), UnreadableFileError, "error.foreign"),
    Bad("a truncated workbook", "cut.xlsx", _truncated_xlsx(), UnreadableFileError, "error.corrupt_workbook"),
    Bad("a CSV cut inside a quoted cell", "cut.csv", b'Email,Note\r\na@x.jp,"first line\r\nsecond',
        UnreadableFileError, "error.unbalanced"),
    Bad("a CSV with quotes and line ends out of order", "mixed.csv",
        b'Email,Note\na@x.jp,ok\r\nb@x.jp,"multi\nline\r\nc@x.jp,x\n', UnreadableFileError, "error.csv_broken"),
    Bad("a password-protected workbook", "secret.xlsx", encrypted_xlsx(), UnreadableFileError, "error.encrypted"),
    Bad("no email or ID column", "names.csv", "名前,流入元\n山田,展示会\n".encode(), NoKeyColumnError,
        "error.no_email_for_link", at_build=True),
    Bad("a path that does not exist", "report1642777476321.csv", None, UnreadableFileError, "error.not_found"),
]
IDS = [b.what for b in BAD]
BY_WHAT = {b.what: b for b in BAD}
UPLOADABLE = [b for b in BAD if b.data is not None and not b.at_build]


def write(bad: Bad, folder: Path) -> Path:
    """The bad file on disk (or where it would be), with a good opportunity export beside it."""
    (folder / "deals.csv").write_bytes(SFA_BYTES)
    if bad.data is None:
        return folder / "missing" / bad.name
    path = folder / bad.name
    path.write_bytes(bad.data)
    return path


def engine_error(bad: Bad, source: Source) -> FunnelError:
    with Workspace() as ws, pytest.raises(FunnelError) as info:
        ws.load("sfa", Source.from_bytes("deals.csv", SFA_BYTES))
        ws.load("ma", source)
        ws.build()
    return info.value


# -- engine ------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_engine_names_the_file_and_the_problem(bad: Bad, tmp_path: Path) -> None:
    sources = [Source.from_path(write(bad, tmp_path))]
    if bad.data is not None:
        sources.append(Source.from_bytes(bad.name, bad.data))          # as the app uploads it
    for source in sources:
        err = engine_error(bad, source)
        assert type(err) is bad.error and err.key == bad.key and err.file == bad.name
        ja, en = err.render("ja"), err.render("en")
        assert ja.startswith(f"{bad.name}: ") and en.startswith(f"{bad.name}: ") and ja != en
        assert "{" not in ja + en and "\n" not in ja + en


def test_the_encrypted_workbook_is_a_real_compound_file(tmp_path: Path) -> None:
    """libmagic parses its directory as Excel's encrypted containers (a header with the marker
    and nothing else is "Cannot read section info")."""
    import shutil

    if shutil.which("file") is None:
        pytest.skip("the file(1) command is not installed")
    data = encrypted_xlsx()
    assert len(data) == 512 * 19 and data.find("EncryptionInfo".encode("utf-16-le")) == 512 * 2 + 128
    (tmp_path / "secret.xlsx").write_bytes(data)
    r = subprocess.run(["file", "-b", str(tmp_path / "secret.xlsx")], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "CDFV2 Encrypted"


# -- command line ------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_cli_exits_2_with_one_line_on_stderr(bad: Bad, tmp_path: Path, capsys, monkeypatch) -> None:
    path = write(bad, tmp_path)
    expected = engine_error(bad, Source(bad.name, path=path))
    for lang, extra in (("ja", []), ("en", []), ("en", ["--json"])):
        monkeypatch.setenv("FUNNEL_LANG", lang)
        code = main(["analyze", "--ma", str(path), "--sfa", str(tmp_path / "deals.csv"), *extra])
        out, err = capsys.readouterr()
        assert (code, out) == (2, "")
        assert err == f"{t('cli.error_prefix', lang)}: {expected.render(lang)}\n"


@pytest.mark.parametrize("bad, lang", [(BY_WHAT["a password-protected workbook"], "ja"),
                                       (BY_WHAT["a path that does not exist"], "en"),
                                       (BY_WHAT["no email or ID column"], "ja")],
                         ids=["encrypted-ja", "missing-en", "no-key-ja"])
def test_cli_as_a_real_process(bad: Bad, lang: str, tmp_path: Path) -> None:
    path = write(bad, tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FUNNEL_LANG": lang}
    r = subprocess.run([sys.executable, "-m", "funnel", "analyze", "--ma", str(path), "--sfa",
                        str(tmp_path / "deals.csv")], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    expected = engine_error(bad, Source(bad.name, path=path))
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == f"{t('cli.error_prefix', lang)}: {expected.render(lang)}\n"
    assert "Traceback" not in r.stderr


# -- the app -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def session():
    """One app session, on uploaded exports (5 leads, 3 linked), reused by the bad uploads."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    at.file_uploader(key="up_sfa").set_value([("deals.csv", SFA_BYTES, "text/csv")]).run()
    at.file_uploader(key="up_ma").set_value([("leads.csv", MA_BYTES, "text/csv")]).run()
    assert not at.exception and not at.error
    return at


def rate_page_numbers(at) -> list[str]:
    at.switch_page("views/rate.py").run()
    assert not at.exception
    return [m.value for m in at.metric][:3]


@pytest.mark.parametrize("bad", UPLOADABLE, ids=[b.what for b in UPLOADABLE])
def test_app_shows_an_error_box_and_keeps_working(session, bad: Bad) -> None:
    at = session
    expected = engine_error(bad, Source.from_bytes(bad.name, bad.data or b""))
    at.switch_page("views/upload.py").run()
    at.file_uploader(key="up_ma").set_value([("leads.csv", MA_BYTES, "text/csv"),
                                             (bad.name, bad.data, "application/octet-stream")]).run()
    assert not at.exception
    assert [e.value for e in at.error] == [expected.render("ja")]
    assert any(lab.startswith("leads.csv — ") for lab in (e.label for e in at.expander))
    # Every page goes on with the file that could be read.
    assert rate_page_numbers(at) == ["5", "3", "60.0%"]
    at.switch_page("views/stages.py").run()
    assert not at.exception and not at.error


def test_app_without_a_key_column_says_so_on_every_page_and_recovers(session) -> None:
    at = session
    bad = BY_WHAT["no email or ID column"]
    expected = engine_error(bad, Source.from_bytes(bad.name, bad.data or b""))
    at.switch_page("views/upload.py").run()
    at.file_uploader(key="up_ma").set_value([(bad.name, bad.data, "text/csv")]).run()
    assert not at.exception
    assert expected.render("ja") in [e.value for e in at.error]
    assert rate_page_numbers(at) == []
    assert [e.value for e in at.error] == [expected.render("ja")]
    at.switch_page("views/upload.py").run()
    at.file_uploader(key="up_ma").set_value([("leads.csv", MA_BYTES, "text/csv")]).run()
    assert not at.exception and not at.error
    assert rate_page_numbers(at) == ["5", "3", "60.0%"]


def test_app_names_every_bad_upload_in_both_languages(app) -> None:
    """(After the tests on the shared session: the app fixture clears its workspace.)
    All the bad files at once beside a good one. English last: AppTest evaluates a widget's
    format_func outside the session, in Japanese, so it cannot run a page again after it."""
    app.file_uploader(key="up_sfa").set_value([("deals.csv", SFA_BYTES, "text/csv")]).run()
    app.file_uploader(key="up_ma").set_value([("leads.csv", MA_BYTES, "text/csv")] + [
        (b.name, b.data, "application/octet-stream") for b in UPLOADABLE]).run()
    assert not app.exception
    errors = [engine_error(b, Source.from_bytes(b.name, b.data or b"")) for b in UPLOADABLE]
    assert len({e.file for e in errors}) == len(UPLOADABLE) == 9
    assert [e.value for e in app.error] == [e.render("ja") for e in errors]
    app.session_state["lang"] = "en"
    app.run()
    assert not app.exception
    assert [e.value for e in app.error] == [e.render("en") for e in errors]
    assert app.title[0].value == "Upload & mapping"


# -- odd but valid files -----------------------------------------------------------------------

def analyse(ma: Source, overrides: dict | None = None) -> tuple[Workspace, metrics.Rate]:
    ws = Workspace()
    ws.load("ma", ma)
    ws.load("sfa", Source.from_bytes("deals.csv", SFA_BYTES))
    ws.build(overrides)
    return ws, metrics.overall(ws.con)


HOSTILE = '"); DROP TABLE leads; --'


def test_hostile_column_names_are_only_names() -> None:
    header = f'"{HOSTILE.replace(chr(34), chr(34) * 2)}",流入元,,"Na""me",流入元,"a,b"'
    body = "".join(f"{e},{s},x,y,z,w\n" for e, s in [
        ("a@x.jp", "展示会"), ("A@X.JP", "Web広告"), ("b@x.jp", "展示会"), ("c@x.jp", "Web広告"),
        ("d@x.jp", ""), ("e@x.jp", "紹介")])
    ws, rate = analyse(Source.from_bytes("hostile.csv", (header + "\n" + body).encode()),
                       {"ma": {"email": HOSTILE}})
    try:
        lt = ws.files["ma"][0]
        assert lt.columns == [HOSTILE, "流入元", "col_3", 'Na"me', "流入元 (2)", "a,b"]
        assert column(ws.con, lt, HOSTILE) == ["a@x.jp", "A@X.JP", "b@x.jp", "c@x.jp", "d@x.jp", "e@x.jp"]
        assert ws.build_result.link.ma_column == HOSTILE
        assert (rate.leads, rate.converted) == (5, 3)          # a, b, c linked (O1, O5, O2/O3)
        assert scalar(ws.con, "SELECT count(*) FROM leads") == 5   # the table is still there
    finally:
        ws.close()


def test_hostile_column_name_through_the_cli(tmp_path: Path, capsys, monkeypatch) -> None:
    (tmp_path / "leads.csv").write_text(MA.replace("メールアドレス", f'"{HOSTILE.replace(chr(34), chr(34) * 2)}"', 1),
                                        encoding="utf-8")
    (tmp_path / "deals.csv").write_bytes(SFA_BYTES)
    monkeypatch.setenv("FUNNEL_LANG", "en")
    code = main(["analyze", "--ma", str(tmp_path / "leads.csv"), "--sfa", str(tmp_path / "deals.csv"),
                 "--map", f"ma.email={HOSTILE}", "--json"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["overall"] == {"leads": 5, "converted": 3, "opportunity_rate": 0.6}
    assert data["link"]["ma_column"] == HOSTILE


FORMULA = '=HYPERLINK("http://x","y")'


def test_formula_cells_stay_text_and_are_neutralised_in_downloads(app, downloads) -> None:
    ma = MA.replace("展示会", f'"{FORMULA.replace(chr(34), chr(34) * 2)}"')
    ws, rate = analyse(Source.from_bytes("leads.csv", ma.encode()))
    try:
        assert [r.group for r in metrics.by_source(ws.con)].count(FORMULA) == 1
        assert (rate.leads, rate.converted) == (5, 3)
    finally:
        ws.close()
    app.file_uploader(key="up_sfa").set_value([("deals.csv", SFA_BYTES, "text/csv")]).run()
    app.file_uploader(key="up_ma").set_value([("leads.csv", ma.encode(), "text/csv")]).run()
    app.switch_page("views/rate.py").run()
    assert not app.exception
    shown = next(d.value for d in app.dataframe if FORMULA in set(d.value.iloc[:, 0].astype(str)))
    assert FORMULA in set(shown.iloc[:, 0])                   # on screen: the text as exported
    csv_cells = pd.read_csv(io.BytesIO(downloads["opportunity_rate_by_source.csv"]), encoding="utf-8-sig",
                            dtype=str, keep_default_na=False)
    assert "'" + FORMULA in set(csv_cells.iloc[:, 0]) and FORMULA not in set(csv_cells.iloc[:, 0])
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(downloads["opportunity_rate_by_source.xlsx"]))
    cells = [c.value for c in next(iter(book.worksheets[0].iter_cols(min_col=1, max_col=1)))]
    assert "'" + FORMULA in cells and all(c is None or not str(c).startswith("=") for c in cells)


def test_utf16_le_with_tabs() -> None:
    text = "メールアドレス\t流入元\t会社名\r\n" + "".join(
        f"{e}\t{s}\t{c}\r\n" for e, s, c in [("a@x.jp", "展示会", "㈱髙橋製作所"), ("b@x.jp", "展示会", "①商事"),
                                             ("c@x.jp", "Web広告", "株式会社サンプル"), ("z9@x.jp", "紹介", "合同会社テスト")])
    ws, rate = analyse(Source.from_bytes("hubspot.tsv", codecs.BOM_UTF16_LE + text.encode("utf-16-le")))
    try:
        lt = ws.files["ma"][0]
        assert (lt.report.encoding, lt.report.delimiter) == ("UTF-16 (BOM)", "\t")
        assert data_rows(ws.con, lt)[0] == ("a@x.jp", "展示会", "㈱髙橋製作所")
        assert column(ws.con, lt, "会社名") == ["㈱髙橋製作所", "①商事", "株式会社サンプル", "合同会社テスト"]
        assert (rate.leads, rate.converted) == (4, 3)            # a (O1), b (O5), c (O2, O3); z9 none
    finally:
        ws.close()


def test_one_ten_megabyte_cell(monkeypatch) -> None:
    note = ("長い備考,\r\n" + "x" * 1000) * 10_400               # commas and CRLFs inside
    ma = MA.replace("担当者\n", "担当者,備考\n").replace("佐藤\n", "佐藤,\n").replace("鈴木\n", "鈴木,\n")
    ma = ma.replace("商談化,,,\n", f'商談化,,,,"{note}"\n')
    data = ma.encode("utf-8")
    assert 10 * 1024**2 < len(note.encode()) < setting("max_line_bytes")     # 10.06 MiB, under 64 MiB
    ws, rate = analyse(Source.from_bytes("memo.csv", data))
    try:
        lt = ws.files["ma"][0]
        assert (lt.report.rows_read, lt.report.dropped) == (8, {})
        assert column(ws.con, lt, "備考")[-1] == note
        assert (rate.leads, rate.converted) == (5, 3)
    finally:
        ws.close()
    # A first read with shorter lines (its buffers let DuckDB use two threads) meets the long
    # line and reads the file again with max_line_bytes: the same rows.
    override(monkeypatch, "csv_first_line_bytes", 1024**2)
    with Workspace() as ws:
        lt = ws.load("ma", Source.from_bytes("memo.csv", data))
        assert (lt.report.rows_read, lt.report.dropped) == (8, {})
        assert column(ws.con, lt, "備考")[-1] == note
    # Above max_line_bytes the line is set aside with its reason, not lost.
    override(monkeypatch, "max_line_bytes", 1024**2)
    with Workspace() as ws:
        lt = ws.load("ma", Source.from_bytes("memo.csv", data))
        assert (lt.report.rows_read, lt.report.dropped) == (7, {"malformed": 1})


def test_three_hundred_columns() -> None:
    header = [f"項目{i}" for i in range(300)]
    header[150], header[299] = "メールアドレス", "流入元"
    leads = [("a@x.jp", "展示会"), ("b@x.jp", "展示会"), ("c@x.jp", "Web広告"), ("q@x.jp", "紹介")]
    table = [header] + [[e if j == 150 else s if j == 299 else f"r{i}c{j}" for j in range(300)]
                        for i, (e, s) in enumerate(leads)]
    csv_text = "\n".join(",".join(r) for r in table) + "\n"
    for source in (Source.from_bytes("wide.csv", csv_text.encode()), Source.from_bytes("wide.xlsx", simple_xlsx(table))):
        ws, rate = analyse(source)
        try:
            lt = ws.files["ma"][0]
            assert lt.columns == header
            assert data_rows(ws.con, lt)[3][298:] == ("r3c298", "紹介")
            assert column(ws.con, lt, "メールアドレス") == [e for e, _ in leads]
            assert {r.group: (r.leads, r.converted) for r in metrics.by_source(ws.con)} == {
                "展示会": (2, 2), "Web広告": (1, 1), "紹介": (1, 0)}     # a (O1), b (O5), c (O2, O3)
            assert (rate.leads, rate.converted) == (4, 3)
        finally:
            ws.close()


def test_crlf_inside_quoted_cells() -> None:
    data = ('メールアドレス,流入元,備考\r\n'
            'a@x.jp,展示会,"1行目\r\n2行目"\r\n'
            'b@x.jp,"展示会\r\n(東京)","""引用"", カンマ"\r\n'
            'c@x.jp,Web広告,\r\n').encode("cp932")
    ws, rate = analyse(Source.from_bytes("notes.csv", data))
    try:
        lt = ws.files["ma"][0]
        assert lt.report.encoding == "CP932 (Shift_JIS)" and lt.report.dropped == {}
        assert data_rows(ws.con, lt) == [("a@x.jp", "展示会", "1行目\r\n2行目"),
                                         ("b@x.jp", "展示会\r\n(東京)", '"引用", カンマ'), ("c@x.jp", "Web広告", None)]
        assert (rate.leads, rate.converted) == (3, 3)
        assert rows(ws.con, "SELECT count(*) FROM links")[0][0] == 4    # O1, O5, O2 and O3
    finally:
        ws.close()
