"""The session's side of a saved workspace (:mod:`funnel.model.saved`): every edit the app keeps in
``st.session_state`` gathered into one JSON-safe dict, and put back after a file is opened.

What a session holds besides the loaded files, and where it lives:

- column-mapping overrides ``overrides``, the link ``link``, the loss rules ``loss_rules_toml``
  — saved as the engine's :class:`funnel.model.saved.Settings` (the build needs them);
- the benchmark set as edited ``bench_rows``; the checklist answers ``diagnosis_answers``;
- every page input kept across page switches by :func:`ui.state.keep` (``kept``: the target
  rate, filters, KPI plan inputs, MQL and SLA settings …) and :func:`ui.state.remembered`'s ``kept_by_language``;
- the plan's month weights ``plan_weights`` and source mix ``plan_mix_rows``;
- the cost data of the data shown (``cost_store``), saved as a Parquet table.

Pages reset some inputs when they see new data (a data version or cost version they did not
see before); after opening a file those markers are set to the restored data, so the restored
inputs are what the pages show rather than fresh defaults.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from funnel.errors import UnreadableFileError
from funnel.measures.metrics import Filters
from funnel.model import saved
from funnel.present.format import field_label, num, pct
from funnel.vocabulary import SIDES
from ui import state
from ui.state import CostEntry, FileEntry, lang, t


# -- values as JSON: dates, tuples and the MQL page's filter signature -----------------------------
def encode(value: Any) -> Any:
    """A session value as JSON (dates and tuples tagged so that :func:`decode` gives them back)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, Filters):
        return {"$filters": {k: encode(getattr(value, k)) for k in ("touch", "date_from", "date_to", "sources")}}
    if isinstance(value, tuple):
        return {"$tuple": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if hasattr(value, "item"):          # a NumPy scalar from an edited table
        return encode(value.item())
    return str(value)


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"$date"}:
        return dt.date.fromisoformat(value["$date"])
    if set(value) == {"$datetime"}:
        return dt.datetime.fromisoformat(value["$datetime"])
    if set(value) == {"$tuple"}:
        return tuple(decode(v) for v in value["$tuple"])
    if set(value) == {"$filters"}:
        f = {k: decode(v) for k, v in value["$filters"].items()}
        return Filters(f["touch"], f["date_from"], f["date_to"], None if f["sources"] is None else tuple(f["sources"]))
    return {k: decode(v) for k, v in value.items()}


# -- saving --------------------------------------------------------------------------------------------
def collect_session() -> dict[str, Any]:
    """The session's edits that are not the engine's settings, as JSON."""
    ss = st.session_state
    data = state.data_state()
    entry = state.session_cost_entry()
    cost = None
    if entry is not None:
        cost = {"origin": entry.origin,
                "file": None if entry.file is None else "same" if entry.file == entry.data else "own"}
    return encode({
        "mode": data.mode,
        "entries": {side: [{"name": e.name, "digest": e.digest, "size": e.size, "loaded": e.table is not None,
                            "error": list(e.error) if e.error else None} for e in data.files[side]]
                    for side in SIDES},
        "kept": dict(ss.get("kept", {})), "kept_by_language": dict(ss.get("kept_by_language", {})),
        "benchmarks": ss.get("bench_rows"), "answers": dict(ss.get("diagnosis_answers", {})),
        "plan": {"weights": dict(ss.get("plan_weights", {})), "mix_rows": ss.get("plan_mix_rows"),
                 "mix_lang": ss.get("plan_mix_lang")},
        "mql_sig": ss.get("mql_sig"), "cost": cost})


def save_arguments() -> dict[str, Any]:
    """Everything :func:`funnel.model.saved.save` needs from this session (cheap: no data copied)."""
    entry = state.session_cost_entry()
    costs = {}
    if entry is not None:
        costs["data"] = entry.data
        if entry.file is not None and entry.file != entry.data:
            costs["file"] = entry.file
    rules = state.loss_rules() if st.session_state.get("loss_rules_toml") else None
    data = state.data_state()
    return {"settings": saved.Settings(state.overrides(), state.link_spec(), rules), "session": collect_session(),
            "costs": costs, "language": lang(),
            "digests": {e.table: e.digest for side in SIDES for e in data.files[side] if e.table}}


def pending_manifest(args: dict[str, Any]) -> dict[str, Any]:
    """What the manifest of a file saved now would say (for the summary), without saving."""
    ws = state.session_workspace()
    s: saved.Settings = args["settings"]
    return {"files": {side: [{"name": lt.report.file, "report": {"rows_read": lt.report.rows_read,
                                                                 "dropped": lt.report.dropped}}
                             for lt in ws.files[side]] for side in SIDES},
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
        session = decode(manifest.get("session") or {})
        if not isinstance(session, dict):
            raise TypeError("session")
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise UnreadableFileError(name, key="saved.error.corrupt", part=saved.MANIFEST) from exc
    restored = saved.restore(state.session_workspace(), data, name, build=False)
    apply_session(session, restored)
    return restored.manifest


def _entries(session: dict[str, Any], restored: saved.Restored) -> dict[str, list[FileEntry]]:
    """The upload page's file list: loaded files from the workspace, failed ones from the session."""
    out: dict[str, list[FileEntry]] = {}
    for side in SIDES:
        loaded = list(restored.files[side])
        parts = [f["table"]["sha256"] for f in restored.manifest["files"].get(side) or []]
        digests = {lt.table: restored.digests.get(lt.table) or part for lt, part in zip(loaded, parts, strict=True)}
        entries: list[FileEntry] = []
        for e in (session.get("entries") or {}).get(side) or []:
            if e.get("loaded") and loaded:
                lt = loaded.pop(0)
                entries.append(FileEntry(side, lt.report.file, digests[lt.table], lt.report.size_bytes, lt.table, lt.report))
            elif not e.get("loaded") and e.get("error"):
                entries.append(FileEntry(side, str(e["name"]), str(e["digest"]), int(e["size"]),
                                         error=tuple(e["error"])))  # type: ignore[arg-type]
        entries += [FileEntry(side, lt.report.file, digests[lt.table], lt.report.size_bytes, lt.table, lt.report)
                    for lt in loaded]
        out[side] = entries
    return out


def apply_session(session: dict[str, Any], restored: saved.Restored) -> None:
    """Make the opened file's data and edits the session's (the workspace already holds the files)."""
    ss = st.session_state
    data = state.data_state()
    mode = session.get("mode") if session.get("mode") in ("sample", "user") else "user"
    data.files, data.mode = _entries(session, restored), mode
    data.version += 1
    state.session_workspace().build_result = None
    for key in ("built_sig", "rules_sig", "bench_editor", "bench_upload_digest", "bench_upload_problems", "plan_mix",
                "diagnosis_memo", "quality_memo"):
        ss.pop(key, None)

    s = restored.settings
    ss["overrides"] = {side: dict(s.overrides.get(side) or {}) for side in SIDES}
    state.set_link(s.link)
    if s.loss_rules is not None:
        ss["loss_rules_toml"] = s.loss_rules.to_toml()
    else:
        ss.pop("loss_rules_toml", None)

    bench = session.get("benchmarks")
    for key in ("bench_base", "bench_rows"):
        if bench:
            ss[key] = bench
        else:
            ss.pop(key, None)
    ss["diagnosis_answers"] = dict(session.get("answers") or {})
    for key in ("kept", "kept_by_language"):
        for old in ss.get(key, {}):
            ss.pop(old, None)          # a live widget value would win over the kept one
        ss[key] = dict(session.get(key) or {})
    plan = session.get("plan") or {}
    ss["plan_weights"] = dict(plan.get("weights") or {})
    if plan.get("mix_rows") is not None:
        ss["plan_mix_rows"], ss["plan_mix_lang"] = plan["mix_rows"], plan.get("mix_lang")
    else:
        ss.pop("plan_mix_rows", None)

    cost = session.get("cost") or {}
    found = restored.costs.get("data")
    store = ss.setdefault("cost_store", {})
    store[mode] = None if found is None else CostEntry(
        found, str(cost.get("origin") or "upload"),
        found if cost.get("file") == "same" else restored.costs.get("file"))
    store.setdefault("applied", {}).pop(mode, None)
    ss["cost_version"] = state.cost_version() + 1

    # Fresh widgets seeded from the restored values, and the pages' "new data" markers set to
    # the restored data (else the plan, filter and SLA inputs would fall back to defaults).
    for key in ("loss_rules_n", "diagnosis_gen", "plan_weights_gen", "upload_gen"):
        ss[key] = ss.get(key, 0) + 1
    ss["plan_data_sig"] = ss["lead_filters_data"] = (data.version, mode)
    ss["plan_cost_sig"] = ss["cost_version"]
    ss["sla_as_of_data"] = data.version
    if isinstance(session.get("mql_sig"), tuple):
        ss["mql_sig"] = session["mql_sig"]
    else:
        ss.pop("mql_sig", None)


# -- what a file holds, in words -----------------------------------------------------------------------
def summary(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """``(item, content)`` rows describing a saved (or about to be saved) file."""
    sep = "、" if lang() == "ja" else ", "
    session = manifest.get("session") or {}
    settings = manifest.get("settings") or {}
    out = [(t("saved.item.mode"), t(f"saved.item.mode.{session.get('mode', 'user')}"))]
    for side in SIDES:
        names = [t("saved.item.file", file=f["name"], rows=num(f["report"]["rows_read"]),
                   dropped=num(sum(f["report"].get("dropped", {}).values())))
                 for f in (manifest.get("files") or {}).get(side) or []]
        names += [t("saved.item.file_failed", file=e["name"])
                  for e in (session.get("entries") or {}).get(side) or [] if e.get("error")]
        out.append((t("saved.item.files", side=t(f"side.{side}")), sep.join(names) or t("saved.item.none")))
    changed = [(side, f) for side in SIDES for f in (settings.get("overrides") or {}).get(side) or {}]
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
