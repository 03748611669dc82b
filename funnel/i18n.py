"""The one i18n catalogue (Japanese first, English on a switch).

Texts live in ``funnel/data/messages/*.toml``; each file is one area of the product and each
entry holds both languages side by side, so a missing translation is visible in review and
caught by a test. A lookup parses only the file that declares its key: a CLI run needs a few
of the files, and parsing all of them cost more than the rest of a small run's Python work.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

_DIR = Path(__file__).parent / "data" / "messages"
LANGUAGE_KEY = "lang.name"       # the entry whose languages are the ones offered (languages.toml)


# An entry starts with a ``["key"]`` table header on its own line (every message file is written
# so; tests/test_i18n_lazy.py checks that this scan finds exactly the keys tomllib parses).
_HEADER = re.compile(r'^\["([^"\\\n]+)"\][ \t]*$', re.MULTILINE)


@lru_cache(maxsize=1)
def _index() -> dict[str, Path]:
    """Which message file declares each key, from the files' header lines (a scan, not a parse)."""
    where: dict[str, Path] = {}
    for path in sorted(_DIR.glob("*.toml")):
        for key in _HEADER.findall(path.read_text(encoding="utf-8")):
            if key in where:
                raise ValueError(f"message key {key!r} is declared twice ({path.name})")
            where[key] = path
    return where


@cache
def _file(path: Path) -> dict[str, dict[str, str]]:
    """One message file, parsed once."""
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _entry(key: str) -> dict[str, str] | None:
    """``key``'s texts, ``{"ja": ..., "en": ...}``, or None for an unknown key."""
    path = _index().get(key)
    return None if path is None else _file(path).get(key)


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    """All messages, ``{key: {"ja": ..., "en": ...}}``, merged from the message files."""
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(_DIR.glob("*.toml")):
        for key, texts in _file(path).items():
            if key in merged:
                raise ValueError(f"message key {key!r} is declared twice ({path.name})")
            merged[key] = texts
    return merged


def _languages() -> tuple[str, ...]:
    """The languages offered, in the catalogue's order (the first is the default)."""
    return tuple(_entry(LANGUAGE_KEY) or ())


LANGS: tuple[str, ...] = _languages()
DEFAULT_LANG = LANGS[0]


def language_name(code: str) -> str:
    """A language's own name (日本語, English), for the language switches."""
    return (_entry(LANGUAGE_KEY) or {}).get(code, code)


def join(items: Iterable[str], lang: str) -> str:
    """Items of a list in running text, with the language's separator (、 / ", ")."""
    return t("lang.list_sep", lang).join(items)


def sentences(first: str, second: str, lang: str) -> str:
    """Two sentences one after the other, spaced as the language spaces them."""
    return t("lang.sentences", lang, first=first, second=second)


def plural(key: str, n: float, lang: str, **params: Any) -> str:
    """``key``'s text for a count ``n``: its ``key.one`` form when ``n`` is 1 and the catalogue
    has one ("1 deal" / "2 deals"; Japanese says 件 either way and gives both the same text)."""
    return t(f"{key}.one" if n == 1 and f"{key}.one" in _index() else key, lang, **params)


def normalise_lang(lang: str | None) -> str:
    """Map ``ja-JP``, ``EN``, ``None`` … onto a supported language code."""
    code = (lang or "").strip().lower()[:2]
    return code if code in LANGS else DEFAULT_LANG


def env_lang() -> str:
    """The CLI's language: ``FUNNEL_LANG`` (``ja`` default, ``en``)."""
    return normalise_lang(os.environ.get("FUNNEL_LANG"))


def t(key: str, lang: str = DEFAULT_LANG, **params: Any) -> str:
    """The text for ``key`` in ``lang`` with ``{param}`` placeholders filled in.

    An unknown key returns the key itself so that a missing text never breaks a page; a test
    makes sure every key the code uses is declared.
    """
    entry = _entry(key)
    if entry is None:
        return key
    text = entry.get(normalise_lang(lang)) or entry.get(DEFAULT_LANG) or key
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text
