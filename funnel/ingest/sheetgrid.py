"""The size of the grid python-calamine would allocate for a sheet, read from its XML first.

calamine reads a sheet into a dense grid spanning every cell position it meets (32 bytes a
cell): one cell at XFD1048576 in a 5 KB file asks for terabytes, and the failed allocation
aborts the whole process, which no ratio of sizes can see. :func:`funnel.ingest.sheets.check_cells`
refuses such a sheet from this estimate before calamine reads it.

Positions come from ``r="…"`` (a cell's or a row's), or, for a cell written without one, from
calamine's rule: right of the previous cell, in the row after the previous row. The estimate
is never below calamine's grid; it may be above (an ``r`` in text, an empty cell).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from typing import IO, Any

# The XML is read in blocks cut before a tag, and every r="…" is found with NumPy (a regex or
# Python step per reference cost 0.1-0.2 s per 100k rows). Every spelling calamine reads is
# covered: either quote, letters in either case, whitespace around '=' (rare: settled one by
# one in Python); R="…", which calamine ignores, still counts, as it did.
_BLOCK = 1 << 20
_WS = b" \t\r\n"
_REF_AT = re.compile(rb'[ \t\r\n][rR][ \t\r\n]*=[ \t\r\n]*["\']([A-Za-z]*)([0-9]+)["\']')
_PAD = b"\0" * 32


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


def _blocks(fh: IO[bytes]) -> Iterator[tuple[bytes, int]]:
    """The XML in blocks of about 1 MB, each with where the scan stops: at a tag that starts
    32 bytes or more before the end (those bytes are the look-ahead of the scan), where the
    next block starts. A block without one (no real sheet has 8 MB of text in a cell) is
    scanned but for its last 4 KB."""
    rest = b""
    while chunk := fh.read(_BLOCK):
        buf = rest + chunk
        cut = buf.rfind(b"<", 0, len(buf) - len(_PAD))
        if cut <= 0:
            if len(buf) < 8 * _BLOCK:
                rest = buf
                continue
            cut = len(buf) - 4096
        yield buf, cut
        rest = buf[cut:]
    if rest:
        yield rest + _PAD, len(rest)


class _Refs:
    """Largest row and column among the references of one sheet, and whether every cell is
    written ``<c r="…"`` (else calamine places cells without ``r`` one after another, so the
    grid follows from their count: see :func:`_placed`)."""

    def __init__(self) -> None:
        self.row, self.col, self.plain = 1, 1, True

    def take(self, buf: bytes, at: int) -> tuple[int, int] | None:
        """The reference whose attribute starts at ``at`` (the byte before ``r``), exactly."""
        m = _REF_AT.match(buf, at)
        if m is None:
            return None
        row, col = int(m.group(2)), _column_number(m.group(1))
        self.row, self.col = max(self.row, row), max(self.col, col)
        return row, col

    def after_space(self, buf: bytes, eq: int) -> None:
        """An '=' with whitespace before or after it: a reference if an ``r`` precedes it."""
        j = eq - 1
        while j > 0 and buf[j] in _WS:
            j -= 1
        if j > 0 and buf[j] in b"rR" and buf[j - 1] in _WS:
            self.take(buf, j - 1)

    def scan(self, buf: bytes, end: int) -> None:
        import numpy as np

        a = np.frombuffer(buf, np.uint8)
        eq = np.flatnonzero(a[4:end] == 61) + 4    # a block starts with "<", "<c r=" puts "=" at 4
        left, right = a[eq - 1], a[eq + 1]
        named = ((left | 32) == 114) & _space(a[eq - 2])
        spaced = eq[_space(left) | (named & _space(right))]
        name = spaced - 1
        for _ in range(2):      # back over whitespace: r = "…" is rare, "a = b" in text is not
            name -= _space(a[name])
        maybe = ((a[name] | 32) == 114) | _space(a[name])
        for e in spaced[maybe].tolist():
            self.after_space(buf, e)
        ref = eq[named & ((right == 34) | (right == 39))]
        if len(ref) and not self._values(buf, a, ref + 2):
            for m in _REF_AT.finditer(buf, 0, end):     # a reference the shortcut cannot settle
                self.take(buf, m.start())
        if self.plain:   # as many <c (or <x:c) as <c r= (or <x:c r=), r in lower case as calamine reads it
            lt = a[ref - 4]
            first = (a[ref - 1] == 114) & (a[ref - 3] == 99) & ((lt == 60) | ((lt == 58) & (a[ref - 6] == 60)))
            first = int(np.count_nonzero(first))
            self.plain = first == _cell_tags(a, end, first)

    def _values(self, buf: bytes, a: Any, s: Any) -> bool:
        """Fold in the values starting at ``s``; False when one cannot be settled here.

        A value is letters, digits and a quote. Each is read as 8-byte words, big-endian so
        that comparing words compares text: the longest row numbers compare as words, and only
        the largest row and column are parsed, in Python, which also checks that they are
        references (else the caller parses the whole block in Python).
        """
        import numpy as np

        words = np.ndarray((len(a) - 7,), dtype=">u8", buffer=a, strides=(1,))
        q = _first_quote(words[s])
        far = np.flatnonzero(q == 8)    # no quote in the first 8 bytes: look at the next 8
        q[far] = 8 + _first_quote(words[s[far] + 8])
        letter = [((a[s + i] | 32) - 97) < 26 for i in range(4)]
        l2 = letter[0] & letter[1]
        odd = (q >= 16) | (l2 & letter[2] & letter[3]) | (q - letter[0] - l2 - (l2 & letter[2]) > 8)
        for at in (s[odd] - 4).tolist():   # 15+ bytes, 4+ letters or row 100,000,000+: in Python
            self.take(buf, at)
        s, nl = s[~odd], (letter[0].astype(np.int64) + l2 + (l2 & letter[2]))[~odd]
        nd = q[~odd] - nl
        for top, pick in ((int(nd.max(initial=0)), nd), (int(nl.max(initial=0)), nl)):
            if not top:
                continue
            at = s[pick == top]
            if pick is nd:
                keys = words[at + nl[pick == top]] >> np.uint64(64 - 8 * top)
            else:
                keys = np.zeros(len(at), np.int64)
                for i in range(top):
                    keys = keys * 26 + (a[at + i] & 0xDF) - 64
            got = self.take(buf, int(at[keys.argmax()]) - 4)
            # Not a reference, or leading zeros (a longer number need not be larger).
            if got is None or (len(str(got[0])) != top if pick is nd else got[1] != int(keys.max())):
                return False
        return True


def _space(x: Any) -> Any:
    return (x == 32) | (x == 9) | (x == 10) | (x == 13)


def _first_quote(w: Any) -> Any:
    """Index of the first quote among the 8 bytes of each word (8: none). Zero-byte test on
    w ^ quote; a borrow can only mark a '#' or '&' before a quote, never in a reference."""
    import numpy as np

    bits = np.zeros(len(w), np.uint64)
    for q in (0x2222222222222222, 0x2727272727272727):
        x = w ^ np.uint64(q)
        bits |= (x - np.uint64(0x0101010101010101)) & ~x & np.uint64(0x8080808080808080)
    top = np.frexp(bits.astype(np.float64))[1]      # highest bit set, plus one; 0 for none
    return np.where(bits != 0, (64 - top) // 8, 8)


def _pairs(a: Any, pair: bytes, count: bool = False) -> Any:
    """Positions (or the number) of the two bytes ``pair`` in ``a``, from two 16-bit views."""
    import numpy as np

    code, n, m = np.uint16(pair[0] | pair[1] << 8), (len(a) - 1) // 2 * 2, max(0, (len(a) - 2) // 2 * 2)
    even, odd = a[:n].view("<u2") == code, a[1:1 + m].view("<u2") == code
    if count:
        return int(np.count_nonzero(even)) + int(np.count_nonzero(odd))
    return np.concatenate([np.flatnonzero(even) * 2, np.flatnonzero(odd) * 2 + 1])


def _cell_tags(a: Any, end: int, first: int) -> int | None:
    """How many ``<c`` elements (``<x:c`` with a one-letter prefix too) start before ``end``;
    None when one has a longer prefix. ``first`` of them are known: when the pairs "<c" and
    ":c" are no more (they can only be more: ``<col>``, ``</x:c>``…), that is the answer."""
    import numpy as np

    if _pairs(a[:end + 1], b"<c", count=True) + _pairs(a[2:end + 1], b":c", count=True) == first:
        return first
    plain, prefixed = _pairs(a[:end + 1], b"<c"), _pairs(a[2:end + 1], b":c") + 2
    plain, prefixed = [at[(a[at + 2] == 62) | (a[at + 2] == 47) | _space(a[at + 2])] for at in (plain, prefixed)]
    before = a[prefixed - 2]
    if ((before != 60) & ((before != 47) | (a[prefixed - 3] != 60))).any():     # neither <x:c nor </x:c
        return None
    return len(plain) + int(np.count_nonzero(before == 60))


# A <row>, </row> or <c> tag (any prefix) and its attributes; a quoted value may hold a '>'.
_TAG = re.compile(rb'<(?:(/)(?:[^\s<>/:]+:)?(row)|(?:[^\s<>/:]+:)?(row|c))(?=[\s/>])((?:[^>"\']+|"[^"]*"|\'[^\']*\')*)>')
_R_ATTR = re.compile(rb'(?:^|[ \t\r\n])r[ \t\r\n]*=[ \t\r\n]*["\']([A-Za-z]*)([0-9]+)["\']')


def _placed(fh: IO[bytes]) -> tuple[int, int]:
    """Rows and columns of the grid as calamine places cells: a cell without ``r`` goes right
    of the previous cell, in the row after the previous row (calamine's ``next_cell``; an
    empty element ``<c/>`` counts as a start and an end)."""
    row = col = top_row = top_col = 0
    for buf, end in _blocks(fh):
        for m in _TAG.finditer(buf, 0, end):
            closing, _, name, attrs = m.groups()
            if closing:
                row, col = row + 1, 0
                continue
            ref = _R_ATTR.findall(attrs)
            if name == b"row":
                row = int(ref[-1][1]) - 1 if ref else row
                if attrs.endswith(b"/"):        # <row/> is read as a start and an end
                    row, col = row + 1, 0
                continue
            if ref:
                r, col = int(ref[-1][1]) - 1, _column_number(ref[-1][0]) - 1
            else:
                r = row
            top_row, top_col = max(top_row, r), max(top_col, col)
            col += 1
    return top_row + 1, top_col + 1


def sheet_grid(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[int, int]:
    """(rows, columns) of the grid calamine would allocate for one sheet, or more."""
    refs = _Refs()
    with zf.open(info) as fh:
        for buf, end in _blocks(fh):
            refs.scan(buf, end)
    if refs.plain:
        return refs.row, refs.col
    with zf.open(info) as fh:       # cells without r="…" (rare writers): place them as calamine does
        rows, cols = _placed(fh)
    return max(rows, refs.row), max(cols, refs.col)
