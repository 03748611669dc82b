"""Generate the bundled sample data in ``sample_data/`` (``make sample``): a fictional Japanese B2B
SaaS company's year (2025-04-01 … 2026-03-31) as an MA lead export (CP932 CSV), a Salesforce
formatted opportunity report (XLSX), monthly cost by source (UTF-8 BOM CSV) and a README whose
counts of the deliberate messiness are computed here; and in ``sample_data/previous/`` the same
two exports taken one month earlier (the baseline of 前回との比較 on the sample), derived from
this month's data so the comparison shows exactly what happened in that month.

Everything comes from one ``random.Random(SEED)`` over lists (never set order), so two runs write
identical files. Only the standard library and openpyxl: the generator does not use the engine it
feeds, so the tests can compare the two.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import sys
import zipfile
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import openpyxl
from openpyxl.styles import Font
from openpyxl.writer.excel import ExcelWriter

SEED = 20260402
OUT_DIR = Path(__file__).resolve().parents[1] / "sample_data"
START, END = dt.date(2025, 4, 1), dt.date(2026, 3, 31)
EXPORTED = dt.datetime(2026, 4, 2, 9, 15)          # when both exports were taken
PREVIOUS = dt.datetime(2026, 3, 2, 9, 15)          # last month's exports (sample_data/previous/)
N_DELETED = 3                                      # leads in last month's export deleted since
N_PEOPLE = 2880                                    # distinct people; duplicates bring rows to ~3,000
DUP_SHARE = 0.04                                   # rows that repeat a person (re-registration)

# Source: (share of people, true opportunity rate). Volumes and rates differ the way they do in
# Japanese B2B SaaS: events and content syndication bring many cold leads, inquiries few hot ones.
SOURCES: dict[str, tuple[float, float]] = {
    "展示会": (0.25, 0.07), "資料ダウンロード": (0.23, 0.05), "ウェビナー": (0.14, 0.10),
    "Web広告": (0.11, 0.13), "自然検索": (0.09, 0.09), "メルマガ": (0.07, 0.04),
    "問い合わせ": (0.06, 0.28), "紹介": (0.03, 0.22), "": (0.02, 0.06)}
# Cost per lead the cost file is built around (¥), for the paid sources only.
CPA = {"展示会": 22000, "ウェビナー": 9000, "Web広告": 16000, "資料ダウンロード": 7000, "メルマガ": 6000}
EVENTS = [(dt.date(2025, 5, 14), 3), (dt.date(2025, 7, 9), 3), (dt.date(2025, 10, 8), 3),
          (dt.date(2025, 11, 12), 2), (dt.date(2026, 1, 21), 3), (dt.date(2026, 2, 18), 2)]


def _pairs(text: str) -> list[tuple[str, str]]:
    return [(k, r) for k, r in (w.split(":") for w in text.split())]


SURNAMES = _pairs(
    "佐藤:sato 鈴木:suzuki 高橋:takahashi 田中:tanaka 伊藤:ito 渡辺:watanabe 山本:yamamoto 中村:nakamura "
    "小林:kobayashi 加藤:kato 吉田:yoshida 山田:yamada 佐々木:sasaki 山口:yamaguchi 松本:matsumoto 井上:inoue "
    "木村:kimura 林:hayashi 斎藤:saito 清水:shimizu 山崎:yamazaki 森:mori 池田:ikeda 橋本:hashimoto 阿部:abe "
    "石川:ishikawa 前田:maeda 藤田:fujita 小川:ogawa 岡田:okada 後藤:goto 長谷川:hasegawa 村上:murakami "
    "近藤:kondo 石井:ishii 坂本:sakamoto 遠藤:endo 青木:aoki 藤井:fujii 西村:nishimura 福田:fukuda 太田:ota "
    "三浦:miura 藤原:fujiwara 松田:matsuda 中川:nakagawa 中野:nakano 原田:harada 小野:ono 竹内:takeuchi")
GIVEN = _pairs(
    "翔太:shota 大輔:daisuke 健太:kenta 拓也:takuya 直樹:naoki 亮:ryo 誠:makoto 浩二:koji 和也:kazuya "
    "達也:tatsuya 隆:takashi 聡:satoshi 剛:tsuyoshi 悠斗:yuto 洋平:yohei 美咲:misaki 陽子:yoko 恵:megumi "
    "由美:yumi 彩:aya 麻衣:mai 裕子:yuko 智子:tomoko 真由美:mayumi 沙織:saori 萌:moe 千尋:chihiro 奈々:nana "
    "明美:akemi 香織:kaori")
# 髙 and 﨑 exist only in CP932 (not in plain Shift_JIS): they are what breaks naive readers.
VARIANT = {"高橋": "髙橋", "山崎": "山﨑"}
STEMS = _pairs(
    "東和:towa 三協:sankyo 北斗:hokuto 富士見:fujimi 光陽:koyo 青葉:aoba 昭栄:shoei 丸山:maruyama "
    "新光:shinko 大洋:taiyo 平和:heiwa 協和:kyowa 信和:shinwa 太平:taihei 椿野:tsubakino 葵:aoi 楓:kaede "
    "暁:akatsuki 白鷺:shirasagi 若葉:wakaba 千鳥:chidori 碧海:hekikai 東雲:shinonome 北辰:hokushin "
    "銀河:ginga 星川:hoshikawa 水城:mizuki 森下:morishita 丸杉:marusugi 三栄:san-ei 高砂:takasago "
    "髙田:takada 髙橋:takahashi 山﨑:yamazaki 稲葉:inaba 柏木:kashiwagi 井筒:izutsu 大槻:otsuki "
    "藤枝:fujieda 秋月:akizuki 霧島:kirishima 桂:katsura 浅葱:asagi 琥珀:kohaku 鳴海:narumi 芹沢:serizawa "
    "柊:hiiragi 翠光:suiko 朱雀:suzaku 萌木:moegi 常盤:tokiwa 隼:hayabusa 港南:konan 緑川:midorikawa")
SUFFIXES = _pairs(
    "製作所:seisakusho 商事:shoji 工業:kogyo 電機:denki 精密:seimitsu 物流:logistics 建設:kensetsu "
    "化学:kagaku 食品:foods システムズ:systems ソリューションズ:solutions テクノロジー:tech 印刷:insatsu "
    "薬品:yakuhin 不動産:estate 産業:sangyo 通商:tsusho 技研:giken")
DEPTS = ["営業部", "営業企画部", "マーケティング部", "マーケティング本部 デジタル推進課", "情報システム部",
         "経営企画部", "DX推進室", "総務部", "人事部", "カスタマーサクセス部", "事業開発部", "営業部 第①グループ", ""]
# (the ① department is rare and a blank department common: make_people weights them)
TITLES = ["", "担当", "主任", "係長", "課長", "部長", "マネージャー", "リーダー", "執行役員", "代表取締役"]
IS_STAFF = ["中島 美穂", "小野寺 拓海", "松井 里奈", "大野 慎也", "原田 彩花"]
SALES = ["佐藤 健一", "山本 隆之", "木下 真理子", "石田 翔", "岡本 由佳"]
PRODUCTS = ["営業支援クラウド Standard 新規導入", "営業支援クラウド Enterprise 新規導入", "MA連携オプション",
            "導入支援パック", "営業支援クラウド 追加ライセンス"]
OPEN_STAGES = ["1.アプローチ", "2.ヒアリング", "3.提案", "4.見積提示", "5.交渉"]
# Free-text loss reasons as sales reps type them, weighted; they mix the engine's categories
# (予算/タイミング/競合/ニーズ/その他) and some match none of its keywords.
LOSS_TEXTS = [("予算が確保できなかった", 8), ("予算不足のため見送り", 4), ("費用対効果が見合わない", 4),
              ("価格が高いとの判断", 4), ("来期に再検討", 7), ("導入時期が合わない", 5), ("繁忙期のため延期", 3),
              ("組織変更で一旦保留", 2), ("担当者異動のため白紙", 2), ("他社製品に決定（価格面）", 8),
              ("競合A社を採用", 5), ("既存ツール継続", 3), ("相見積で負け", 2), ("ニーズがなくなった", 4),
              ("情報収集のみだった", 3), ("機能不足（外部連携）", 3), ("規模が合わない", 2), ("音信不通", 5),
              ("社内稟議が通らず", 4), ("決裁者不在", 2), ("セキュリティ審査NG", 2), ("先方都合", 2)]
# Addresses a form or a rep mangled (no key): top-level domain lost, domain lost, "@" lost, placeholders.
INVALID_EMAILS = ["{local}@{label}", "なし", "{local}@", "{local}.{domain}", "不明", "-"]
MA_HEADER = ["メールアドレス", "苗字", "名前", "企業名", "部署名", "役職", "流入元", "最終流入元", "登録日時",
             "スコア", "ステータス", "MQL日", "SQL日", "担当者"]
SFA_HEADER = ["商談 ID", "商談名", "取引先名", "取引先責任者: メール", "商談 所有者", "フェーズ", "金額",
              "完了予定日", "作成日", "リードソース", "失注理由"]


def footer(exported: dt.datetime) -> list[str]:
    return ["機密情報 - 配布禁止", "Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved.",
            f"作成者: 佐藤 健一 / {exported:%Y/%m/%d} {exported.hour}:{exported:%M}", "株式会社ファネルラボ"]


FOOTER = footer(EXPORTED)


@dataclass
class Company:
    name: str          # official form, as the SFA account holds it
    domain: str
    pattern: int       # the company's e-mail address convention (index into address() forms)


@dataclass
class Person:
    """One MA row: a person's registration (a duplicate row is a copy with its own values)."""

    surname: str
    given: str
    company: Company
    email: str                         # canonical address ("" when the row has no usable one)
    ma_email: str                      # as written in the MA export
    source: str
    latest: str                        # 最終流入元
    created: dt.datetime
    dept: str
    title: str
    stage: str = "リード"
    mql: dt.date | None = None
    sql: dt.date | None = None
    score: int = 0
    owner: str = ""
    converts: bool = False             # will become an opportunity (if the export is late enough)
    won: bool = False
    n_opps: int = 0
    dup: bool = False                  # registered a second time (has an extra MA row)
    second: bool = False               # this row is the second registration
    latest_before: str = ""            # 最終流入元 before the second registration


@dataclass
class Opp:
    deal_id: str
    account: str
    emails: list[str]                  # one report row per contact role
    owner: str
    created: dt.date
    source: str
    linked: bool                       # the contact is an MA lead
    stage: str = ""
    close: dt.date = END
    amount: int | None = None
    amount_text: bool = False
    loss: str = ""
    name: str = ""


def clamp(x: float, lo: int, hi: int) -> int:
    return max(lo, min(hi, int(round(x))))


def make_companies(rng: random.Random) -> list[Company]:
    combos = [(s, x) for s in STEMS for x in SUFFIXES]
    out = []
    for (stem, sr), (suf, xr) in rng.sample(combos, 900):
        form = rng.random()
        name = f"株式会社{stem}{suf}" if form < 0.6 else f"{stem}{suf}株式会社" if form < 0.95 else f"有限会社{stem}{suf}"
        tld = rng.choices(["example.co.jp", "example.jp", "example.com"], [70, 15, 15])[0]  # never a real domain
        out.append(Company(name, f"{sr}-{xr}.{tld}", rng.randrange(6)))
    return out


def address(c: Company, s: str, g: str, used: set[str]) -> str:
    """A new address on the company's convention: two people never share one, so every
    duplicate in the MA file is a deliberate one (and counted)."""
    forms = [f"{g}.{s}", f"{s}.{g}", f"{g[0]}.{s}", f"{s}", f"{s}-{g[0]}", f"{g}_{s}"]
    for local in [forms[c.pattern]] + forms + [f"{s}{n}" for n in range(2, 99)]:
        if f"{local}@{c.domain}" not in used:
            used.add(f"{local}@{c.domain}")
            return f"{local}@{c.domain}"
    raise RuntimeError("no free address")


def person_name(rng: random.Random) -> tuple[str, str, str, str]:
    (s, sr), (g, gr) = rng.choice(SURNAMES), rng.choice(GIVEN)
    return (VARIANT.get(s, s) if rng.random() < 0.3 else s), g, sr, gr


def created_at(rng: random.Random, source: str, after: dt.datetime | None = None) -> dt.datetime:
    """Registration time: 展示会 cards are imported days after an event, webinar sign-ups come in
    the two weeks before a session, the rest fall mostly on business days. ``after``: a later one."""
    for _ in range(200):
        if source == "展示会":
            start, days = rng.choice(EVENTS)
            d = start + dt.timedelta(days=rng.randrange(days) + rng.choice([1, 1, 2, 3, 5]))
        elif source == "ウェビナー":
            month = rng.randrange(12)
            first = dt.date(2025 + (3 + month) // 12, (3 + month) % 12 + 1, 1)
            thursday = first + dt.timedelta(days=(3 - first.weekday()) % 7 + 7 * rng.choice([1, 3]))
            d = max(START, thursday - dt.timedelta(days=rng.randint(0, 14)))
        else:
            d = START + dt.timedelta(days=rng.randrange((END - START).days + 1))
            if d.weekday() >= 5 and rng.random() < 0.75:
                continue
        if after is None or d >= after.date() + dt.timedelta(days=14):
            return dt.datetime.combine(d, dt.time(rng.choice([9, 10, 11, 13, 14, 15, 16, 17, 18, 21]),
                                                  rng.randrange(60)))
    return after + dt.timedelta(days=14) if after else dt.datetime.combine(START, dt.time(9))


def walk_funnel(rng: random.Random, p: Person) -> dt.date | None:
    """Status, MQL/SQL dates, score and owner of a lead; the date of its opportunity if it became
    one. Stages that would fall after the export are not reached yet: recent cohorts are immature."""
    v = rng.random()
    target = 4 if p.converts else 0 if v < 0.05 else 3 if v < 0.11 else 2 if v < 0.33 else 1
    hot = p.source in ("問い合わせ", "紹介")
    mql = p.created.date() + dt.timedelta(days=0 if hot else int(rng.expovariate(1 / 8)))
    sql = mql + dt.timedelta(days=rng.randint(1, 21))
    opp = sql + dt.timedelta(days=rng.randint(1, 10))
    reached = target
    for level, when, limit in ((4, opp, END), (3, sql, EXPORTED.date()), (2, mql, EXPORTED.date())):
        if reached == level and when > limit:
            reached -= 1
    p.stage = {0: "対象外", 1: "リード", 2: "MQL", 3: "SQL", 4: "商談化"}[reached]
    p.mql = mql if reached >= 2 and not (reached == 4 and rng.random() < (0.2 if hot else 0.02)) else None
    p.sql = sql if reached >= 3 else None
    p.score = clamp(rng.gauss({0: 20, 1: 35, 2: 80, 3: 105, 4: 125}[reached], 25), 0, 200)
    p.owner = rng.choice(IS_STAFF) if reached != 1 or rng.random() < 0.1 else ""
    return opp if reached == 4 else None


def settle(rng: random.Random, o: Opp, p_win: float) -> None:
    """Stage, close date, amount and loss reason of a deal as of the export."""
    cycle = rng.randint(21, 150)
    o.close = o.created + dt.timedelta(days=cycle)
    if o.close < EXPORTED.date():
        o.stage = "6.受注" if rng.random() < p_win else "7.失注"
        if o.stage == "7.失注" and rng.random() >= 0.15:
            o.loss = rng.choices([t for t, _ in LOSS_TEXTS], [w for _, w in LOSS_TEXTS])[0]
    else:
        o.stage = OPEN_STAGES[min(4, int((EXPORTED.date() - o.created).days / cycle * 5))]
        if rng.random() < 0.06:        # overdue: the rep has not moved the close date
            o.close = max(o.created, EXPORTED.date() - dt.timedelta(days=rng.randint(3, 40)))
    amount = clamp(rng.lognormvariate(14.5, 0.75), 300_000, 12_000_000) // 10_000 * 10_000
    o.amount = None if o.stage in OPEN_STAGES[:2] and rng.random() < 0.3 else amount   # not quoted yet
    o.amount_text = o.amount is not None and rng.random() < 0.02


def deal_id(rng: random.Random, used: set[str]) -> str:
    """An 18-character Salesforce-looking opportunity ID (prefix 006)."""
    chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    while (i := "0065g00000" + "".join(rng.choice(chars) for _ in range(8))) in used:
        pass
    used.add(i)
    return i


def recase(rng: random.Random, email: str) -> str:
    local, domain = email.split("@")
    return rng.choice([email.upper(), ".".join(w.capitalize() for w in local.split(".")) + "@" + domain])


def fullwidth(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


def make_people(rng: random.Random, companies: list[Company], used: set[str], tally: Counter[str]) -> list[Person]:
    weights = [1 / (i + 3) ** 0.7 for i in range(len(companies))]   # a few companies bring many leads
    people = []
    for _ in range(N_PEOPLE):
        c = rng.choices(companies, weights)[0]
        s, g, sr, gr = person_name(rng)
        src = rng.choices(list(SOURCES), [share for share, _ in SOURCES.values()])[0]
        email = address(c, sr, gr, used)
        latest = src if rng.random() < 0.6 else rng.choice(["メルマガ", "ウェビナー", "自然検索", "資料ダウンロード"])
        people.append(Person(s, g, c, email, email, src, latest, created_at(rng, src),
                             rng.choices(DEPTS, [10] * (len(DEPTS) - 2) + [1, 8])[0],
                             rng.choices(TITLES, [20, 25, 10, 8, 12, 8, 7, 5, 3, 2])[0]))
    for i, p in enumerate(rng.sample(people, 9 + len(INVALID_EMAILS))):   # rows a linker cannot key
        local, domain = p.email.split("@")
        bad = "" if i < 9 else INVALID_EMAILS[i - 9].format(local=local, domain=domain, label=domain.split(".")[0])
        p.email, p.ma_email = "", bad
        tally["ma_blank_email" if i < 9 else "ma_invalid_email"] += 1
    # Exactly round(rate × leads) of each source's keyed leads convert: the sample shows the designed
    # rates (less the immature recent cohorts) instead of sampling noise on small sources like 紹介.
    for src, (_, rate) in SOURCES.items():
        group = [p for p in people if p.email and p.source == src]
        for p in rng.sample(group, round(rate * len(group))):
            p.converts = True
    for p in rng.sample([p for p in people if p.email], 45):          # typed in capitals on a form
        p.ma_email = p.email.upper()
        tally["ma_upper_case_email"] += 1
    return people


def make_opps(rng: random.Random, people: list[Person], companies: list[Company], used: set[str],
              tally: Counter[str]) -> list[Opp]:
    opps: list[Opp] = []
    ids: set[str] = set()
    for p in people:
        when = walk_funnel(rng, p)
        while when is not None and when <= END:
            email = recase(rng, p.email) if rng.random() < 0.12 else p.email   # as the rep typed it
            tally["sfa_email_case_differs"] += email != p.ma_email
            o = Opp(deal_id(rng, ids), p.company.name, [email], rng.choice(SALES), when,
                    p.source if rng.random() < 0.9 else "", True)
            settle(rng, o, 0.2 + 0.12 * (p.source in ("問い合わせ", "紹介")) + 0.08 * (p.score >= 140))
            opps.append(o)
            p.n_opps += 1
            p.won = p.won or o.stage == "6.受注"
            # Some leads get a second deal (re-proposal after a loss, or an add-on after a win).
            again = o.stage in ("6.受注", "7.失注") and rng.random() < 0.06
            when = o.close + dt.timedelta(days=rng.randint(20, 90)) if again else None
        if p.n_opps:
            p.stage = "受注" if p.won else "商談化"
            tally["ma_two_opportunities"] += p.n_opps > 1
            tally["ma_converted_without_mql"] += p.mql is None
    # Sales-sourced deals: contacts that never were MA leads, a third of them with no address.
    for k in range(round(len(opps) * 0.12 / 0.88)):
        c = rng.choice(companies)
        _, _, sr, gr = person_name(rng)
        email = "" if k % 3 == 0 else address(c, sr, gr, used)
        o = Opp(deal_id(rng, ids), c.name, [email], rng.choice(SALES),
                START + dt.timedelta(days=rng.randrange((END - START).days + 1)),
                rng.choice(["営業開拓", "既存顧客", "パートナー", "テレアポ", ""]), False)
        settle(rng, o, 0.28)
        opps.append(o)
        tally["sfa_unlinked_email" if email else "sfa_unlinked_blank_email"] += 1
    for o in opps:
        o.name = f"{o.account} - {rng.choice(PRODUCTS)}"
    # Contact roles: a deal with two contacts is listed twice (same 商談 ID, second contact's address).
    for o in rng.sample([o for o in opps if o.emails[0]], round(len(opps) * 0.03)):
        _, _, sr, gr = person_name(rng)
        o.emails.append(address(Company("", o.emails[0].split("@")[1].lower(), rng.randrange(6)), sr, gr, used))
        tally["sfa_contact_role_repeats"] += 1
    return opps


def duplicates(rng: random.Random, people: list[Person], tally: Counter[str]) -> list[Person]:
    """Second registrations of ~4% of the people (some of whom won deals), later and from another
    source, the address written differently (case, full-width, spaces incl. U+3000): still one
    person after NFKC, trimming and lower-casing."""
    n = round(len(people) * DUP_SHARE / (1 - DUP_SHARE))
    able = [p for p in people if p.email and p.ma_email == p.email and p.created.date() <= END - dt.timedelta(days=45)]
    chosen = rng.sample([p for p in able if p.won], 6) + rng.sample([p for p in able if p.n_opps and not p.won], 12)
    chosen += rng.sample([p for p in able if not p.n_opps], n - len(chosen))
    out = []
    for i, p in enumerate(chosen):
        p.dup = True
        kind = ["case", "fullwidth", "spaces", "ideographic_space"][i % 4]
        e = p.email
        email = {"case": recase(rng, e), "fullwidth": fullwidth(e.upper() if rng.random() < 0.5 else e),
                 "spaces": f"  {e} ", "ideographic_space": rng.choice([f"\u3000{e}", f"{e}\u3000", f" {e}\u3000"])}[kind]
        src = rng.choice([s for s in SOURCES if s not in ("", p.source)])
        p.latest_before, p.latest = p.latest, src   # 最終流入元 is the newest touch on every row
        out.append(replace(p, second=True, ma_email=email, source=src, latest=src, created=created_at(rng, src, p.created),
                           stage="リード", mql=None, sql=None, owner="", score=clamp(rng.gauss(30, 15), 0, 200)))
        tally[f"ma_duplicate_{kind}"] += 1
    tally["ma_duplicate_rows"] = len(out)
    return out


def ma_rows(rng: random.Random, people: list[Person]) -> list[tuple[list[str], Person]]:
    """The MA rows in registration order, each with the person (registration) it shows."""
    rows = []
    for p in people:
        day = [f"{d:%Y/%m/%d}" if d else "" for d in (p.mql, p.sql)]
        company = p.company.name.replace("株式会社", "㈱") if rng.random() < 0.05 else p.company.name  # typed on a form
        rows.append(([p.ma_email, p.surname, p.given, company, p.dept, p.title, p.source, p.latest,
                      f"{p.created:%Y/%m/%d %H:%M}", str(p.score), p.stage, *day, p.owner], p))
    return sorted(rows, key=lambda r: r[0][8])    # stable: ties keep the generation order


def build(rng: random.Random) -> tuple[list[tuple[list[str], Person]], list[Opp], Counter[str]]:
    """All people, their deals and the MA rows (each with its person); ``tally`` counts each
    deliberate flaw."""
    tally: Counter[str] = Counter()
    used: set[str] = set()                     # every address handed out (membership tests only)
    companies = make_companies(rng)
    people = make_people(rng, companies, used, tally)
    opps = make_opps(rng, people, companies, used, tally)
    pairs = ma_rows(rng, people + duplicates(rng, people, tally))
    rows = [r for r, _ in pairs]
    # What a correct reader must find (the tests compare the engine with these and with pandas).
    tally["expected_leads"] = sum(1 for p in people if p.email)
    tally["expected_converted"] = sum(1 for p in people if p.n_opps)
    tally["expected_linked"] = sum(1 for o in opps if o.linked)
    dup_won = {p.email for p in people if p.dup and p.won}
    tally["sfa_won_deals_of_duplicated_people"] = sum(
        o.stage == "6.受注" and any(e.lower() in dup_won for e in o.emails) for o in opps)
    for o in opps:
        tally["sfa_amount_text"] += o.amount_text
        tally["sfa_amount_blank"] += o.amount is None
        tally["sfa_loss_blank"] += o.stage == "7.失注" and not o.loss
        tally["sfa_open_overdue"] += o.stage in OPEN_STAGES and o.close < EXPORTED.date()
    for r in rows:
        tally["ma_company_kabu"] += "㈱" in r[3]
        tally["ma_company_taka"] += "髙" in r[3]
        tally["ma_dept_maru1"] += "①" in r[4]
        tally["ma_person_cp932_kanji"] += "髙" in r[1] or "﨑" in r[1]
        tally["ma_blank_source"] += r[6] == ""
    return pairs, opps, tally


# -- last month's exports (sample_data/previous/) ------------------------------------------------
# The same company as of PREVIOUS, one month before EXPORTED: this month's people and deals taken
# back in time, so the two snapshots differ by exactly what happened in between. The few things
# the current data does not fix (a score before it rose, an amount not yet quoted, the leads
# deleted since) come from a generator of their own, so this month's files keep every byte.
LEVEL = {"対象外": 0, "リード": 1, "MQL": 2, "SQL": 3, "商談化": 4, "受注": 5}


def stage_then(o: Opp) -> str:
    """A deal's フェーズ at PREVIOUS: a deal closed before then as now, an overdue deal already
    stalled at its stage; any other the open stage its cycle had reached (as in settle())."""
    if o.close < PREVIOUS.date() or (o.stage in OPEN_STAGES and o.close < EXPORTED.date()):
        return o.stage
    cycle = (o.close - o.created).days
    return OPEN_STAGES[min(4, int((PREVIOUS.date() - o.created).days / cycle * 5))]


def previous_opps(rng: random.Random, opps: list[Opp]) -> list[Opp]:
    """The deals created before PREVIOUS, at their stage of then (open: no loss reason yet)."""
    out = []
    for o in opps:
        if o.created >= PREVIOUS.date():
            continue
        stage = stage_then(o)
        if o.stage == "7.失注" and stage in OPEN_STAGES:        # lost since: it had often stalled a stage or two back
            i = OPEN_STAGES.index(stage)
            stage = OPEN_STAGES[max(min(i, 1), i - rng.choice([0, 0, 1, 1, 2]))]
        amount = o.amount
        if stage != o.stage and stage in OPEN_STAGES[:2] and amount is not None and rng.random() < 0.3:
            amount = None                                           # not quoted yet
        out.append(replace(o, stage=stage, loss=o.loss if stage == o.stage else "", amount=amount,
                           amount_text=o.amount_text and amount is not None))
    return out


def lead_then(rng: random.Random, row: list[str], p: Person, deals: list[Opp], second_at: dt.datetime | None) -> list[str]:
    """A first registration's MA row at PREVIOUS: status from the deals and dates of then."""
    day = PREVIOUS.date()
    if deals:
        stage = "受注" if any(o.stage == "6.受注" for o in deals) else "商談化"
    elif row[10] == "対象外":
        stage = "対象外"
    else:
        stage = "SQL" if p.sql and p.sql < day else "MQL" if p.mql and p.mql < day else "リード"
    score = int(row[9])
    if LEVEL[stage] < LEVEL[row[10]]:
        score = clamp(score - rng.randint(15, 45), 0, 200)           # the score rose with the stage
    mql, sql = (f"{d:%Y/%m/%d}" if d and d < day else "" for d in (p.mql, p.sql))
    owner = "" if stage == "リード" and row[10] != "リード" else row[13]
    latest = p.latest_before if second_at is not None and second_at >= PREVIOUS else row[7]
    return [*row[:7], latest, row[8], str(score), stage, mql, sql, owner]


def deleted_leads(rng: random.Random, pairs: list[tuple[list[str], Person]], opps: list[Opp]) -> list[list[str]]:
    """Leads of last month's export that the MA has deleted since (unsubscribed, asked to be
    removed): never contacted, at addresses nobody else has."""
    used = {p.email for _, p in pairs if p.email} | {e.lower() for o in opps for e in o.emails if e}
    out = []
    for _ in range(N_DELETED):
        c = rng.choice([p.company for _, p in pairs])
        s, g, sr, gr = person_name(rng)
        src = rng.choices(list(SOURCES)[:-1], [share for share, _ in list(SOURCES.values())[:-1]])[0]
        while (created := created_at(rng, src)) >= PREVIOUS:
            pass
        out.append([address(c, sr, gr, used), s, g, c.name, rng.choice(DEPTS[:-2]), rng.choice(TITLES), src, src,
                    f"{created:%Y/%m/%d %H:%M}", str(clamp(rng.gauss(20, 8), 0, 200)), "リード", "", "", ""])
    return out


def previous_month(rng: random.Random, pairs: list[tuple[list[str], Person]],
                   opps: list[Opp]) -> tuple[list[list[str]], list[Opp], dict[str, int]]:
    """Last month's MA rows and deals, and the changes the comparison must find (``previous_*``)."""
    then_opps = previous_opps(rng, opps)
    deals: dict[str, list[Opp]] = {}
    for o in then_opps:
        if o.linked:
            deals.setdefault(o.emails[0].lower(), []).append(o)
    seconds = {p.email: p.created for _, p in pairs if p.second}
    rows = [row if p.second else lead_then(rng, row, p, deals.get(p.email, []) if p.email else [], seconds.get(p.email))
            for row, p in pairs if p.created < PREVIOUS]
    rows = sorted(rows + deleted_leads(rng, pairs, opps), key=lambda r: r[8])
    firsts = [p for _, p in pairs if p.email and not p.second]
    before = {o.deal_id: o.stage for o in then_opps}
    new = [p for p in firsts if p.created >= PREVIOUS]
    plan = {"previous_ma_rows": len(rows), "previous_leads": len(firsts) - len(new) + N_DELETED,
            "previous_opps": len(then_opps), "previous_new_leads": len(new),
            "previous_new_converted": sum(p.n_opps > 0 for p in new),
            "previous_newly_converted": sum(p.n_opps > 0 and p.created < PREVIOUS and p.email not in deals for p in firsts),
            "previous_removed_leads": N_DELETED, "previous_new_opps": len(opps) - len(then_opps),
            "previous_moved": sum(o.stage != before[o.deal_id] for o in opps if o.deal_id in before)}
    for stage, kind in (("6.受注", "won"), ("7.失注", "lost")):
        plan[f"previous_{kind}"] = sum(o.stage == stage != before.get(o.deal_id) for o in opps)
    return rows, then_opps, plan


def write_ma(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([MA_HEADER] + rows)
    path.write_bytes(buf.getvalue().encode("cp932"))   # strict: a character CP932 lacks is a bug here


def write_sfa(path: Path, opps: list[Opp], exported: dt.datetime = EXPORTED) -> int:
    """The formatted report: title block, table from B4, total row, blank row, footer. Returns rows."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "商談レポート"
    ws["B1"] = "商談一覧（リードソース別）"
    ws["B1"].font = Font(bold=True, size=14)
    ws["B2"] = f"フィルタ条件: 作成日 {START:%Y/%m/%d}〜{END:%Y/%m/%d}"
    ws.append([])
    ws.append([None] + SFA_HEADER)
    total, n = 0, 0                  # the report's 総計 sums rows, so a repeated deal counts twice
    for o in sorted(opps, key=lambda o: (o.created, o.deal_id)):
        amount: int | str | None = f"¥{o.amount:,}" if o.amount_text else o.amount
        for email in o.emails:
            total += o.amount or 0
            ws.append([None, o.deal_id, o.name, o.account, email or None, o.owner, o.stage, amount,
                       o.close, o.created, o.source or None, o.loss or None])
            n += 1
            r = ws.max_row
            ws.cell(r, 8).number_format = '"¥"#,##0'
            ws.cell(r, 9).number_format = ws.cell(r, 10).number_format = "yyyy/mm/dd"
    ws.append([None, "総計", None, None, None, None, None, total])
    ws.cell(ws.max_row, 8).number_format = '"¥"#,##0'
    ws.append([])
    for line in footer(exported):
        ws.append([None, line])
    for col, width in zip("ABCDEFGHIJKL", [2, 20, 58, 28, 40, 12, 12, 14, 12, 12, 12, 26], strict=True):
        ws.column_dimensions[col].width = width
    # Fixed document properties and zip timestamps: the same data gives the same bytes.
    wb.properties.creator = wb.properties.lastModifiedBy = "佐藤 健一"
    wb.properties.created = wb.properties.modified = exported
    raw = io.BytesIO()
    ExcelWriter(wb, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED)).save()
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=exported.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))
    path.write_bytes(out.getvalue())
    return n


def write_cost(path: Path, rows: list[list[str]], rng: random.Random) -> dict[str, tuple[int, int]]:
    """Monthly cost of the paid sources ≈ that month's registrations × the source's CPA (±15%);
    展示会 costs fall only in event months. Returns source → (cost, registrations)."""
    regs = Counter((r[8][:7].replace("/", "-"), r[6]) for r in rows)
    lines, totals = [["月", "流入元", "費用"]], {s: (0, 0) for s in CPA}
    month = START
    while month <= END:
        ym = f"{month:%Y-%m}"
        for src, cpa in CPA.items():
            n = regs[(ym, src)]
            if n == 0 and src == "展示会":
                continue
            cost = round(max(n, 3) * cpa * rng.uniform(0.85, 1.15), -3)
            lines.append([ym, src, str(int(cost))])
            totals[src] = (totals[src][0] + int(cost), totals[src][1] + n)
        month = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(lines)
    path.write_bytes(buf.getvalue().encode("utf-8-sig"))
    return totals


def write_readme(path: Path, t: Counter[str], n_rows: int, n_sfa_rows: int, opps: list[Opp],
                 costs: dict[str, tuple[int, int]], p: dict[str, int]) -> None:
    won, lost = (sum(o.stage == st for o in opps) for st in ("6.受注", "7.失注"))
    cpa = "、".join(f"{s} ¥{c // max(n, 1):,}" for s, (c, n) in costs.items())
    text = f"""# サンプルデータ（sample_data/）

架空の国内 B2B SaaS 企業の 1 年分（リード登録日 {START:%Y/%m/%d}〜{END:%Y/%m/%d}、エクスポート {EXPORTED:%Y/%m/%d}）。
`scripts/make_sample_data.py` が固定シードで生成します（`make sample`）。この README も同スクリプトが書き出すので、
件数はすべて生成時に数えた値です。手で編集しないでください。

| ファイル | 内容 | 形式の特徴 |
|---|---|---|
| `ma_leads.csv` | MA（SATORI / Marketo 風）のリード一覧 {n_rows:,} 行 | **CP932**・CRLF・BOM なし。登録日時 `2025/04/01 10:23`、MQL日/SQL日 `2025/04/08` |
| `sfa_opportunities.xlsx` | Salesforce の書式設定済みレポート（シート `商談レポート`）。商談 {len(opps):,} 件・{n_sfa_rows:,} 行 | タイトルとフィルタ条件の下、表は **B4 から**（A 列は空）。金額・日付は数値/日付セル。表の後に `総計` 行・空行・フッター {len(FOOTER)} 行 |
| `cost_by_source.csv` | 有料の流入元の月別費用（`月, 流入元, 費用`） | **UTF-8（BOM 付き）**・CRLF。展示会は開催月のみ。年間の獲得単価（費用 ÷ 登録行数）: {cpa} |
| `previous/ma_leads.csv` | 1 か月前（{PREVIOUS:%Y/%m/%d}）に同じ MA から取ったリード一覧 {p['previous_ma_rows']:,} 行 | `ma_leads.csv` と同じ形式・同じ汚れ（CP932・CRLF） |
| `previous/sfa_opportunities.xlsx` | 同じ日の Salesforce レポート。商談 {p['previous_opps']:,} 件・{p['previous_sfa_rows']:,} 行 | `sfa_opportunities.xlsx` と同じ書式（フッターの作成日時が {PREVIOUS:%Y/%m/%d}） |

## 正しく読めたときの集計値

メールアドレスを正規化（NFKC・前後の空白除去・小文字化）して突き合わせると: リード {t['expected_leads']:,} 人（キーなし {t['ma_blank_email'] + t['ma_invalid_email']} 行）、
商談 {len(opps):,} 件（うちリードに紐付く {t['expected_linked']:,} 件・紐付かない {len(opps) - t['expected_linked']} 件）、
商談化したリード {t['expected_converted']:,} 人。受注 {won} 件・失注 {lost} 件・進行中 {len(opps) - won - lost} 件。
直近の登録ほど商談化がまだ進んでいないため、流入元別の商談化率は生成時の設定値よりやや低く出ます。

## 意図的に入れている「汚れ」

MA（`ma_leads.csv`）
- 同一人物の再登録（後日・別の流入元）: {t['ma_duplicate_rows']} 行。メールアドレスは大文字小文字違い {t['ma_duplicate_case']}・全角 {t['ma_duplicate_fullwidth']}・前後に半角スペース {t['ma_duplicate_spaces']}・全角スペース（U+3000）付き {t['ma_duplicate_ideographic_space']} 行
- 重複ではないがメールアドレスが全て大文字: {t['ma_upper_case_email']} 行
- メールアドレスが空欄 {t['ma_blank_email']} 行、形式不正（`tanaka@example` のようなドメイン欠け、`@` 以降なし、`@` なし、`なし`・`不明`・`-`）{t['ma_invalid_email']} 行: どちらも紐付けのキーにならない
- CP932 にしかない文字: 企業名の `㈱` {t['ma_company_kabu']} 行・`髙` {t['ma_company_taka']} 行、部署名の `①` {t['ma_dept_maru1']} 行、苗字の `髙`/`﨑` {t['ma_person_cp932_kanji']} 行
- 流入元が空欄: {t['ma_blank_source']} 行
- 商談化したのに MQL日 が空欄（営業へ直接渡ったリード）: {t['ma_converted_without_mql']} 人
- 商談が 2 件あるリード（失注後の再提案・受注後の追加）: {t['ma_two_opportunities']} 人

SFA（`sfa_opportunities.xlsx`）
- リードに紐付かない営業起点の商談: MA にないメールアドレス {t['sfa_unlinked_email']} 件、メールアドレス空欄 {t['sfa_unlinked_blank_email']} 件
- 取引先責任者ロールで同じ商談が 2 行（同じ商談 ID・2 人目のメールアドレス）: {t['sfa_contact_role_repeats']} 件（`総計` はこの重複込みの合計）
- MA の行と大文字小文字が違うメールアドレス: {t['sfa_email_case_differs']} 件
- 再登録された人物の受注商談: {t['sfa_won_deals_of_duplicated_people']} 件
- 金額が文字列（`¥1,200,000`）{t['sfa_amount_text']} 件、金額が空欄（見積前）{t['sfa_amount_blank']} 件
- 失注理由は自由記述（予算・タイミング・競合・ニーズ・その他が混在）。失注なのに空欄: {t['sfa_loss_blank']} 件
- 完了予定日を過ぎても進行中: {t['sfa_open_overdue']} 件

## 先月のエクスポート（`previous/`）

「前回との比較」ページは、サンプルデータを表示している間この 2 ファイルを前回として使います。今月のデータを
{PREVIOUS:%Y/%m/%d} {PREVIOUS.hour}:{PREVIOUS:%M} の時点に戻して作っているので、2 つの違いはこの 1 か月に起きたことだけです。
前回のリードは {p['previous_leads']:,} 人・商談 {p['previous_opps']:,} 件。比較すると次の変化が出ます。

- 新規リード（前回のエクスポート後に登録）: {p['previous_new_leads']} 人。うち既に商談があるもの {p['previous_new_converted']} 人
- 消えたリード（前回の後に MA から削除: 配信停止・削除依頼）: {p['previous_removed_leads']} 人。前回のファイルにだけいる
- 新たに商談化（前回からいたリードに初めて商談が付いた）: {p['previous_newly_converted']} 人。前回はその時点のステータス（SQL など）で、
  前回より後の MQL日・SQL日 は空欄、スコアは低め
- 新規商談（この 1 か月に作成）: {p['previous_new_opps']} 件
- フェーズが動いた商談（前回もあった商談。受注・失注への移動を含む）: {p['previous_moved']} 件。前回は進行中のフェーズで、失注理由は空欄
- 新たに受注 {p['previous_won']} 件・新たに失注 {p['previous_lost']} 件（今回初めて現れた商談を含む）
- この 1 か月に 2 回目の登録をした人は、前回のファイルでは 1 行だけで、最終流入元も 1 回目のときの値

## English

A fictional year of a Japanese B2B SaaS company, written by `scripts/make_sample_data.py` with a fixed seed
(this README included, so every count above is computed). `ma_leads.csv` is a SATORI/Marketo-style lead export
in CP932 with CRLF; `sfa_opportunities.xlsx` is a Salesforce formatted report: title block, table from B4,
then a 総計 (total) row, a blank row and {len(FOOTER)} footer lines; `cost_by_source.csv` is monthly cost of the
paid sources, UTF-8 with BOM. Read correctly (emails NFKC-normalised, trimmed, lower-cased) the data hold
{t['expected_leads']:,} leads, {t['expected_converted']:,} of them converted, and {len(opps):,} opportunities of which
{t['expected_linked']:,} link to a lead. The messiness listed above (re-registered people with differently written
addresses, unusable addresses, CP932-only characters, unlinked and repeated deals, text amounts, free-text
loss reasons) is deliberate.

`previous/` holds last month's exports of the same company (taken {PREVIOUS:%Y/%m/%d}, same formats): this month's data
taken back one month, so comparing the two (the 前回との比較 page does so while the sample is shown) finds
{p['previous_new_leads']} new leads ({p['previous_new_converted']} already with an opportunity), {p['previous_removed_leads']} deleted leads,
{p['previous_newly_converted']} newly converted leads, {p['previous_new_opps']} new opportunities, {p['previous_moved']} deals that moved stage, and
{p['previous_won']} newly won and {p['previous_lost']} newly lost deals.
"""
    path.write_text(text, encoding="utf-8", newline="\n")


# -- behaviour history (行動履歴) ------------------------------------------------------------------
ACTIVITY_HEADER = ["メールアドレス", "日時", "アクション", "キャンペーン", "チャネル", "ページURL / 資料名"]
# Action: (weight for a lead that will convert, weight for one that will not, page or asset).
# Leads that turn into deals look at prices, download material and attend seminars far more often
# than the rest; e-mail opens and page visits are what everyone does.
ACTIONS: dict[str, tuple[int, int, str]] = {
    "メール開封": (20, 34, "メルマガ"), "メールクリック": (10, 8, "メルマガ"), "Webページ訪問": (22, 30, "/"),
    "価格ページ閲覧": (14, 3, "/pricing"), "資料ダウンロード": (12, 7, "製品概要資料.pdf"),
    "事例ページ閲覧": (8, 5, "/case"), "セミナー参加": (9, 3, "ウェビナー"), "問い合わせフォーム送信": (5, 1, "/contact"),
    "展示会ブース来場": (0, 0, "展示会")}


def _campaign(action: str, day: dt.date) -> tuple[str, str]:
    """(campaign, channel) of an action on ``day``: webinars and newsletters are named by month."""
    if action in ("メール開封", "メールクリック"):
        return f"メルマガ{day.year % 100:02d}年{day.month}月号", "Eメール"
    if action == "セミナー参加":
        return f"ウェビナー{day.year}年{day.month}月", "ウェビナー"
    if action == "展示会ブース来場":
        return f"展示会{day:%Y%m}", "オフライン"
    return "", ("Web広告" if action == "Webページ訪問" and day.day % 3 == 0 else "自然検索")


def activity_rows(rng: random.Random, pairs: list[tuple[list[str], Person]], opps: list[Opp]) -> list[list[str]]:
    """SATORI-style 行動履歴 rows in time order: each keyed lead's actions from its registration on
    (a converting lead's intent actions cluster before its first deal), 展示会 visits on the day
    of the event it came from, anonymous visitors (no address) and a few rows without a date."""
    first_deal: dict[str, dt.date] = {}
    for o in opps:
        for e in o.emails:
            if e and o.linked:
                first_deal[e.lower()] = min(first_deal.get(e.lower(), o.created), o.created)
    out: list[tuple[dt.datetime, list[str]]] = []
    names = list(ACTIONS)
    for row, p in pairs:
        if not p.email:
            continue
        deal = first_deal.get(p.email.lower())
        start = p.created
        stop = min(dt.datetime.combine(deal + dt.timedelta(days=45) if deal else END, dt.time(18)), EXPORTED)
        if stop <= start:
            continue
        if p.source == "展示会":
            out.append((start - dt.timedelta(days=1), [row[0], f"{start - dt.timedelta(days=1):%Y/%m/%d %H:%M}",
                                                       "展示会ブース来場", f"展示会{start:%Y%m}", "オフライン", "展示会"]))
        weights = [ACTIONS[a][0 if deal else 1] for a in names]
        counts = [2, 3, 4, 5, 6, 8, 10, 12] if deal else [0, 1, 1, 2, 3, 4, 5, 7]
        for _ in range(rng.choice(counts)):
            # A converting lead acts mostly between registration (its earlier, then anonymous,
            # visits are tied to it when it registers: up to two weeks before) and its first deal.
            lo, hi = start, stop
            if deal:
                lo = start - dt.timedelta(days=14)
                hi = max(dt.datetime.combine(deal, dt.time(18)), start)
                if rng.random() < 0.15:
                    lo, hi = hi, stop
            when = lo + dt.timedelta(seconds=int((hi - lo).total_seconds() * rng.random()))
            when = when.replace(second=0)
            action = rng.choices(names, weights)[0]
            campaign, channel = _campaign(action, when.date())
            out.append((when, [row[0], f"{when:%Y/%m/%d %H:%M}", action, campaign, channel, ACTIONS[action][2]]))
    for _ in range(len(out) // 25):                       # anonymous visitors: cookie only, no address
        when = dt.datetime.combine(START + dt.timedelta(days=rng.randrange((END - START).days)), dt.time(12))
        out.append((when, ["", f"{when:%Y/%m/%d %H:%M}", "Webページ訪問", "", "自然検索", "/"]))
    out.sort(key=lambda r: r[0])
    rows = [r for _, r in out]
    for i in rng.sample(range(len(rows)), len(rows) // 200):  # the tool lost the time stamp
        rows[i][1] = ""
    return rows


def write_activity(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([ACTIVITY_HEADER] + rows)
    path.write_bytes(buf.getvalue().encode("cp932"))


def main(out_dir: Path = OUT_DIR) -> dict[str, int]:
    """Write the four files into ``out_dir`` and last month's two into ``out_dir/previous``;
    returns the messiness counts and (``previous_*``) what changed between the months."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    pairs, opps, tally = build(rng)
    rows = [r for r, _ in pairs]
    write_ma(out_dir / "ma_leads.csv", rows)
    n_sfa_rows = write_sfa(out_dir / "sfa_opportunities.xlsx", opps)
    costs = write_cost(out_dir / "cost_by_source.csv", rows, rng)
    # Its own generator, drawn from after this month's files are written: they stay as they were.
    prev_rows, prev_opps, plan = previous_month(random.Random(SEED + 1), pairs, opps)
    (out_dir / "previous").mkdir(exist_ok=True)
    write_ma(out_dir / "previous" / "ma_leads.csv", prev_rows)
    plan["previous_sfa_rows"] = write_sfa(out_dir / "previous" / "sfa_opportunities.xlsx", prev_opps, PREVIOUS)
    write_readme(out_dir / "README.md", tally, len(rows), n_sfa_rows, opps, costs, plan)
    # Its own generator too, drawn last: the files above keep their bytes.
    write_activity(out_dir / "activity_log.csv", activity_rows(random.Random(SEED + 2), pairs, opps))
    return dict(sorted({**tally, **plan}.items()))


if __name__ == "__main__":
    counts = main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT_DIR)
    print("\n".join(f"{k}: {v}" for k, v in counts.items()))
