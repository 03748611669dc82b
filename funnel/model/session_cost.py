"""The cost data part of the :class:`~funnel.model.session.Session`: one cost data per data mode
(the sample's cost file never prices a user's leads), where it came from, and its saved form.

A mixin rather than an object of its own: pages and the saved file reach the cost data
through the Session's own methods and attributes, and every change bumps the one Session
version (plus :attr:`cost_version`, the topic pages watch through ``Session.changed``)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from funnel.errors import FunnelError
from funnel.ingest.reader import Source
from funnel.model.cost_data import CostData, read_costs
from funnel.model.dataset import Dataset
from funnel.model.saved import Restored


@dataclass
class CostEntry:
    """The cost data of one data mode and where it came from."""

    data: CostData
    origin: str                         # "sample" | "upload" | "edited"
    file: CostData | None = None        # the data read from the last file (what "reset" restores)


class SessionCost:
    """The Session's cost data methods (state set up by :meth:`_init_cost`)."""

    # Given by the Session this is mixed into.
    mode: str
    data: Dataset
    sample_cost: Path | None

    def _bump(self) -> None:
        raise NotImplementedError        # the Session's one version counter

    def _init_cost(self) -> None:
        self.costs: dict[str, CostEntry | None] = {}
        self.cost_version = 0
        self._cost_applied: dict[str, str] = {}
        self._cost_failed: tuple[str, FunnelError] | None = None

    def cost_entry(self) -> CostEntry | None:
        """The cost data of the data shown (the sample's cost file with the sample data, read
        on first use)."""
        if self.mode == "sample" and "sample" not in self.costs:
            self.costs["sample"] = None
            if self.sample_cost is not None:
                try:
                    read = self._read_cost(self.sample_cost.name, self.sample_cost.read_bytes())
                    self.costs["sample"] = CostEntry(read, "sample", read)
                except (OSError, FunnelError):
                    pass
        return self.costs.get(self.mode)

    def cost(self) -> CostData | None:
        """The cost data, or None when there is none (an emptied edited table counts as none)."""
        entry = self.cost_entry()
        return entry.data if entry is not None and entry.data.amounts else None

    def _read_cost(self, name: str, data: bytes) -> CostData:
        ws = self.data.workspace
        return read_costs(ws.con, Source.from_bytes(name, data), ws.workdir)

    def set_cost(self, data: CostData | None, origin: str = "edited") -> None:
        """Replace the cost data of the data shown (``None`` removes it, file and all); an edited
        table keeps the file it started from, so "reset" can go back."""
        previous = self.costs.get(self.mode)
        file = data if origin in ("sample", "upload") else (previous.file if previous else None)
        self.costs[self.mode] = None if data is None else CostEntry(data, origin, file)
        self.cost_version += 1
        self._bump()

    def load_cost_file(self, name: str | None, data: bytes | None) -> FunnelError | None:
        """Make an uploaded cost file the cost data, once per file content (an uploader keeps
        its file across reruns; an edit made since must not be overwritten). ``None`` forgets
        the last file, so giving it again re-reads it. Returns why the file cannot be used."""
        if name is None or data is None:
            self._cost_applied.pop(self.mode, None)
            return None
        digest = hashlib.sha256(data).hexdigest()
        if self._cost_applied.get(self.mode) == digest:
            failed = self._cost_failed
            return failed[1] if failed and failed[0] == digest else None
        self._cost_applied[self.mode] = digest
        try:
            read = self._read_cost(name, data)
        except FunnelError as exc:
            self._cost_failed = (digest, exc)
            return exc
        self.set_cost(read, "upload")
        return None

    def reset_cost(self) -> None:
        """Back to the cost file the cost data came from (none: no cost data)."""
        entry = self.cost_entry()
        self.set_cost(entry.file if entry is not None else None, "sample" if self.mode == "sample" else "upload")

    # -- the saved file ------------------------------------------------------------------------
    def _cost_json(self) -> dict[str, Any] | None:
        """The ``cost`` field of the session part (the tables themselves: :meth:`saved_costs`)."""
        entry = self.cost_entry()
        if entry is None:
            return None
        return {"origin": entry.origin,
                "file": None if entry.file is None else "same" if entry.file == entry.data else "own"}

    def saved_costs(self) -> dict[str, CostData]:
        entry = self.cost_entry()
        out: dict[str, CostData] = {}
        if entry is not None:
            out["data"] = entry.data
            if entry.file is not None and entry.file != entry.data:
                out["file"] = entry.file
        return out

    def _apply_saved_cost(self, session: Mapping[str, Any], restored: Restored, mode: str) -> None:
        """The opened file's cost data becomes ``mode``'s (no version bump: the caller bumps once)."""
        cost = session.get("cost") or {}
        found = restored.costs.get("data")
        self.costs[mode] = None if found is None else CostEntry(
            found, str(cost.get("origin") or "upload"), found if cost.get("file") == "same" else restored.costs.get("file"))
        self._cost_applied.pop(mode, None)
        self.cost_version += 1


__all__ = ["CostEntry", "SessionCost"]
