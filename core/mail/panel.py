"""The outbox's panel on the back-office home page: the messages that will not go out on
their own (refused by the server, `failed`, or abandoned after too many attempts, `dead`),
each count linking to the outbox filtered on it. One query (the status index)."""

from __future__ import annotations

from tortoise.functions import Count

from core.i18n import _, format_number
from core.models import MessageStatus, OutboundMessage
from core.panels import ORDER_TO_DO, DashboardAsked, Panel, PanelFigure, PanelLink

STUCK = (MessageStatus.FAILED, MessageStatus.DEAD)


async def stuck_counts() -> dict[str, int]:
    """Messages refused (`failed`) and abandoned (`dead`), by status."""
    rows = (
        await OutboundMessage.filter(status__in=STUCK)
        .annotate(n=Count("id"))
        .group_by("status")
        .values_list("status", "n")
    )
    counts = {status.value: 0 for status in STUCK}
    for status, n in rows:
        counts[str(status)] = int(n)
    return counts


async def mail_panel(asked: DashboardAsked) -> Panel | None:
    if not asked.actor.can("outbox.view"):
        return None
    counts = await stuck_counts()
    labels = {
        MessageStatus.FAILED.value: _("refusés par le serveur"),
        MessageStatus.DEAD.value: _("abandonnés après plusieurs essais"),
    }
    figures = tuple(
        PanelFigure(format_number(n), labels[status], f"/admin/outbox?status={status}")
        for status, n in counts.items()
        if n
    )
    return Panel(
        title=_("Courriels en échec"),
        figures=figures,
        empty=_("Aucun courriel en échec."),
        links=(PanelLink(_("Boîte d'envoi"), "/admin/outbox"),),
        order=ORDER_TO_DO + 2,  # after the registrations and the submissions
        attention=bool(figures),
    )
