"""Builders for the evaluation tests: an event that is over, registrants, check-ins, a form."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from core.auth import Principal
from core.models import OutboundMessage
from core.settings import Settings
from evaluations import forms
from evaluations.links import invitation_token
from evaluations.models import EvaluationForm, Invitation
from evaluations.schemas import FormIn
from events.models import Event, EventKind, EventStatus
from registrations.models import Registration, RegistrationStatus
from tests.campaigns.factories import check_in, person, registration

SYSTEM = Principal.system("tests")

QUESTIONS: list[dict[str, Any]] = [
    {
        "code": "satisfaction",
        "kind": "rating",
        "label_fr": "Satisfaction générale",
        "required": True,
    },
    {"code": "contenu", "kind": "rating", "label_fr": "Qualité du contenu"},
    {"code": "recommande", "kind": "nps", "label_fr": "Recommanderiez-vous cette activité?"},
    {
        "code": "format",
        "kind": "choice",
        "label_fr": "Format préféré",
        "options": ["En personne", "En ligne"],
        "options_en": ["In person", "Online"],
    },
    {
        "code": "themes",
        "kind": "multi",
        "label_fr": "Thèmes utiles",
        "options": ["Portrait", "Mobilisation", "Conciliation"],
    },
    {
        "code": "commentaire",
        "kind": "long_text",
        "label_fr": "Commentaires",
        "label_en": "Comments",
    },
    {"code": "mot", "kind": "text", "label_fr": "En un mot"},
]


async def past_event(
    title: str = "Journée de partage",
    *,
    ended_ago: timedelta = timedelta(hours=3),
    parent: Event | None = None,
) -> Event:
    ends = datetime.now(UTC).replace(microsecond=0) - ended_ago
    return await Event.create(
        uid=secrets.token_hex(8),
        kind=EventKind.REGIONAL_EVENT,
        title=title,
        starts_at=ends - timedelta(hours=3),
        ends_at=ends,
        venue_name="Salle Rolland-Brunelle",
        status=EventStatus.PUBLISHED,
        parent=parent,
    )


async def make_form(
    event: Event,
    *,
    anonymous: bool = True,
    questions: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> EvaluationForm:
    data = FormIn.model_validate(
        {"anonymous": anonymous, "questions": questions or QUESTIONS, **extra}
    )
    return await forms.save_form(SYSTEM, event.id, data)


async def registrant(
    event: Event,
    *,
    clientele: str = "schools",
    territory: str | None = None,
    attended: bool = False,
    status: RegistrationStatus = RegistrationStatus.CONFIRMED,
    email: str | None = None,
) -> Registration:
    p = await person(clientele=clientele, territory=territory, email=email)
    reg = await registration(event, p, status)
    if territory:
        reg.territory_id = p.territory_id
        await reg.save(update_fields=["territory_id"])
    if attended:
        await check_in(reg)
    return reg


def token_of(settings: Settings, invitation: Invitation) -> str:
    return invitation_token(settings, invitation.id)


async def token_for(settings: Settings, reg: Registration) -> str:
    invitation = await Invitation.get(registration_id=reg.id)
    return token_of(settings, invitation)


def link_in(message: OutboundMessage) -> str:
    match = re.search(r"/evaluation/([0-9]+\.[A-Za-z0-9_-]+)", message.text_body)
    assert match, message.text_body
    return match.group(1)
