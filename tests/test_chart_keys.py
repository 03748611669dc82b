"""The key a chart spec is kept under (ui.widgets.frozen): equal inputs give one key, any
changed count, label or option another, so a kept spec is never shown for other data."""

from __future__ import annotations

from funnel.measures.loss import BreakdownRow, ParetoRow
from ui.widgets import frozen


def rows(other: int) -> list[BreakdownRow]:
    return [BreakdownRow("展示会", "value", {"price": 3, "other": other}), BreakdownRow(None, "no_lead", {})]


def test_equal_inputs_share_a_key_and_the_key_is_hashable() -> None:
    a = frozen((rows(2), {"price": "価格", "other": "その他"}))
    b = frozen((rows(2), {"other": "その他", "price": "価格"}))     # the same mapping in another order
    assert a == b and hash(a) == hash(b)


def test_any_change_of_the_inputs_changes_the_key() -> None:
    base = frozen((rows(2), {"price": "価格"}))
    assert frozen((rows(3), {"price": "価格"})) != base                       # a count inside a row's dict
    assert frozen((rows(2), {"price": "Price"})) != base                      # a label (the language)
    assert frozen((rows(2)[:1], {"price": "価格"})) != base                   # a row fewer
    assert frozen(ParetoRow("price", 3, 0.5, 0.5, None)) != frozen(ParetoRow("price", 3, 0.5, 0.5, 10.0))
    # Rows of two types with the same fields never share a key.
    assert frozen(rows(2)[0])[0] == "BreakdownRow"
