"""Sending campaigns: run by the periodic upkeep (`core.maintenance`), never in a request.

For each campaign in `sending`:

1. Resolution (once): the audience's query gives the recipients' ids (one query), stored
   as `CampaignRecipient` rows, unique per (campaign, person) and inserted with
   ON CONFLICT DO NOTHING, so a crash half-way and a second run add nobody twice.
2. Batches of `BATCH_SIZE` pending recipients: checked again against the exclusions (an
   unsubscribe between two batches applies at once: the recipient is `skipped`), each
   message composed for its recipient (language, placeholders, personal unsubscribe
   links), then in ONE transaction: the campaign is re-read with a conditional UPDATE
   (still `sending`? a pause or a cancel committed meanwhile stops here), the messages are
   inserted in the outbox (dedupe key `campaign:<id>:<person>`, ON CONFLICT DO NOTHING),
   the recipients are marked `queued`.
3. No recipient pending any more: the campaign is `sent` (through `change_status`).

The mail worker then delivers the outbox as usual (retries, rate limit, crash safety).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup
from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from campaigns import audiences, rsvp, tracking
from campaigns.compose import PLACEHOLDERS, inline_css, render_for
from campaigns.models import (
    Campaign,
    CampaignKind,
    CampaignRecipient,
    CampaignStatus,
    RecipientStatus,
)
from campaigns.preferences import preferences_url, unsubscribe_mailto, unsubscribe_url
from campaigns.service import CAUSE, change_status
from core import i18n
from core.audit import audit
from core.auth import Principal, authorize
from core.errors import Conflict, ValidationFailed
from core.i18n import _
from core.mail.outbox import compose_mail
from core.models import OutboundMessage
from core.settings import Settings, load_settings
from events.models import Event
from people.models import Organization, Person
from registrations.models import ACTIVE_STATUSES, Registration

log = logging.getLogger("rassembleur.campaigns")

BATCH_SIZE = 250
TEMPLATE = "campaigns/message"
SYSTEM = Principal.system("campagnes")


def dedupe_key(campaign_id: int, person_id: int) -> str:
    return f"{CAUSE}:{campaign_id}:{person_id}"


def event_values(event: Event | None, base_url: str) -> dict[str, str]:
    if event is None:
        return {"evenement": "", "evenement_date": "", "evenement_lieu": "", "lien_evenement": ""}
    place = ", ".join(p for p in (event.venue_name, event.address) if p)
    return {
        "evenement": event.title,
        "evenement_date": i18n.format_event_dates(event),
        "evenement_lieu": place,
        "lien_evenement": f"{base_url.rstrip('/')}/events/{event.id}",
    }


async def rsvp_links(
    settings: Settings, campaign: Campaign, pending: list[tuple[int, int]]
) -> dict[int, str]:
    """person id → personal RSVP link: the invitation's own recipient rows, or, for a
    reminder of an invitation, the rows of the invitation it follows (one query)."""
    if campaign.kind == CampaignKind.INVITATION and campaign.event_id:
        return {pid: rsvp.rsvp_url(settings, rid) for rid, pid in pending}
    if campaign.follows_id:
        ids = await rsvp.recipient_ids(campaign.follows_id, [pid for _rid, pid in pending])
        return {pid: rsvp.rsvp_url(settings, rid) for pid, rid in ids.items()}
    return {}


def recipients_query(campaign: Campaign) -> QuerySet[Person]:
    """Who the campaign writes to: its audience, or — for a reminder of an invitation —
    the invitees who neither answered nor registered; exclusions applied."""
    if campaign.follows_id is None:
        assert campaign.audience is not None
        return audiences.recipients_query(campaign.audience, campaign.purpose)
    invited = CampaignRecipient.filter(
        campaign_id=campaign.follows_id,
        status=RecipientStatus.QUEUED,
        rsvp__isnull=True,
        registration_id__isnull=True,
    )
    query = Person.filter(id__in=Subquery(invited.values("person_id")))
    if campaign.event_id:
        registered = Registration.filter(event_id=campaign.event_id, status__in=ACTIVE_STATUSES)
        query = query.exclude(id__in=Subquery(registered.values("person_id")))
    for _reason, condition in audiences.exclusion_conditions(campaign.purpose):
        query = query.filter(~condition)
    return query


def compose_for(
    settings: Settings,
    campaign: Campaign,
    person: Person,
    organization: str,
    event: Event | None,
    rsvp_link: str = "",
    recipient_id: int | None = None,
    cache: dict[str, dict[str, Any]] | None = None,
) -> OutboundMessage:
    """One recipient's message, rendered and checked, not stored."""
    lang = person.language if person.language in i18n.LANGUAGES else "fr"
    text_language = lang if campaign.subject_en else "fr"
    cached = cache.get(text_language) if cache is not None else None
    if cached is None:
        token = i18n.current_language.set(text_language)
        try:
            cached = event_values(event, settings.base_url)
        finally:
            i18n.current_language.reset(token)
        if cache is not None:
            cache[text_language] = cached
    values: dict[str, Any] = dict(cached)
    links = {
        "lien_desinscription": unsubscribe_url(settings, person.id, campaign.purpose),
        "lien_preferences": preferences_url(settings, person.id),
        "lien_rsvp": rsvp_link,
    }
    values.update(
        prenom=person.first_name,
        nom=person.last_name,
        courriel=person.email or "",
        organisme=organization,
        **links,
    )
    rendered = render_for(
        subject_fr=campaign.subject_fr,
        body_fr=campaign.body_fr,
        subject_en=campaign.subject_en,
        body_en=campaign.body_en,
        language=person.language,
        values=values,
    )
    message = compose_mail(
        to_address=person.email or "",
        to_name=person.display_name,
        template=TEMPLATE,
        context={
            "subject": rendered.subject,
            "body_text": rendered.markdown,
            # Sanitized by nh3 (compose.markdown_html): safe to insert as HTML.
            "body_html": Markup(  # noqa: S704
                tracking.track_links(settings, recipient_id, rendered.html)
                if recipient_id
                else rendered.html
            ),
            "open_pixel_url": tracking.open_url(settings, recipient_id) if recipient_id else "",
            "rsvp_url": links["lien_rsvp"],
            "unsubscribe_url": links["lien_desinscription"],
            "unsubscribe_mailto": unsubscribe_mailto(settings, person.id, campaign.purpose),
            "preferences_url": links["lien_preferences"],
        },
        language=rendered.language,
        dedupe_key=dedupe_key(campaign.id, person.id),
        category="bulk",
        person_id=person.id,
        cause=(CAUSE, campaign.id),
        settings=settings,
    )
    message.html_body = inline_css(message.html_body)
    return message


async def resolve(campaign: Campaign) -> int:
    """Store the campaign's recipients (once; safe to run again after a crash)."""
    ids = await recipients_query(campaign).values_list("id", flat=True)
    for start in range(0, len(ids), 1000):
        await CampaignRecipient.bulk_create(
            [
                CampaignRecipient(campaign_id=campaign.id, person_id=pid)
                for pid in ids[start : start + 1000]
            ],
            ignore_conflicts=True,
        )
    excluded: dict[str, int] = {}
    if campaign.follows_id is None and campaign.audience is not None:
        excluded = (await audiences.summarize(campaign.audience, campaign.purpose)).excluded
    await Campaign.filter(id=campaign.id, resolved_at__isnull=True).update(
        resolved_at=datetime.now(UTC), excluded=excluded
    )
    return len(ids)


async def _organization_names(people: list[Person]) -> dict[int, str]:
    ids = {p.organization_id for p in people if p.organization_id}
    if not ids:
        return {}
    return dict(await Organization.filter(id__in=ids).values_list("id", "name"))


async def queue_batch(settings: Settings, campaign: Campaign, size: int | None = None) -> int:
    """Queue the next batch; the number queued or skipped, 0 when none is pending,
    -1 when the campaign is no longer sending (paused or cancelled meanwhile)."""
    pending = list(
        await CampaignRecipient.filter(campaign_id=campaign.id, status=RecipientStatus.PENDING)
        .order_by("id")
        .limit(size or BATCH_SIZE)
        .values_list("id", "person_id")
    )
    if not pending:
        return 0
    person_ids = [pid for _rid, pid in pending]
    # Exclusions again, for this batch only (one query): unsubscribes apply at once.
    allowed = Person.filter(id__in=person_ids)
    for _reason, condition in audiences.exclusion_conditions(campaign.purpose):
        allowed = allowed.filter(~condition)
    people = list(await allowed)
    organizations = await _organization_names(people)
    event = await Event.get_or_none(id=campaign.event_id) if campaign.event_id else None
    links = await rsvp_links(settings, campaign, pending)
    recipient_of = {pid: rid for rid, pid in pending}
    cache: dict[str, dict[str, Any]] = {}
    messages = [
        compose_for(
            settings,
            campaign,
            p,
            organizations.get(p.organization_id or 0, ""),
            event,
            links.get(p.id, ""),
            recipient_of[p.id],
            cache,
        )
        for p in people
    ]
    kept = {p.id for p in people}
    now = datetime.now(UTC)
    async with in_transaction():
        still = await Campaign.filter(id=campaign.id, status=CampaignStatus.SENDING).update(
            updated_at=now
        )
        if not still:
            return -1
        if messages:
            await OutboundMessage.bulk_create(messages, ignore_conflicts=True, batch_size=500)
        queued_ids = [rid for rid, pid in pending if pid in kept]
        skipped_ids = [rid for rid, pid in pending if pid not in kept]
        if queued_ids:
            await CampaignRecipient.filter(id__in=queued_ids).update(
                status=RecipientStatus.QUEUED, queued_at=now
            )
        if skipped_ids:
            await CampaignRecipient.filter(id__in=skipped_ids).update(
                status=RecipientStatus.SKIPPED, skip_reason="excluded"
            )
    return len(pending)


async def process(settings: Settings, campaign_id: int, max_batches: int | None = None) -> int:
    """Queue a sending campaign batch after batch; mark it sent when nothing is left."""
    campaign = await Campaign.get(id=campaign_id).select_related("audience")
    if campaign.status != CampaignStatus.SENDING:
        return 0
    if campaign.resolved_at is None:
        await resolve(campaign)
    total = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        handled = await queue_batch(settings, campaign)
        if handled < 0:
            return total
        if handled == 0:
            try:
                await change_status(SYSTEM, campaign.id, CampaignStatus.SENT)
            except Conflict:  # paused or cancelled in the meantime: nothing more to do
                return total
            log.info("campagne %s : envoi terminé", campaign.id)
            return total
        total += handled
        batches += 1
    return total


async def run_due_campaigns(settings: Settings | None = None) -> int:
    """The upkeep task: start the scheduled campaigns that are due, queue the sending ones."""
    settings = settings or load_settings()
    now = datetime.now(UTC)
    due: list[Any] = await Campaign.filter(
        status=CampaignStatus.SCHEDULED, scheduled_at__lte=now
    ).values_list("id", flat=True)
    for campaign_id in due:
        try:
            await change_status(SYSTEM, campaign_id, CampaignStatus.SENDING)
        except Exception:  # noqa: BLE001 - one campaign's problem does not stop the others
            log.exception("campagne %s : démarrage impossible", campaign_id)
    total = 0
    sending: list[Any] = await Campaign.filter(status=CampaignStatus.SENDING).values_list(
        "id", flat=True
    )
    for campaign_id in sending:
        try:
            total += await process(settings, campaign_id)
        except Exception:  # noqa: BLE001
            log.exception("campagne %s : mise en file interrompue", campaign_id)
    return total


# --------------------------------------------------------------------------- previews


async def preview(
    actor: Principal, settings: Settings, campaign: Campaign, person_id: int | None
) -> tuple[OutboundMessage, Person | None]:
    """The message as one real recipient would get it (the first one when none is
    chosen), or with example values when the audience is empty."""
    authorize(actor, "campaigns.manage")
    person: Person | None = None
    if campaign.audience is not None or campaign.follows_id is not None:
        query = recipients_query(campaign)
        if person_id is not None:
            person = await query.filter(id=person_id).first()
            if person is None:
                raise ValidationFailed(
                    fields={"person_id": _("Cette personne ne fait pas partie des destinataires.")}
                )
        else:
            person = await query.order_by("last_name", "first_name", "id").first()
    event = await Event.get_or_none(id=campaign.event_id) if campaign.event_id else None
    example = f"{settings.base_url.rstrip('/')}/rsvp/exemple"
    link = example if campaign.kind == CampaignKind.INVITATION or campaign.follows_id else ""
    if person is None:
        sample = Person(
            id=0,
            first_name=PLACEHOLDERS["prenom"],
            last_name=PLACEHOLDERS["nom"],
            email=PLACEHOLDERS["courriel"],
            language="fr",
        )
        message = compose_for(settings, campaign, sample, PLACEHOLDERS["organisme"], event, link)
        return message, None
    names = await _organization_names([person])
    organization = names.get(person.organization_id or 0, "")
    return compose_for(settings, campaign, person, organization, event, link), person


async def send_test(
    actor: Principal, settings: Settings, campaign: Campaign, to_address: str, person_id: int | None
) -> OutboundMessage:
    """Queue the preview to the organizer's own address (subject marked as a test)."""
    import uuid

    from core.mail.outbox import insert_composed

    message, _person = await preview(actor, settings, campaign, person_id)
    message.to_address = to_address
    message.to_name = ""
    label = _("Essai")
    message.subject = f"[{label}] {message.subject}"[:300]
    message.dedupe_key = f"campaign-test:{campaign.id}:{uuid.uuid4().hex}"
    message.person_id = None
    message.cause_type = "campaign_test"
    async with in_transaction():
        await insert_composed(message)
        await audit(actor, "campaign.test_sent", campaign, {"to": to_address})
    return await OutboundMessage.get(dedupe_key=message.dedupe_key)


__all__ = ["CampaignKind", "queue_batch", "process", "run_due_campaigns", "preview", "send_test"]
