"""The evaluation panel on an event's back-office page."""

from __future__ import annotations

from core.i18n import _, format_number
from core.panels import Panel, PanelItem, PanelLink
from evaluations import forms
from evaluations.results import evaluation_summary
from events.signals import EventPanelsAsked


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{round(rate * 100)} %"


async def event_panel(asked: EventPanelsAsked) -> Panel | None:
    actor = asked.actor
    if not (actor.can("events.edit") or actor.can("reports.view")):
        return None
    event = asked.event
    form = await forms.form_for_event(event)
    links: list[PanelLink] = []
    if actor.can("events.edit") and (form is None or form.event_id == event.id):
        links.append(
            PanelLink(_("Modifier le questionnaire"), f"/admin/events/{event.id}/evaluation")
        )
    if form is None:
        return Panel(
            title=_("Évaluation"),
            items=[PanelItem(title=_("Aucun questionnaire d'évaluation"), links=tuple(links))],
        )
    summary = await evaluation_summary(event.id)
    if actor.can("reports.view"):
        links.append(
            PanelLink(_("Voir les résultats"), f"/admin/events/{event.id}/evaluation/results")
        )
    detail = ""
    if summary is not None:
        mean = summary.mean_satisfaction
        detail = _(
            "%(responses)s réponse(s) sur %(invited)s invitation(s) (%(rate)s) · "
            "satisfaction moyenne %(mean)s",
            responses=summary.responses,
            invited=summary.invited,
            rate=_percent(summary.response_rate),
            mean="—" if mean is None else format_number(mean),
        )
    title = _("Questionnaire anonyme") if form.anonymous else _("Questionnaire nominatif")
    if form.event_id != event.id:
        title = _("Questionnaire de l'édition (partagé)")
    return Panel(
        title=_("Évaluation"), items=[PanelItem(title=title, detail=detail, links=tuple(links))]
    )
