"""Small, nasty MA / SFA / activity exports for holding the two engines equal (issue 21), with
the truth they were generated from, counted here in plain Python without any engine code.

One fixed seed; every export the contract promises to read is in it: messy emails (full
width, U+3000 and other spaces, ``mailto:``, ``Name <addr>``, two addresses in one cell,
invalid and blank cells), several rows per lead with different sources and created dates
(ties, blanks, eight date spellings including 和暦 and Excel serials), Japanese and English
stage names, a "with contact roles" report repeating deals, a blank-ID lost deal, report
title rows and footers, free-text loss reasons including excluded ones, company names with
legal forms and corporate numbers (the ``accounts`` key), and an activity log.

The same rows are written as CSV (text, as exported) and as Parquet (typed columns:
timestamps, ints, bools; the SFA side as a Spark-style folder of part files).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEED = 20261206
PERSONS = 1200
BASE = dt.datetime(2024, 1, 1)

MA_HEADER = ["メールアドレス", "会社名", "法人番号", "流入元", "登録日時", "スコア", "オプトイン", "リードID"]
SFA_HEADER = ["商談 ID", "商談名", "取引先名", "法人番号", "取引先責任者メールアドレス", "リードID", "フェーズ",
              "金額", "作成日", "失注理由"]
# The English report's columns, in its own order, each with the Japanese report's column.
SFA_EN = [("Stage", "フェーズ"), ("Opportunity ID", "商談 ID"), ("Opportunity Name", "商談名"),
          ("Account Name", "取引先名"), ("Contact: Email", "取引先責任者メールアドレス"), ("Amount", "金額"),
          ("Created Date", "作成日"), ("Loss Reason", "失注理由"), ("Corporate Number", "法人番号"),
          ("リードID", "リードID")]
ACT_HEADER = ["メールアドレス", "日時", "アクション", "キャンペーン", "チャネル"]

# Trailing U+3000 and tabs on purpose: a source is trimmed of every kind of space.
SOURCES = ["展示会", "ウェビナー", " Web広告 ", "紹介", "Webinar", "", "資料DL", "展示会\u3000", "Paid\tSearch"]
WON = ["受注", "Closed Won", "closedwon", "6.受注", "成約", "CLOSED WON", " 受注 ", "６.受注"]
LOST = ["失注", "Closed Lost", "closedlost", "7.失注", "不成立", "closed lost", "失注\u3000"]
OPEN = ["3.提案", "Negotiation", "Prospecting", "2.ヒアリング"]
REASONS = ["予算がない", "予算不足のため見送り", "タイミングが合わない", "来期に再検討", "競合に負けた",
           "他社製品に決定（価格面）", "ニーズがなかった", "音信不通", "", "  ", "重複", "テストデータ", "test",
           "Duplicate record", "その他"]
NOT_A_LOSS = {"重複", "テストデータ", "test", "Duplicate record"}      # contract: category `excluded`
COMPANY_FORMS = ["株式会社{n}", "{n}株式会社", "(株){n}", "㈱{n}", "{n} Inc.", "{N} Co., Ltd.", "{n}合同会社", "{n}", ""]
FREE = ["gmail.com", "yahoo.co.jp", "docomo.ne.jp"]
TYPES = ["Webページ訪問", "資料ダウンロード", "メール開封", "セミナー参加", "Visit Web Page", "Fill Out Form", " Open Email "]
CAMPAIGNS = ["ウェビナー2024春", "展示会2024", "Newsletter", "", "", " 展示会2024 "]
CHANNELS = ["Email", "Paid Search", "", ""]
# Names whose lower case differs between Java and code-point lowering (final Σ, dotted İ), on
# free-mail leads (no domain key): each pair is one account.
CASE_PAIRS = {3: "ΑΛΦΑΣ Inc.", 10: "αλφασ", 17: "DİNÇ Ltd.", 24: "dinç", 31: "ΟΔΟΣ ΑΘΗΝΑΣ", 38: "οδοσ αθηνασ"}
INVALID = ["foo@bar", "no-at.example.jp", "a@@b.co.jp", "@x.co.jp", "", "   ", "\u3000", "mailto:", "n/a"]


def corporate_number(base12: int) -> str:
    """13 digits, the first the National Tax Agency check digit of the 12 that follow."""
    body = f"{base12:012d}"
    total = sum(int(d) * (1 if i % 2 == 0 else 2) for i, d in enumerate(reversed(body)))
    return f"{9 - total % 9}{body}"


def _fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


def messy(email: str, rng: random.Random) -> str:
    """One spelling of ``email`` that normalises back to it (contract: email normalisation)."""
    return rng.choice([
        email, email, email, email.upper(), _fullwidth(email), f"\u3000{email}\u3000", f"\t{email} ",
        f"\u00a0{email}", f"mailto:{email}", f"MAILTO:{email.title()}", f"山田 太郎 <{email}>",
        f"Taro Yamada ({email})", f"<{email}>",
    ])


def dated(d: dt.datetime, rng: random.Random) -> tuple[str, dt.datetime]:
    """``d`` in one of the spellings the reader promises, and the instant that spelling means
    (some keep only the day: the instant is then midnight)."""
    day = dt.datetime(d.year, d.month, d.day)
    kind = rng.randrange(8)
    if kind == 0:
        return f"{d.year}/{d.month}/{d.day}", day
    if kind == 1:
        return d.strftime("%Y-%m-%d %H:%M"), d
    if kind == 2:
        return f"令和{d.year - 2018}年{d.month}月{d.day}日", day
    if kind == 3:
        return f"{d.year}年{d.month}月{d.day}日 {d.hour}時{d.minute:02d}分", d
    if kind == 4:
        return d.strftime("%Y/%m/%d %H:%M:%S"), d
    if kind == 5:
        return d.strftime("%Y-%m-%dT%H:%M:%S+09:00"), d         # the zone is dropped: wall clock
    if kind == 6:
        return str((d.date() - dt.date(1899, 12, 30)).days), day    # an Excel serial
    return _fullwidth(d.strftime("%Y/%m/%d")), day


@dataclass
class Exports:
    ma: list[list[dict[str, Any]]] = field(default_factory=list)     # rows per MA file
    sfa: list[dict[str, Any]] = field(default_factory=list)
    activity: list[dict[str, Any]] = field(default_factory=list)
    # The truth, from the generator's own bookkeeping.
    leads: int = 0
    ma_rows_without_key: int = 0
    opportunities: int = 0
    won: int = 0
    lost: int = 0
    converted: int = 0
    linked: int = 0
    excluded: int = 0
    activity_without_key: int = 0

    @property
    def ma_rows(self) -> int:
        return sum(len(f) for f in self.ma)

    @property
    def open(self) -> int:
        return self.opportunities - self.won - self.lost

    def leads_by_source(self, touch: str) -> dict[str | None, int]:
        """Leads per source (contract "Source"): the row of the lead first (last) by created
        date, ties and undated rows in file order (undated after every dated row for
        ``first``, before them for ``last``); trimmed, blank = None."""
        best: dict[int, tuple[Any, ...]] = {}
        position = 0
        for rows in self.ma:
            for r in rows:
                position += 1
                if r["person"] is None:
                    continue
                dated = r["created"] is not None
                if touch == "first":
                    key: tuple[Any, ...] = (not dated, r["created"] or BASE, position)
                    better = r["person"] not in best or key < best[r["person"]]
                else:
                    key = (dated, r["created"] or BASE, position)
                    better = r["person"] not in best or key > best[r["person"]]
                if better:
                    best[r["person"]] = (*key, r["source"].strip() or None)
        counts: dict[str | None, int] = {}
        for *_, source in best.values():
            counts[source] = counts.get(source, 0) + 1
        return counts


def _person_email(i: int) -> str:
    if i % 7 == 3:
        return f"user{i}@{FREE[i % len(FREE)]}"
    return f"u{i}.sales@corp{i % 300}.example.co.jp"


def _company(i: int, rng: random.Random) -> str:
    k = i % 300
    form = rng.choice(COMPANY_FORMS)
    return form.format(n=f"サンプル商事{k}" if k % 2 else f"Sample Trading {k}", N=f"SAMPLE TRADING {k}")


def generate(seed: int = SEED, persons: int = PERSONS) -> Exports:
    rng = random.Random(seed)
    out = Exports()
    emails = [_person_email(i) for i in range(persons)]
    rows: list[dict[str, Any]] = []
    for i, email in enumerate(emails):
        first = BASE + dt.timedelta(days=rng.randrange(150), hours=rng.randrange(24), minutes=rng.choice([0, 30]))
        n = rng.choices([1, 2, 3], [6, 3, 1])[0]
        for r in range(n):
            # A tie (the same instant again) or a later row; some rows have no date at all.
            when = None if rng.random() < 0.08 else first if r and rng.random() < 0.3 else \
                first + dt.timedelta(days=rng.randrange(60) * r)
            number = corporate_number(1_000_000_000 + i % 300) if rng.random() < 0.3 else ""
            if number and rng.random() < 0.3:
                number = f"{number[:1]}-{number[1:5]}-{number[5:9]}-{number[9:]}"
            text, when = dated(when, rng) if when else (rng.choice(["", " ", "不明"]), None)
            company = _company(i, rng)
            rows.append({"email": messy(email, rng), "company": CASE_PAIRS.get(i, company), "number": number,
                         "source": rng.choice(SOURCES), "created": when, "created_text": text, "person": i,
                         "score": None if rng.random() < 0.1 else rng.randrange(200),
                         "optin": rng.choice([True, False, None]), "id": f"L{i:05d}"})
    out.leads = persons
    # Two people in one cell: both are leads already, so the count of leads does not hang on it.
    # The row is a's (its first address); each address links, so a deal of b's converts a too.
    pairs = [tuple(rng.sample(range(persons), 2)) for _ in range(15)]
    for a, b in pairs:
        rows.append({"email": f"{emails[a]}; {emails[b]}", "company": _company(a, rng), "number": "",
                     "source": rng.choice(SOURCES), "created": None, "created_text": "", "score": 1, "person": a,
                     "optin": None, "id": f"L{a:05d}"})
    for j in range(40):                                                # rows with no usable email
        rows.append({"email": rng.choice(INVALID), "company": "個人" if j % 2 else "", "number": "",
                     "source": rng.choice(SOURCES), "created": BASE, "created_text": "2024/1/1", "person": None,
                     "score": None, "optin": None, "id": f"X{j:05d}"})
        out.ma_rows_without_key += 1
    rng.shuffle(rows)
    cut = len(rows) * 3 // 5
    out.ma = [rows[:cut], rows[cut:]]

    converted: set[int] = set()
    deal = 0

    def add_deal(contacts: list[str], people: list[int], stage: str, *, blank_id: bool = False) -> None:
        nonlocal deal
        deal += 1
        created = BASE + dt.timedelta(days=60 + rng.randrange(150), hours=rng.randrange(24))
        text, when = dated(created, rng) if rng.random() >= 0.05 else ("", None)
        reason = rng.choice(REASONS) if stage in LOST else ""
        out.excluded += reason in NOT_A_LOSS
        amount = None if rng.random() < 0.1 else rng.randrange(3, 120) * 100_000
        k = people[0] % 300 if people else rng.randrange(300)
        number = corporate_number(1_000_000_000 + k) if rng.random() < 0.4 else ""
        for contact in contacts:                                       # one row per contact role
            out.sfa.append({"id": "" if blank_id else f"OPP-{deal:05d}", "name": f"案件{deal}",
                            "company": _company(k, rng), "number": number, "email": contact,
                            "lead_id": f"L{people[0]:05d}" if people else "", "stage": stage,
                            "amount": amount, "created": when,
                            "created_text": text, "reason": reason})
        out.opportunities += 1
        out.won += stage in WON
        out.lost += stage in LOST
        out.linked += bool(people)
        converted.update(people)

    def stage() -> str:
        return rng.choice(rng.choices([WON, LOST, OPEN], [3, 4, 2])[0])

    for i in rng.sample(range(persons), persons // 6):
        people = [i]
        contacts = [messy(emails[i], rng)]
        if rng.random() < 0.15:                                        # a contact-role report repeats it
            j = rng.randrange(persons)
            people.append(j)
            contacts.append(messy(emails[j], rng))
        if rng.random() < 0.05:                                        # two people in one cell
            j = rng.randrange(persons)
            people.append(j)
            contacts[0] = f"{emails[i]}, {emails[j]}"
        add_deal(contacts, people, stage())
    for _ in range(25):                                                # sales-sourced: no lead
        add_deal([f"buyer{deal}@partner{deal % 9}.example.jp", ""], [], stage())
    for _ in range(5):                                                 # no usable contact at all
        add_deal([rng.choice(INVALID)], [], stage())
    lone = rng.randrange(persons)
    add_deal([messy(emails[lone], rng)], [lone], "失注", blank_id=True)   # a blank-ID lost deal
    out.converted = len(converted | {a for a, b in pairs if b in converted})
    rng.shuffle(out.sfa)

    for _ in range(2500):
        roll = rng.random()
        i = rng.randrange(persons)
        email = messy(emails[i], rng) if roll < 0.9 else f"visitor{rng.randrange(99)}@else.example.jp" \
            if roll < 0.96 else rng.choice(INVALID)
        at = None if rng.random() < 0.03 else \
            BASE + dt.timedelta(days=rng.randrange(240), hours=rng.randrange(24), minutes=rng.choice([0, 15, 59]))
        out.activity_without_key += at is None or email in INVALID
        out.activity.append({"email": email, "at": at, "type": rng.choice(TYPES),
                             "campaign": rng.choice(CAMPAIGNS), "channel": rng.choice(CHANNELS)})
    return out


# -- writers -----------------------------------------------------------------------------------

def _ma_cells(r: dict[str, Any]) -> list[str]:
    score = "" if r["score"] is None else str(r["score"])
    optin = {True: "はい", False: "いいえ", None: ""}[r["optin"]]
    return [r["email"], r["company"], r["number"], r["source"], r["created_text"], score, optin, r["id"]]


def _sfa_cells(r: dict[str, Any]) -> list[str]:
    amount = "" if r["amount"] is None else rng_free_amount(r["amount"])
    return [r["id"], r["name"], r["company"], r["number"], r["email"], r["lead_id"], r["stage"], amount,
            r["created_text"], r["reason"]]


def rng_free_amount(amount: int) -> str:
    """Yen as a report writes it, in one of three spellings chosen by the value itself."""
    return [f"¥{amount:,}", str(amount), f"JPY {amount:,}"][amount // 100_000 % 3]


def write_csv(ex: Exports, folder: Path) -> dict[str, list[Path]]:
    folder.mkdir(parents=True, exist_ok=True)
    ma_paths = []
    for n, rows in enumerate(ex.ma, 1):
        path = folder / f"ma_{n}.csv"
        with path.open("w", encoding="utf-8-sig" if n == 1 else "utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\r\n")
            w.writerow(MA_HEADER)
            w.writerows(_ma_cells(r) for r in rows)
            if n == 2:
                w.writerow([])
                w.writerow(["Confidential Information - Do Not Distribute"])
        ma_paths.append(path)
    # Two SFA files stacked: a Japanese contact-role report, then an English one (another
    # column order); a deal's contact rows may fall in either, so de-duplication spans files.
    cut = len(ex.sfa) * 3 // 5
    sfa = [folder / "sfa_1.csv", folder / "sfa_2.csv"]
    with sfa[0].open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["商談 (取引先責任者の役割付き)"])
        w.writerow(["絞り込み条件: すべての商談"])
        w.writerow([])
        w.writerow(SFA_HEADER)
        w.writerows(_sfa_cells(r) for r in ex.sfa[:cut])
        w.writerow(["合計", "", "", "", "", "", "", f"¥{sum(r['amount'] or 0 for r in ex.sfa[:cut]):,}", "", ""])
        w.writerow([])
        w.writerow(["機密情報 - 配布禁止"])
    with sfa[1].open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["Opportunities with Contact Roles"])
        w.writerow([])
        w.writerow([en for en, _ in SFA_EN])
        for r in ex.sfa[cut:]:
            cells = dict(zip(SFA_HEADER, _sfa_cells(r), strict=True))
            w.writerow([cells[ja] for _, ja in SFA_EN])
        w.writerow(["Grand Totals (" + str(len(ex.sfa) - cut) + " records)"])
        w.writerow([])
        w.writerow(["Confidential Information - Do Not Distribute"])
        w.writerow(["Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."])
    # Two activity files stacked (UNION BY NAME): the second an English export whose columns
    # stand in another order.
    half = len(ex.activity) // 2
    act = [folder / "activity_1.csv", folder / "activity_2.csv"]
    with act[0].open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(ACT_HEADER)
        spell = random.Random(SEED)         # dates in every spelling (by day: a time may go)
        for r in ex.activity[:half]:
            at = "" if r["at"] is None else dated(r["at"], spell)[0]
            w.writerow([r["email"], at, r["type"], r["campaign"], r["channel"]])
    with act[1].open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["Activity Type", "Campaign", "Email", "Channel", "Activity Date"])
        for r in ex.activity[half:]:
            at = "" if r["at"] is None else r["at"].strftime("%Y-%m-%d %H:%M:%S")
            w.writerow([r["type"], r["campaign"], r["email"], r["channel"], at])
    return {"ma": ma_paths, "sfa": sfa, "activity": act}


def write_parquet(ex: Exports, folder: Path) -> dict[str, list[Path]]:
    """The same rows with typed columns (no title rows or footers: a table has none); the SFA
    side is a Spark-style folder: two part files and ``_SUCCESS``."""
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    folder.mkdir(parents=True, exist_ok=True)
    ma_paths = []
    for n, rows in enumerate(ex.ma, 1):
        table = pa.table({
            "メールアドレス": [r["email"] for r in rows], "会社名": [r["company"] or None for r in rows],
            "法人番号": [r["number"] or None for r in rows], "流入元": [r["source"] for r in rows],
            "登録日時": pa.array([r["created"] for r in rows], pa.timestamp("us")),
            "スコア": pa.array([r["score"] for r in rows], pa.int64()),
            "オプトイン": pa.array([r["optin"] for r in rows], pa.bool_()),
            "リードID": [r["id"] for r in rows]})
        path = folder / f"ma_{n}.parquet"
        pq.write_table(table, path)
        ma_paths.append(path)
    sfa = folder / "sfa.parquet"
    sfa.mkdir()
    half = len(ex.sfa) // 2
    for n, rows in enumerate([ex.sfa[:half], ex.sfa[half:]]):
        table = pa.table({
            "商談 ID": [r["id"] or None for r in rows], "商談名": [r["name"] for r in rows],
            "取引先名": [r["company"] for r in rows], "法人番号": [r["number"] for r in rows],
            "取引先責任者メールアドレス": [r["email"] for r in rows], "リードID": [r["lead_id"] for r in rows],
            "フェーズ": [r["stage"] for r in rows], "金額": pa.array([r["amount"] for r in rows], pa.int64()),
            "作成日": pa.array([r["created"] for r in rows], pa.timestamp("us")),
            "失注理由": [r["reason"] for r in rows]})
        pq.write_table(table, sfa / f"part-{n:05d}-0f1e2d3c-c000.snappy.parquet")
    (sfa / "_SUCCESS").write_bytes(b"")
    return {"ma": ma_paths, "sfa": [sfa]}
