"""The browser side of a saved workspace (:mod:`funnel.model.saved`): what is saved is the
engine's :class:`funnel.model.session.Session` (its :meth:`~funnel.model.session.Session.to_json`
is the file's session part, its build settings and cost data are saved beside it), and opening
a file gives it back through :meth:`~funnel.model.session.Session.apply_saved`. This module only
gathers the arguments, describes a file in words, and drops the live widget values that would
win over the restored page inputs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from funnel import i18n
from funnel.errors import UnreadableFileError
from funnel.model import saved
from funnel.model.dataset import Dataset
from funnel.model.session import Session
from funnel.model.session_json import read_session_part
from funnel.present.format import field_label, num, pct
from funnel.vocabulary import INPUTS, SIDES
from ui import state
from ui.state import lang, t


# -- saving --------------------------------------------------------------------------------------------
def save_arguments() -> dict[str, Any]:
    """Everything :func:`funnel.model.saved.save` needs from this session (cheap: no data copied)."""
    return state.ensure_loaded().save_arguments(lang())


def pending_manifest(args: dict[str, Any]) -> dict[str, Any]:
    """What the manifest of a file saved now would say (for the summary), without saving."""
    ws = state.session_workspace()
    s: saved.Settings = args["settings"]
    return {"files": {side: [{"name": lt.report.file, "report": {"rows_read": lt.report.rows_read,
                                                                 "dropped": lt.report.dropped}}
                             for lt in ws.files[side]] for side in INPUTS},
            "settings": {"overrides": s.overrides, "link": None if s.link is None else vars(s.link),
                         "loss_rules": s.loss_rules is not None},
            "costs": {k: {"file": c.file, "rows": len(c.amounts)} for k, c in args["costs"].items()},
            "session": args["session"]}


def file_name(today: dt.date | None = None) -> str:
    return f"funnel_{(today or dt.date.today()):%Y%m%d}{saved.SUFFIX}"


# -- opening -------------------------------------------------------------------------------------------
def open_file(name: str, data: bytes) -> dict[str, Any]:
    """Replace the session's data and edits by a saved file's; returns its manifest.

    Raises:
        FunnelError: the file cannot be used (the session is then unchanged).
    """
    manifest = saved.read_manifest(data, name)
    try:
        session_part = read_session_part(manifest.get("session"))
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise UnreadableFileError(name, key="saved.error.corrupt", part=saved.MANIFEST) from exc
    s = state.ensure_loaded()
    restored = saved.open_fresh(data, name)     # a new workspace: the session's is untouched
    fresh = restored.workspace
    assert fresh is not None
    try:
        # Every part of the session is checked by applying it to a scratch session on the new
        # workspace first (a failed entry without its digest, text where a number belongs…):
        # only then does anything of this session change.
        trial = Session()
        trial.data = Dataset(fresh)
        trial.apply_saved(session_part, restored)
    except Exception as exc:
        fresh.close()
        raise UnreadableFileError(name, key="saved.error.corrupt", part=saved.MANIFEST) from exc
    s.data.workspace.take_over(fresh)           # the swap cannot fail
    for key in list(s.kept) + list(session_part.get("kept") or {}):
        st.session_state.pop(key, None)      # a live widget value would win over the kept one
    s.apply_saved(session_part, restored)
    return restored.manifest


# -- what a file holds, in words -----------------------------------------------------------------------
def summary(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """``(item, content)`` rows describing a saved (or about to be saved) file."""
    sep = i18n.t("lang.list_sep", lang())
    session = manifest.get("session") or {}
    settings = manifest.get("settings") or {}
    out = [(t("saved.item.mode"), t(f"saved.item.mode.{session.get('mode', 'user')}"))]
    for side in INPUTS:
        if side not in SIDES and not ((manifest.get("files") or {}).get(side) or (session.get("entries") or {}).get(side)):
            continue        # activity exports: listed when the file holds some
        names = [t("saved.item.file", file=f["name"], rows=num(f["report"]["rows_read"]),
                   dropped=num(sum(f["report"].get("dropped", {}).values())))
                 for f in (manifest.get("files") or {}).get(side) or []]
        names += [t("saved.item.file_failed", file=e["name"])
                  for e in (session.get("entries") or {}).get(side) or [] if e.get("error")]
        out.append((t("saved.item.files", side=t(f"side.{side}")), sep.join(names) or t("saved.item.none")))
    changed = [(side, f) for side in INPUTS for f in (settings.get("overrides") or {}).get(side) or {}]
    out.append((t("saved.item.overrides"), t("saved.item.overrides_value", n=len(changed), fields=sep.join(
        f"{t(f'side.{s}')}: {field_label(f, lang())}" for s, f in changed)) if changed else t("saved.item.none")))
    link = settings.get("link")
    out.append((t("saved.item.link"), t("saved.item.link_id", ma=link["ma_column"], sfa=link["sfa_column"])
                if link and link.get("kind") == "id" else t("saved.item.link_email")))
    out.append((t("saved.item.loss_rules"), t("saved.item.edited") if settings.get("loss_rules")
                else t("saved.item.default")))
    bench = session.get("benchmarks")
    out.append((t("saved.item.benchmarks"), t("saved.item.benchmarks_value", n=len(bench)) if bench
                else t("saved.item.default")))
    kept = session.get("kept") or {}
    target = kept.get("target_rate")
    out.append((t("saved.item.target"), pct(target / 100) if isinstance(target, int | float) else t("saved.item.default")))
    inputs = len([k for k in kept if k != "target_rate"]) + len((session.get("plan") or {}).get("weights") or {})
    out.append((t("saved.item.plan"), t("saved.item.plan_value", n=inputs) if inputs else t("saved.item.none")))
    answers = session.get("answers") or {}
    out.append((t("saved.item.answers"), t("saved.item.answers_value", n=len(answers)) if answers
                else t("saved.item.none")))
    cost = (manifest.get("costs") or {}).get("data")
    out.append((t("saved.item.cost"), t("saved.item.cost_value", file=cost["file"], rows=num(cost["rows"])) if cost
                else t("saved.item.none")))
    return out
