"""What a loss-reason text says, in forms a rule can match: normalised surface text and tokens.

Salespeople type the same reason many ways (``ﾖｻﾝ不足``, ``予算が付かなかった``, ``They said it's
too pricey``, ``budgt``). Before any rule is tried, a text is

1. normalised: NFKC (full/half width), case-folded, dash and long-vowel variants unified
   (``ー`` inside katakana, ``-`` elsewhere), English contractions spelled out;
2. analysed into tokens: Japanese by SudachiPy with ``sudachidict_core`` (each token keeps its
   surface, dictionary and normalised forms, and its reading when written in kana, so ``ヨサン``
   meets ``予算``), English words by their lemma (simplemma: ``chose`` → ``choose``).

Rules (``funnel.model.loss_rules``) match keywords on these tokens and regular expressions on
the surface text and on the lemma text (tokens' base forms joined by spaces). Everything here
runs offline on data shipped in the packages; results are cached per distinct text.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from sudachipy import Dictionary, SplitMode

from funnel.vocabulary import load_data

# Dash-like characters people (and IMEs) type for a long vowel or a hyphen.
_DASHES = "\\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d\u30fc\uff70\u2500\u2501\u301c\uff5e~"
_DASH_RE = re.compile(f"[{_DASHES}]")
_KATAKANA = re.compile(r"[\u30a1-\u30fa]")
_KANA_ONLY = re.compile(r"^[\u3041-\u309f\u30a0-\u30ffー]+$")
_ASCII_WORD = re.compile(r"^[a-z][a-z0-9'.]*$")
# English contractions, typed with or without the apostrophe: one rule per written form.
_CONTRACTIONS = (
    (re.compile(r"\b(can)'?t\b"), r"\1 not"), (re.compile(r"\bwon'?t\b"), "will not"),
    (re.compile(r"\b(do|does|did|is|are|was|were|could|would|should|have|has|had|need)n'?t\b"), r"\1 not"),
    (re.compile(r"\b(it|that|there|what)'s\b"), r"\1 is"), (re.compile(r"\b(they|we|you)'re\b"), r"\1 are"),
    (re.compile(r"\b(i|they|we|you)'ve\b"), r"\1 have"),
)
# Parts of speech that carry no meaning for a rule (spaces, punctuation, symbols).
_SKIP_POS = frozenset({"空白", "補助記号"})


def _dash(m: re.Match[str]) -> str:
    s, i = m.string, m.start()
    # A long-vowel mark after katakana, possibly after other marks (サーバー, ｻｰﾊﾞｰ,
    # セールスフォ－ス, ニーーズ); a hyphen anywhere else (so "ー－" alone is "--", a blank).
    j = i - 1
    while j >= 0 and _DASH_RE.match(s[j]):
        j -= 1
    return "ー" if j >= 0 and _KATAKANA.match(s[j]) else "-"


def normalise(text: object) -> str:
    """NFKC, case-folded, whitespace collapsed, dashes/long vowels unified, contractions spelled out."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text)).replace("\u2019", "'").replace("\u2018", "'")
    s = " ".join(s.split()).casefold()
    s = _DASH_RE.sub(_dash, s)
    for pat, rep in _CONTRACTIONS:
        s = pat.sub(rep, s)
    return s


@dataclass(frozen=True)
class Token:
    """One meaningful token: the forms a keyword token may equal, and its kana reading."""

    surface: str
    forms: frozenset[str]       # surface, dictionary form, normalised form, English lemma
    base: str                   # the one form shown in the lemma text
    reading: str | None         # katakana reading, only when the token is written in kana
    ascii: bool


@dataclass(frozen=True)
class Analysed:
    """A normalised text, its tokens and its lemma text (``base`` forms joined by spaces)."""

    text: str
    tokens: tuple[Token, ...]

    @property
    def lemmas(self) -> str:
        return " ".join(t.base for t in self.tokens)


_local = threading.local()
_dict_lock = threading.Lock()


@lru_cache(maxsize=1)
def _dictionary() -> Dictionary:
    return Dictionary(dict="core")      # the dictionary shipped in sudachidict_core (memory-mapped)


def _tokenizer():  # noqa: ANN202 - sudachipy's Tokenizer type is not exported for annotations
    # One dictionary for the process; one tokenizer per thread (microseconds to make): Streamlit
    # runs each script run in a thread, and a tokenizer must not be used by two at once.
    tok = getattr(_local, "tokenizer", None)
    if tok is None:
        with _dict_lock:
            d = _dictionary()
        tok = _local.tokenizer = d.tokenizer(mode=SplitMode.A)
    return tok


@lru_cache(maxsize=1)
def _known_lemmas() -> dict[str, str]:
    return dict(load_data("english_lemmas.toml")["lemmas"])


@lru_cache(maxsize=65536)
def _lemma(word: str) -> str:
    # The shipped keywords' words come from a table simplemma wrote (checked against it by a
    # test): its import and English dictionary cost ~0.2 s, which a run whose loss reasons hold
    # no other English word never needs. Imported here for the same reason.
    known = _known_lemmas().get(word)
    if known is not None:
        return known
    import simplemma

    return simplemma.lemmatize(word, lang="en").casefold()


def english_word(surface: str) -> str | None:
    """The word a token's surface is lemmatised as (None: not an English word)."""
    return surface.strip("'.") if _ASCII_WORD.match(surface) else None


def _token(surface: str, dictionary_form: str, normalized: str, reading: str) -> Token:
    word = english_word(surface)
    if word is not None:
        lemma = _lemma(word)
        return Token(surface, frozenset({surface, word, lemma}), lemma, None, True)
    kana = reading if _KANA_ONLY.match(surface) and reading else None
    return Token(surface, frozenset({surface, dictionary_form, normalized}), normalized, kana, False)


@lru_cache(maxsize=131072)
def analyse_normalised(text: str) -> Analysed:
    """Tokens of an already normalised text (a keyword or a reason text)."""
    if not text:
        return Analysed("", ())
    tokens = []
    for m in _tokenizer().tokenize(text):
        surface = m.surface()
        if not surface.strip() or m.part_of_speech()[0] in _SKIP_POS:
            continue
        tokens.append(_token(surface, m.dictionary_form(), m.normalized_form(), m.reading_form()))
    return Analysed(text, tuple(tokens))


@lru_cache(maxsize=16384)
def reading(text: str) -> str:
    """Katakana reading of a (normalised) word: 予算 → ヨサン."""
    return "".join(m.reading_form() for m in _tokenizer().tokenize(text))


def analyse(text: object) -> Analysed:
    """Normalise then analyse ``text``."""
    return analyse_normalised(normalise(text))
