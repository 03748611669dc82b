"""Read one export into a raw DuckDB table and report how it was read.

A load never raises for rows it cannot use: they are kept with the reason (``_drop`` in the
raw table, or the CSV rejects table) and counted in the :class:`LoadReport`. Only a file
that holds no table at all raises a :class:`~funnel.errors.FunnelError`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from funnel.config import setting
from funnel.errors import EmptyFileError, FunnelError, TooLargeError, UnreadableFileError
from funnel.ingest import parquet, sandbox
from funnel.ingest.layout import RowShape, classify_cell, clean_headers, find_header, is_numeric, trailing_drops
from funnel.ingest.sheets import SheetTable
from funnel.ingest.sniff import CONTAINER_HEADS, Encoding, detect_encoding, detect_kind, head_records, sniff_delimiter
from funnel.ingest.transcode import transcode
from funnel.sql import drop_table, ident, ingest

Notice = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Source:
    """An export to read: a path on disk, or bytes from an upload, under a display name.

    A path is read lazily: sniffing a UTF-8 CSV needs only its head and tail, and DuckDB then
    reads the file itself, so a 120 MB export is never copied into Python. A path may be a
    folder of Parquet files (a warehouse's ``x.parquet/part-*.parquet``).
    """

    name: str
    path: Path | None = None
    data: bytes | None = None
    digest: str = ""            # SHA-256 of the bytes, when the caller already knows it

    @classmethod
    def from_path(cls, path: str | Path) -> Source:
        p = Path(path)
        return cls(p.name, path=p)

    @classmethod
    def from_bytes(cls, name: str, data: bytes, digest: str = "") -> Source:
        return cls(name, data=data, digest=digest)

    def _fail(self, exc: OSError) -> UnreadableFileError:
        if isinstance(exc, FileNotFoundError):
            return UnreadableFileError(self.name, key="error.not_found")
        if isinstance(exc, IsADirectoryError):
            return UnreadableFileError(self.name, key="error.is_directory")
        return UnreadableFileError(self.name, key="error.os", detail=exc.strerror or "")

    def is_folder(self) -> bool:
        return self.data is None and self.path is not None and self.path.is_dir()

    def size(self) -> int:
        """Bytes of the file (of a folder: of its Parquet files)."""
        if self.data is not None:
            return len(self.data)
        assert self.path is not None
        if self.is_folder():
            parts = parquet.folder_parts(self.path, self.name)
            try:
                return sum(p.stat().st_size for p in parts)
            except OSError as exc:
                raise self._fail(exc) from exc
        try:
            if self.path.is_dir():
                raise IsADirectoryError(self.path)
            return self.path.stat().st_size
        except OSError as exc:
            raise self._fail(exc) from exc

    def read_bytes(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        try:
            return self.path.read_bytes()
        except OSError as exc:
            raise self._fail(exc) from exc

    def head_and_tail(self, n: int) -> tuple[bytes, bytes]:
        """The first ``n`` bytes and (for a file longer than ``2n``) the last ``n``, each cut at
        a line feed so that no multi-byte character is split (0x0A is never inside a UTF-8 or
        CP932 character). The tail is empty when the head already holds the whole file."""
        if self.data is not None:
            size = len(self.data)
            head, tail = self.data[:n], (self.data[-n:] if size > 2 * n else self.data[n:])
        else:
            assert self.path is not None
            try:
                size = self.size()
                with self.path.open("rb") as fh:
                    head = fh.read(n)
                    if size > 2 * n:
                        fh.seek(size - n)
                    tail = fh.read(n if size > 2 * n else size)
            except OSError as exc:
                raise self._fail(exc) from exc
        if size > 2 * n:
            cut = head.rfind(b"\n")
            head = head[: cut + 1] if cut > 0 else head
            cut = tail.find(b"\n")
            tail = tail[cut + 1:] if cut >= 0 else tail
        elif tail:
            head, tail = head + tail, b""
        return head, tail


@dataclass
class LoadReport:
    """How one file was read: what it is, where the table is, and what happened to each row."""

    file: str
    kind: str
    size_bytes: int
    sha256: str = ""
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    header_row: int = 1        # 1-based row (record) number of the header in the file/sheet
    first_column: int = 1      # 1-based column where the table starts
    columns: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    rows_read: int = 0         # data rows
    dropped: dict[str, int] = field(default_factory=dict)   # reason → rows
    notices: list[Notice] = field(default_factory=list)

    @property
    def rows_dropped(self) -> int:
        return sum(self.dropped.values())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["renamed"] = [list(r) for r in self.renamed]
        d["notices"] = [{"key": k, "params": p} for k, p in self.notices]
        return d


@dataclass
class LoadedTable:
    """A raw table in the workspace's DuckDB and the report of its load."""

    table: str
    report: LoadReport

    @property
    def columns(self) -> list[str]:
        return self.report.columns

    @property
    def raw_columns(self) -> list[str]:
        return [ingest.raw_column(i) for i in range(len(self.report.columns))]


SNIFF_SAMPLE = 1 << 20


def load_file(con: duckdb.DuckDBPyConnection, source: Source, table: str, workdir: Path) -> LoadedTable:
    """Read ``source`` into the raw table ``table``.

    Raises:
        UnreadableFileError: missing, binary, corrupt, encrypted, or not a table at all.
        EmptyFileError: no bytes, no header, or a header without data rows.
        TooLargeError: more rows than ``max_rows``, a workbook that would expand beyond the
            limit, or a load that needs more than the workspace's DuckDB memory.

    A failed load leaves no table behind (a refused 10M-row file must not keep its rows).
    """
    try:
        return _load_file(con, source, table, workdir)
    except TooLargeError as exc:
        _drop_partial(con, table, workdir)
        if exc.file is None:    # raised by the SQL layer (out of memory), which knows no file
            raise TooLargeError(source.name, key=exc.key, **exc.params) from exc
        raise
    except FunnelError:
        _drop_partial(con, table, workdir)
        raise


def _drop_partial(con: duckdb.DuckDBPyConnection, table: str, workdir: Path) -> None:
    drop_table(con, table)
    ingest.drop_beside(con, table)
    (workdir / f"{table}.csv").unlink(missing_ok=True)     # a transcoded copy (see _utf8_path)
    (workdir / f"{table}.parquet").unlink(missing_ok=True)     # an uploaded Parquet file (see _load_parquet)


def _too_many_rows(source: Source) -> TooLargeError:
    return TooLargeError(source.name, key="error.too_many_rows", limit=f"{int(setting('max_rows')):,}")


def _load_file(con: duckdb.DuckDBPyConnection, source: Source, table: str, workdir: Path) -> LoadedTable:
    size = source.size()
    if source.is_folder():
        report = LoadReport(source.name, "parquet", size, source.digest)
        _load_parquet(con, source, table, workdir, report)
        return _loaded(con, source, table, report)
    head, tail = source.head_and_tail(SNIFF_SAMPLE)
    data: bytes | None = None
    if head.startswith(CONTAINER_HEADS) or not tail:
        data = source.read_bytes()
    kind = detect_kind(data if data is not None else head, tail)
    report = LoadReport(source.name, "?", size, source.digest)
    if kind.name == "empty":
        raise EmptyFileError(source.name, key="error.empty")
    if kind.name == "encrypted":
        raise UnreadableFileError(source.name, key="error.encrypted")
    if kind.name == "corrupt_zip":
        raise UnreadableFileError(source.name, key="error.corrupt_workbook")
    if kind.name == "corrupt_parquet":
        raise UnreadableFileError(source.name, key="error.corrupt_parquet")
    if kind.name == "foreign":
        raise UnreadableFileError(source.name, key="error.foreign", what=kind.detail)
    report.kind = "csv" if kind.name == "text" else kind.name
    if kind.name == "text":
        _load_text(con, source, head, tail, table, workdir, report)
    elif kind.name == "parquet":
        _load_parquet(con, source, table, workdir, report)
    else:
        data = data if data is not None else source.read_bytes()
        parsed = sandbox.parse(kind.name, source.name, data)
        if parsed is None:
            raise EmptyFileError(source.name, key="error.empty_workbook")
        _load_sheets(con, parsed, table, report)
    return _loaded(con, source, table, report)


def _loaded(con: duckdb.DuckDBPyConnection, source: Source, table: str, report: LoadReport) -> LoadedTable:
    _finish(con, table, report)
    if report.rows_read == 0:
        raise EmptyFileError(source.name, key="error.header_only")
    return LoadedTable(table, report)


def _load_parquet(con: duckdb.DuckDBPyConnection, source: Source, table: str, workdir: Path,
                  report: LoadReport) -> None:
    """A Parquet file, or a folder of them read as one table (see :mod:`funnel.ingest.parquet`)."""
    header, parts = parquet.load(con, table, source.name, source.path, source.data, workdir / f"{table}.parquet")
    report.columns, report.renamed = clean_headers(header)
    if parts > 1:
        report.notices.append(("notice.parquet_parts", {"parts": parts}))


def _load_text(con: duckdb.DuckDBPyConnection, source: Source, head_bytes: bytes, tail_bytes: bytes,
               table: str, workdir: Path, report: LoadReport) -> None:
    enc = detect_encoding(head_bytes + tail_bytes)
    head = _decode_head(head_bytes, enc)
    delim = sniff_delimiter(head)
    report.delimiter = delim
    recs, _ = head_records(head, delim, setting("header_scan_rows") + 200)
    if not any(any(c.strip() for c in r) for r in recs):
        raise EmptyFileError(source.name, key="error.empty")
    guess = find_header(recs)
    if guess.width > int(setting("max_columns")):
        raise TooLargeError(source.name, key="error.too_many_columns", columns=f"{guess.width:,}",
                            limit=f"{int(setting('max_columns')):,}")
    header_cells = (list(recs[guess.index][guess.first_column:]) + [""] * guess.width)[: guess.width]
    names, renames = clean_headers(header_cells)
    report.header_row, report.first_column = guess.index + 1, guess.first_column + 1
    report.columns, report.renamed = names, renames
    if guess.index:
        report.notices.append(("notice.rows_above_header", {"rows": guess.index}))

    def read_into_duckdb(enc: Encoding) -> None:
        report.encoding = enc.label
        path = _utf8_path(source, enc, workdir, table, report)
        max_rows, longest = int(setting("max_rows")), int(setting("max_line_bytes"))
        # Each row takes a line at least: a file whose lines below the header cannot make more
        # than max_rows rows is read without the LIMIT that notices one over it.
        limit = max_rows if _most_lines(path) - (guess.index + 1) > max_rows else None
        for line_bytes in dict.fromkeys((min(int(setting("csv_first_line_bytes")), longest), longest)):
            try:
                ingest.create_from_csv(con, table, str(path), width=guess.first_column + guess.width,
                                       first_column=guess.first_column, header=header_cells, skip=guess.index + 1,
                                       delimiter=delim, max_line_bytes=line_bytes, max_rows=limit)
            except duckdb.InvalidInputException as exc:
                # DuckDB's CSV state machine gives up on some broken quoting (an unclosed quote
                # after mixed line ends, typically a cut-off file) instead of rejecting the line.
                raise UnreadableFileError(source.name, key="error.csv_broken") from exc
            if line_bytes == longest or not ingest.has_long_lines(con, table):
                break
        if ingest.row_count(con, table) > max_rows:
            raise _too_many_rows(source)

    read_into_duckdb(enc)
    if enc.utf8_compatible and ingest.has_encoding_errors(con, table):
        # The sample looked like UTF-8 but a line further in is not: decide from all bytes.
        read_into_duckdb(detect_encoding(source.read_bytes()))
    _classify_rejects(con, table, delim, report)
    if not ingest.row_count(con, table) and report.dropped.get("malformed"):
        # Nothing fits the header: typically a quote opened and never closed.
        raise UnreadableFileError(source.name, key="error.unbalanced", lines=report.dropped["malformed"])


def _decode_head(data: bytes, enc: Encoding) -> str:
    chunk = data[: setting("sniff_bytes")]
    if len(chunk) < len(data):
        cut = chunk.rfind(b"\n")
        if cut > 0 and not enc.codec.startswith("utf-16"):
            chunk = chunk[: cut + 1]
    text = chunk.decode(enc.codec, errors="replace")
    return text.lstrip("\ufeff")


def _most_lines(path: Path) -> int:
    """How many lines the file holds at most: its line breaks (LF, CR and CRLF each one,
    quoted ones too), and one more when the last line has none."""
    lf = cr = crlf = 0
    last = b"\n"
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 24):
            lf += chunk.count(b"\n")
            if b"\r" in chunk:
                # A CRLF split across two chunks counts twice: an upper bound is all that is asked.
                cr += chunk.count(b"\r")
                crlf += chunk.count(b"\r\n")
            last = chunk[-1:]
    return lf + cr - crlf + (last not in (b"\n", b"\r"))


def _utf8_path(source: Source, enc: Encoding, workdir: Path, table: str, report: LoadReport) -> Path:
    """A UTF-8 file DuckDB can read: the original when it already is one, else a transcoded copy."""
    if enc.utf8_compatible and source.path is not None and source.data is None:
        return source.path
    out = workdir / f"{table}.csv"
    if enc.utf8_compatible:
        out.write_bytes(source.read_bytes())
        return out
    if enc.lossy:
        report.encoding = f"{enc.label} (?)"
    if enc.codec.startswith("utf-16"):
        text = source.read_bytes().decode(enc.codec, errors="replace")   # 0x0A can sit inside a UTF-16 unit
        replaced = text.count("\ufffd")
        out.write_bytes(text.lstrip("\ufeff").encode("utf-8"))
    else:
        # A file on disk is not read here: each process of the transcode reads its own part.
        on_disk = source.path if source.path is not None and source.data is None else None
        try:
            replaced = transcode(on_disk, None if on_disk else source.read_bytes(), enc.codec, out,
                                 int(setting("duckdb_threads")))
        except OSError as exc:
            if on_disk is None or exc.filename != str(on_disk):
                raise
            raise source._fail(exc) from exc    # the export vanished since it was sniffed
    if replaced:
        report.notices.append(("notice.decode_replaced", {"chars": replaced}))
    return out


def _classify_rejects(con: duckdb.DuckDBPyConnection, table: str, delim: str,
                      report: LoadReport) -> None:
    """Lines DuckDB rejected (wrong field count): footers, totals, or malformed rows."""
    counts: dict[str, int] = {}
    footer_started = False
    stored = []
    for line, error, text in ingest.rejected_lines(con, table):
        cells = next(csv.reader(io.StringIO(text.strip("\r\n")), delimiter=delim), [])
        filled = [c for c in cells if c.strip()]
        kind = classify_cell(filled[0]) if filled else "blank"
        if kind is None and footer_started and len(filled) <= 2:
            kind = "footer"
        reason = kind or "malformed"
        footer_started = footer_started or reason == "footer"
        counts[reason] = counts.get(reason, 0) + 1
        stored.append((line, reason, error, text.strip("\r\n")))
    if stored:
        ingest.store_rejects(con, table, stored)
    for reason, n in counts.items():
        report.dropped[reason] = report.dropped.get(reason, 0) + n


def _load_sheets(con: duckdb.DuckDBPyConnection, parsed: SheetTable, table: str, report: LoadReport) -> None:
    """The table parsed out of a workbook (see :mod:`funnel.ingest.sandbox`) into DuckDB."""
    report.sheet = parsed.sheet
    if parsed.encoding:
        report.encoding = parsed.encoding
    if len(parsed.sheets) > 1:
        report.notices.append(("notice.sheet_chosen", {"sheet": parsed.sheet, "sheets": ", ".join(parsed.sheets)}))
    guess = parsed.guess
    report.header_row, report.first_column = guess.index + 1, guess.first_column + 1
    report.columns, report.renamed = parsed.names, parsed.renamed
    if guess.index:
        report.notices.append(("notice.rows_above_header", {"rows": guess.index}))
    names_out = [ingest.raw_column(j) for j in range(len(parsed.names))]
    lead = "_lead" if parsed.lead else None
    if lead:
        names_out.append(lead)
    exprs = [e.format(c=ident(n)) for e, n in zip(parsed.exprs, names_out, strict=True)]
    import pyarrow as pa  # type: ignore[import-untyped]

    view = f"{table}_cells"
    con.register(view, pa.Table.from_arrays(parsed.arrays, names=names_out))
    try:
        ingest.create_from_relation(con, table, view, parsed.raw_header, lead, exprs)
    finally:
        con.unregister(view)


def _finish(con: duckdb.DuckDBPyConnection, table: str, report: LoadReport) -> None:
    """Footers and summary rows at the end, then the row accounting of the report."""
    cols = [ingest.raw_column(i) for i in range(len(report.columns))]
    tail = ingest.tail_rows(con, table, cols, setting("tail_rows"))
    shapes = []
    for pos, r in enumerate(tail):
        cells = [c for c in r[2:] if c is not None and str(c).strip()]
        shapes.append(RowShape(pos, len(cells), bool(cells) and all(is_numeric(c) for c in cells),
                               cells[0] if cells else "", r[1]))
    marks = trailing_drops(shapes, len(report.columns))
    if marks:
        ingest.mark_rows(con, table, {tail[pos][0]: reason for pos, reason in marks.items()})
    for reason, n in ingest.drop_counts(con, table).items():
        if reason is None:
            report.rows_read = n
        else:
            report.dropped[reason] = report.dropped.get(reason, 0) + n
