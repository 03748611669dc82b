"""Lead-source clean-up: spellings of one source grouped, near-spellings suggested for merging,
and the editable source → channel mapping both exports share.

Real exports spell one source many ways. Three kinds are told apart:

- *Variants* — the same word in another case, width or spacing (``Web`` / ``WEB`` / ``Ｗｅｂ``,
  ``Trade Show`` / ``Tradeshow``). They are grouped by default, shown under their most
  frequent spelling, and the grouping is returned as data so a page can show it.
- *Near-spellings* — typos (``Advertisement`` / ``Advertisment``, ``Trade Show`` /
  ``Trades Show``). Similarity is a guess, so they are only *suggested* (rapidfuzz's
  normalised Indel similarity, the one well-kept implementation of it); the user accepts a
  suggestion by mapping both spellings to one channel.
- *Channels* — what the sources mean (広告, 展示会・イベント, …), from ``data/channels.toml``.
  The :class:`SourceMap` (source → channel) is a plain dict with CSV read/write, shared by the
  MA 流入元/UTM values and the SFA リードソース, used by ``analyze --sources FILE`` and the report.

Nothing here changes the stored data: a source keeps its spelling in the tables and the
CLI's ``by_source`` stays as ``contracts/cli.md`` says unless a mapping is given.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz, process

from funnel.config import setting
from funnel.errors import FunnelError
from funnel.present.export import csv_bytes
from funnel.vocabulary import fold, load_data

#: Headers accepted for the two columns of a mapping file (first match wins), folded.
SOURCE_HEADERS = ("source", "lead source", "ソース", "リードソース", "流入元", "utm_source")
CHANNEL_HEADERS = ("channel", "チャネル", "チャネル名", "channel name")
#: Largest mapping file read: a mapping of thousands of UTM values is ~100 KB.
MAX_MAP_BYTES = 2 * 1024 * 1024


class SourceMapError(FunnelError):
    """A source → channel mapping file that cannot be used (the message names the problem)."""

    key = "error.sources.unreadable"


def source_key(source: str) -> str:
    """What variants of one source share: NFKC (full-width → half-width), case-folded, with
    every space removed (``Trade Show``, ``TRADE  SHOW``, ``Tradeshow`` → ``tradeshow``)."""
    return "".join(fold(source).split())


# -- variants (grouped by default) ------------------------------------------------------------

@dataclass(frozen=True)
class SourceGroup:
    """Spellings of one source that differ only in case, width or spacing."""

    name: str                               # the most frequent spelling (ties: the first seen)
    key: str
    members: tuple[tuple[str, int], ...]    # (spelling, leads), most leads first

    @property
    def leads(self) -> int:
        return sum(n for _, n in self.members)

    @property
    def grouped(self) -> bool:
        return len(self.members) > 1


def group_variants(counts: Mapping[str | None, int] | Iterable[tuple[str | None, int]]) -> list[SourceGroup]:
    """Sources with their lead counts → groups of variants, most leads first.

    A blank source (None) is not a spelling and is left out; callers keep it as its own row.
    """
    items = counts.items() if isinstance(counts, Mapping) else counts
    by_key: dict[str, dict[str, int]] = {}
    for spelling, n in items:
        if spelling is None or not str(spelling).strip():
            continue
        spelled = str(spelling).strip()
        found = by_key.setdefault(source_key(spelled), {})
        found[spelled] = found.get(spelled, 0) + int(n)
    groups = []
    for key, spellings in by_key.items():
        members = tuple(sorted(spellings.items(), key=lambda kv: -kv[1]))   # stable: first seen wins ties
        groups.append(SourceGroup(members[0][0], key, members))
    return sorted(groups, key=lambda g: (-g.leads, g.name))


def variant_names(groups: Iterable[SourceGroup]) -> dict[str, str]:
    """Every spelling → the name its group is shown under."""
    return {spelling: g.name for g in groups for spelling, _ in g.members}


# -- near-spellings (suggested) ---------------------------------------------------------------

@dataclass(frozen=True)
class Suggestion:
    """Two sources whose names are close enough to be one source misspelt."""

    keep: str           # the group with more leads
    merge: str
    score: float        # 0–100, rapidfuzz ratio of the two keys
    keep_leads: int
    merge_leads: int


def suggest_merges(groups: Sequence[SourceGroup], min_score: float | None = None,
                   min_length: int | None = None) -> list[Suggestion]:
    """Pairs of groups whose keys are at least ``min_score`` similar (setting
    ``source_similarity_min``), the larger one kept; most similar first.

    Keys shorter than ``min_length`` (setting ``source_similarity_min_length``) are never
    suggested: between ``Ad`` and ``AI`` one letter is half the word, not a typo.
    """
    min_score = float(setting("source_similarity_min")) if min_score is None else min_score
    min_length = int(setting("source_similarity_min_length")) if min_length is None else min_length
    usable = [g for g in groups if len(g.key) >= min_length]
    if len(usable) < 2:
        return []
    keys = [g.key for g in usable]
    # One vectorised pass over all pairs (a UTM export can hold hundreds of values).
    scores = process.cdist(keys, keys, scorer=fuzz.ratio, score_cutoff=min_score)
    out = []
    for i in range(len(usable)):
        for j in range(i + 1, len(usable)):
            s = float(scores[i][j])
            if s < min_score:
                continue
            a, b = usable[i], usable[j]
            keep, merge = (a, b) if (a.leads, -len(a.name)) >= (b.leads, -len(b.name)) else (b, a)
            out.append(Suggestion(keep.name, merge.name, round(s, 1), keep.leads, merge.leads))
    return sorted(out, key=lambda s: (-s.score, -s.merge_leads, s.keep, s.merge))


# -- channels ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Channel:
    id: str
    ja: str
    en: str
    ad: bool
    keywords: tuple[str, ...] = field(default=())

    def label(self, lang: str) -> str:
        # The fields are named by language code (data/channels.toml); Japanese when absent.
        found = getattr(self, lang, None)
        return found if isinstance(found, str) and found else self.ja


@lru_cache(maxsize=1)
def channels() -> tuple[Channel, ...]:
    """The channel list of ``data/channels.toml``, in its order."""
    return tuple(Channel(c["id"], c["ja"], c["en"], bool(c.get("ad", False)), tuple(c.get("keywords", ())))
                 for c in load_data("channels.toml")["channel"])


def find_channel(name: str | None) -> Channel | None:
    """The channel named by its id or either label (any case or width), else None."""
    if not name:
        return None
    k = source_key(name)
    return next((c for c in channels() if k in (source_key(c.id), source_key(c.ja), source_key(c.en))), None)


_LATIN = re.compile(r"[A-Za-z0-9]")


def keyword_matches(text: str, keyword: str) -> bool:
    """Whether ``keyword`` occurs in ``text``: Latin words as whole words ("ad" is in
    "Google Ad", not in "Download"), other scripts as substrings; case and width ignored."""
    name = unicodedata.normalize("NFKC", text).casefold()
    k = unicodedata.normalize("NFKC", keyword).casefold()
    if _LATIN.search(k):
        return re.search(rf"(?<![a-z0-9]){re.escape(k)}(?![a-z0-9])", name) is not None
    return k in name


def suggest_channel(source: str | None) -> Channel | None:
    """The first channel one of whose keywords the source name holds (None: no guess)."""
    if not source:
        return None
    return next((c for c in channels() if any(keyword_matches(source, kw) for kw in c.keywords)), None)


# -- the mapping ------------------------------------------------------------------------------

@dataclass(frozen=True)
class SourceMap:
    """Source → channel, keyed by :func:`source_key` so every variant of a source maps alike.

    ``names`` keeps the spelling the user wrote (for writing the mapping back); the channel is
    kept as written too: a channel of the list (by id or label) or any name the user chose.
    """

    channels: Mapping[str, str]
    names: Mapping[str, str]

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]], file: str | None = None) -> SourceMap:
        """A mapping from ``(source, channel)`` pairs; the same source mapped to two different
        channels is refused, naming the source (a silent last-wins would hide a mistake)."""
        chans: dict[str, str] = {}
        names: dict[str, str] = {}
        for source, channel in pairs:
            s, c = str(source).strip(), str(channel).strip()
            if not s or not c:
                continue
            k = source_key(s)
            if k in chans and source_key(chans[k]) != source_key(c):
                raise SourceMapError(file, key="error.sources.conflict", source=s, first=chans[k], second=c)
            chans.setdefault(k, c)
            names.setdefault(k, s)
        return cls(chans, names)

    def __len__(self) -> int:
        return len(self.channels)

    def __hash__(self) -> int:       # a chart's input: kept charts are keyed by their inputs
        return hash(tuple(sorted(self.channels.items())))

    def channel_name(self, source: str | None) -> str | None:
        """The channel ``source`` is mapped to, as written; None when unmapped or blank."""
        return None if source is None else self.channels.get(source_key(source))

    def channel(self, source: str | None) -> Channel | None:
        """The channel of the list that ``source`` is mapped to (None: unmapped, or mapped to a
        name of the user's own)."""
        return find_channel(self.channel_name(source))

    def label(self, source: str | None, lang: str) -> str | None:
        """What a mapped source is shown as: the channel as the mapping writes it, or, where
        it gives a channel's id (``ad``), that channel's label in ``lang``; None when unmapped."""
        name = self.channel_name(source)
        if name is None:
            return None
        found = find_channel(name)
        return found.label(lang) if found and source_key(name) == source_key(found.id) else name

    def is_ad(self, source: str | None) -> bool:
        found = self.channel(source)
        return bool(found and found.ad)

    def pairs(self) -> list[tuple[str, str]]:
        return [(self.names[k], c) for k, c in self.channels.items()]

    def with_pairs(self, pairs: Iterable[tuple[str, str]]) -> SourceMap:
        """This mapping with ``pairs`` added or replacing the entries of their sources (an
        accepted merge suggestion: both spellings → one channel)."""
        new = dict(self.pairs())
        by_key = {source_key(s): s for s in new}
        for s, c in pairs:
            new.pop(by_key.get(source_key(s), s), None)
            new[s] = c
        return SourceMap.from_pairs(new.items())

    def to_csv(self) -> bytes:
        """UTF-8 CSV (BOM, opens in Japanese Excel; cells formula-safe): ``source,channel``."""
        return csv_bytes(["source", "channel"], self.pairs())


def suggested_map(groups: Iterable[SourceGroup], lang: str = "ja") -> SourceMap:
    """A first mapping to edit: each source whose name suggests a channel (keywords of
    ``data/channels.toml``) mapped to it; the others left unmapped for the user."""
    pairs = []
    for g in groups:
        found = suggest_channel(g.name)
        if found is not None:
            pairs.append((g.name, found.label(lang)))
    return SourceMap.from_pairs(pairs)


def _decode(data: bytes, file: str) -> str:
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SourceMapError(file, key="error.sources.encoding")


def _column(header: Sequence[str], names: Sequence[str]) -> int | None:
    folded = [fold(h) for h in header]
    return next((folded.index(n) for n in names if n in folded), None)


def read_csv(data: bytes, file: str = "sources.csv") -> SourceMap:
    """A mapping file: a header with a source and a channel column (English or Japanese
    names, any order, other columns ignored), one source per row; UTF-8 (BOM or not) or CP932,
    comma, semicolon or tab separated. Rows with a blank cell are skipped."""
    if len(data) > MAX_MAP_BYTES:
        raise SourceMapError(file, key="error.sources.too_large", mb=MAX_MAP_BYTES // (1024 * 1024))
    text = _decode(data, file)
    if not text.strip():
        raise SourceMapError(file, key="error.sources.empty")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel     # a single column or one row: let the header check say what is wrong
    table = list(csv.reader(io.StringIO(text), dialect))
    header = table[0] if table else []
    si, ci = _column(header, SOURCE_HEADERS), _column(header, CHANNEL_HEADERS)
    if si is None or ci is None:
        raise SourceMapError(file, key="error.sources.columns", found=", ".join(h.strip() for h in header))
    pairs = [(r[si], r[ci]) for r in table[1:] if len(r) > max(si, ci)]
    return SourceMap.from_pairs(pairs, file)


def read_path(path: str) -> SourceMap:
    """:func:`read_csv` of a file on disk (the CLI's ``--sources``); a missing file says so."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_MAP_BYTES + 1)
    except FileNotFoundError:
        raise SourceMapError(path, key="error.not_found") from None
    except OSError as exc:
        raise SourceMapError(path, key="error.os", detail=exc.strerror or type(exc).__name__) from None
    return read_csv(data, path)
