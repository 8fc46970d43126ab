"""Invitations with RSVP: a personal, signed, unguessable link per invitee.

Token: `<recipient id>.<MAC>`, MAC = 144 bits of HMAC-SHA256 keyed by SECRET_KEY over
`rsvp:<recipient id>` (domain-separated from every other signed link). Nothing is stored;
one character changed → 404 (constant-time comparison).

- "Je ne pourrai pas": the decline is recorded at once (no login, no more question).
- "J'y serai": the answer is recorded and the person confirms a registration form
  pre-filled from the directory; the registration goes through `registrations.service.
  register` with source `invitation` (so invitation-only events accept it) and is linked
  to the invitation (`CampaignRecipient.registration`).
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from campaigns.models import Campaign, CampaignKind, CampaignRecipient, Rsvp
from core.audit import audit
from core.auth import Principal
from core.errors import NotFound
from core.i18n import _
from core.panels import Panel, PanelItem, PanelLink
from core.security import signature
from core.settings import Settings
from events.models import Event
from events.signals import EventPanelsAsked
from people.models import Person
from registrations import service as registrations
from registrations.models import RegistrationSource
from registrations.schemas import RegistrationIn

_TOKEN = re.compile(r"^(\d{1,12})\.([A-Za-z0-9_-]{24})$")


def _mac(settings: Settings, recipient_id: int) -> str:
    return signature(settings.secret_key, f"rsvp:{recipient_id}")


def rsvp_token(settings: Settings, recipient_id: int) -> str:
    return f"{recipient_id}.{_mac(settings, recipient_id)}"


def rsvp_url(settings: Settings, recipient_id: int) -> str:
    return f"{settings.base_url.rstrip('/')}/rsvp/{rsvp_token(settings, recipient_id)}"


def verify(settings: Settings, token: str) -> int:
    match = _TOKEN.match(token or "")
    if match is None:
        raise NotFound()
    recipient_id = int(match.group(1))
    if recipient_id >= 2**31:
        raise NotFound()
    if not hmac.compare_digest(match.group(2), _mac(settings, recipient_id)):
        raise NotFound()
    return recipient_id


@dataclass
class Invitation:
    recipient: CampaignRecipient
    campaign: Campaign
    event: Event
    person: Person


async def invitation(settings: Settings, token: str) -> Invitation:
    recipient_id = verify(settings, token)
    recipient = await CampaignRecipient.get_or_none(id=recipient_id).select_related(
        "campaign", "person"
    )
    if recipient is None or recipient.person.erased_at is not None:
        raise NotFound()
    campaign = recipient.campaign
    if campaign.kind != CampaignKind.INVITATION or campaign.event_id is None:
        raise NotFound()
    event = await Event.get(id=campaign.event_id)
    await event.fetch_related("clienteles")
    return Invitation(recipient, campaign, event, recipient.person)


async def answer(settings: Settings, token: str, value: Rsvp) -> Invitation:
    """Record the invitee's answer (a later answer replaces an earlier one)."""
    found = await invitation(settings, token)
    async with in_transaction():
        await CampaignRecipient.filter(id=found.recipient.id).update(
            rsvp=value, rsvp_at=datetime.now(UTC)
        )
        await audit(
            Principal(user_id=None, email=found.person.email or "", role=None, via="rsvp"),
            "campaign.rsvp",
            found.campaign,
            {"person": found.person.id, "answer": value.value},
        )
    found.recipient.rsvp = value
    return found


async def register(
    settings: Settings, token: str, *, clientele: str, language: str, party_size: int = 1
) -> registrations.RegistrationResult:
    """The invitee confirms: one registration, source `invitation`, linked to the invite."""
    found = await invitation(settings, token)
    person = found.person
    organization = None
    if person.organization_id:
        await person.fetch_related("organization", "territory")
        organization = person.organization.name if person.organization else None
    elif person.territory_id:
        await person.fetch_related("territory")
    data = RegistrationIn.model_validate(
        {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "email": person.email or "",
            "phone": "",
            "clientele": clientele,
            "organization": organization or "",
            "territory": person.territory.code
            if person.territory_id and person.territory
            else None,
            "language": language if language in ("fr", "en") else person.language,
            "party_size": party_size,
            "answers": {},
            "consents": [],
        }
    )
    result = await registrations.register(
        found.event.id, data, settings=settings, source=RegistrationSource.INVITATION
    )
    await CampaignRecipient.filter(id=found.recipient.id).update(
        rsvp=Rsvp.YES, rsvp_at=datetime.now(UTC), registration_id=result.registration.id
    )
    return result


async def recipient_ids(campaign_id: int, person_ids: list[int]) -> dict[int, int]:
    """person id → recipient id of the invitation `campaign_id` (one query)."""
    rows = await CampaignRecipient.filter(
        campaign_id=campaign_id, person_id__in=person_ids
    ).values_list("person_id", "id")
    return {int(p): int(r) for p, r in rows}


async def answers(campaign_id: int) -> dict[str, int]:
    """Invited / accepted / declined / no answer of an invitation campaign."""
    rows = CampaignRecipient.filter(campaign_id=campaign_id).exclude(status="skipped")
    invited = await rows.count()
    accepted = await rows.filter(rsvp=Rsvp.YES).count()
    declined = await rows.filter(rsvp=Rsvp.NO).count()
    return {
        "invited": invited,
        "accepted": accepted,
        "declined": declined,
        "no_answer": invited - accepted - declined,
    }


async def form_choices(found: Invitation, language: str) -> list[tuple[str, str]]:
    from people.reference import offered_clienteles

    return [(c.code, c.name(language)) for c in await offered_clienteles(found.event.clienteles)]


async def default_clientele(found: Invitation, offered: list[tuple[str, str]]) -> str:
    codes = [code for code, _name in offered]
    if found.person.clientele_id:
        await found.person.fetch_related("clientele")
        if found.person.clientele and found.person.clientele.code in codes:
            return found.person.clientele.code
    return codes[0] if len(codes) == 1 else ""


async def event_panel(asked: EventPanelsAsked) -> Panel | None:
    """On the event's back-office page: invited / accepted / declined / no answer, per
    invitation campaign of the event (for those who manage campaigns)."""
    if not asked.actor.can("campaigns.manage"):
        return None
    campaigns = await Campaign.filter(
        event_id=asked.event.id, kind=CampaignKind.INVITATION
    ).order_by("created_at", "id")
    items = []
    for campaign in campaigns:
        figures = await answers(campaign.id)
        items.append(
            PanelItem(
                title=campaign.name,
                detail=_(
                    "%(invited)s invité(s) · %(accepted)s oui · %(declined)s non · "
                    "%(no_answer)s sans réponse",
                    **figures,
                ),
                links=(PanelLink(_("Voir la campagne"), f"/admin/campaigns/{campaign.id}"),),
            )
        )
    return Panel(
        title=_("Invitations"),
        items=items,
        empty=_("Aucune invitation n'a été envoyée pour cet événement."),
    )
