"""The accounts (企業) sheet of the Excel report: the funnel by company.

Company names stay readable with masking on (they are not personal data); people's
addresses are masked like everywhere else in the report.
"""

from __future__ import annotations

from funnel.measures import accounts as acc
from funnel.measures import metrics
from funnel.present.format import num, source_label
from funnel.report.sheets import LIST_LIMIT, Context
from funnel.report.xlsx import COUNT, PERCENT, Col, Num, Sheet
from funnel.sql import accounts as q


def write_accounts(ctx: Context, sheet: Sheet) -> None:
    sheet.title(ctx.t("accounts.title"))
    if not acc.applies(ctx.build.mappings):
        sheet.note(ctx.t("accounts.none"))
        return
    con, f = ctx.con, ctx.filters
    a = acc.measure(con, ctx.build.mappings, f.touch)
    lead = metrics.overall(con, metrics.Filters(touch=f.touch))
    sheet.note(ctx.t("accounts.definition"))
    sheet.note(ctx.t("accounts.scope", touch=ctx.t(f"term.touch.{f.touch}")))
    if f.date_from or f.date_to or f.sources:
        sheet.note(ctx.t("accounts.unfiltered"))
    sheet.gap()
    sheet.heading(ctx.t("accounts.kpi"))
    rows: list[list[object]] = [
        [ctx.t("accounts.kpi.accounts"), Num(a.accounts, COUNT), ctx.t("accounts.def.accounts")],
        [ctx.t("accounts.kpi.converted"), Num(a.converted, COUNT), ctx.t("accounts.def.converted")],
        [ctx.t("accounts.kpi.won"), Num(a.won, COUNT), ctx.t("accounts.def.won")],
        [ctx.t("accounts.kpi.rate"), Num(a.rate if a.accounts else None, PERCENT),
         ctx.t("accounts.def.rate", converted=num(a.converted), accounts=num(a.accounts))],
        [ctx.t("accounts.kpi.lead_rate"), Num(lead.rate if lead.leads else None, PERCENT),
         ctx.t("accounts.def.lead_rate", converted=num(lead.converted), leads=num(lead.leads))],
        [ctx.t("accounts.kpi.without"), Num(a.leads_without_account, COUNT), ctx.t("accounts.def.without")],
        [ctx.t("accounts.kpi.by_company"), Num(a.opportunities_by_account_only, COUNT), ctx.t("accounts.def.by_company")],
    ]
    rows = [[r[0], Num("—", None) if isinstance(r[1], Num) and r[1].value is None else r[1], r[2]] for r in rows]
    sheet.table([Col(ctx.t("report.col.item")), Col(ctx.t("report.col.value")),
                 Col(ctx.t("report.col.definition"), width=80)], rows)
    sheet.gap()
    sheet.heading(ctx.t("accounts.by_source"))
    sheet.table([Col(ctx.t("rate.col.source")), Col(ctx.t("accounts.kpi.accounts"), COUNT),
                 Col(ctx.t("accounts.kpi.converted"), COUNT), Col(ctx.t("accounts.kpi.won"), COUNT),
                 Col(ctx.t("accounts.kpi.rate"), PERCENT)],
                [[source_label(r.source, ctx.lang), r.accounts, r.converted, r.won, r.rate] for r in a.by_source])
    sheet.gap()
    found = q.account_list(con, LIST_LIMIT)
    sheet.heading(ctx.t("accounts.list"))
    sheet.note(ctx.t("accounts.list.note", total=num(a.accounts), shown=num(len(found))))
    masked = ctx.masker()
    names = ("company", "leads", "numbers", "names", "domains", "domain_list", "opps", "won", "by_company_only",
             "example")
    sheet.table([Col(ctx.t(f"accounts.col.{c}"), COUNT if c in ("leads", "numbers", "names", "domains", "opps", "won",
                                                                 "by_company_only") else None) for c in names],
                [[r["company"], r["leads"], r["numbers"], r["names"], r["domains"], r["domain_list"], r["opps"],
                  r["won"], r["by_company_only"], masked(r["example"])] for r in found])
