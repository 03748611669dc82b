"""The server-side session registry behind "nothing lost on reload" (funnel/model/registry.py)."""

from __future__ import annotations

from funnel.config import setting
from funnel.model.registry import Registry
from funnel.model.session import Session


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Closing(Session):
    closed = 0

    def close(self) -> None:
        type(self).closed += 1
        super().close()


def test_a_token_finds_its_own_session_again_and_nothing_else():
    reg = Registry(Session, idle_seconds=60, max_sessions=10)
    a_token, a, found = reg.open(None)
    assert not found and Registry.well_formed(a_token) and len(a_token) == 32
    b_token, b, _ = reg.open(None)
    assert a is not b and a_token != b_token
    a.kept["upload"] = "mine"
    again_token, again, found = reg.open(a_token)           # the reload
    assert found and again is a and again_token == a_token and again.kept["upload"] == "mine"
    # A guessed, malformed or foreign token never reaches a session: a new one is made.
    for guess in ("", "x" * 32, a_token[:-1], a_token + "A", "../" + a_token[3:], None):
        token, other, found = reg.open(guess)
        assert not found and other is not a and other is not b and token not in (a_token, b_token)


def test_tokens_are_random():
    reg = Registry(Session, idle_seconds=60, max_sessions=1000)
    tokens = {reg.open(None)[0] for _ in range(200)}
    assert len(tokens) == 200


def test_idle_sessions_expire_and_are_closed():
    clock = Clock()
    Closing.closed = 0
    reg = Registry(Closing, idle_seconds=60, max_sessions=10, clock=clock)
    old, s, _ = reg.open(None)
    ws = s.data.workspace
    assert ws.workdir.exists()
    clock.now += 30
    assert reg.open(old)[2]                     # used within the idle time: kept, and touched
    clock.now += 59
    assert reg.touch(old)
    clock.now += 61
    assert reg.sweep() == 1 and old not in reg and Closing.closed == 1
    assert not ws.workdir.exists()              # the workspace's temporary files are gone
    token, fresh, found = reg.open(old)         # an expired token starts over on a new session
    assert not found and fresh is not s and token != old


def test_the_size_cap_closes_the_least_recently_used():
    clock = Clock()
    Closing.closed = 0
    reg = Registry(Closing, idle_seconds=10_000, max_sessions=3, clock=clock)
    tokens = []
    for _ in range(3):
        tokens.append(reg.open(None)[0])
        clock.now += 1
    reg.open(tokens[0])                         # the first is used again: the second is now oldest
    clock.now += 1
    newest = reg.open(None)[0]
    assert len(reg) == 3 and Closing.closed == 1
    assert tokens[1] not in reg and {tokens[0], tokens[2], newest} <= {t for t in tokens + [newest] if t in reg}


def test_defaults_come_from_the_settings():
    reg = Registry(Session)
    assert reg.idle_seconds == 60 * setting("session_idle_minutes") and reg.max_sessions == setting("session_max")
    reg.open(None)
    reg.close_all()
    assert len(reg) == 0
