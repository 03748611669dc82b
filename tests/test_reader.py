"""funnel.ingest.reader.load_file on every export quirk of ../shared/reference/export_formats.md.

What a user depends on is asserted: which rows are data, which are set aside and why, the
decoded cell text, where the header is, and the column names. The named fixtures under
tests/fixtures/ (written by tests/fixtures/make_fixtures.py) show the encodings and layouts
of real exports; everything else is a tiny inline file.

Row accounting: every record after the header is either a data row or a dropped row with a
reason (``rows_read + sum(dropped) == records after the header``). A completely empty text
line holds no cell and is not counted as a record (DuckDB, pandas and Excel all skip it);
a line of empty cells (``,,,``) and an empty sheet row are records (``blank``).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import importlib.util
import io
import os
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from funnel.errors import EmptyFileError, FunnelError, TooLargeError, UnreadableFileError
from funnel.ingest.reader import LoadedTable, Source, load_file
from funnel.sql import rows
from funnel.sql.ingest import dropped_rows

FIXTURES = Path(__file__).resolve().parent / "fixtures"


# -- helpers -----------------------------------------------------------------------------------

def load(con, tmp_path: Path, name: str, data: bytes) -> LoadedTable:
    return load_file(con, Source.from_bytes(name, data), "raw_t", tmp_path)


def load_fixture(con, tmp_path: Path, name: str) -> LoadedTable:
    return load_file(con, Source.from_path(FIXTURES / name), "raw_t", tmp_path)


def data_rows(con, lt: LoadedTable) -> list[tuple[Any, ...]]:
    return rows(con, f"SELECT {', '.join(lt.raw_columns)} FROM {lt.table} WHERE _drop IS NULL ORDER BY rowid")


def column(con, lt: LoadedTable, name: str) -> list[Any]:
    i = lt.columns.index(name)
    return [r[i] for r in data_rows(con, lt)]


def drops(con, lt: LoadedTable) -> list[tuple[str, str]]:
    """``(reason, text)`` of every set-aside row, in file order."""
    return [(r[2], r[3]) for r in dropped_rows(con, lt.table, lt.raw_columns)]


def text_records_after_header(text: str, delim: str, header_row: int) -> int:
    """Records after the header of a text export, by Python's csv module (empty lines excluded)."""
    recs = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delim))
    return sum(1 for r in recs[header_row:] if r != [])


def assert_accounted(lt: LoadedTable, expected_records: int) -> None:
    rep = lt.report
    assert rep.rows_read + sum(rep.dropped.values()) == expected_records, rep


def xlsx_bytes(build) -> bytes:
    wb = openpyxl.Workbook()
    build(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def simple_xlsx(table: list[list[Any]], title: str = "Sheet1") -> bytes:
    def build(wb):
        ws = wb.active
        ws.title = title
        for r in table:
            ws.append(r)
    return xlsx_bytes(build)


# -- the fixture files -------------------------------------------------------------------------

def _make_fixtures_module():
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_fixtures_regenerate_byte_for_byte(tmp_path: Path) -> None:
    mod = _make_fixtures_module()
    written = mod.write_all(tmp_path)
    assert {p.name for p in written} == set(mod.FIXTURES)
    for p in written:
        committed = FIXTURES / p.name
        assert committed.exists(), f"{p.name} missing: run python tests/fixtures/make_fixtures.py"
        assert committed.read_bytes() == p.read_bytes(), f"{p.name} differs from make_fixtures.py output"


# name: (codec used to write it, kind, encoding label, delimiter, header_row, first_column, columns,
#        rows_read, dropped)
FIXTURE_EXPECTATIONS: dict[str, tuple[Any, ...]] = {
    "salesforce_report_ja_cp932.csv": (
        "cp932", "csv", "CP932 (Shift_JIS)", ",", 1, 1,
        ["商談 ID", "商談名", "取引先名", "商談 所有者", "フェーズ", "金額", "完了予定日", "失注理由"],
        6, {"footer": 4}),
    "salesforce_report_en_utf8bom.csv": (
        "utf-8-sig", "csv", "UTF-8 (BOM)", ",", 1, 1,
        ["Opportunity ID", "Opportunity Name", "Account Name", "Opportunity Owner", "Stage", "Amount",
         "Close Date", "Lead Source"],
        5, {"total": 1, "footer": 2}),
    "hubspot_contacts_utf16.tsv": (
        "utf-16", "csv", "UTF-16 (BOM)", "\t", 1, 1,
        ["レコードID", "名", "姓", "Eメール", "会社名", "ライフサイクルステージ", "オリジナルソース", "作成日"],
        5, {}),
    "kintone_subtable.csv": (
        "utf-8-sig", "csv", "UTF-8 (BOM)", ",", 1, 1,
        ["レコードの開始行", "レコード番号", "会社名", "メールアドレス", "ステータス", "商品", "数量"],
        3, {"subtable_row": 4}),
    "mazrica_semicolon.csv": (
        "utf-8", "csv", "UTF-8", ";", 1, 1,
        ["案件名", "取引先名", "フェーズ", "契約金額", "契約予定日", "担当者", "失注理由(管理番号:1234)", "商品・サービス"],
        5, {}),
    "salesforce_dataexport_cp1252.csv": (
        "cp1252", "csv", "Windows-1252", ",", 1, 1,
        ["Id", "FirstName", "LastName", "Email", "Company", "LeadSource", "Status", "CreatedDate"],
        5, {}),
    "leads_eucjp.csv": (
        "euc_jp", "csv", "EUC-JP", ",", 1, 1,
        ["会社名", "部署", "氏名", "メールアドレス", "流入元", "登録日"],
        5, {}),
    "title_rows_above_header.csv": (
        "cp932", "csv", "CP932 (Shift_JIS)", ",", 5, 1,
        ["会社名", "氏名", "メールアドレス", "リードソース", "リードステータス", "作成日"],
        6, {"total": 1}),
}


def test_every_fixture_has_expectations() -> None:
    assert set(FIXTURE_EXPECTATIONS) == set(_make_fixtures_module().FIXTURES)


@pytest.mark.parametrize("name", sorted(FIXTURE_EXPECTATIONS))
def test_fixture_layout_and_row_accounting(con, tmp_path: Path, name: str) -> None:
    codec, kind, label, delim, header_row, first_col, columns, n_rows, dropped = FIXTURE_EXPECTATIONS[name]
    lt = load_fixture(con, tmp_path, name)
    rep = lt.report
    assert (rep.file, rep.kind, rep.encoding, rep.delimiter) == (name, kind, label, delim)
    assert (rep.header_row, rep.first_column) == (header_row, first_col)
    assert rep.columns == columns
    assert rep.renamed == []
    assert rep.rows_read == n_rows
    assert rep.dropped == dropped
    text = (FIXTURES / name).read_bytes().decode(codec)
    assert_accounted(lt, text_records_after_header(text, delim, header_row))
    # Every dropped row is listed with its reason.
    assert len(drops(con, lt)) == sum(dropped.values())


@pytest.mark.parametrize("name", sorted(FIXTURE_EXPECTATIONS))
def test_fixture_loads_the_same_from_bytes_as_from_path(con, tmp_path: Path, name: str) -> None:
    by_path = load_fixture(con, tmp_path, name)
    expected = data_rows(con, by_path)
    by_bytes = load(con, tmp_path, name, (FIXTURES / name).read_bytes())
    assert data_rows(con, by_bytes) == expected
    assert by_bytes.report.dropped == by_path.report.dropped


def test_salesforce_ja_cp932_values(con, tmp_path: Path) -> None:
    lt = load_fixture(con, tmp_path, "salesforce_report_ja_cp932.csv")
    assert column(con, lt, "商談名") == ["①新規導入", "追加ライセンス", "保守更新②", 'PoC "無償"', "全社展開", "～移行支援～"]
    assert column(con, lt, "取引先名") == ["㈱髙橋製作所", "株式会社サンプル", "髙島屋商事㈱", "合同会社テスト", "㈲髙田",
                                       "株式会社ＡＢＣ"]
    assert column(con, lt, "金額")[0] == "￥1,234,567"
    # A quoted cell with an embedded CRLF stays one cell of one row.
    assert column(con, lt, "失注理由")[1] == "予算不足\r\n次年度に再検討"
    assert column(con, lt, "商談 ID") == [f"0065g00000AbCd{c}" for c in "EFGHIJ"]
    assert drops(con, lt) == [
        ("footer", '"機密情報 - 配布禁止"'),
        ("footer", '"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."'),
        ("footer", '"作成者: 山田 太郎 / 2026/04/01 12:00"'),
        ("footer", '"株式会社サンプル"'),
    ]


def test_salesforce_en_utf8bom_values(con, tmp_path: Path) -> None:
    lt = load_fixture(con, tmp_path, "salesforce_report_en_utf8bom.csv")
    assert lt.columns[0] == "Opportunity ID"  # no BOM in the first header name
    assert column(con, lt, "Opportunity Name") == ["Acme - Expansion", "Globex, Renewal", 'Initech "Pilot"',
                                                   "Umbrella", "Hooli"]
    assert column(con, lt, "Lead Source")[-1] == "Other"  # no trailing \r from CRLF
    reasons = drops(con, lt)
    assert [r for r, _ in reasons] == ["total", "footer", "footer"]
    assert reasons[0][1].startswith("Grand Totals (5 records)")
    assert "Confidential Information - Do Not Distribute" in reasons[1][1]


def test_hubspot_utf16_values(con, tmp_path: Path) -> None:
    lt = load_fixture(con, tmp_path, "hubspot_contacts_utf16.tsv")
    assert column(con, lt, "会社名") == ["株式会社サンプル", "Acme, Inc.", "㈱髙橋製作所", "Analytical Engines", None]
    assert column(con, lt, "ライフサイクルステージ")[1] == "マーケティングクオリファイドリード(MQL)"
    assert column(con, lt, "作成日")[-1] == "2026-04-05 13:15"


def test_kintone_keeps_record_start_rows_only(con, tmp_path: Path) -> None:
    lt = load_fixture(con, tmp_path, "kintone_subtable.csv")
    assert column(con, lt, "レコード番号") == ["1", "2", "3"]
    assert column(con, lt, "会社名") == ["株式会社サンプル", "㈱髙橋製作所", "合同会社テスト"]
    assert [r for r, _ in drops(con, lt)] == ["subtable_row"] * 4
    assert [t.split(" | ")[5] for _, t in drops(con, lt)] == ["保守", "導入支援", "保守", "研修"]


def test_semicolon_values(con, tmp_path: Path) -> None:
    lt = load_fixture(con, tmp_path, "mazrica_semicolon.csv")
    assert column(con, lt, "失注理由(管理番号:1234)") == [None, "予算; 時期", None, "競合", None]
    assert column(con, lt, "商品・サービス")[3] == "SFA//CRM//MA"


def test_cp1252_values(con, tmp_path: Path) -> None:
    lt = load_fixture(con, tmp_path, "salesforce_dataexport_cp1252.csv")
    assert column(con, lt, "FirstName") == ["José", "Zoë", "François", "Ana", "Björn"]
    assert column(con, lt, "Company") == ["Café Crème™ GmbH", "Société Générale", "Ærø €uro Ltd", "“Quoted” Corp",
                                          "Smörgås AB"]


def test_eucjp_values(con, tmp_path: Path) -> None:
    lt = load_fixture(con, tmp_path, "leads_eucjp.csv")
    assert column(con, lt, "部署")[1] == "マーケティング部"
    assert column(con, lt, "流入元") == ["展示会", "ウェビナー", "問い合わせ", "資料請求", "紹介"]


def test_title_rows_above_header(con, tmp_path: Path) -> None:
    lt = load_fixture(con, tmp_path, "title_rows_above_header.csv")
    assert ("notice.rows_above_header", {"rows": 4}) in lt.report.notices
    assert column(con, lt, "会社名")[2] == "㈱髙橋製作所"
    assert column(con, lt, "メールアドレス")[0] == "taro@example.co.jp"
    assert drops(con, lt) == [("total", "合計 | 6件 |  |  |  | ")]


# -- encodings (inline) ------------------------------------------------------------------------

JA_TEXT = "メールアドレス,会社名,備考\na@example.jp,㈱髙橋製作所,①初回\nb@example.jp,株式会社サンプル,テスト\n"
JA_COMPANIES = ["㈱髙橋製作所", "株式会社サンプル"]


@pytest.mark.parametrize("data, label", [
    (JA_TEXT.encode("utf-8"), "UTF-8"),
    (codecs.BOM_UTF8 + JA_TEXT.encode("utf-8"), "UTF-8 (BOM)"),
    (codecs.BOM_UTF8 + JA_TEXT.replace("\n", "\r\n").encode("utf-8"), "UTF-8 (BOM)"),
    (JA_TEXT.encode("cp932"), "CP932 (Shift_JIS)"),
    (JA_TEXT.replace("\n", "\r\n").encode("cp932"), "CP932 (Shift_JIS)"),
    (codecs.BOM_UTF16_LE + JA_TEXT.encode("utf-16-le"), "UTF-16 (BOM)"),
    (codecs.BOM_UTF16_BE + JA_TEXT.encode("utf-16-be"), "UTF-16 (BOM)"),
    (JA_TEXT.encode("utf-16-le"), "UTF-16LE"),
    (JA_TEXT.encode("utf-16-be"), "UTF-16BE"),
], ids=["utf8", "utf8-bom", "utf8-bom-crlf", "cp932", "cp932-crlf", "utf16le-bom", "utf16be-bom",
        "utf16le-nobom", "utf16be-nobom"])
def test_japanese_text_in_every_encoding(con, tmp_path: Path, data: bytes, label: str) -> None:
    lt = load(con, tmp_path, "leads.csv", data)
    assert lt.report.encoding == label
    assert lt.columns == ["メールアドレス", "会社名", "備考"]
    assert column(con, lt, "会社名") == JA_COMPANIES
    assert column(con, lt, "備考") == ["①初回", "テスト"]
    assert lt.report.rows_read == 2 and lt.report.dropped == {}


def test_cp932_not_shift_jis(con, tmp_path: Path) -> None:
    data = "会社名,メールアドレス\n㈱髙橋①,a@example.jp\n".encode("cp932")
    with pytest.raises(UnicodeDecodeError):
        data.decode("shift_jis")
    lt = load(con, tmp_path, "sjis.csv", data)
    assert column(con, lt, "会社名") == ["㈱髙橋①"]
    assert lt.report.notices == []  # nothing was replaced


def test_eucjp_inline(con, tmp_path: Path) -> None:
    data = "会社名,氏名,メールアドレス\n株式会社テスト,山田太郎,a@example.jp\n".encode("euc_jp")
    lt = load(con, tmp_path, "eucjp.csv", data)
    assert lt.report.encoding == "EUC-JP"
    assert data_rows(con, lt) == [("株式会社テスト", "山田太郎", "a@example.jp")]


@pytest.mark.parametrize("company", ["Société Générale", "Smörgås AB", "José Müller ™"])
def test_cp1252_inline(con, tmp_path: Path, company: str) -> None:
    lt = load(con, tmp_path, "leads.csv", f"Email,Company\na@x.com,{company}\n".encode("cp1252"))
    assert lt.report.encoding == "Windows-1252"
    assert column(con, lt, "Company") == [company]


@pytest.mark.parametrize("company", ["Café™", "Crème"])
def test_short_cp1252_text_is_not_decoded_as_cp932_mojibake(con, tmp_path: Path, company: str) -> None:
    # "Café™" is 43 61 66 E9 99 in CP1252; E9 99 is also a valid CP932 kanji (髯).
    data = f"Email,Company\na@x.com,{company}\n".encode("cp1252")
    data.decode("cp932")  # the trap: these bytes decode without error as CP932
    lt = load(con, tmp_path, "leads.csv", data)
    assert column(con, lt, "Company") == [company]
    assert lt.report.encoding == "Windows-1252"


def test_utf8_cut_mid_character_stays_utf8(con, tmp_path: Path) -> None:
    good = "メールアドレス,会社名,リードソース\n" + "".join(f"u{i}@x.com,株式会社テスト{i},展示会\n" for i in range(5))
    data = good.encode("utf-8") + "v@x.com,株式会社".encode()[:-1]  # last character cut
    lt = load(con, tmp_path, "cut.csv", data)
    assert lt.columns == ["メールアドレス", "会社名", "リードソース"]
    assert column(con, lt, "会社名")[:5] == [f"株式会社テスト{i}" for i in range(5)]
    assert any(k == "notice.decode_replaced" for k, _ in lt.report.notices)


def test_invalid_bytes_in_bom_utf8_file_set_the_line_aside(con, tmp_path: Path) -> None:
    good = "メールアドレス,会社名\n" + "".join(f"u{i}@x.com,株式会社テスト{i}\n" for i in range(3))
    data = codecs.BOM_UTF8 + good.encode("utf-8") + b"v@x.com,\x82\xa0\n"
    lt = load(con, tmp_path, "bad.csv", data)
    assert lt.report.rows_read == 3
    assert lt.report.dropped == {"malformed": 1}
    assert drops(con, lt)[0][1].startswith("v@x.com,")


# -- delimiters and quoting --------------------------------------------------------------------

@pytest.mark.parametrize("delim", [",", ";", "\t", "|"])
def test_delimiters(con, tmp_path: Path, delim: str) -> None:
    table = [["Email", "Company", "Lead Source"], ["a@x.com", "Acme", "Web"], ["b@x.com", "Globex", "展示会"]]
    data = "".join(delim.join(r) + "\n" for r in table).encode()
    lt = load(con, tmp_path, "d.csv", data)
    assert lt.report.delimiter == delim
    assert lt.columns == table[0]
    assert data_rows(con, lt) == [tuple(r) for r in table[1:]]


def test_kintone_space_delimited(con, tmp_path: Path) -> None:
    data = ('"レコード番号" "会社名" "メールアドレス" "ステータス"\r\n'
            '"1" "株式会社 サンプル" "a@example.jp" "商談化"\r\n'
            '"2" "合同会社テスト" "b@example.jp" "リード"\r\n').encode("utf-8-sig")
    lt = load(con, tmp_path, "kintone.csv", data)
    assert lt.report.delimiter == " "
    assert lt.columns == ["レコード番号", "会社名", "メールアドレス", "ステータス"]
    assert column(con, lt, "会社名") == ["株式会社 サンプル", "合同会社テスト"]


def test_quoted_newlines_and_escaped_quotes(con, tmp_path: Path) -> None:
    data = (b'"Email","Note","Company"\r\n'
            b'"a@x.com","line 1\r\nline 2\r\n\r\nline 4","Acme, Inc."\r\n'
            b'"b@x.com","say ""hi""","""Quoted"" Ltd"\r\n'
            b'"c@x.com","","Globex"\r\n')
    lt = load(con, tmp_path, "q.csv", data)
    assert lt.report.rows_read == 3 and lt.report.dropped == {}
    assert column(con, lt, "Note") == ["line 1\r\nline 2\r\n\r\nline 4", 'say "hi"', None]
    assert column(con, lt, "Company") == ["Acme, Inc.", '"Quoted" Ltd', "Globex"]


def test_blank_line_inside_quotes_does_not_end_the_table(con, tmp_path: Path) -> None:
    data = (b'Email,Name,Note\na@x.com,A,"para 1\n\npara 2"\nb@x.com,B,ok\n'
            b'\nConfidential Information - Do Not Distribute\n')
    lt = load(con, tmp_path, "q.csv", data)
    assert column(con, lt, "Email") == ["a@x.com", "b@x.com"]
    assert column(con, lt, "Note")[0] == "para 1\n\npara 2"
    assert lt.report.dropped == {"footer": 1}


def test_cr_only_line_ends(con, tmp_path: Path) -> None:
    lt = load(con, tmp_path, "mac.csv", b"Email,Name\ra@x.com,A\rb@x.com,B\r")
    assert data_rows(con, lt) == [("a@x.com", "A"), ("b@x.com", "B")]


def test_values_stay_text(con, tmp_path: Path) -> None:
    data = b"Email,Code,Score,Date\na@x.com,00123,1234.0,2025/4/1\nb@x.com,0012,4.97171E+12,45748\n"
    lt = load(con, tmp_path, "v.csv", data)
    assert data_rows(con, lt) == [("a@x.com", "00123", "1234.0", "2025/4/1"),
                                  ("b@x.com", "0012", "4.97171E+12", "45748")]


# -- header position ---------------------------------------------------------------------------

def test_csv_table_starting_in_column_b(con, tmp_path: Path) -> None:
    lt = load(con, tmp_path, "b.csv", b",Email,Name\n,a@x.com,A\n,b@x.com,B\n")
    assert (lt.report.header_row, lt.report.first_column) == (1, 2)
    assert lt.columns == ["Email", "Name"]
    assert data_rows(con, lt) == [("a@x.com", "A"), ("b@x.com", "B")]


def test_csv_title_cell_spanning_lines_above_header(con, tmp_path: Path) -> None:
    data = '"リード一覧\n(2026年4月)"\n"メール\nアドレス",会社名,"リード\nソース"\na@x.com,A社,Web\nb@x.com,B社,展示会\n'
    lt = load(con, tmp_path, "t.csv", data.encode())
    assert lt.report.header_row == 2
    assert lt.columns == ["メール アドレス", "会社名", "リード ソース"]  # newlines in names become a space
    assert data_rows(con, lt) == [("a@x.com", "A社", "Web"), ("b@x.com", "B社", "展示会")]


def _formatted_report(wb) -> None:
    """A Salesforce formatted-report XLSX: title block, blank row, table from B4, total, footer."""
    ws = wb.active
    ws.title = "商談レポート"
    ws["A1"] = "商談パイプライン（今四半期）"
    ws["A2"] = "条件: 完了予定日 = 今四半期 AND 商談 所有者 = 営業部"
    # row 3 blank
    header = ["商談名", "取引先名", "フェーズ", "金額", "完了予定日"]
    for j, h in enumerate(header):
        ws.cell(4, 2 + j, h)
    data = [
        ["①新規導入", "㈱髙橋製作所", "受注", 1234, dt.datetime(2025, 4, 1)],
        ["追加", "株式会社サンプル", "失注", 1234.5, dt.date(2025, 4, 2)],
        ["更新", "合同会社テスト", "提案", 0, dt.datetime(2025, 4, 3, 10, 30)],
    ]
    for i, r in enumerate(data):
        for j, v in enumerate(r):
            ws.cell(5 + i, 2 + j, v)
    ws.cell(8, 2, "総計")
    ws.cell(8, 5, 2468.5)
    # row 9 blank
    ws.cell(10, 2, "機密情報 - 配布禁止")
    ws.cell(11, 2, "Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved.")
    ws.cell(12, 2, "作成者: 山田 太郎 / 2026/04/01 12:00")
    ws.cell(13, 2, "株式会社サンプル")


@pytest.mark.parametrize("name", ["report.xlsx", "report1642777476321.csv"])
def test_formatted_xlsx_report(con, tmp_path: Path, name: str) -> None:
    lt = load(con, tmp_path, name, xlsx_bytes(_formatted_report))
    rep = lt.report
    assert rep.kind == "xlsx"  # detected from content, also under a .csv name
    assert rep.sheet == "商談レポート"
    assert (rep.header_row, rep.first_column) == (4, 2)
    assert rep.columns == ["商談名", "取引先名", "フェーズ", "金額", "完了予定日"]
    assert rep.rows_read == 3
    # Rows 5–13 after the header: 3 data, the 総計 row, the blank row 9, four footer lines.
    assert rep.dropped == {"total": 1, "blank": 1, "footer": 4}
    assert_accounted(lt, 13 - 4)
    assert ("notice.rows_above_header", {"rows": 3}) in rep.notices
    assert data_rows(con, lt) == [
        ("①新規導入", "㈱髙橋製作所", "受注", "1234", "2025-04-01"),
        ("追加", "株式会社サンプル", "失注", "1234.5", "2025-04-02"),
        ("更新", "合同会社テスト", "提案", "0", "2025-04-03 10:30:00"),
    ]
    assert [r for r, _ in drops(con, lt)] == ["total", "blank", "footer", "footer", "footer", "footer"]
    assert drops(con, lt)[-1][1].startswith("株式会社サンプル")


def test_workbook_with_table_on_second_sheet(con, tmp_path: Path) -> None:
    def build(wb):
        about = wb.active
        about.title = "説明"
        about["A1"] = "このファイルについて"
        about["A2"] = "エクスポート日: 2026-04-01"
        data = wb.create_sheet("データ")
        for r in [["メールアドレス", "会社名", "リードソース", "作成日"],
                  ["a@x.com", "A社", "Web", dt.datetime(2026, 4, 1)],
                  ["b@x.com", "B社", "展示会", dt.datetime(2026, 4, 2)]]:
            data.append(r)
    lt = load(con, tmp_path, "leads.xlsx", xlsx_bytes(build))
    assert lt.report.sheet == "データ"
    assert ("notice.sheet_chosen", {"sheet": "データ", "sheets": "説明, データ"}) in lt.report.notices
    assert data_rows(con, lt) == [("a@x.com", "A社", "Web", "2026-04-01"), ("b@x.com", "B社", "展示会", "2026-04-02")]


def test_workbook_cell_types_come_out_as_export_text(con, tmp_path: Path) -> None:
    table = [["Email", "Int", "Float", "Big", "Flag", "Date", "DateTime", "Text number"],
             ["a@x.com", 1234, 1234.5, 4971710000000, True, dt.date(2025, 4, 1), dt.datetime(2025, 4, 1, 9, 5),
              "00123"],
             ["b@x.com", 0, 0.0016, 1e14, False, dt.datetime(2025, 12, 31), dt.datetime(2025, 1, 2, 0, 0, 1), "0"]]
    lt = load(con, tmp_path, "types.xlsx", simple_xlsx(table))
    assert data_rows(con, lt) == [
        ("a@x.com", "1234", "1234.5", "4971710000000", "TRUE", "2025-04-01", "2025-04-01 09:05:00", "00123"),
        ("b@x.com", "0", "0.0016", "100000000000000", "FALSE", "2025-12-31", "2025-01-02 00:00:01", "0"),
    ]


# -- rows that are not data --------------------------------------------------------------------

@pytest.mark.parametrize("label", ["合計", "総計", "小計", "総合計", "Total", "Totals", "Grand Totals",
                                   "Grand Totals (5700 records)", "Subtotal", "Sub Total", "合計（3件）", "ＴＯＴＡＬ"])
def test_total_rows(con, tmp_path: Path, label: str) -> None:
    data = f"Company,Email,Amount\nAcme,a@x.com,1\n{label},,100\nGlobex,b@x.com,2\n".encode()
    lt = load(con, tmp_path, "t.csv", data)
    assert column(con, lt, "Company") == ["Acme", "Globex"]
    assert lt.report.dropped == {"total": 1}
    assert drops(con, lt) == [("total", f"{label} |  | 100")]


def test_total_row_with_empty_first_column(con, tmp_path: Path) -> None:
    # A grouped report writes the label in the second column; the first cells are looked at.
    lt = load(con, tmp_path, "t.csv", b"Owner,Company,Amount\nJane,Acme,1\n,Subtotal,1\nJohn,Globex,2\n")
    assert column(con, lt, "Company") == ["Acme", "Globex"]
    assert lt.report.dropped == {"total": 1}


def test_repeated_header_rows(con, tmp_path: Path) -> None:
    data = b"Email,Name,Stage\na@x.com,A,Open\nEmail,Name,Stage\nb@x.com,B,Won\n Email , Name , Stage \nc@x.com,C,Lost\n"
    lt = load(con, tmp_path, "r.csv", data)
    assert column(con, lt, "Email") == ["a@x.com", "b@x.com", "c@x.com"]
    assert lt.report.dropped == {"repeated_header": 2}
    assert_accounted(lt, 5)


def test_repeated_header_rows_in_workbook(con, tmp_path: Path) -> None:
    table = [["メールアドレス", "会社名"], ["a@x.com", "A社"], ["メールアドレス", "会社名"], ["b@x.com", "B社"]]
    lt = load(con, tmp_path, "r.xlsx", simple_xlsx(table))
    assert column(con, lt, "メールアドレス") == ["a@x.com", "b@x.com"]
    assert lt.report.dropped == {"repeated_header": 1}


@pytest.mark.parametrize("header", [["Email", "Email", "Name"], ["会社\n名", "メールアドレス", "担当者"]],
                         ids=["duplicate-names", "newline-in-name"])
def test_repeated_header_with_duplicate_or_multiline_names(con, tmp_path: Path, header: list[str]) -> None:
    table = [header, ["a", "b", "c"], header, ["d", "e", "f"]]
    lt = load(con, tmp_path, "r.xlsx", simple_xlsx(table))
    assert lt.report.rows_read == 2
    assert lt.report.dropped == {"repeated_header": 1}


def test_english_footer_without_blank_line(con, tmp_path: Path) -> None:
    data = (b'"Email","Name","Stage"\n"a@x.com","A","Open"\n"b@x.com","B","Won"\n'
            b'"Confidential Information - Do Not Distribute"\n'
            b'"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."\n'
            b'"Generated By: Jane Doe 4/1/2026 12:00 PM"\n"Acme Corp"\n')
    lt = load(con, tmp_path, "f.csv", data)
    assert lt.report.rows_read == 2
    assert lt.report.dropped == {"footer": 4}
    assert_accounted(lt, 6)


def test_japanese_footer_after_excel_resave(con, tmp_path: Path) -> None:
    # Excel writes the blank line and the footer lines with all their (empty) cells.
    data = ("商談名,取引先名,フェーズ,金額\n新規,㈱髙橋,受注,100\n追加,サンプル,失注,200\n,,,\n"
            "\"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved.\",,,\n機密情報 - 配布禁止,,,\n"
            "作成者: 山田 太郎 / 2026/04/01 12:00,,,\n株式会社サンプル,,,\n").encode("cp932")
    lt = load(con, tmp_path, "f.csv", data)
    assert column(con, lt, "商談名") == ["新規", "追加"]
    assert lt.report.dropped == {"blank": 1, "footer": 4}
    assert_accounted(lt, 7)


def test_group_label_rows(con, tmp_path: Path) -> None:
    data = (b"Stage,Opportunity Name,Amount\nStage: Closed Won (12 records),,\nClosed Won,Acme,1\n"
            b"Closed Won,Globex,2\n,Stage: Closed Lost (3 records),\nClosed Lost,Initech,3\n")
    lt = load(con, tmp_path, "g.csv", data)
    assert column(con, lt, "Opportunity Name") == ["Acme", "Globex", "Initech"]
    assert lt.report.dropped == {"group_header": 2}


def test_group_label_rows_japanese(con, tmp_path: Path) -> None:
    data = "リードソース,会社名,メールアドレス\n展示会 (34件),,\n展示会,A社,a@x.com\n\"Web (1,234 件)\",,\nWeb,B社,b@x.com\n"
    lt = load(con, tmp_path, "g.csv", data.encode("cp932"))
    assert column(con, lt, "会社名") == ["A社", "B社"]
    assert lt.report.dropped == {"group_header": 2}


def test_blank_rows(con, tmp_path: Path) -> None:
    # ",," is a record of empty cells (counted as blank); an empty line holds no record at all.
    data = "Email,Name,Note\na@x.com,A,x\n,,\nb@x.com,B,y\n\n , ,\u3000\nc@x.com,C,z\n".encode()
    lt = load(con, tmp_path, "b.csv", data)
    assert column(con, lt, "Email") == ["a@x.com", "b@x.com", "c@x.com"]
    assert lt.report.dropped == {"blank": 2}
    assert_accounted(lt, text_records_after_header(data.decode(), ",", 1))
    assert [r for r, _ in drops(con, lt)] == ["blank", "blank"]


def test_blank_rows_in_workbook(con, tmp_path: Path) -> None:
    table = [["Email", "Name", "Source"], ["a@x.com", "A", "Web"], [None, None, None], ["b@x.com", "B", "Ads"],
             ["  ", None, "\u3000"], ["c@x.com", "C", "Web"]]
    lt = load(con, tmp_path, "b.xlsx", simple_xlsx(table))
    assert column(con, lt, "Email") == ["a@x.com", "b@x.com", "c@x.com"]
    assert lt.report.dropped == {"blank": 2}


def test_excel_resave_blank_and_numeric_summary_row(con, tmp_path: Path) -> None:
    # crm_analytics variant: Excel appended a blank row and a per-column summary row.
    data = (b"Email,Lead Source,Converted,Score\n"
            b"a@x.com,Web,0,0.0016\nb@x.com,Ads,1,0.25\nc@x.com,Web,0,0.5\n,,,\n0,0,0.0016,1.3\n")
    lt = load(con, tmp_path, "x.csv", data)
    assert column(con, lt, "Email") == ["a@x.com", "b@x.com", "c@x.com"]
    assert lt.report.dropped == {"blank": 1, "summary_row": 1}
    assert drops(con, lt)[-1] == ("summary_row", "0 | 0 | 0.0016 | 1.3")


def test_data_row_starting_with_a_footer_word_is_data(con, tmp_path: Path) -> None:
    data = ("商談名,取引先名,フェーズ,金額\nレポート作成ツール導入,㈱サンプル,受注,1000000\n新規導入,テスト,失注,200\n"
            "Copyright管理システム更新,テスト,提案,300\n").encode()
    lt = load(con, tmp_path, "deals.csv", data)
    assert column(con, lt, "商談名") == ["レポート作成ツール導入", "新規導入", "Copyright管理システム更新"]
    assert lt.report.dropped == {}


def test_narrow_data_rows_after_a_blank_row_are_data(con, tmp_path: Path) -> None:
    body = "".join(f"u{i}@x.com,Web\n" for i in range(10))
    data = ("Email,Lead Source\n" + body + ",\n" + "v1@x.com,Web\nv2@x.com,展示会\n").encode()
    lt = load(con, tmp_path, "two.csv", data)
    assert lt.report.rows_read == 12
    assert lt.report.dropped == {"blank": 1}


# -- malformed lines ---------------------------------------------------------------------------

def test_lines_with_too_few_fields_are_set_aside(con, tmp_path: Path) -> None:
    data = b"Email,Name,Note\na@x.com,A,x\nc@x.com,C\nd@x.com,D,w\ne@x.com\n"
    lt = load(con, tmp_path, "m.csv", data)
    assert column(con, lt, "Email") == ["a@x.com", "d@x.com"]
    assert lt.report.dropped == {"malformed": 2}
    assert drops(con, lt) == [("malformed", "c@x.com,C"), ("malformed", "e@x.com")]
    assert_accounted(lt, 4)


def test_line_with_too_many_fields_is_set_aside(con, tmp_path: Path) -> None:
    body = "".join(f"u{i}@x.com,U{i},n\n" for i in range(5))
    data = ("Email,Name,Note\n" + body + "b@x.com,B,y,EXTRA\nz@x.com,Z,z\n").encode()
    lt = load(con, tmp_path, "m.csv", data)
    assert lt.columns == ["Email", "Name", "Note"]
    assert lt.report.rows_read == 6
    assert lt.report.dropped == {"malformed": 1}
    assert drops(con, lt) == [("malformed", "b@x.com,B,y,EXTRA")]


def test_unterminated_quote_keeps_the_text(con, tmp_path: Path) -> None:
    data = b'Email,Name,Note\na@x.com,A,x\nb@x.com,B,"never closed\nc@x.com,C,z\n'
    lt = load(con, tmp_path, "m.csv", data)
    assert column(con, lt, "Email") == ["a@x.com"]
    assert lt.report.dropped == {"malformed": 1}
    # The rest of the file is one (broken) record: nothing silently lost.
    assert drops(con, lt) == [("malformed", 'b@x.com,B,"never closed\nc@x.com,C,z')]
    assert_accounted(lt, text_records_after_header(data.decode(), ",", 1))


def test_stray_quote_inside_an_unquoted_cell_is_kept(con, tmp_path: Path) -> None:
    lt = load(con, tmp_path, "m.csv", b'Email,Company\na@x.com,5" Media\nb@x.com,Acme\n')
    assert column(con, lt, "Company") == ['5" Media', "Acme"]


# -- containers --------------------------------------------------------------------------------

HTML_XLS = """<html xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:x="urn:schemas-microsoft-com:office:excel">
<head><meta http-equiv="Content-Type" content="text/html; charset={charset}"></head><body>
<table border="1">
<tr><th>メールアドレス</th><th>会社名</th><th>リードソース</th></tr>
<tr><td>a@x.com</td><td>㈱髙橋 &amp; Co</td><td>Web</td></tr>
<tr><td>b@x.com</td><td>B社<br>本社</td><td>展示会</td></tr>
<tr><td>合計</td><td></td><td>2</td></tr>
</table></body></html>
"""


@pytest.mark.parametrize("codec, charset, label", [("utf-8", "utf-8", "UTF-8"),
                                                   ("cp932", "shift_jis", "CP932 (Shift_JIS)")])
def test_html_table_saved_as_xls(con, tmp_path: Path, codec: str, charset: str, label: str) -> None:
    lt = load(con, tmp_path, "report.xls", HTML_XLS.format(charset=charset).encode(codec))
    assert (lt.report.kind, lt.report.encoding) == ("html", label)
    assert lt.columns == ["メールアドレス", "会社名", "リードソース"]
    assert data_rows(con, lt) == [("a@x.com", "㈱髙橋 & Co", "Web"), ("b@x.com", "B社\n本社", "展示会")]
    assert lt.report.dropped == {"total": 1}


SPREADSHEETML = """<?xml version="1.0"?>
<?mso-application progid="Excel.Sheet"?>
<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"
 xmlns:o="urn:schemas-microsoft-com:office:office"
 xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">
 <Worksheet ss:Name="Leads">
  <Table>
   <Row><Cell><Data ss:Type="String">Email</Data></Cell><Cell><Data ss:Type="String">Company</Data></Cell><Cell><Data ss:Type="String">Lead Source</Data></Cell></Row>
   <Row><Cell><Data ss:Type="String">a@x.com</Data></Cell><Cell><Data ss:Type="String">㈱髙橋①</Data></Cell><Cell><Data ss:Type="String">Web</Data></Cell></Row>
   <Row><Cell><Data ss:Type="String">b@x.com</Data></Cell><Cell ss:Index="3"><Data ss:Type="String">Partner</Data></Cell></Row>
  </Table>
 </Worksheet>
</Workbook>
"""


def test_spreadsheetml_2003(con, tmp_path: Path) -> None:
    lt = load(con, tmp_path, "leads.xls", SPREADSHEETML.encode("utf-8"))
    assert lt.report.kind == "spreadsheetml"
    assert lt.columns == ["Email", "Company", "Lead Source"]
    assert data_rows(con, lt) == [("a@x.com", "㈱髙橋①", "Web"), ("b@x.com", None, "Partner")]


def test_workbook_saved_under_csv_name(con, tmp_path: Path) -> None:
    lt = load(con, tmp_path, "leads.csv", simple_xlsx([["Email", "Name"], ["a@x.com", "A"]]))
    assert lt.report.kind == "xlsx"
    assert lt.report.encoding is None and lt.report.delimiter is None
    assert data_rows(con, lt) == [("a@x.com", "A")]


# -- header names ------------------------------------------------------------------------------

def test_duplicate_blank_and_hostile_header_names_csv(con, tmp_path: Path) -> None:
    header = 'Email,Email,,Name,,"Na""me","); DROP TABLE x; --","会社\n名",Email,"a,b"'
    data = (header + "\n1,2,3,4,5,6,7,8,9,10\n").encode()
    lt = load(con, tmp_path, "h.csv", data)
    assert lt.columns == ["Email", "Email (2)", "col_3", "Name", "col_5", 'Na"me', "); DROP TABLE x; --",
                          "会社 名", "Email (3)", "a,b"]
    assert lt.report.renamed == [("Email", "Email (2)"), ("", "col_3"), ("", "col_5"), ("Email", "Email (3)")]
    assert data_rows(con, lt) == [tuple(str(i) for i in range(1, 11))]
    assert rows(con, "SELECT count(*) FROM raw_t")[0][0] == 1  # the table is intact


def test_duplicate_blank_and_hostile_header_names_xlsx(con, tmp_path: Path) -> None:
    header = ["Email", "Email", None, "Name", '"); DROP TABLE x; --', "会社\n名", 'a"b', "Email (2)", "  "]
    lt = load(con, tmp_path, "h.xlsx", simple_xlsx([header, list("abcdefghi")]))
    assert lt.columns == ["Email", "Email (2)", "col_3", "Name", '"); DROP TABLE x; --', "会社 名", 'a"b',
                          "Email (2) (2)", "col_9"]
    assert len(set(lt.columns)) == len(lt.columns)
    assert data_rows(con, lt) == [tuple("abcdefghi")]


def test_header_with_bom_and_quotes(con, tmp_path: Path) -> None:
    data = codecs.BOM_UTF8 + b'"Record ID","Email","First Name"\r\n"101","a@x.com","Ada"\r\n'
    lt = load(con, tmp_path, "hubspot.csv", data)
    assert lt.columns == ["Record ID", "Email", "First Name"]
    assert data_rows(con, lt) == [("101", "a@x.com", "Ada")]


# -- unusable input ----------------------------------------------------------------------------

def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _truncated_xlsx() -> bytes:
    table = [["Email", "Name"]] + [[f"u{i}@x.com", f"User {i}"] for i in range(50)]
    whole = simple_xlsx(table)
    return whole[: len(whole) // 2]


@pytest.mark.parametrize("name, data, exc, key", [
    ("empty.csv", b"", EmptyFileError, "error.empty"),
    ("blank.csv", b"  \r\n\t\n \n", EmptyFileError, "error.empty"),
    ("bom_only.csv", codecs.BOM_UTF8 + b"\r\n", EmptyFileError, "error.empty"),
    ("utf16_blank.csv", codecs.BOM_UTF16_LE + " \r\n".encode("utf-16-le"), EmptyFileError, "error.empty"),
    ("commas.csv", b",,,\n,,,\n", EmptyFileError, "error.empty"),
    ("header_only.csv", b"Email,Name,Company\n", EmptyFileError, "error.header_only"),
    ("header_only_crlf.csv", b"Email,Name,Company\r\n\r\n\r\n", EmptyFileError, "error.header_only"),
    ("header_and_footer.csv", b'"Email","Name"\n\n"Confidential Information - Do Not Distribute"\n',
     EmptyFileError, "error.header_only"),
    ("header_only.xlsx", simple_xlsx([["Email", "Name"]]), EmptyFileError, "error.header_only"),
    ("empty.xlsx", simple_xlsx([]), EmptyFileError, "error.empty_workbook"),
    ("photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, UnreadableFileError, "error.foreign"),
    ("archive.zip", _zip({"readme.txt": b"hello", "data.csv": b"a,b\n1,2\n"}), UnreadableFileError,
     "error.foreign"),
    ("letter.xlsx", _zip({"word/document.xml": b"<w/>"}), UnreadableFileError, "error.foreign"),
    ("cut.xlsx", _truncated_xlsx(), UnreadableFileError, "error.corrupt_workbook"),
    ("broken.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024), UnreadableFileError,
     "error.corrupt_workbook"),
    ("secret.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512) + "EncryptionInfo".encode("utf-16-le")
     + bytes(64), UnreadableFileError, "error.encrypted"),
    ("binary.csv", b"Email,Name\n\x00\x01\x02\x03\x04\x05", UnreadableFileError, "error.foreign"),
])
def test_unusable_input(con, tmp_path: Path, name: str, data: bytes, exc: type[FunnelError], key: str) -> None:
    with pytest.raises(exc) as info:
        load(con, tmp_path, name, data)
    err = info.value
    assert err.key == key
    assert err.file == name
    for lang in ("ja", "en"):
        text = err.render(lang)
        assert name in text
        assert "{" not in text  # every parameter of the message was filled


def test_missing_path(con, tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError) as info:
        load_file(con, Source.from_path(tmp_path / "nope" / "report1642777476321.csv"), "raw_t", tmp_path)
    assert info.value.key == "error.not_found"
    for lang in ("ja", "en"):
        assert "report1642777476321.csv" in info.value.render(lang)


def test_directory(con, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    with pytest.raises(UnreadableFileError) as info:
        load_file(con, Source.from_path(folder), "raw_t", tmp_path)
    # A folder may hold a warehouse's Parquet parts (tests/test_parquet_input.py); this one holds none.
    assert info.value.key == "error.no_parquet"
    for lang in ("ja", "en"):
        assert "exports" in info.value.render(lang)


def test_errors_render_in_both_languages(con, tmp_path: Path) -> None:
    with pytest.raises(EmptyFileError) as info:
        load(con, tmp_path, "空のファイル.csv", b"")
    ja, en = info.value.render("ja"), info.value.render("en")
    assert ja.startswith("空のファイル.csv: ") and en.startswith("空のファイル.csv: ")
    assert ja != en


def test_keep_columns_leaves_the_kept_cells_and_row_ids_as_they_were(con, tmp_path: Path) -> None:
    """analyze's build drops the raw columns no plan reads before staging the rows: the kept
    columns, the row classification and every rowid (the row's place in the file) stay."""
    from funnel.sql.ingest import keep_columns

    text = "メール,流入元,スコア,担当者\n" + "".join(f"u{i}@x.jp,展示会{i % 3},{i},佐藤\n" for i in range(5))
    text += "合計,,10,\n"
    lt = load(con, tmp_path, "keep.csv", text.encode())
    before = rows(con, f'SELECT rowid, "c0001", "c0002", _drop FROM "{lt.table}" ORDER BY rowid')
    keep_columns(con, lt.table, lt.raw_columns, {"c0001", "c0002"})
    cols = [r[0] for r in rows(con, f"SELECT column_name FROM duckdb_columns() WHERE table_name = '{lt.table}'")]
    assert cols == ["c0001", "c0002", "_drop"]
    assert rows(con, f'SELECT rowid, "c0001", "c0002", _drop FROM "{lt.table}" ORDER BY rowid') == before
    assert [r[3] for r in before] == [None] * 5 + ["total"]


def test_a_command_line_naming_a_workbook_starts_the_parsing_worker_first(tmp_path, monkeypatch):
    """``python -m funnel`` starts a sandbox worker before its imports when an argument is a
    workbook (zip or OLE head), and only then: a CSV, a folder, a missing path, a FIFO (which
    a read would block on) and words start none; the worker started is the one that parses."""
    from funnel.ingest import sandbox

    started: list[object] = []
    monkeypatch.setattr(sandbox, "_idle", [])
    real = sandbox._Worker

    def spy() -> object:
        w = real()
        started.append(w)
        return w

    monkeypatch.setattr(sandbox, "_Worker", spy)
    (tmp_path / "leads.csv").write_text("email\na@b.co\n", encoding="utf-8")
    os.mkfifo(tmp_path / "pipe")
    sandbox.prestart_for(["analyze", "--ma", str(tmp_path / "leads.csv"), str(tmp_path), str(tmp_path / "pipe"),
                          str(tmp_path / "missing.xlsx")])
    assert started == []
    book = tmp_path / "leads.xlsx"
    book.write_bytes(simple_xlsx([["email", "source"], ["a@b.co", "web"]]))
    sandbox.prestart_for(["--ma", str(book), "--sfa", str(book)])
    sandbox.prestart_for(["--ma", str(book)])      # one idle already: no second
    assert len(started) == 1 and sandbox._idle == started
    table = sandbox.parse("xlsx", "leads.xlsx", book.read_bytes())
    assert table is not None and table.rows == 1 and len(started) == 1
    sandbox.shutdown()


def test_the_parsing_worker_converts_typed_columns_without_pandas(tmp_path, monkeypatch):
    """The child refuses pandas (pyarrow would import it only to ask whether an array is a
    pandas object): no pandas library is mapped into it after a parse, and blank cells of
    typed columns still arrive as NULL (pyarrow's NaN/NaT → NULL does not need pandas)."""
    from funnel.ingest import sandbox

    monkeypatch.setattr(sandbox, "_idle", [])
    book = simple_xlsx([["email", "score", "created"], ["a@b.co", 12, dt.datetime(2025, 4, 1, 9, 30)],
                        ["c@d.co", None, None], ["e@f.co", 3.5, dt.datetime(2025, 4, 2)]])
    kept: list[object] = []
    monkeypatch.setattr(sandbox, "_give_back", lambda w, rss_mb: kept.append(w))
    table = sandbox.parse("xlsx", "typed.xlsx", book)
    assert table is not None and table.rows == 3
    assert [a.to_pylist() for a in table.arrays[1:]] == [
        [12.0, None, 3.5], [dt.datetime(2025, 4, 1, 9, 30), None, dt.datetime(2025, 4, 2)]]
    (worker,) = kept
    maps = (Path("/proc") / str(worker.proc.pid) / "maps").read_text()
    assert "pyarrow" in maps and f"{os.sep}pandas{os.sep}" not in maps
    worker.close()


def test_a_parsing_worker_started_by_a_large_server_is_kept_for_the_next_workbook(monkeypatch):
    """A worker reports its own memory, not the peak Linux carries over fork and exec from the
    process that started it: a server holding more than ``sandbox_keep_mb`` (a 1M-lead
    workspace) used to see every worker retired after its first parse."""
    import resource

    from funnel.config import setting
    from funnel.ingest import sandbox

    keep = int(setting("sandbox_keep_mb"))
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    ballast = bytearray(max(0, keep + 64 - grown) * 1024 * 1024)
    ballast[::4096] = b"\x01" * len(ballast[::4096])      # touched: resident, not just reserved
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024 > keep
    monkeypatch.setattr(sandbox, "_idle", [])
    reported: list[int] = []
    give_back = sandbox._give_back
    monkeypatch.setattr(sandbox, "_give_back", lambda w, rss_mb: (reported.append(rss_mb), give_back(w, rss_mb)))
    book = simple_xlsx([["email", "source"], ["a@b.co", "web"]])
    assert sandbox.parse("xlsx", "a.xlsx", book).rows == 1
    (worker,) = sandbox._idle
    assert 0 < reported[0] < keep
    assert sandbox.parse("xlsx", "a.xlsx", book).rows == 1 and sandbox._idle == [worker]     # reused
    del ballast
    sandbox.shutdown()


def _far_cell_xlsx() -> bytes:
    """A small workbook whose one sheet holds a cell at XFD1048576 (calamine's grid: 550 GB)."""
    from tests.test_limits import sparse_xlsx

    return sparse_xlsx(b'<row r="1"><c r="XFD1048576"><v>1</v></c></row>')


def test_the_grid_checks_refusal_ends_its_worker_and_the_next_workbook_reads(monkeypatch):
    """The grid check runs beside calamine's parse in the child: its refusal is sent at once and
    ends that child (the parse may still be running), so the server closes the worker rather
    than keeping it. Refusal after refusal, no dead worker is kept and the next workbook reads."""
    from funnel.ingest import sandbox

    monkeypatch.setattr(sandbox, "_idle", [])
    closed: list[object] = []
    close = sandbox._Worker.close
    monkeypatch.setattr(sandbox._Worker, "close", lambda w: (closed.append(w), close(w))[1])
    for _ in range(3):
        with pytest.raises(TooLargeError) as info:
            sandbox.parse("xlsx", "far.xlsx", _far_cell_xlsx())
        assert info.value.key == "error.sheet_too_big" and info.value.params["rows"] == "1,048,576"
        assert sandbox._idle == []
    assert len(set(map(id, closed))) == 3 and all(w.proc.returncode is not None for w in closed)
    table = sandbox.parse("xlsx", "ok.xlsx", simple_xlsx([["email", "source"], ["a@b.co", "web"]]))
    assert table is not None and table.rows == 1 and len(sandbox._idle) == 1
    sandbox.shutdown()


def test_a_parse_that_ends_its_worker_before_the_grid_check_still_gets_the_checks_message(monkeypatch):
    """Should calamine abort on a far cell before the check beside it has refused, the server
    asks a fresh worker for the checks alone: the file gets the check's message, not "cannot
    be read safely". A workbook that passes the checks but kills its worker stays unsafe."""
    from funnel.ingest import sandbox

    monkeypatch.setattr(sandbox, "_idle", [])
    asked: list[str] = []
    ask = sandbox._Worker.ask

    def dies_parsing(w: object, request: tuple[object, ...]) -> object:
        asked.append(str(request[0]))
        if request[0] == "parse":
            w.proc.kill()       # as an abort ends it
        return ask(w, request)

    monkeypatch.setattr(sandbox._Worker, "ask", dies_parsing)
    with pytest.raises(TooLargeError) as info:
        sandbox.parse("xlsx", "far.xlsx", _far_cell_xlsx())
    assert info.value.key == "error.sheet_too_big" and asked == ["parse", "check"]
    with pytest.raises(UnreadableFileError) as unsafe:
        sandbox.parse("xlsx", "ok.xlsx", simple_xlsx([["email"], ["a@b.co"]]))
    assert unsafe.value.key == "error.unsafe_workbook" and asked[2:] == ["parse", "check"]
    assert len(sandbox._idle) == 1     # the check's worker, kept: the checks passed
    sandbox.shutdown()


def test_layout_rows_of_a_wide_table_count_every_cell_only_where_a_test_needs_it():
    """The row classification reads every cell only of rows that might be blank, a footer or a
    group header; the counts still decide them over all columns, here twelve: a row blank in
    its first three cells but filled further on is data, a footer or group label with more
    cells filled than such a line has is data, and the rest are what they look like."""
    from funnel.sql import connect
    from funnel.sql.ingest import classify_rows, raw_column

    cols = [raw_column(i) for i in range(12)]
    header = ["メールアドレス", "会社名", *(f"項目{i}" for i in range(10))]

    def row(*cells: str | None) -> list[str | None]:
        return [*cells, *[None] * (12 - len(cells))]

    table = [row("a@b.co\u3000", "株式会社A"),                       # a candidate (foldable) that is data
             row(None, None, None, None, None, None, None, "x"),   # blank in the first three: data
             row(None, " ", "\u3000"),                                   # blank
             row("合計", None, "12"),                                    # total
             row("Copyright (c) 2026 Example", None),                   # footer: one cell
             row("Copyright (c) 2026 Example", "x", "y", "z"),         # footer word, four cells: data
             row("展示会 (34件)"),                                       # group header
             row("展示会 (34件)", None, None, None, None, None, None, None, None, None, None, "x"),  # data
             row("メールアドレス", "会社名", "項目0")]                    # repeated header
    con = connect()
    try:
        con.execute(f"CREATE TABLE t ({', '.join(f'{c} VARCHAR' for c in cols)}, _drop VARCHAR)")
        con.executemany(f"INSERT INTO t VALUES ({', '.join('?' * 13)})", [[*r, None] for r in table])
        classify_rows(con, "t", cols, header)
        got = [r[0] for r in rows(con, "SELECT _drop FROM t ORDER BY rowid")]
    finally:
        con.close()
    assert got == [None, None, "blank", "total", "footer", None, "group_header", None, "repeated_header"]
