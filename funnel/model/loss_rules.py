"""Loss-reason rules (失注理由): the taxonomy applied to free text, as data the user can edit.

A rule set (``data/loss_reasons.toml``, or the user's own file) holds, per category, keywords
and named regular expressions; vendor names; *neutral* phrases that say a cause was **not**
the reason (``価格は問題なし``); and blank-like placeholders. A text is classified as follows,
and the rule that decided is returned with the category, so every classification can be
explained on the page:

1. blank (``blank``): empty, a placeholder (``-``, ``--None--``, ``未入力``, ``N/A``) or only symbols;
2. neutral phrases are taken out of the text (they must not vote for the cause they deny);
3. categories in order, ``excluded`` always first: a keyword matches when its normalised
   text is found (Japanese: anywhere; English: whole words) or when its tokens equal the
   text's tokens by dictionary/normalised form, English lemma, or reading of a kana-written
   word (``ヨサン`` = ``予算``); a pattern matches the normalised text or the lemma text;
4. nothing matched: English keyword words of 6+ letters are tried again allowing one edit
   (a typo: ``budgt``, ``compettior``) and the rules are tried again; the rule says so
   (``budget (budgt→budget)``);
5. still nothing: ``other``.

Texts are analysed by :mod:`funnel.model.loss_text`; callers classify *distinct* texts.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from funnel.model.loss_text import Analysed, Token, analyse_normalised, english_word, normalise, reading
from funnel.vocabulary import load_data, vocabulary

LOSS_CATEGORIES: tuple[str, ...] = ("budget", "timing", "competitor", "no_need", "other", "blank", "excluded")
#: Categories that keywords and patterns can decide (blank has its own section).
RULE_CATEGORIES: tuple[str, ...] = tuple(c for c in LOSS_CATEGORIES if c != "blank")
#: Shortest keyword word that a one-edit typo may stand for.
TYPO_MIN_LEN = 6
_SYMBOLS_ONLY = re.compile(r"^[\W_]*$")
_ASCII_ALNUM = re.compile(r"[a-z0-9]")


@dataclass(frozen=True)
class PatternRule:
    """A named regular expression deciding ``category``; ``{vendor}`` stands for any vendor name."""

    category: str
    name: str
    regex: str


@dataclass(frozen=True)
class _Keyword:
    text: str
    category: str
    rank: int
    pos: int                            # place in precedence order: the smallest match wins
    surface: str | None                 # a non-ASCII keyword also matches as a substring
    tokens: tuple[Token, ...]
    sounds: tuple[str, ...]             # katakana reading of each token


def _compile(regex: str, vendors: str) -> re.Pattern[str]:
    return re.compile(regex.replace("{vendor}", vendors))


@dataclass(frozen=True)
class LossRules:
    """Ordered categories with keywords, plus patterns, vendors, neutral phrases and blanks."""

    categories: tuple[tuple[str, tuple[str, ...]], ...]
    patterns: tuple[PatternRule, ...] = ()
    vendors: tuple[str, ...] = ()
    neutral: tuple[str, ...] = ()
    blanks: tuple[str, ...] = ()
    _lazy: dict = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        # Checked now (a user's file must fail when read); the matching state is built at the
        # first classification: analysing the keywords loads the English lemma dictionary
        # (0.3 s), which a run whose deals have no loss reason never needs.
        object.__setattr__(self, "_lazy", {})
        self._check()

    def _check(self) -> None:
        for cat, _ in self.categories:
            if cat not in RULE_CATEGORIES:
                raise ValueError(f"unknown loss-reason category {cat!r}")
        for p in self.patterns:
            if p.category not in LOSS_CATEGORIES:
                raise ValueError(f"unknown loss-reason category {p.category!r}")
        alt = self._vendor_alternation()
        for rx in [p.regex for p in self.patterns] + list(self.neutral):
            _compile(rx, alt)

    def _vendor_alternation(self) -> str:
        names = sorted({normalise(v) for v in self.vendors if normalise(v)}, key=len, reverse=True)
        return "(?:" + "|".join(re.escape(v) for v in names) + ")" if names else "(?!)"

    @property
    def _state(self) -> dict:
        state = self._lazy.get("state")
        if state is None:
            state = self._lazy["state"] = self._build_state()
        return state

    def _build_state(self) -> dict:
        alt = self._vendor_alternation()
        # excluded is checked first whatever the order of the file: a duplicate is never a loss.
        order = sorted(range(len(self.categories)), key=lambda i: (self.categories[i][0] != "excluded", i))
        keywords: list[_Keyword] = []
        for rank, i in enumerate(order):
            cat, kws = self.categories[i]
            for kw in kws:
                n = normalise(kw)
                if not n:
                    continue
                # English keywords match by words only (whole words, lemmas): "price" is not in "priceless".
                toks = analyse_normalised(n).tokens
                keywords.append(_Keyword(kw, cat, rank, len(keywords), None if n.isascii() else n, toks,
                                         tuple(reading(t.surface) for t in toks)))
        rank_of = {self.categories[i][0]: r for r, i in enumerate(order)}
        state = {
            "order": [self.categories[i][0] for i in order],
            "keywords": keywords,
            # (rank, rule, compiled, needs ASCII): a pattern without a non-ASCII character cannot
            # match a text without ASCII letters or digits, so it is not tried on one.
            "patterns": [(rank_of.get(p.category, len(order)), p, _compile(p.regex, alt),
                          p.regex.isascii() and "{vendor}" not in p.regex)
                         for p in self.patterns if p.category != "blank"],
            "blank": [(p, _compile(p.regex, alt)) for p in self.patterns if p.category == "blank"],
            "blanks": frozenset(normalise(b) for b in self.blanks),
            "neutral": [_compile(n, alt) for n in self.neutral],
        }
        by_char: dict[str, list[_Keyword]] = {}
        for k in keywords:
            if k.surface:
                by_char.setdefault(k.surface[0], []).append(k)
        state["by_char"] = by_char
        index: dict[str, list[_Keyword]] = {}
        for k in keywords:
            if k.tokens:
                for form in (k.tokens[0].base, k.tokens[0].surface, k.sounds[0]):
                    index.setdefault(form, []).append(k)
        state["index"] = index
        # The English words the rules know (keywords' words and patterns' words): a typed word
        # one edit away from one of 6+ letters is read as it.
        words = {f for k in keywords for t in k.tokens if t.ascii for f in t.forms}
        words |= {w for p in self.patterns for w in re.findall(f"[a-z]{{{TYPO_MIN_LEN},}}", p.regex)}
        state["vocab"] = frozenset(words)
        state["vocab_long"] = sorted(w for w in words if len(w) >= TYPO_MIN_LEN)
        return state

    # -- loading and saving ------------------------------------------------------------------

    @classmethod
    def default(cls) -> LossRules:
        return _default_loss_rules()

    @classmethod
    def from_toml(cls, text: str) -> LossRules:
        """Rules from a TOML text shaped like ``data/loss_reasons.toml`` (unchecked: see
        :func:`funnel.measures.loss.parse_rules_toml` for a user's file)."""
        return _from_toml(text)

    @classmethod
    def from_dict(cls, raw: dict, base: LossRules | None = None) -> LossRules:
        """Rules from parsed TOML. A section the file lacks (``patterns`` in every category,
        ``[vendors]``, ``[neutral]``, ``[blank]``) is taken from ``base`` (default: the
        shipped rules), so a keywords-only file of an older version keeps the patterns."""
        if base is None and raw is not _shipped():
            base = _default_loss_rules()
        cats = tuple((c["id"], tuple(c.get("keywords", []))) for c in raw["categories"])
        if base is not None and not any("patterns" in c for c in raw["categories"]):
            pats = [p for p in base.patterns if p.category != "blank"]
        else:
            pats = [PatternRule(c["id"], p["name"], p["regex"]) for c in raw["categories"] for p in c.get("patterns", [])]
        if "blank" in raw or base is None:
            blank = raw.get("blank", {})
            pats += [PatternRule("blank", p["name"], p["regex"]) for p in blank.get("patterns", [])]
            blanks = tuple(blank.get("values", []))
        else:
            pats += [p for p in base.patterns if p.category == "blank"]
            blanks = base.blanks
        vendors = tuple(raw["vendors"].get("names", [])) if "vendors" in raw or base is None else base.vendors
        neutral = tuple(raw["neutral"].get("patterns", [])) if "neutral" in raw or base is None else base.neutral
        return cls(cats, tuple(pats), vendors, neutral, blanks)

    def to_toml(self) -> str:
        """The rules as TOML, to download, edit and load again (``from_toml`` gives them back)."""
        def q(s: str) -> str:
            return json.dumps(s, ensure_ascii=False)     # a JSON string is a TOML basic string

        def pats(cat: str) -> str:
            rows = [f"  {{ name = {q(p.name)}, regex = {q(p.regex)} }}," for p in self.patterns if p.category == cat]
            return "patterns = [\n" + "\n".join(rows) + "\n]\n" if rows else "patterns = []\n"

        out = []
        for cat, kws in self.categories:
            out.append(f'[[categories]]\nid = "{cat}"\nkeywords = [{", ".join(q(k) for k in kws)}]\n{pats(cat)}')
        out.append(f"[vendors]\nnames = [{', '.join(q(v) for v in self.vendors)}]\n")
        out.append(f"[neutral]\npatterns = [{', '.join(q(n) for n in self.neutral)}]\n")
        out.append(f"[blank]\nvalues = [{', '.join(q(b) for b in self.blanks)}]\n{pats('blank')}")
        return "\n".join(out)

    def with_keyword(self, category: str, keyword: str) -> LossRules:
        """These rules with ``keyword`` added to ``category`` (a rule accepted on the page)."""
        cats = self.categories if any(c == category for c, _ in self.categories) else (
            *self.categories, (category, ()))
        return LossRules(tuple((c, (*kws, keyword)) if c == category and keyword not in kws else (c, kws)
                               for c, kws in cats), self.patterns, self.vendors, self.neutral, self.blanks)

    def with_categories(self, categories: tuple[tuple[str, tuple[str, ...]], ...]) -> LossRules:
        """The same patterns, vendors, neutral phrases and blanks with other keywords."""
        return LossRules(categories, self.patterns, self.vendors, self.neutral, self.blanks)

    # -- classifying -------------------------------------------------------------------------

    def classify(self, text: object) -> tuple[str, str | None]:
        """``(category, rule that decided)`` of a loss-reason text; empty → ``("blank", None)``."""
        s = normalise(text)
        st = self._state
        if not s or s in vocabulary().placeholders:
            return "blank", None
        bare = s.strip(" 。.、,")
        if bare in st["blanks"] or _SYMBOLS_ONLY.match(bare):
            return "blank", None
        for p, rx in st["blank"]:
            if rx.search(s):
                return "blank", p.name
        cat, rule = self._decide(s)
        if rule is not None:
            return cat, rule
        return self._typo(analyse_normalised(s)) or ("other", None)

    def _decide(self, s: str) -> tuple[str, str | None]:
        """Keywords and patterns on a normalised, non-blank text: ``("other", None)`` if none."""
        st = self._state
        for rx in st["neutral"]:
            s = rx.sub(" / ", s)
        a = analyse_normalised(s)
        keywords = st["keywords"]
        by_char = st["by_char"]
        hits = self._token_hits(a)
        for ch in set(s):
            for k in by_char.get(ch, ()):
                if k.pos not in hits and k.surface in s:     # type: ignore[operator]
                    hits.add(k.pos)
        best: tuple[int, str, str] | None = None
        if hits:
            k = keywords[min(hits)]
            best = (k.rank, k.category, k.text)
        ascii_text = _ASCII_ALNUM.search(s) is not None
        lemmas = a.lemmas
        for rank, p, rx, needs_ascii in st["patterns"]:
            if (best is not None and rank >= best[0]) or (needs_ascii and not ascii_text):
                continue
            if rx.search(s) or rx.search(lemmas):
                best = (rank, p.category, p.name)
        return (best[1], best[2]) if best is not None else ("other", None)

    def _token_hits(self, a: Analysed) -> set[int]:
        """Positions of the keywords whose token sequence occurs in the text's tokens."""
        out: set[int] = set()
        toks = a.tokens
        index = self._state["index"]
        for i, t in enumerate(toks):
            cands: dict[int, _Keyword] = {}
            for form in (*t.forms, t.reading):
                for k in index.get(form or "", ()):
                    cands[k.pos] = k
            for k in cands.values():
                if k.pos not in out and i + len(k.tokens) <= len(toks) and all(
                        _same(kt, snd, toks[i + j]) for j, (kt, snd) in enumerate(zip(k.tokens, k.sounds, strict=True))):
                    out.add(k.pos)
        return out

    def _typo(self, a: Analysed) -> tuple[str, str] | None:
        """Words one edit away from a rule's word (6+ letters) read as that word, then the
        rules tried again; the rule says which word was read how."""
        vocab = self._state["vocab"]
        fixed, said = [], []
        for t in a.tokens:
            w = t.surface
            if t.ascii and len(w) >= TYPO_MIN_LEN - 1 and not (t.forms & vocab):
                found = process.extractOne(w, self._state["vocab_long"], scorer=OSA.distance, score_cutoff=1)
                near = found[0] if found is not None else None
                if near is not None:
                    fixed.append(near)
                    said.append(f"{w}→{near}")
                    continue
            fixed.append(w if t.ascii else t.surface)
        if not said:
            return None
        cat, rule = self._decide(" ".join(fixed))
        return None if rule is None else (cat, f"{rule} ({', '.join(said)})")


def _same(kw: Token, sound: str, t: Token) -> bool:
    if kw.base in t.forms or kw.surface in t.forms:
        return True
    # A word written in kana (ヨサン, よさん) is the keyword written in kanji when it reads the same.
    return t.reading is not None and len(sound) >= 3 and t.reading == sound


def english_keyword_words(rules: LossRules) -> set[str]:
    """The English words of ``rules``' keywords, as the lemmatiser is asked them
    (``scripts/make_english_lemmas.py`` writes the shipped ones' lemmas into a table)."""
    return {w for _cat, kws in rules.categories for kw in kws
            for t in analyse_normalised(normalise(kw)).tokens if (w := english_word(t.surface)) is not None}


@lru_cache(maxsize=16)
def _from_toml(text: str) -> LossRules:
    # Rules are immutable and a session re-reads its saved TOML on every page run.
    return LossRules.from_dict(tomllib.loads(text))


@lru_cache(maxsize=1)
def _shipped() -> dict:
    return load_data("loss_reasons.toml")


@lru_cache(maxsize=1)
def _default_loss_rules() -> LossRules:
    return LossRules.from_dict(_shipped())
