"""A small world of leads, deals and activity rows, and the contract's behaviour and
attribution computed from it in plain Python (contracts/cli.md "Behaviour history"), written
from the definitions without any engine code: the oracle the engine is checked against.

Rows are plain dicts; ``write_*`` turn them into exports of several tools' layouts.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

Z95 = 1.959963984540054
NO_LEAD, NO_TOUCH = "(no lead)", "(no touch)"


@dataclass
class World:
    leads: list[dict[str, Any]]                       # email, id, source, created
    deals: list[dict[str, Any]]                       # id, email, stage, amount, created (one row per contact)
    files: list[list[dict[str, Any]]] = field(default_factory=list)   # activity rows per file, in order


def make_world(seed: int, n_leads: int = 40, n_deals: int = 22, n_events: int = 260, n_files: int = 3) -> World:
    rnd = random.Random(seed)
    base = dt.date(2025, 1, 1)
    leads = [{"email": f"p{i}@ex{i % 4}.co.jp", "id": f"L{1000 + i}", "source": rnd.choice(["Web", "展示会"]),
              "created": base + dt.timedelta(days=rnd.randint(0, 20))} for i in range(n_leads)]
    deals: list[dict[str, Any]] = []
    for j in range(n_deals):
        who = rnd.sample(leads, rnd.choice([1, 1, 1, 2]))
        emails = [w["email"] for w in who]
        if j % 7 == 3:
            emails = [f"stranger{j}@else.jp"]            # a deal no lead links to
        created = base + dt.timedelta(days=rnd.randint(20, 60))
        stage = rnd.choice(["Closed Won", "Closed Won", "Closed Lost", "Negotiation"])
        amount = rnd.choice([None, 100_000, 250_000, 1_200_000, 37_500])
        for e in emails:                                   # a "with contact roles" report: one row per contact
            deals.append({"id": f"D{j:03d}", "email": e, "stage": stage, "amount": amount, "created": created})
    silent = leads[-1]      # a lead with a deal and no activity: its deal credits "(no touch)"
    deals.append({"id": "D999", "email": silent["email"], "stage": "Closed Won", "amount": 50_000,
                  "created": base + dt.timedelta(days=30)})
    types = ["Visit Web Page", "Fill Out Form", "Open Email", "資料ダウンロード", "セミナー参加"]
    campaigns = ["ウェビナー2025春", "展示会2025", "Newsletter", "", ""]
    channels = ["Email", "Paid Search", "", ""]
    files: list[list[dict[str, Any]]] = [[] for _ in range(n_files)]
    for _ in range(n_events):
        lead = rnd.choice(leads[:-1])
        row = {"email": lead["email"], "id": lead["id"],
               "at": dt.datetime.combine(base + dt.timedelta(days=rnd.randint(0, 70)),
                                         dt.time(rnd.randint(0, 23), rnd.choice([0, 15, 59]))),
               "type": rnd.choice(types), "campaign": rnd.choice(campaigns), "channel": rnd.choice(channels)}
        roll = rnd.random()
        if roll < 0.05:
            row["email"] = f"unknown{rnd.randint(0, 9)}@nowhere.jp"   # not a lead: an unlinked event
        elif roll < 0.08:
            row["email"] = ""                                           # no key at all
        elif roll < 0.10:
            row["at"] = None                                            # no date
        files[rnd.randrange(n_files)].append(row)
    return World(leads, deals, files)


# -- exports ---------------------------------------------------------------------------------

def _csv(header: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue()


def ma_csv(world: World) -> str:
    return _csv(["Email", "Id", "Lead Source", "Created Date"],
                [[x["email"], x["id"], x["source"], x["created"].strftime("%Y/%m/%d")] for x in world.leads])


def sfa_csv(world: World) -> str:
    return _csv(["Opportunity ID", "Contact Email", "Stage", "Amount", "Created Date"],
                [[d["id"], d["email"], d["stage"], "" if d["amount"] is None else d["amount"],
                  d["created"].strftime("%Y-%m-%d")] for d in world.deals])


def marketo_csv(rows: list[dict[str, Any]]) -> str:
    """Marketo-style activity log: Email Address, Activity Date (US), Activity Type, Campaign Name, Channel."""
    return _csv(["Email Address", "Activity Date", "Activity Type", "Campaign Name", "Channel", "Primary Attribute Value"],
                [[r["email"], r["at"].strftime("%m/%d/%Y %I:%M %p") if r["at"] else "", r["type"], r["campaign"],
                  r["channel"], "/pricing"] for r in rows])


def satori_csv(rows: list[dict[str, Any]]) -> str:
    """SATORI-style 行動履歴 (Japanese headers, 年/月/日 時:分, CP932 when written)."""
    return _csv(["メールアドレス", "日時", "アクション", "キャンペーン", "チャネル", "ページURL"],
                [[r["email"], r["at"].strftime("%Y/%m/%d %H:%M") if r["at"] else "", r["type"], r["campaign"],
                  r["channel"], "https://example.jp/lp"] for r in rows])


def hubspot_csv(rows: list[dict[str, Any]]) -> str:
    """HubSpot-style engagement export: ISO timestamps with a zone (the wall clock counts)."""
    return _csv(["Associated Email", "Activity date", "Activity type", "Campaign", "Source"],
                [[r["email"], r["at"].strftime("%Y-%m-%dT%H:%M:%S+09:00") if r["at"] else "", r["type"],
                  r["campaign"], r["channel"]] for r in rows])


# -- the oracle ------------------------------------------------------------------------------

def wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return 0.0, 0.0
    p, z2 = k / n, Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = (Z95 / (1 + z2 / n)) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return (0.0 if k == 0 else centre - half), (1.0 if k == n else centre + half)


def _events(world: World) -> list[dict[str, Any]]:
    """Rows with a key and a date, in file order (files in order, rows as they stand)."""
    out = []
    for f, rows in enumerate(world.files):
        for i, r in enumerate(rows):
            if r["email"] and r["at"] is not None:
                out.append({**r, "day": r["at"].date(), "pos": (f, i)})
    return out


def _deals(world: World) -> dict[str, dict[str, Any]]:
    leads = {x["email"] for x in world.leads}
    out: dict[str, dict[str, Any]] = {}
    for d in world.deals:
        o = out.setdefault(d["id"], {**d, "leads": set()})
        if d["email"] in leads:
            o["leads"].add(d["email"])
    return out


def counts(world: World) -> dict[str, int]:
    leads = {x["email"] for x in world.leads}
    ev = _events(world)
    n_rows = sum(len(f) for f in world.files)
    return {"rows": n_rows, "events": len(ev), "rows_without_key": n_rows - len(ev),
            "events_unlinked": sum(1 for e in ev if e["email"] not in leads),
            "leads_with_events": len({e["email"] for e in ev if e["email"] in leads})}


def behaviour(world: World) -> dict[str, dict[str, Any]]:
    leads = {x["email"] for x in world.leads}
    deals = _deals(world)
    first_opp: dict[str, dt.date] = {}
    for d in deals.values():
        for lead in d["leads"]:
            first_opp[lead] = min(first_opp.get(lead, d["created"]), d["created"])
    converted = set(first_opp)
    did: dict[str, set[str]] = defaultdict(set)
    for e in _events(world):
        lead = e["email"]
        if lead in leads and (lead not in converted or e["day"] <= first_opp[lead]):
            did[e["type"]].add(lead)
    out = {}
    for kind, who in did.items():
        conv = len(who & converted)
        others = leads - who
        conv_o = len(others & converted)
        rate, without = conv / len(who), (conv_o / len(others) if others else None)
        lo, hi = wilson(conv, len(who))
        out[kind] = {"activity": kind, "leads": len(who), "converted": conv, "opportunity_rate": rate,
                     "ci_low": lo, "ci_high": hi, "rate_without": without,
                     "lift": rate / without if without else None}
    return out


def attribution(world: World, model: str, half_life: float = 7.0) -> dict[str, dict[str, float]]:
    """touch → {opportunities, won, won_amount} under ``model``."""
    events = _events(world)
    by_touch: dict[str, dict[str, float]] = defaultdict(lambda: {"opportunities": 0.0, "won": 0.0, "won_amount": 0.0})
    for d in _deals(world).values():
        touches = sorted((e for e in events if e["email"] in d["leads"] and e["day"] <= d["created"]),
                         key=lambda e: (e["day"], e["pos"]))
        if not d["leads"]:
            credits = [(NO_LEAD, 1.0)]
        elif not touches:
            credits = [(NO_TOUCH, 1.0)]
        else:
            labels = [e["campaign"] or e["channel"] or e["type"] for e in touches]
            n = len(labels)
            if model == "first":
                shares = [1.0] + [0.0] * (n - 1)
            elif model == "last":
                shares = [0.0] * (n - 1) + [1.0]
            elif model == "linear":
                shares = [1.0 / n] * n
            elif model == "position":
                shares = [1.0] if n == 1 else [0.5, 0.5] if n == 2 else \
                    [0.4] + [0.2 / (n - 2)] * (n - 2) + [0.4]
            else:
                weights = [2.0 ** (-(d["created"] - e["day"]).days / half_life) for e in touches]
                shares = [w / sum(weights) for w in weights]
            credits = list(zip(labels, shares, strict=True))
        won = d["stage"] == "Closed Won"
        for label, c in credits:
            t = by_touch[label]
            t["opportunities"] += c
            if won:
                t["won"] += c
                t["won_amount"] += c * (d["amount"] or 0)
    return {k: v for k, v in by_touch.items() if v["opportunities"] > 0}


def outcomes_won(world: World) -> int:
    return sum(1 for d in _deals(world).values() if d["stage"] == "Closed Won")
