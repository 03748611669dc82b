"""Learning from the user (失注分析): the reason texts the rules leave in その他, most frequent
first, each with a suggested category taken from the nearest texts the rules *did* classify.

Nearness is rapidfuzz's token-set ratio between the texts' lemma forms (the words' base forms
from :mod:`funnel.model.loss_text`, so 「予算が付かず」 and 「予算つかなかった」 are near). The
references are this data's classified reason texts plus the rules' own keywords (each an
example of its category), so a suggestion exists even when the data has few classified texts.
The nearest reference decides (ties: the category with more of the k nearest); below
:data:`MIN_SCORE` there is no suggestion. (On the labelled set, tune part as references and
held-out part as texts, the nearest one is right for 137 of 165 texts, a weighted vote of five
for 130.) Accepting one adds the text as a keyword of the category
(:meth:`funnel.model.rules.LossRules.with_keyword`): it is then part of the rules TOML that
the workspace saves and the page downloads.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
from rapidfuzz import fuzz, process

from funnel.model.loss_text import analyse
from funnel.model.rules import LossRules
from funnel.sql import loss as q
from funnel.sql import rows

#: Similarity (0-100) below which a reference does not vote.
MIN_SCORE = 50.0
#: References that vote for one text.
NEAREST = 5


@dataclass(frozen=True)
class Suggestion:
    """A text left in その他, how many lost deals carry it, and what the nearest texts say."""

    text: str
    count: int
    category: str | None            # None: no classified text is near enough
    score: float                    # the winning category's best similarity (0-100)
    neighbours: tuple[str, ...]     # the nearest references of that category, nearest first


def _key(text: str) -> str:
    a = analyse(text)
    return a.lemmas or a.text


def suggestions(con: duckdb.DuckDBPyConnection, rules: LossRules, limit: int = 20) -> tuple[list[Suggestion], int]:
    """The ``limit`` most frequent texts in その他 with their suggestion, and how many there are."""
    found = rows(con, *q.reason_texts(None))
    # Left in その他: no rule decided (a text an "other" keyword put there was decided).
    others = [(str(t), int(n)) for t, n, c, k in found if c == "other" and k is None and t is not None]
    refs: dict[str, tuple[str, str]] = {}       # lemma key → (category, shown text)
    for t, _, c, _ in found:
        if t is not None and c not in ("other", "blank"):
            refs.setdefault(_key(str(t)), (c, str(t)))
    for cat, kws in rules.categories:
        for k in kws:
            refs.setdefault(_key(k), (cat, k))
    keys = list(refs)
    out = []
    for text, n in others[:limit]:
        votes: dict[str, float] = {}
        near: dict[str, list[tuple[float, str]]] = {}
        for key, score, _ in process.extract(_key(text), keys, scorer=fuzz.token_set_ratio, limit=NEAREST,
                                             score_cutoff=MIN_SCORE):
            cat, shown = refs[key]
            votes[cat] = max(votes.get(cat, 0.0), score)
            near.setdefault(cat, []).append((score, shown))
        if votes:
            best = max(votes, key=lambda c: (votes[c], len(near[c])))
            out.append(Suggestion(text, n, best, max(s for s, _ in near[best]),
                                  tuple(s for _, s in sorted(near[best], key=lambda x: -x[0]))))
        else:
            out.append(Suggestion(text, n, None, 0.0, ()))
    return out, len(others)
