"""One anonymous request can no longer take a whole event (issue 13, item 1): the largest
party of the public channels and the group request, the seats per client address, and
"confirmer par courriel" (a hold that the mailed link confirms and that expires)."""

from __future__ import annotations

import re
import socket
import uuid
from datetime import UTC, datetime, timedelta
from html import unescape

import httpx
import pytest

from core import maintenance
from core.errors import RateLimited
from core.models import OutboundMessage
from core.ratelimit import RateLimiter
from events.models import Event
from registrations import holds, limits, listing, manage_links, service
from registrations.models import Registration, RegistrationSource, RegistrationStatus
from tests.conftest import csrf_from, login, make_settings, token_for
from tests.registrations.helpers import SYSTEM, person, published_event
from tests.registrations.test_pages import register_through_form

PENDING_EMAIL = RegistrationStatus.PENDING_EMAIL


def body(n: int, party_size: int = 1, **extra) -> dict:
    return {
        "first_name": f"Prénom{n}",
        "last_name": f"Nom{n}",
        "email": f"personne{n}@exemple.qc.ca",
        "clientele": "schools",
        "party_size": party_size,
        **extra,
    }


def other_client(app, host: str) -> httpx.AsyncClient:
    """A client calling from another address."""
    transport = httpx.ASGITransport(app=app, client=(host, 50001))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def seats_taken(event: Event) -> int:
    return (await Event.get(id=event.id)).seats_taken


# --------------------------------------------------------------------------- largest party


async def test_a_250_party_on_the_anonymous_api_is_refused_and_the_next_person_gets_in(client):
    """The issue's reproduction: 250 heads on a 250-place event from one anonymous call."""
    event = await published_event(capacity=250)
    url = f"/api/v1/events/{event.id}/registrations"
    response = await client.post(url, json=body(1, party_size=250))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "group_request_required"
    assert error["max_party_size"] == 10
    assert error["message"] == (
        "Une inscription en ligne compte au plus 10 personnes. Pour un groupe de 250 "
        "personnes, envoyez une demande de groupe : l'équipe organisatrice l'examinera et "
        "vous répondra par courriel."
    )
    assert error["fields"] == {"party_size": error["message"]}
    assert await Registration.filter(event_id=event.id).count() == 0
    assert await seats_taken(event) == 0

    largest = await client.post(url, json=body(2, party_size=10))  # the bound itself
    assert (largest.status_code, largest.json()["status"]) == (201, "confirmed")
    nxt = await client.post(url, json=body(3))
    assert (nxt.status_code, nxt.json()["status"]) == (201, "confirmed")
    assert await seats_taken(event) == 11


async def test_a_group_request_goes_to_approval_and_holds_no_places(client, settings):
    event = await published_event(capacity=60, max_public_party_size=5)
    url = f"/api/v1/events/{event.id}/registrations"
    response = await client.post(url, json=body(1, party_size=40, group_request=True))
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "pending_approval"
    assert response.json()["ticket"] is None
    assert await seats_taken(event) == 0
    # A party within the maximum is not turned into a request by the flag.
    small = await client.post(url, json=body(2, party_size=3, group_request=True))
    assert small.json()["status"] == "confirmed"

    request = await Registration.get(event_id=event.id, party_size=40)
    assert await service.approve(settings, SYSTEM, [request.id]) == {
        "confirmed": 1,
        "waitlisted": 0,
        "full": 0,
        "skipped": 0,
    }
    assert await seats_taken(event) == 43


async def test_the_public_form_names_the_field_and_offers_a_group_request(client):
    event = await published_event(capacity=100, max_public_party_size=8)
    page = await client.get(f"/events/{event.id}/register")
    assert "Une inscription en ligne compte au plus 8 personnes" in unescape(page.text)
    assert 'name="group_request"' not in page.text  # offered only when needed

    refused = await register_through_form(client, event, party_size="30")
    assert refused.status_code == 422
    html = unescape(refused.text)
    field = html[html.index('id="f-party_size"') :]
    assert 'aria-invalid="true"' in field.split(">")[0]
    assert "Pour un groupe de 30 personnes, envoyez une demande de groupe" in html
    assert 'name="group_request"' in refused.text
    assert 'value="30"' in refused.text  # nothing typed is lost
    assert await Registration.filter(event_id=event.id).count() == 0

    sent = await client.post(
        f"/events/{event.id}/register",
        data={
            "csrf_token": csrf_from(refused.text),
            "first_name": "Chantal",
            "last_name": "Beaulieu",
            "email": "chantal.beaulieu@exemple.qc.ca",
            "clientele": "schools",
            "party_size": "30",
            "group_request": "1",
        },
    )
    assert sent.status_code == 303, sent.text
    registration = await Registration.get(event_id=event.id)
    assert (registration.status, registration.party_size) == ("pending_approval", 30)
    assert await seats_taken(event) == 0
    manage = await client.get(sent.headers["location"])
    assert "Votre demande d'inscription est reçue" in unescape(manage.text)


async def test_staff_channels_are_not_limited(client, settings):
    event = await published_event(capacity=250, confirm_by_email=True)
    url = f"/api/v1/events/{event.id}/registrations"
    staff = {"Authorization": f"Bearer {await token_for('organizer')}"}
    response = await client.post(url, json=body(1, party_size=200), headers=staff)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "confirmed"  # no limit, no e-mail hold
    # The seats a token registers are not counted against the address either.
    more = await client.post(url, json=body(2, party_size=30), headers=staff)
    assert more.json()["status"] == "confirmed"
    backoffice = await service.register(
        event.id,
        person(3, party_size=20),
        settings=settings,
        source=RegistrationSource.BACKOFFICE,
        actor=SYSTEM,
    )
    assert backoffice.registration.status == RegistrationStatus.CONFIRMED
    assert await seats_taken(event) == 250

    # A token without the registrations right is a public channel.
    reviewer = {"Authorization": f"Bearer {await token_for('reviewer')}"}
    other = await published_event(capacity=50, title="Atelier")
    refused = await client.post(
        f"/api/v1/events/{other.id}/registrations", json=body(4, party_size=20), headers=reviewer
    )
    assert refused.json()["error"]["code"] == "group_request_required"


async def test_a_party_cannot_grow_past_the_public_maximum_through_its_manage_link(
    client, settings
):
    event = await published_event(capacity=100)
    response = await client.post(f"/api/v1/events/{event.id}/registrations", json=body(1, 2))
    token = response.json()["manage_token"]
    grown = await client.patch(f"/api/v1/manage/{token}", json={"party_size": 40})
    assert grown.status_code == 422
    assert grown.json()["error"]["code"] == "group_request_required"
    assert "écrivez à l'équipe organisatrice" in grown.json()["error"]["message"]
    assert (await client.patch(f"/api/v1/manage/{token}", json={"party_size": 10})).is_success
    registration = await Registration.get(event_id=event.id)
    assert registration.party_size == 10
    # The organizers may make it larger.
    await service.change_party_size(settings, registration.id, 40, actor=SYSTEM)
    assert await seats_taken(event) == 40


# --------------------------------------------------------------------------- seats per address


async def test_seats_per_address_per_event_are_limited_with_retry_after(client, app):
    event = await published_event(capacity=200)
    url = f"/api/v1/events/{event.id}/registrations"
    for n in range(2):
        response = await client.post(url, json=body(n, party_size=10))
        assert response.status_code == 201, response.text
    refused = await client.post(url, json=body(9))
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    error = refused.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["message"].startswith(
        "Trop de places ont été demandées depuis votre adresse pour cet événement."
    )
    assert await seats_taken(event) == 20

    # The public form from the same address: refused too, the form kept, with Retry-After.
    page = await register_through_form(client, event)
    assert page.status_code == 429
    assert "Retry-After" in page.headers
    assert "Trop de places ont été demandées" in unescape(page.text)
    assert 'value="Chantal"' in page.text

    # Another address, or another event, has its own allowance.
    async with other_client(app, "192.0.2.7") as elsewhere:
        assert (await elsewhere.post(url, json=body(10))).status_code == 201
    second = await published_event(capacity=200, title="Autre événement")
    other = await client.post(f"/api/v1/events/{second.id}/registrations", json=body(11))
    assert other.status_code == 201
    assert await Registration.filter(event_id=event.id).count() == 3


async def test_a_group_request_is_not_counted_as_seats(client):
    event = await published_event(capacity=200)
    url = f"/api/v1/events/{event.id}/registrations"
    group = await client.post(url, json=body(1, party_size=150, group_request=True))
    assert group.json()["status"] == "pending_approval"
    for n in range(2, 4):
        assert (await client.post(url, json=body(n, party_size=10))).status_code == 201


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
async def test_seats_per_address_are_shared_between_processes_through_redis():
    settings = make_settings(redis_url="redis://127.0.0.1:6379/0")
    address = f"198.51.100.{uuid.uuid4().int % 250}-{uuid.uuid4()}"  # a key of its own
    one, two = RateLimiter(settings), RateLimiter(settings)  # as two server processes
    await limits.count_seats(limits.SeatLimit(one, address, 20), 7, 12)
    await limits.count_seats(limits.SeatLimit(two, address, 20), 7, 8)
    with pytest.raises(RateLimited) as error:
        await limits.count_seats(limits.SeatLimit(one, address, 20), 7, 1)
    assert error.value.retry_after >= 1
    await limits.count_seats(limits.SeatLimit(two, address, 20), 8, 1)  # another event


# --------------------------------------------------------------------------- confirmer par courriel


def confirm_link(message: OutboundMessage) -> str:
    match = re.search(r"http://testserver(/confirm/[A-Za-z0-9_.=-]+)", message.text_body)
    assert match, message.text_body
    return match.group(1)


async def test_a_hold_is_confirmed_by_following_the_mailed_link(client, settings):
    event = await published_event(capacity=10, confirm_by_email=True)
    form = await client.get(f"/events/{event.id}/register")
    assert "suivez son lien dans les 30 minutes pour confirmer" in form.text
    response = await client.post(f"/api/v1/events/{event.id}/registrations", json=body(1, 3))
    assert response.status_code == 201, response.text
    out = response.json()
    assert (out["status"], out["ticket"]) == ("pending_email", None)
    hold = datetime.fromisoformat(out["hold_expires_at"])
    assert timedelta(minutes=29) < hold - datetime.now(UTC) <= timedelta(minutes=30)
    assert await seats_taken(event) == 3  # held: counts against the capacity

    registration = await Registration.get(event_id=event.id)
    [mail] = await OutboundMessage.filter(to_address="personne1@exemple.qc.ca")
    assert mail.subject == "Confirmez votre inscription : Colloque régional"
    link = confirm_link(mail)
    assert out["manage_token"] not in link  # the API answer cannot confirm
    assert link == f"/confirm/{manage_links.confirm_token(settings, registration)}"
    assert not mail.attachments  # no ticket yet

    # No ticket while held; the door says it is not confirmed.
    manage = f"/manage/{out['manage_token']}"
    assert (await client.get(f"{manage}/qr.png")).status_code == 404
    page = await client.get(manage)
    assert "Confirmez votre inscription avec le lien" in unescape(page.text)
    door = {"Authorization": f"Bearer {await token_for('checkin')}"}
    scan = await client.post(
        "/api/v1/checkin",
        json={"event_id": event.id, "registration_id": registration.public_id},
        headers=door,
    )
    assert scan.json()["result"] == "unapproved"

    shown = await client.get(link)  # opening the link alone confirms nothing (mail scanners)
    assert shown.status_code == 200
    assert "Confirmer mon inscription" in shown.text
    assert (await Registration.get(id=registration.id)).status == PENDING_EMAIL
    confirmed = await client.post(link, data={"csrf_token": csrf_from(shown.text)})
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == manage
    registration = await Registration.get(id=registration.id)
    assert registration.status == RegistrationStatus.CONFIRMED
    assert registration.confirmed_at is not None and registration.hold_expires_at is None
    assert await seats_taken(event) == 3
    ticket_mail = await OutboundMessage.get(
        to_address="personne1@exemple.qc.ca", subject__contains="confirmée"
    )
    assert registration.ticket_code in ticket_mail.text_body
    assert any(a.get("filename") == "billet.png" for a in ticket_mail.attachments)
    assert (await client.get(f"{manage}/qr.png")).status_code == 200
    # Following the link again leads to the registration.
    again = await client.get(link)
    assert (again.status_code, again.headers["location"]) == (303, manage)


async def test_an_expired_hold_releases_its_places_and_promotes_the_waitlist(client, settings):
    event = await published_event(capacity=2, waitlist=True, confirm_by_email=True)
    url = f"/api/v1/events/{event.id}/registrations"
    held = await client.post(url, json=body(1, 2))
    assert held.json()["status"] == "pending_email"
    waiting = await client.post(url, json=body(2, 2))
    assert waiting.json()["status"] == "waitlisted"  # holds nothing: not held
    assert await seats_taken(event) == 2

    assert await holds.expire_holds(settings) == 0  # not yet
    await Registration.filter(status=PENDING_EMAIL).update(
        hold_expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    results = await maintenance.run_tasks_once()  # the periodic upkeep
    assert results["registrations.expire_email_holds"] == 1
    first = await Registration.get(event_id=event.id, person__email="personne1@exemple.qc.ca")
    second = await Registration.get(event_id=event.id, person__email="personne2@exemple.qc.ca")
    assert (first.status, first.active_key, first.hold_expires_at) == ("cancelled", None, None)
    assert second.status == RegistrationStatus.CONFIRMED  # promoted into the places freed
    assert await seats_taken(event) == 2
    assert (await maintenance.run_tasks_once())["registrations.expire_email_holds"] == 0

    # The link followed too late says so; the same person may register again.
    [mail] = await OutboundMessage.filter(
        to_address="personne1@exemple.qc.ca", subject__startswith="Confirmez"
    )
    late = await client.get(confirm_link(mail))
    assert late.status_code == 409
    assert "n'attend plus de confirmation" in unescape(late.text)


async def test_a_link_followed_after_the_hold_expired_releases_at_once(client, settings):
    event = await published_event(capacity=5, waitlist=True, confirm_by_email=True)
    url = f"/api/v1/events/{event.id}/registrations"
    await client.post(url, json=body(1, 5))
    await client.post(url, json=body(2, 1))
    [mail] = await OutboundMessage.filter(
        to_address="personne1@exemple.qc.ca", subject__startswith="Confirmez"
    )
    link = confirm_link(mail)
    page = await client.get(link)
    await Registration.filter(status=PENDING_EMAIL).update(
        hold_expires_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    late = await client.post(link, data={"csrf_token": csrf_from(page.text)})
    assert late.status_code == 409
    assert "Le délai pour confirmer cette inscription est dépassé" in unescape(late.text)
    first = await Registration.get(event_id=event.id, person__email="personne1@exemple.qc.ca")
    assert first.status == RegistrationStatus.CANCELLED
    second = await Registration.get(event_id=event.id, person__email="personne2@exemple.qc.ca")
    assert second.status == RegistrationStatus.CONFIRMED
    assert await seats_taken(event) == 1
    assert await holds.expire_holds(settings) == 0  # nothing left to release


async def test_a_tampered_confirmation_link_is_a_404(client, settings):
    event = await published_event(capacity=5, confirm_by_email=True)
    response = await client.post(f"/api/v1/events/{event.id}/registrations", json=body(1))
    registration = await Registration.get(event_id=event.id)
    token = manage_links.confirm_token(settings, registration)
    public_id, mac = token.split(".")
    flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
    page = await client.get(f"/confirm/{token}")
    csrf = csrf_from(page.text)
    for wrong in (
        f"{public_id}.{flipped}",
        response.json()["manage_token"],  # the manage token is not a confirmation
        f"{public_id}",
        f"x{public_id[1:]}.{mac}",
    ):
        assert (await client.get(f"/confirm/{wrong}")).status_code == 404
        assert (
            await client.post(f"/confirm/{wrong}", data={"csrf_token": csrf})
        ).status_code == 404
    assert (await Registration.get(id=registration.id)).status == PENDING_EMAIL


async def test_held_registrations_in_counts_lists_roster_and_resend(client, settings):
    event = await published_event(capacity=10, confirm_by_email=True)
    url = f"/api/v1/events/{event.id}/registrations"
    await client.post(url, json=body(1, 2))
    await service.register(
        event.id, person(2), settings=settings, source=RegistrationSource.BACKOFFICE, actor=SYSTEM
    )
    counts = await listing.counts(SYSTEM, event.id)
    assert counts.by_status["pending_email"].heads == 2
    assert counts.active.heads == 3  # held places are taken places
    assert counts.seats_taken == 3
    assert counts.by_clientele[0].confirmed_heads == 1

    staff = {"Authorization": f"Bearer {await token_for('organizer')}"}
    listed = await client.get(f"{url}?status=pending_email", headers=staff)
    assert [item["status"] for item in listed.json()["items"]] == ["pending_email"]

    await login(client, "organizer")
    page = await client.get(f"/admin/events/{event.id}/registrations")
    assert "Courriel à confirmer" in unescape(page.text)
    held = await Registration.get(event_id=event.id, status=PENDING_EMAIL)
    detail = await client.get(f"/admin/registrations/{held.id}")
    assert "places retenues jusqu" in unescape(detail.text)

    # The resend form mails the confirmation link again (not a manage link).
    await OutboundMessage.all().delete()
    await service.resend_manage_link(settings, event.id, "personne1@exemple.qc.ca")
    [again] = await OutboundMessage.all()
    assert again.subject.startswith("Confirmez votre inscription")
    assert manage_links.confirm_url(settings, held) in again.text_body
