"""One user's session: everything the user built up, in one object owned by the engine.

The browser session (``ui/``) holds one reference to a :class:`Session`; pages change it only
through its methods, and each change that can alter a result bumps :attr:`Session.version`, the
one counter that caches key on. What it holds:

- this month's data (:attr:`data`, a :class:`Dataset`) in the data mode ``sample`` or ``user``,
  and last month's (:attr:`baseline`, a :class:`LastMonth`) for 前回との比較;
- the build settings: mapping overrides, link rule, loss rules (taxonomy) as edited;
- the benchmark set as edited, the checklist answers, the plan's month weights and source mix,
  the account match report's merges and splits;
- the users export (owner ID → name) that owner columns are shown through;
- the cost data, one per data mode (the sample's cost file never prices a user's leads);
- the page inputs kept across page switches (:attr:`kept`, :attr:`kept_by_language`).

The owner names, the cost data and the account edits live in mixins of their own
(``session_owners``, ``session_cost``, ``session_accounts``) so this module stays small;
they are still attributes and methods of this one object, and bump its one version.

Page inputs do not bump the version: a filter is an argument of the queries it changes, and a
widget change must not throw away every kept result. Page-private scratch (:attr:`scratch`,
markers, widget generations) is not saved; opening a saved file starts it afresh.

:meth:`Session.to_json` is the session part of a saved ``.funnel`` file; :meth:`Session.apply_saved`
reads it back, including the layout written before this object existed (``tests/fixtures/
saved_session_v1.json``: the same fields plus a page marker, ``mql_sig``, that is now ignored).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from funnel.errors import FunnelError
from funnel.model.baseline import LastMonth
from funnel.model.dataset import KINDS, BuildSettings, Dataset, FileEntry, entries_field
from funnel.model.link import LinkSpec
from funnel.model.rules import LossRules
from funnel.model.saved import Restored, Settings
from funnel.model.session_accounts import SessionAccounts
from funnel.model.session_cost import CostEntry, SessionCost
from funnel.model.session_json import LAYOUT, encode, file_entries
from funnel.model.session_owners import SessionOwners
from funnel.model.sources import SourceMap
from funnel.model.workspace import Build
from funnel.vocabulary import ACTIVITY

MODES = ("sample", "user")
_MISSING = object()


class Session(SessionOwners, SessionCost, SessionAccounts):
    """Everything one user built up (see the module docstring)."""

    def __init__(self, sample: Mapping[str, list[Path]] | None = None, sample_cost: Path | None = None) -> None:
        self.sample_files = {k: list(v) for k, v in (sample or {}).items()}
        self.sample_cost = sample_cost
        self.data = Dataset()
        self.baseline = LastMonth()
        self.mode = "sample"
        self.own_activity = False       # the activity files are the user's (see use_uploads)
        self.overrides: dict[str, dict[str, str | None]] = {k: {} for k in KINDS}
        self.link: LinkSpec | None = None
        self.loss_rules_toml: str | None = None
        self.benchmarks: list[dict[str, Any]] | None = None
        self.answers: dict[str, Any] = {}
        self.plan_weights: dict[str, float] = {}
        self.plan_mix: list[dict[str, Any]] | None = None
        self.plan_mix_lang: str | None = None
        self.source_pairs: list[tuple[str, str]] | None = None   # the source → channel mapping as edited
        self._init_owners()
        self._init_accounts()
        self._init_cost()
        self.kept: dict[str, Any] = {}
        self.kept_by_language: dict[str, Any] = {}
        self.scratch: dict[str, Any] = {}
        self.marks: dict[str, Any] = {}
        self.generations: dict[str, int] = {}
        self.opened = 0                                 # saved files opened into this session
        self._floor = self._tokens()
        self.version = 0

    def _bump(self) -> None:
        self.version += 1

    def close(self) -> None:
        self.data.close()
        self.baseline.close()

    # -- this month's files ------------------------------------------------------------------
    @property
    def files(self) -> dict[str, list[FileEntry]]:
        return self.data.files

    def use_sample(self) -> None:
        """The bundled sample exports (the opening state)."""
        self.data.clear()
        self.data.add_paths(self.sample_files)
        self.mode = "sample"
        self.own_activity = False
        self._bump()

    def same_uploads(self, side: str, uploads: list[tuple[str, bytes]]) -> bool:
        """Whether ``uploads`` are already ``side``'s files as the user gave them (a rerun keeps
        an uploader's files: they are not read again)."""
        mine = self.mode == "user" or (side == ACTIVITY and self.own_activity)
        return mine and self.data.same_files(side, uploads)

    def use_uploads(self, side: str, uploads: list[tuple[str, bytes]],
                    progress: Callable[[int, str], None] | None = None) -> bool:
        """Replace ``side``'s files by ``uploads``; False when nothing changed. Leaving the
        sample clears both sides, so a user's leads are never measured against the sample's
        opportunities; the mapping overrides of ``side`` start again.

        Activity exports are no side of their own: given while the sample is shown they take
        the place of the sample's activity log and the sample's MA and SFA stay (the data mode
        stays ``sample``, :attr:`own_activity` says whose activity it is); the user's MA or SFA
        then replaces the sample's exports but keeps the user's activity files."""
        if self.same_uploads(side, uploads):
            return False
        if self.mode == "sample":
            if side == ACTIVITY:
                self.own_activity = True
            else:
                for kind in KINDS:
                    if kind != ACTIVITY or not self.own_activity:
                        self.data.clear(kind)
                self.mode = "user"
        self.data.replace(side, uploads, progress)
        self.overrides[side] = {}
        self._bump()
        return True

    def remove_file(self, side: str, digest: str) -> None:
        self.data.remove(side, digest)
        self._bump()

    # -- build settings ----------------------------------------------------------------------
    def set_overrides(self, side: str, overrides: Mapping[str, str | None]) -> None:
        self.overrides[side] = dict(overrides)
        self._bump()

    def set_link(self, spec: LinkSpec | None) -> None:
        self.link = spec
        self._bump()

    @property
    def loss_rules(self) -> LossRules:
        return LossRules.from_toml(self.loss_rules_toml) if self.loss_rules_toml else LossRules.default()

    def set_loss_rules(self, rules: LossRules | None) -> None:
        """The edited loss rules; ``None`` (or the bundled rules) goes back to the default."""
        found = None if rules is None or rules == LossRules.default() else rules.to_toml()
        if found != self.loss_rules_toml:
            self.loss_rules_toml = found
            self._bump()

    def build_settings(self) -> BuildSettings:
        return BuildSettings(self.overrides, self.link, self.loss_rules)

    def ensure_built(self) -> Build:
        """This month's build (raises FunnelError when it cannot be built)."""
        return self.data.ensure_built(self.build_settings())

    def ensure_baseline_built(self) -> Build:
        return self.baseline.ensure_built(self.baseline.settings_for(self.build_settings()))

    # -- last month follows the data shown -----------------------------------------------------
    def follow_data(self, sample: Mapping[str, list[Path]]) -> LastMonth:
        """The sample's last month while the sample data is shown and no other baseline was
        given (nor the sample's removed); none of it once the user's own data is shown."""
        base = self.baseline
        if self.mode != "sample":
            if base.sample:
                self.clear_baseline()
            base.declined = None
        elif not base.sample and not base.has_files() and base.declined != self.data.version:
            base.use_sample(sample)
            self._bump()
        return base

    def clear_baseline(self) -> None:
        """Forget last month's files; the sample's, once removed, is not given again for the
        same data."""
        self.baseline._reset()
        self.baseline.declined = self.data.version
        self._bump()

    def use_baseline_uploads(self, side: str, uploads: list[tuple[str, bytes]]) -> bool:
        changed = self.baseline.use_uploads(side, uploads)
        if changed:
            self._bump()
        return changed

    def use_baseline_saved(self, name: str, data: bytes) -> FunnelError | None:
        before = self.baseline.version
        failed = self.baseline.use_saved(name, data)
        if self.baseline.version != before:
            self._bump()
        return failed

    # -- edits of the analysis -----------------------------------------------------------------
    def set_benchmarks(self, rows: list[dict[str, Any]] | None) -> None:
        if rows != self.benchmarks:
            self.benchmarks = rows
            self._bump()

    def set_answers(self, answers: Mapping[str, Any]) -> None:
        self.answers = dict(answers)
        self._bump()

    def set_answer(self, item: str, answer: Any) -> None:
        """One checklist answer (``None``: unanswered)."""
        if self.answers.get(item) != answer:
            if answer is None:
                self.answers.pop(item, None)
            else:
                self.answers[item] = answer
            self._bump()

    def set_plan_weights(self, weights: Mapping[str, float]) -> None:
        if dict(weights) != self.plan_weights:
            self.plan_weights = dict(weights)
            self._bump()

    def set_plan_mix(self, rows: list[dict[str, Any]] | None, lang: str | None = None) -> None:
        """The plan's source mix as edited (its rows keyed by the column labels of ``lang``)."""
        found = (rows, lang if rows is not None else None)
        if found != (self.plan_mix, self.plan_mix_lang):
            self.plan_mix, self.plan_mix_lang = found
            self._bump()

    def set_source_map(self, pairs: Sequence[tuple[str, str]] | None) -> None:
        """The source → channel mapping as edited (None: none made; the pages suggest one)."""
        found = None if pairs is None else [(str(a), str(b)) for a, b in pairs]
        if found != self.source_pairs:
            self.source_pairs = found
            self._bump()

    @property
    def source_map(self) -> SourceMap | None:
        return None if self.source_pairs is None else SourceMap.from_pairs(self.source_pairs)

    # -- page inputs and page scratch -----------------------------------------------------------
    def _tokens(self) -> dict[str, Any]:
        return {"data": ("data", self.data.version), "cost": ("cost", self.cost_version)}

    def changed(self, name: str, topic: str | None = None, token: Any = None, *, record: bool = True) -> bool:
        """Whether ``topic`` (``"data"``: this month's files; ``"cost"``: the cost data) or a
        page's own ``token`` changed since ``name`` last looked (a page then drops inputs
        whose defaults came from what it saw). Opening a saved file counts as seen."""
        now = self._tokens()[topic] if topic else token
        before = self.marks.get(name, self._floor[topic] if topic else _MISSING)
        if record:
            self.marks[name] = now
        return before is not _MISSING and before != now

    def generation(self, name: str) -> int:
        """A widget's generation (part of its key): a new one is an empty, fresh widget."""
        return self.generations.get(name, 0) + self.opened

    def next_generation(self, name: str) -> None:
        self.generations[name] = self.generations.get(name, 0) + 1

    # -- the saved file's session part ------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The session part of a saved file (the files' tables and the build settings are saved
        beside it by :func:`funnel.model.saved.save`)."""
        return encode({"layout": LAYOUT, "mode": self.mode, "own_activity": self.own_activity, "entries": entries_field(self.data.files),
                       "kept": dict(self.kept), "kept_by_language": dict(self.kept_by_language),
                       "benchmarks": self.benchmarks, "answers": dict(self.answers),
                       "plan": {"weights": dict(self.plan_weights), "mix_rows": self.plan_mix,
                                "mix_lang": self.plan_mix_lang},
                       "sources": None if self.source_pairs is None else [list(p) for p in self.source_pairs],
                       "users": self._owners_json(), "accounts": self._accounts_json(), "cost": self._cost_json()})

    def save_arguments(self, language: str) -> dict[str, Any]:
        """The keyword arguments of :func:`funnel.model.saved.save` for this session (cheap:
        no data copied)."""
        return {"settings": self.saved_settings(), "session": self.to_json(), "costs": self.saved_costs(),
                "language": language,
                "digests": {e.table: e.digest for side in KINDS for e in self.files[side] if e.table}}

    def saved_settings(self) -> Settings:
        return Settings(self.overrides, self.link, self.loss_rules if self.loss_rules_toml else None)

    def apply_saved(self, session: Mapping[str, Any], restored: Restored) -> None:
        """Make an opened file's data and edits this session's (``restored``: what
        :func:`funnel.model.saved.restore` put in :attr:`data`'s workspace); ``session`` is the
        decoded session part, in this layout or the one before it."""
        mode = str(session["mode"]) if session.get("mode") in MODES else "user"
        self.mode = mode
        self.own_activity = bool(session.get("own_activity"))
        self.data.adopt(file_entries(session, restored))
        s = restored.settings
        self.overrides = {k: dict(s.overrides.get(k) or {}) for k in KINDS}
        self.link = s.link
        self.loss_rules_toml = None if s.loss_rules is None else s.loss_rules.to_toml()
        self.benchmarks = session.get("benchmarks") or None
        self.answers = dict(session.get("answers") or {})
        self.kept = dict(session.get("kept") or {})
        self.kept_by_language = dict(session.get("kept_by_language") or {})
        plan = session.get("plan") or {}
        self.plan_weights = dict(plan.get("weights") or {})
        self.plan_mix = plan.get("mix_rows")
        self.plan_mix_lang = plan.get("mix_lang") if self.plan_mix is not None else None
        pairs = session.get("sources")
        self.source_pairs = None if pairs is None else [(str(a), str(b)) for a, b in pairs]
        self._apply_saved_owners(session)
        self._apply_saved_accounts(session)
        self._apply_saved_cost(session, restored, mode)
        # Page scratch starts afresh, every widget gets a new generation (fresh widgets seeded
        # from the restored values), and the restored data counts as seen by every page.
        self.scratch.clear()
        self.marks.clear()
        self.opened += 1
        self._floor = self._tokens()
        self._bump()


__all__ = ["MODES", "CostEntry", "Session"]
