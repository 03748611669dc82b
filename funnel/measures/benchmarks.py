"""Benchmarks as data: load, validate, edit, save, and compare the user's numbers with them.

The default set lives in ``funnel/data/benchmarks.toml`` with a source, date and definition
per value. A user may edit it or replace it with a TOML or CSV file; every row is validated
and a problem is reported as a message key (rendered in ja/en by the page), never raised.

Rates are kept in percent in the data (``15`` = 15%, what people type) and compared as
fractions; CPA is in yen.
"""

from __future__ import annotations

import csv
import io
import math
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb

from funnel import i18n
from funnel.config import DATA_DIR
from funnel.ingest.sniff import detect_encoding
from funnel.measures import metrics as m
from funnel.model.cost_data import CostData, cost_columns, cpa
from funnel.model.sources import SourceMap, keyword_matches, suggest_channel
from funnel.present.export import csv_bytes

DATA_FILE = DATA_DIR / "benchmarks.toml"
# A number without a verified public source says so in its source field: stored (data file,
# downloads) in the catalogue's Japanese wording, shown in the UI language, and recognised in
# any language when a user types or uploads it.
UNVERIFIED_KEY = "bench.source.unverified"
UNVERIFIED_SOURCE = i18n.t(UNVERIFIED_KEY, "ja")


def is_unverified_source(text: str | None) -> bool:
    """Whether a source field is the "no verified source" wording, in any language."""
    return (text or "").strip() in {i18n.t(UNVERIFIED_KEY, code) for code in i18n.LANGS}


def source_text(text: str | None, lang: str) -> str:
    """A source field as shown in ``lang``: the "no verified source" wording translated, any
    publisher's name as written."""
    return i18n.t(UNVERIFIED_KEY, lang) if is_unverified_source(text) else (text or "")


@dataclass(frozen=True)
class Metric:
    unit: str        # "percent" | "yen"
    better: str      # "higher" | "lower": which side of the range is good news


METRICS: dict[str, Metric] = {
    "opportunity_rate": Metric("percent", "higher"),
    "opportunity_rate_ad": Metric("percent", "higher"),
    "win_rate": Metric("percent", "higher"),
    "cpa": Metric("yen", "lower"),
}
#: The scope a metric measures when an entry does not say (benchmarks.toml ``scope``): the
#: ad-sourced band is compared only with sources mapped to an ad channel, never the overall rate.
SCOPES: dict[str, str] = {"opportunity_rate": "overall", "opportunity_rate_ad": "ad", "win_rate": "overall",
                          "cpa": "overall"}
SCOPE_VALUES: tuple[str, ...] = ("overall", "ad", "channel")
STATUSES: tuple[str, ...] = ("below", "within", "above", "no_data")


@dataclass(frozen=True)
class Benchmark:
    """One published range with its source and definition."""

    metric: str
    low: float
    high: float
    target: float | None = None
    numerator: str = ""
    denominator: str = ""
    source: str = ""
    title: str = ""
    url: str = ""
    date: str = ""
    note: str = ""
    scope: str = ""       # which leads the denominator counts: overall | ad | channel ("" → the metric's)

    @property
    def measured_scope(self) -> str:
        """What the benchmark measures: its ``scope``, else the metric's (``SCOPES``)."""
        return self.scope or SCOPES.get(self.metric, "overall")

    @property
    def unit(self) -> str:
        return METRICS[self.metric].unit

    def scaled(self, value: float | None) -> float | None:
        """A data value in comparison units (percent → fraction)."""
        if value is None:
            return None
        return value / 100 if self.unit == "percent" else value

    @property
    def verified(self) -> bool:
        return bool(self.url) and not is_unverified_source(self.source)


FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Benchmark))
NUMBER_FIELDS = ("low", "high", "target")
REQUIRED_TEXT = ("numerator", "denominator", "source")


@dataclass(frozen=True)
class Problem:
    """A validation problem: 1-based row (None: the whole file), field, message key, params."""

    row: int | None
    field: str | None
    key: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Defaults:
    benchmarks: tuple[Benchmark, ...]
    ad_keywords: tuple[str, ...]
    cost_columns: Mapping[str, tuple[str, ...]]


@lru_cache(maxsize=1)
def defaults() -> Defaults:
    """The bundled benchmark set, ad-source keywords and cost-file headers (static data)."""
    data = tomllib.loads(DATA_FILE.read_text(encoding="utf-8"))
    found, problems = from_records(data.get("benchmark", []))
    if problems:
        raise ValueError(f"{DATA_FILE.name} is invalid: {problems}")
    return Defaults(tuple(found), tuple(data.get("ad_sources", {}).get("keywords", [])), cost_columns())


# -- reading and validating ------------------------------------------------------------------

def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (
        isinstance(value, str) and not value.strip())


def parse_number(value: Any) -> float | None:
    """A number from a cell: ``15``, ``"15%"``, ``"¥5,000"``, ``"5,000円"``, full-width digits.

    Raises:
        ValueError: the cell holds something that is not a number.
    """
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        return float(value)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    text = re.sub(r"[¥$,\s円%]|JPY|jpy", "", text)
    return float(text)


_DATE = re.compile(r"^(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?$")


def _date(value: Any) -> str | None:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (slashes accepted); None when malformed."""
    text = unicodedata.normalize("NFKC", str(value)).strip()
    m = _DATE.match(text)
    if not m:
        return None
    y, mo, d = m.group(1), m.group(2), m.group(3)
    if mo and not 1 <= int(mo) <= 12 or d and not 1 <= int(d) <= 31:
        return None
    return "-".join([y] + [f"{int(p):02d}" for p in (mo, d) if p])


def _shown(v: Any) -> Any:
    """A number as people wrote it (50, not 50.0) for a message."""
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _row(i: int, rec: Mapping[str, Any]) -> tuple[Benchmark | None, list[Problem]]:
    probs: list[Problem] = []

    def bad(fld: str | None, key: str, **params: Any) -> None:
        probs.append(Problem(i, fld, key, params))

    metric = "" if _blank(rec.get("metric")) else str(rec["metric"]).strip()
    if metric not in METRICS:
        bad("metric", "bench.error.metric", value=metric or "—", allowed=", ".join(METRICS))
    nums: dict[str, float | None] = {}
    for fld in NUMBER_FIELDS:
        try:
            nums[fld] = parse_number(rec.get(fld))
        except ValueError:
            bad(fld, "bench.error.number", value=rec.get(fld))
            nums[fld] = None
            continue
        v = nums[fld]
        if v is not None and v < 0:
            bad(fld, "bench.error.negative", value=_shown(v))
        elif v is not None and metric in METRICS and METRICS[metric].unit == "percent" and v > 100:
            bad(fld, "bench.error.percent", value=_shown(v))
    for fld in ("low", "high"):
        if nums[fld] is None and not any(p.field == fld for p in probs):
            bad(fld, "bench.error.required")
    low, high = nums["low"], nums["high"]
    if low is not None and high is not None and low > high:
        bad("high", "bench.error.order", low=_shown(low), high=_shown(high))
    text = {f: "" if _blank(rec.get(f)) else str(rec[f]).strip()
            for f in FIELDS if f not in NUMBER_FIELDS and f != "metric"}
    for fld in REQUIRED_TEXT:
        if not text[fld]:
            bad(fld, "bench.error.required")
    if text["url"] and not re.match(r"^https?://\S+$", text["url"]):
        bad("url", "bench.error.url", value=text["url"])
    if is_unverified_source(text["source"]):
        text["source"] = UNVERIFIED_SOURCE        # one stored wording, whichever language it was typed in
    if text["url"] and text["source"] == UNVERIFIED_SOURCE:
        bad("url", "bench.error.unverified_url")
    if text["scope"] and text["scope"] not in SCOPE_VALUES:
        bad("scope", "bench.error.scope", value=text["scope"], allowed=", ".join(SCOPE_VALUES))
    if text["date"]:
        norm = _date(text["date"])
        if norm is None:
            bad("date", "bench.error.date", value=text["date"])
        else:
            text["date"] = norm
    if probs or low is None or high is None:
        return None, probs
    return Benchmark(metric, low, high, nums["target"], **text), probs


def from_records(records: Iterable[Mapping[str, Any]]) -> tuple[list[Benchmark], list[Problem]]:
    """Benchmarks from plain records (TOML tables, CSV rows, edited table rows).

    Valid rows are returned even when other rows have problems, so one typo does not hide
    the whole comparison; fully blank rows (an empty row added in an editor) are skipped.
    """
    found: list[Benchmark] = []
    problems: list[Problem] = []
    n = 0
    for i, rec in enumerate(records, start=1):
        n += 1
        if all(_blank(v) for v in rec.values()):
            continue
        unknown = sorted(k for k in rec if k not in FIELDS)
        if unknown:
            problems.append(Problem(i, None, "bench.error.unknown_fields", {"fields": ", ".join(unknown)}))
        b, probs = _row(i, rec)
        problems.extend(probs)
        if b is not None:
            found.append(b)
    if not found and not problems:
        problems.append(Problem(None, None, "bench.error.empty", {}))
    return found, problems


def parse_toml(text: str) -> tuple[list[Benchmark], list[Problem]]:
    """A benchmark file in the format of ``funnel/data/benchmarks.toml`` (``[[benchmark]]``)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return [], [Problem(None, None, "bench.error.toml", {"detail": str(exc)})]
    items = data.get("benchmark")
    if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
        return [], [Problem(None, None, "bench.error.no_table", {})]
    return from_records(items)


def parse_csv(data: bytes) -> tuple[list[Benchmark], list[Problem]]:
    """A CSV with one benchmark per row; headers are field names (``metric``, ``low`` …)."""
    try:
        text = data.decode(detect_encoding(data).codec)
    except (UnicodeDecodeError, LookupError):
        return [], [Problem(None, None, "bench.error.encoding", {})]
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [f for f in ("metric", "low", "high", *REQUIRED_TEXT) if f not in header]
    if missing:
        return [], [Problem(None, None, "bench.error.columns", {"missing": ", ".join(missing)})]
    recs = [{(k or "").strip(): v for k, v in row.items() if k is not None} for row in reader]
    return from_records(recs)


def parse_file(name: str, data: bytes) -> tuple[list[Benchmark], list[Problem]]:
    """A replacement set from an uploaded ``.toml`` or ``.csv``."""
    suffix = Path(name).suffix.lower()
    if suffix == ".toml":
        try:
            return parse_toml(data.decode("utf-8-sig"))
        except UnicodeDecodeError:
            return [], [Problem(None, None, "bench.error.encoding", {})]
    if suffix in (".csv", ".txt"):
        return parse_csv(data)
    return [], [Problem(None, None, "bench.error.file_type", {"name": name})]


# -- writing ---------------------------------------------------------------------------------

def to_records(items: Sequence[Benchmark]) -> list[dict[str, Any]]:
    return [asdict(b) for b in items]


def _toml_value(v: Any) -> str:
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    text = str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def to_toml(items: Sequence[Benchmark]) -> str:
    """The set as a TOML file that :func:`parse_toml` reads back unchanged."""
    out = ["# Benchmarks exported from the funnel app (rates in percent, CPA in yen).", ""]
    for b in items:
        out.append("[[benchmark]]")
        for k, v in asdict(b).items():
            if v is not None:
                out.append(f"{k} = {_toml_value(v)}")
        out.append("")
    return "\n".join(out)


def to_csv(items: Sequence[Benchmark]) -> bytes:
    """The set as CSV (UTF-8 with BOM, formula-safe) that :func:`parse_csv` reads back."""
    return csv_bytes(list(FIELDS), [[_shown(asdict(b)[f]) for f in FIELDS] for b in items])


# -- comparing -------------------------------------------------------------------------------

def status(value: float | None, b: Benchmark) -> str:
    """``below`` / ``within`` / ``above`` the range (ends included), ``no_data`` without a value."""
    if value is None:
        return "no_data"
    low, high = b.scaled(b.low), b.scaled(b.high)
    assert low is not None and high is not None
    eps = 1e-9 * max(1.0, abs(high))
    if value < low - eps:
        return "below"
    if value > high + eps:
        return "above"
    return "within"


def favourable(state: str, b: Benchmark) -> bool | None:
    """Whether a status is good news for this metric (None: inside the range or no data)."""
    if state not in ("below", "above"):
        return None
    return (state == "above") == (METRICS[b.metric].better == "higher")


_LATIN = re.compile(r"[A-Za-z0-9]")


def is_ad_source(source: str | None, keywords: Sequence[str]) -> bool:
    """True when a lead-source name looks like advertising: the channel its name suggests
    (``data/channels.toml``) is an ad channel, so "Google Natural Search" (organic search) or
    "Facebook" (social) is not ad while "Google AdWords" is; a name no channel recognises is
    ad when it holds one of ``keywords`` (``[ad_sources]``: ad platforms' names)."""
    if not source:
        return False
    channel = suggest_channel(str(source))
    if channel is not None:
        return channel.ad
    return any(keyword_matches(str(source), kw) for kw in keywords)


def ad_sources(sources: Iterable[str | None], keywords: Sequence[str] | None = None,
               mapping: SourceMap | None = None) -> list[str]:
    """The sources among ``sources`` that are advertising, in the order given: with a
    source → channel ``mapping``, those it maps to an ad channel (``data/channels.toml``), and,
    for the sources it does not map (or without one), those :func:`is_ad_source` takes for ad
    (the channel its name suggests, typos included: "Advertisment")."""
    kws = defaults().ad_keywords if keywords is None else keywords
    return [s for s in sources if s is not None
            and (mapping.is_ad(s) if mapping is not None and mapping.channel_name(s) is not None
                 else is_ad_source(s, kws))]


# -- the user's numbers ----------------------------------------------------------------------

@dataclass(frozen=True)
class UserValue:
    """The user's value of one metric (a fraction for rates, yen for CPA) and its parts."""

    metric: str
    value: float | None
    numerator: float = 0
    denominator: float = 0
    missing: str | None = None       # message key saying why there is no value


def user_values(con: duckdb.DuckDBPyConnection, *, touch: str = "first", ad: Sequence[str | None] = (),
                costs: CostData | None = None) -> dict[str, UserValue]:
    """The user's opportunity rate (overall and over the ``ad`` sources), win rate and, with
    a :class:`funnel.model.cost_data.CostData`, CPA — each with numerator and denominator.

    Definitions are the engine's: opportunity rate = leads with an opportunity ÷ leads; win
    rate = won ÷ (won + lost); CPA = cost ÷ registrations (see :mod:`funnel.model.cost_data`).
    """
    f = m.Filters(touch=touch)
    out: dict[str, UserValue] = {}
    o = m.overall(con, f)
    out["opportunity_rate"] = UserValue("opportunity_rate", m.ratio(o.converted, o.leads), o.converted, o.leads,
                                        None if o.leads else "bench.missing.no_leads")
    picked = [r for r in m.by_source(con, f) if r.group is not None and r.group in set(ad)]
    k, n = sum(r.converted for r in picked), sum(r.leads for r in picked)
    out["opportunity_rate_ad"] = UserValue("opportunity_rate_ad", m.ratio(k, n), k, n,
                                           None if n else "bench.missing.no_ad_source")
    oc = m.outcomes(con)
    out["win_rate"] = UserValue("win_rate", oc.win_rate, oc.won, oc.won + oc.lost,
                                None if oc.won + oc.lost else "bench.missing.no_closed")
    if costs is None:
        out["cpa"] = UserValue("cpa", None, missing="bench.missing.no_cost")
    else:
        tot = cpa(con, costs).total()
        out["cpa"] = UserValue("cpa", tot.cpa, tot.cost, tot.registrations,
                               None if tot.registrations else "bench.missing.no_registrations")
    return out


@dataclass(frozen=True)
class Comparison:
    benchmark: Benchmark
    value: UserValue
    status: str

    @property
    def favourable(self) -> bool | None:
        return favourable(self.status, self.benchmark)


def compare(items: Sequence[Benchmark], values: Mapping[str, UserValue]) -> list[Comparison]:
    """Each benchmark next to the user's value of its metric, with the status."""
    out = []
    for b in items:
        v = values.get(b.metric) or UserValue(b.metric, None, missing="bench.missing.unknown")
        out.append(Comparison(b, v, status(v.value, b)))
    return out
