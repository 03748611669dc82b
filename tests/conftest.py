"""Shared fixtures. Real exports are read from ../shared/real_exports beside the project and
tests that need them skip, with the reason, where that folder is absent (a user's clone)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from funnel.sql import connect
from funnel.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "real_exports"
SAMPLE = ROOT / "sample_data"


def real(*parts: str) -> Path:
    """Path of a real export, or skip the test when ../shared is not beside the project."""
    path = REAL.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real export not available: {path} (../shared/real_exports is test data kept "
                    "outside the project)")
    return path


@pytest.fixture
def con():
    c = connect()
    yield c
    c.close()


@pytest.fixture
def ws() -> Iterator[Workspace]:
    w = Workspace()
    yield w
    w.close()
