"""The manifest of a saved workspace (``manifest.json`` in a ``.funnel`` file): its format
version, and each file's load report and Parquet parts, checked field by field.

A hand-edited or damaged manifest is refused as a whole (``saved.error.corrupt``) rather than
read in part: :mod:`funnel.model.saved` checks every part against it before the workspace is touched.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from funnel.config import setting
from funnel.errors import TooLargeError, UnreadableFileError
from funnel.ingest.reader import LoadReport
from funnel.model.link import LinkSpec
from funnel.model.rules import LossRules
from funnel.sql import ingest as ingest_sql
from funnel.vocabulary import INPUTS, SIDES

FORMAT = "funnel-workspace"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 32 * 1024**2


@dataclass(frozen=True)
class Settings:
    """What a build needs besides the data: mapping overrides, the link rule, loss rules."""

    overrides: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)
    link: LinkSpec | None = None
    loss_rules: LossRules | None = None


def corrupt(name: str, part: str) -> UnreadableFileError:
    return UnreadableFileError(name, key="saved.error.corrupt", part=part)


def checked_manifest(zf: zipfile.ZipFile, name: str) -> dict[str, Any]:
    info = zf.getinfo(MANIFEST)
    if info.file_size > MAX_MANIFEST_BYTES:
        raise corrupt(name, MANIFEST)
    try:
        manifest = json.loads(zf.read(info).decode("utf-8"))
    except (zipfile.BadZipFile, zlib.error, EOFError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise corrupt(name, MANIFEST) from exc      # RecursionError: JSON nested thousands deep
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise UnreadableFileError(name, key="saved.error.no_manifest")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise corrupt(name, MANIFEST)
    if version > FORMAT_VERSION:
        raise UnreadableFileError(name, key="saved.error.newer", found=version, supported=FORMAT_VERSION,
                                  app=str(manifest.get("app_version") or "?"))
    return manifest


@dataclass
class Part:
    member: str
    sha256: str
    size: int
    rows: int
    columns: list[tuple[str, str]]


@dataclass
class SavedFile:
    side: str
    report: LoadReport
    digest: str
    table: Part
    lines: Part | None


def part_of(d: Mapping[str, Any], *, columns: bool = True) -> Part:
    cols = [(_str(c), _str(t)) for c, t in d["columns"]] if columns else []
    if not isinstance(d["member"], str):
        raise TypeError("part")
    _int(d["bytes"]), _int(d["rows"]), _str(d["sha256"])
    return Part(d["member"], str(d["sha256"]), d["bytes"], d["rows"], cols)


def report_of(d: Mapping[str, Any]) -> LoadReport:
    """The load report saved with a file, every field of the type the app expects (text where
    a number belongs would surface as a TypeError on some page, long after the file opened)."""
    known = {f.name for f in fields(LoadReport)}
    report = LoadReport(**{k: v for k, v in d.items() if k in known})
    report.columns = [_str(c) for c in report.columns]
    report.renamed = [(_str(a), _str(b)) for a, b in d.get("renamed") or []]
    report.notices = [(_str(n["key"]), {_str(k): v for k, v in dict(n["params"]).items()})
                      for n in d.get("notices") or []]
    report.dropped = {_str(k): _int(v) for k, v in (d.get("dropped") or {}).items()}
    texts: list[object] = [report.file, report.kind, report.sha256]
    texts += [v for v in (report.encoding, report.delimiter, report.sheet) if v is not None]
    for text in texts:
        _str(text)
    for count in (report.size_bytes, report.header_row, report.first_column, report.rows_read):
        _int(count)
    if len(report.columns) > int(setting("max_columns")):
        raise ValueError("columns")
    return report


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError("text expected")
    return v


def _int(v: Any) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise TypeError("count expected")
    return v


# The raw tables the engine writes: text cells and _drop; the CSV lines it could not fit.
_LINES_COLUMNS = [("line", "BIGINT"), ("reason", "VARCHAR"), ("error", "VARCHAR"), ("text", "VARCHAR")]


def parse_files(manifest: Mapping[str, Any], name: str) -> list[SavedFile]:
    out = []
    try:
        for side in INPUTS:
            for f in manifest["files"].get(side) or []:
                report = report_of(f["report"])
                table = part_of(f["table"])
                expected = [ingest_sql.raw_column(i) for i in range(len(report.columns))] + ["_drop"]
                if table.columns != [(c, "VARCHAR") for c in expected]:
                    raise ValueError("columns")
                lines = part_of(f["lines"]) if f.get("lines") else None
                if lines is not None and lines.columns != _LINES_COLUMNS:
                    raise ValueError("columns")
                out.append(SavedFile(side, report, str(f.get("sha256") or ""), table, lines))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise corrupt(name, MANIFEST) from exc
    return out


def check_rows(files: list[SavedFile], name: str) -> None:
    """Refuse a saved file holding a table over ``max_rows``, as loading that export would
    be refused: saved by an app with a higher limit, or edited by hand. The manifest's count
    is checked against the table when it is read."""
    limit = int(setting("max_rows"))
    for f in files:
        if f.table.rows > limit:
            raise TooLargeError(name, key="saved.error.too_many_rows", source=f.report.file, limit=f"{limit:,}")


def parse_settings(manifest: Mapping[str, Any], name: str) -> Settings:
    try:
        raw = manifest["settings"]
        overrides = {s: {str(k): (None if v is None else str(v)) for k, v in (raw["overrides"].get(s) or {}).items()}
                     for s in INPUTS if s in SIDES or (raw["overrides"].get(s) or {})}
        link = raw.get("link")
        spec = None if not link else LinkSpec(str(link["kind"]), link.get("ma_column"), link.get("sfa_column"))
        rules = LossRules.from_toml(raw["loss_rules"]) if raw.get("loss_rules") else None
        session = manifest.get("session") or {}
        if not isinstance(session, dict) or not isinstance(manifest.get("costs") or {}, dict):
            raise TypeError("session")
    except Exception as exc:   # any shape error of a hand-edited manifest: the file is unusable
        raise corrupt(name, MANIFEST) from exc
    return Settings(overrides, spec, rules)
