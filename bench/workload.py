"""The benchmark workload: a large MA lead export and SFA opportunity export, generated with a
fixed seed so every run (and every machine) measures the same bytes.

The MA export has Japanese headers and the mess of real exports: upper-case, full-width and
space-padded emails, ``Name <addr>`` cells, blanks and invalid addresses, the same person on
several rows with different sources. About one lead in eight has an opportunity; a tenth of
the opportunities belong to no lead (sales-sourced) and a few repeat a deal for a second
contact (a contact-role report).
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from pathlib import Path

SOURCES = ["展示会", "ウェビナー", "資料ダウンロード", "問い合わせ", "Web広告", "紹介", "自然検索", "メルマガ", ""]
SOURCE_WEIGHTS = [18, 12, 20, 6, 14, 3, 12, 10, 5]
OWNERS = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村"]
STAGES = ["1.アプローチ", "2.ヒアリング", "3.提案", "4.見積提示", "5.交渉", "6.受注", "7.失注"]
STAGE_WEIGHTS = [6, 6, 7, 5, 4, 30, 42]
REASONS = ["予算が確保できなかった", "来期に再検討", "他社製品に決定（価格面）", "導入時期が合わない",
           "ニーズがなくなった", "音信不通", "社内稟議が通らず", "", "", "機能が要件を満たさない"]
# The MA export's company column: without it, ``analyze`` builds no accounts (the fair
# pipelines' job; see :func:`without_column`).
COMPANY = "会社名"
MA_HEADER = ["メールアドレス", COMPANY, "流入元", "登録日時", "スコア", "ステータス", "MQL日", "担当者"]
SFA_HEADER = ["商談 ID", "商談名", "取引先責任者メールアドレス", "商談 所有者", "フェーズ", "金額", "完了予定日",
              "作成日", "失注理由"]


@dataclass(frozen=True)
class Paths:
    ma_csv: Path
    sfa_csv: Path


def _fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


def _messy(email: str, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.05:
        return email.upper()
    if r < 0.07:
        return f"  {email}\u3000"
    if r < 0.08:
        return _fullwidth(email)
    if r < 0.09:
        return f"山田 太郎 <{email}>"
    if r < 0.095:
        return ""
    if r < 0.10:
        return email.split("@")[0] + "@invalid"
    return email


def generate(out_dir: Path, leads: int, seed: int = 20261120) -> Paths:
    """Write ``ma_leads.csv`` (``leads`` rows) and ``sfa_opportunities.csv`` into ``out_dir``."""
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    people = max(1, int(leads * 0.9))
    ma = io.StringIO()
    w = csv.writer(ma, lineterminator="\n")
    w.writerow(MA_HEADER)
    converted: list[tuple[str, int]] = []
    for i in range(leads):
        person = i if i < people else rng.randrange(people)   # the last tenth repeat people
        email = f"user{person}@company{person % 5000}.example.co.jp"
        month = 1 + (i * 12) // leads
        day = 1 + person % 28
        created = f"2025/{month:02d}/{day:02d} {person % 24:02d}:{person % 60:02d}"
        score = (person * 37) % 200
        status = "MQL" if score > 120 else "リード"
        mql = f"2025/{month:02d}/{min(28, day + 2):02d}" if score > 120 else ""
        w.writerow([_messy(email, rng), f"株式会社サンプル{person % 5000}", rng.choices(SOURCES, SOURCE_WEIGHTS)[0],
                    created, score, status, mql, OWNERS[person % len(OWNERS)]])
        if i < people and rng.random() < 0.05 + score / 2000:
            converted.append((email, month))
    ma_path = out_dir / "ma_leads.csv"
    ma_path.write_text(ma.getvalue(), encoding="utf-8")
    sfa = io.StringIO()
    w = csv.writer(sfa, lineterminator="\n")
    w.writerow(SFA_HEADER)
    deal = 0
    for email, month in converted:
        deal += 1
        _deal_row(w, rng, deal, email, month)
        if rng.random() < 0.03:   # a second contact of the same deal
            _deal_row(w, rng, deal, f"second.{email}", month)
    for _ in range(len(converted) // 9):   # sales-sourced deals with no lead
        deal += 1
        _deal_row(w, rng, deal, f"sales{deal}@partner.example.jp", rng.randint(1, 12))
    sfa_path = out_dir / "sfa_opportunities.csv"
    sfa_path.write_text(sfa.getvalue(), encoding="utf-8")
    return Paths(ma_path, sfa_path)


def _deal_row(w: csv.writer, rng: random.Random, deal: int, email: str, month: int) -> None:  # type: ignore[valid-type]
    stage = rng.choices(STAGES, STAGE_WEIGHTS)[0]
    reason = rng.choice(REASONS) if stage == "7.失注" else ""
    w.writerow([f"OPP-{deal:07d}", f"案件{deal}", _messy(email, rng), OWNERS[deal % len(OWNERS)], stage,
                f"¥{rng.randint(3, 120) * 100_000:,}", f"2025/{min(12, month + 2):02d}/15",
                f"2025/{month:02d}/20", reason])


def to_cp932(src: Path, dst: Path) -> Path:
    """The same export re-saved by Japanese Excel: CP932 with CRLF."""
    dst.write_bytes(src.read_text(encoding="utf-8").replace("\n", "\r\n").encode("cp932"))
    return dst


def without_column(src: Path, dst: Path, name: str) -> Path:
    """The export without its column ``name`` (streamed, row by row).

    Without its company column (会社名) an MA export asks ``analyze`` for the fair pipelines'
    job: the contract builds accounts only where a company column is, and they build none."""
    with src.open(encoding="utf-8", newline="") as fi, dst.open("w", encoding="utf-8", newline="") as fo:
        rows = csv.reader(fi)
        w = csv.writer(fo, lineterminator="\n")
        header = next(rows)
        i = header.index(name)
        w.writerow(header[:i] + header[i + 1:])
        w.writerows(r[:i] + r[i + 1:] for r in rows)
    return dst


def to_xlsx(src: Path, dst: Path, rows: int) -> Path:
    """The first ``rows`` rows of an export as a workbook (openpyxl write-only: streams)."""
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("leads")
    with src.open(encoding="utf-8", newline="") as fh:
        for i, row in enumerate(csv.reader(fh)):
            if i > rows:
                break
            ws.append(row)
    wb.save(dst)
    return dst
