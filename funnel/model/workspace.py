"""A workspace: one DuckDB connection and the exports loaded into it, linked on demand.

The data flows one way: read (:mod:`funnel.ingest.reader`) → map columns (:mod:`funnel.model.mapping`)
→ normalise (:mod:`funnel.sql.staging`) → link (:mod:`funnel.sql.link`) → measure
(:mod:`funnel.measures.metrics`). A workspace belongs to one user session (or one CLI run); changing a
mapping or the link rebuilds from the raw tables without reading any file again.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import tempfile
import time
from collections.abc import Callable, Collection, Hashable
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import duckdb

from funnel.config import setting
from funnel.errors import MappingError
from funnel.ingest.reader import LoadedTable, LoadReport, Notice, Source, load_file
from funnel.model.activity import ActivityCounts, build_activity
from funnel.model.link import LinkSpec, resolve_link
from funnel.model.mapping import ColumnProfile, Mapping, detect_mapping, resolve_column
from funnel.model.money import FileCurrency
from funnel.model.money import detect as detect_currency
from funnel.model.rules import LossRules, classify_stage, parse_flag, status_level
from funnel.sql import cohorts as cohort_sql
from funnel.sql import connect, drop_table, forget_lock, ingest, lock_for, scalar
from funnel.sql import link as lk
from funnel.sql import staging as st
from funnel.sql.metrics import OPP_SOURCES
from funnel.sql.normalize import best_date_format, detect_date_order
from funnel.vocabulary import ACTIVITY, INPUTS, SIDES, fields

T = TypeVar("T")


@dataclass
class SideCounts:
    rows: int = 0
    keys: int = 0
    rows_without_key: int = 0
    dropped: int = 0


@dataclass
class Build:
    """What a build decided and counted: mappings, link, identity, row accounting."""

    mappings: dict[str, list[Mapping]]
    link: LinkSpec
    identity: str                       # email | id | row
    counts: dict[str, SideCounts]
    date_orders: list[dict[str, Any]] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    activity: ActivityCounts | None = None      # None: no activity file loaded
    activity_mappings: list[Mapping] = field(default_factory=list)
    currencies: list[FileCurrency] = field(default_factory=list)    # per SFA file with an amount column

    @property
    def mixed_currency(self) -> bool:
        """The deals' amounts are in more than one currency (within a file or across files):
        they are never summed as one."""
        return len({f.currency for f in self.currencies if f.currency}) > 1 or any(f.mixed for f in self.currencies)

    @property
    def currency(self) -> str | None:
        """The one currency of the deals' amounts (ISO code); yen when no amount cell carries a
        currency mark (a Japanese export writes bare numbers); None when they are mixed."""
        if self.mixed_currency:
            return None
        return next((f.currency for f in self.currencies if f.currency), "JPY")


def _locked(method: Any) -> Any:
    """Run a workspace operation under its connection's lock (one build at a time)."""

    @functools.wraps(method)
    def wrapper(self: Workspace, *args: Any, **kwargs: Any) -> Any:
        with lock_for(self.con):
            return method(self, *args, **kwargs)

    return wrapper


class Workspace:
    """The loaded exports of one session and everything computed from them.

    Operations that rewrite tables hold the connection's lock for their whole duration, so a
    Streamlit rerun that starts while an older run is still building waits for it.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection | None = None, *, engine: str = "duckdb",
                 master: str | None = None) -> None:
        """``engine="spark"``: files are read locally as always; :meth:`build` and every measure
        after it run on Apache Spark (``master``: a Spark master URL; see
        :mod:`funnel.sql.spark`)."""
        self.workdir = Path(tempfile.mkdtemp(prefix="funnel-"))
        self.con = con or connect(temp_directory=str(self.workdir / "duckdb"))
        self.engine = engine
        if engine == "spark":
            from funnel.sql.spark import SparkConnection, spark_session

            # The Spark stand-in takes the DuckDB connection's place (it runs the same
            # statements; typed as one for the modules that pass it on).
            self.con = cast(duckdb.DuckDBPyConnection,
                            SparkConnection(self.con, spark_session(master), self.workdir / "spark"))
        self.files: dict[str, list[LoadedTable]] = {s: [] for s in INPUTS}
        self._profiles: dict[str, dict[str, ColumnProfile]] = {}
        self._serial = 0
        self.build_result: Build | None = None
        self._memo: dict[Hashable, Any] = {}
        self._raw_dropped = False

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection and delete the workspace's temporary files, also while another
        thread is inside a query (a session ended during a 1M-row load).

        That query holds the connection's lock and would make ``close`` fail with "connection
        is busy", leaving the connection and its memory behind: it is interrupted (again every
        half second: a load may start its next statement) until the lock is free. After
        ``close_wait_seconds`` the connection is closed anyway.
        """
        lock = lock_for(self.con)
        held = False
        try:
            deadline = time.monotonic() + float(setting("close_wait_seconds"))
            while not held and time.monotonic() < deadline:
                with contextlib.suppress(duckdb.Error):
                    self.con.interrupt()
                held = lock.acquire(timeout=0.5)
            with contextlib.suppress(duckdb.Error):
                self.con.close()
        finally:
            if held:
                lock.release()
            forget_lock(self.con)
            shutil.rmtree(self.workdir, ignore_errors=True)

    def take_over(self, other: Workspace) -> None:
        """Become ``other`` (filled elsewhere: a saved file opened into a fresh workspace, see
        :func:`funnel.model.saved.open_fresh`) and close what this one held.

        The object stays the same (the app's session keeps it in a cache), its connection,
        folder, files and results are ``other``'s: the swap is the one step that can no longer
        fail, so a session either has all of the new data or all of its old data.
        """
        with lock_for(self.con):        # a rerun still querying the old tables finishes first
            self.__dict__, other.__dict__ = other.__dict__, self.__dict__
        other.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- results kept per state of the tables -----------------------------------------------
    def remember(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()`` for ``key``, computed once until the tables next change (a load,
        removal, build or loss-rule change forgets everything kept).

        For what a page reads on every rerun but a widget elsewhere on it does not change: a
        filter change then queries only what it filters. ``key`` names the query and all its
        arguments. At most ``memo_entries`` results are kept, the oldest dropped first.
        """
        with lock_for(self.con):        # a build in progress finishes (and forgets) first
            if key in self._memo:
                return self._memo[key]  # type: ignore[no-any-return]
            value = compute()
            self._memo[key] = value
            while len(self._memo) > int(setting("memo_entries")):
                del self._memo[next(iter(self._memo))]
            return value

    def discard_build(self) -> None:
        """Forget the standing build (a build that failed leaves nothing that looks current)."""
        with lock_for(self.con):
            self._forget()

    def _forget(self) -> None:
        """The tables changed: no build stands, nothing kept is valid."""
        self.build_result = None
        self._memo.clear()

    # -- reading ---------------------------------------------------------------------------
    @_locked
    def load(self, side: str, source: Source) -> LoadedTable:
        """Read one export onto ``side`` (stacked after the files already there)."""
        if side not in INPUTS:
            raise ValueError(f"side must be one of {INPUTS}")
        self._serial += 1
        loaded = load_file(self.con, source, f"raw_{side}_{self._serial}", self.workdir)
        self.files[side].append(loaded)
        self._forget()
        return loaded

    @_locked
    def adopt(self, side: str, report: LoadReport, fill: Callable[[str], None]) -> LoadedTable:
        """Add a file without reading an export: ``fill(table)`` creates its raw table (and
        ``<table>_lines``) in this connection, as :func:`funnel.model.saved.restore` does from a
        saved workspace. The same bookkeeping as :meth:`load`."""
        if side not in INPUTS:
            raise ValueError(f"side must be one of {INPUTS}")
        self._serial += 1
        table = f"raw_{side}_{self._serial}"
        fill(table)
        loaded = LoadedTable(table, report)
        self.files[side].append(loaded)
        self._forget()
        return loaded

    @_locked
    def remove(self, side: str, table: str) -> None:
        """Forget one loaded file of ``side`` (by its raw table)."""
        self._drop_file_tables(table)
        self._profiles.pop(table, None)
        self.files[side] = [lt for lt in self.files[side] if lt.table != table]
        self._forget()

    @_locked
    def clear(self, side: str | None = None) -> None:
        for s in [side] if side else list(INPUTS):
            for lt in self.files[s]:
                self._drop_file_tables(lt.table)
                self._profiles.pop(lt.table, None)
            self.files[s] = []
        self._forget()

    def _drop_file_tables(self, table: str) -> None:
        """A file's raw table and what its read left beside it (rejected lines, and DuckDB's
        rejects tables, which a clean CSV leaves empty)."""
        drop_table(self.con, table)
        ingest.drop_beside(self.con, table)

    def profiles(self, loaded: LoadedTable) -> dict[str, ColumnProfile]:
        """Per column of a loaded file: non-empty count and a sample (computed once)."""
        if loaded.table not in self._profiles:
            cols = loaded.raw_columns
            sample = max(50, min(setting("mapping_sample_rows"), 200_000 // max(1, len(cols))))
            counts, head = ingest.column_profiles(self.con, loaded.table, cols, sample)
            self._profiles[loaded.table] = {
                name: ColumnProfile(counts[i], tuple(r[i] for r in head if r[i] is not None))
                for i, name in enumerate(loaded.columns)}
        return self._profiles[loaded.table]

    # -- building --------------------------------------------------------------------------
    def detect(self, side: str, overrides: MappingABC[str, str | None] | None = None) -> list[Mapping]:
        """The column mapping of every file of ``side`` (user overrides applied)."""
        out = []
        for lt in self.files[side]:
            resolved: dict[str, str | None] = {}
            for fname, col in (overrides or {}).items():
                if col is None or col == "":
                    resolved[fname] = None
                    continue
                found = resolve_column(lt.columns, col)
                if found is None:
                    raise MappingError(lt.report.file, key="error.unknown_column", side=side, column=col,
                                       columns=", ".join(lt.columns[:40]))
                resolved[fname] = found
            out.append(detect_mapping(side, lt.columns, self.profiles(lt), resolved))
        return out

    @_locked
    def build(self, overrides: MappingABC[str, MappingABC[str, str | None]] | None = None,
              link: LinkSpec | None = None, loss_rules: LossRules | None = None, *,
              keep_raw: bool = True, fields: MappingABC[str, Collection[str]] | None = None) -> Build:
        """Map, normalise and link the loaded files; returns what was decided and counted.

        ``keep_raw=False`` is for a caller that builds once and then only measures (``analyze``):
        the files' raw tables are dropped as soon as their rows are normalised, which frees
        their memory for the lead aggregation (at 1M leads it no longer spills to disk:
        0.7-0.9 s -> 0.55-0.7 s). Such a workspace cannot be built again or show its files.

        ``fields`` (per side) limits the normalised columns to the canonical fields a caller's
        measures read (``analyze``: :data:`funnel.measures.analysis.FIELDS`); the others stay
        NULL, as if unmapped, and cost nothing. The mappings, date orders and counts are those
        of the full build. None: every mapped field (the app, whose pages read them all). With
        ``fields``, the columns only pages show (an address as typed, a lead's first-row
        company, name and owner) are not stored either.
        """
        if self._raw_dropped:
            raise RuntimeError("the raw tables were dropped by build(keep_raw=False)")
        self._forget()      # a build that fails half-way leaves nothing that looks current
        overrides = overrides or {}
        for derived in (cohort_sql.LAG_CACHE, OPP_SOURCES):     # made from the previous build's data
            drop_table(self.con, derived)
        mappings = {s: self.detect(s, overrides.get(s)) for s in SIDES}
        link_spec, notices = resolve_link(self, mappings, link)
        identity = _identity(mappings["ma"])
        plans: dict[str, list[st.FilePlan]] = {}
        orders: list[dict[str, Any]] = []
        for side in SIDES:
            plans[side] = []
            for i, (lt, m) in enumerate(zip(self.files[side], mappings[side], strict=True)):
                plan, found = self._plan(side, i, lt, m, link_spec, None if fields is None else fields[side])
                plans[side].append(plan)
                orders.extend(found)
        email_link = link_spec.kind == "email"
        display = fields is None
        if not keep_raw:
            # The raw tables are read once more, by the staging below: the columns its plans do
            # not read leave first, and their memory with them (most of a wide export's).
            for side in SIDES:
                for lt, plan in zip(self.files[side], plans[side], strict=True):
                    ingest.keep_columns(self.con, lt.table, lt.raw_columns, plan.raw_columns())
        if self.engine == "spark":
            self.con.start()    # type: ignore[attr-defined]  # SparkConnection: from here on, Spark
        for side, key in (("ma", st.ma_key_expr(identity, email_link)), ("sfa", st.sfa_key_expr())):
            st.create_side_rows(self.con, side, plans[side], key,
                                max((lt.report.rows_read + lt.report.rows_dropped for lt in self.files[side]), default=0),
                                display=display)
        if not keep_raw:
            for lt in self.files["ma"] + self.files["sfa"]:
                self._drop_file_tables(lt.table)
            self._raw_dropped = True
        self._lookups()
        lk.create_opps_base(self.con)
        self._put_loss_lookup(lk.base_loss_reasons(self.con), loss_rules or LossRules.default())
        sf15 = link_spec.kind == "id" and lk.salesforce_id_mix(self.con)
        lk.create_link_values(self.con, link_spec.kind, sf15)
        lk.create_links(self.con)
        has = {f: any(f in p.columns for p in plans["sfa"]) for f in ("is_won", "is_closed", "won_date")}
        lk.finish_opps(self.con, has_is_won=has["is_won"], has_is_closed=has["is_closed"],
                       has_won_date=has["won_date"])
        mapped = {f: any(f in p.columns for p in plans["ma"]) for f in ("status", "lifecycle_stage", "converted")}
        lk.create_leads(self.con, status=mapped["status"], lifecycle=mapped["lifecycle_stage"],
                        converted=mapped["converted"], filled=st.filled_columns("ma", plans["ma"], display=display),
                        display=display)
        if sf15:
            notices.append(("notice.salesforce_15", {}))
        currencies = self._currencies(mappings["sfa"])
        if len({f.currency for f in currencies if f.currency}) > 1 or any(f.mixed for f in currencies):
            notices.append(("notice.mixed_currency", {"files": ", ".join(
                f"{f.file} ({'/'.join(sorted(f.counts))})" for f in currencies if f.counts)}))
        result = Build(mappings, link_spec, identity, self._counts(), orders, notices, currencies=currencies)
        if self.files[ACTIVITY]:
            result.activity_mappings = self.detect(ACTIVITY, overrides.get(ACTIVITY))
            result.activity = build_activity(self.con, self.files[ACTIVITY], result.activity_mappings)
            if not keep_raw:
                for lt in self.files[ACTIVITY]:
                    self._drop_file_tables(lt.table)    # ``activity_rows`` holds the events
        self.build_result = result
        return result

    def _plan(self, side: str, index: int, lt: LoadedTable, m: Mapping, link: LinkSpec,
              only: Collection[str] | None = None) -> tuple[st.FilePlan, list[dict[str, Any]]]:
        raw = dict(zip(lt.columns, lt.raw_columns, strict=True))
        cols = {f: raw[c] for f, c in m.columns.items()}
        orders, found = {}, []
        formats = {}
        for fname, spec in fields(side).items():
            if spec.kind == "date" and fname in cols:
                order, ambiguous = detect_date_order(self.con, lt.table, cols[fname])
                orders[fname] = order
                fmt = best_date_format(self.con, lt.table, cols[fname], order)
                if fmt:
                    formats[fname] = fmt
                found.append({"file": lt.report.file, "field": fname, "column": m.column(fname),
                              "order": order, "ambiguous": ambiguous, "format": fmt})
        link_col = None
        if link.kind == "id":
            wanted = link.ma_column if side == "ma" else link.sfa_column
            name = resolve_column(lt.columns, wanted or "")
            if name is None:
                raise MappingError(lt.report.file, key="error.link_column", column=wanted,
                                   columns=", ".join(lt.columns[:40]))
            link_col = raw[name]
        id_field = "lead_id" if side == "ma" else "deal_id"
        if only is not None:       # date orders above are still reported for every date field
            cols = {f: c for f, c in cols.items() if f in only or f == id_field}
        return st.FilePlan(index, lt.table, cols, orders, link_col, id_field in cols, formats), found

    def _lookups(self) -> None:
        con = self.con
        statuses = sorted(set(st.distinct_values(con, "ma_rows", "status"))
                          | set(st.distinct_values(con, "ma_rows", "lifecycle_stage")))
        st.put_lookup(con, "status_levels", statuses,
                      {"level": ("INTEGER", [status_level(s) for s in statuses])})
        flags = sorted(set(st.distinct_values(con, "ma_rows", "converted_raw"))
                       | set(st.distinct_values(con, "sfa_rows", "is_won_raw"))
                       | set(st.distinct_values(con, "sfa_rows", "is_closed_raw")))
        st.put_lookup(con, "flags", flags, {"flag": ("BOOLEAN", [parse_flag(f) for f in flags])})
        stages = sorted(st.distinct_values(con, "sfa_rows", "stage"))
        st.put_lookup(con, "stage_outcomes", stages,
                      {"outcome": ("VARCHAR", [classify_stage(s) for s in stages])})

    @_locked
    def apply_loss_rules(self, rules: LossRules) -> None:
        """(Re)classify the loss reasons of lost opportunities with ``rules``."""
        self._memo.clear()
        self._put_loss_lookup(lk.lost_reason_texts(self.con), rules)
        lk.add_loss_categories(self.con)

    def _put_loss_lookup(self, texts: list[str], rules: LossRules) -> None:
        found = [rules.classify(t) for t in texts]
        st.put_lookup(self.con, "loss_lookup", texts, {
            "category": ("VARCHAR", [c for c, _ in found]), "keyword": ("VARCHAR", [k for _, k in found])})

    def _currencies(self, mappings: list[Mapping]) -> list[FileCurrency]:
        """The currency of each SFA file's amount column, from the sample its mapping read."""
        out = []
        for lt, m in zip(self.files["sfa"], mappings, strict=True):
            col = m.column("amount")
            if col is not None:
                prof = self.profiles(lt).get(col)
                out.append(detect_currency(lt.report.file, prof.sample if prof else ()))
        return out

    def _counts(self) -> dict[str, SideCounts]:
        out = {}
        for side, table in (("ma", "leads"), ("sfa", "opps")):
            rows_ = int(scalar(self.con, f"SELECT count(*) FROM {side}_rows") or 0)
            unkeyed = int(scalar(self.con, f"SELECT count(*) FROM {side}_rows WHERE _key IS NULL") or 0)
            keys = int(scalar(self.con, f"SELECT count(*) FROM {table}") or 0)
            dropped = sum(lt.report.rows_dropped for lt in self.files[side])
            out[side] = SideCounts(rows_, keys, unkeyed, dropped)
        return out


def _identity(ma_mappings: list[Mapping]) -> str:
    if any(m.column("email") for m in ma_mappings):
        return "email"
    if any(m.column("lead_id") for m in ma_mappings):
        return "id"
    return "row"
