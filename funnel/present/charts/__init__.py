"""Charts as pure functions that return Altair objects (tested with ``chart.to_dict()``).

One theme for every chart, readable on a projector: large type, Japanese-capable fonts, a
small palette where colour means the same thing everywhere (the user's data in blue, the
benchmark band in grey, targets in orange, warnings in red).
"""

from __future__ import annotations

from typing import Any

import altair as alt

FONT = "'Hiragino Sans', 'Hiragino Kaku Gothic ProN', 'Noto Sans JP', 'Yu Gothic', Meiryo, sans-serif"
COLORS = {
    "data": "#2563eb", "data_light": "#93c5fd", "benchmark": "#9ca3af", "target": "#ea580c",
    "warn": "#dc2626", "good": "#16a34a", "muted": "#6b7280", "text": "#111827",
}
# Loss categories keep their colour on every chart.
LOSS_COLORS = {"budget": "#2563eb", "timing": "#f59e0b", "competitor": "#dc2626", "no_need": "#7c3aed",
               "other": "#6b7280", "blank": "#d1d5db", "excluded": "#94a3b8"}
PALETTE = ["#2563eb", "#f59e0b", "#16a34a", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d",
           "#6b7280", "#9333ea"]


@alt.theme.register("funnel", enable=True)
def funnel_theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "font": FONT,
            "view": {"stroke": None},
            "axis": {"labelFontSize": 14, "titleFontSize": 15, "labelFont": FONT, "titleFont": FONT,
                     "gridColor": "#e5e7eb", "domainColor": "#9ca3af", "labelLimit": 260},
            "legend": {"labelFontSize": 14, "titleFontSize": 14, "labelFont": FONT, "titleFont": FONT,
                       "orient": "bottom"},
            "title": {"fontSize": 18, "font": FONT, "anchor": "start"},
            "text": {"fontSize": 14, "font": FONT},
            "range": {"category": PALETTE},
        }
    }


def height_for(n_rows: int, per_row: int = 34, minimum: int = 160) -> int:
    """Chart height that keeps one bar per row readable."""
    return max(minimum, n_rows * per_row)


def layer(*charts: Any, **kwargs: Any) -> alt.LayerChart:
    """``alt.layer`` for charts that never facet: always a ``LayerChart`` (``alt.layer`` may
    hoist shared facet encodings into a ``FacetChart``, which no chart here has)."""
    return alt.LayerChart(layer=list(charts), **kwargs)


def haloed(base: alt.Chart, encoding: dict[str, Any], **mark: Any) -> list[alt.Chart]:
    """A text layer with a white halo layer beneath it, so a label stays legible where it
    crosses a reference line, a band or a whisker."""
    halo = base.mark_text(**{**mark, "stroke": "white", "strokeWidth": 5, "strokeJoin": "round"}).encode(**encoding)
    return [halo, base.mark_text(**mark).encode(**encoding)]
