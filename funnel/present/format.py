"""Presenting results: number formats and labels shared by the CLI, the app and the report."""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections.abc import Mapping

from funnel.i18n import t
from funnel.measures.metrics import FUNNEL_STAGES
from funnel.model.money import currencies


def pct(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x * 100:.{digits}f}%"


def num(n: int | float | None, digits: int | None = None) -> str:
    """A count or measure with thousands separators: whole numbers bare and others to one
    decimal; ``digits`` fixes the decimals (a column of measures all alike: ``894.0`` beside
    ``150.5``, not ``894`` beside ``150.5``)."""
    if n is None:
        return "—"
    if digits is not None:
        return f"{n:,.{digits}f}"
    return f"{n:,.0f}" if float(n).is_integer() else f"{n:,.1f}"


#: What a blank cell shows in a formatted table (never "None", "nan" or "NaT").
BLANK = "—"


def yen(x: float | int | None) -> str:
    return money(x, "JPY")


def money(x: float | int | None, currency: str | None) -> str:
    """An amount in the currency its export was in (``funnel.model.money``): ``¥1,234``,
    ``$923``, ``€1,234``; an unknown currency shows the bare number; blank → —."""
    if _missing(x):
        return BLANK
    assert x is not None
    found = currencies().get(currency or "")
    sign = "-" if x < 0 else ""
    if found is None:
        return f"{sign}{abs(x):,.0f}"
    return f"{sign}{found.symbol}{abs(x):,.{found.decimals}f}"


def money_axis(currency: str | None) -> str:
    """A chart axis's label expression for amounts in ``currency`` (``'$' + 1,234``); bare
    numbers when it is unknown or the amounts are in several."""
    found = currencies().get(currency or "")
    sign = found.symbol.replace("\\", "").replace("'", "") if found else ""
    return f"'{sign}' + format(datum.value, ',.0f')"


def _missing(value: object) -> bool:
    """None, a NaN float, or pandas' NaT (checked by type name: importing pandas here would
    slow every CLI start)."""
    return (value is None or (isinstance(value, float) and math.isnan(value))
            or type(value).__name__ == "NaTType")


def date_text(value: object) -> str:
    """One date format for every table: ``2021-03-05``; a time only when it is not midnight
    (``2021-03-05 14:30``); blank, NaT and None → —."""
    if _missing(value):
        return BLANK
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d") if value.time() == dt.time() else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    return str(value) if str(value).strip() else BLANK


def cell_text(value: object) -> str:
    """Any table cell as text: dates as :func:`date_text`, blanks as —, the rest as str."""
    if _missing(value):
        return BLANK
    if isinstance(value, (dt.date, dt.datetime)):
        return date_text(value)
    return str(value) if str(value).strip() else BLANK


def source_label(source: str | None, lang: str) -> str:
    return t("term.no_source", lang) if source is None else source


def lead_key_text(key: str) -> str:
    """A lead's key as the person reading a table knows it: the normalised email
    (``e:taro@x.jp``), the MA record ID (``i:00Q…``) or ``file:row`` (``r:leads.csv:12``), without
    the engine's two-character kind prefix (``funnel/sql/staging.py`` ``ma_key_expr``)."""
    return key[2:] if key[:2] in ("e:", "i:", "r:") else key


def lead_key_label(identity: str, lang: str) -> str:
    """The heading of a column of :func:`lead_key_text`, named after what identifies a lead in
    this build (``Build.identity``: ``email`` | ``id`` | ``row``), not always "email"."""
    return t(f"term.lead_key.{identity}", lang)


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


def funnel_note(key: str, params: Mapping[str, object], lang: str) -> str:
    """One note of the stage funnel (``Funnel.notes``) in words: stage ids as the words the chart
    uses, counts formatted. The funnel page and the report's funnel sheet both show it this way."""
    words: dict[str, object] = {}
    for k, v in params.items():
        if k in ("stage", "previous") and v in FUNNEL_STAGES:
            words[k] = stage_label(str(v), lang)
        elif k == "count" and isinstance(v, int):
            words[k] = num(v)
        else:
            words[k] = v
    return t(key, lang, **words)


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
