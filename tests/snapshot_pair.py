"""A pair of monthly exports (last month's and this month's) with known changes between them.

The generator writes plain CSV bytes (no engine code), and returns with them the expected
result of the comparison, counted from its own plan. Last month: ``base`` leads per source,
the first ``with_deal`` of each with one deal at 3.提案, plus one won and one lost deal per
source. This month applies the plan: new leads per source (some with a deal already), leads
removed from the export, unconverted leads that got a deal, open deals that moved one stage,
won, lost (with given reasons), one lost deal reopened, one deal removed, and one new deal
that links to no lead. Options vary what the engine must see through: English headers this
month, upper-case / full-width addresses, no deal ID column (identity by deal name), neither
ID nor name (identity by the contact's address).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field

SOURCES = ("展示会", "Web広告", "紹介", "ウェビナー")
OPEN, MOVED_TO, WON, LOST, REOPENED_TO, NEW_STAGE = "3.提案", "4.見積提示", "6.受注", "7.失注", "2.ヒアリング", "1.アプローチ"
MA_JA = ["メールアドレス", "会社名", "流入元", "登録日時", "担当者"]
MA_EN = ["Email", "Company", "Lead Source", "Created Date", "Lead Owner"]
SFA_JA = ["商談 ID", "商談名", "取引先名", "取引先責任者メールアドレス", "フェーズ", "金額", "完了予定日", "失注理由"]
SFA_EN = ["Opportunity ID", "Opportunity Name", "Account Name", "Contact Email", "Stage", "Amount", "Close Date",
          "Loss Reason"]


@dataclass
class Plan:
    base: int = 12                                    # leads per source last month
    with_deal: int = 5                                # of which with an open deal at OPEN
    new: dict[str, int] = field(default_factory=lambda: {"展示会": 5, "Web広告": 3, "紹介": 0, "ウェビナー": 2})
    new_with_deal: dict[str, int] = field(default_factory=lambda: {"展示会": 1, "Web広告": 1})
    removed: dict[str, int] = field(default_factory=lambda: {"紹介": 2, "ウェビナー": 1})
    converted: dict[str, int] = field(default_factory=lambda: {"展示会": 2, "Web広告": 1, "ウェビナー": 1})
    moves: int = 4
    wins: int = 3
    losses: tuple[str, ...] = ("予算が合わない", "競合に決定", "時期尚早")
    reopen: bool = True
    remove_deal: bool = True
    unlinked_new_deal: bool = True


@dataclass
class Expected:
    leads_before: int
    leads_after: int
    new_leads: dict[str, int]
    new_converted: dict[str, int]
    removed_leads: int
    newly_converted: dict[str, int]
    open_before: dict[str, int]
    unconverted: int
    opps_before: int
    opps_after: int
    new_opps: int
    removed_opps: int
    stage_moves: dict[tuple[str, str], int]
    won: list[str]
    lost: dict[str, str]                  # deal id → loss reason
    reopened: int
    converted_before: int
    converted_after: int

    @property
    def moved(self) -> int:
        return sum(self.stage_moves.values())


@dataclass
class Pair:
    prev_ma: bytes
    prev_sfa: bytes
    cur_ma: bytes
    cur_sfa: bytes
    expected: Expected


def _email(src: int, i: int, new: bool = False) -> str:
    return f"{'n' if new else 'p'}{src}_{i}@corp{src}{i}.example.jp"


def _csv(header: list[str], body: list[list[str]], keep: list[int] | None = None) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    cols = keep if keep is not None else list(range(len(header)))
    w.writerow([header[c] for c in cols])
    for r in body:
        w.writerow([r[c] for c in cols])
    return buf.getvalue().encode("utf-8")


def make_pair(plan: Plan | None = None, *, english: bool = False, shout: bool = False,
              deal_ids: bool = True, deal_names: bool = True) -> Pair:
    """Two exports and what the comparison must find (see the module docstring)."""
    p = plan or Plan()
    prev_leads: list[list[str]] = []
    deals: dict[str, list[str]] = {}      # deal id → row (last month)
    lead_of: dict[str, tuple[int, int]] = {}
    for s, src in enumerate(SOURCES):
        for i in range(p.base):
            prev_leads.append([_email(s, i), f"株式会社{src}{i}", src, f"2025/04/{1 + i:02d}", "佐藤"])
        for i in range(p.with_deal):
            deals[f"D{s}{i:02d}"] = [f"D{s}{i:02d}", f"案件{s}-{i}", f"株式会社{src}{i}", _email(s, i), OPEN,
                                     "1000000", "2025/06/30", ""]
            lead_of[f"D{s}{i:02d}"] = (s, i)
        # One won and one lost deal per source, on the next two leads (converted, not open).
        for j, (stage, reason) in enumerate(((WON, ""), (LOST, "ニーズなし"))):
            i = p.with_deal + j
            deals[f"C{s}{j}"] = [f"C{s}{j}", f"案件{s}-{i}", f"株式会社{src}{i}", _email(s, i), stage,
                                 "2000000", "2025/05/31", reason]
    conv_prev = p.with_deal + 2                   # leads per source with a deal last month
    cur_deals = {k: list(v) for k, v in deals.items()}
    open_ids = [k for k in deals if k.startswith("D")]
    order = sorted(open_ids, key=lambda k: (int(k[2:]), k[1]))      # spread over sources
    moves: Counter[tuple[str, str]] = Counter()
    won, lost = [], {}
    it = iter(order)
    for _ in range(p.moves):
        k = next(it)
        cur_deals[k][4] = MOVED_TO
        moves[(OPEN, MOVED_TO)] += 1
    for _ in range(p.wins):
        k = next(it)
        cur_deals[k][4] = WON
        moves[(OPEN, WON)] += 1
        won.append(k)
    for reason in p.losses:
        k = next(it)
        cur_deals[k][4], cur_deals[k][7] = LOST, reason
        moves[(OPEN, LOST)] += 1
        lost[k] = reason
    reopened = 0
    if p.reopen:
        cur_deals["C01"][4], cur_deals["C01"][7] = REOPENED_TO, ""
        moves[(LOST, REOPENED_TO)] += 1
        reopened = 1
    removed_opps, unconverted = 0, 0
    if p.remove_deal:
        k = next(it)                              # an untouched open deal: its lead loses its only deal
        del cur_deals[k]
        removed_opps, unconverted = 1, 1
    cur_leads = []
    removed_total = 0
    open_before: dict[str, int] = {}
    newly: dict[str, int] = {}
    new_opps = 0
    for s, src in enumerate(SOURCES):
        n_removed = p.removed.get(src, 0)
        keep = p.base - n_removed                 # the last n_removed leads of the source go
        removed_total += n_removed
        open_before[src] = keep - conv_prev
        for i in range(keep):
            row = list(prev_leads[s * p.base + i])
            if shout and i % 2:
                row[0] = row[0].upper()
            if shout and i % 3 == 0:
                row[0] = row[0].translate(str.maketrans("abcdefghijklmnopqrstuvwxyz0123456789@._",
                                                        "ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ"
                                                        "０１２３４５６７８９＠．＿"))
            cur_leads.append(row)
        newly[src] = p.converted.get(src, 0)
        for j in range(newly[src]):
            i = conv_prev + j
            cur_deals[f"N{s}{j}"] = [f"N{s}{j}", f"新規案件{s}-{i}", f"株式会社{src}{i}", _email(s, i), NEW_STAGE,
                                     "500000", "2025/08/31", ""]
            new_opps += 1
        for i in range(p.new.get(src, 0)):
            cur_leads.append([_email(s, i, new=True), f"新規{src}{i}", src, f"2025/05/{1 + i:02d}", "鈴木"])
            if i < p.new_with_deal.get(src, 0):
                cur_deals[f"M{s}{i}"] = [f"M{s}{i}", f"新規リード案件{s}-{i}", f"新規{src}{i}",
                                         _email(s, i, new=True), NEW_STAGE, "700000", "2025/09/30", ""]
                new_opps += 1
    if p.unlinked_new_deal:
        cur_deals["X1"] = ["X1", "紹介なし案件", "株式会社どこにもない", "nobody@nowhere.example.jp", NEW_STAGE,
                           "300000", "2025/09/30", ""]
        new_opps += 1
    keep_cols = [c for c in range(len(SFA_JA)) if (deal_ids or c != 0) and (deal_names or c not in (1, 2))]
    sfa_header = SFA_EN if english else SFA_JA
    expected = Expected(
        leads_before=len(prev_leads), leads_after=len(cur_leads),
        new_leads={s: n for s, n in p.new.items() if n}, new_converted=dict(p.new_with_deal),
        removed_leads=removed_total, newly_converted={s: n for s, n in newly.items() if n},
        open_before=open_before, unconverted=unconverted,
        opps_before=len(deals), opps_after=len(cur_deals), new_opps=new_opps, removed_opps=removed_opps,
        stage_moves=dict(moves), won=won, lost=lost, reopened=reopened,
        converted_before=conv_prev * len(SOURCES),
        converted_after=conv_prev * len(SOURCES) + sum(newly.values()) + sum(p.new_with_deal.values()) - unconverted)
    return Pair(_csv(MA_JA, prev_leads), _csv(SFA_JA, list(deals.values()), keep_cols),
                _csv(MA_EN if english else MA_JA, cur_leads), _csv(sfa_header, list(cur_deals.values()), keep_cols),
                expected)
