"""The sample's two months (``sample_data/previous/`` → ``sample_data/``) read with csv and
openpyxl only, no engine code, and what changed between them counted here: the numbers the
前回との比較 comparison (funnel/measures/diff.py) must find on the sample, for the engine and page tests.

Same definitions as the engine's: a lead is a normalised address (NFKC, trimmed, lower-cased)
and its source the 流入元 of its earliest row; a lead is converted when some deal row's contact
address is its key; a deal is its 商談 ID (a repeated contact-role row is the same deal).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
PREVIOUS = SAMPLE / "previous"
WON, LOST = "6.受注", "7.失注"


def norm(cell: Any) -> str | None:
    """An address as a lead key, or None when the cell holds no usable address."""
    if not isinstance(cell, str):
        return None
    e = unicodedata.normalize("NFKC", cell).strip().lower()
    return e if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", e) else None


@dataclass(frozen=True)
class Month:
    source: dict[str, str | None]               # lead key → 流入元 of its earliest row
    converted: set[str]                         # lead keys that are some deal's contact
    deals: dict[str, tuple[str, str | None]]    # 商談 ID → (フェーズ, 失注理由)


def read_month(folder: Path) -> Month:
    text = (folder / "ma_leads.csv").read_bytes().decode("cp932")
    rows = sorted(csv.DictReader(io.StringIO(text, newline="")), key=lambda r: r["登録日時"])   # stable
    source: dict[str, str | None] = {}
    for r in rows:
        if (key := norm(r["メールアドレス"])) is not None:
            source.setdefault(key, r["流入元"] or None)
    sheet = [tuple(r) for r in openpyxl.load_workbook(folder / "sfa_opportunities.xlsx").active.iter_rows(values_only=True)]
    top = next(i for i, r in enumerate(sheet) if r[1] == "商談 ID")
    end = next(i for i, r in enumerate(sheet) if r[1] == "総計")
    col = {name: i for i, name in enumerate(sheet[top])}
    deals: dict[str, tuple[str, str | None]] = {}
    contacts: set[str] = set()
    for r in sheet[top + 1:end]:
        deals.setdefault(r[col["商談 ID"]], (r[col["フェーズ"]], r[col["失注理由"]]))
        if (key := norm(r[col["取引先責任者: メール"]])) is not None:
            contacts.add(key)
    return Month(source, set(source) & contacts, deals)


@dataclass(frozen=True)
class Changes:
    counts: dict[str, int]                              # as funnel.measures.diff.Summary's fields
    new_by_source: dict[str | None, tuple[int, int]]    # source → (new leads, of which converted)
    conv_by_source: dict[str | None, tuple[int, int]]   # source → (leads of both without a deal before, with one now)
    stage_moves: dict[tuple[str, str], int]             # (フェーズ before, now) → deals
    lost_reasons: dict[str, str | None]                 # newly lost 商談 ID → 失注理由
    rate_before: tuple[int, int]                        # (converted, leads)
    rate_after: tuple[int, int]


def count_changes(prev: Month, cur: Month) -> Changes:
    before, after = set(prev.source), set(cur.source)
    both, new = before & after, after - before
    common = prev.deals.keys() & cur.deals.keys()
    stage_then = {d: s for d, (s, _) in prev.deals.items()}

    def newly(stage: str) -> list[str]:
        return [d for d, (s, _) in cur.deals.items() if s == stage and stage_then.get(d) != stage]

    counts = {
        "leads_before": len(before), "leads_after": len(after), "new_leads": len(new),
        "removed_leads": len(before - after), "new_converted": len(new & cur.converted),
        "newly_converted": len((both - prev.converted) & cur.converted),
        "unconverted": len(both & prev.converted - cur.converted),
        "opps_before": len(prev.deals), "opps_after": len(cur.deals),
        "new_opps": len(cur.deals.keys() - prev.deals.keys()), "removed_opps": len(prev.deals.keys() - cur.deals.keys()),
        "moved": sum(stage_then[d] != cur.deals[d][0] for d in common),
        "won": len(newly(WON)), "lost": len(newly(LOST)),
        "reopened": sum(stage_then[d] in (WON, LOST) and cur.deals[d][0] not in (WON, LOST) for d in common)}
    new_by: Counter[tuple[str | None, bool]] = Counter((cur.source[k], k in cur.converted) for k in new)
    open_before = both - prev.converted
    conv_by: Counter[tuple[str | None, bool]] = Counter((cur.source[k], k in cur.converted) for k in open_before)
    return Changes(
        counts,
        {s: (new_by[s, True] + new_by[s, False], new_by[s, True]) for s, _ in new_by},
        {s: (conv_by[s, True] + conv_by[s, False], conv_by[s, True]) for s, _ in conv_by},
        dict(Counter((stage_then[d], cur.deals[d][0]) for d in common if stage_then[d] != cur.deals[d][0])),
        {d: cur.deals[d][1] for d in newly(LOST)},
        (len(prev.converted), len(before)), (len(cur.converted), len(after)))


def sample_changes() -> Changes:
    return count_changes(read_month(PREVIOUS), read_month(SAMPLE))
