"""A saved workspace: the loaded exports and the analysis settings in one file, to open again
later or on a colleague's machine and get the same numbers.

The file (``.funnel``) is a zip archive, so any unzip tool can look inside::

    manifest.json               what the file holds (UTF-8 JSON, below)
    tables/ma_1.parquet         raw table of the 1st MA file as read: c0001…, _drop (why a row is set aside)
    tables/ma_1_lines.parquet   its CSV lines that did not fit the columns (only when there were any)
    tables/sfa_1.parquet        …
    costs/data.parquet          cost table(s): month, source, cost (only when there is cost data)

``manifest.json``: ``format`` ("funnel-workspace"), ``format_version`` (an integer, raised
whenever an older app could misread a newer file: an older app refuses a newer file rather
than guess), ``app_version``, ``created_at`` (UTC), ``language`` (of the app when saved),
``files`` (per side, per file: name, SHA-256 and size of the original export, its load report,
and for each Parquet part its member name, rows, column types, SHA-256 and size), ``settings``
(column-mapping overrides, link rule, loss-reason rules: what a build needs), ``costs`` and
``session`` (the app's other edits: benchmarks, targets, plan inputs, checklist answers …,
kept as given; the engine does not interpret them).

Why the raw tables rather than the original exports: opening needs no reader, no
transcoding, no header detection — the file restores exactly the rows that were read, set-aside
rows and load reports included, and the build then runs on them with the saved settings.
Parquet because DuckDB writes and reads it without an extension, compressed (zstd) and typed.
Opening checks everything before the workspace is touched (names of the members, expanded
size, version, SHA-256 of each part, columns and rows of each table): a bad file leaves the
session as it was.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import json
import re
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import duckdb

from funnel.config import setting
from funnel.errors import TooLargeError, UnreadableFileError
from funnel.ingest.reader import LoadedTable
from funnel.ingest.sheets import MAX_EXPANDED_BYTES, MAX_RATIO, RATIO_FLOOR
from funnel.model.cost_data import CostData
from funnel.model.manifest import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    Part,
    SavedFile,
    Settings,
    check_rows,
    checked_manifest,
    corrupt,
    parse_files,
    parse_settings,
    part_of,
)
from funnel.model.workspace import Workspace
from funnel.sql import drop_table, lock_for, table_exists
from funnel.sql import saved as q
from funnel.vocabulary import INPUTS

__all__ = ["MANIFEST", "SUFFIX", "Restored", "Settings", "app_version", "open_fresh", "read_manifest", "restore",
           "save", "save_bytes"]

SUFFIX = ".funnel"
# A member name is relative, without "..", backslashes or drive letters (no path traversal).
_SAFE_MEMBER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*/?")
_CHUNK = 1 << 20
_COST_COLUMNS = [("month", "DATE"), ("source", "VARCHAR"), ("cost", "DOUBLE")]


@dataclass
class Restored:
    """What a saved file gave back (the workspace now holds its files)."""

    manifest: dict[str, Any]
    settings: Settings
    session: dict[str, Any]
    costs: dict[str, CostData]
    files: dict[str, list[LoadedTable]]
    digests: dict[str, str]              # raw table → SHA-256 of the original export ("" unknown)
    workspace: Workspace | None = None   # the fresh workspace holding the files (open_fresh)


def app_version() -> str:
    """The app's version (package metadata, else pyproject.toml beside the package)."""
    import importlib.metadata
    import tomllib

    try:
        return importlib.metadata.version("funnel")
    except importlib.metadata.PackageNotFoundError:
        try:
            with (Path(__file__).resolve().parents[2] / "pyproject.toml").open("rb") as fh:
                return str(tomllib.load(fh)["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


def _holding_lock(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run under the workspace's connection lock: a save sees one consistent set of files (a
    download runs beside the page's reruns), and an opening replaces them all at once."""

    @functools.wraps(method)
    def wrapper(ws: Workspace, *args: Any, **kwargs: Any) -> Any:
        with lock_for(ws.con):
            return method(ws, *args, **kwargs)

    return wrapper


# -- saving ----------------------------------------------------------------------------------------
@_holding_lock
def save(ws: Workspace, target: Path, *, settings: Settings | None = None, session: Mapping[str, Any] | None = None,
         costs: Mapping[str, CostData | None] | None = None, digests: Mapping[str, str] | None = None,
         language: str = "ja") -> Path:
    """Write the workspace's loaded files and ``settings`` (plus the app's ``session`` edits and
    cost tables) to ``target``; ``digests`` gives the SHA-256 of each original export by raw
    table when the caller knows it (the app does)."""
    s, digests, con = settings or Settings(), digests or {}, ws.con
    parts: list[tuple[str, Path]] = []
    with tempfile.TemporaryDirectory(dir=ws.workdir, prefix="save-") as tmp:
        def part(member: str, write: Callable[[str], None], **extra: Any) -> dict[str, Any]:
            path = Path(tmp) / f"{len(parts)}.parquet"
            write(str(path))
            parts.append((member, path))
            return {"member": member, **dict(zip(("sha256", "bytes"), _digest(path), strict=True)), **extra}

        def table(member: str, name: str) -> dict[str, Any]:
            return part(member, lambda p: q.table_to_parquet(con, name, p), rows=q.row_count(con, name),
                        columns=q.column_types(con, name))

        files = {side: [{"name": lt.report.file, "sha256": digests.get(lt.table) or lt.report.sha256 or None,
                         "size": lt.report.size_bytes, "report": lt.report.to_dict(),
                         "table": table(f"tables/{side}_{i}.parquet", lt.table),
                         "lines": table(f"tables/{side}_{i}_lines.parquet", lt.table + "_lines")
                         if table_exists(con, lt.table + "_lines") else None}
                        for i, lt in enumerate(ws.files[side], start=1)] for side in INPUTS}
        def cost_table(member: str, data: CostData) -> dict[str, Any]:
            amounts = data.amounts
            return part(member, lambda p: q.costs_to_parquet(
                con, p, [m for m, _ in amounts], [src for _, src in amounts], [float(v) for v in amounts.values()]),
                file=data.file, skipped=data.skipped, rows=len(amounts))

        cost_parts = {name: cost_table(f"costs/{name}.parquet", data)
                      for name, data in (costs or {}).items() if data is not None}
        link = None if s.link is None else {"kind": s.link.kind, "ma_column": s.link.ma_column,
                                            "sfa_column": s.link.sfa_column}
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "app_version": app_version(),
            "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            "language": language, "files": files,
            "settings": {"overrides": {side: dict(s.overrides.get(side) or {}) for side in INPUTS}, "link": link,
                         "loss_rules": None if s.loss_rules is None else s.loss_rules.to_toml()},
            "costs": cost_parts, "session": dict(session or {})}
        text = json.dumps(manifest, ensure_ascii=False, indent=1, allow_nan=False)
        partial = target.with_name(target.name + ".part")
        try:
            with zipfile.ZipFile(partial, "w", allowZip64=True) as zf:
                zf.writestr(MANIFEST, text.encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED)
                for member, path in parts:     # Parquet is already compressed: stored as is
                    zf.write(path, member, compress_type=zipfile.ZIP_STORED)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    return target


def save_bytes(ws: Workspace, **kwargs: Any) -> bytes:
    """:func:`save` into memory (what a download button hands the browser)."""
    path = Path(tempfile.mkstemp(dir=ws.workdir, suffix=SUFFIX)[1])
    try:
        return save(ws, path, **kwargs).read_bytes()
    finally:
        path.unlink(missing_ok=True)


def _digest(path: Path) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


# -- opening ---------------------------------------------------------------------------------------
@contextmanager
def _open_zip(src: bytes | Path, name: str) -> Iterator[zipfile.ZipFile]:
    """The archive, after checking it is one, with safe member names and a sane expanded size."""
    try:
        raw: IO[bytes] = io.BytesIO(src) if isinstance(src, bytes) else src.open("rb")
    except OSError as exc:
        raise UnreadableFileError(name, key="error.os", detail=exc.strerror or "") from exc
    with raw:
        size = raw.seek(0, io.SEEK_END)
        raw.seek(0)
        if raw.read(4) != b"PK\x03\x04":
            raise UnreadableFileError(name, key="saved.error.not_saved")
        try:
            zf = zipfile.ZipFile(raw)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError) as exc:
            raise corrupt(name, "zip") from exc
        with zf:
            infos = zf.infolist()
            names = [i.filename for i in infos]
            if MANIFEST not in names:        # any other zip (an xlsx, a folder zipped by hand)
                raise UnreadableFileError(name, key="saved.error.no_manifest")
            for member in names:
                if not _SAFE_MEMBER.fullmatch(member) or ".." in member.split("/"):
                    raise UnreadableFileError(name, key="saved.error.unsafe_member", member=member[:120])
            if len(set(names)) != len(names):
                raise corrupt(name, "zip")
            total = sum(i.file_size for i in infos)
            # The workbooks' rule (no floor on the file's size: a zip just under 1 MB once
            # expanded to 930 MB before a ratio was looked at).
            if total > MAX_EXPANDED_BYTES or (total > RATIO_FLOOR and total > MAX_RATIO * size):
                raise TooLargeError(name, key="saved.error.expands", size_mb=total // 1024**2)
            yield zf


def read_manifest(src: bytes | Path, name: str) -> dict[str, Any]:
    """The checked manifest of a saved file (no table is read): what a preview shows."""
    with _open_zip(src, name) as zf:
        manifest = checked_manifest(zf, name)
        parse_files(manifest, name)
        parse_settings(manifest, name)
        return manifest


def _extract(zf: zipfile.ZipFile, part: Part, dest: Path, name: str) -> Path:
    """Copy one member to ``dest``, checking its size and SHA-256 against the manifest."""
    try:
        info = zf.getinfo(part.member)
    except KeyError:
        raise corrupt(name, part.member) from None
    if info.file_size != part.size:
        raise corrupt(name, part.member)
    h, size = hashlib.sha256(), 0
    try:
        with zf.open(info) as src, dest.open("wb") as out:
            while chunk := src.read(_CHUNK):
                size += len(chunk)
                if size > part.size:
                    raise corrupt(name, part.member)
                h.update(chunk)
                out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
        raise corrupt(name, part.member) from exc
    if size != part.size or h.hexdigest() != part.sha256:
        raise corrupt(name, part.member)
    return dest


def _stage(con: duckdb.DuckDBPyConnection, zf: zipfile.ZipFile, part: Part, table: str, tmp: Path,
           name: str) -> None:
    """Create ``table`` from a Parquet member; it must have the manifest's columns and rows."""
    path = _extract(zf, part, tmp / f"{table}.parquet", name)
    try:
        _check_parquet(con, part, path, name)
        q.table_from_parquet(con, table, str(path))
    except duckdb.Error as exc:
        raise corrupt(name, part.member) from exc
    finally:
        path.unlink(missing_ok=True)
    if q.column_types(con, table) != part.columns or q.row_count(con, table) != part.rows:
        raise corrupt(name, part.member)


def _check_parquet(con: duckdb.DuckDBPyConnection, part: Part, path: Path, name: str) -> None:
    """Refuse a Parquet part whose footer disagrees with the manifest, or that would expand
    past the limits, before a page of it is read. A Parquet bomb (22 KB holding 5M × 4k
    cells) compresses far better than any zip: the footer's row groups, columns and
    uncompressed sizes give it away; the cell count bounds what dictionary pages repeat."""
    rows, columns, expanded = q.parquet_shape(con, str(path))
    if rows != part.rows or (part.columns and columns != part.columns):
        raise corrupt(name, part.member)
    cells, limit = rows * max(1, len(columns)), int(setting("saved_max_cells"))
    if cells > limit:
        raise TooLargeError(name, key="saved.error.too_many_cells", part=part.member, cells=f"{cells:,}",
                            limit=f"{limit:,}")
    if expanded > MAX_EXPANDED_BYTES or (expanded > RATIO_FLOOR and expanded > MAX_RATIO * part.size):
        raise TooLargeError(name, key="saved.error.expands", size_mb=expanded // 1024**2)


def _costs(con: duckdb.DuckDBPyConnection, zf: zipfile.ZipFile, manifest: Mapping[str, Any], tmp: Path,
           name: str) -> dict[str, CostData]:
    out = {}
    for key, d in (manifest.get("costs") or {}).items():
        try:
            part = part_of(d, columns=False)
            file, skipped = str(d["file"]), int(d["skipped"])
        except (KeyError, TypeError, ValueError) as exc:
            raise corrupt(name, MANIFEST) from exc
        path = _extract(zf, part, tmp / "cost.parquet", name)
        try:
            _check_parquet(con, part, path, name)
            if q.parquet_shape(con, str(path))[1] != _COST_COLUMNS:
                raise corrupt(name, part.member)
            found = q.costs_from_parquet(con, str(path))
        except (duckdb.Error, TypeError, ValueError) as exc:
            raise corrupt(name, part.member) from exc
        finally:
            path.unlink(missing_ok=True)
        if len(found) != part.rows or not all(isinstance(m, dt.date) for m, _, _ in found):
            raise corrupt(name, part.member)
        amounts: dict[tuple[dt.date, str], float] = {}
        for month, source, cost in found:
            amounts[(month, source)] = cost
        out[str(key)] = CostData(file, amounts, skipped)
    return out


@_holding_lock
def restore(ws: Workspace, src: bytes | Path, name: str, *, build: bool = True) -> Restored:
    """Replace the workspace's files by those of a saved file and (``build``) build it with the
    saved settings. Everything is checked before the workspace is touched.

    Raises:
        UnreadableFileError: not a saved file, damaged or truncated, unsafe member names, or
            saved by a newer app (``saved.error.newer``).
        TooLargeError: the archive would expand beyond the limit.
    """
    con = ws.con
    staged: list[tuple[SavedFile, str, str | None]] = []
    with _open_zip(src, name) as zf, tempfile.TemporaryDirectory(dir=ws.workdir, prefix="open-") as tmp_dir:
        tmp = Path(tmp_dir)
        manifest = checked_manifest(zf, name)
        files = parse_files(manifest, name)
        settings = parse_settings(manifest, name)
        check_rows(files, name)
        try:
            for k, f in enumerate(files):
                stage = f"saved_stage_{k}"
                _stage(con, zf, f.table, stage, tmp, name)
                lines = None
                if f.lines is not None:
                    lines = f"{stage}_lines"
                    _stage(con, zf, f.lines, lines, tmp, name)
                staged.append((f, stage, lines))
            costs = _costs(con, zf, manifest, tmp, name)
        except BaseException:
            for k in range(len(files)):
                drop_table(con, f"saved_stage_{k}")
                drop_table(con, f"saved_stage_{k}_lines")
            raise
    ws.clear()
    restored: dict[str, list[LoadedTable]] = {s: [] for s in INPUTS}
    digests: dict[str, str] = {}
    for f, stage, lines in staged:
        def fill(table: str, stage: str = stage, lines: str | None = lines) -> None:
            q.rename_table(con, stage, table)
            if lines:
                q.rename_table(con, lines, table + "_lines")
        loaded = ws.adopt(f.side, f.report, fill)
        restored[f.side].append(loaded)
        digests[loaded.table] = f.digest
    if build and ws.files["ma"] and ws.files["sfa"]:
        ws.build(settings.overrides, settings.link, settings.loss_rules)
    return Restored(manifest, settings, dict(manifest.get("session") or {}), costs, restored, digests)


def open_fresh(src: bytes | Path, name: str, *, build: bool = False) -> Restored:
    """Open a saved file into a new workspace (``Restored.workspace``), built or not.

    Nothing of the caller's workspace is touched: the caller swaps the new one in
    (:meth:`Workspace.take_over`) only once everything else it needs from the file has been
    checked too, so a bad file leaves the session exactly as it was. On any failure the new
    workspace is closed (its connection and temporary folder gone) before the error propagates.
    """
    ws = Workspace()
    try:
        restored = restore(ws, src, name, build=build)
    except duckdb.Error as exc:     # past every check, DuckDB still refused (memory, temp space)
        ws.close()
        raise TooLargeError(name, key="saved.error.cannot_open") from exc
    except BaseException:
        ws.close()
        raise
    restored.workspace = ws
    return restored
