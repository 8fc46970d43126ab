"""The back-office home page (`/admin`) is the organizer's working view: what awaits a
decision (registrations to approve, JPS submissions to moderate, mail that failed), today's
events with their check-in link, the upcoming events with their fill rate and waitlist.
Each package's panel shows only to the accounts allowed to act on it, and the page reads
a fixed number of queries whatever the number of events."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from core.mail.outbox import queue_mail
from core.models import MessageStatus, OutboundMessage, Role
from core.settings import local_tz
from events.models import ActivitySubmission, Event
from registrations import checkin
from registrations import service as registrations
from tests.conftest import login
from tests.events.test_list_queries import QueryCounter
from tests.registrations.helpers import SYSTEM, person, published_event


def _now_on() -> dict[str, str]:
    """Under way now (its door is open): from half an hour ago for two hours."""
    start = datetime.now(local_tz()) - timedelta(minutes=30)
    return {
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
    }


def _times(days: float, hours: float = 2) -> dict[str, str]:
    noon = datetime.now(local_tz()).replace(hour=12, minute=0, second=0, microsecond=0)
    start = noon + timedelta(days=days)
    return {
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M"),
    }


async def _register(settings, event: Event, n: int, **kw) -> None:
    await registrations.register(event.id, person(n, **kw), settings=settings)


async def _submission(edition: Event, n: int) -> None:
    start = edition.starts_at + timedelta(days=1, hours=9)
    await ActivitySubmission.create(
        edition_id=edition.id,
        token=secrets.token_urlsafe(16),
        title=f"Déjeuner {n}",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        territory_id=edition.territory_id,
        organization_name="École secondaire",
        contact_name="Julie Tremblay",
        contact_email=f"julie{n}@exemple.qc.ca",
    )


async def _failed_mail(settings, key: str, status: MessageStatus) -> None:
    message = await queue_mail(
        to_address=f"{key}@exemple.qc.ca",
        to_name="Élodie Gagnon",
        template="test",
        context={"queued_at": datetime(2027, 2, 16, 14, tzinfo=UTC)},
        dedupe_key=key,
        settings=settings,
    )
    await OutboundMessage.filter(id=message.id).update(status=status)


async def _world(settings, offset: int = 0) -> dict[str, Event]:
    """Today's event with a party checked in, a full event with a waitlist, an unlimited
    one, one that needs approval, a JPS edition with a child and pending submissions."""
    n = 1000 * offset
    today = await published_event(title=f"Forum du jour {offset}", capacity=40, **_now_on())
    await _register(settings, today, n + 1, party_size=2)
    await _register(settings, today, n + 2)
    first = (await registrations_of(today))[0]
    outcome = await checkin.check_in(
        settings, SYSTEM, event_id=today.id, registration_id=first.public_id, method="search"
    )
    assert outcome.result == "ok", outcome
    full = await published_event(
        title=f"Colloque complet {offset}", capacity=4, waitlist=True, **_times(5 + offset)
    )
    for i in range(6):
        await _register(settings, full, n + 10 + i)
    free = await published_event(title=f"Atelier libre {offset}", **_times(6 + offset))
    await _register(settings, free, n + 20)
    gated = await published_event(
        title=f"Gala sur approbation {offset}", requires_approval=True, **_times(7 + offset)
    )
    await _register(settings, gated, n + 30)
    edition = await published_event(
        title=f"JPS édition {offset}", kind="perseverance_days", **_times(20 + offset, 96)
    )
    await published_event(
        title=f"Activité JPS {offset}", parent_id=edition.id, **_times(21 + offset)
    )
    for i in range(2):
        await _submission(edition, n + i)
    return {"today": today, "full": full, "free": free, "gated": gated, "edition": edition}


async def registrations_of(event: Event):
    from registrations.models import Registration

    return await Registration.filter(event_id=event.id).order_by("id")


async def test_organizer_sees_what_awaits_today_and_upcoming(client, settings):
    world = await _world(settings)
    await _failed_mail(settings, "refuse", MessageStatus.FAILED)
    await _failed_mail(settings, "abandon", MessageStatus.DEAD)
    await _failed_mail(settings, "ok", MessageStatus.SENT)
    await login(client, Role.ORGANIZER)
    page = await client.get("/admin")
    assert page.status_code == 200
    html = page.text
    today, full, free, gated, edition = (
        world[k] for k in ("today", "full", "free", "gated", "edition")
    )
    # Awaiting a decision.
    assert "Inscriptions à approuver" in html
    assert "1 demande en attente" in html
    assert f'href="/admin/events/{gated.id}/registrations?status=pending_approval"' in html
    assert "Propositions d&#39;activités JPS" in html
    assert "2 propositions en attente" in html
    assert f'href="/admin/events/{edition.id}/submissions"' in html
    assert "Courriels en échec" in html
    assert 'href="/admin/outbox?status=failed"' in html
    assert 'href="/admin/outbox?status=dead"' in html
    # Today: present heads (the party of 2 checked in) over confirmed heads.
    assert "2 présents sur 3 inscrits" in html
    assert f'href="/admin/events/{today.id}/checkin"' in html
    # Upcoming: fill rate and waitlist; the edition itself is not listed, its child is.
    assert "4 / 4 places prises (100 %)" in html
    assert "2 en liste d&#39;attente" in html
    assert f'href="/admin/events/{full.id}/registrations?status=waitlisted"' in html
    assert 'value="1.0"' in html  # the fill gauge
    assert "1 place prise (sans limite)" in html
    assert free.title in html and "Activité JPS 0" in html
    assert edition.title not in html.split("Événements à venir", 1)[1]
    # In order: what awaits a decision, today, then what is coming.
    assert (
        html.index("Inscriptions à approuver")
        < html.index("Propositions d&#39;activités JPS")
        < html.index("Courriels en échec")
        < html.index("Aujourd&#39;hui")
        < html.index("Événements à venir")
        < html.index("en chiffres, à ce jour")
    )


async def test_each_panel_shows_only_to_who_may_act(client, settings):
    await _world(settings)
    await _failed_mail(settings, "refuse", MessageStatus.FAILED)
    await login(client, Role.REVIEWER)
    html = (await client.get("/admin")).text
    assert "Événements à venir" in html and "Aujourd&#39;hui" in html
    for hidden in ("Inscriptions à approuver", "Propositions d&#39;activités", "Courriels en"):
        assert hidden not in html
    # A reviewer cannot scan: no check-in link on today's event.
    assert '/checkin"' not in html


async def test_quiet_day_says_so(client, settings):
    await login(client, Role.ADMIN)
    html = (await client.get("/admin")).text
    for said in (
        "Aucune inscription en attente d&#39;approbation.",
        "Aucune proposition en attente de modération.",
        "Aucun courriel en échec.",
        "Aucun événement aujourd&#39;hui.",
        "Aucun événement à venir ouvert aux inscriptions.",
    ):
        assert said in html
    assert "panel-attention" not in html


async def test_home_reads_a_fixed_number_of_queries(client, settings, monkeypatch):
    await _world(settings, 0)
    await _failed_mail(settings, "refuse", MessageStatus.FAILED)
    await login(client, Role.ADMIN)

    async def count() -> int:
        counter = QueryCounter()
        with monkeypatch.context() as patch:
            counter.install(patch)
            response = await client.get("/admin")
        assert response.status_code == 200
        return counter.count

    small = await count()
    await _world(settings, 1)
    await _world(settings, 2)
    large = await count()
    assert large == small, (small, large)
    html = (await client.get("/admin")).text
    assert "Colloque complet 2" in html and "Gala sur approbation 2" in html
