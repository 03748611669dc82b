"""The account edits part of the :class:`~funnel.model.session.Session`: the account match
report's merges and splits (the CLI's accounts are the raw rule).

A mixin rather than an object of its own: the accounts page reads and sets
``Session.account_edits`` directly, and a change bumps the one Session version."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from funnel.sql.account_graph import Edits


class SessionAccounts:
    """The Session's account edits methods (state set up by :meth:`_init_accounts`)."""

    def _bump(self) -> None:
        raise NotImplementedError        # the Session's one version counter

    def _init_accounts(self) -> None:
        self.account_edits = Edits()                    # merges and splits of the account match report

    def set_account_edits(self, edits: Edits) -> None:
        """The account match report's merges and splits (the CLI's accounts are the raw rule)."""
        if edits != self.account_edits:
            self.account_edits = edits
            self._bump()

    # -- the saved file ------------------------------------------------------------------------
    def _accounts_json(self) -> dict[str, Any]:
        """The ``accounts`` field of the session part."""
        return self.account_edits.to_json()

    def _apply_saved_accounts(self, session: Mapping[str, Any]) -> None:
        """The opened file's edits (no version bump: the caller bumps once)."""
        self.account_edits = Edits.from_json(session.get("accounts"))


__all__ = ["SessionAccounts"]
