"""The funnel per lead source: one grouped query that must agree with ``metrics.funnel`` run
on each source alone, and the "measurable over the whole cohort" rule."""

from __future__ import annotations

import pytest

from funnel.ingest.reader import Source
from funnel.measures import metrics as m
from funnel.measures import stages
from funnel.model.workspace import Workspace
from tests.conftest import load_sample
from tests.test_metrics import MA, SFA


def _ws(ma: bytes, sfa: bytes) -> Workspace:
    ws = Workspace()
    ws.load("ma", Source.from_bytes("leads.csv", ma))
    ws.load("sfa", Source.from_bytes("deals.csv", sfa))
    ws.build()
    return ws


@pytest.fixture(scope="module")
def sample():
    ws = Workspace()
    load_sample(ws)
    ws.build()
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def tiny():
    ws = _ws(MA.encode("utf-8"), SFA.encode("cp932"))
    yield ws
    ws.close()


def _same(a: list[m.FunnelStep], b: list[m.FunnelStep]) -> None:
    assert [(s.stage, s.count, s.inferred) for s in a] == [(s.stage, s.count, s.inferred) for s in b]
    for x, y in zip(a, b, strict=True):
        assert x.pct_of_first == pytest.approx(y.pct_of_first)
        assert (x.pct_of_previous is None) == (y.pct_of_previous is None)
        if x.pct_of_previous is not None:
            assert x.pct_of_previous == pytest.approx(y.pct_of_previous)


@pytest.mark.parametrize("mode", ["reached", "recorded"])
@pytest.mark.parametrize("touch", ["first", "last"])
def test_each_source_equals_the_funnel_of_that_source_alone(sample, mode, touch):
    got = stages.funnel_by_source(sample.con, m.Filters(touch=touch), mode)
    assert sum(g.leads for g in got) == m.overall(sample.con, m.Filters(touch=touch)).leads
    for g in got:
        alone = m.funnel(sample.con, m.Filters(touch=touch, sources=(g.group,)), mode)
        _same(g.steps, alone.steps)


def test_hand_computed_funnel_per_source(tiny):
    # From tests/test_metrics.py: 展示会 a (MQL+SQL, won) and b (lead, lost deal);
    # Web広告 c (SQL, lost + open deal); 紹介 e (status 商談化, no deal); no source: d.
    got = {g.group: [s.count for s in g.steps] for g in stages.funnel_by_source(tiny.con)}
    assert got == {"展示会": [2, 2, 2, 2, 1], "Web広告": [1, 1, 1, 1, 0], "紹介": [1, 1, 1, 0, 0],
                   None: [1, 0, 0, 0, 0]}
    inferred = {g.group: [s.inferred for s in g.steps] for g in stages.funnel_by_source(tiny.con)}
    assert inferred["展示会"] == [0, 1, 1, 0, 0]        # b reached an opportunity with no MQL/SQL record
    recorded = {g.group: [s.count for s in g.steps] for g in stages.funnel_by_source(tiny.con, mode="recorded")}
    assert recorded["展示会"] == [2, 1, 1, 2, 1]


def test_a_source_without_evidence_is_a_true_zero_when_others_have_some():
    ma = b"email,source,MQL date\na@x.jp,Web,2025/01/05\nb@x.jp,Event,\n"
    sfa = b"deal id,stage,email\n1,Closed Won,b@x.jp\n"
    ws = _ws(ma, sfa)
    try:
        got = {g.group: g.steps for g in stages.funnel_by_source(ws.con, mode="recorded")}
        assert got["Event"][1].available and got["Event"][1].count == 0
        # Alone, Event has no MQL evidence at all, so metrics.funnel calls the stage unmeasurable.
        assert not m.funnel(ws.con, m.Filters(sources=("Event",)), "recorded").steps[1].available
    finally:
        ws.close()


def test_stage_without_evidence_anywhere_is_unavailable():
    ws = _ws(b"email,source\na@x.jp,Web\nb@x.jp,Web\n", b"deal id,stage,email\n1,Closed Won,a@x.jp\n")
    try:
        (g,) = stages.funnel_by_source(ws.con)
        assert [s.available for s in g.steps] == [True, False, False, True, True]
        assert g.steps[3].pct_of_previous == pytest.approx(0.5)     # opportunity vs leads
        assert g.small_sample
    finally:
        ws.close()


def test_bad_mode():
    with pytest.raises(ValueError):
        stages.funnel_by_source(None, mode="both")  # type: ignore[arg-type]
