"""The one i18n catalogue (Japanese first, English on a switch).

Texts live in ``funnel/data/messages/*.toml``; each file is one area of the product and each
entry holds both languages side by side, so a missing translation is visible in review and
caught by a test. The files are merged into one catalogue at first use.
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

LANGS: tuple[str, ...] = ("ja", "en")
DEFAULT_LANG = "ja"
_DIR = Path(__file__).parent / "data" / "messages"


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
