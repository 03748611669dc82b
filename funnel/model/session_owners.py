"""The owner names part of the :class:`~funnel.model.session.Session`: the users export (owner
ID → name) that owner columns are shown through, read once per uploaded file content.

A mixin rather than an object of its own: pages and the saved file reach the names through
the Session's own methods and attributes, and a change bumps the one Session version."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from funnel.errors import FunnelError
from funnel.model.owners import Users, read_users


class SessionOwners:
    """The Session's owner names methods (state set up by :meth:`_init_owners`)."""

    def _bump(self) -> None:
        raise NotImplementedError        # the Session's one version counter

    def _init_owners(self) -> None:
        self.users_file: str | None = None              # the users export (Id, Name) owner IDs resolve by
        self.user_names: dict[str, str] | None = None
        self._users_applied: tuple[str, FunnelError | None] | None = None

    @property
    def users(self) -> Users | None:
        return None if self.user_names is None else Users(self.user_names)

    def set_users(self, file: str | None, names: Mapping[str, str] | None) -> None:
        if names is None:
            self._users_applied = None       # the same file given again is read again
        if (file, names) != (self.users_file, self.user_names):
            self.users_file, self.user_names = file, None if names is None else dict(names)
            self._bump()

    def load_users_file(self, name: str | None, data: bytes | None) -> FunnelError | None:
        """Read an uploaded users export once per file content (an uploader keeps its file
        across reruns; an emptied uploader keeps the names, as a reload empties it). Returns
        why the file cannot be used."""
        if name is None or data is None:
            return None
        digest = hashlib.sha256(data).hexdigest()
        if self._users_applied is None or self._users_applied[0] != digest:
            try:
                self.set_users(name, read_users(data, name).names)
                self._users_applied = (digest, None)
            except FunnelError as exc:
                self._users_applied = (digest, exc)
        return self._users_applied[1]

    # -- the saved file ------------------------------------------------------------------------
    def _owners_json(self) -> dict[str, Any] | None:
        """The ``users`` field of the session part."""
        return None if self.user_names is None else {"file": self.users_file, "names": dict(self.user_names)}

    def _apply_saved_owners(self, session: Mapping[str, Any]) -> None:
        """The opened file's names (no version bump: the caller bumps once)."""
        users = session.get("users") or {}
        names = users.get("names")
        self.users_file = str(users.get("file") or "users.csv") if names else None
        self.user_names = {str(k): str(v) for k, v in names.items()} if names else None
        self._users_applied = None


__all__ = ["SessionOwners"]
