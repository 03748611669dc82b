"""Sessions kept server-side by an unguessable token, so a browser reload finds its data again.

A Streamlit browser session ends on reload (F5): its ``st.session_state`` is gone. The app keeps
each user's engine :class:`~funnel.model.session.Session` here instead, under a random token
(``secrets.token_urlsafe``, 192 bits) that only that browser holds, in its URL. A reload brings
the token back and with it the uploads, mappings and inputs; a browser without the token
(another user, another browser) can never reach the session: tokens are not derived from
anything and not listed anywhere.

Sessions idle for longer than ``session_idle_minutes`` are closed (their DuckDB workspace and
temporary files released) at the next access to the registry; with more than
``session_max`` sessions the least recently used is closed first.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from funnel.config import setting
from funnel.model.session import Session

TOKEN_BYTES = 24
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32}$")   # what token_urlsafe(24) gives


@dataclass
class Entry:
    session: Session
    used: float = field(default_factory=time.monotonic)


class Registry:
    """Token → Session, with idle expiry and a size cap; thread-safe (one per server process)."""

    def __init__(self, make: Callable[[], Session], *, idle_seconds: float | None = None,
                 max_sessions: int | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._make = make
        self.idle_seconds = float(idle_seconds if idle_seconds is not None
                                  else 60 * setting("session_idle_minutes"))
        self.max_sessions = int(max_sessions if max_sessions is not None else setting("session_max"))
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and token in self._entries

    @staticmethod
    def well_formed(token: object) -> bool:
        return isinstance(token, str) and bool(_TOKEN_SHAPE.match(token))

    def open(self, token: str | None) -> tuple[str, Session, bool]:
        """The session of ``token`` (``found`` True), or a new session with a new token when the
        token is missing, malformed, unknown or expired. Marks it as used now."""
        closing: list[Session] = []
        with self._lock:
            now = self._clock()
            closing += self._expire(now)
            entry = self._entries.get(token) if token is not None and self.well_formed(token) else None
            found = entry is not None
            if entry is None:
                token = secrets.token_urlsafe(TOKEN_BYTES)
                entry = Entry(self._make(), now)
                self._entries[token] = entry
                closing += self._cap()
            entry.used = now
        for s in closing:
            _close(s)
        assert token is not None
        return token, entry.session, found

    def touch(self, token: str) -> bool:
        """Mark ``token``'s session as used now; False when it is gone (expired or evicted)."""
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return False
            entry.used = self._clock()
            return True

    def close(self, token: str) -> None:
        """Close one session now (its workspace and temporary files released)."""
        with self._lock:
            entry = self._entries.pop(token, None)
        if entry is not None:
            _close(entry.session)

    def sweep(self) -> int:
        """Close the sessions idle too long; returns how many were closed."""
        with self._lock:
            closing = self._expire(self._clock())
        for s in closing:
            _close(s)
        return len(closing)

    def close_all(self) -> None:
        with self._lock:
            closing = [e.session for e in self._entries.values()]
            self._entries.clear()
        for s in closing:
            _close(s)

    # -- under the lock ----------------------------------------------------------------------
    def _expire(self, now: float) -> list[Session]:
        old = [k for k, e in self._entries.items() if now - e.used > self.idle_seconds]
        return [self._entries.pop(k).session for k in old]

    def _cap(self) -> list[Session]:
        out = []
        while len(self._entries) > self.max_sessions:
            oldest = min(self._entries, key=lambda k: self._entries[k].used)
            out.append(self._entries.pop(oldest).session)
        return out


def _close(s: Session) -> None:
    try:
        s.close()
    except Exception:   # noqa: BLE001 - one broken workspace must not keep the others open
        pass
