"""The grid check that runs before calamine reads an xlsx sheet (funnel.ingest.sheetgrid).

calamine allocates a dense grid over every cell position it meets, and a failed allocation
aborts the process: the estimate must never be below calamine's own grid, whatever the
spelling of the positions, and must not refuse an ordinary sheet. Each estimate here is
checked against the grid calamine itself builds for the same file (small enough to read).
"""

from __future__ import annotations

import functools
import io
import re
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel.errors import TooLargeError
from funnel.ingest import sheetgrid
from funnel.ingest import sheets as workbook
from tests.test_reader import simple_xlsx


@functools.cache
def _base() -> bytes:
    return simple_xlsx([["x"]])


def with_sheet_data(rows_xml: bytes) -> bytes:
    """A workbook written by openpyxl whose sheet data is replaced by ``rows_xml``."""
    base = zipfile.ZipFile(io.BytesIO(_base()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in base.namelist():
            data = base.read(name)
            if name == "xl/worksheets/sheet1.xml":
                data = re.sub(rb"<sheetData>.*</sheetData>|<sheetData\s*/>",
                              lambda _: b"<sheetData>" + rows_xml + b"</sheetData>", data, flags=re.S)
                data = data.replace(b"<worksheet ", b'<worksheet xmlns:x="urn:x" ', 1)
            zf.writestr(name, data)
    return buf.getvalue()


def estimate(data: bytes) -> tuple[int, int]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return sheetgrid.sheet_grid(zf, zf.getinfo("xl/worksheets/sheet1.xml"))


def calamine_grid(data: bytes) -> tuple[int, int] | None:
    """Rows and columns of the grid calamine builds (from row 1, column A), None if it refuses."""
    import python_calamine as pc

    try:
        end = pc.CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).end
    except Exception:
        return None
    return (end[0] + 1, end[1] + 1) if end else (0, 0)


def letters(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def refused(data: bytes) -> dict[str, str]:
    with pytest.raises(TooLargeError) as info:
        workbook.check_cells(data, "far.xlsx")
    return info.value.params


CELL = b"<v>1</v></c>"

# One far cell written every way calamine still reads as a position (and R, which it does
# not, refused as before): the grid is 100,000 rows x 702 columns (2.2 GB in calamine).
SPELLINGS = [b'<c r="ZZ100000">', b'<c r="zz100000">', b"<c r='ZZ100000'>", b'<c\tr="ZZ100000">',
             b'<c\nr="ZZ100000">', b'<c\r\nr="ZZ100000">', b'<c r = "ZZ100000">', b'<c r=\n"ZZ100000">',
             b'<c  r  =  "ZZ100000">', b'<c t="n" r="ZZ100000">', b'<c R="ZZ100000">', b'<c r="ZZ00100000">',
             b'<c r="zZ0000000000000000000100000">', b'<x:c r="ZZ100000">']


@pytest.mark.parametrize("cell", SPELLINGS)
def test_a_far_cell_is_refused_in_every_spelling(cell):
    tail = b"</x:c>" if cell.startswith(b"<x:") else b"</c>"
    data = with_sheet_data(b'<row r="1"><c r="A1"><v>1</v></c></row><row r="5">' + cell + b"<v>1</v>" + tail
                           + b"</row>")
    assert refused(data) == {"rows": "100,000", "cols": "702", "limit": f"{workbook.MAX_CELLS:,}"}


@pytest.mark.parametrize("ref, rows, cols", [
    ("A4000000000", "4,000,000,000", "1"),          # more digits than the shortcut compares
    ("AAAA10000", "10,000", "18,279"),              # four letters
    ("XFD1048576", "1,048,576", "16,384"),
])
def test_far_cells_beyond_the_shortcut_are_parsed_exactly(ref, rows, cols):
    data = with_sheet_data(b'<row r="1"><c r="%s"><v>1</v></c></row>' % ref.encode())
    assert refused(data) == {"rows": rows, "cols": cols, "limit": f"{workbook.MAX_CELLS:,}"}


@pytest.mark.parametrize("block", [16, 64, 333, 4096])
def test_a_far_cell_on_a_block_boundary_is_found(monkeypatch, block):
    monkeypatch.setattr(sheetgrid, "_BLOCK", block)
    body = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c><c r="B%d"><v>1</v></c></row>' % (i, i, i, i)
                    for i in range(1, 60))
    for at in range(0, len(body), 53):
        cut = body.find(b"<row", at) % (len(body) + 1)
        data = with_sheet_data(body[:cut] + b'<row r="9"><c r="ZZ100000"><v>1</v></c></row>' + body[cut:])
        assert refused(data)["cols"] == "702"


def test_cells_without_r_are_placed_as_calamine_places_them():
    # One row at the last row number, then cells without a position: calamine puts them side
    # by side, and 64 of them ask for 1,048,576 x 64 cells (2 GB), from a 2 KB file.
    data = with_sheet_data(b'<row r="1048576">' + (b"<c>" + CELL) * 64 + b"</row>")
    assert refused(data) == {"rows": "1,048,576", "cols": "64", "limit": f"{workbook.MAX_CELLS:,}"}


@pytest.mark.parametrize("xml", [
    b'<row r="50"><c r="K50"/>' + b"<c>" + CELL + b"<c/><c>" + CELL + b"</row>",     # <c/> still moves on
    b'<row r="300"/><row><c>' + CELL + b"</row>",                                  # <row/>: start and end
    b'<row r="3"><c r="B3">' + CELL + b"</row><c>" + CELL + b"<c>" + CELL,         # cells outside a row
    b"<row><c>" + CELL + b"</row><row><c>" + CELL + b"<c>" + CELL + b"</row>",          # no positions at all
    b'<row r="2"><c t="n" r="C2">' + CELL + b"<c>" + CELL + b"</row>",            # r not first
    b'<row r="2"><x:c r="C2"><v>1</v></x:c><x:c><v>1</v></x:c></row>',             # a prefix
    b'<row r="7"><c r="c7">' + CELL + b"<c>" + CELL + b"</row>",                   # lower-case letters
])
def test_the_estimate_is_calamines_grid(xml):
    data = with_sheet_data(xml)
    assert estimate(data) == calamine_grid(data)


def test_an_ordinary_wide_sheet_is_accepted_and_measured_exactly():
    table = [[f"h{j}" for j in range(120)]] + [[f"{i}-{j}" for j in range(120)] for i in range(300)]
    data = simple_xlsx(table)
    assert estimate(data) == calamine_grid(data) == (301, 120)
    workbook.check_cells(data, "wide.xlsx")
    assert len(workbook.read_workbook(data, "wide.xlsx", "xlsx")[0].rows) == 301


@pytest.mark.parametrize("rewrite", [
    lambda x: re.sub(rb'<c r="[A-Z]+[0-9]+"', b"<c", x),                      # no r on cells
    lambda x: re.sub(rb'<c (r="[A-Z]+[0-9]+") (t="\w+")', rb"<c \2 \1", x),      # r last
])
def test_a_long_sheet_without_r_first_is_measured_as_calamine_does(rewrite):
    table = [["Email", "Name", "Note"]] + [[f"u{i}@x.jp", f"n{i}", "memo"] for i in range(3000)]
    base = zipfile.ZipFile(io.BytesIO(simple_xlsx(table)))
    sheet = rewrite(base.read("xl/worksheets/sheet1.xml"))
    data = with_sheet_data(re.search(rb"<sheetData>(.*)</sheetData>", sheet, re.S).group(1))
    assert estimate(data) == calamine_grid(data) == (3001, 3)


def test_text_that_looks_like_a_position_is_counted_as_before():
    """Text is not told from markup: a reference-like string in a cell counts (never less)."""
    data = with_sheet_data(b'<row r="1"><c r="A1" t="inlineStr"><is><t> r="ZZ100000"</t></is></c></row>')
    assert refused(data)["rows"] == "100,000"


spelling = st.sampled_from([b' r="%s"', b" r='%s'", b' r = "%s"', b'\n r="%s"', b' r="%s" t="n"'])


@st.composite
def sheets(draw) -> bytes:
    """Sheet data mixing rows and cells with and without positions, empty elements, prefixes."""
    out = []
    row = 0
    for _ in range(draw(st.integers(1, 12))):
        row += draw(st.sampled_from([1, 1, 2, 40]))
        if draw(st.booleans()):
            out.append(b"<row" + draw(spelling) % str(row).encode() + (b"/>" if draw(st.integers(0, 9)) == 0 else b">"))
            if out[-1].endswith(b"/>"):
                continue
        else:
            out.append(b"<row>")
        col = 0
        for _ in range(draw(st.integers(0, 8))):
            col += draw(st.sampled_from([1, 1, 3, 30]))
            name = draw(st.sampled_from([b"c", b"c", b"x:c"]))
            attrs = draw(spelling) % f"{letters(col)}{row}".encode() if draw(st.integers(0, 3)) else b""
            if draw(st.integers(0, 7)) == 0:
                out.append(b"<" + name + attrs + b"/>")
            else:
                out.append(b"<" + name + attrs + b"><v>1</v></" + name + b">")
        out.append(b"</row>")
    return b"".join(out)


@settings(max_examples=80, deadline=None)
@given(sheets(), st.sampled_from([16, 64, 1 << 20]))
def test_the_estimate_is_never_below_calamines_grid(xml, block):
    data = with_sheet_data(xml)
    old, sheetgrid._BLOCK = sheetgrid._BLOCK, block
    try:
        rows, cols = estimate(data)
    finally:
        sheetgrid._BLOCK = old
    grid = calamine_grid(data)
    if grid is not None:
        assert rows >= grid[0] and cols >= grid[1]


@pytest.mark.parametrize("part", ["xl/worksheets/sheet1.bin", "xl/Worksheets/Sheet1.xml", "XL/WORKSHEETS/SHEET1.XML",
                                  "xl/worksheets/sheet1.xml ", "xl/worksheets/data/s.xml"])
def test_a_sheet_part_under_another_name_is_checked_too(monkeypatch, part):
    """calamine opens the part the workbook's relationships name, case-insensitively and
    whatever its extension: each such part is measured."""
    monkeypatch.setattr(workbook, "MAX_CELLS", 1000)
    base = zipfile.ZipFile(io.BytesIO(with_sheet_data(b'<row r="5000"><c r="Z5000"><v>1</v></c></row>')))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in base.namelist():
            data = base.read(name)
            if name == "xl/_rels/workbook.xml.rels":
                data = data.replace(b'"/xl/worksheets/sheet1.xml"', b'"/%s"' % part.lower().encode())
            zf.writestr(part if name == "xl/worksheets/sheet1.xml" else name, data)
    data = buf.getvalue()
    assert calamine_grid(data) == (5000, 26)
    assert refused(data) == {"rows": "5,000", "cols": "26", "limit": "1,000"}
