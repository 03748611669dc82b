"""Small building blocks every page uses: the data guard, definitions beside numbers,
downloads of what is shown, and tables with readable formats."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from altair.utils import schemapi

from funnel.errors import FunnelError
from funnel.model.owners import id_kind
from funnel.model.workspace import Build
from funnel.present.export import frame_csv_bytes, frame_xlsx_bytes
from funnel.present.format import BLANK, money
from funnel.present.privacy import mask_frame
from ui.privacy import masked, masking_on
from ui.state import Current, call_key, current, lang, session_workspace, t

UPLOAD_PAGE = "views/upload.py"

# Altair validates every schema object as it is created and the whole spec again when
# Streamlit renders it: two thirds of a 商談化率 page run at 100k leads, for specs built by
# pure functions whose output the chart tests validate (tests/test_charts_*.py call
# ``to_dict()``, which validates). The app skips both.
schemapi.disable_debug_mode()


def require_current() -> Current:
    """The built data, or a clear message (and a way to the upload page) and stop."""
    cur = current()
    if isinstance(cur, Current):
        if cur.state.mode == "sample":
            st.caption(t("app.sample_banner_short"))
        return cur
    if isinstance(cur, FunnelError):
        st.error(cur.render(lang()))
    else:
        st.warning(t("app.need_both_sides"))
    st.page_link(UPLOAD_PAGE, label=t("app.go_upload"), icon="📂")
    st.stop()
    raise RuntimeError("unreachable")


def owner_id_hint(owners: Iterable[str | None]) -> None:
    """Where a table or chart shows owners as CRM user IDs (no users export loaded), one line
    saying so and pointing to the upload page, where a users export turns them into names."""
    if (kind := id_kind(owners)) is not None:
        st.caption(t("loss.owner_ids", crm=t(f"loss.owner_ids.{kind}")))


def definition(key: str, **params: Any) -> None:
    """A "定義" popover next to a number: numerator, denominator, date basis, filters, link."""
    with st.popover(t("app.definition"), icon="ℹ️"):
        st.markdown(t(key, **params))


#: Streamlit's number formats of the currencies it knows; others show a plain number.
MONEY_FORMATS = {"JPY": "yen", "USD": "dollar", "EUR": "euro"}
# The file names an uploader offers (the reader decides the format from the content; this list
# only filters the browser's file dialog): the upload page and the comparison page use it.
UPLOAD_TYPES = ["csv", "tsv", "txt", "xlsx", "xlsm", "xls", "ods", "htm", "html", "xml", "parquet"]
MONEY_WIDTH = 130           # px: "$12,345,678.00" / "¥123,456,789" whole at the table font
HEADER_WIDTH = 160          # px: a number column under a long header ("順位付けの商談化率") shown whole


def money_format(currency: str | None) -> str:
    """A table column's number format for amounts in ``currency`` (no sign when unknown or mixed)."""
    return MONEY_FORMATS.get(currency or "", "localized")


def money_in(build: Build) -> Callable[[float | int | None], str]:
    """The page's money text: amounts in the deals' currency (``build.currency``), with a
    warning shown once where the deals are in several currencies (bare numbers, not summed as
    one)."""
    if build.mixed_currency:
        st.warning(t("money.mixed", files=", ".join(
            f"{c.file} ({'/'.join(sorted(c.counts))})" for c in build.currencies if c.counts)), icon="⚠️")
    return lambda x: money(x, build.currency)

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download_frame(frame: pd.DataFrame | Callable[[], pd.DataFrame], file_name: str, key: str,
                   label: str | None = None) -> None:
    """CSV (UTF-8 with BOM) and Excel downloads, both formula-safe, of exactly the table shown
    (personal data masked when the privacy switch is on). Both files are built on click, not on
    every rerun of the page.

    ``frame`` may be a function making the table (a long list the page shows a page of): it
    then runs only on click, on a thread outside the script run, so it must not touch the
    session (labels looked up beforehand; the masking switch is read here, now).
    """
    mask = masking_on()

    def table() -> pd.DataFrame:
        made = frame() if callable(frame) else frame
        return mask_frame(made) if mask else made

    stem = file_name[:-4] if file_name.lower().endswith(".csv") else file_name
    with st.container(horizontal=True, gap="small"):
        st.download_button(label or t("app.download_csv"), data=lambda: frame_csv_bytes(table()),
                           file_name=file_name, mime="text/csv", key=key, icon="⬇️", on_click="ignore")
        st.download_button(t("export.download_xlsx"), data=lambda: frame_xlsx_bytes(table(), stem),
                           file_name=stem + ".xlsx", mime=XLSX_MIME, key=f"{key}_xlsx", icon="📗", on_click="ignore")


def percent_column(label: str, width: int | None = None) -> Any:
    """A column of shares shown as percentages to one decimal, like ``format.pct`` ("4.0%" beside
    "3.9%", not "4%" beside "3.92%"): Streamlit's percent format takes its decimals from the
    step, two fewer than the step's (0.001 → one). ``width`` in px for a long header."""
    return st.column_config.NumberColumn(label, format="percent", step=0.001, width=width)


def show_table(frame: pd.DataFrame, *, percent: Sequence[str] = (), integer: Sequence[str] = (),
               yen: Sequence[str] = (), height: int | None = None, key: str | None = None,
               column_config: Mapping[str, Any] | None = None, placeholder: str | None = None,
               money: Sequence[str] = (), currency: str | None = None) -> None:
    """A dataframe with percentages, counts and yen formatted (``column_config`` adds or
    overrides columns); index hidden; personal data masked when the privacy switch is on.
    Blank cells show as :data:`~funnel.present.format.BLANK` (Streamlit would write "None"),
    the one rule :func:`~funnel.present.format.cell_text` follows."""
    config: dict[str, Any] = {}
    for c in percent:
        config[c] = percent_column(c)
    for c in integer:
        config[c] = st.column_config.NumberColumn(c, format="localized")
    # Amounts get a fixed width: sized to the bare number, a column cut "$54,805.00" to "54,805.00".
    for c in yen:
        config[c] = st.column_config.NumberColumn(c, format="yen", width=MONEY_WIDTH)
    for c in money:     # amounts in the export's currency (no sign when unknown or mixed)
        config[c] = st.column_config.NumberColumn(c, format=money_format(currency), width=MONEY_WIDTH)
    config.update(column_config or {})
    st.dataframe(masked(frame), hide_index=True, column_config=config, width="stretch",
                 height=height if height is not None else "auto", key=key,
                 placeholder=BLANK if placeholder is None else placeholder)


def show_chart(chart: alt.TopLevelMixin) -> None:
    """A chart, full width, in the project's own theme (``funnel.present.charts``), not validated again."""
    _show_spec(chart.to_dict(validate=False))


def show_chart_of(build: Callable[..., alt.TopLevelMixin], *args: Any, **kwargs: Any) -> None:
    """:func:`show_chart` of ``build(*args, **kwargs)``, whose spec is kept (per workspace, until
    its data changes) while the same inputs come again: a rerun that leaves a chart's inputs as
    they were (a drill-down click, a touch change for the monthly chart, a filter value seen
    before) skips Altair, 20-40 ms a chart (half a second for the loss Pareto). The key is the
    inputs themselves (:func:`frozen`), so a chart is never shown for other inputs."""
    key = ("chart", call_key(build, frozen(args), {k: frozen(v) for k, v in kwargs.items()}))   # the spec is kept
    _show_spec(session_workspace().remember(key, lambda: build(*args, **kwargs).to_dict(validate=False)))


def frozen(value: Any) -> Any:
    """``value`` as a hashable equal for equal inputs: lists and tuples as tuples, mappings as
    sorted item tuples, dataclass rows (the engine's, some holding a dict) field by field."""
    if isinstance(value, Mapping):
        return tuple(sorted(((k, frozen(v)) for k, v in value.items()), key=lambda kv: repr(kv[0])))
    if isinstance(value, list | tuple):
        return tuple(frozen(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__qualname__, *(frozen(getattr(value, f.name)) for f in dataclasses.fields(value)))
    return value


def _show_spec(spec: dict[str, Any]) -> None:
    # Streamlit copies the spec's top level before it moves the data out: a kept spec stays whole.
    st.vega_lite_chart(spec, theme=None, width="stretch")


def notices(items: Sequence[tuple[str, dict[str, Any]]]) -> None:
    for key, params in items:
        st.info(t(key, **params), icon="ℹ️")
