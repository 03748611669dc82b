"""Limits (issue #6, point 6): too many rows, decompression bombs, DuckDB memory and threads per
session, and the upload size, each refused with a message that names the file.

Settings are overridden the way a deployment would change them, by replacing the declared
setting (``funnel.config``), never by editing a literal in the code under test.
"""

from __future__ import annotations

import dataclasses
import io
import random
import tomllib
import zipfile
from typing import Any

import duckdb
import pytest

from funnel import config
from funnel.config import setting
from funnel.errors import FunnelError, TooLargeError
from funnel.ingest import sheets as workbook
from funnel.ingest.reader import Source
from funnel.model.workspace import Workspace
from funnel.sql import connect, rows, run, scalar
from funnel.vocabulary import INPUTS
from tests.conftest import ROOT
from tests.hostile_files import xlsx_zip_bomb
from tests.test_metrics import MA, SFA
from tests.test_reader import simple_xlsx


def override(monkeypatch: pytest.MonkeyPatch, name: str, value: Any) -> None:
    """Change the value of a declared setting for one test."""
    monkeypatch.setitem(config._BY_NAME, name, dataclasses.replace(config._BY_NAME[name], default=value))


def tables(ws: Workspace) -> list[str]:
    return sorted(r[0] for r in rows(ws.con, "SELECT table_name FROM duckdb_tables()"))


def leads_csv(n: int) -> bytes:
    return ("メールアドレス,流入元\n" + "".join(f"u{i}@example.jp,展示会\n" for i in range(n))).encode("cp932")


def assert_refused(exc: FunnelError, file: str, key: str, **params: Any) -> None:
    assert (exc.file, exc.key, exc.params) == (file, key, params)
    for lang in ("ja", "en"):
        text = exc.render(lang)
        assert text.startswith(f"{file}: ") and "{" not in text
        for value in params.values():
            assert str(value) in text


# -- rows --------------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["upload", "path"])
def test_a_csv_over_max_rows_is_refused_and_leaves_nothing_behind(monkeypatch, tmp_path, how):
    override(monkeypatch, "max_rows", 1000)
    path = tmp_path / "leads_sjis.csv"
    path.write_bytes(leads_csv(1001))
    source = Source.from_path(path) if how == "path" else Source.from_bytes(path.name, path.read_bytes())
    with Workspace() as ws:
        with pytest.raises(TooLargeError) as info:
            ws.load("ma", source)
        assert_refused(info.value, "leads_sjis.csv", "error.too_many_rows", limit="1,000")
        # No partial table (nor its rejects or lines tables), no transcoded copy, nothing listed.
        assert tables(ws) == [] and ws.files == {kind: [] for kind in INPUTS}
        assert sorted(p.name for p in ws.workdir.iterdir() if p.name != "duckdb") == []
        # The workspace keeps working: a file exactly at the limit is read whole.
        loaded = ws.load("ma", Source.from_bytes("at_limit.csv", leads_csv(1000)))
        assert (loaded.report.rows_read, loaded.report.dropped) == (1000, {})
        assert scalar(ws.con, f"SELECT count(*) FROM {loaded.table}") == 1000


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize(("n", "last"), [(999, True), (1000, True), (1000, False), (1001, True), (1001, False)])
def test_the_row_limit_holds_whether_or_not_the_read_needs_its_limit(monkeypatch, newline, n, last):
    """A file whose lines cannot make more than max_rows rows is read without the LIMIT (which
    keeps DuckDB on one thread); one that might is read with it. Every line ending counts as
    one line, and a last line without one too."""
    from funnel.ingest import reader
    from funnel.sql import ingest as sql_ingest

    override(monkeypatch, "max_rows", 1000)
    limits: list[int | None] = []
    real = sql_ingest.create_from_csv

    def spy(*args: Any, **kwargs: Any) -> None:
        limits.append(kwargs["max_rows"])
        real(*args, **kwargs)

    monkeypatch.setattr(reader.ingest, "create_from_csv", spy)
    text = newline.join(["メールアドレス,流入元"] + [f"u{i}@example.jp,展示会" for i in range(n)]) + (newline if last else "")
    with Workspace() as ws:
        if n > 1000:
            with pytest.raises(TooLargeError):
                ws.load("ma", Source.from_bytes("leads.csv", text.encode()))
        else:
            assert ws.load("ma", Source.from_bytes("leads.csv", text.encode())).report.rows_read == n
    assert limits == [None if n <= 1000 else 1000]     # header + n lines, however they end


def test_an_xlsx_over_max_rows_is_refused_and_one_at_the_limit_is_read(monkeypatch):
    override(monkeypatch, "max_rows", 5)
    table = [["Email", "Source"]] + [[f"u{i}@example.jp", "Web"] for i in range(6)]
    with Workspace() as ws:
        with pytest.raises(TooLargeError) as info:
            ws.load("ma", Source.from_bytes("leads.xlsx", simple_xlsx(table)))
        assert_refused(info.value, "leads.xlsx", "error.too_many_rows", limit="5")
        assert tables(ws) == [] and ws.files["ma"] == []
        loaded = ws.load("ma", Source.from_bytes("leads5.xlsx", simple_xlsx(table[:6])))
        assert loaded.report.rows_read == 5


@pytest.mark.parametrize("how", ["remove", "clear"])
@pytest.mark.parametrize("extra", ["a@x.jp,展示会,余分な列\n", ""])
def test_a_removed_file_leaves_no_table_behind(how, extra):
    """A file taken out of the session takes its rows with it, its set-aside lines included,
    and the (empty) rejects tables a clean CSV's read leaves."""
    data = leads_csv(3) + extra.encode("cp932")
    with Workspace() as ws:
        loaded = ws.load("ma", Source.from_bytes("leads.csv", data))
        assert loaded.report.rows_dropped == (1 if extra else 0)
        assert any(name.startswith(loaded.table + "_") for name in tables(ws))
        ws.remove("ma", loaded.table) if how == "remove" else ws.clear()
        assert tables(ws) == [] and ws.files == {kind: [] for kind in INPUTS}


def test_the_default_row_limit_is_in_the_message():
    err = TooLargeError("big.csv", key="error.too_many_rows", limit=f"{setting('max_rows'):,}")
    assert err.render("ja") == ("big.csv: 行数が上限の 5,000,000 行を超えています。期間や条件で分けてエクスポートし、"
                                "複数のファイルとして読み込んでください")
    assert err.render("en").startswith("big.csv: the file has more than 5,000,000 rows (the limit)")


# -- decompression bombs -----------------------------------------------------------------------

@pytest.fixture
def readers(monkeypatch) -> list[str]:
    """Names of the workbook readers called (calamine, openpyxl), still reading for real."""
    called: list[str] = []
    for name in ("_read_calamine", "_read_openpyxl"):
        real = getattr(workbook, name)

        def spy(data: bytes, _real=real, _name=name) -> Any:
            called.append(_name)
            return _real(data)
        monkeypatch.setattr(workbook, name, spy)
    return called


def test_the_bomb_builder_makes_a_real_workbook(readers):
    data = xlsx_zip_bomb(2)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None                           # every CRC and size is right
        assert zf.getinfo("xl/worksheets/sheet1.xml").file_size > 2 * 1024**2
    with Workspace() as ws:
        loaded = ws.load("ma", Source.from_bytes("small.xlsx", data))
        assert loaded.report.rows_read == 1 and loaded.columns == ["Email", "Name"]
    # The app parses in a child process (funnel.ingest.sandbox); which reader: asked here.
    assert len(workbook.read_workbook(data, "small.xlsx", "xlsx")[0].rows) == 2
    assert readers == ["_read_calamine"]


def test_a_zip_bomb_is_refused_before_it_is_read(readers):
    data = xlsx_zip_bomb(1024)                                    # 1 GiB of sheet XML
    assert len(data) < 2 * 1024**2
    with Workspace() as ws:
        with pytest.raises(TooLargeError) as info:
            ws.load("ma", Source.from_bytes("invoice.xlsx", data))
        assert_refused(info.value, "invoice.xlsx", "error.zip_bomb", size_mb=1024)
        assert tables(ws) == [] and ws.files["ma"] == []
    with pytest.raises(TooLargeError):
        workbook.read_workbook(data, "invoice.xlsx", "xlsx")
    assert readers == []                                      # nothing decompressed it


def test_a_workbook_over_the_absolute_cap_is_refused_whatever_its_ratio(monkeypatch, readers):
    monkeypatch.setattr(workbook, "MAX_EXPANDED_BYTES", 1024**2)
    noise = random.Random(6).randbytes(2 * 1024**2)           # incompressible: ratio about 1
    base = zipfile.ZipFile(io.BytesIO(simple_xlsx([["Email"], ["a@x.com"]])))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in base.namelist():
            zf.writestr(name, base.read(name))
        zf.writestr("xl/media/image1.png", noise)
    with pytest.raises(TooLargeError) as info:
        workbook.read_workbook(buf.getvalue(), "photos.xlsx", "xlsx")
    assert_refused(info.value, "photos.xlsx", "error.zip_bomb", size_mb=2)
    assert readers == []


def test_an_ordinary_workbook_over_the_ratio_floor_is_read(monkeypatch, readers):
    monkeypatch.setattr(workbook, "RATIO_FLOOR", 256 * 1024)
    data = simple_xlsx([["Email", "Name", "Note"]] + [[f"u{i}@example.jp", f"User {i}", f"memo {i}"]
                                                      for i in range(3000)])
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        expanded = sum(i.file_size for i in zf.infolist())
    assert workbook.RATIO_FLOOR < expanded < workbook.MAX_RATIO * len(data)
    sheets = workbook.read_workbook(data, "leads.xlsx", "xlsx")
    assert len(sheets[0].rows) == 3001 and readers == ["_read_calamine"]


def sparse_xlsx(*cells: bytes, rows: int = 3) -> bytes:
    """A small workbook with extra ``<row>`` elements (raw XML) after its table."""
    table = [["Email", "Name"]] + [[f"u{i}@x.com", "A"] for i in range(rows - 1)]
    base = zipfile.ZipFile(io.BytesIO(simple_xlsx(table)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in base.namelist():
            data = base.read(name)
            if name == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", b"".join(cells) + b"</sheetData>")
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize("cells, rows, cols", [
    # One far cell: calamine would allocate 16384 × 1048576 cells (550 GB) and abort the process.
    ([b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'], "1,048,576", "16,384"),
    ([b'<row r="100000"><c r="ZZ100000"><v>1</v></c></row>'], "100,000", "702"),       # 2.2 GB
    # Other spellings of the same attribute.
    ([b"<row r='9'><c\tr='zz100000'><v>1</v></c></row>"], "100,000", "702"),
    ([b'<row r="9"><c r = "ZZ100000"><v>1</v></c></row>'], "100,000", "702"),
    # A far row early, the wide column later: the grid is their product.
    ([b'<row r="4"><c r="A1000000"><v>1</v></c></row>', b'<row r="5"><c r="ZZ5"><v>1</v></c></row>'],
     "1,000,000", "702"),
    ([b'<row r="1"><c r="A4000000000"><v>1</v></c></row>'], "4,000,000,000", "2"),
])
def test_a_sheet_with_a_far_away_cell_is_refused_before_it_is_read(readers, cells, rows, cols):
    with Workspace() as ws:
        with pytest.raises(TooLargeError) as info:
            ws.load("ma", Source.from_bytes("far.xlsx", sparse_xlsx(*cells)))
        assert_refused(info.value, "far.xlsx", "error.sheet_too_big", rows=rows, cols=cols,
                       limit=f"{workbook.MAX_CELLS:,}")
        assert tables(ws) == []
    with pytest.raises(TooLargeError):
        workbook.read_workbook(sparse_xlsx(*cells), "far.xlsx", "xlsx")
    assert readers == []


def test_the_cell_limit_is_exact(monkeypatch, readers):
    monkeypatch.setattr(workbook, "MAX_CELLS", 1000)
    at_limit = sparse_xlsx(b'<row r="100"><c r="J100"><v>1</v></c></row>')      # 100 rows × 10 columns
    sheets = workbook.read_workbook(at_limit, "ok.xlsx", "xlsx")
    assert (len(sheets[0].rows), len(sheets[0].rows[0])) == (100, 10)
    with pytest.raises(TooLargeError) as info:
        workbook.read_workbook(sparse_xlsx(b'<row r="101"><c r="J101"><v>1</v></c></row>'), "over.xlsx", "xlsx")
    assert info.value.params == {"rows": "101", "cols": "10", "limit": "1,000"}
    assert readers == ["_read_calamine"]


# -- DuckDB per session ------------------------------------------------------------------------

def _as_duckdb_shows(memory_limit: str) -> str:
    con = duckdb.connect(config={"memory_limit": memory_limit})
    try:
        return scalar(con, "SELECT current_setting('memory_limit')")
    finally:
        con.close()


def test_each_workspace_has_its_own_capped_connection():
    with Workspace() as a, Workspace() as b:
        for ws in (a, b):
            assert scalar(ws.con, "SELECT current_setting('threads')") == setting("duckdb_threads") == 2
            assert scalar(ws.con, "SELECT current_setting('memory_limit')") == _as_duckdb_shows(
                setting("duckdb_memory_limit"))
        assert a.con is not b.con
        run(a.con, "CREATE TABLE only_here AS SELECT 1 AS x")
        run(a.con, "SET memory_limit = '64MB'")
        assert tables(b) == []
        assert scalar(b.con, "SELECT current_setting('memory_limit')") == _as_duckdb_shows("1GB")
        assert scalar(a.con, "SELECT current_setting('memory_limit')") == _as_duckdb_shows("64MB")


def test_the_caps_come_from_the_settings(monkeypatch):
    override(monkeypatch, "duckdb_threads", 1)
    override(monkeypatch, "duckdb_memory_limit", "256MB")
    with Workspace() as ws:
        assert scalar(ws.con, "SELECT current_setting('threads')") == 1
        assert scalar(ws.con, "SELECT current_setting('memory_limit')") == _as_duckdb_shows("256MB")
        assert _as_duckdb_shows("256MB") != _as_duckdb_shows("1GB")


def big_csv(n: int = 200_000) -> bytes:
    return ("Email,Name,Note\n" + "".join(f"u{i}@example.com,User {i},{'x' * 80}{i}\n" for i in range(n))).encode()


@pytest.mark.parametrize("how", ["upload", "path"])
def test_running_out_of_the_sessions_memory_names_the_file(tmp_path, how):
    data = big_csv()                                          # 23 MB of text into a 20 MB cap
    path = tmp_path / "big.csv"
    path.write_bytes(data)
    with Workspace() as ws:
        run(ws.con, "SET memory_limit = '20MB'")
        source = Source.from_bytes("big.csv", data) if how == "upload" else Source.from_path(path)
        with pytest.raises(TooLargeError) as info:
            ws.load("ma", source)
        assert_refused(info.value, "big.csv", "error.out_of_memory", limit="19.0 MiB")
        assert info.value.render("ja") == ("big.csv: データが大きすぎて、このセッションのメモリ上限（19.0 MiB）を"
                                           "超えました。期間や条件で分けてエクスポートしてください")
        assert tables(ws) == [] and ws.files["ma"] == []
        # The same workspace, given its memory back, reads a file again.
        run(ws.con, f"SET memory_limit = '{setting('duckdb_memory_limit')}'")
        assert ws.load("ma", Source.from_bytes("small.csv", big_csv(10))).report.rows_read == 10


def test_out_of_memory_in_any_query_is_a_message_not_a_traceback():
    con = connect(memory_limit="20MB")
    try:
        with pytest.raises(TooLargeError) as info:
            rows(con, "SELECT string_agg(x::VARCHAR, ',') FROM range(20000000) t(x)")
        assert (info.value.file, info.value.key, info.value.params) == (None, "error.out_of_memory",
                                                                        {"limit": "19.0 MiB"})
        assert info.value.render("en").startswith("the data needs more than this session's memory limit (19.0 MiB)")
    finally:
        con.close()


# -- the app -----------------------------------------------------------------------------------

def test_the_upload_limit_of_streamlit_mirrors_the_setting():
    with (ROOT / ".streamlit" / "config.toml").open("rb") as fh:
        server = tomllib.load(fh)["server"]
    assert server["maxUploadSize"] == setting("max_upload_mb") == 400
    assert server["maxMessageSize"] >= server["maxUploadSize"]


def test_the_app_refuses_a_file_over_the_upload_limit(app, monkeypatch):
    override(monkeypatch, "max_upload_mb", 1)
    big = leads_csv(1) + b"#" * (3 * 1024**2)
    app.file_uploader(key="up_ma").set_value([("huge.csv", big, "text/csv"),
                                              ("leads.csv", MA.encode(), "text/csv")]).run()
    assert not app.exception
    want = FunnelError("huge.csv", key="error.upload_too_large", size_mb=3, limit_mb=1).render("ja")
    assert want == "huge.csv: ファイルが 3 MB あり、上限 1 MB を超えています"
    assert [e.value for e in app.error] == [want]
    assert any(lab.startswith("leads.csv") for lab in (e.label for e in app.expander))


def test_the_app_shows_the_row_limit_in_both_languages(app, monkeypatch):
    override(monkeypatch, "max_rows", 3)        # after the sample (3,000 leads) was loaded
    app.file_uploader(key="up_sfa").set_value([("deals.csv", SFA.encode("cp932"), "text/csv")]).run()
    app.file_uploader(key="up_ma").set_value([("leads.csv", MA.encode(), "text/csv")]).run()
    assert not app.exception
    err = TooLargeError("leads.csv", key="error.too_many_rows", limit="3")
    assert err.render("ja") in [e.value for e in app.error]
    app.session_state["lang"] = "en"
    app.run()
    assert err.render("en") in [e.value for e in app.error]
    assert not app.exception
