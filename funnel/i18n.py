"""The one i18n catalogue (Japanese first, English on a switch).

Texts live in ``funnel/data/messages/*.toml``; each file is one area of the product and each
entry holds both languages side by side, so a missing translation is visible in review and
caught by a test. The files are merged into one catalogue at first use.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

_DIR = Path(__file__).parent / "data" / "messages"
LANGUAGE_KEY = "lang.name"       # the entry whose languages are the ones offered (languages.toml)


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    """All messages, ``{key: {"ja": ..., "en": ...}}``, merged from the message files."""
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(_DIR.glob("*.toml")):
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        for key, texts in data.items():
            if key in merged:
                raise ValueError(f"message key {key!r} is declared twice ({path.name})")
            merged[key] = texts
    return merged


def _languages() -> tuple[str, ...]:
    """The languages offered, in the catalogue's order (the first is the default)."""
    return tuple(catalogue()[LANGUAGE_KEY])


LANGS: tuple[str, ...] = _languages()
DEFAULT_LANG = LANGS[0]


def language_name(code: str) -> str:
    """A language's own name (日本語, English), for the language switches."""
    return catalogue()[LANGUAGE_KEY].get(code, code)


def join(items: Iterable[str], lang: str) -> str:
    """Items of a list in running text, with the language's separator (、 / ", ")."""
    return t("lang.list_sep", lang).join(items)


def sentences(first: str, second: str, lang: str) -> str:
    """Two sentences one after the other, spaced as the language spaces them."""
    return t("lang.sentences", lang, first=first, second=second)


def plural(key: str, n: float, lang: str, **params: Any) -> str:
    """``key``'s text for a count ``n``: its ``key.one`` form when ``n`` is 1 and the catalogue
    has one ("1 deal" / "2 deals"; Japanese says 件 either way and gives both the same text)."""
    return t(f"{key}.one" if n == 1 and f"{key}.one" in catalogue() else key, lang, **params)


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
    entry = catalogue().get(key)
    if entry is None:
        return key
    text = entry.get(normalise_lang(lang)) or entry.get(DEFAULT_LANG) or key
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text
