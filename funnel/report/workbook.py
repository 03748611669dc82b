"""The Excel report (.xlsx): everything the app shows, in one workbook to share.

One sheet per page — a summary of the headline KPIs with their definitions and the benchmark
comparison, 商談化率 by source and month, the funnel, loss reasons, the match report and the
opportunities without a lead, the KPI plan, the alignment checklist, cost and CPA — and the
column mapping and taxonomy rules the numbers were computed with. Numbers are numbers with
Excel formats (0.0%, #,##0, ¥#,##0), charts are native Excel charts, text is formula-safe, and
a sheet whose input was not given says so rather than being missing.

The numbers come from the engine functions the pages call (see :mod:`funnel.report.sheets`),
so the workbook and the screen agree. Used by the app's レポート出力 page and by
``python -m funnel report``.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from openpyxl import Workbook

from funnel import i18n
from funnel.measures import benchmarks as bm
from funnel.measures import loss as losses
from funnel.measures import metrics
from funnel.model.rules import LossRules
from funnel.model.workspace import Workspace
from funnel.planning.inputs import PlanInputs
from funnel.planning.targets import against_band, against_target, band_and_target
from funnel.present.format import num, pct, yen
from funnel.report.accounts import write_accounts
from funnel.report.attribution import write_attribution
from funnel.report.planning import write_checklist, write_cost, write_plan, write_settings
from funnel.report.sheets import Context, scope_text, write_funnel, write_loss, write_match, write_rate, write_unlinked
from funnel.report.xlsx import COUNT, PERCENT, YEN, Col, Link, Num, Sheet
from funnel.sql import lock_for

if TYPE_CHECKING:
    from funnel.model.cost_data import CostData
    from funnel.model.sources import SourceMap

__all__ = ["MIME", "PlanInputs", "SHEETS", "build_report", "sheet_list"]

MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# -- 概要 ---------------------------------------------------------------------------------------
def _files(ctx: Context, side: str) -> str:
    return ctx.join([lt.report.file for lt in ctx.ws.files[side]]) or "—"


def write_summary(ctx: Context, sheet: Sheet) -> None:
    con, f = ctx.con, ctx.filters
    b = ctx.build
    sheet.title(ctx.t("report.title"))
    sheet.note(ctx.t("report.generated", when=f"{ctx.generated:%Y-%m-%d %H:%M}"))
    sheet.note(ctx.t("report.files", ma=_files(ctx, "ma"), sfa=_files(ctx, "sfa")))
    sheet.note(ctx.t("quality.link", kind=ctx.t(f"link.{b.link.kind}"), ma=b.link.ma_column or "—",
                     sfa=b.link.sfa_column or "—"))
    sheet.note(scope_text(ctx))
    sheet.note(ctx.t("report.scope.note"))
    if ctx.mask:
        sheet.note(ctx.t("report.masked"))
    sheet.gap()

    sheet.heading(ctx.t("report.kpi.title"))
    ov, oc, m = metrics.overall(con, f), metrics.outcomes(con), metrics.match(con)
    lq = losses.quality(con)
    lo, hi = ov.ci
    band_txt = f"{pct(ctx.band[0], 0)}–{pct(ctx.band[1], 0)}"
    rows: list[list[object]] = [
        [ctx.t("rate.kpi.leads"), Num(ov.leads, COUNT), "", ctx.t("report.def.leads")],
        [ctx.t("rate.kpi.converted"), Num(ov.converted, COUNT), "", ctx.t("report.def.converted")],
        [ctx.t("term.opportunity_rate"), Num(ov.rate if ov.leads else None, PERCENT),
         f"{num(ov.converted)} ÷ {num(ov.leads)}", ctx.t("report.def.rate")],
        [ctx.t("rate.col.ci_low"), Num(lo if ov.leads else None, PERCENT), "", ctx.t("report.def.ci")],
        [ctx.t("rate.col.ci_high"), Num(hi if ov.leads else None, PERCENT), "", ctx.t("report.def.ci")],
        [ctx.t("report.kpi.target"), Num(ctx.target, PERCENT),
         ctx.t(f"rate.kpi.target.{against_target(ov.ci, ctx.target)}", target=pct(ctx.target)) if ov.leads else "",
         ctx.t("report.def.target")],
        [ctx.t("report.kpi.band"), band_txt,
         ctx.t(f"rate.kpi.band.{against_band(ov.ci, ctx.band)}", band=band_txt) if ov.leads else "",
         ctx.t("report.def.band")],
        [ctx.t("report.kpi.opportunities"), Num(oc.total, COUNT),
         ctx.t("report.kpi.outcomes", won=num(oc.won), lost=num(oc.lost), open=num(oc.open)),
         ctx.t("report.def.opportunities")],
        [ctx.t("quality.match_rate"), Num(m.rate, PERCENT), f"{num(m.linked)} ÷ {num(m.linked + m.unlinked)}",
         ctx.t("report.def.match")],
        [ctx.t("term.won"), Num(oc.won, COUNT), "", ctx.t("report.def.won")],
        [ctx.t("term.lost"), Num(oc.lost, COUNT), "", ctx.t("report.def.lost")],
        [ctx.t("term.open"), Num(oc.open, COUNT), "", ctx.t("report.def.open")],
        [ctx.t("term.win_rate"), Num(oc.win_rate, PERCENT), f"{num(oc.won)} ÷ ({num(oc.won)} + {num(oc.lost)})",
         ctx.t("report.def.win_rate")],
        [ctx.t("loss.kpi.quality"), Num(lq.share, PERCENT), f"{num(lq.classified)} ÷ {num(lq.lost)}",
         ctx.t("report.def.loss_quality")],
    ]
    values = bm.user_values(con, touch=f.touch, ad=list(ctx.ad), costs=ctx.cost)
    cpa = values["cpa"]
    rows.append([ctx.t("bench.metric.cpa"), Num(cpa.value, ctx.money_fmt) if cpa.value is not None else ctx.t(cpa.missing or "—"),
                 f"{ctx.money(cpa.numerator)} ÷ {num(cpa.denominator)}" if cpa.value is not None else "",
                 ctx.t("report.def.cpa")])
    # A number with "—" where there is none: the KPI table is read, not charted.
    rows = [[r[0], Num("—", None) if isinstance(r[1], Num) and r[1].value is None else r[1], *r[2:]] for r in rows]
    sheet.table([Col(ctx.t("report.col.item")), Col(ctx.t("report.col.value")), Col(ctx.t("report.col.detail"), width=36),
                 Col(ctx.t("report.col.definition"), width=80)], rows)
    sheet.gap()

    sheet.heading(ctx.t("report.bench.title"))
    sheet.note(ctx.t("report.bench.note"))
    comps = bm.compare(list(ctx.benchmarks), values)
    if not comps:
        sheet.note(ctx.t("report.bench.none"))
    else:
        # Aligned on the KPI table: the wide fourth column holds the words, the numbers follow.
        sheet.table([Col(ctx.t("bench.col.metric")), Col(ctx.t("bench.col.value")), Col(ctx.t("bench.col.status")),
                     Col(ctx.t("report.bench.about"), width=80), Col(ctx.t("report.bench.low")),
                     Col(ctx.t("report.bench.high")), Col(ctx.t("bench.col.target")), Col(ctx.t("bench.col.url"))],
                    [_bench_row(ctx, c) for c in comps])
    sheet.gap()

    sheet.heading(ctx.t("report.contents"))
    sheet.table([Col(ctx.t("report.col.sheet")), Col(ctx.t("report.col.contents"), overflow=True)],
                sheet_list(ctx.lang))


def _bench_row(ctx: Context, c: bm.Comparison) -> list[object]:
    b = c.benchmark
    fmt = PERCENT if b.unit == "percent" else YEN
    value = Num(c.value.value, fmt) if c.value.value is not None else ctx.t(c.value.missing or "bench.missing.unknown")
    status = ctx.t(f"bench.status.{c.status}")
    if c.favourable is not None:
        status += ctx.t("bench.tone.good" if c.favourable else "bench.tone.bad")

    def shown(v: float | None) -> str:
        return pct(v) if b.unit == "percent" else yen(v)

    about = [ctx.t("report.bench.range", low=shown(b.scaled(b.low)), high=shown(b.scaled(b.high)),
                   target=shown(b.scaled(b.target)) if b.target is not None else "—"),
             ctx.t("report.bench.source", source=bm.source_text(b.source, ctx.lang), title=b.title or "—", date=b.date or "—"),
             ctx.t("report.bench.definitions", theirs=ctx.t("bench.col.definition_text", num=b.numerator,
                                                             den=b.denominator), ours=ctx.t(f"bench.ours.{b.metric}"))]
    if b.note:
        about.append(b.note)
    return [ctx.t(f"bench.metric.{b.metric}"), value, status, "\n".join(about), Num(b.scaled(b.low), fmt),
            Num(b.scaled(b.high), fmt), Num(b.scaled(b.target), fmt), Link(b.url) if b.url else ""]


# -- the workbook ------------------------------------------------------------------------------
#: The sheets, in order: (id, writer). Names and descriptions are messages ``report.sheet.<id>``.
SHEETS: tuple[tuple[str, Callable[[Context, Sheet], None]], ...] = (
    ("summary", write_summary), ("rate", write_rate), ("funnel", write_funnel), ("loss", write_loss),
    ("match", write_match), ("unlinked", write_unlinked), ("accounts", write_accounts),
    ("attribution", write_attribution), ("plan", write_plan), ("checklist", write_checklist),
    ("cost", write_cost), ("settings", write_settings),
)


def sheet_list(lang: str) -> list[list[str]]:
    """``[[sheet name, what it holds]]`` in workbook order (for the summary and the page)."""
    return [[i18n.t(f"report.sheet.{sid}", lang), i18n.t(f"report.sheet.{sid}.about", lang)] for sid, _ in SHEETS]


def build_report(ws: Workspace, *, lang: str = "ja", touch: str = "first", filters: metrics.Filters | None = None,
                 target: float | None = None, funnel_mode: str = "reached",
                 benchmarks: Sequence[bm.Benchmark] | None = None, ad_sources: Sequence[str] | None = None,
                 plan: PlanInputs | None = None, checklist: Mapping[str, str] | None = None,
                 cost: CostData | None = None, loss_rules: LossRules | None = None, mask: bool = False,
                 now: dt.datetime | None = None, sources: SourceMap | None = None,
                 half_life: float | None = None) -> bytes:
    """The workbook of a built workspace, as .xlsx bytes.

    Args:
        lang: ``ja`` or ``en`` (sheet names, headers, definitions).
        touch / filters: the lead filters of the 商談化率 and funnel sheets (``filters`` wins;
            loss, match and outcomes cover all opportunities, as on their pages).
        target: the 商談化率 target (0–1); default: the benchmark set's.
        benchmarks: the benchmark set (default: the bundled one); ``ad_sources`` the sources
            counted as advertising (default: recognised by name).
        plan: the KPI plan's assumptions; None writes a sheet saying no plan was given.
        checklist: the team's answers ``{item id: yes|no|unknown}`` (the data answers the rest).
        cost: monthly cost data (CPA, cost sheet); loss_rules: the taxonomy the workspace was
            classified with (default: the bundled rules); mask: mask customer emails.
        sources: the lead source → channel mapping (app, or ``report --sources``): a by-channel
            table on the 商談化率 sheet, and ad sources by their mapped channel.
        half_life: the time-decay half-life (days) of the attribution sheet (default: 7).
    """
    if ws.build_result is None:
        raise RuntimeError("build the workspace first")
    lang = i18n.normalise_lang(lang)
    items = list(benchmarks) if benchmarks is not None else list(bm.defaults().benchmarks)
    band, default_target = band_and_target(items)
    f = filters or metrics.Filters(touch=touch)
    # One consistent snapshot: a rebuild started meanwhile (another rerun) waits for the report.
    with lock_for(ws.con):
        if ad_sources is None:
            ad_sources = bm.ad_sources([r.group for r in metrics.by_source(ws.con, f)], mapping=sources)
        ctx = Context(ws, lang, f, default_target if target is None else target, band, funnel_mode, items,
                      list(ad_sources), plan, checklist, cost, loss_rules or LossRules.default(), mask,
                      now or dt.datetime.now(), sources, half_life)
        wb = Workbook()
        wb.remove(wb.active)
        for sid, write in SHEETS:
            sheet = Sheet(wb, i18n.t(f"report.sheet.{sid}", lang), ctx.cleaner())
            write(ctx, sheet)
            sheet.finish()
    wb.active = 0
    wb.properties.title = i18n.t("report.title", lang)
    wb.properties.creator = "funnel"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
