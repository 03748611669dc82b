"""The answers of a 連携診断 as a file: saved as a small JSON (``format``/``version``) or a
CSV a person can read and edit in Excel, and read back with validation: newer versions,
unknown item ids or bad values are refused with a message key naming the problem.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Mapping

from funnel.errors import FunnelError
from funnel.i18n import LANGS, t
from funnel.measures.diagnosis import ANSWERS, Checklist, Diagnosis, describe, load_checklist
from funnel.present.export import csv_bytes

FORMAT_ID = "funnel-diagnosis"
FORMAT_VERSION = 1
MAX_FILE_BYTES = 1024 * 1024        # a full answer file is ~10 KB; anything near 1 MB is not one
CSV_COLUMNS = ("version", "id", "step", "category", "question", "answer", "data_answer", "result", "evidence")


class DiagnosisFileError(FunnelError):
    """A saved-answers file that cannot be used (the message key names the problem)."""

    key = "diagnosis.file.bad"


def answers_json(diag: Diagnosis, user: Mapping[str, str | None]) -> bytes:
    """The user's answers (``answers``, the only part read back) and, for the record, the result."""
    doc = {"format": FORMAT_ID, "version": FORMAT_VERSION,
           "answers": {a.item.id: user.get(a.item.id) for a in diag.answers if user.get(a.item.id) in ANSWERS},
           "result": {"score": diag.points, "current_step": diag.current_step,
                      "items": {a.item.id: {"answer": a.value, "source": a.source} for a in diag.answers}}}
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def answers_csv(diag: Diagnosis, user: Mapping[str, str | None], checklist: Checklist, lang: str) -> bytes:
    """One row per item; ``answer`` is the user's (blank: the data's or none) and is what is read
    back; the other columns are for people reading the file."""
    rows = []
    for a in diag.answers:
        rule = checklist.rules.get(a.item.rule) if a.item.rule else None
        rows.append([FORMAT_VERSION, a.item.id, checklist.step(a.item.step).name(lang),
                     checklist.category(a.item.category).name(lang), a.item.question(lang),
                     user.get(a.item.id) if user.get(a.item.id) in ANSWERS else "",
                     (a.evidence.answer or "") if a.evidence else "", a.value or "",
                     describe(a.evidence, rule, lang) if a.evidence and rule else ""])
    return csv_bytes(CSV_COLUMNS, rows)


def _aliases() -> dict[str, str | None]:
    """Values accepted for an answer: the codes and their labels in every language; blank = none."""
    out: dict[str, str | None] = {"": None, "-": None, "分からない": "unknown", "不明": "unknown"}
    for code in ANSWERS:
        out.update({code: code, **{_fold(t(f"diagnosis.answer.{code}", lang)): code for lang in LANGS}})
    return out


def _fold(text: object) -> str:
    return unicodedata.normalize("NFKC", str(text)).strip().casefold()


def _version(value: object, file: str | None) -> None:
    try:
        version = int(str(value).strip())
    except ValueError:
        version = 0
    if version < 1:
        raise DiagnosisFileError(file, key="diagnosis.file.bad_version", version=str(value)[:20])
    if version > FORMAT_VERSION:
        raise DiagnosisFileError(file, key="diagnosis.file.newer", version=version, supported=FORMAT_VERSION)


def _check(pairs: list[tuple[str, object]], checklist: Checklist, file: str | None) -> dict[str, str | None]:
    known, aliases = {i.id for i in checklist.items}, _aliases()
    ids = [str(k).strip() for k, _ in pairs]
    if dupes := sorted({i for i in ids if ids.count(i) > 1}):
        raise DiagnosisFileError(file, key="diagnosis.file.duplicate_items", ids=", ".join(dupes[:5]))
    if unknown := [i for i in ids if i not in known]:
        raise DiagnosisFileError(file, key="diagnosis.file.unknown_items", ids=", ".join(unknown[:5]), n=len(unknown))
    values = {i: None if v is None else aliases.get(_fold(v), "?") if isinstance(v, str) else "?"
              for i, (_, v) in zip(ids, pairs, strict=True)}
    if bad := [f"{i}={str(v)[:20]}" for i, (_, v) in zip(ids, pairs, strict=True) if values[i] == "?"]:
        raise DiagnosisFileError(file, key="diagnosis.file.bad_values", items=", ".join(bad[:5]))
    return values


def read_answers(data: bytes, checklist: Checklist | None = None, file: str | None = None) -> dict[str, str]:
    """The user's answers from a saved JSON or CSV file (told apart by content).

    Raises :class:`DiagnosisFileError` for anything that is not a valid answer file of this
    or an older format version; blank answers are left out (the item follows the data).
    """
    checklist = checklist or load_checklist()
    if len(data) > MAX_FILE_BYTES:
        raise DiagnosisFileError(file, key="diagnosis.file.too_large", limit_kb=MAX_FILE_BYTES // 1024)
    for encoding in ("utf-8-sig", "cp932"):         # cp932: the CSV re-saved by Japanese Excel
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise DiagnosisFileError(file, key="diagnosis.file.not_text")
    if any(unicodedata.category(c) in ("Cc", "Co") and c not in "\t\r\n" for c in text):
        raise DiagnosisFileError(file, key="diagnosis.file.not_text")      # binary that cp932 happened to decode
    if not text.strip():
        raise DiagnosisFileError(file, key="diagnosis.file.empty")
    pairs = _json_pairs(text, file) if text.lstrip().startswith(("{", "[")) else _csv_pairs(text, file)
    return {k: v for k, v in _check(pairs, checklist, file).items() if v is not None}


def _json_pairs(text: str, file: str | None) -> list[tuple[str, object]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DiagnosisFileError(file, key="diagnosis.file.bad_json", line=exc.lineno) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_ID or not isinstance(doc.get("answers", {}), dict):
        raise DiagnosisFileError(file, key="diagnosis.file.not_ours")
    _version(doc.get("version"), file)
    return list(doc.get("answers", {}).items())


def _csv_pairs(text: str, file: str | None) -> list[tuple[str, object]]:
    try:
        table = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        table = []
    header = [_fold(h) for h in table[0]] if table else []
    if "id" not in header or "answer" not in header:
        raise DiagnosisFileError(file, key="diagnosis.file.csv_columns")
    pairs: list[tuple[str, object]] = []
    for row in (dict(zip(header, r, strict=False)) for r in table[1:]):
        if (row.get("version") or "").strip():
            _version(row["version"], file)
        if (row.get("id") or "").strip():
            pairs.append((row["id"].strip(), (row.get("answer") or "").strip() or None))
    return pairs
