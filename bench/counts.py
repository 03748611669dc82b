"""The counts every fair pipeline must share with ``analyze --json`` (issue 20).

A contender is only a floor if it does the same job: the harness compares, at every size and
in every round, the counts each fair pipeline prints with the tool's JSON, and stops the run
when one differs (a faster pipeline that counts differently measures nothing).
"""

from __future__ import annotations

import json
from typing import Any


class CountsDiffer(RuntimeError):
    """A fair pipeline's counts are not the tool's: the comparison would be meaningless."""


def of_tool(analysis: dict[str, Any]) -> dict[str, Any]:
    """The compared counts out of the tool's JSON, in the shape the fair pipelines print."""
    return {"overall": {k: analysis["overall"][k] for k in ("leads", "converted")},
            "by_source": {json.dumps(s["source"], ensure_ascii=False): [s["leads"], s["converted"]]
                          for s in analysis["by_source"]},
            "outcomes": {k: analysis["outcomes"][k] for k in ("won", "lost", "open")},
            "rows_without_key": analysis["ma"]["rows_without_key"]}


def check(name: str, tool: dict[str, Any], theirs: dict[str, Any]) -> None:
    """Raise :class:`CountsDiffer` naming every key where ``theirs`` differs from ``tool``."""
    diffs = []
    for key in ("overall", "outcomes", "rows_without_key"):
        if tool[key] != theirs.get(key):
            diffs.append(f"{key}: tool {tool[key]} vs {theirs.get(key)}")
    mine, other = tool["by_source"], theirs.get("by_source", {})
    for source in sorted(set(mine) | set(other)):
        if mine.get(source) != other.get(source):
            diffs.append(f"by_source {source}: tool {mine.get(source)} vs {other.get(source)}")
    if diffs:
        raise CountsDiffer(f"{name} does not count what analyze counts:\n  " + "\n  ".join(diffs))
