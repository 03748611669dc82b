"""Builders of hostile input files, made in the test (no binary fixtures): each is what an
attacker (or a strange exporter) could upload. Used by tests/test_hostile.py (and the
zip bomb by tests/test_limits.py).

Every builder returns bytes and stays small: the danger is what a parser makes of them.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from tests.test_reader import simple_xlsx

# --- xlsb: the binary workbook (BIFF12 records in a zip) ---------------------------------------


def _record(kind: int, body: bytes = b"") -> bytes:
    """One BIFF12 record: type and size as 7-bit varints, then the body ([MS-XLSB] 2.1.4)."""
    def varint(n: int) -> bytes:
        out = bytearray()
        while True:
            b, n = n & 0x7F, n >> 7
            out.append(b | (0x80 if n else 0))
            if not n:
                return bytes(out)
    return varint(kind) + varint(len(body)) + body


def _wide(text: str) -> bytes:
    return struct.pack("<I", len(text)) + text.encode("utf-16-le")


def xlsb_far_cell(row: int = 1_048_575, col: int = 16_383) -> bytes:
    """An ``.xlsb`` whose one sheet holds a header and one number at (row, col), 0-based:
    XFD1048576 by default. calamine builds a dense grid up to that cell (550 GB)."""
    workbook = (_record(0x83) + _record(0x8F)
                + _record(0x9C, struct.pack("<II", 0, 1) + _wide("rId1") + _wide("Sheet1"))
                + _record(0x90) + _record(0x84))

    def number(r: int, c: int, value: int) -> bytes:
        rk = (value << 2) | 0x02                         # an integer RK value
        return (_record(0x00, struct.pack("<IIHHBBI", r, 0, 300, 0, 0, 0, 0))    # BrtRowHdr
                + _record(0x02, struct.pack("<II", c, 0) + struct.pack("<i", rk)))  # BrtCellRk
    sheet = (_record(0x81) + _record(0x94, struct.pack("<IIII", 0, row, 0, col)) + _record(0x91)
             + number(0, 0, 1) + number(row, col, 2) + _record(0x92) + _record(0x82))
    ct = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
          'content-types"><Default Extension="bin" ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/>'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Override PartName="/xl/worksheets/sheet1.bin" ContentType="application/vnd.ms-excel.worksheet"/></Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="xl/workbook.bin"/></Relationships>')
    wb_rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
               '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
               'relationships/worksheet" Target="worksheets/sheet1.bin"/></Relationships>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", ct)
        zf.writestr("_rels/.rels", rels)
        zf.writestr("xl/workbook.bin", workbook)
        zf.writestr("xl/_rels/workbook.bin.rels", wb_rels)
        zf.writestr("xl/worksheets/sheet1.bin", sheet)
    return buf.getvalue()


# --- xlsx with its sheet part outside xl/worksheets/ -------------------------------------------

def xlsx_moved_sheet(far: str = "XFD1048576") -> bytes:
    """A normal xlsx whose sheet lives at ``xl/data/table.xml`` (the relationship says so) and
    holds one cell at ``far``: a check that looks under ``worksheets/`` does not see it."""
    base = zipfile.ZipFile(io.BytesIO(simple_xlsx([["Email", "Name"], ["a@x.com", "A"]])))
    buf = io.BytesIO()
    row = far.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in base.namelist():
            data = base.read(name)
            if name == "xl/worksheets/sheet1.xml":
                name = "xl/data/table.xml"
                data = data.replace(b"</sheetData>", f'<row r="{row}"><c r="{far}"><v>1</v></c></row>'
                                    .encode() + b"</sheetData>")
            data = data.replace(b"worksheets/sheet1.xml", b"data/table.xml")
            zf.writestr(name, data)
    return buf.getvalue()


# --- ODS with repeated rows and columns --------------------------------------------------------

def ods_repeats(rows: int = 1_000_000, cols: int = 16_000) -> bytes:
    """An OpenDocument spreadsheet of a few hundred bytes whose one row of text is repeated
    ``rows`` times, each with ``cols`` repeated cells: billions of cells on expansion."""
    content = ('<?xml version="1.0" encoding="UTF-8"?>'
               '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
               '<office:body><office:spreadsheet><table:table table:name="Sheet1">'
               '<table:table-row><table:table-cell office:value-type="string"><text:p>Email</text:p>'
               '</table:table-cell></table:table-row>'
               f'<table:table-row table:number-rows-repeated="{rows}">'
               f'<table:table-cell table:number-columns-repeated="{cols}" office:value-type="string">'
               '<text:p>x@example.com</text:p></table:table-cell></table:table-row>'
               '</table:table></office:spreadsheet></office:body></office:document-content>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", content)
        zf.writestr("META-INF/manifest.xml",
                    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:'
                    'tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" '
                    'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                    '</manifest:manifest>')
    return buf.getvalue()


# --- XML attacks in a workbook -----------------------------------------------------------------

def xlsx_with_sheet_xml(prolog: bytes, cell_text: bytes) -> bytes:
    """An xlsx whose sheet XML starts with ``prolog`` (a DOCTYPE) and holds ``cell_text`` as an
    inline string under the header Email."""
    base = zipfile.ZipFile(io.BytesIO(simple_xlsx([["Email"], ["a@x.com"]])))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in base.namelist():
            data = base.read(name)
            if name == "xl/worksheets/sheet1.xml":
                decl_end = data.find(b"?>") + 2 if data.startswith(b"<?xml") else 0
                data = (data[:decl_end] + prolog + data[decl_end:]).replace(
                    b"</sheetData>", b'<row r="3"><c r="A3" t="inlineStr"><is><t>' + cell_text
                    + b"</t></is></c></row></sheetData>")
            zf.writestr(name, data)
    return buf.getvalue()


BILLION_LAUGHS = (b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
                             for i in range(1, 10)) + b"]>")
XXE = b'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def spreadsheetml(prolog: bytes, cell: bytes) -> bytes:
    """An Excel 2003 XML workbook (parsed by ElementTree) with ``prolog`` and one cell."""
    return (b'<?xml version="1.0"?>' + prolog + b'<?mso-application progid="Excel.Sheet"?>'
            b'<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
            b'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="S"><Table>'
            b'<Row><Cell><Data ss:Type="String">Email</Data></Cell></Row>'
            b'<Row><Cell><Data ss:Type="String">' + cell + b'</Data></Cell></Row>'
            b'<Row><Cell><Data ss:Type="String">b@x.com</Data></Cell></Row>'
            b"</Table></Worksheet></Workbook>")


# --- zip bomb just under the ratio floor -------------------------------------------------------

def _deflate(prefix: bytes, unit: bytes = b"", repeat: int = 0, suffix: bytes = b"") -> tuple[bytes, int, int]:
    """Raw deflate of ``prefix + unit * repeat + suffix`` without compressing the repeats: after a
    full flush each compressed ``unit`` is the same bytes, so a gigabyte costs a millisecond."""
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = co.compress(prefix) + co.flush(zlib.Z_FULL_FLUSH)
    seg = co.compress(unit) + co.flush(zlib.Z_FULL_FLUSH) if repeat else b""
    tail = co.compress(suffix) + co.flush()
    crc = zlib.crc32(prefix)
    for _ in range(repeat):
        crc = zlib.crc32(unit, crc)
    return head + seg * repeat + tail, zlib.crc32(suffix, crc), len(prefix) + len(unit) * repeat + len(suffix)


def _zip_deflated(parts: dict[str, tuple[bytes, int, int]]) -> bytes:
    """A zip of already deflated parts ``name → (deflated, crc, size)`` (zipfile cannot write these)."""
    out, central = io.BytesIO(), []
    for name, (comp, crc, size) in parts.items():
        offset, n = out.tell(), name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(comp), size, len(n), 0) + n + comp)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(comp), size,
                                   len(n), 0, 0, 0, 0, 0, offset) + n)
    cd = b"".join(central)
    out.write(cd + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(parts), len(parts), len(cd), out.tell(), 0))
    return out.getvalue()


def xlsx_zip_bomb(mib: int) -> bytes:
    """A real workbook (Email/Name, one row) whose sheet XML holds ``mib`` MiB of whitespace
    between its rows: valid XML, ~1 KB per compressed MiB."""
    base = zipfile.ZipFile(io.BytesIO(simple_xlsx([["Email", "Name"], ["a@x.com", "A"]])))
    parts = {}
    for name in base.namelist():
        data = base.read(name)
        if name == "xl/worksheets/sheet1.xml":
            head, _, tail = data.partition(b"</sheetData>")
            parts[name] = _deflate(head, b" " * (1 << 20), mib, b"</sheetData>" + tail)
        else:
            parts[name] = _deflate(data)
    return _zip_deflated(parts)


# --- wide exports ------------------------------------------------------------------------------

def wide_csv(columns: int, rows: int = 5) -> bytes:
    header = ["Email", "Lead Source", "Create Date"] + [f"property_{i}" for i in range(columns - 3)]
    lines = [",".join(header)]
    for r in range(rows):
        lines.append(",".join([f"lead{r}@example.com", "Web", f"2025-01-{r + 1:02d}"]
                              + [f"v{r}_{i}" for i in range(columns - 3)]))
    return ("\n".join(lines) + "\n").encode()


def wide_xlsx(columns: int, rows: int = 5) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("leads")
    ws.append(["Email", "Lead Source", "Create Date"] + [f"property_{i}" for i in range(columns - 3)])
    for r in range(rows):
        ws.append([f"lead{r}@example.com", "Web", f"2025-01-{r + 1:02d}"] + [r * i for i in range(columns - 3)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
