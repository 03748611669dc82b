"""Presenting results: number formats and labels shared by the CLI, the app and the report."""

from __future__ import annotations

import unicodedata

from funnel.i18n import t


def pct(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x * 100:.{digits}f}%"


def num(n: int | float | None) -> str:
    if n is None:
        return "—"
    return f"{n:,.0f}" if float(n).is_integer() else f"{n:,.1f}"


def yen(x: float | int | None) -> str:
    return "—" if x is None else f"¥{x:,.0f}"


def source_label(source: str | None, lang: str) -> str:
    return t("term.no_source", lang) if source is None else source


def owner_label(owner: str | None, lang: str) -> str:
    return t("term.no_owner", lang) if owner is None else owner


def loss_label(category: str, lang: str) -> str:
    return t(f"loss.{category}", lang)


def field_label(field: str, lang: str) -> str:
    return t(f"field.{field}", lang)


def drop_label(reason: str, lang: str) -> str:
    return t(f"drop.{reason}", lang)


def stage_label(stage: str, lang: str) -> str:
    return t(f"term.{stage}", lang)


def display_width(text: str) -> int:
    """Terminal columns a text takes (full-width Japanese characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - display_width(text))
    return gap + text if right else text + gap


def text_table(header: list[str], rows: list[list[str]], right: set[int] | None = None) -> list[str]:
    """Rows aligned in columns for a terminal, numbers right-aligned."""
    right = right or set()
    widths = [max(display_width(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    out = []
    for r in [header, *rows]:
        out.append("  " + "  ".join(pad(str(c), widths[i], i in right) for i, c in enumerate(r)))
    return out
