"""funnel: link marketing-automation leads to sales opportunities and diagnose the funnel.

The engine never imports Streamlit. The public names below are imported on first use, so
that ``import funnel.x`` stays cheap (the CLI starts faster, and a transcoding worker
process does not load DuckDB).
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "Build": "funnel.model.workspace", "LinkSpec": "funnel.model.workspace", "Workspace": "funnel.model.workspace",
    "EmptyFileError": "funnel.errors", "FunnelError": "funnel.errors", "MappingError": "funnel.errors",
    "NoKeyColumnError": "funnel.errors", "UnreadableFileError": "funnel.errors",
    "LoadReport": "funnel.ingest.reader", "Source": "funnel.ingest.reader", "connect": "funnel.sql",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'funnel' has no attribute {name!r}")
