"""Owner columns that hold CRM user IDs instead of names, and their resolution through a
users export (Id, Name).

A Salesforce report exported with ``Owner ID`` shows ``0055A000009GjocQAC`` on every row;
HubSpot's deal export writes the numeric owner ID (``52345678``). Both are flagged so a page
can say "these are IDs, add the users export"; given one, IDs are shown as names. A
Salesforce ID comes as 15 (case-sensitive) or 18 characters (the 15 plus a 3-character
checksum): both spellings of one user resolve to the same name.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, is_dataclass, replace
from typing import Any, TypeVar

from funnel.errors import FunnelError
from funnel.vocabulary import fold

#: Salesforce user IDs: key prefix 005, then 12 (15-char) or 15 (18-char) alphanumerics.
SALESFORCE_USER = re.compile(r"^005[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$")
#: HubSpot owner IDs: digits only, 5–12 of them (a name never is).
HUBSPOT_OWNER = re.compile(r"^[0-9]{5,12}$")
#: Share of an owner column's non-blank sample that must look like IDs for it to be flagged.
ID_SHARE = 0.8
ID_HEADERS = ("id", "user id", "ユーザーid", "owner id", "所有者id", "hubspot owner id")
NAME_HEADERS = ("name", "full name", "氏名", "名前", "ユーザー名", "氏名（フルネーム）", "owner name")


T = TypeVar("T")


class UsersFileError(FunnelError):
    key = "error.users.columns"


def id_kind(values: Iterable[str | None]) -> str | None:
    """``salesforce`` / ``hubspot`` when most non-blank values are user IDs of that CRM, else None."""
    vals = [v.strip() for v in values if v and v.strip()]
    if not vals:
        return None
    for kind, pattern in (("salesforce", SALESFORCE_USER), ("hubspot", HUBSPOT_OWNER)):
        if sum(1 for v in vals if pattern.match(v)) >= ID_SHARE * len(vals):
            return kind
    return None


def _key(user_id: str) -> str:
    """A Salesforce ID's 15-character form (the 18-char one adds only a checksum); others as is."""
    v = user_id.strip()
    return v[:15] if SALESFORCE_USER.match(v) else v


@dataclass(frozen=True)
class Users:
    """User ID → name, from a users export."""

    names: Mapping[str, str]

    def name(self, owner: str | None) -> str | None:
        """The owner's name when ``owner`` is a known ID; else ``owner`` unchanged."""
        if owner is None:
            return None
        return self.names.get(_key(owner), owner)

    def unresolved(self, owners: Iterable[str | None]) -> list[str]:
        """Owner values that look like IDs and are not in the users export."""
        return sorted({o for o in owners if o and (SALESFORCE_USER.match(o.strip()) or HUBSPOT_OWNER.match(o.strip()))
                       and _key(o) not in self.names})


def named(users: Users | None, rows: Iterable[T], field: str = "group") -> list[T]:
    """``rows`` (dicts or dataclasses, as the measures return them) with their owner ``field``
    shown as the user's name; unchanged without a users export. Applied where owners are shown,
    so the numbers behind them never depend on it."""
    if users is None:
        return list(rows)
    out: list[Any] = []
    for r in rows:
        if isinstance(r, dict):
            out.append({**r, field: users.name(r[field])})
        elif is_dataclass(r) and not isinstance(r, type):
            out.append(replace(r, **{field: users.name(getattr(r, field))}))
        else:
            raise TypeError(f"rows of dicts or dataclasses, not {type(r).__name__}")
    return out


def read_users(data: bytes, file: str = "users.csv") -> Users:
    """A users export (CSV, UTF-8 or CP932): an ID column and a name column (English or
    Japanese headers; a Salesforce ``User`` report's ``User ID`` / ``Full Name`` included)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp932", errors="replace")
    table = list(csv.reader(io.StringIO(text)))
    header = [fold(h) for h in (table[0] if table else [])]
    ii = next((header.index(h) for h in ID_HEADERS if h in header), None)
    ni = next((header.index(h) for h in NAME_HEADERS if h in header), None)
    if ii is None or ni is None:
        raise UsersFileError(file, found=", ".join(table[0] if table else []))
    names = {_key(r[ii]): r[ni].strip() for r in table[1:] if len(r) > max(ii, ni) and r[ii].strip() and r[ni].strip()}
    return Users(names)
