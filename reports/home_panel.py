"""The reports package's panel on the back-office home page (`core.panels`): the year's
headline figures so far (events held, presences, people reached, new people), each
linking to the dashboard (`/admin/rapports`). Permission `reports.view`. The same numbers
as the dashboard's cards for the year: the participation report (one query) and
`reports.dashboard.events_held` (one query)."""

from __future__ import annotations

from datetime import date

from core.i18n import _, format_number, to_local
from core.panels import ORDER_FIGURES, DashboardAsked, Panel, PanelFigure, PanelLink
from reports.dashboard import events_held
from reports.participation import ParticipationFilters, participation


async def headline_panel(asked: DashboardAsked) -> Panel | None:
    actor = asked.actor
    if not actor.can("reports.view"):
        return None
    today = to_local(asked.now).date()
    filters = ParticipationFilters(date_from=date(today.year, 1, 1), date_to=today)
    totals = (await participation(actor, filters)).totals
    held = await events_held(filters, asked.now)
    href = f"/admin/rapports?year={today.year}"
    figures = (
        PanelFigure(format_number(held), _("événements tenus"), href),
        PanelFigure(format_number(totals["attended_headcount"] or 0), _("présences"), href),
        PanelFigure(format_number(totals["people"] or 0), _("personnes jointes"), href),
        PanelFigure(format_number(totals["new_people"] or 0), _("nouvelles personnes"), href),
    )
    return Panel(
        title=_("%(year)s en chiffres, à ce jour", year=today.year),
        figures=figures,
        links=(PanelLink(_("Tableau de bord de la participation"), "/admin/rapports"),),
        order=ORDER_FIGURES,
    )
