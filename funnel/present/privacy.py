"""Masking personal data for screen sharing: ``t***@example.co.jp``, ``山***``, ``03-****-****``.

A workshop projects the app; the people in the data (leads, contacts) must not be readable,
while everything the workshop discusses stays: the email's domain (which company — the point
of B2B), company names, and the sales owners (employees of the user's own company).

Which columns are personal is declared once, as data (``funnel/data/privacy.toml``): by the
canonical fields of the column mapping, extra raw-export headers, the engine's own column
names and the labels of shown tables. On top of that, any cell or header holding something
that looks like an email address is masked wherever it is (a set-aside raw row, a loss
reason, an owner written as an address): content beats headers.

Masking is for display and downloads only; it never changes the workspace's data. The
functions are pure and idempotent (masking a masked value changes nothing).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from funnel import i18n
from funnel.config import DATA_DIR
from funnel.vocabulary import INPUTS, SIDES, match_header, normalize_header

if TYPE_CHECKING:  # pandas is only handed in by callers; the CLI path never imports it
    import pandas as pd

_DATA = DATA_DIR / "privacy.toml"
STARS = "***"

# Characters that end an address token: spaces, brackets, quotes and list separators, in their
# ASCII and full-width forms ("「TARO@X.JP」", "Name <a@b>", "a@b; c@d", "a@b、c@d").
_STOP = r"\s@＠<>()\[\]{};,:\"'`「」『』（）＜＞【】、，；：|"
_ADDRESS = re.compile(rf"([^{_STOP}]+)([@＠])([^{_STOP}]*)")
# What is left of an email cell without an "@": a bare local part ("tanaka") is still personal,
# a placeholder ("なし", "-", "不明") is not. ASCII and full-width letters and digits.
_BARE_LOCAL = re.compile(r"[A-Za-z0-9Ａ-Ｚａ-ｚ０-９][A-Za-z0-9Ａ-Ｚａ-ｚ０-９._%+'\-]*")
_LETTER = re.compile(r"[A-Za-zＡ-Ｚａ-ｚ]")
_WORD = re.compile(r"[^\W\d_]+")            # runs of letters, any script (display names)
_DIGIT = re.compile(r"[0-9０-９]")


# -- single values ---------------------------------------------------------------------------
def mask_email(value: str) -> str:
    """Every address in ``value`` with its local part masked: ``taro@example.co.jp`` →
    ``t***@example.co.jp``. The domain stays (which company a lead is from matters in B2B)."""
    if "@" not in value and "＠" not in value:
        return value
    return _ADDRESS.sub(_masked_address, value)


def _masked_address(m: re.Match[str]) -> str:
    local, at, domain = m.groups()
    return local[0] + STARS + at + domain


def mask_name(value: str) -> str:
    """A person's name reduced to its first character: ``山田 太郎`` → ``山***``, ``John
    Smith`` → ``J***``. A one-character name (a split given-name column: 彩) shows nothing."""
    text = value.strip()
    if not text:
        return value
    return STARS if len(text) == 1 else text[0] + STARS


def mask_phone(value: str) -> str:
    """A phone number with every digit after the first two hidden: ``03-****-****``."""
    seen = 0

    def hide(m: re.Match[str]) -> str:
        nonlocal seen
        seen += 1
        return m.group(0) if seen <= 2 else "*"

    masked = _DIGIT.sub(hide, value)
    return masked if seen else (value if not value.strip() else STARS)


def _mask_email_cell(value: str) -> str:
    """A cell of an email column: addresses masked, and what else could name the person — a
    display name (``山田 太郎 <t@x>``) or a bare local part (``tanaka``) — too."""
    if "@" in value or "＠" in value:
        parts = []
        last = 0
        for m in _ADDRESS.finditer(value):
            parts.append(_mask_words(value[last:m.start()]))
            parts.append(_masked_address(m))
            last = m.end()
        parts.append(_mask_words(value[last:]))
        return "".join(parts)
    return _BARE_LOCAL.sub(lambda m: m.group(0)[0] + STARS if _LETTER.search(m.group(0)) else m.group(0), value)


def _mask_words(text: str) -> str:
    """Words between addresses (display names) masked; ``mailto`` and separators stay."""
    return _WORD.sub(lambda m: m.group(0) if m.group(0).lower() == "mailto" else m.group(0)[0] + STARS, text)


def mask_text(value: str) -> str:
    """Any text: only what looks like an email address is masked (content detection)."""
    return mask_email(value)


_MASKERS: dict[str, Callable[[str], str]] = {
    "email": _mask_email_cell, "name": mask_name, "phone": mask_phone,
}


def mask_value(value: Any, role: str | None = None) -> Any:
    """One cell masked for its column's ``role`` (None: content detection only); values that
    are not text (numbers, dates, missing) are returned unchanged."""
    if not isinstance(value, str):
        return value
    if role is None:
        return mask_text(value)
    return _MASKERS[_roles()[role].mask](value)


# -- column roles (declared in data/privacy.toml) ----------------------------------------------
@dataclass(frozen=True)
class Role:
    name: str
    mask: str                                   # which masker: email | name | phone
    fields: tuple[tuple[str, str], ...]         # (side, field) of the column mapping
    exact: frozenset[str]                       # normalised headers, engine columns and labels


@lru_cache(maxsize=1)
def _config() -> dict[str, Any]:
    with _DATA.open("rb") as fh:
        return tomllib.load(fh)


def _split_field(qualified: str) -> tuple[str, str]:
    side, _, name = qualified.partition(".")
    if side not in INPUTS or not name:
        raise ValueError(f"privacy.toml: {qualified!r} is not SIDE.FIELD")
    return side, name


@lru_cache(maxsize=1)
def _roles() -> dict[str, Role]:
    out = {}
    catalogue = i18n.catalogue()
    for name, spec in _config()["roles"].items():
        if spec["mask"] not in _MASKERS:
            raise ValueError(f"privacy.toml: role {name!r} has unknown mask {spec['mask']!r}")
        exact = {normalize_header(h) for h in [*spec.get("headers", []), *spec.get("columns", [])]}
        for key in spec.get("labels", []):
            exact |= {normalize_header(text) for text in catalogue.get(key, {}).values()}
        out[name] = Role(name, spec["mask"], tuple(_split_field(f) for f in spec.get("fields", [])),
                         frozenset(exact - {""}))
    return out


@lru_cache(maxsize=1)
def _not_personal() -> frozenset[tuple[str, str]]:
    return frozenset(_split_field(f) for f in _config().get("not_personal", []))


def roles() -> tuple[str, ...]:
    """The declared roles (``email``, ``name``, ``phone``)."""
    return tuple(_roles())


def declared_labels() -> dict[str, list[str]]:
    """role → the message keys whose texts name a personal column (checked by a test)."""
    return {name: list(spec.get("labels", [])) for name, spec in _config()["roles"].items()}


def field_role(side: str, field: str) -> str | None:
    """The role of a canonical field of the column mapping (``ma.email`` → ``email``)."""
    for role in _roles().values():
        if (side, field) in role.fields:
            return role.name
    return None


def role_of(header: Hashable) -> str | None:
    """The personal-data role of a column, judged by its header; None when it is not personal
    (or not known to be: content detection still masks addresses in it)."""
    text = str(header)
    if "@" in text or "＠" in text:     # an address read as a header: masked by content, never cached
        return None
    return _role_of(text)


@lru_cache(maxsize=4096)
def _role_of(text: str) -> str | None:
    n = normalize_header(text)
    if not n:
        return None
    for role in _roles().values():
        if n in role.exact or n.replace(" ", "") in role.exact:
            return role.name
    for side in SIDES:
        found = match_header(side, text)
        if not found:
            continue
        top = found[0][0]
        if (side, top) in _not_personal():
            return None
        named = field_role(side, top)
        if named is not None:
            return named
    return None


# -- frames and rows ---------------------------------------------------------------------------
def _textual(series: pd.Series) -> bool:
    return series.dtype.kind == "O" or str(series.dtype) in ("str", "string")


def _mask_series(series: pd.Series, role: str | None) -> pd.Series:
    if not _textual(series):
        return series
    if role is None:   # content detection: only cells with an "@" change (cheap on big frames)
        if series.dtype.kind == "O":
            has_at = series.map(lambda v: isinstance(v, str) and ("@" in v or "＠" in v))
        else:
            has_at = series.str.contains("[@＠]", regex=True, na=False)
        if not has_at.any():
            return series
        out = series.astype(object).copy()
        out[has_at] = series[has_at].map(mask_text)
    else:
        out = series.map(lambda v: mask_value(v, role))
    return out.astype(series.dtype) if series.dtype != object else out


def mask_frame(frame: pd.DataFrame, columns: Mapping[Hashable, str | None] | None = None) -> pd.DataFrame:
    """A copy of ``frame`` with personal data masked.

    A column's role comes from ``columns`` (column → role, None for "not personal") when given
    there, else from its header (:func:`role_of`); every other text cell, and every header,
    has its email addresses masked. Numbers, dates and missing values are untouched.
    """
    given = dict(columns or {})
    out = frame.copy()
    names = list(frame.columns)
    out.columns = list(range(len(names)))
    for i, col in enumerate(names):
        role = given[col] if col in given else role_of(col)
        out[i] = _mask_series(frame.iloc[:, i], role)
    out.columns = [mask_value(c) for c in names]
    return out


def mask_rows(columns: Sequence[str], rows: Iterable[Sequence[Any]],
              roles_by_column: Mapping[str, str | None] | None = None) -> Iterator[list[Any]]:
    """Rows (e.g. streamed into a CSV download) masked like :func:`mask_frame` masks a frame."""
    given = dict(roles_by_column or {})
    col_roles = [given[c] if c in given else role_of(c) for c in columns]
    for row in rows:
        yield [mask_value(v, r) for v, r in zip(row, col_roles, strict=True)]

