"""The event's own report (issue 17, item 5): once the event is over, on one printable
page an organizer can paste into the activity report — registered against attended by
clientele and by participant MRC, walk-ins and no-shows (`reports.participation`), the
evaluation in figures (`evaluations.results.evaluation_summary`) and the attendance
certificates issued and revoked (`registrations.attestation_mailing`).

Aggregates only: no name, no e-mail (the participation figures are the report's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from core.auth import Principal, authorize
from core.errors import NotFound
from core.i18n import gettext as _
from core.panels import Panel, PanelItem, PanelLink
from evaluations.results import EvaluationSummary, evaluation_summary
from events.models import Event, EventStatus
from events.signals import EventPanelsAsked
from registrations.attestation_mailing import MailingStatus, mailing_status
from reports.participation import EventParticipation, event_participation


@dataclass(frozen=True)
class EventReport:
    event: Event
    over: bool
    generated_at: datetime
    participation: EventParticipation | None  # None until the event is over
    evaluation: EvaluationSummary | None  # None: the event has no evaluation form
    certificates: MailingStatus | None  # None: the event gives no certificates


def is_over(event: Event, now: datetime) -> bool:
    return event.status != EventStatus.CANCELLED and event.ends_at <= now


async def event_report(actor: Principal, event_id: int) -> EventReport:
    """The report of one event (its own registrations, not its children's)."""
    authorize(actor, "reports.view")
    event = await Event.get_or_none(id=event_id).select_related("territory")
    if event is None:
        raise NotFound()
    now = datetime.now(UTC)
    over = is_over(event, now)
    if not over:
        return EventReport(event, False, now, None, None, None)
    return EventReport(
        event=event,
        over=True,
        generated_at=now,
        participation=await event_participation(actor, event_id),
        evaluation=await evaluation_summary(event_id),
        certificates=await mailing_status(event_id) if event.gives_attestation else None,
    )


def report_path(event_id: int) -> str:
    return f"/admin/events/{event_id}/report"


async def report_panel(asked: EventPanelsAsked) -> Panel | None:
    """The link to the report on the event's back-office page, once the event is over."""
    if not asked.actor.can("reports.view") or not is_over(asked.event, datetime.now(UTC)):
        return None
    return Panel(
        title=_("Rapport de l'événement"),
        items=[
            PanelItem(
                title=_("Participation, évaluation et attestations sur une page imprimable"),
                links=(
                    PanelLink(_("Voir le rapport de l'événement"), report_path(asked.event.id)),
                ),
            )
        ],
    )
