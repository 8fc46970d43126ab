"""The participation summary on an event's back-office page (issue 15, item 5): once the
event has started, registered against attended heads in all, by clientele and by the
participants' MRC, with walk-ins and no-shows (`reports.participation.event_participation`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.i18n import gettext as _
from core.panels import Panel, PanelItem
from events.signals import EventPanelsAsked
from reports.participation import event_participation


def _heads(row: dict[str, Any]) -> str:
    return _(
        "%(headcount)s inscrits · %(attended)s présences",
        headcount=row["headcount"],
        attended=row["attended_headcount"],
    )


async def event_panel(asked: EventPanelsAsked) -> Panel | None:
    """None before the start, or for an account without `reports.view`."""
    if not asked.actor.can("reports.view") or asked.event.starts_at > datetime.now(UTC):
        return None
    summary = await event_participation(asked.actor, asked.event.id)
    totals = summary.totals
    if not totals["registrations"]:
        return Panel(title=_("Participation"), empty=_("Aucune inscription à compter."))
    rate = totals["attendance_rate"]
    rate_text = "—" if rate is None else f"{round(rate * 100)} %"
    items = [
        PanelItem(
            title=_("En tout"),
            detail=_(
                "%(heads)s · taux de présence %(rate)s · %(walkins)s sur place · "
                "%(no_shows)s absences",
                heads=_heads(totals),
                rate=rate_text,
                walkins=totals["walkins"],
                no_shows=totals["no_shows"] if summary.over else "—",
            ),
        )
    ]
    for row in summary.by_clientele:
        items.append(PanelItem(title=row["clientele_label"], detail=_heads(row)))
    for row in summary.by_territory:
        items.append(
            PanelItem(title=_("MRC : %(name)s", name=row["territory_label"]), detail=_heads(row))
        )
    return Panel(title=_("Participation"), items=items)
