"""The session part of a saved ``.funnel`` file as JSON: values tagged so that dates and
tuples come back as they were, the file list rebuilt from the restored tables, and the layout
versions read (1: written before the engine's Session object; 2: :meth:`Session.to_json`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from funnel.model.dataset import KINDS, FileEntry, empty_files
from funnel.model.saved import Restored

LAYOUT = 2


# -- values as JSON: dates and tuples tagged so that decode() gives them back -------------------
def encode(value: Any) -> Any:
    """A session value as JSON (dates and tuples tagged so that :func:`decode` gives them back)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, tuple):
        return {"$tuple": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if hasattr(value, "item"):          # a NumPy scalar from an edited table
        return encode(value.item())
    return str(value)


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"$date"}:
        return dt.date.fromisoformat(value["$date"])
    if set(value) == {"$datetime"}:
        return dt.datetime.fromisoformat(value["$datetime"])
    if set(value) == {"$tuple"}:
        return tuple(decode(v) for v in value["$tuple"])
    return {k: decode(v) for k, v in value.items()}


def read_session_part(part: Any) -> dict[str, Any]:
    """The decoded session part of a manifest; raises TypeError/ValueError when it is not one."""
    session = decode(part or {})
    if not isinstance(session, dict):
        raise TypeError("session")
    layout = session.get("layout", 1)
    if not isinstance(layout, int) or layout > LAYOUT:
        raise ValueError("layout")
    return session


def file_entries(session: Mapping[str, Any], restored: Restored) -> dict[str, list[FileEntry]]:
    """The file list: loaded files from the workspace, failed ones from the session part."""
    out = empty_files()
    for side in KINDS:
        loaded = list(restored.files.get(side) or [])
        parts = [f["table"]["sha256"] for f in restored.manifest["files"].get(side) or []]
        digests = {lt.table: restored.digests.get(lt.table) or part for lt, part in zip(loaded, parts, strict=True)}
        entries: list[FileEntry] = []
        for e in (session.get("entries") or {}).get(side) or []:
            if e.get("loaded") and loaded:
                lt = loaded.pop(0)
                entries.append(FileEntry(side, lt.report.file, digests[lt.table], lt.report.size_bytes, lt.table,
                                         lt.report))
            elif not e.get("loaded") and e.get("error"):
                file, key, params = e["error"]
                entries.append(FileEntry(side, str(e["name"]), str(e["digest"]), int(e["size"]),
                                         error=(file, str(key), dict(params))))
        entries += [FileEntry(side, lt.report.file, digests[lt.table], lt.report.size_bytes, lt.table, lt.report)
                    for lt in loaded]
        out[side] = entries
    return out
