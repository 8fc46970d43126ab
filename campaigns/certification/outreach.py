"""Outreach: a campaign inviting employers to apply, and the program's funnel.

The campaign is an ordinary newsletter of the campaigns machinery (audience, consent,
outbox, unsubscribe, click tracking), whose body links to the program's application form
with `?campaign=<id>`: the applications it brings carry that campaign. The funnel of a
program: invited (recipients whose message was queued) → started (applications from the
invitation, any state) → submitted → certified.
"""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from campaigns import audiences
from campaigns import service as campaigns_service
from campaigns.certification.models import Application, ProgramCampaign
from campaigns.certification.programs import get_program
from campaigns.models import Campaign, CampaignKind, CampaignRecipient, RecipientStatus
from campaigns.schemas import AudienceFilters, AudienceIn, CampaignIn
from core.auth import Principal, authorize
from core.i18n import _
from core.settings import Settings


def apply_url(settings: Settings, program_id: int, campaign_id: int | None = None) -> str:
    url = f"{settings.base_url.rstrip('/')}/certification/programs/{program_id}/apply"
    return f"{url}?campaign={campaign_id}" if campaign_id else url


async def create_outreach(
    actor: Principal,
    settings: Settings,
    program_id: int,
    *,
    territories: list[str],
    consent: str | None = None,
) -> Campaign:
    """A draft campaign to businesses (clientele `society`, sector business) of the given
    MRCs, inviting them to apply; the organizer reviews and sends it from the campaigns'
    back office."""
    authorize(actor, "campaigns.manage")
    program = await get_program(program_id)
    filters = AudienceFilters.model_validate(
        {
            "clienteles": ["society"],
            "sectors": ["business"],
            "territories": territories,
            **({"consent": consent} if consent else {}),
        }
    )
    async with in_transaction():
        audience = await audiences.create_audience(
            actor,
            AudienceIn(
                name=_("Employeurs : %(program)s", program=program.name)[:200], filters=filters
            ),
        )
        campaign = await campaigns_service.create_campaign(
            actor,
            CampaignIn(
                kind=CampaignKind.NEWSLETTER,
                name=_("Invitation à la certification : %(program)s", program=program.name)[:200],
                audience_id=audience.id,
                subject_fr=_(
                    "Faites certifier votre entreprise : %(program)s", program=program.name
                )[:300],
                body_fr="Bonjour {{ prenom }},\n\n"
                + "Votre entreprise soutient ses employés aux études? Le programme "
                + f"« {program.name} » reconnaît les employeurs qui favorisent la conciliation "
                + "études-travail.\n\nPrésentez votre demande en quelques minutes, même sur "
                + "votre téléphone : [faire une demande](LIEN).\n",
            ),
        )
        link = apply_url(settings, program.id, campaign.id)
        campaign.body_fr = campaign.body_fr.replace("LIEN", link)
        await campaign.save(update_fields=["body_fr"])
        await ProgramCampaign.create(program=program, campaign=campaign)
    return campaign


async def _campaign_ids(program_id: int) -> list[int]:
    rows = await ProgramCampaign.filter(program_id=program_id).values("campaign_id")
    return [int(row["campaign_id"]) for row in rows]


async def program_campaigns(program_id: int) -> list[Campaign]:
    ids = await _campaign_ids(program_id)
    return list(await Campaign.filter(id__in=ids).order_by("-created_at"))


async def funnel(program_id: int) -> dict[str, Any]:
    """invited → started → submitted → certified, for the program's outreach campaigns,
    and the same counts for every application to the program."""
    ids = await _campaign_ids(program_id)
    invited = (
        await CampaignRecipient.filter(campaign_id__in=ids, status=RecipientStatus.QUEUED).count()
        if ids
        else 0
    )
    from_campaigns = Application.filter(program_id=program_id, campaign_id__in=ids or [0])
    every = Application.filter(program_id=program_id)
    return {
        "campaigns": len(ids),
        "invited": invited,
        "started": await from_campaigns.count(),
        "submitted": await from_campaigns.filter(submitted_at__isnull=False).count(),
        "certified": await from_campaigns.filter(certified_at__isnull=False).count(),
        "all": {
            "started": await every.count(),
            "submitted": await every.filter(submitted_at__isnull=False).count(),
            "certified": await every.filter(certified_at__isnull=False).count(),
        },
    }
