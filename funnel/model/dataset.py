"""A dataset: the files of each kind of input, the workspace they are loaded into, and the build
made from them with given settings (mapping overrides, link rule, loss rules).

The app holds two of them per session: "this month" (the data every page measures) and "last
month" (the baseline of 前回との比較). Both go through the same cycle: files are added or
removed (each read once, identified by the SHA-256 of its bytes), and :meth:`Dataset.ensure_built`
builds again only when the files or the build settings changed since the last build, and only
re-classifies loss reasons when nothing but the loss rules changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from funnel.config import setting
from funnel.errors import FunnelError, MappingError
from funnel.ingest.reader import LoadReport, Notice, Source
from funnel.model.link import LinkSpec
from funnel.model.rules import LossRules
from funnel.model.workspace import Build, Workspace
from funnel.vocabulary import INPUTS, SIDES

# The kinds of input a dataset holds: the MA and SFA exports, and activity exports (行動履歴,
# optional: a dataset is ready with both sides alone). A new kind (company keys) is one more
# entry of ``funnel.vocabulary.INPUTS`` and one more list in ``Dataset.files``.
KINDS: tuple[str, ...] = INPUTS


@dataclass
class FileEntry:
    """One file the user gave: its identity, and its load report or why it could not be read."""

    side: str
    name: str
    digest: str
    size: int
    table: str | None = None
    report: LoadReport | None = None
    error: tuple[str | None, str, dict[str, Any]] | None = None   # (file, message key, params)

    def error_text(self, lang: str) -> str | None:
        if self.error is None:
            return None
        file, key, params = self.error
        return FunnelError(file, key=key, **params).render(lang)


def empty_files() -> dict[str, list[FileEntry]]:
    return {k: [] for k in KINDS}


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class BuildSettings:
    """What a build needs besides the files. ``link_fallback``: when the link rule names a
    column the files lack, link them the automatic way (with a notice) instead of failing —
    for a baseline, which follows this month's link choice where it can."""

    overrides: Mapping[str, Mapping[str, str | None]] | None = None
    link: LinkSpec | None = None
    loss_rules: LossRules | None = None
    link_fallback: bool = False

    def build_key(self) -> str:
        link = None if self.link is None else vars(self.link)
        return json.dumps([self.overrides or {}, link, self.link_fallback], sort_keys=True, default=str)

    def rules_key(self) -> str:
        return self.loss_rules.to_toml() if self.loss_rules is not None else ""


class Dataset:
    """Files + workspace + build. Every change of the files bumps :attr:`version`."""

    def __init__(self, ws: Workspace | None = None) -> None:
        self.ws: Workspace | None = ws
        self.files: dict[str, list[FileEntry]] = empty_files()
        self.version = 0
        self.notices: list[Notice] = []          # what the last build decided on its own
        self._built: tuple[int, str, str] | None = None    # (version, build key, rules key)

    # -- the workspace ----------------------------------------------------------------------
    def attach(self, ws: Workspace) -> bool:
        """Use ``ws`` (the session's workspace); True when it is not the one used so far: the
        files it held are gone, so the dataset starts empty."""
        if ws is self.ws:
            return False
        self.ws = ws
        self.files = empty_files()
        self._changed()
        return True

    @property
    def workspace(self) -> Workspace:
        if self.ws is None:
            self.ws = Workspace()
        return self.ws

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
            self.ws = None

    # -- files -------------------------------------------------------------------------------
    def add(self, side: str, source: Source, digest: str, size: int) -> FileEntry:
        """Read one file onto ``side``; an unreadable or too large file is kept with its error
        (so the upload page can say why), never silently dropped."""
        entry = FileEntry(side, source.name, digest, size)
        limit_mb = int(setting("max_upload_mb"))
        if size > limit_mb * 1024 * 1024:
            entry.error = (source.name, "error.upload_too_large", {"size_mb": size // 1024**2, "limit_mb": limit_mb})
        else:
            try:
                loaded = self.workspace.load(side, source)
                entry.table, entry.report = loaded.table, loaded.report
            except FunnelError as exc:
                entry.error = (exc.file or source.name, exc.key, exc.params)
        self.files[side].append(entry)
        self._changed()
        return entry

    def add_bytes(self, side: str, name: str, data: bytes) -> FileEntry:
        digest = digest_of(data)
        return self.add(side, Source.from_bytes(name, data), digest, len(data))

    def add_paths(self, paths: Mapping[str, Iterable[Path]]) -> None:
        for side, found in paths.items():
            for p in found:
                data = p.read_bytes()
                self.add(side, Source.from_path(p), digest_of(data), len(data))

    def same_files(self, side: str, uploads: list[tuple[str, bytes]]) -> bool:
        """Whether ``uploads`` ``[(name, bytes)]`` are the files ``side`` holds (a rerun keeps
        an uploader's files: they are not read again)."""
        return [(n, digest_of(d)) for n, d in uploads] == [(f.name, f.digest) for f in self.files[side]]

    def replace(self, side: str, uploads: list[tuple[str, bytes]],
                progress: Callable[[int, str], None] | None = None) -> None:
        """Make ``uploads`` the files of ``side``; ``progress(i, name)`` before each is read."""
        self.clear(side)
        for i, (name, data) in enumerate(uploads):
            if progress is not None:
                progress(i, name)
            self.add_bytes(side, name, data)

    def remove(self, side: str, digest: str) -> None:
        """Drop one file of ``side``; the others stay loaded."""
        for entry in [f for f in self.files[side] if f.digest == digest]:
            if entry.table:
                self.workspace.remove(side, entry.table)
        self.files[side] = [f for f in self.files[side] if f.digest != digest]
        self._changed()

    def clear(self, side: str | None = None) -> None:
        self.workspace.clear(side)
        for s in [side] if side else list(self.files):
            self.files[s] = []
        self._changed()

    def adopt(self, files: Mapping[str, list[FileEntry]]) -> None:
        """Take the file list of tables already in the workspace (a restored saved file)."""
        self.files = {k: list(files.get(k) or []) for k in KINDS}
        self._changed()

    def has_files(self) -> bool:
        return any(self.files.values())

    def ready(self) -> bool:
        """Both kinds of export have a readable file: the dataset can be built."""
        ws = self.ws
        return ws is not None and all(ws.files[k] for k in SIDES)

    def _changed(self) -> None:
        self.version += 1
        self._built = None

    # -- building ----------------------------------------------------------------------------
    def stale(self, settings: BuildSettings) -> bool:
        """Whether :meth:`ensure_built` would build (the slow part) rather than reuse."""
        return (self._built is None or self.ws is None or self.ws.build_result is None
                or self._built[:2] != (self.version, settings.build_key()))

    @property
    def build(self) -> Build | None:
        return self.ws.build_result if self.ws is not None and self._built is not None else None

    def ensure_built(self, settings: BuildSettings) -> Build:
        """The build for ``settings``: made again only when the files, overrides or link changed;
        when only the loss rules changed, lost deals are re-classified without a rebuild.

        Raises:
            FunnelError: the files cannot be built with these settings (nothing stands built).
        """
        ws = self.workspace
        key, rules = settings.build_key(), settings.rules_key()
        try:
            if self.stale(settings):
                self._built = None
                self.notices = []
                try:
                    ws.build(settings.overrides, settings.link, settings.loss_rules)
                except MappingError:
                    if not settings.link_fallback or settings.link is None:
                        raise
                    # The link names a column these files lack: link them the automatic way
                    # rather than refuse, and say so.
                    ws.build(settings.overrides, None, settings.loss_rules)
                    self.notices.append(("diff.baseline.link_fallback",
                                         {"ma": settings.link.ma_column, "sfa": settings.link.sfa_column}))
            elif self._built is not None and self._built[2] != rules:
                ws.apply_loss_rules(settings.loss_rules or LossRules.default())
        except FunnelError:
            self._built = None
            ws.discard_build()
            raise
        self._built = (self.version, key, rules)
        assert ws.build_result is not None
        return ws.build_result

    def signature(self) -> tuple[int, str, str] | None:
        """What the standing build was made from (for caches of results computed from it)."""
        return self._built


def entries_field(entries: Mapping[str, list[FileEntry]]) -> dict[str, list[dict[str, Any]]]:
    """The file list as JSON (what a saved file records besides the tables)."""
    return {side: [{"name": e.name, "digest": e.digest, "size": e.size, "loaded": e.table is not None,
                    "error": list(e.error) if e.error else None} for e in entries.get(side) or []]
            for side in KINDS}


__all__ = ["KINDS", "BuildSettings", "Dataset", "FileEntry", "digest_of", "empty_files", "entries_field"]
