"""Accounts (企業) as contracts/cli.md "Accounts" defines them, checked against a reference
computed another way: a pure-Python normaliser and union-find written here from the contract's
words, over hand-made and seeded random exports (Japanese and English spellings, corporate
numbers with and without valid check digits, free-mail leads, shared domains, deals matched by
company only), with both touches; plus the sample and real exports.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import time
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from conftest import load_sample, real

from funnel.cli import main
from funnel.ingest.reader import Source
from funnel.measures import accounts as acc
from funnel.measures.analysis import measure, to_json
from funnel.sql import account_graph as graph
from funnel.sql import accounts as q
from funnel.sql import connect, rows

# -- the reference, from the contract's words -----------------------------------------------

JP_FORMS = ["株式会社", "(株)", "有限会社", "(有)", "合同会社", "合名会社", "合資会社", "一般社団法人", "一般財団法人"]
LATIN = {"inc", "incorporated", "corp", "corporation", "co", "company", "ltd", "limited", "llc", "kk", "gmbh", "plc"}
PLACEHOLDERS = {"個人", "個人事業主", "なし", "不明", "n/a", "none"}
FREE = {"gmail.com", "yahoo.co.jp", "outlook.com", "hotmail.com", "icloud.com", "docomo.ne.jp", "ezweb.ne.jp",
        "au.com", "softbank.ne.jp", "i.softbank.jp", "nifty.com"}


def _sep(c: str) -> bool:
    return c.isspace() or unicodedata.category(c)[0] in "ZPS"


def ref_name(cell: str | None) -> str | None:
    if cell is None:
        return None
    s = unicodedata.normalize("NFKC", cell).casefold()
    for form in JP_FORMS:
        s = s.replace(form, "")
    # K.K. as a whole word: at the start or after a separator.
    s = re.sub(r"(^|(?<=[\s\W_]))k\.k\.", " kk ", s)
    words, word = [], ""
    for c in s + " ":
        if _sep(c):
            if word:
                words.append(word)
            word = ""
        else:
            word += c
    core = "".join(w for w in words if w not in LATIN)
    placeholders = {"".join(ch for ch in p if not _sep(ch)) for p in PLACEHOLDERS}
    return core if core and core not in placeholders else None


def check_digit(base12: str) -> int:
    """The National Tax Agency's check digit of the 12 digits after it."""
    total = sum(int(d) * (1 if n % 2 else 2) for n, d in enumerate(reversed(base12), start=1))
    return 9 - total % 9


def ref_number(cell: str | None) -> str | None:
    if cell is None:
        return None
    s = "".join(c for c in unicodedata.normalize("NFKC", cell) if not (c.isspace() or c in "-‐‑‒–—―−ー"))
    if len(s) == 13 and s.isdigit() and int(s[0]) == check_digit(s[1:]):
        return s
    return None


def ref_email(cell: str | None) -> str | None:
    if not cell:
        return None
    e = unicodedata.normalize("NFKC", cell).strip().lower()
    return e if e.count("@") == 1 and "." in e.split("@")[1] and e.split("@")[0] else None


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[Any, Any] = {}

    def find(self, x: Any) -> Any:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: Any, b: Any) -> None:
        self.parent[self.find(a)] = self.find(b)


def reference(ma: list[dict[str, str]], sfa: list[dict[str, str]], touch: str) -> dict[str, Any]:
    """The contract's ``accounts`` object, computed in plain Python (email link)."""
    leads: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for pos, r in enumerate(ma):
        e = ref_email(r.get("email"))
        if e:
            leads.setdefault(e, []).append((pos, r))
    keys: dict[str, set[str]] = {}
    for e, rs in leads.items():
        ks = set()
        for _, r in rs:
            if n := ref_number(r.get("number")):
                ks.add("n:" + n)
            if c := ref_name(r.get("company")):
                ks.add("c:" + c)
        domain = e.split("@")[1]
        if domain not in FREE:
            ks.add("d:" + domain)
        keys[e] = ks
    uf = UnionFind()
    for e, ks in keys.items():
        for k in ks:
            uf.union(("lead", e), ("key", k))
    account_of = {e: uf.find(("lead", e)) for e, ks in keys.items() if ks}
    key_account = {k: uf.find(("key", k)) for ks in keys.values() for k in ks}
    deals: dict[str, dict[str, Any]] = {}
    for r in sfa:
        d = deals.setdefault(r["id"], {"emails": set(), "keys": set(), "stage": r["stage"]})
        if e := ref_email(r.get("email")):
            d["emails"].add(e)
        if n := ref_number(r.get("number")):
            d["keys"].add("n:" + n)
        if c := ref_name(r.get("company")):
            d["keys"].add("c:" + c)
    converted: set[Any] = set()
    won: set[Any] = set()
    by_company_only = 0
    for d in deals.values():
        linked = [e for e in d["emails"] if e in leads]
        accs = {account_of[e] for e in linked if e in account_of}
        company_accs = {key_account[k] for k in d["keys"] if k in key_account}
        accs |= company_accs
        converted |= accs
        if "受注" in d["stage"]:
            won |= accs
        if not linked and company_accs:
            by_company_only += 1

    def order(item: tuple[int, dict[str, str]]) -> tuple[Any, ...]:
        pos, r = item
        day = dt.date.fromisoformat(r["created"]) if r.get("created") else None
        if touch == "first":
            return (day is None, day or dt.date.min, pos)
        return (day is not None, day or dt.date.min, pos)

    members: dict[Any, list[tuple[int, dict[str, str]]]] = {}
    for e, a in account_of.items():
        members.setdefault(a, []).extend(leads[e])
    by_source: dict[Any, list[int]] = {}
    for a, rs in members.items():
        row = min(rs, key=order) if touch == "first" else max(rs, key=order)
        src = (row[1].get("source") or "").strip() or None
        counts = by_source.setdefault(src, [0, 0])
        counts[0] += 1
        counts[1] += a in converted
    n = len(set(account_of.values()))
    return {"accounts": n, "converted": len(converted), "won": len(won),
            "account_rate": len(converted) / n if n else 0.0,
            "leads_without_account": len(leads) - len(account_of),
            "opportunities_by_account_only": by_company_only,
            "by_source": sorted(({"source": s, "accounts": c[0], "converted": c[1],
                                  "account_rate": c[1] / c[0]} for s, c in by_source.items()),
                                key=lambda x: (-x["accounts"], x["source"] is None, x["source"] or ""))}


# -- building exports -------------------------------------------------------------------------

MA_HEADER = {"email": "メールアドレス", "company": "会社名", "number": "法人番号", "source": "リードソース",
             "created": "作成日"}
SFA_HEADER = {"id": "商談ID", "email": "メールアドレス", "company": "取引先名", "number": "法人番号(13桁)",
              "stage": "フェーズ"}


def _csv(header: dict[str, str], data: list[dict[str, str]]) -> str:
    def cell(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\n') else v

    lines = [",".join(header.values())]
    lines += [",".join(cell(r.get(k) or "") for k in header) for r in data]
    return "\n".join(lines) + "\n"


def run_json(tmp: Path, ma: list[dict[str, str]], sfa: list[dict[str, str]], touch: str,
             capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    (tmp / "ma.csv").write_text(_csv(MA_HEADER, ma), encoding="utf-8")
    (tmp / "sfa.csv").write_text(_csv(SFA_HEADER, sfa), encoding="utf-8")
    assert main(["analyze", "--ma", str(tmp / "ma.csv"), "--sfa", str(tmp / "sfa.csv"), "--touch", touch,
                 "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _num(base12: str, valid: bool = True) -> str:
    d = check_digit(base12)
    return f"{d if valid else (d % 9) + 1}{base12}"


# -- units ------------------------------------------------------------------------------------

def test_check_digit_of_known_numbers():
    # 国税庁's own corporate number, as published on houjin-bangou.nta.go.jp.
    assert check_digit("000012050002") == 7
    con = connect()
    try:
        cells = ["7000012050002", "7-0000-1205-0002", "７０００ ０１２０ ５０００２", "7000012050002.0",
                 "8000012050002", "700001205000", "70000120500021", "0000012050002", None, "abc"]
        got = [r[0] for r in rows(con, f"SELECT {q.number_key('x')} FROM unnest($c) WITH ORDINALITY t(x, i) "
                                       "ORDER BY i", {"c": cells})]
    finally:
        con.close()
    assert got == ["7000012050002"] * 4 + [None] * 6
    assert [ref_number(c) for c in cells[:3]] == ["7000012050002"] * 3


NAMES = [
    ("株式会社テック", "テック"), ("テック株式会社", "テック"), ("(株)テック", "テック"), ("㈱テック", "テック"),
    ("（株）テック", "テック"), ("ﾃｯｸ㈱", "テック"), ("テック　株式会社", "テック"), ("有限会社 山田商店", "山田商店"),
    ("山田商店(有)", "山田商店"), ("合同会社ＡＢＣ", "abc"), ("一般社団法人 日本協会", "日本協会"),
    ("Acme Inc.", "acme"), ("ACME, Inc", "acme"), ("Acme Corporation", "acme"), ("ＡＣＭＥ Co., Ltd.", "acme"),
    ("Acme K.K.", "acme"), ("acme kk", "acme"), ("Acme GmbH", "acme"), ("Acme PLC", "acme"), ("Acme LLC", "acme"),
    ("Coca-Cola Company", "cocacola"), ("Incotec Ltd", "incotec"), ("Corporate Co", "corporate"),
    ("Straße GmbH", "strasse"), ("個人", None), ("個人事業主", None), ("なし", None), ("不明", None), ("N/A", None),
    ("none", None), ("  ", None), ("Inc.", None), ("株式会社", None), ("A&B・ホールディングス", "abホールディングス"),
]


@pytest.mark.parametrize(("cell", "expected"), NAMES)
def test_name_key_matches_the_contract(cell: str, expected: str | None):
    assert ref_name(cell) == expected          # the reference itself reads the contract so
    con = connect()
    try:
        p = acc.params(con)
        got = rows(con, f"SELECT {q.name_key('$x')}", {"x": cell, **q.name_params(p)})[0][0]
    finally:
        con.close()
    assert got == expected


# -- hand-made exports -------------------------------------------------------------------------

TECH = _num("012345678901")
ACME = _num("111122223333")
BAD = _num("999988887777", valid=False)

HAND_MA = [
    {"email": "a@tech.example.co.jp", "company": "株式会社テック", "source": "展示会", "created": "2025-04-02"},
    {"email": "b@gmail.com", "company": "ﾃｯｸ㈱", "source": "ウェビナー", "created": "2025-04-01"},
    {"email": "c@docomo.ne.jp", "company": "テック　株式会社", "number": TECH, "source": "紹介", "created": "2025-04-05"},
    {"email": "q@gmail.com", "company": "個人", "source": "紹介", "created": "2025-04-05"},
    {"email": "d@tech-group.example.com", "number": TECH[:1] + "-" + TECH[1:], "source": "Web広告"},
    {"email": "e@tech-group.example.com", "company": "Tech Holdings", "source": "展示会", "created": "2025-03-01"},
    {"email": "x@acme.example.com", "company": "ACME, Inc.", "source": "Web広告", "created": "2025-05-01"},
    {"email": "y@yahoo.co.jp", "company": "Acme K.K.", "source": "展示会", "created": "2025-05-01"},
    {"email": "z@gmail.com", "company": "なし", "number": BAD, "source": "展示会", "created": "2025-05-02"},
    {"email": "w@outlook.com", "source": "", "created": "2025-05-03"},
    {"email": "v@solo.example.jp", "company": "N/A", "source": "", "created": "2025-06-01"},
    {"email": "v@solo.example.jp", "company": "Solo Design Co., Ltd.", "source": "紹介", "created": "2025-05-20"},
    {"email": "", "company": "株式会社テック", "source": "展示会", "created": "2025-01-01"},
]
HAND_SFA = [
    {"id": "D1", "email": "a@tech.example.co.jp", "company": "テック", "stage": "受注"},
    {"id": "D2", "email": "someone@else.example.jp", "company": "ＡＣＭＥ Corporation", "stage": "提案"},
    {"id": "D3", "email": "", "company": "Other Corp", "number": ACME, "stage": "受注"},
    {"id": "D4", "email": "", "company": "個人", "stage": "失注"},
    {"id": "D5", "email": "w@outlook.com", "company": "", "stage": "受注"},
    {"id": "D6", "email": "", "company": "Solo Design", "stage": "失注"},
    {"id": "D6", "email": "boss@solo.example.jp", "company": "Solo Design", "stage": "失注"},
]


@pytest.mark.parametrize("touch", ["first", "last"])
def test_hand_made_exports_match_the_reference(tmp_path, capsys, touch):
    got = run_json(tmp_path, HAND_MA, HAND_SFA, touch, capsys)["accounts"]
    assert got == reference(HAND_MA, HAND_SFA, touch)
    # Worked by hand: テック (a, b, c by name; c, d by number; e by domain with d) | Acme (x, y) |
    # Solo Design (v); z (free mail, placeholder, bad number), w (free mail, no company) and q
    # (free mail, 個人) have no key.
    assert (got["accounts"], got["leads_without_account"]) == (3, 3)
    # D1 (linked, テック), D2 (by name: Acme), D6 (by name: Solo; its contact is no lead); D3's
    # number is on no lead and D5's lead (w) has no account, so neither counts though both are won.
    assert (got["converted"], got["won"], got["opportunities_by_account_only"]) == (3, 1, 2)
    # First: テック's earliest row is e (展示会), Acme's x and y tie on the day (file order: x),
    # Solo's earliest is 紹介. Last: c (紹介), y (展示会), Solo's latest row has no source.
    src = {r["source"]: r["accounts"] for r in got["by_source"]}
    assert src == ({"展示会": 1, "Web広告": 1, "紹介": 1} if touch == "first" else {"紹介": 1, "展示会": 1, None: 1})


# -- seeded random exports --------------------------------------------------------------------

COMPANIES = [("テック", "tech"), ("山田商店", "yamada"), ("Acme", "acme"), ("Globex", "globex"), ("日本協会", "kyokai"),
             ("Initech", "initech"), ("グループ甲", "group"), ("グループ乙", "group"), ("Umbrella", "umbrella"),
             ("富士見ソリューションズ", "fujimi"), ("Hooli", "hooli"), ("Stark", "stark")]
SPELL = ["株式会社{}", "{}株式会社", "(株){}", "㈱{}", "（株）{}", "{} Inc.", "{}, Inc", "{} Co., Ltd.", "{} K.K.",
         "{} kk", "{}", " {} ", "{}　合同会社", "有限会社{}", "{} Corporation"]
SOURCES = ["展示会", "ウェビナー", "Web広告", "紹介", "", " 展示会 "]
FREE_DOMAINS = ["gmail.com", "yahoo.co.jp", "docomo.ne.jp", "i.softbank.jp"]


def random_exports(seed: int, n_ma: int = 400, n_sfa: int = 150) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    rnd = random.Random(seed)
    numbers = {name: _num(f"{rnd.randrange(10**12):012d}") for name, _ in COMPANIES}
    ma = []
    for _ in range(n_ma):
        name, dom = rnd.choice(COMPANIES)
        person = rnd.randrange(n_ma // 3)
        domain = rnd.choice(FREE_DOMAINS) if rnd.random() < 0.25 else f"{dom}.example.co.jp"
        company = rnd.choice([rnd.choice(SPELL).format(name)] * 5 + ["個人", "N/A", "", "不明"])
        if rnd.random() < 0.1:          # a lead without any key of its company
            domain, company = rnd.choice(FREE_DOMAINS), ""
        number = ""
        if rnd.random() < 0.3:
            number = numbers[name]
            number = rnd.choice([number, number[:4] + "-" + number[4:], unicodedata.normalize("NFKC", number)
                                 .translate(str.maketrans("0123456789", "０１２３４５６７８９")),
                                 _num(number[1:], valid=False)])
        day = rnd.choice(["", f"2025-0{rnd.randint(1, 6)}-0{rnd.randint(1, 3)}"])
        email = "" if rnd.random() < 0.03 else f"p{person}@{domain}"
        ma.append({"email": email, "company": company, "number": number, "source": rnd.choice(SOURCES),
                   "created": day})
    emails = [r["email"] for r in ma if r["email"]]
    sfa = []
    for i in range(n_sfa):
        name, _ = rnd.choice(COMPANIES + [("Unknown Prospect", "x")])
        email = rnd.choice(emails) if rnd.random() < 0.5 else (f"nobody{i}@other.example" if rnd.random() < 0.5 else "")
        number = numbers.get(name, "") if rnd.random() < 0.2 else ""
        stage = rnd.choice(["受注", "失注", "提案"])
        for _ in range(rnd.choice([1, 1, 1, 2])):
            sfa.append({"id": f"D{i}", "email": email, "company": rnd.choice([rnd.choice(SPELL).format(name), ""]),
                        "number": number, "stage": stage})
    return ma, sfa


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("touch", ["first", "last"])
def test_random_exports_match_the_reference(tmp_path, capsys, seed, touch):
    ma, sfa = random_exports(seed)
    got = run_json(tmp_path, ma, sfa, touch, capsys)["accounts"]
    want = reference(ma, sfa, touch)
    assert {k: v for k, v in got.items() if k != "by_source"} == {k: v for k, v in want.items() if k != "by_source"}
    assert sorted(got["by_source"], key=lambda x: str(x["source"])) == sorted(want["by_source"],
                                                                              key=lambda x: str(x["source"]))
    assert got["accounts"] > 3 and got["opportunities_by_account_only"] > 0 and got["leads_without_account"] > 0


def test_long_chain_is_one_account():
    """A chain of 2,000 leads each sharing a company with the next (two rows of two names each:
    the leads read again for their pairs) is one account, joined in a handful of rounds."""
    con = connect()
    try:
        con.execute("CREATE TABLE ma_rows AS SELECT 'l' || i AS _key, 'co' || (i + d) AS company, []::VARCHAR[] AS emails, "
                    "NULL::VARCHAR AS corporate_number, i * 2 + d AS _kf, i * 2 + d AS _kl "
                    "FROM range(2000) t(i), (VALUES (0), (1)) v(d)")
        rounds = graph.create_accounts(con, acc.params(con), ("c",))
        assert rows(con, "SELECT count(DISTINCT account), count(*) FROM account_leads")[0] == (1, 2000)
        assert rows(con, "SELECT count(DISTINCT account), count(*) FROM account_keys")[0] == (1, 2001)
        assert rounds <= 4
    finally:
        con.close()


@pytest.mark.parametrize("seed", range(6))
def test_components_match_a_plain_union_find(seed):
    """The vectorised union-find against the reference one, on random sparse graphs (chains,
    stars and isolated nodes in shuffled numbering)."""
    rng = random.Random(seed)
    n = rng.randint(1, 400)
    edges = [(rng.randrange(n), rng.randrange(n)) for _ in range(rng.randint(0, n))]
    perm = list(range(n))
    rng.shuffle(perm)
    edges += [(perm[i], perm[i + 1]) for i in range(0, min(n - 1, 60))]     # a long chain, shuffled
    got, _ = graph.components(n, [a for a, _ in edges], [b for _, b in edges])
    uf = UnionFind()
    for a, b in edges:
        uf.union(a, b)
    groups: dict[Any, list[int]] = {}
    for x in range(n):
        groups.setdefault(uf.find(x), []).append(x)
    want = [0] * n
    for members in groups.values():
        for x in members:
            want[x] = min(members)
    assert list(got) == want


# -- absent without a company column; sample and real exports -----------------------------------

def test_no_company_column_no_accounts_key(tmp_path, capsys):
    (tmp_path / "ma.csv").write_text("email,source\na@x.jp,展示会\n", encoding="utf-8")
    (tmp_path / "sfa.csv").write_text("deal id,email,stage\nD1,a@x.jp,受注\n", encoding="utf-8")
    assert main(["analyze", "--ma", str(tmp_path / "ma.csv"), "--sfa", str(tmp_path / "sfa.csv"), "--json"]) == 0
    assert "accounts" not in json.loads(capsys.readouterr().out)


def test_domains_only_on_the_marketing_side(tmp_path, capsys):
    """No company column in MA, one in SFA: accounts by domain alone (the key table starts
    empty of names and numbers, then takes the domains)."""
    (tmp_path / "ma.csv").write_text("email,source\na@x.co.jp,展示会\nb@x.co.jp,紹介\nc@gmail.com,紹介\n", encoding="utf-8")
    (tmp_path / "sfa.csv").write_text("deal id,email,stage,company\nD1,a@x.co.jp,受注,エックス\nD2,z@z.jp,提案,エックス\n",
                                      encoding="utf-8")
    assert main(["analyze", "--ma", str(tmp_path / "ma.csv"), "--sfa", str(tmp_path / "sfa.csv"), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)["accounts"]
    assert (got["accounts"], got["converted"], got["won"], got["leads_without_account"],
            got["opportunities_by_account_only"]) == (1, 1, 1, 1, 0)


def test_sample_data(ws):
    load_sample(ws)
    ws.build()
    got = to_json(measure(ws, "first"))["accounts"]
    # Every sample lead has a company and a corporate address; the numbers were measured once
    # and are held here against regressions of the sample or the rules.
    assert (got["accounts"], got["converted"], got["won"], got["leads_without_account"],
            got["opportunities_by_account_only"]) == (780, 212, 62, 0, 31)
    assert sum(r["accounts"] for r in got["by_source"]) == got["accounts"]
    last = to_json(measure(ws, "last"))["accounts"]
    assert sum(r["accounts"] for r in last["by_source"]) == last["accounts"] == 780


def test_real_devorg_company_column(ws):
    """salesforce_devorg_powerbi: Lead has Company and Email, Opportunity only AccountId."""
    d = real("salesforce_devorg_powerbi")
    ws.load("ma", Source.from_path(d / "Lead.csv"))
    ws.load("sfa", Source.from_path(d / "Opportunity.csv"))
    ws.build()
    a = measure(ws, "first").accounts
    assert a is not None
    leads = ws.build_result.counts["ma"].keys
    assert 0 < a.accounts <= leads and a.accounts + a.leads_without_account <= leads
    # Measured: 22 leads of 22 different companies, 5 with a deal, none won.
    assert (a.accounts, a.converted, a.won, a.leads_without_account) == (22, 5, 0, 0)
    assert sum(r.accounts for r in a.by_source) == a.accounts


def test_real_pardot_organization_column_is_empty(ws):
    """The Pardot org's Lead export has an Organization column (a company column), empty on
    all 10,000 rows once anonymised, and no email: the key is there, no lead has an account."""
    d = real("crm_analytics_salesforce_pardot")
    ws.load("ma", Source.from_path(d / "Lead.csv"))
    ws.load("sfa", Source.from_path(d / "Oppertuninty Table.csv"))
    from funnel.model.link import LinkSpec

    ws.build(link=LinkSpec.parse("Converted Opportunity ID=Opportunity ID"))
    got = to_json(measure(ws, "first"))["accounts"]
    assert got == {"accounts": 0, "converted": 0, "won": 0, "account_rate": 0.0, "leads_without_account": 10000,
                   "opportunities_by_account_only": 0, "by_source": []}


@pytest.mark.slow
def test_scale_one_million_leads(capsys):
    """Timing at 1M leads (printed): keys, propagation and deals on a synthetic ma_rows."""
    con = connect()
    try:
        n = 1_000_000
        con.execute(f"""CREATE TABLE ma_rows AS SELECT 'e:p' || i || '@c' || (i % 150000) || '.example.jp' AS _key,
            [ 'p' || i || '@' || CASE WHEN i % 4 = 0 THEN 'gmail.com' ELSE 'c' || (i % 150000) || '.example.jp' END ] AS emails,
            '株式会社カンパニー' || (i % 200000) AS company, NULL::VARCHAR AS corporate_number, i::BIGINT AS _kf,
            i::BIGINT AS _kl, 'src' || (i % 7) AS source FROM range({n}) t(i)""")
        con.execute("CREATE TABLE sfa_rows AS SELECT 'o' || i AS _key, 'カンパニー' || (i * 7 % 200000) || ' Inc.' AS company, "
                    "NULL::VARCHAR AS corporate_number FROM range(50000) t(i)")
        con.execute("CREATE TABLE links AS SELECT 'e:p' || (i * 13) || '@c' || ((i * 13) % 150000) || '.example.jp' "
                    "AS lead_key, 'o' || i AS opp_key FROM range(30000) t(i)")
        con.execute("CREATE TABLE opps AS SELECT _key AS opp_key, 'won' AS outcome, 0 AS n_leads FROM sfa_rows")
        con.execute("CREATE TABLE leads AS SELECT _key AS lead_key FROM ma_rows")
        maps = {"ma": [_Map({"email", "company"})], "sfa": [_Map({"company"})]}
        t0 = time.perf_counter()
        a = acc.measure(con, maps, "first")            # type: ignore[arg-type]
        took = time.perf_counter() - t0
    finally:
        con.close()
    with capsys.disabled():
        print(f"\naccounts at 1M leads: {took:.2f} s, {a.rounds} rounds, {a.accounts} accounts")
    assert a.accounts > 0


class _Map:
    def __init__(self, fields: set[str]) -> None:
        self.fields = fields

    def column(self, f: str) -> str | None:
        return f if f in self.fields else None


# -- the Excel report's account sheet ----------------------------------------------------------

def test_report_account_sheet_masks_people_not_companies(ws):
    import io

    from openpyxl import load_workbook

    from funnel.report.workbook import build_report

    load_sample(ws)
    ws.build()
    sheets = {}
    for mask in (False, True):
        wb = load_workbook(io.BytesIO(build_report(ws, mask=mask)))
        sheets[mask] = [list(r) for r in wb["企業"].iter_rows(values_only=True)]
    plain, masked = sheets[False], sheets[True]
    header = next(i for i, r in enumerate(plain) if r[0] == "企業名（最も多い表記）")
    body_plain, body_masked = plain[header + 1:], masked[header + 1:]
    assert len(body_plain) == 780                          # every sample account listed
    assert [r[:9] for r in body_plain] == [r[:9] for r in body_masked]   # companies and counts kept
    assert all("@" in r[9] for r in body_plain)
    assert all(r[9] != p[9] for r, p in zip(body_masked, body_plain, strict=True))   # people masked
    assert sum(r[1] for r in body_plain) == 2865           # every lead of the sample is in one account
    kpi = {r[0]: r[1] for r in plain if r and r[0] in ("企業数", "受注企業")}
    assert kpi == {"企業数": 780, "受注企業": 62}


# -- the page's measures (views/accounts.py): by month, depth, company-only deals, matches -----

B1, N1, N2 = _num("123412341234"), _num("222233334444"), _num("555566667777")
PAGE_MA = [
    {"email": "a1@alpha.example.jp", "company": "株式会社アルファ", "source": "展示会", "created": "2025-04-01"},
    {"email": "a2@alpha.example.jp", "company": "アルファ株式会社", "source": "紹介", "created": "2025-04-10"},
    {"email": "a3@alpha.example.jp", "company": "(株)アルファ", "source": "紹介", "created": "2025-06-01"},
    {"email": "b1@beta.example.jp", "company": "ベータ", "number": B1, "source": "Web広告", "created": "2025-05-01"},
    {"email": "b2@beta-group.example.jp", "company": "ガンマ", "number": B1, "source": "展示会", "created": "2025-06-01"},
    {"email": "c1@shared.example.jp", "company": "デルタ", "source": "展示会", "created": "2025-04-01"},
    {"email": "c2@shared.example.jp", "company": "イプシロン", "source": "展示会", "created": "2025-04-02"},
    {"email": "n1@n.example.jp", "number": N1, "source": "紹介", "created": "2025-05-03"},
    {"email": "n2@n.example.jp", "number": N2, "source": "紹介", "created": "2025-05-04"},
    {"email": "p1@solo.example.jp", "company": "個人", "source": "", "created": ""},
    {"email": "p2@solo.example.jp", "company": "Solo", "source": "", "created": ""},
    {"email": "free@gmail.com", "source": "展示会", "created": "2025-04-01"},
]
PAGE_SFA = [
    {"id": "D1", "email": "a1@alpha.example.jp", "company": "アルファ", "stage": "提案", "created": "2025-05-01"},
    {"id": "D2", "email": "boss@beta.example.jp", "company": "ベータ株式会社", "stage": "受注", "created": "2025-05-15"},
    {"id": "D3", "email": "c1@shared.example.jp", "company": "デルタ", "stage": "失注", "created": "2025-03-01"},
]


@pytest.fixture
def page_world(ws, tmp_path):
    (tmp_path / "ma.csv").write_text(_csv(MA_HEADER, PAGE_MA), encoding="utf-8")
    (tmp_path / "sfa.csv").write_text(_csv({**SFA_HEADER, "created": "作成日"}, PAGE_SFA), encoding="utf-8")
    ws.load("ma", Source.from_path(tmp_path / "ma.csv"))
    ws.load("sfa", Source.from_path(tmp_path / "sfa.csv"))
    b = ws.build()
    acc.build(ws.con, b.mappings)
    return ws.con


def test_page_measures_by_month(page_world):
    got = [(r.month, r.accounts, r.converted, r.won) for r in acc.by_month(page_world)]
    # アルファ and デルタ/イプシロン first engaged in April, ベータ and N in May, Solo has no date.
    assert got == [(dt.date(2025, 4, 1), 2, 2, 0), (dt.date(2025, 5, 1), 2, 1, 1), (None, 1, 0, 0)]


def test_page_measures_buying_group_depth(page_world):
    got = [(r.lo, r.hi, r.accounts, r.converted, r.won) for r in acc.depth(page_world)]
    # デルタ: both people came after D3 (03-01) → 0. ベータ: b1 before D2, b2 after → 1.
    # アルファ: a1, a2 before D1 (05-01), a3 after → 2; N and Solo have no deal: all their 2 leads.
    assert got == [(0, 0, 1, 1, 0), (1, 1, 1, 1, 1), (2, 2, 3, 1, 0)]
    assert acc.depth(page_world)[2].rate == pytest.approx(1 / 3)


def test_page_measures_company_only_deals(page_world):
    got = acc.company_only(page_world, "first")
    # D2's contact (boss@) is no lead; the deal belongs to ベータ by its company name.
    assert [(r["deal_id"], r["account_name"], r["opp_company"], r["outcome"], r["leads"], r["source"],
             r["contact"]) for r in got] == [("D2", "ベータ", "ベータ株式会社", "won", 2, "Web広告", "boss@beta.example.jp")]
    assert acc.company_only(page_world, "last")[0]["source"] == "展示会"


def test_page_measures_match_report(page_world):
    found = {m.company: m for m in acc.matches(page_world)}
    # Each shown by its leads' most frequent spelling that is a name (Solo, not 個人), ties to the
    # last in text order.
    assert set(found) == {"株式会社アルファ", "ベータ", "デルタ", None, "Solo"}
    by_checks = {m.checks: m for m in found.values() if m.checks}
    # デルタ + イプシロン share only a domain; N's two numbers share a domain (no names: only the
    # numbers' check); Solo holds 個人 (its one name is no second group).
    assert set(by_checks) == {("names_by_domain",), ("several_numbers",), ("placeholder",)}
    shared = by_checks[("names_by_domain",)]
    assert (shared.names, shared.numbers, shared.domains, shared.name_list) == (2, 0, 1, "イプシロン, デルタ")
    numbers = by_checks[("several_numbers",)]
    assert (numbers.numbers, numbers.number_list, numbers.formed) == (2, ", ".join(sorted([N1, N2])), ("number", "domain"))
    solo = by_checks[("placeholder",)]
    assert (solo.placeholder_leads, solo.leads, solo.names) == (1, 2, 1)
    # ベータ's two names are tied by one corporate number: not flagged.
    beta = [m for m in found.values() if m.numbers == 1][0]
    assert (beta.names, beta.checks, beta.formed) == (2, (), ("number", "name", "domain"))
    assert sum(m.leads for m in found.values()) == 11            # every lead but the free-mail one


def _world(ws: Any, tmp_path: Path, ma: list[dict[str, str]], sfa: list[dict[str, str]]) -> Any:
    (tmp_path / "ma.csv").write_text(_csv(MA_HEADER, ma), encoding="utf-8")
    (tmp_path / "sfa.csv").write_text(_csv({**SFA_HEADER, "created": "作成日"}, sfa), encoding="utf-8")
    ws.load("ma", Source.from_path(tmp_path / "ma.csv"))
    ws.load("sfa", Source.from_path(tmp_path / "sfa.csv"))
    return ws.build()


def test_names_by_domain_is_exact(ws, tmp_path):
    """Flagged: names that only a domain joins. Not flagged: two names one person wrote (the
    lead itself joins them), though its account has two names and no corporate number."""
    ma = [{"email": "x@w.example.jp", "company": "ダブリュー", "created": "2025-04-01"},
          {"email": "x@w.example.jp", "company": "ダブリュー商事", "created": "2025-04-02"},
          {"email": "y@w.example.jp", "company": "ダブリュー", "created": "2025-04-03"},
          {"email": "c1@shared.example.jp", "company": "デルタ", "created": "2025-04-01"},
          {"email": "c2@shared.example.jp", "company": "イプシロン", "created": "2025-04-02"},
          {"email": "c3@shared.example.jp", "company": "", "created": "2025-04-02"}]
    b = _world(ws, tmp_path, ma, [{"id": "D1", "email": "x@w.example.jp", "stage": "提案", "created": "2025-05-01"}])
    acc.build(ws.con, b.mappings)
    found = {m.name_list: m for m in acc.matches(ws.con)}
    assert set(found) == {"ダブリュー, ダブリュー商事", "イプシロン, デルタ"}
    w, shared = found["ダブリュー, ダブリュー商事"], found["イプシロン, デルタ"]
    assert (w.names, w.numbers, w.parts, w.checks) == (2, 0, 1, ())
    assert (shared.names, shared.leads, shared.parts, shared.checks) == (2, 3, 2, ("names_by_domain",))


EDIT_MA = [{"email": "x1@alpha.example.jp", "company": "アルファ", "created": "2025-04-01"},
           {"email": "x2@alpha.example.jp", "company": "ベータ", "created": "2025-04-02"},
           {"email": "x3@alpha.example.jp", "company": "ベータ", "created": "2025-04-03"},
           {"email": "y@gamma.example.jp", "company": "ガンマ", "created": "2025-04-04"}]
EDIT_SFA = [{"id": "D1", "email": "boss@elsewhere.example.jp", "company": "アルファ株式会社", "stage": "受注",
             "created": "2025-05-01"},
            {"id": "D2", "email": "y@gamma.example.jp", "stage": "提案", "created": "2025-05-01"}]


def _groups(con: Any) -> set[frozenset[str]]:
    """The accounts as sets of lead addresses and keys."""
    out: dict[int, set[str]] = {}
    for account, lead in rows(con, "SELECT account, lead_key FROM account_leads"):
        out.setdefault(account, set()).add(lead[2:])
    for account, k in rows(con, "SELECT account, k FROM account_keys"):
        out.setdefault(account, set()).add(k)
    return {frozenset(v) for v in out.values()}


@pytest.mark.parametrize("edit, want", [
    (acc.Edits(), {frozenset({"x1@alpha.example.jp", "x2@alpha.example.jp", "x3@alpha.example.jp", "c:アルファ", "c:ベータ",
                              "d:alpha.example.jp"}), frozenset({"y@gamma.example.jp", "c:ガンマ", "d:gamma.example.jp"})}),
    # The shared domain no longer joins: アルファ and ベータ part; the domain, joining nothing, is in no account.
    (acc.Edits().split_key("d:alpha.example.jp"),
     {frozenset({"x1@alpha.example.jp", "c:アルファ"}), frozenset({"x2@alpha.example.jp", "x3@alpha.example.jp", "c:ベータ"}),
      frozenset({"y@gamma.example.jp", "c:ガンマ", "d:gamma.example.jp"})}),
    # x1 alone keeps the name only it held (the deal by name follows it); the rest stays joined by the domain.
    (acc.Edits().split_lead("e:x1@alpha.example.jp"),
     {frozenset({"x1@alpha.example.jp", "c:アルファ"}),
      frozenset({"x2@alpha.example.jp", "x3@alpha.example.jp", "c:ベータ", "d:alpha.example.jp"}),
      frozenset({"y@gamma.example.jp", "c:ガンマ", "d:gamma.example.jp"})}),
    (acc.Edits().merge("c:ガンマ", "c:アルファ"),
     {frozenset({"x1@alpha.example.jp", "x2@alpha.example.jp", "x3@alpha.example.jp", "y@gamma.example.jp", "c:アルファ",
                 "c:ベータ", "c:ガンマ", "d:alpha.example.jp", "d:gamma.example.jp"})}),
])
def test_edits_merge_and_split_accounts(ws, tmp_path, edit, want):
    b = _world(ws, tmp_path, EDIT_MA, EDIT_SFA)
    acc.build(ws.con, b.mappings, edit)
    got = _groups(ws.con)
    assert got == want
    a = acc.summarise(ws.con)
    assert (a.accounts, a.converted) == (len(want), 1 if len(want) == 1 else 2)
    # D1 (no linked lead) belongs by its company name to アルファ's account, wherever that is.
    alpha = rows(ws.con, "SELECT account FROM account_keys WHERE k = 'c:アルファ'")[0][0]
    assert rows(ws.con, "SELECT account FROM account_opps o JOIN opps USING (opp_key) WHERE deal_id = 'D1'") == [(alpha,)]
    if edit:
        acc.build(ws.con, b.mappings)
        assert len(_groups(ws.con)) == 2               # the raw rule again


def test_account_numbers_follow_the_first_row(ws, tmp_path):
    """Accounts are numbered by their first lead row (creation date, undated last, then file
    order), whatever the key text: the same files give the same numbers, and the earliest
    company is account 1."""
    ma = [{"email": "z@zz.example.jp", "company": "ゼット", "created": "2025-06-01"},
          {"email": "a@aa.example.jp", "company": "エー", "created": ""},
          {"email": "m@mm.example.jp", "company": "エム", "created": "2025-03-01"},
          {"email": "m2@mm.example.jp", "company": "エム", "created": "2025-07-01"}]
    b = _world(ws, tmp_path, ma, [{"id": "D1", "email": "z@zz.example.jp", "stage": "提案", "created": "2025-05-01"}])
    numbers = []
    for _ in range(2):
        acc.build(ws.con, b.mappings)
        numbers.append({m.name_list: m.account for m in acc.matches(ws.con)})
    assert numbers[0] == numbers[1] == {"エム": 1, "ゼット": 2, "エー": 3}


def test_target_account_coverage(page_world, tmp_path):
    # First row: the header. Then a name in another spelling, a corporate number with a hyphen,
    # a URL, an address, an unknown company, a repeat and an empty cell.
    listed = ["ターゲット", "アルファ株式会社", f"{N1[:1]}-{N1[1:]}", "https://www.shared.example.jp/ja/",
              "someone@beta-group.example.jp", "ゼータ株式会社", "アルファ株式会社", ""]
    data = ("\n".join(listed) + "\n").encode()
    cov = acc.coverage(page_world, "targets.csv", data, tmp_path)
    got = [(x.target, x.found_by, x.company, x.leads, x.opps, x.won) for x in cov.targets]
    assert got == [("アルファ株式会社", "name", "株式会社アルファ", 3, 1, 0),
                   (f"{N1[:1]}-{N1[1:]}", "number", None, 2, 0, 0),
                   ("https://www.shared.example.jp/ja/", "domain", "デルタ", 2, 1, 0),
                   ("someone@beta-group.example.jp", "domain", "ベータ", 2, 1, 1),
                   ("ゼータ株式会社", None, None, 0, 0, 0)]
    assert (cov.engaged, cov.converted, cov.won) == (4, 3, 1)
    # The list's table is gone again; the account tables are untouched.
    assert not rows(page_world, "SELECT * FROM duckdb_tables() WHERE table_name = 'raw_target_list'")
