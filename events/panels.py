"""The events package's panel on the back-office home page: the JPS activity submissions
waiting for a moderator, counted by edition, each edition linking to its queue. Two
queries (the counts by edition, then the editions' titles), whatever their number."""

from __future__ import annotations

from tortoise.functions import Count

from core.i18n import _, format_number, ngettext
from core.panels import ORDER_TO_DO, DashboardAsked, Panel, PanelFigure, PanelItem, PanelLink
from events.models import ActivitySubmission, Event, SubmissionStatus

SHOWN = 8  # editions listed; the figure counts them all


async def pending_by_edition() -> list[tuple[Event, int]]:
    """Editions with submissions awaiting moderation, the most waiting first."""
    rows = (
        await ActivitySubmission.filter(status=SubmissionStatus.PENDING)
        .annotate(n=Count("id"))
        .group_by("edition_id")
        .values_list("edition_id", "n")
    )
    counts = {int(edition_id): int(n) for edition_id, n in rows}
    editions = {e.id: e for e in await Event.filter(id__in=list(counts)).only("id", "title")}
    pending = [(editions[i], n) for i, n in counts.items() if i in editions]
    return sorted(pending, key=lambda pair: (-pair[1], pair[0].title))


async def submissions_panel(asked: DashboardAsked) -> Panel | None:
    if not asked.actor.can("events.edit"):
        return None
    pending = await pending_by_edition()
    total = sum(n for _edition, n in pending)
    items = [
        PanelItem(
            title=edition.title,
            detail=ngettext("%(num)s proposition en attente", "%(num)s propositions en attente", n),
            links=(PanelLink(_("Modérer"), f"/admin/events/{edition.id}/submissions"),),
        )
        for edition, n in pending[:SHOWN]
    ]
    figures = (
        (PanelFigure(format_number(total), _("propositions d'activités à modérer")),)
        if total
        else ()
    )
    return Panel(
        title=_("Propositions d'activités JPS"),
        items=items,
        figures=figures,
        empty=_("Aucune proposition en attente de modération."),
        order=ORDER_TO_DO + 1,  # after the registrations awaiting approval
        attention=bool(total),
    )
