"""The planning and settings sheets of the Excel report: KPI plan, alignment checklist, cost and
CPA, and the column mapping and taxonomy rules the numbers were computed with.

The plan is computed with :mod:`funnel.planning.plan` from :class:`PlanInputs` (what the user typed on
the plan page, or passed on the command line); the checklist with :mod:`funnel.measures.diagnosis` from
the team's answers; cost with :mod:`funnel.measures.cost`. A sheet whose input was not given says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from funnel.config import setting
from funnel.errors import FunnelError
from funnel.measures import benchmarks as bm
from funnel.measures import cost as costs
from funnel.measures import diagnosis
from funnel.measures.cohorts import maturity
from funnel.planning import plan as pl
from funnel.planning.inputs import ASSUMPTIONS, PlanInputs
from funnel.present.format import field_label, loss_label, num, pct, yen
from funnel.report.sheets import Context
from funnel.report.xlsx import COUNT, DECIMAL, PERCENT, RATIO, Col, Num, Sheet, bar_chart, hex_color


# -- KPI逆算 -----------------------------------------------------------------------------------
def write_plan(ctx: Context, sheet: Sheet) -> None:
    sheet.title(ctx.t("plan.title"))
    p = ctx.plan
    if p is None:
        sheet.note(ctx.t("report.plan.none"))
        return
    plan = pl.plan_backward(p.revenue, p.deal_size, p.win_rate, p.opp_rate, p.cpa)
    sheet.note(ctx.t("report.plan.note"))
    sheet.gap()
    sheet.heading(ctx.t("plan.inputs.title"))
    fmts = {"revenue": ctx.money_fmt, "deal_size": ctx.money_fmt, "win_rate": PERCENT, "opp_rate": PERCENT, "cpa": ctx.money_fmt}
    values = {"revenue": p.revenue, "deal_size": p.deal_size, "win_rate": p.win_rate, "opp_rate": p.opp_rate,
              "cpa": p.cpa}
    sheet.table([Col(ctx.t("plan.col.item")), Col(ctx.t("plan.col.value")), Col(ctx.t("report.plan.origin"))],
                [[ctx.t(f"plan.in.{n}", unit=ctx.money_unit), Num(values[n], fmts[n]) if values[n] is not None else ctx.t("plan.no_cpa"),
                  ctx.t(f"report.plan.origin.{p.origins.get(n, 'input')}")] for n in ASSUMPTIONS], freeze=True)
    sheet.gap()
    sheet.heading(ctx.t("plan.result.title"))
    formula = {
        "deals": ctx.t("plan.formula.deals", revenue=ctx.money(float(p.revenue)), deal=ctx.money(float(p.deal_size))),
        "opportunities": ctx.t("plan.formula.opportunities", deals=num(plan.deals), win=pct(float(p.win_rate), 2)),
        "leads": ctx.t("plan.formula.leads", opps=num(plan.opportunities), rate=pct(float(p.opp_rate), 2)),
        "budget": (ctx.t("plan.formula.budget", leads=num(plan.leads), cpa=ctx.money(float(p.cpa))) if p.cpa is not None
                   else ctx.t("plan.no_cpa")),
    }
    sheet.table(
        [Col(ctx.t("plan.col.item")), Col(ctx.t("plan.col.value")), Col(ctx.t("plan.col.formula"))],
        [[ctx.t("plan.kpi.revenue"), Num(p.revenue, ctx.money_fmt), ctx.t("plan.formula.input")],
         *[[ctx.t(f"plan.kpi.{s}"), Num(getattr(plan, s), COUNT), formula[s]] for s in ("deals", "opportunities", "leads")],
         [ctx.t("plan.kpi.budget"), Num(plan.budget, ctx.money_fmt) if plan.budget is not None else ctx.t("plan.no_cpa"),
          formula["budget"]]])
    sheet.gap()
    if p.start is not None and p.months > 0:
        _plan_months(ctx, sheet, p, plan)
    if p.mix:
        _plan_mix(ctx, sheet, plan)


def _plan_months(ctx: Context, sheet: Sheet, p: PlanInputs, plan: pl.Plan) -> None:
    assert p.start is not None
    sheet.heading(ctx.t("plan.month.title"))
    months = [pl.add_months(p.start, i) for i in range(p.months)]
    try:
        rows = pl.plan_by_month(plan, p.revenue, months, p.month_weights(), p.cpa, p.lead_time)
    except FunnelError as exc:      # all weights 0: say so, keep the workbook
        sheet.note(exc.render(ctx.lang))
        return
    sheet.note(ctx.t("report.plan.months", start=f"{p.start:%Y-%m}", n=p.months, lead_time=p.lead_time))
    names = ["month", "share", "revenue", "deals", "opportunities", "leads", "lead_month", "budget"]
    if p.lead_time == 0:
        names.remove("lead_month")
    fmts = {"share": PERCENT, "revenue": ctx.money_fmt, "deals": COUNT, "opportunities": COUNT, "leads": COUNT, "budget": ctx.money_fmt}
    cells: list[dict[str, Any]] = [{"month": f"{m.month:%Y-%m}", "share": m.share, "revenue": m.revenue, "deals": m.deals,
              "opportunities": m.opportunities, "leads": m.leads, "lead_month": f"{m.lead_month:%Y-%m}",
              "budget": m.budget} for m in rows]
    total = {"month": ctx.t("plan.total"), "share": 1, "revenue": p.revenue, "deals": plan.deals,
             "opportunities": plan.opportunities, "leads": plan.leads, "lead_month": "", "budget": plan.budget}
    block = sheet.table([Col(ctx.t(f"plan.col.{n}"), fmts.get(n)) for n in names],
                        [[c[n] for n in names] for c in [*cells, total]])
    shown = replace(block, last=block.last - 1)     # without the total row
    bar_chart(sheet, shown, cat=0, values=[names.index("leads")], title=ctx.t("report.chart.plan_leads"), fmt=COUNT,
              horizontal=False, colors=[hex_color("#2563eb")])
    sheet.gap()


def _plan_mix(ctx: Context, sheet: Sheet, plan: pl.Plan) -> None:
    assert ctx.plan is not None
    sheet.heading(ctx.t("plan.mix.title"))
    try:
        mix = pl.plan_mix(plan.opportunities, ctx.plan.mix)
    except FunnelError as exc:      # no share, a bad rate: say so, keep the workbook
        sheet.note(exc.render(ctx.lang))
        return
    sheet.note(ctx.t("report.plan.mix", opps=num(plan.opportunities), blended=pct(float(mix.blended_rate), 2),
                     leads=num(mix.leads),
                     budget=ctx.money(float(mix.budget)) if mix.budget is not None
                     else ctx.t("plan.mix.budget_unknown")))
    sheet.table([Col(ctx.t("plan.col.source")), Col(ctx.t("report.plan.col.share"), PERCENT),
                 Col(ctx.t("report.plan.col.rate"), PERCENT), Col(ctx.t("plan.col.leads"), COUNT),
                 Col(ctx.t("plan.col.expected_opps"), DECIMAL), Col(ctx.t("report.plan.col.cpa"), ctx.money_fmt),
                 Col(ctx.t("plan.col.budget"), ctx.money_fmt)],
                [[r.source, r.share, r.rate, r.leads, r.opportunities, r.cpa, r.budget] for r in mix.rows])
    sheet.gap()


# -- 連携診断 ----------------------------------------------------------------------------------
def write_checklist(ctx: Context, sheet: Sheet) -> None:
    checklist = diagnosis.load_checklist()
    found = diagnosis.evidence(ctx.con, ctx.build, checklist)
    answers = dict(ctx.answers or {})
    diag = diagnosis.diagnose(checklist, found, answers)
    L = ctx.lang
    sheet.title(ctx.t("diagnosis.title"))
    sheet.note(ctx.t("report.checklist.team", n=len(answers)) if answers else ctx.t("report.checklist.no_team"))
    sheet.gap()
    total, sources = diag.overall.total, [a.source for a in diag.answers]
    step = checklist.step(diag.current_step) if diag.current_step else None
    sheet.table([Col(ctx.t("report.col.item")), Col(ctx.t("report.col.value")), Col(ctx.t("report.col.detail"), overflow=True)], [
        [ctx.t("diagnosis.score"), Num(diag.points, COUNT), ctx.t("diagnosis.score_detail", yes=diag.overall.yes, total=total)],
        [ctx.t("diagnosis.answered"), Num(total - diag.overall.unanswered, COUNT),
         ctx.t("diagnosis.answered_detail", data=sources.count("data"),
               team=sources.count("user") + sources.count("override"), unknown=diag.overall.unknown)],
        [ctx.t("diagnosis.current"), step.name(L) if step else ctx.t("diagnosis.current_done"),
         ctx.t("diagnosis.current_value", n=checklist.step_number(step.id), total=len(checklist.steps)) if step else ""],
        [ctx.t("diagnosis.no_count"), Num(diag.overall.no, COUNT), ""]], freeze=True)
    sheet.gap()
    sheet.heading(ctx.t("report.checklist.items"))
    rank = {id(a): n for n, a in enumerate(diag.priorities(), 1)}
    # The sentences last, so the short columns stay narrow for the table below.
    sheet.table([Col(ctx.t("diagnosis.col.rank"), COUNT), Col(ctx.t("diagnosis.col.step")),
                 Col(ctx.t("diagnosis.col.category")), Col(ctx.t("diagnosis.col.answer")),
                 Col(ctx.t("diagnosis.col.source")), Col(ctx.t("diagnosis.col.item"), width=50),
                 Col(ctx.t("diagnosis.col.action"), width=50), Col(ctx.t("diagnosis.col.evidence"), width=60)],
                [[rank.get(id(a)), ctx.t("diagnosis.checklist.step", n=checklist.step_number(a.item.step),
                                         name=checklist.step(a.item.step).name(L)),
                  checklist.category(a.item.category).name(L), ctx.t(f"diagnosis.answer.{a.value or 'none'}"),
                  ctx.t(f"diagnosis.source.{a.source}"), a.item.question(L),
                  a.item.action(L) if a.value != "yes" else "",
                  diagnosis.describe(a.evidence, checklist.rules[a.item.rule], L) if a.evidence and a.item.rule else ""]
                 for a in diag.answers])
    sheet.gap()
    sheet.heading(ctx.t("diagnosis.category.title"))
    block = sheet.table([Col(ctx.t("diagnosis.col.category")),
                         *[Col(ctx.t(f"diagnosis.answer.{v}"), COUNT) for v in ("yes", "no", "unknown", "none")],
                         Col(ctx.t("report.checklist.yes_share"), PERCENT)],
                        [[checklist.category(tl.id or "").name(L), tl.yes, tl.no, tl.unknown, tl.unanswered,
                          tl.yes / tl.total if tl.total else None] for tl in diag.by_category])
    bar_chart(sheet, block, cat=0, values=[1, 2, 3, 4], title=ctx.t("diagnosis.category.title"), stacked=True,
              colors=[hex_color(c) for c in ("#16a34a", "#dc2626", "#f59e0b", "#d1d5db")])


# -- コスト・CPA -------------------------------------------------------------------------------
def write_cost(ctx: Context, sheet: Sheet) -> None:
    sheet.title(ctx.t("cost.title"))
    cost = ctx.cost
    if cost is None or not cost.amounts:
        sheet.note(ctx.t("report.cost.none"))
        return
    report = costs.source_costs(ctx.con, cost, ctx.filters.touch)
    main = next((b for b in ctx.benchmarks if b.metric == "cpa"), None)

    def status(value: float | None) -> str:
        if main is None:
            return "—"
        s = bm.status(value, main)
        tone = bm.favourable(s, main)
        return ctx.t(f"bench.status.{s}") + ("" if tone is None else ctx.t("bench.tone.good" if tone else "bench.tone.bad"))

    sheet.note(ctx.t("report.cost.file", file=cost.file, total=ctx.money(cost.total), skipped=num(cost.skipped)))
    if report.period:
        sheet.note(ctx.t("cost.period", start=f"{report.period[0]:%Y-%m}",
                         end=f"{report.period[1] - dt.timedelta(days=1):%Y-%m}"))
    for key in report.notes:
        sheet.note(ctx.t(key))
    sheet.gap()
    tot = report.total
    # The CPA benchmark is a Japanese market band, in yen whatever the export's currency.
    band = ctx.t("bench.range", low=yen(main.low), high=yen(main.high)) if main else "—"
    sheet.table([Col(ctx.t("report.col.item")), Col(ctx.t("report.col.value")), Col(ctx.t("report.col.detail"), overflow=True)], [
        [ctx.t("cost.kpi.cost"), Num(tot.cost, ctx.money_fmt), ""],
        [ctx.t("cost.kpi.cpa"), Num(tot.cpa, ctx.money_fmt), ctx.t("cost.kpi.cpa_help", band=band)],
        [ctx.t("cost.kpi.cost_per_won"), Num(tot.cost_per_won, ctx.money_fmt), ""],
        [ctx.t("cost.kpi.return"), Num(tot.return_ratio, RATIO), ctx.t("cost.kpi.return_help")]], freeze=True)
    sheet.gap()
    sheet.heading(ctx.t("cost.by_source.title"))
    names = ("source", "cost", "cpa", "status", "cost_per_opportunity", "cost_per_won", "return", "registrations",
             "leads", "opportunities", "won", "won_amount")
    fmts = {"cost": ctx.money_fmt, "cpa": ctx.money_fmt, "cost_per_opportunity": ctx.money_fmt, "cost_per_won": ctx.money_fmt, "return": RATIO,
            "registrations": COUNT, "leads": COUNT, "opportunities": COUNT, "won": COUNT, "won_amount": ctx.money_fmt}
    block = sheet.table([Col(ctx.t(f"cost.col.{n}"), fmts.get(n)) for n in names],
                        [[r.source if r.source is not None else ctx.t("cost.total"), r.cost, r.cpa, status(r.cpa),
                          r.cost_per_opportunity, r.cost_per_won, r.return_ratio, r.registrations, r.leads,
                          r.opportunities, r.won, r.won_amount] for r in [*report.rows, tot]])
    shown = replace(block, last=block.last - 1)     # without the total row
    bar_chart(sheet, shown, cat=0, values=[2], title=ctx.t("report.chart.cpa"), fmt=ctx.money_fmt,
              colors=[hex_color("#2563eb")])
    if report.free_sources:
        sheet.note(ctx.t("cost.free_sources", sources=ctx.join(report.free_sources)))
    sheet.gap()
    sheet.heading(ctx.t("cost.month.title"))
    sheet.table([Col(ctx.t("cost.col.month")), Col(ctx.t("cost.col.cost"), ctx.money_fmt), Col(ctx.t("cost.col.registrations"), COUNT),
                 Col(ctx.t("cost.col.cpa"), ctx.money_fmt), Col(ctx.t("cost.col.status"))],
                [[f"{m.month:%Y-%m}", m.cost, m.registrations, m.cpa, status(m.cpa)]
                 for m in costs.monthly_costs(ctx.con, cost)])


# -- 設定・ルール ------------------------------------------------------------------------------
def write_settings(ctx: Context, sheet: Sheet) -> None:
    build, L = ctx.build, ctx.lang
    sheet.title(ctx.t("report.sheet.settings"))
    sheet.note(ctx.t("report.settings.intro"))
    sheet.gap()
    sheet.heading(ctx.t("report.settings.files"))
    files = [(side, lt.report) for side in ("ma", "sfa") for lt in ctx.ws.files[side]]
    sheet.table([Col(ctx.t("report.col.side")), Col(ctx.t("quality.col.file")), Col(ctx.t("report.settings.read_as")),
                 Col(ctx.t("report.settings.header_row"), COUNT), Col(ctx.t("report.settings.rows_read"), COUNT),
                 Col(ctx.t("report.settings.rows_dropped"), COUNT)],
                [[ctx.t(f"side.{side}"), r.file, _read_as(r), r.header_row, r.rows_read, r.rows_dropped]
                 for side, r in files], freeze=True)
    sheet.gap()
    sheet.heading(ctx.t("report.settings.link"))
    counts = build.counts
    sheet.table([Col(ctx.t("report.col.item")), Col(ctx.t("report.col.value"))], [
        [ctx.t("report.settings.link_kind"), ctx.t(f"link.{build.link.kind}")],
        [ctx.t("report.settings.link_ma"), build.link.ma_column or "—"],
        [ctx.t("report.settings.link_sfa"), build.link.sfa_column or "—"],
        [ctx.t("report.settings.link_auto"), ctx.yes(build.link.auto) or "—"],
        [ctx.t("report.settings.identity"), ctx.t(f"report.settings.identity.{build.identity}")],
        [ctx.t("report.settings.leads"), Num(counts["ma"].keys, COUNT)],
        [ctx.t("report.settings.ma_without_key"), Num(counts["ma"].rows_without_key, COUNT)],
        [ctx.t("report.settings.opportunities"), Num(counts["sfa"].keys, COUNT)],
        [ctx.t("report.settings.sfa_without_key"), Num(counts["sfa"].rows_without_key, COUNT)]])
    for key, params in build.notices:
        sheet.note("・" + ctx.t(key, **params))
    sheet.gap()
    sheet.heading(ctx.t("report.settings.mapping"))
    rows = []
    for side in ("ma", "sfa"):
        for lt, mp in zip(ctx.ws.files[side], build.mappings.get(side, []), strict=False):
            rows += [[ctx.t(f"side.{side}"), lt.report.file, field_label(f, L), f, column]
                     for f, column in mp.columns.items()]
    sheet.table([Col(ctx.t("report.col.side")), Col(ctx.t("quality.col.file")), Col(ctx.t("report.settings.field")),
                 Col(ctx.t("report.settings.field_id")), Col(ctx.t("report.settings.column"))], rows)
    sheet.gap()
    if build.date_orders:
        sheet.heading(ctx.t("report.settings.dates"))
        sheet.table([Col(ctx.t("quality.col.file")), Col(ctx.t("report.settings.field")),
                     Col(ctx.t("report.settings.column")), Col(ctx.t("report.settings.order")),
                     Col(ctx.t("report.settings.ambiguous"))],
                    [[d["file"], field_label(d["field"], L), d["column"],
                      " / ".join(d["format"]) if d.get("format") else str(d["order"]).upper(), ctx.yes(d["ambiguous"])]
                     for d in build.date_orders])
        sheet.gap()
    sheet.heading(ctx.t("report.settings.loss_rules"))
    sheet.note(ctx.t("report.settings.loss_rules_note"))
    sheet.table([Col(ctx.t("report.settings.order_no"), COUNT), Col(ctx.t("loss.col.category")),
                 Col(ctx.t("report.settings.category_id")), Col(ctx.t("loss.rules.col.keywords"), overflow=True)],
                [[i, loss_label(c, L), c, ", ".join(kws)] for i, (c, kws) in enumerate(ctx.rules.categories, 1)])
    sheet.gap()
    sheet.heading(ctx.t("report.settings.values"))
    rule = maturity(ctx.con)
    band = ctx.band
    sheet.table([Col(ctx.t("report.col.item")), Col(ctx.t("report.col.value")), Col(ctx.t("report.col.definition"), overflow=True)], [
        [ctx.t("report.settings.touch"), ctx.t(f"term.touch.{ctx.filters.touch}"), ctx.t("report.settings.touch_def")],
        [ctx.t("report.settings.funnel_mode"), ctx.t(f"stages.mode.{ctx.funnel_mode}"), ""],
        [ctx.t("report.settings.small_n"), Num(int(setting("small_sample_n")), COUNT), ctx.t("report.settings.small_n_def")],
        [ctx.t("report.settings.wilson_z"), Num(float(setting("wilson_z")), "0.000"), ctx.t("report.settings.wilson_def")],
        [ctx.t("report.settings.maturity"), Num(rule.days, COUNT),
         ctx.t(f"report.settings.maturity.{rule.basis}", q=round(rule.quantile * 100), n=num(rule.lags))],
        [ctx.t("report.settings.band"), f"{pct(band[0])}–{pct(band[1])}", ctx.t("report.settings.band_def")],
        [ctx.t("report.kpi.target"), Num(ctx.target, PERCENT), ""],
        [ctx.t("report.settings.ad"), ctx.join(list(ctx.ad)) or "—", ctx.t("report.settings.ad_def")]])


def _read_as(r: Any) -> str:
    if r.kind == "csv":
        return f"CSV ({r.encoding or '?'}, {'TAB' if r.delimiter == chr(9) else r.delimiter or '?'})"
    return f"{str(r.kind).upper()} ({r.sheet or '—'})"
