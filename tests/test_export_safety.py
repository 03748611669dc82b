"""Downloads cannot run formulas (OWASP "CSV injection"): every text cell that a spreadsheet
would evaluate — starting with ``=``, ``+``, ``-``, ``@``, tab or CR — is neutralised with a
leading ``'``, in CSV and in Excel, while real numbers (negative ones included) stay numbers.

The Excel workbook is read back with openpyxl and checked cell by cell: value and type.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from funnel.present.export import csv_bytes, frame_csv_bytes, frame_xlsx_bytes, safe_cell

# (cell as the table holds it, what the downloaded cell must hold)
DANGEROUS = [
    ("=1+2", "'=1+2"),
    ("=HYPERLINK(\"http://evil.example\",\"x\")", "'=HYPERLINK(\"http://evil.example\",\"x\")"),
    ("+81-3-1234-5678", "'+81-3-1234-5678"),
    ("-abc", "'-abc"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=1+2", "'\t=1+2"),
    ("\rcmd", "'\rcmd"),
]
HARMLESS = ["株式会社青葉工業", "taro@example.co.jp", "a=b", "1+1", "展示会 - 東京", ""]


def csv_cells(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, for Japanese Excel"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def xlsx_rows(data: bytes) -> list[list[openpyxl.cell.Cell]]:
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    return [list(r) for r in ws.iter_rows()]


@pytest.mark.parametrize(("cell", "want"), DANGEROUS)
def test_safe_cell_neutralises_formula_text(cell: str, want: str) -> None:
    assert safe_cell(cell) == want


@pytest.mark.parametrize("cell", HARMLESS)
def test_safe_cell_leaves_other_text(cell: str) -> None:
    assert safe_cell(cell) == cell


@pytest.mark.parametrize("value", [-1, -1.5, 0, 3, 2.25, True, None])
def test_numbers_stay_numbers(value: object) -> None:
    assert safe_cell(value) is value


@pytest.mark.parametrize("text", ["-1", "-1.5", "+3", "-1,234", "-5%", "-1e3"])
def test_number_text_is_not_quoted(text: str) -> None:
    # A number written as text (an exported amount) is harmless and must stay a number in Excel.
    assert safe_cell(text) == text


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "text": [c for c, _ in DANGEROUS] + HARMLESS[:2],
        "n": [-1, 2, -3, 4, 0, 5, 6, -7, 8, 9],
        "x": [-1.5, 0.25, None, 1e6, -0.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    })


def test_csv_download() -> None:
    rows = csv_cells(frame_csv_bytes(frame()))
    assert rows[0] == ["text", "n", "x"]
    body = rows[1:]
    assert [r[0] for r in body[:len(DANGEROUS)]] == [w for _, w in DANGEROUS]
    assert [r[0] for r in body[len(DANGEROUS):]] == HARMLESS[:2]
    assert body[0][1] == "-1" and body[0][2] == "-1.5"      # numbers as Excel reads numbers
    assert body[2][2] == ""                                  # missing value: empty cell
    assert frame_csv_bytes(frame()).count(b"\r\n") == len(body) + 1


def test_csv_bytes_header_is_safe_too() -> None:
    rows = csv_cells(csv_bytes(["=cmd", "ok"], [["-abc", -1]]))
    assert rows == [["'=cmd", "ok"], ["'-abc", "-1"]]


def test_xlsx_download_cell_types_and_values() -> None:
    rows = xlsx_rows(frame_xlsx_bytes(frame(), "export"))
    header, body = rows[0], rows[1:]
    assert [c.value for c in header] == ["text", "n", "x"]
    assert all(c.font.b for c in header)                     # bold header
    for (cell, want), row in zip(DANGEROUS, body, strict=False):
        # (XML reads a stored CR back as LF; the leading quote is what matters)
        assert row[0].value == want.replace("\r", "\n") and row[0].data_type == "s", cell
    assert all(row[0].data_type != "f" for row in body)
    assert [r[1].value for r in body] == [-1, 2, -3, 4, 0, 5, 6, -7, 8, 9]
    assert all(r[1].data_type == "n" for r in body)           # -1 stays the number -1
    assert body[0][2].value == -1.5 and body[0][2].data_type == "n"
    assert body[2][2].value is None


def test_xlsx_keeps_dates_decimals_and_layout() -> None:
    df = pd.DataFrame({
        "作成日": pd.to_datetime(["2025-04-01 00:00", None, "2025-04-03 09:30"]),
        "日付": [dt.date(2025, 4, 1), None, dt.date(2025, 4, 3)],
        "金額": [Decimal("-1200000"), Decimal("0.5"), None],
        "会社名": ["株式会社青葉工業 - 営業支援クラウド Enterprise 新規導入", "=A1", None],
        "flag": [True, False, None],
    })
    wb = openpyxl.load_workbook(io.BytesIO(frame_xlsx_bytes(df, "商談/一覧:[2025]")))
    ws = wb.active
    assert ws.title == "商談_一覧__2025_"                     # characters Excel forbids replaced
    assert ws.freeze_panes == "A2"
    rows = [list(r) for r in ws.iter_rows()]
    assert rows[1][0].value == dt.datetime(2025, 4, 1) and rows[1][0].is_date
    assert rows[2][0].value is None
    assert rows[3][0].value == dt.datetime(2025, 4, 3, 9, 30)
    assert rows[1][1].is_date
    assert rows[1][2].value == -1200000 and rows[1][2].data_type == "n"
    assert rows[2][3].value == "'=A1"
    assert rows[1][4].value is True
    widths = {k: v.width for k, v in ws.column_dimensions.items()}
    assert widths["D"] > widths["E"]                          # a long Japanese column is wider
    assert all(8 <= w <= 60 for w in widths.values())


def test_xlsx_of_an_empty_frame() -> None:
    rows = xlsx_rows(frame_xlsx_bytes(pd.DataFrame({"a": [], "b": []}), ""))
    assert [[c.value for c in r] for r in rows] == [["a", "b"]]


@settings(max_examples=60, deadline=None)
@given(hs.lists(hs.text(min_size=1, max_size=12), min_size=1, max_size=8),
       hs.lists(hs.integers(min_value=-10**9, max_value=10**9), min_size=1, max_size=8))
def test_no_cell_ever_starts_a_formula(texts: list[str], numbers: list[int]) -> None:
    n = min(len(texts), len(numbers))
    df = pd.DataFrame({"t": texts[:n], "n": numbers[:n]})
    # openpyxl cannot store control characters other than tab/CR/LF; the app never has them
    df["t"] = df["t"].str.replace(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]", "", regex=True)
    for row in csv_cells(frame_csv_bytes(df))[1:]:
        cell = row[0]
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) or cell.lstrip("+-").replace(".", "").isdigit()
    body = xlsx_rows(frame_xlsx_bytes(df, "t"))[1:]
    for row, want in zip(body, numbers[:n], strict=True):
        assert row[0].data_type != "f"
        assert row[1].value == want and row[1].data_type == "n"
