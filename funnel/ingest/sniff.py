"""Recognise what a file is from its bytes: container format, text encoding, delimiter.

The file name is never trusted (a workbook saved as ``.csv`` is common, export_formats.md
§1.5; xeducation_leads ships one). Encoding order follows export_formats.md §1.1 and §8.5:
BOM → UTF-8 → CP932 (never ``shift_jis``, which fails on ①, ㈱, 髙) → EUC-JP → CP1252
(Salesforce data-export files) → Latin-1, with a plausibility check so Western text is not
decoded as Japanese mojibake.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections import Counter
from dataclasses import dataclass

PARQUET_MAGIC = b"PAR1"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_OLE_MARKER = "EncryptionInfo".encode("utf-16-le")

# Magic numbers of files people upload by mistake, so the message can say what they are.
_FOREIGN_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"), (b"%PDF", "PDF"),
    (b"\x1f\x8b", "gzip"), (b"7z\xbc\xaf\x27\x1c", "7-Zip"), (b"Rar!", "RAR"), (b"BM", "BMP"),
    (b"SQLite format 3", "SQLite"), (b"RIFF", "RIFF"),
)

DELIMITERS: tuple[str, ...] = (",", "\t", ";", "|")
# kintone can export space-separated files; a space is only taken when nothing else splits.
FALLBACK_DELIMITER = " "


@dataclass(frozen=True)
class Kind:
    """What the bytes are: ``text``, ``xlsx``, ``xls``, ``ods``, ``html``, ``parquet``, or a reason why not."""

    name: str
    detail: str = ""


# How a container starts (a zip: xlsx, ods; OLE: xls, an encrypted xlsx): recognising one
# takes its whole bytes (a zip's directory is at its end), and parsing one a sandbox worker.
CONTAINER_HEADS = (b"PK", _OLE_MAGIC[:4])


def detect_kind(data: bytes, tail: bytes = b"") -> Kind:
    """Classify the file from its content: ``data`` is the whole file or its head, ``tail`` (if
    any) its end."""
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        return Kind("empty")
    if data.startswith(PARQUET_MAGIC):
        # A Parquet file ends with its footer and the magic again; without it the file was cut off.
        end = tail or data
        return Kind("parquet" if len(data) + len(tail) >= 12 and end.endswith(PARQUET_MAGIC) else "corrupt_parquet")
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return _zip_kind(data)
    if data.startswith(_OLE_MAGIC):
        # An encrypted .xlsx is an OLE container with an EncryptionInfo stream.
        if _ENCRYPTED_OLE_MARKER in data[:65536] or _ENCRYPTED_OLE_MARKER in data:
            return Kind("encrypted")
        return Kind("xls")
    for magic, what in _FOREIGN_MAGIC:
        if data.startswith(magic):
            if what == "BMP" and not _looks_binary(data[:4096]):
                break
            return Kind("foreign", what)
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    # Excel 2003 XML holds a <Table> element too, so it must be recognised before HTML.
    if head.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in data[:8192]:
        return Kind("spreadsheetml")
    if head.startswith((b"<!doctype html", b"<html", b"<table", b"<meta")) or (
            head.startswith(b"<") and b"<table" in data[:65536].lower()):
        return Kind("html")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _utf16_without_bom(data):
        return Kind("text")
    if _looks_binary(data[:65536]):
        return Kind("foreign", "binary")
    return Kind("text")


def _zip_kind(data: bytes) -> Kind:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, EOFError, ValueError, OSError):
        return Kind("corrupt_zip")
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        return Kind("xlsx")
    if "content.xml" in names and "mimetype" in names:
        return Kind("ods")
    if "word/document.xml" in names:
        return Kind("foreign", "Word")
    if "ppt/presentation.xml" in names:
        return Kind("foreign", "PowerPoint")
    return Kind("foreign", "ZIP")


def _looks_binary(chunk: bytes) -> bool:
    if not chunk:
        return False
    controls = sum(1 for b in chunk if b < 9 or 13 < b < 27 or 27 < b < 32)
    return b"\x00" in chunk or controls / len(chunk) > 0.05


def _utf16_without_bom(data: bytes) -> bool:
    sample = data[:4096]
    if len(sample) < 4:
        return False
    even_zero = sample[0::2].count(0) / max(1, len(sample[0::2]))
    odd_zero = sample[1::2].count(0) / max(1, len(sample[1::2]))
    return max(even_zero, odd_zero) > 0.3 and min(even_zero, odd_zero) < 0.05


def _utf16_codec(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    sample = data[:4096]
    return "utf-16-be" if sample[0::2].count(0) > sample[1::2].count(0) else "utf-16-le"


@dataclass(frozen=True)
class Encoding:
    codec: str          # Python codec name used to decode
    label: str          # what the report shows
    utf8_compatible: bool   # the bytes can be handed to DuckDB as they are
    lossy: bool = False     # a few bytes do not decode and will be replaced (a cut-off file)


ENCODING_LABELS = {
    "utf-8": "UTF-8", "utf-8-sig": "UTF-8 (BOM)", "utf-16": "UTF-16 (BOM)", "utf-16-le": "UTF-16LE",
    "utf-16-be": "UTF-16BE", "cp932": "CP932 (Shift_JIS)", "euc_jp": "EUC-JP",
    "cp1252": "Windows-1252", "latin-1": "Latin-1",
}


def _encoding(codec: str, utf8: bool = False) -> Encoding:
    return Encoding(codec, ENCODING_LABELS[codec], utf8)


def detect_encoding(data: bytes) -> Encoding:
    """The encoding of a text export (see module docstring for the order)."""
    if data.startswith(codecs.BOM_UTF8):
        return _encoding("utf-8-sig", utf8=True)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _utf16_without_bom(data):
        return _encoding(_utf16_codec(data))
    if data.isascii():
        return _encoding("utf-8", utf8=True)
    try:
        data.decode("utf-8")
        return _encoding("utf-8", utf8=True)
    except UnicodeDecodeError:
        pass
    if _mostly_utf8(data):
        # A download cut mid-character, or one stray byte: still UTF-8, not Latin-1 mojibake.
        return Encoding("utf-8", ENCODING_LABELS["utf-8"], False, lossy=True)
    return _encoding(_guess_legacy(data))


def _mostly_utf8(data: bytes) -> bool:
    """UTF-8 except for a handful of bad bytes, with real multi-byte characters elsewhere."""
    text = _sample(data).decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = len(text) - len(text.encode("ascii", "ignore")) - bad   # non-ASCII, counted in C
    return good > 0 and bad <= max(3, good // 100)


def _guess_legacy(data: bytes) -> str:
    """CP932, EUC-JP or CP1252: the strict decoding whose text looks like real text.

    Short Western text often decodes as CP932 too ("Café™" → "Caf髯"), but Japanese text
    always has characters in a row that are kana or kanji; a Japanese reading without any
    such pair is not Japanese.

    Half-width katakana (ﾌﾘｶﾞﾅ columns) is Japanese text, but it is also what EUC-JP bytes
    look like read as CP932 (each EUC byte A1–DF is one half-width kana there): when both
    readings look Japanese, the one with fewer half-width kana (and far fewer user-defined
    characters, which EUC bytes F0–F9 read as CP932 lead to) is the right one.
    """
    sample = _sample(data, 1 << 18)
    found = []
    for rank, codec in enumerate(("cp932", "euc_jp")):
        try:
            text = sample.decode(codec)
        except UnicodeDecodeError:
            continue
        # The whole file is decoded once, later; a byte the sample did not show is replaced
        # there and reported, rather than decoding 100 MB twice here.
        if _japanese_pair(text) and _plausibility(text) >= 0.8:
            found.append((len(_HALFWIDTH_KANA.findall(text)) + 10 * len(_PRIVATE_USE.findall(text)), rank, codec))
    if found:
        return min(found)[2]
    return "cp1252" if _decodes(sample, "cp1252") else "latin-1"


_HALFWIDTH_KANA = re.compile(r"[\uff61-\uff9f]")
_PRIVATE_USE = re.compile(r"[\ue000-\uf8ff]")


def _is_japanese(c: str) -> bool:
    o = ord(c)
    return 0x3040 <= o <= 0x30FF or 0x4E00 <= o <= 0x9FFF or 0x3005 <= o <= 0x3007 or o == 0x30FC


_JAPANESE_PAIR = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff\u3005-\u3007]{2}")


def _japanese_pair(text: str) -> bool:
    return _JAPANESE_PAIR.search(text) is not None


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
        return True
    except UnicodeDecodeError:
        return False


def _sample(data: bytes, size: int = 1 << 20) -> bytes:
    """Head and tail of a big file, each cut at a line feed (never inside a CP932 char)."""
    if len(data) <= 2 * size:
        return data
    head = data[:size]
    head = head[: head.rfind(b"\n") + 1] or head
    tail = data[-size:]
    tail = tail[tail.find(b"\n") + 1:]
    return head + tail


def _plausibility(text: str, japanese: bool = True) -> float:
    """Share of non-ASCII characters that a Japanese export normally holds (kana, kanji,
    full-width forms, half-width katakana as in ﾌﾘｶﾞﾅ columns, Japanese punctuation, circled
    numbers, ㈱-style symbols)."""
    non_ascii = [c for c in text[:1 << 16] if ord(c) > 127]
    if not non_ascii:
        return 0.0
    good = sum(1 for c in non_ascii if _is_japanese(c) or 0xFF01 <= ord(c) <= 0xFF9F or 0x3000 <= ord(c) <= 0x303F
               or 0x2460 <= ord(c) <= 0x24FF or 0x3200 <= ord(c) <= 0x33FF
               or ord(c) in (0x2015, 0x2010, 0x301C, 0x2212, 0x00D7, 0x2606, 0x2605, 0x203B))
    return good / len(non_ascii)


def sniff_delimiter(text: str) -> str:
    """The delimiter giving the most consistent field count over the first records."""
    best, best_key = ",", (-1.0, 0)
    for delim in (*DELIMITERS, FALLBACK_DELIMITER):
        if delim == FALLBACK_DELIMITER and best_key[1] >= 2:
            break
        counts = [len(r) for r in _head_records(text, delim, 60)]
        if len(counts) > 1:
            counts = counts[:-1]  # the last record of a cut sample may be partial
        if not counts:
            continue
        width, freq = Counter(counts).most_common(1)[0]
        if width < 2:
            continue
        key = (round(freq / len(counts), 2), width)
        if key > best_key:
            best, best_key = delim, key
    return best


def _head_records(text: str, delim: str, limit: int) -> list[list[str]]:
    out: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, quotechar='"', strict=False)
    try:
        for rec in reader:
            out.append(rec)
            if len(out) >= limit:
                break
    except csv.Error:
        pass
    return out


def head_records(text: str, delim: str, limit: int) -> tuple[list[list[str]], list[int]]:
    """The first ``limit`` records and, for each, the physical line on which it ends (1-based)."""
    recs: list[list[str]] = []
    ends: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, quotechar='"', strict=False)
    try:
        for rec in reader:
            recs.append(rec)
            ends.append(reader.line_num)
            if len(recs) >= limit:
                break
    except csv.Error:
        pass
    return recs, ends
