"""The アトリビューション page as a user sees it (AppTest on the bundled sample with its activity
file): every model side by side with the first-touch source view, ``(no lead)`` and
``(no touch)`` shown, each column summing to the deal counts, the model and half-life
controls, and downloads holding what is shown.

Reference credits are computed another way: a plain-Python split of each opportunity over its
touches, read from the built tables (``events``, ``links``, ``opps``, ``leads``), not by the
page's SQL.
"""

from __future__ import annotations

import io
from collections import defaultdict
from typing import Any

import pandas as pd
import pytest

from funnel.i18n import t
from funnel.model.workspace import Workspace
from tests.conftest import switch_to

MODELS = ("first", "last", "linear", "position", "time_decay")


@pytest.fixture(scope="module")
def engine(sample_activity_ws: Workspace) -> Workspace:
    return sample_activity_ws


def split(model: str, n: int, days: list[int], half_life: float) -> list[float]:
    """contracts/cli.md's shares of touches 1..n (``days`` before the opportunity)."""
    if model == "first":
        return [1.0] + [0.0] * (n - 1)
    if model == "last":
        return [0.0] * (n - 1) + [1.0]
    if model == "linear":
        return [1.0 / n] * n
    if model == "position":
        if n <= 2:
            return [1.0 / n] * n
        return [0.4] + [0.2 / (n - 2)] * (n - 2) + [0.4]
    w = [2.0 ** (-d / half_life) for d in days]
    return [x / sum(w) for x in w]


def reference(engine: Workspace, model: str, half_life: float = 7.0) -> dict[str, tuple[float, float, float]]:
    con = engine.con
    opps = {k: (o, a, c, n) for k, o, a, c, n in con.execute(
        "SELECT opp_key, outcome, amount, created_at::DATE, n_leads FROM opps").fetchall()}
    touches: dict[str, list[tuple[Any, int, str]]] = defaultdict(list)
    for opp, day, pos, label in con.execute(
            "SELECT k.opp_key, e.day, e.pos, e.label FROM links k JOIN events e USING (lead_key)").fetchall():
        created = opps[opp][2]
        if created is None or day <= created:
            touches[opp].append((day, pos, label))
    out: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for opp, (outcome, amount, created, n_leads) in opps.items():
        ts = sorted(touches.get(opp, []))
        if not ts:
            parts = [("(no lead)" if n_leads == 0 else "(no touch)", 1.0)]
        else:
            end = created or max(d for d, _, _ in ts)
            days = [(end - d).days for d, _, _ in ts]
            parts = list(zip([lbl for _, _, lbl in ts], split(model, len(ts), days, half_life), strict=True))
        for label, share in parts:
            cell = out[label]
            cell[0] += share
            if outcome == "won":
                cell[1] += share
                cell[2] += share * (amount or 0.0)
    return {k: (v[0], v[1], v[2]) for k, v in out.items() if v[0] > 0}


@pytest.fixture
def page(app: Any, downloads: dict[str | None, Any]) -> Any:
    return switch_to(app, "views/attribution.py", "アトリビューション")


def side_by_side(at: Any) -> pd.DataFrame:
    col = t("activity.model_short.first_touch_source", "ja")
    found = [d.value for d in at.dataframe if col in d.value.columns]
    assert len(found) == 1
    return found[0].set_index(t("activity.term.touch", "ja"))


def label(touch: str) -> str:
    return {"(no lead)": t("activity.touch.no_lead", "ja"), "(no touch)": t("activity.touch.no_touch", "ja")}.get(touch, touch)


def test_every_model_side_by_side_equals_a_plain_python_split(page: Any, engine: Workspace) -> None:
    shown = side_by_side(page)
    n_opps = engine.con.execute("SELECT count(*) FROM opps").fetchone()[0]
    total = shown.loc[t("attribution.table.total", "ja")]
    for m in MODELS:
        ref = reference(engine, m)
        col = t(f"activity.model_short.{m}", "ja")
        assert total[col] == pytest.approx(n_opps) == pytest.approx(293)
        for touch, (opps, _, _) in ref.items():
            assert shown.loc[label(touch), col] == pytest.approx(opps, abs=1e-4), (m, touch)
    # (no lead) and (no touch) are rows of the table, under every model alike.
    no_lead = engine.con.execute("SELECT count(*) FROM opps WHERE n_leads = 0").fetchone()[0]
    assert shown.loc[label("(no lead)"), t("activity.model_short.linear", "ja")] == no_lead == 35
    assert label("(no touch)") in shown.index
    # The first-touch source view sums to the opportunities too.
    assert total[t("activity.model_short.first_touch_source", "ja")] == pytest.approx(n_opps)


def test_won_and_amount_credits_sum_to_the_won_deals(page: Any, engine: Workspace, downloads: dict) -> None:
    won, amount = engine.con.execute(
        "SELECT count(*), sum(coalesce(amount, 0)) FROM opps WHERE outcome = 'won'").fetchone()
    page.radio(key="attribution_measure").set_value("won").run()
    total = side_by_side(page).loc[t("attribution.table.total", "ja")]
    assert all(v == pytest.approx(won) for v in total)
    page.radio(key="attribution_measure").set_value("won_amount").run()
    total = side_by_side(page).loc[t("attribution.table.total", "ja")]
    assert all(v == pytest.approx(amount, rel=1e-9) for v in total)
    shown = {m.label: m.value for m in page.metric}
    assert shown[t("attribution.kpi.won", "ja")] == f"{won:,}"
    got = pd.read_csv(io.BytesIO(downloads["attribution_won_amount.csv"]))
    assert downloads["attribution_won_amount.csv"].startswith("\ufeff".encode())
    assert len(got) == len(side_by_side(page))


def test_half_life_and_model_controls(page: Any, engine: Workspace, downloads: dict) -> None:
    page.number_input(key="attribution_half_life").set_value(30.0).run()
    page.radio(key="attribution_model").set_value("time_decay").run()
    assert not page.exception, page.exception
    ref = reference(engine, "time_decay", 30.0)
    shown = side_by_side(page)
    col = t("activity.model_short.time_decay", "ja")
    for touch, (opps, _, _) in ref.items():
        assert shown.loc[label(touch), col] == pytest.approx(opps, abs=1e-4)
    detail = pd.read_csv(io.BytesIO(downloads["attribution_time_decay.csv"]))
    by_touch = dict(zip(detail[t("activity.term.touch", "ja")], detail[t("activity.term.credit_won", "ja")], strict=True))
    for touch, (_, won, _) in ref.items():
        assert by_touch[label(touch)] == pytest.approx(won, abs=1e-4)


def test_english(page: Any) -> None:
    page.session_state["lang"] = "en"
    page.run()
    assert not page.exception, page.exception
    assert [x.value for x in page.title] == ["Attribution"]
    col = t("activity.model_short.first_touch_source", "en")
    found = [d.value for d in page.dataframe if col in d.value.columns]
    assert len(found) == 1 and "(no lead)" in list(found[0][t("activity.term.touch", "en")])


def test_credits_shown_to_one_decimal_downloaded_exact(page: Any, engine: Workspace, downloads: dict) -> None:
    """Tables format shares of a deal to one decimal (133.5, not 133.4687); the downloads keep
    the exact credit (checked against the plain-Python split to 1e-9)."""
    import json

    col = t("activity.model_short.linear", "ja")
    shown = [d for d in page.dataframe if col in d.value.columns]
    assert len(shown) == 1
    config = json.loads(shown[0].proto.columns)
    assert config[col]["type_config"]["format"] == "%.1f"
    got = pd.read_csv(io.BytesIO(downloads["attribution_opportunities.csv"])).set_index(t("activity.term.touch", "ja"))
    for touch, (opps, _, _) in reference(engine, "linear").items():
        assert got.loc[label(touch), col] == pytest.approx(opps, abs=1e-9)
    assert any(abs(v * 10 - round(v * 10)) > 1e-6 for v in got[col])     # some credits need more than 1 decimal
