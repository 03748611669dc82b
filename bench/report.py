"""``bench_out/report.md`` from the measurements of ``python -m bench`` (see ``__main__``)."""

from __future__ import annotations

import itertools
from typing import Any

# ``analyze`` on the fair pipelines' job: the MA export without its company column.
SAME_JOB = "analyze_same_job"
LABELS = {"analyze": "tool `analyze --json`",
          SAME_JOB: "tool, the fair pipelines' job (MA export without its company column: no accounts)",
          "fair_duckdb": "fair DuckDB pipeline",
          "fair_polars": "fair polars pipeline", "least_duckdb": "least DuckDB pipeline (lower/trim only)",
          "pandas": "pandas script (does less)"}


def _s(x: float) -> str:
    return f"{x:.2f} s"


def _contest(n: int, c: dict[str, Any], checked: dict[str, Any]) -> list[str]:
    tool = c["analyze"]["wall"]
    lines = [f"## {n:,} leads", "", "| contender | time | peak RSS | DuckDB spill | tool ÷ contender |",
             "|---|---|---|---|---|"]
    for name, label in LABELS.items():
        if name not in c:   # a report of an older harness, read back
            continue
        m = c[name]
        ratio = "—" if name == "analyze" else f"{tool / m['wall']:.2f}×"
        lines.append(f"| {label} | {_s(m['wall'])} | {m['rss_mb']:.0f} MB | {m['spill_mb']:.0f} MB | {ratio} |")
    o = checked["overall"]
    same = c[SAME_JOB]["wall"] if SAME_JOB in c else None
    lines += ["", f"tool ÷ fair DuckDB **{tool / c['fair_duckdb']['wall']:.2f}×** (target ≤ 1.5×), "
                  f"tool ÷ fair polars **{tool / c['fair_polars']['wall']:.2f}×** (target < 1×), "
                  f"pandas ÷ tool **{c['pandas']['wall'] / tool:.2f}×** (target ≥ 2.5×).",
              *([] if same is None else [
                  "", f"The fair pipelines build no accounts; on their job (the export without its company "
                      f"column) the tool takes {_s(same)}: **{same / c['fair_duckdb']['wall']:.2f}×** fair DuckDB, "
                      f"{same / c['fair_polars']['wall']:.2f}× fair polars; the account graph costs {_s(tool - same)}."]),
              "", f"Counts checked equal in every round (both fair pipelines and the run without the "
                  f"company column = the tool's JSON): "
                  f"{o['leads']:,} leads, {o['converted']:,} converted, "
                  f"{len(checked['by_source'])} sources, outcomes "
                  + ", ".join(f"{k} {v:,}" for k, v in checked["outcomes"].items())
                  + f", {checked['rows_without_key']:,} MA rows without key.", ""]
    return lines


def _scaling(r: dict[str, Any]) -> list[str]:
    fits = r["scaling"]
    if fits["analyze"] is None:
        return ["## Cost per 100k leads", "", "(one size only: no fit)", ""]
    sizes = sorted(int(n) for n in r["sizes"])
    steps = list(itertools.pairwise(sizes))
    lines = ["## Cost per 100k leads (least-squares fit over " + ", ".join(f"{n:,}" for n in sizes)
             + "; then the cost of each step between sizes)", "",
             "| contender | fixed | per 100k leads | tool's per 100k ÷ its | "
             + " | ".join(f"{a // 1000:,}k → {b // 1000:,}k" for a, b in steps) + " |",
             "|---|---|---|---|" + "---|" * len(steps)]
    tool = fits["analyze"]["per_100k"]
    for name in ("analyze", SAME_JOB, "fair_duckdb", "fair_polars"):
        f = fits.get(name)
        if f is None:
            continue
        ratio = "—" if name == "analyze" else f"{tool / f['per_100k']:.2f}×"
        wall = {n: _by_size(r["contest"], n)[name]["wall"] for n in sizes}
        marginal = [f"{_s((wall[b] - wall[a]) / (b - a) * 100_000)} /100k" for a, b in steps]
        lines.append(f"| {LABELS[name]} | {_s(f['fixed'])} | {_s(f['per_100k'])} | {ratio} | "
                     + " | ".join(marginal) + " |")
    same = fits.get(SAME_JOB)
    if same is not None:
        lines += ["", f"On the fair pipelines' job (no company column, no accounts) the tool's per 100k "
                      f"is {_s(same['per_100k'])}: **{same['per_100k'] / fits['fair_duckdb']['per_100k']:.2f}×** "
                      f"fair DuckDB's (target 1.5×)."]
    return [*lines, ""]


def _inputs(i: dict[str, Any]) -> list[str]:
    utf8 = i["load_utf8"]["wall"]
    cp, bare_cp = i["load_cp932"]["wall"], i["bare_decode_cp932"]["wall"]
    xl, bare_xl, checked = i["load_xlsx"]["wall"], i["bare_calamine_xlsx"]["wall"], i["bare_checked_xlsx"]["wall"]
    return ["## Inputs", "", "| measure | time | peak RSS | compared with |", "|---|---|---|---|",
            f"| load CP932 CSV | {_s(cp)} | {i['load_cp932']['rss_mb']:.0f} MB | {cp / bare_cp:.2f}× the bare decode "
            f"({_s(bare_cp)}); above the UTF-8 load: {(cp - utf8) / bare_cp:.2f}× the bare decode (target 1.3×) |",
            f"| load XLSX | {_s(xl)} | {i['load_xlsx']['rss_mb']:.0f} MB | {xl / checked:.2f}× the bare calamine read "
            f"+ far-cell check ({_s(checked)}; target 1.3×); {xl / bare_xl:.2f}× the bare read alone ({_s(bare_xl)}) |",
            *([] if "xlsx_warm" not in i else [
                f"| load XLSX in a warm process (the app: engine imported, parsing worker running) | "
                f"{_s(i['xlsx_warm']['load'])} | — | {i['xlsx_warm']['load'] / i['xlsx_warm']['bare']:.2f}× the bare "
                f"calamine read + far-cell check in that process ({_s(i['xlsx_warm']['bare'])}) |"]),
            f"| load UTF-8 CSV | {_s(utf8)} | {i['load_utf8']['rss_mb']:.0f} MB | — |",
            f"| Python start + imports | {_s(i['python_start']['wall'])} | — | — |", ""]


def _app(r: dict[str, Any]) -> list[str]:
    e, at = r["app"]["engine"], r["app"].get("apptest", {})
    lines = [f"## App ({r['leads']:,} leads)", "", "| click | engine queries | whole page (AppTest) |", "|---|---|---|"]
    for key, label in (("load_and_build", "upload → linked"), ("upload_sfa_first_full_page", "first full page after upload"),
                       ("rate_first_page", "open 商談化率"), ("rate_touch_last", "商談化率: touch → last"),
                       ("rate_date_range", "商談化率: date range"), ("rate_sources", "商談化率: sources"),
                       ("loss_first_page", "open 失注分析"), ("loss_touch_last", "失注分析: touch → last")):
        ev, av = e.get(key), at.get(key)
        lines.append(f"| {label} | {_s(ev) if ev is not None else '—'} | {_s(av) if av is not None else '—'} |")
    return [*lines, "", f"Peak RSS of the app process: {r['app'].get('rss_mb', 0):.0f} MB.", ""]


def _by_size(table: dict[Any, Any], n: int) -> Any:
    """``table[n]``, also when ``table`` was read back from report.json (string keys)."""
    return table[n] if n in table else table[str(n)]


def render(r: dict[str, Any]) -> str:
    lines = [f"# Benchmark (median of {r['repeat']} interleaved runs; engine of commit {r['engine']})", "",
             "Every contender runs as a module from compiled bytecode, as an installed package does.", ""]
    for n in r["sizes"]:
        lines += _contest(int(n), _by_size(r["contest"], n), _by_size(r["counts"], n))
    lines += _scaling(r)
    lines += _inputs(r["inputs"])
    if "app" in r and "engine" in r["app"]:
        lines += _app(r)
    return "\n".join(lines)
