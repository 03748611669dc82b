"""Downloads: CSV that Japanese Excel opens correctly and that cannot run formulas.

CSV is written as UTF-8 with a BOM (without it Japanese Excel reads UTF-8 as CP932 and shows
mojibake) and CRLF line ends. Text cells that Excel would evaluate — starting with ``=``,
``+``, ``-``, ``@``, tab or CR — are prefixed with ``'`` (OWASP "CSV injection"), while real
numbers, negative ones included, stay numbers.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[-+]?(\d+([.,]\d+)*|\d*\.\d+)([eE][-+]?\d+)?%?$")


def safe_cell(value: Any) -> Any:
    """The value to write into a spreadsheet cell: formula-looking text neutralised."""
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    if text.startswith(_DANGEROUS) and not _NUMBER.match(text.strip()):
        return "'" + text
    return text


def csv_bytes(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """Rows as UTF-8-with-BOM CSV bytes, every cell made safe."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([safe_cell(c) for c in columns])
    for row in rows:
        writer.writerow(["" if v is None else safe_cell(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def frame_csv_bytes(frame: Any) -> bytes:
    """A pandas DataFrame as safe UTF-8-with-BOM CSV bytes (index not written)."""
    cols = [str(c) for c in frame.columns]
    records = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
    return csv_bytes(cols, records)
