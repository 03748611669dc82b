"""The behaviour-history sheet of the Excel report: multi-touch attribution and behaviour.

The five models side by side with the MA's first-touch source view, one table per credit
(opportunities, won deals, won amount), each with its total row: every column sums to the
deal count, the won count and the won amount, ``(no lead)`` and ``(no touch)`` included, as on
the アトリビューション page (same engine functions). Below, behaviour → 商談化率 per activity
type. Credits are written unrounded, so a sum in Excel is the count.
"""

from __future__ import annotations

from funnel.measures import activity as act
from funnel.measures import attribution as credit
from funnel.present.charts.attribution import touch_label
from funnel.report.sheets import Context
from funnel.report.xlsx import COUNT, PERCENT, RATIO, YEN, Col, Sheet

#: Credits are shares of a deal (0.4, 0.333…): two decimals shown, the cell keeps the value.
CREDIT = "#,##0.00"


def write_attribution(ctx: Context, sheet: Sheet) -> None:
    sheet.title(ctx.t("attribution.title"))
    counts = ctx.build.activity
    if counts is None:
        sheet.note(ctx.t("report.attribution.none"))
        return
    con = ctx.con
    half_life = ctx.half_life if ctx.half_life is not None else credit.default_half_life()
    sheet.note(ctx.t("activity.cli.counts", rows=f"{counts.rows:,}", events=f"{counts.events:,}",
                     nokey=f"{counts.rows_without_key:,}", unlinked=f"{counts.events_unlinked:,}",
                     leads=f"{counts.leads_with_events:,}").lstrip("■ "))
    sheet.note(ctx.t("attribution.def", half_life=f"{half_life:g}"))
    sheet.note(ctx.t("attribution.def.table"))
    sheet.gap()
    models = credit.all_models(con, half_life)
    series = {credit.FIRST_TOUCH_SOURCE: credit.first_touch_sources(con),
              **{m: a.by_touch for m, a in models.items()}}
    default = credit.default_model()
    for measure in credit.MEASURES:
        fmt = YEN if measure == "won_amount" else CREDIT
        sheet.heading(ctx.t("attribution.table.title", measure=ctx.t(f"attribution.measure.{measure}")))
        cols = [Col(ctx.t("activity.term.touch"))] + [Col(ctx.t(f"activity.model_short.{n}"), fmt) for n in series]
        body: list[list[object]] = [[touch_label(touch, ctx.lang), *(v[n] for n in series)]
                                    for touch, v in credit.side_by_side(series, measure, order_by=default)]
        body.append([ctx.t("attribution.table.total"), *credit.totals(series, measure).values()])
        sheet.table(cols, body)
        sheet.gap()

    sheet.heading(ctx.t("activity.behaviour.title"))
    sheet.note(ctx.t("activity.def.behaviour"))
    found = act.behaviour(con)
    if not found:
        sheet.note(ctx.t("activity.behaviour.none"))
        return
    sheet.table([Col(ctx.t("activity.term.activity")), Col(ctx.t("activity.col.leads"), COUNT),
                 Col(ctx.t("activity.col.converted"), COUNT), Col(ctx.t("activity.col.rate"), PERCENT),
                 Col(ctx.t("activity.col.ci_low"), PERCENT), Col(ctx.t("activity.col.ci_high"), PERCENT),
                 Col(ctx.t("activity.term.rate_without"), PERCENT), Col(ctx.t("activity.term.lift"), RATIO)],
                [[b.activity or ctx.t("activity.blank"), b.leads, b.converted, b.rate, *b.ci, b.rate_without, b.lift]
                 for b in found])
