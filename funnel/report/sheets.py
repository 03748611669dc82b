"""The analysis sheets of the Excel report: 商談化率, funnel, loss reasons, match report.

Each sheet shows the tables of one page of the app, computed by the same engine functions the
page calls (:mod:`funnel.measures.metrics`, :mod:`funnel.measures.cohorts`, :mod:`funnel.measures.stages`,
:mod:`funnel.measures.loss`, :mod:`funnel.measures.quality`), so a number in the workbook is the number on the
screen. :class:`Context` carries what the report was asked for (language, filters, benchmark
set, plan, answers, cost data, masking) to every sheet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import duckdb

from funnel import i18n
from funnel.config import setting
from funnel.measures import cohorts, metrics, quality, stages
from funnel.measures import loss as losses
from funnel.measures.sources import regroup
from funnel.model.rules import LOSS_CATEGORIES, LossRules
from funnel.model.workspace import Build, Workspace
from funnel.planning.inputs import PlanInputs
from funnel.present.format import funnel_note, loss_label, money, num, owner_label, pct, source_label, stage_label
from funnel.present.privacy import mask_value
from funnel.report.xlsx import COUNT, PERCENT, Col, Num, Sheet, bar_chart, hex_color, money_format, pie_chart

if TYPE_CHECKING:
    from funnel.measures.benchmarks import Benchmark
    from funnel.model.cost_data import CostData
    from funnel.model.sources import SourceMap

#: Rows of a list (opportunities without a lead) written to the workbook; the full list is a
#: CSV download on the match page. A report is read, not filtered: a few thousand rows is
#: already more than anyone reads, and every 10,000 rows add about a second to the build.
LIST_LIMIT = 2_000
#: Groups drawn in a breakdown chart (the table lists all), as on the loss page.
CHART_GROUPS = 20


@dataclass
class Context:
    """What one report is built from: the built workspace and the choices of the user."""

    ws: Workspace
    lang: str
    filters: metrics.Filters
    target: float
    band: tuple[float, float]
    funnel_mode: str
    benchmarks: Sequence[Benchmark]
    ad: Sequence[str]
    plan: PlanInputs | None
    answers: Mapping[str, str] | None
    cost: CostData | None
    rules: LossRules
    mask: bool
    generated: dt.datetime
    sources: SourceMap | None = None     # the lead source → channel mapping (app, or report --sources)
    half_life: float | None = None      # time-decay half-life in days (None: the setting's)

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        return self.ws.con

    @property
    def build(self) -> Build:
        assert self.ws.build_result is not None
        return self.ws.build_result

    def money(self, x: float | int | None) -> str:
        """An amount in the deals' currency (bare number when they are in several)."""
        return money(x, self.build.currency)

    @property
    def money_fmt(self) -> str:
        return money_format(self.build.currency)

    @property
    def money_unit(self) -> str:
        """The unit an input's label names: 円 / ¥, else the currency code (— when several)."""
        currency = self.build.currency
        return self.t("plan.unit.yen") if currency == "JPY" else (currency or "—")

    def t(self, key: str, **params: Any) -> str:
        """A message in the report's language, without the app's Markdown emphasis."""
        return plain(i18n.t(key, self.lang, **params))

    def yes(self, flag: bool | None) -> str:
        return self.t("report.flag.yes") if flag else ""

    def join(self, items: Sequence[str]) -> str:
        return i18n.join(items, self.lang)

    def masker(self) -> Callable[[Any], Any]:
        """What a cell of an email column becomes: itself, or masked (display name and all)
        when the privacy switch is on."""
        if not self.mask:
            return lambda v: v
        return lambda v: mask_value(v, "email")

    def cleaner(self) -> Callable[[str], str] | None:
        """Applied to every text cell: with masking on, anything that looks like an email
        address is masked wherever it is (a loss reason, an owner written as an address)."""
        if not self.mask:
            return None
        return lambda text: mask_value(text)


def plain(text: str) -> str:
    """Page texts carry Markdown emphasis (``**below**``); a cell shows the words only."""
    return text.replace("**", "")


def scope_text(ctx: Context) -> str:
    """The lead filters in force, in words."""
    f = ctx.filters
    if f.date_from or f.date_to:
        dates = ctx.t("report.scope.dates", start=f"{f.date_from:%Y/%m/%d}" if f.date_from else "…",
                      end=f"{f.date_to:%Y/%m/%d}" if f.date_to else "…")
    else:
        dates = ctx.t("report.scope.all_dates")
    sources = (ctx.t("report.scope.all_sources") if f.sources is None
               else ctx.join([source_label(s, ctx.lang) for s in f.sources]))
    return ctx.t("report.scope", touch=ctx.t(f"term.touch.{f.touch}"), dates=dates, sources=sources)


def rate_cols(ctx: Context, first: str) -> list[Col]:
    return [Col(first), Col(ctx.t("rate.col.leads"), COUNT), Col(ctx.t("rate.col.converted"), COUNT),
            Col(ctx.t("rate.col.rate"), PERCENT), Col(ctx.t("rate.col.ci_low"), PERCENT),
            Col(ctx.t("rate.col.ci_high"), PERCENT), Col(ctx.t("rate.col.small"))]


def rate_row(ctx: Context, label: str, r: metrics.Rate) -> list[Any]:
    return [label, r.leads, r.converted, r.rate, r.ci[0], r.ci[1], ctx.yes(r.small_sample)]


# -- 商談化率 ----------------------------------------------------------------------------------
def write_rate(ctx: Context, sheet: Sheet) -> None:
    con, f = ctx.con, ctx.filters
    sheet.title(ctx.t("rate.title"))
    sheet.note(scope_text(ctx))
    sheet.note(ctx.t("report.rate.definition", n=int(setting("small_sample_n"))))
    sheet.gap()
    sheet.heading(ctx.t("rate.by_source.title"))
    rates = metrics.by_source(con, f)
    block = sheet.table(rate_cols(ctx, ctx.t("rate.col.source")),
                        [rate_row(ctx, source_label(r.group, ctx.lang), r) for r in rates], freeze=True)
    if not rates:
        sheet.note(ctx.t("report.rate.no_leads"))
    bar_chart(sheet, block, cat=0, values=[3], title=ctx.t("report.chart.rate_by_source"), fmt=PERCENT,
              colors=[hex_color("#2563eb")])
    sheet.gap()
    if ctx.sources is not None:
        # By channel, as the mapping groups the sources (the table above stays per raw source).
        sheet.heading(ctx.t("report.rate.by_channel"))
        grouped = sorted(regroup(rates, ctx.sources, ctx.lang), key=lambda s: (-s.rate.leads, str(s.group)))
        sheet.table([*rate_cols(ctx, ctx.t("rate.col.source")), Col(ctx.t("rate.col.members"))],
                    [[*rate_row(ctx, source_label(s.group, ctx.lang), s.rate),
                      ", ".join(source_label(m, ctx.lang) for m in s.members)] for s in grouped])
        unmapped = sorted({r.group for r in rates if r.group is not None and ctx.sources.channel_name(r.group) is None})
        if unmapped:
            sheet.note(ctx.t("sources.unmapped", sources=", ".join(unmapped)))
        sheet.gap()

    months, rule = cohorts.cohorts(con, f)
    sheet.heading(ctx.t("rate.cohort.title", period=ctx.t("rate.cohort.period.month")))
    as_of = f"{rule.as_of:%Y/%m/%d}" if rule.as_of else "—"
    if rule.basis == "data":
        sheet.note(ctx.t("rate.cohort.rule.data", q=round(rule.quantile * 100), days=rule.days, n=num(rule.lags),
                         as_of=as_of))
    else:
        sheet.note(ctx.t("rate.cohort.rule.fallback", days=rule.days, n=num(rule.lags), min=cohorts.MIN_LAGS,
                         as_of=as_of))
    cols = [*rate_cols(ctx, ctx.t("rate.col.month")), Col(ctx.t("rate.col.maturing")),
            Col(ctx.t("rate.col.age_days"), COUNT)]
    block = sheet.table(cols, [[*rate_row(ctx, c.month or ctx.t("term.undated"), c.rate), ctx.yes(c.maturing),
                                c.age_days] for c in months])
    bar_chart(sheet, block, cat=0, values=[3], title=ctx.t("report.chart.rate_by_month"), fmt=PERCENT,
              horizontal=False, colors=[hex_color("#2563eb")])


# -- ファネル ----------------------------------------------------------------------------------
def write_funnel(ctx: Context, sheet: Sheet) -> None:
    con, f, mode = ctx.con, ctx.filters, ctx.funnel_mode
    fn = metrics.funnel(con, f, mode)
    sheet.title(ctx.t("stages.title"))
    sheet.note(scope_text(ctx))
    sheet.note(ctx.t("report.funnel.mode", mode=ctx.t(f"stages.mode.{mode}"), help=ctx.t(f"stages.mode.{mode}.help")))
    sheet.gap()
    cols = [Col(ctx.t(f"stages.col.{c}"), fmt) for c, fmt in (
        ("stage", None), ("count", COUNT), ("pct_of_first", PERCENT), ("pct_of_previous", PERCENT),
        ("inferred", COUNT), ("measured", None))]
    block = sheet.table(cols, [[stage_label(s.stage, ctx.lang), s.count if s.available else None,
                                s.pct_of_first if s.available else None, s.pct_of_previous if s.available else None,
                                s.inferred, ctx.yes(s.available)] for s in fn.steps], freeze=True)
    bar_chart(sheet, block, cat=0, values=[1], title=ctx.t("report.chart.funnel"), fmt=COUNT,
              colors=[hex_color("#2563eb")])
    for key, params in fn.notes:
        sheet.note("・" + plain(funnel_note(key, params, ctx.lang)))
    sheet.gap()

    sheet.heading(ctx.t("stages.by_source.title"))
    per_source = stages.funnel_by_source(con, f, mode)
    cols = [Col(ctx.t("stages.col.source"))]
    for stage in metrics.FUNNEL_STAGES:
        name = stage_label(stage, ctx.lang)
        cols.append(Col(name, COUNT))
        if stage != "lead":
            cols += [Col(ctx.t("stages.col.of_previous", stage=name), PERCENT),
                     Col(ctx.t("stages.col.of_first", stage=name), PERCENT)]
    cols.append(Col(ctx.t("rate.col.small")))
    rows = []
    for g in per_source:
        row: list[Any] = [source_label(g.group, ctx.lang)]
        for s in g.steps:
            row.append(s.count if s.available else None)
            if s.stage != "lead":
                row += [s.pct_of_previous if s.available else None, s.pct_of_first if s.available else None]
        rows.append([*row, ctx.yes(g.small_sample)])
    sheet.table(cols, rows)


# -- 失注分析 ----------------------------------------------------------------------------------
def _group_label(ctx: Context, by: str, row: losses.BreakdownRow) -> str:
    if row.kind == "no_lead":
        return ctx.t("term.no_lead")
    if by == "source":
        return source_label(row.group, ctx.lang)
    if by == "owner":
        return owner_label(row.group, ctx.lang)
    return row.group or ctx.t("term.undated")


def write_loss(ctx: Context, sheet: Sheet) -> None:
    con = ctx.con
    lq, oc = losses.quality(con), metrics.outcomes(con)
    sheet.title(ctx.t("loss.title"))
    sheet.note(ctx.t("report.loss.scope", order=" → ".join(loss_label(c, ctx.lang) for c, _ in ctx.rules.categories)))
    sheet.gap()
    sheet.table([Col(ctx.t("report.col.item")), Col(ctx.t("report.col.value")), Col(ctx.t("report.col.detail"), overflow=True)], [
        [ctx.t("loss.kpi.lost"), Num(lq.lost, COUNT), ""],
        [ctx.t("loss.kpi.quality"), Num(lq.share, PERCENT),
         ctx.t("report.loss.quality_detail", classified=num(lq.classified), lost=num(lq.lost - lq.excluded),
               other=num(lq.other), blank=num(lq.blank))],
        *([[loss_label("excluded", ctx.lang), Num(lq.excluded, COUNT), ctx.t("report.loss.excluded_detail")]]
          if lq.excluded else []),
        [ctx.t("term.win_rate"), Num(oc.win_rate, PERCENT),
         ctx.t("loss.kpi.win_rate_detail", won=num(oc.won), lost=num(oc.lost))]], freeze=True)
    sheet.gap()
    sheet.heading(ctx.t("loss.pareto.title"))
    if not lq.lost:
        sheet.note(ctx.t("report.loss.none"))
        return
    rows = losses.pareto(con)
    block = sheet.table([Col(ctx.t("loss.col.category")), Col(ctx.t("loss.col.count"), COUNT),
                         Col(ctx.t("loss.col.share"), PERCENT), Col(ctx.t("loss.col.cumulative"), PERCENT),
                         Col(ctx.t("loss.col.amount"), ctx.money_fmt)],
                        [[loss_label(r.category, ctx.lang), r.count, r.share, r.cumulative, r.amount] for r in rows])
    # Imported here, not at the top: it brings Altair (0.4 s), which nothing else of a report needs.
    from funnel.present.charts import LOSS_COLORS

    colors = [hex_color(LOSS_COLORS[r.category]) for r in rows]
    bar = bar_chart(sheet, block, cat=0, values=[1], title=ctx.t("report.chart.loss_count"), fmt=COUNT,
                    point_colors=colors, width=15.0)
    pie_chart(sheet, block, cat=0, value=1, title=ctx.t("report.chart.loss_share"), colors=colors, beside=bar)
    sheet.gap()
    for by in ("source", "owner", "month"):
        groups = losses.breakdown(con, by, "first" if by != "source" else ctx.filters.touch)
        cats = [c for c in LOSS_CATEGORIES if any(g.counts.get(c) for g in groups)]
        sheet.heading(ctx.t(f"report.loss.by.{by}"))
        cols = [Col(ctx.t(f"report.loss.col.{by}")), Col(ctx.t("loss.by.total"), COUNT),
                *[Col(loss_label(c, ctx.lang), COUNT) for c in cats],
                *[Col(ctx.t("report.loss.share_of", category=loss_label(c, ctx.lang)), PERCENT) for c in cats]]
        block = sheet.table(cols, [[_group_label(ctx, by, g), g.total, *[g.counts.get(c, 0) for c in cats],
                                    *[g.share(c) for c in cats]] for g in groups])
        if by == "source" and groups:
            shown = replace(block, last=min(block.last, block.first + CHART_GROUPS - 1))
            bar_chart(sheet, shown, cat=0, values=list(range(2, 2 + len(cats))), title=ctx.t("report.chart.loss_by_source"),
                      colors=[hex_color(LOSS_COLORS[c]) for c in cats], stacked=True)
        sheet.gap()


# -- データ品質・名寄せ -------------------------------------------------------------------------
def write_match(ctx: Context, sheet: Sheet) -> None:
    con, build = ctx.con, ctx.build
    link = build.link
    m = metrics.match(con)
    opps = m.linked + m.unlinked
    never = quality.count_unlinked_leads(con)
    dups = quality.duplicates(con)
    sheet.title(ctx.t("quality.title"))
    sheet.note(ctx.t("quality.link", kind=ctx.t(f"link.{link.kind}"), ma=link.ma_column or "—",
                     sfa=link.sfa_column or "—"))
    sheet.gap()
    sheet.table([Col(ctx.t("report.col.item")), Col(ctx.t("report.col.value")), Col(ctx.t("report.col.definition"), overflow=True)], [
        [ctx.t("quality.match_rate"), Num(m.rate, PERCENT),
         ctx.t("report.match.def.rate", linked=num(m.linked), opps=num(opps))],
        [ctx.t("quality.col.linked"), Num(m.linked, COUNT), ""],
        [ctx.t("quality.unlinked_opps"), Num(m.unlinked, COUNT), ctx.t("report.match.def.unlinked")],
        [ctx.t("quality.never_linked"), Num(never, COUNT), ctx.t("report.match.def.never", leads=num(dups.leads))],
        [ctx.t("quality.duplicates"), Num(dups.duplicated, COUNT),
         ctx.t("report.match.def.duplicates", share=pct(dups.share), extra=num(dups.extra_rows))]], freeze=True)
    sheet.gap()

    sheet.heading(ctx.t("report.match.reasons"))
    reasons = quality.unlinked_reasons(con, build)
    sheet.table([Col(ctx.t("quality.col.reason")), Col(ctx.t("quality.col.opps"), COUNT)],
                [[ctx.t(f"quality.unlinked.{r}"), n] for r, n in reasons.items()])
    sheet.gap()

    sheet.heading(ctx.t("quality.by_source.deal"))
    if quality.deal_source_mapped(build):
        groups = quality.match_by_deal_source(con)
        block = sheet.table([Col(ctx.t("quality.col.deal_source")), Col(ctx.t("quality.col.opps"), COUNT),
                             Col(ctx.t("quality.col.linked"), COUNT), Col(ctx.t("quality.col.unlinked"), COUNT),
                             Col(ctx.t("quality.col.match_rate"), PERCENT)],
                            [[source_label(g.group, ctx.lang), g.opportunities, g.linked, g.unlinked, g.rate]
                             for g in groups])
        bar_chart(sheet, block, cat=0, values=[2, 3], title=ctx.t("report.chart.match_by_source"), stacked=True,
                  colors=[hex_color("#2563eb"), hex_color("#dc2626")])
    else:
        sheet.note(ctx.t("quality.by_source.no_deal_source"))
    sheet.gap()

    sheet.heading(ctx.t("quality.by_source.lead"))
    per = quality.match_by_lead_source(con, ctx.filters.touch)
    sheet.table([Col(ctx.t("quality.col.lead_source")), Col(ctx.t("quality.col.leads"), COUNT),
                 Col(ctx.t("quality.col.leads_linked"), COUNT), Col(ctx.t("quality.col.lead_rate"), PERCENT),
                 Col(ctx.t("quality.col.opps"), COUNT)],
                [[source_label(s.source, ctx.lang), s.leads, s.leads_linked, s.lead_rate, s.opportunities] for s in per]
                + [[ctx.t("term.no_lead"), None, None, None, m.unlinked]])
    sheet.gap()

    masked = ctx.masker()
    for side in ("ma", "sfa"):
        sheet.heading(ctx.t("report.match.rules", side=ctx.t(f"side.{side}")))
        if not quality.email_mapped(build, side):
            sheet.note(ctx.t("quality.rules.no_email"))
            sheet.gap()
            continue
        r = quality.email_rules(con, side)
        items = [(k, r.changed[k]) for k in quality.RULES] + [("blank", r.blank), ("invalid", r.invalid),
                                                              ("partly_invalid", r.partly_invalid)]
        sheet.table([Col(ctx.t("quality.col.rule")), Col(ctx.t("quality.col.cells"), COUNT),
                     Col(ctx.t("quality.col.share"), PERCENT), Col(ctx.t("quality.col.example"), width=32),
                     Col(ctx.t("quality.col.what"), overflow=True)],
                    [[ctx.t(f"quality.rule.{k}"), n, n / r.cells if r.cells else None,
                      masked(r.examples.get(k)) if r.examples.get(k) is not None else "",
                      ctx.t(f"quality.rule_help.{k}")] for k, n in items])
        sheet.gap()


def write_unlinked(ctx: Context, sheet: Sheet) -> None:
    """Opportunities without a lead: the list a team works through to fix the link."""
    con, build = ctx.con, ctx.build
    total = metrics.match(con).unlinked
    sheet.title(ctx.t("quality.unlinked_opps.title"))
    if not total:
        sheet.note(ctx.t("report.unlinked.none"))
        return
    shown = min(total, LIST_LIMIT)
    sheet.note(ctx.t("report.unlinked.count", total=num(total), shown=num(shown)))
    masked = ctx.masker()
    names = ("reason", "deal_name", "company", "deal_source", "email_raw", "outcome", "amount", "created", "stage",
             "deal_id")
    fmts = {"amount": ctx.money_fmt}
    sheet.table([Col(ctx.t(f"quality.col.{c}"), fmts.get(c)) for c in names],
                [[ctx.t(f"quality.unlinked.{r['reason']}"), r["deal_name"], r["company"],
                  source_label(r["source"], ctx.lang), masked(r["email_raw"]), ctx.t(f"term.{r['outcome']}"),
                  r["amount"], r["created_at"], r["stage"], r["deal_id"]]
                 for r in quality.unlinked_opportunities(con, build, shown)], freeze=True)

