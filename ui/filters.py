"""The lead filters shared by the 商談化率 and ファネル pages: touch, lead-creation date range,
sources, and (rate page) the target rate.

Both pages use the same widget keys, and ``keep`` carries each value across page switches,
so a filter set on one page is in force on the other. Values kept from an earlier data set
(a new upload) are dropped rather than clamped: a date range or a source list of other data
would silently hide leads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import streamlit as st

from funnel import i18n
from funnel.measures.cohorts import created_range
from funnel.measures.metrics import Filters, by_source
from funnel.planning.targets import band_and_target
from funnel.present.format import pct, source_label
from ui.state import Current, changed, keep, lang, query, restate, session_benchmarks, t

# Multiselect options must be strings to survive reruns; "" stands for "no source" (sources
# are trimmed and a blank one is stored as NULL, so "" is never a real source).
NO_SOURCE = ""
# Kept values that belong to one data set (the touch choice does not).
DATA_KEYS = ("date_range", "sources")


@dataclass(frozen=True)
class LeadFilters:
    filters: Filters
    bounds: tuple[dt.date, dt.date] | None     # the data's first and last lead-creation dates
    all_sources: bool                           # no source filter in force
    target: float | None = None                 # 0–1, when the page asked for it


def _forget_other_data(cur: Current) -> None:
    """Drop kept filter values when the loaded data changed since they were set."""
    if changed("lead_filters_data", "data"):
        for k in DATA_KEYS:
            cur.state.kept.pop(k, None)


def _date_range(bounds: tuple[dt.date, dt.date] | None) -> tuple[dt.date | None, dt.date | None]:
    if bounds is None:
        st.caption(t("filters.no_dates"))
        return None, None
    lo, hi = bounds
    kept = keep("date_range", bounds)
    if not (isinstance(kept, tuple | list) and len(kept) == 2 and lo <= kept[0] <= kept[1] <= hi):
        kept = bounds
    picked = st.date_input(t("filters.date_range"), value=tuple(kept), min_value=lo, max_value=hi,
                           key="date_range", format="YYYY/MM/DD", help=t("filters.date_range_help"))
    # While the user is choosing, the widget holds only the start date.
    if isinstance(picked, tuple | list):
        start = picked[0] if len(picked) > 0 else lo
        end = picked[1] if len(picked) > 1 else hi
    else:
        start, end = picked, hi
    # The whole range means "no date filter": leads without a creation date then still count
    # (a date condition would silently drop them from every number).
    if (start, end) == (lo, hi):
        return None, None
    return start, end


def lead_filters(cur: Current, *, with_target: bool = False) -> LeadFilters:
    """Draw the filter row and return what it selects."""
    _forget_other_data(cur)
    bounds = query(created_range)
    cols = st.columns([1, 1.8, 2, 1] if with_target else [1, 1.8, 2.2])   # the date range readable at 1024 px
    with cols[0]:
        restate("touch", "first", ("first", "last"))
        touch = st.radio(t("filters.touch"), ["first", "last"], key="touch", horizontal=True,
                         format_func=lambda v: t(f"term.touch.{v}"), help=t("filters.touch_help"))
    with cols[1]:
        date_from, date_to = _date_range(bounds)
    with cols[2]:
        options = [NO_SOURCE if r.group is None else r.group for r in query(by_source, Filters(touch=touch))]
        kept = [s for s in keep("sources", []) if s in options]
        picked = st.multiselect(t("filters.sources"), options, default=kept, key="sources",
                                format_func=lambda s: source_label(None if s == NO_SOURCE else s, lang()),
                                placeholder=t("filters.sources_all"), help=t("filters.sources_help"))
    sources = tuple(None if s == NO_SOURCE else s for s in picked) if picked else None
    target = None
    if with_target:
        with cols[3]:
            target_pct = st.number_input(t("filters.target"), min_value=0.0, max_value=100.0, step=0.5,
                                         value=float(keep("target_rate", band_and_target(session_benchmarks())[1] * 100)), format="%.1f",
                                         key="target_rate", help=t("filters.target_help"))
            target = target_pct / 100
    return LeadFilters(Filters(touch, date_from, date_to, sources), bounds, sources is None, target)


def describe(lf: LeadFilters) -> str:
    """The filters in force, in words (for the 定義 popovers)."""
    f = lf.filters
    dates = (t("filters.desc.dates", start=f"{f.date_from:%Y/%m/%d}", end=f"{f.date_to:%Y/%m/%d}")
             if f.date_from and f.date_to else t("filters.desc.all_dates"))
    sources = (t("filters.desc.all_sources") if f.sources is None
               else i18n.join((source_label(s, lang()) for s in f.sources), lang()))
    text = t("filters.desc", touch=t(f"term.touch.{f.touch}"), dates=dates, sources=sources)
    if lf.target is not None:
        text += t("filters.desc.target", target=pct(lf.target))
    return text
