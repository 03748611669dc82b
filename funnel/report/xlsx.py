"""Writing the Excel report: typed, formula-safe cells, formatted tables and native charts.

Every value goes through :func:`cell_value`: numbers stay numbers (with an Excel number format,
so 0.0883 shows as 8.8% and still sums), dates stay dates, and text is made safe — characters
that are illegal in the file format are dropped, over-long text is cut to Excel's cell limit, and
text that Excel would evaluate (``=``, ``+``, ``-``, ``@`` …) is prefixed with ``'`` by
:func:`funnel.present.export.safe_cell`. openpyxl would otherwise store a string starting with ``=`` as
a formula.

A :class:`Sheet` writes from the top down (titles, notes, tables) and remembers how wide each
column must be; charts sit to the right of the table they draw and the rows they cover are kept
free, so a later table never hides under a chart.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, PieChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.marker import DataPoint
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook
from openpyxl.workbook.child import INVALID_TITLE_REGEX

from funnel.model.money import currencies
from funnel.present.export import safe_cell
from funnel.present.format import display_width

# Excel number formats: what the report shows, while the cell keeps the exact number.
PERCENT = "0.0%"
COUNT = "#,##0"
DECIMAL = "#,##0.0"
YEN = '"¥"#,##0'
RATIO = "0.00"
DATE = "yyyy-mm-dd"
DATETIME = "yyyy-mm-dd hh:mm"


def money_format(currency: str | None) -> str:
    """The number format of amounts in ``currency`` (``"$"#,##0``); no sign when unknown or
    mixed, as on the pages."""
    found = currencies().get(currency or "")
    if found is None:
        return COUNT
    return f'"{found.symbol}"#,##0' + (f".{'0' * found.decimals}" if found.decimals else "")

MAX_TEXT = 32_767           # characters Excel keeps in one cell
MAX_WIDTH = 48              # widest automatic column (longer text overflows or wraps)
ROW_CM = 0.53               # height of a default row (15 pt), to keep the rows under a chart free
DEFAULT_WIDTH = 8.43        # Excel's default column width (characters)

_TITLE = Font(bold=True, size=16)
_HEADING = Font(bold=True, size=12, color="1F2937")
_NOTE = Font(color="4B5563")
_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="E5E7EB")
_HEADER_BORDER = Border(bottom=Side(style="thin", color="9CA3AF"))
_LINK = Font(color="1D4ED8", underline="single")
_WEB = re.compile(r"^https?://[^\s\"<>]+$")
_TOP = Alignment(vertical="top")
_WRAP_TOP = Alignment(wrap_text=True, vertical="top")
_HEADER_ALIGN = Alignment(wrap_text=True, vertical="center")


def cell_value(value: Any, clean: Callable[[str], str] | None = None) -> Any:
    """The value to store in a cell: numbers as numbers, dates as dates, text made safe
    (``clean`` first, e.g. masking personal data)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, Fraction | Decimal):
        value = float(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return value
    text = str(value) if clean is None else clean(str(value))
    return safe_cell(ILLEGAL_CHARACTERS_RE.sub("", text)[:MAX_TEXT])


def sheet_title(text: str) -> str:
    """A valid sheet name: no ``[]:*?/\\``, at most 31 characters."""
    return INVALID_TITLE_REGEX.sub("", text)[:31] or "Sheet"


@dataclass(frozen=True)
class Col:
    """A table column: its header, the number format of its values, and either a fixed width
    (the text wraps) or ``overflow`` (the column keeps its width; a long text reads across the
    empty cells to its right — for the last column of a table whose columns serve others)."""

    header: str
    fmt: str | None = None
    width: float | None = None
    overflow: bool = False


@dataclass(frozen=True)
class Num:
    """A value with its own number format (a table whose rows hold different units)."""

    value: Any
    fmt: str | None


@dataclass(frozen=True)
class Link:
    """A web address shown as a clickable link (http and https only)."""

    url: str


@dataclass(frozen=True)
class Block:
    """Where a table landed: header row, first and last data rows, first column, width."""

    header: int
    first: int
    last: int
    col: int
    n_cols: int

    @property
    def n_rows(self) -> int:
        return self.last - self.first + 1


def _estimate(value: Any, fmt: str | None) -> float:
    """Characters a value takes once formatted (for the column width)."""
    if value is None:
        return 0
    if isinstance(value, int | float) and not isinstance(value, bool):
        if fmt == PERCENT:
            return len(f"{value * 100:.1f}%")
        return len(f"{value:,.1f}") + (1 if fmt and fmt.startswith('"') else 0)   # a currency sign
    if isinstance(value, dt.datetime):
        return 10 if value.time() == dt.time() else 16
    if isinstance(value, dt.date):
        return 10
    return display_width(str(value).split("\n", 1)[0])


class Sheet:
    """One worksheet written from the top down."""

    def __init__(self, wb: Workbook, title: str, clean: Callable[[str], str] | None = None) -> None:
        self.ws = wb.create_sheet(sheet_title(title))
        self.clean = clean
        self.row = 1
        self._widths: dict[int, float] = {}
        self._fixed: dict[int, float] = {}
        self._frozen = False
        self._charts: list[tuple[Any, int, int, Any]] = []
        self._wrapped: list[tuple[int, int, str]] = []     # (row, column, text) of wrapping cells
        self.ws.page_setup.orientation = "landscape"
        self.ws.page_setup.fitToWidth = 1
        self.ws.page_setup.fitToHeight = 0
        self.ws.sheet_properties.pageSetUpPr.fitToPage = True

    # -- text lines ------------------------------------------------------------------------
    def _line(self, text: str, font: Font, col: int = 1) -> None:
        cell = self.ws.cell(self.row, col, cell_value(text, self.clean))
        cell.font = font
        self.row += 1

    def title(self, text: str) -> None:
        self._line(text, _TITLE)

    def heading(self, text: str) -> None:
        self._line(text, _HEADING)

    def note(self, text: str) -> None:
        """A sentence under a heading (not wrapped: it reads across the empty cells beside it)."""
        for part in str(text).split("\n"):
            self._line(part, _NOTE)

    def gap(self, rows: int = 1) -> None:
        self.row += rows

    # -- tables ----------------------------------------------------------------------------
    def table(self, cols: Sequence[Col], rows: Iterable[Sequence[Any]], *, freeze: bool = False,
              col: int = 1) -> Block:
        """A header row and one row per item; ``None`` is an empty cell. ``freeze`` keeps the
        header in view while scrolling (the first table of the sheet only)."""
        ws, header = self.ws, self.row
        for j, c in enumerate(cols):
            cell = ws.cell(header, col + j, cell_value(c.header))
            cell.font, cell.fill, cell.border = _BOLD, _HEADER_FILL, _HEADER_BORDER
            if not c.overflow:
                cell.alignment = _HEADER_ALIGN
                self._wrapped.append((header, col + j, str(cell.value or "")))
            if not c.overflow:
                self._measure(col + j, min(display_width(c.header), 24))
            if c.width:
                self._fixed[col + j] = max(self._fixed.get(col + j, 0), c.width)
        top = any(c.width for c in cols)      # a row of wrapping text: every cell reads from the top
        r = header
        for item in rows:
            r += 1
            for j, (c, v) in enumerate(zip(cols, item, strict=True)):
                fmt = v.fmt if isinstance(v, Num) else c.fmt
                raw = v.value if isinstance(v, Num) else v.url if isinstance(v, Link) else v
                value = cell_value(raw, self.clean)
                cell = ws.cell(r, col + j, value)
                if isinstance(v, Link) and _WEB.match(v.url):
                    cell.hyperlink = v.url
                    cell.font = _LINK
                if fmt and isinstance(value, int | float) and not isinstance(value, bool):
                    cell.number_format = fmt
                elif isinstance(value, dt.datetime):
                    cell.number_format = DATE if value.time() == dt.time() else DATETIME
                elif isinstance(value, dt.date):
                    cell.number_format = DATE
                if c.width:
                    cell.alignment = _WRAP_TOP
                    self._wrapped.append((r, col + j, str(value or "")))
                else:
                    if top:
                        cell.alignment = _TOP
                    if not c.overflow:
                        self._measure(col + j, _estimate(value, fmt))
        if freeze and not self._frozen:
            ws.freeze_panes = ws.cell(header + 1, 1)
            self._frozen = True
        self.row = r + 1
        return Block(header, header + 1, r, col, len(cols))

    def _measure(self, col: int, width: float) -> None:
        self._widths[col] = max(self._widths.get(col, 0), width)

    def reserve(self, rows_until: int) -> None:
        """Keep rows up to ``rows_until`` free (a chart covers them)."""
        self.row = max(self.row, rows_until + 1)

    def finish(self) -> None:
        """Set the column widths measured while writing, fit the rows of wrapped text, then
        anchor the charts (a chart beside another starts where the other ends, whatever the
        widths of the columns under it)."""
        widths: dict[int, float] = {}
        for col in set(self._widths) | set(self._fixed):
            widths[col] = self._fixed.get(col) or min(MAX_WIDTH, max(8.0, self._widths.get(col, 0) + 2))
            self.ws.column_dimensions[get_column_letter(col)].width = widths[col]
        # Rows as tall as their wrapped text (neither Excel nor LibreOffice fits them on opening).
        lines: dict[int, int] = {}
        for row, col, text in self._wrapped:
            room = max(1.0, (widths.get(col, DEFAULT_WIDTH) - 1) * 0.85)   # full-width glyphs run wide
            n = sum(max(1, math.ceil(display_width(part) / room)) for part in text.split("\n"))
            lines[row] = max(lines.get(row, 1), n)
        for row, n in lines.items():
            if n > 1:
                self.ws.row_dimensions[row].height = 15 * n
        placed: dict[int, int] = {}
        for chart, row, col, beside in self._charts:
            if beside is not None and id(beside) in placed:
                # The first column whose left edge is clear of the other chart's right edge.
                col, edge = placed[id(beside)], 0.0
                while edge < beside.width + 0.3:
                    edge += _column_cm(widths.get(col, DEFAULT_WIDTH))
                    col += 1
            placed[id(chart)] = col
            self.ws.add_chart(chart, f"{get_column_letter(col)}{row}")

    def add_chart(self, chart: Any, block: Block, beside: Any = None) -> None:
        """Put ``chart`` at the header row of ``block``, one column right of it (or beside the
        chart ``beside``), and keep the rows it covers free."""
        row = block.header
        self._charts.append((chart, row, block.col + block.n_cols + 1, beside))
        self.reserve(row + math.ceil(chart.height / ROW_CM))


# -- charts ------------------------------------------------------------------------------------
def _size(chart: Any, n_points: int, horizontal: bool, width: float) -> None:
    chart.width = width
    chart.height = max(7.5, 0.75 * n_points + 3.5) if horizontal else 8.5


def bar_chart(sheet: Sheet, block: Block, *, cat: int, values: Sequence[int], title: str, fmt: str | None = None,
              horizontal: bool = True, colors: Sequence[str] | None = None, point_colors: Sequence[str] | None = None,
              stacked: bool = False, labels: bool = True, beside: Any = None,
              width: float = 17.0) -> BarChart | None:
    """A native bar chart of a table's columns ``values`` against its column ``cat`` (offsets
    within the table); rows in table order top to bottom; None for an empty table."""
    if block.n_rows <= 0:
        return None
    ws = sheet.ws
    chart = BarChart()
    chart.type = "bar" if horizontal else "col"
    chart.title = cell_value(title)
    chart.style = 10
    for k, v in enumerate(values):
        data = Reference(ws, min_col=block.col + v, min_row=block.header, max_row=block.last)
        chart.add_data(data, titles_from_data=True)
        if colors:
            chart.series[k].graphicalProperties.solidFill = colors[k % len(colors)]
            chart.series[k].graphicalProperties.line.solidFill = colors[k % len(colors)]
    chart.set_categories(Reference(ws, min_col=block.col + cat, min_row=block.first, max_row=block.last))
    if point_colors and len(values) == 1:
        for i, color in enumerate(point_colors[:block.n_rows]):
            point = DataPoint(idx=i)
            point.graphicalProperties.solidFill = color
            point.graphicalProperties.line.solidFill = color
            chart.series[0].dPt.append(point)
    if stacked:
        chart.grouping, chart.overlap = "stacked", 100
    # Axes shown explicitly: Excel hides an axis whose "delete" flag is left unset.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.y_axis.scaling.min = 0        # counts, rates and yen: bars start at zero
    if horizontal:
        chart.x_axis.scaling.orientation = "maxMin"      # first row of the table on top
    if fmt:
        chart.y_axis.number_format = fmt.replace(".0%", "%")
    if labels and not stacked:
        chart.dataLabels = _labels(value=True)
        if fmt:
            chart.dataLabels.numFmt = fmt
    if len(values) == 1 and not stacked:
        chart.legend = None
    else:
        chart.legend.position = "b"
    _size(chart, block.n_rows, horizontal, width)
    sheet.add_chart(chart, block, beside)
    return chart


def pie_chart(sheet: Sheet, block: Block, *, cat: int, value: int, title: str, colors: Sequence[str] | None = None,
              beside: Any = None, width: float = 13.0) -> PieChart | None:
    """A native pie chart of one column (shares shown as percentages)."""
    if block.n_rows <= 0:
        return None
    ws = sheet.ws
    chart = PieChart()
    chart.title = cell_value(title)
    chart.add_data(Reference(ws, min_col=block.col + value, min_row=block.header, max_row=block.last),
                   titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=block.col + cat, min_row=block.first, max_row=block.last))
    for i, color in enumerate((colors or [])[:block.n_rows]):
        point = DataPoint(idx=i)
        point.graphicalProperties.solidFill = color
        chart.series[0].dPt.append(point)
    chart.dataLabels = _labels(percent=True)
    chart.legend.position = "r"
    chart.width, chart.height = width, 8.5
    sheet.add_chart(chart, block, beside)
    return chart


def _column_cm(width: float) -> float:
    """Centimetres of a column ``width`` characters wide (Calibri 11: 7 px a character + 5 px)."""
    return (width * 7 + 5) / 96 * 2.54


def _labels(*, value: bool = False, percent: bool = False) -> DataLabelList:
    """Data labels showing only the value (or the percentage): every flag set, since a reader
    that finds a flag missing may show the series and category names too."""
    return DataLabelList(showVal=value, showPercent=percent, showSerName=False, showCatName=False,
                         showLegendKey=False, showBubbleSize=False, showLeaderLines=False)


def hex_color(color: str) -> str:
    """``#2563eb`` (the app's theme) → ``2563EB`` (what a chart's fill takes)."""
    return color.lstrip("#").upper()
