"""Vocabularies and rules, loaded from the data files: stages, flags, statuses, loss reasons.

These classify *distinct* values (a few dozen stages, a few thousand loss-reason texts) in
Python, where the rules can be read, tested and extended; the results are joined back in
DuckDB as small lookup tables. Per-row parsing of emails, dates and amounts stays in SQL.
"""

from __future__ import annotations

from funnel.model.loss_rules import LOSS_CATEGORIES, RULE_CATEGORIES, LossRules, PatternRule
from funnel.vocabulary import Outcome, fold, vocabulary

__all__ = ["LOSS_CATEGORIES", "RULE_CATEGORIES", "LossRules", "PatternRule", "classify_stage", "parse_flag",
           "status_level"]



def classify_stage(text: object) -> Outcome:
    """Outcome of a stage/phase value: won, lost, or open (anything unrecognised)."""
    f = fold(text)
    if not f:
        return "open"
    for outcome, patterns in vocabulary().stage_rules:
        if any(p.search(f) for p in patterns):
            return outcome
    return "open"


def parse_flag(text: object) -> bool | None:
    """A checkbox cell: True, False (blank counts as False), or None when unrecognisable."""
    f = fold(text)
    voc = vocabulary()
    if f == "" or f in voc.flags_false:
        return False
    if f in voc.flags_true:
        return True
    return None


def status_level(text: object) -> int:
    """Furthest funnel step a lead status / lifecycle value proves (0 lead … 4 customer)."""
    f = fold(text)
    if not f:
        return 0
    for level, patterns in vocabulary().status_levels:
        if any(p.search(f) for p in patterns):
            return level
    return 0


