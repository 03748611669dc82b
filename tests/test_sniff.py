"""funnel.ingest.sniff: what a file is (container, encoding, delimiter) decided from its bytes alone."""

from __future__ import annotations

import codecs
import io
import zipfile

import pytest

from funnel.ingest.sniff import DELIMITERS, detect_encoding, detect_kind, head_records, sniff_delimiter

JA = "メールアドレス,会社名,備考\na@example.jp,㈱髙橋製作所,①初回\nb@example.jp,株式会社サンプル,テスト\n"


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


# -- container kind ----------------------------------------------------------------------------

@pytest.mark.parametrize("data, kind, detail", [
    (b"", "empty", ""),
    (b" \r\n\t\n", "empty", ""),
    (codecs.BOM_UTF8, "empty", ""),
    (codecs.BOM_UTF8 + b"\r\n\r\n", "empty", ""),
    (codecs.BOM_UTF16_LE, "empty", ""),
    (b"Email,Name\na@x.com,A\n", "text", ""),
    (codecs.BOM_UTF16_LE + "Email\tName\n".encode("utf-16-le"), "text", ""),
    (codecs.BOM_UTF16_BE + "Email\tName\n".encode("utf-16-be"), "text", ""),
    ("Email\tName\na@x.com\tA\n".encode("utf-16-le"), "text", ""),     # UTF-16 without BOM
    ("Email\tName\na@x.com\tA\n".encode("utf-16-be"), "text", ""),
    (JA.encode("cp932"), "text", ""),
    (b"\x89PNG\r\n\x1a\n" + bytes(64), "foreign", "PNG"),
    (b"\xff\xd8\xff\xe0" + bytes(64), "foreign", "JPEG"),
    (b"%PDF-1.7\n" + bytes(64), "foreign", "PDF"),
    (b"\x1f\x8b\x08\x00" + bytes(64), "foreign", "gzip"),
    (b"SQLite format 3\x00" + bytes(64), "foreign", "SQLite"),
    (b"Email,Name\n\x00\x01\x02\x03\x04", "foreign", "binary"),
    (b"PK\x03\x04" + bytes(40), "corrupt_zip", ""),
    (b"<html><body><table><tr><td>a</td></tr></table></body></html>", "html", ""),
    (b"\xef\xbb\xbf<table><tr><td>a</td></tr></table>", "html", ""),
    (b"<!DOCTYPE html>\n<html></html>", "html", ""),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "xls", ""),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512) + "EncryptionInfo".encode("utf-16-le"), "encrypted", ""),
])
def test_detect_kind(data: bytes, kind: str, detail: str) -> None:
    got = detect_kind(data)
    assert (got.name, got.detail) == (kind, detail)


def test_text_starting_with_bm_is_not_a_bitmap() -> None:
    # "BM" is the bitmap magic, but a CSV may start with a column named "BM…".
    assert detect_kind(b"BMI,Email\n22.5,a@x.com\n").name == "text"


@pytest.mark.parametrize("files, kind, detail", [
    ({"xl/workbook.xml": b"<workbook/>", "[Content_Types].xml": b"<Types/>"}, "xlsx", ""),
    ({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"}, "ods", ""),
    ({"word/document.xml": b"<w/>"}, "foreign", "Word"),
    ({"ppt/presentation.xml": b"<p/>"}, "foreign", "PowerPoint"),
    ({"readme.txt": b"hello"}, "foreign", "ZIP"),
])
def test_detect_kind_of_zip_containers(files: dict[str, bytes], kind: str, detail: str) -> None:
    got = detect_kind(_zip(files))
    assert (got.name, got.detail) == (kind, detail)


SPREADSHEETML = b"""<?xml version="1.0"?>
<?mso-application progid="Excel.Sheet"?>
<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"
 xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">
 <Worksheet ss:Name="Sheet1"><Table>
  <Row><Cell><Data ss:Type="String">Email</Data></Cell></Row>
 </Table></Worksheet>
</Workbook>
"""


def test_spreadsheetml_without_table_element_is_spreadsheetml() -> None:
    data = SPREADSHEETML.replace(b"<Table>", b"").replace(b"</Table>", b"")
    assert detect_kind(data).name == "spreadsheetml"


def test_spreadsheetml_with_table_element_is_spreadsheetml() -> None:
    # Every real Excel 2003 XML workbook has <Table> inside <Worksheet>.
    assert detect_kind(SPREADSHEETML).name == "spreadsheetml"


# -- encoding ----------------------------------------------------------------------------------

@pytest.mark.parametrize("data, codec, label", [
    (b"Email,Name\na@x.com,A\n", "utf-8", "UTF-8"),
    (JA.encode("utf-8"), "utf-8", "UTF-8"),
    (codecs.BOM_UTF8 + JA.encode("utf-8"), "utf-8-sig", "UTF-8 (BOM)"),
    (codecs.BOM_UTF16_LE + JA.encode("utf-16-le"), "utf-16", "UTF-16 (BOM)"),
    (codecs.BOM_UTF16_BE + JA.encode("utf-16-be"), "utf-16", "UTF-16 (BOM)"),
    (JA.encode("utf-16-le"), "utf-16-le", "UTF-16LE"),
    (JA.encode("utf-16-be"), "utf-16-be", "UTF-16BE"),
    (JA.encode("cp932"), "cp932", "CP932 (Shift_JIS)"),
    ("会社名,氏名,メールアドレス\n株式会社サンプル,山田 太郎,taro@example.jp\n合同会社テスト,佐藤 花子,h@example.jp\n"
     .encode("euc_jp"), "euc_jp", "EUC-JP"),
    ("Name,Company\nJosé,Société Générale\nZoë,Smörgås AB\n".encode("cp1252"), "cp1252", "Windows-1252"),
])
def test_detect_encoding(data: bytes, codec: str, label: str) -> None:
    enc = detect_encoding(data)
    assert (enc.codec, enc.label) == (codec, label)
    assert data.decode(enc.codec).lstrip("\ufeff")  # the choice decodes the whole file


def test_cp932_is_preferred_over_shift_jis() -> None:
    data = JA.encode("cp932")
    with pytest.raises(UnicodeDecodeError):
        data.decode("shift_jis")  # ①, ㈱ and 髙 are CP932 extensions
    enc = detect_encoding(data)
    assert enc.codec == "cp932"
    assert "①初回" in data.decode(enc.codec) and "㈱髙橋製作所" in data.decode(enc.codec)


def test_only_utf8_encodings_are_handed_to_duckdb_untouched() -> None:
    assert detect_encoding(b"a,b\n").utf8_compatible
    assert detect_encoding(codecs.BOM_UTF8 + b"a,b\n").utf8_compatible
    assert not detect_encoding(JA.encode("cp932")).utf8_compatible
    assert not detect_encoding(codecs.BOM_UTF16_LE + "a,b\n".encode("utf-16-le")).utf8_compatible


# -- delimiter and records -----------------------------------------------------------------------

@pytest.mark.parametrize("delim", [",", "\t", ";", "|"])
def test_sniff_delimiter(delim: str) -> None:
    rows = [["Email", "Company", "Note"], ["a@x.com", "Acme", "x"], ["b@x.com", "Globex", "y"]]
    text = "\n".join(delim.join(r) for r in rows) + "\n"
    assert sniff_delimiter(text) == delim
    assert delim in DELIMITERS


def test_sniff_delimiter_ignores_delimiters_inside_quotes() -> None:
    # Semicolon file whose quoted cells are full of commas.
    text = 'Email;Company;Note\na@x.com;"Acme, Inc.";"a, b, c, d"\nb@x.com;"Globex, Ltd";"e, f"\n'
    assert sniff_delimiter(text) == ";"


def test_sniff_delimiter_with_multiline_cells() -> None:
    text = 'Email,Note,Source\na@x.com,"line 1\nline 2\nline 3",Web\nb@x.com,"x",Ads\nc@x.com,y,Web\n'
    assert sniff_delimiter(text) == ","


def test_head_records_are_quote_aware() -> None:
    text = 'Email,Note\na@x.com,"line 1\n\nline 3"\nb@x.com,"say ""hi"""\n'
    recs, ends = head_records(text, ",", 10)
    assert recs == [["Email", "Note"], ["a@x.com", "line 1\n\nline 3"], ["b@x.com", 'say "hi"']]
    assert ends == [1, 4, 5]
