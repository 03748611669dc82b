"""Last month's data: the baseline of 前回との比較, a :class:`~funnel.model.dataset.Dataset`
that also knows where its files came from (uploads, a saved ``.funnel`` file, or the sample's
own last month) and builds with this month's settings where they apply."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from funnel.errors import FunnelError
from funnel.model.dataset import BuildSettings, Dataset, FileEntry
from funnel.model.saved import Settings, restore
from funnel.model.workspace import Workspace


class LastMonth(Dataset):
    """Last month's exports (the baseline of 前回との比較): uploaded, a saved file, or — while
    the sample data is shown — the sample's own last month."""

    def __init__(self) -> None:
        super().__init__()
        self.saved: tuple[str, str] | None = None   # (name, SHA-256) of the saved file in use
        self.saved_settings: Settings | None = None # its mapping and link (made for its columns)
        self.sample = False                          # the files are the sample's last month
        self.declined: int | None = None             # data version at which the user removed the sample's

    def attach(self, ws: Workspace) -> bool:
        fresh = super().attach(ws)
        if fresh:
            self.saved, self.saved_settings, self.sample, self.declined = None, None, False, None
        return fresh

    def _reset(self) -> None:
        self.clear()
        self.saved, self.saved_settings, self.sample = None, None, False

    def use_uploads(self, side: str, uploads: list[tuple[str, bytes]]) -> bool:
        """Make ``uploads`` the files of ``side``; False when they are those already loaded."""
        if not self.sample and self.same_files(side, uploads):
            return False
        if self.saved is not None or self.sample:      # both sides of a saved file or of the sample go
            self._reset()
        self.replace(side, uploads)
        return True

    def use_saved(self, name: str, data: bytes) -> FunnelError | None:
        """Make a saved ``.funnel`` file the baseline, once per file content; returns why it
        cannot be opened (the baseline is then left empty)."""
        digest = hashlib.sha256(data).hexdigest()
        if self.saved is not None and self.saved[1] == digest:
            return None
        self._reset()
        try:
            restored = restore(self.workspace, data, name, build=False)
        except FunnelError as exc:
            return exc
        self.adopt({side: [FileEntry(side, lt.report.file, restored.digests.get(lt.table, ""),
                                     lt.report.size_bytes or 0, lt.table, lt.report) for lt in tables]
                    for side, tables in restored.files.items()})
        self.saved, self.saved_settings = (name, digest), restored.settings
        return None

    def use_sample(self, paths: Mapping[str, list[Path]]) -> None:
        self._reset()
        self.add_paths(paths)
        self.sample = True

    def settings_for(self, this_month: BuildSettings) -> BuildSettings:
        """A saved file brings its own mapping and link; exports get the automatic mapping and
        this month's link choice (automatic linking where last month's files lack its columns).
        The loss rules are always this month's, so both put reasons in the same categories."""
        if self.saved_settings is not None:
            return BuildSettings(self.saved_settings.overrides, self.saved_settings.link, this_month.loss_rules,
                                 link_fallback=True)
        return BuildSettings(None, this_month.link, this_month.loss_rules, link_fallback=True)
