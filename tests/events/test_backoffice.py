"""Back-office event pages through the ASGI app: rights, forms, actions (with CSRF)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from core.auth import Principal
from core.models import AuditEntry
from core.settings import local_tz
from events import service
from events.models import Event, EventPartner, EventStatus
from events.schemas import EventIn
from people.models import Organization
from people.reference import seed_plan_items
from tests.conftest import csrf_from, login

SYSTEM = Principal.system("tests")
SCRIPT = "<script>alert(1)</script>"
# A form body (the CSRF token itself travels in the x-csrf-token header set by `login`).
POST = {"confirm": "1"}


def form(**overrides) -> dict:
    values = {
        "title": "Colloque régional 2027",
        "kind": "regional_event",
        "starts_at": "2027-02-16T09:00",
        "ends_at": "2027-02-16T11:30",
        "timezone": "America/Toronto",
        "description": "Ligne 1\nLigne 2",
        "mode": "",
        "venue_name": "Cégep régional de Lanaudière",
        "address": "20, rue Saint-Charles-Borromée Sud, Joliette",
        "territory": "2461",
        "online_url": "",
        "capacity": "",
        "registration_opens_at": "",
        "registration_closes_at": "",
        "parent_id": "",
        "visibility": "public",
        "organizer_organization_id": "",
        "contact_name": "",
        "contact_email": "",
        "contact_phone": "",
        "image_url": "",
        "image_alt": "",
        "expected_participants": "",
        "registration_enabled": "on",
        "clienteles": ["youth", "schools"],
        "partner_rows": "0",
    }
    values.update(overrides)
    return values


async def make(publish: bool = False, **overrides) -> Event:
    values = {
        "title": "Colloque",
        "kind": "regional_event",
        "starts_at": "2027-02-16T09:00",
        "ends_at": "2027-02-16T11:30",
        "venue_name": "Salle",
        "territory": "2461",
    }
    values.update(overrides)
    event = await service.create_event(SYSTEM, EventIn.model_validate(values))
    if publish:
        await service.publish_event(SYSTEM, event.id)
    return event


async def test_anonymous_is_sent_to_login_and_checkin_is_refused(client):
    event = await make()
    for url in ["/admin/events", "/admin/events/new", f"/admin/events/{event.id}/edit"]:
        response = await client.get(url)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    response = await client.post(f"/admin/events/{event.id}/publish", data=POST)
    assert response.status_code == 303 and "/login" in response.headers["location"]
    await login(client, "checkin")
    assert (await client.get("/admin/events")).status_code == 403
    assert (await client.get(f"/admin/events/{event.id}")).status_code == 403
    assert (await client.post(f"/admin/events/{event.id}/publish", data=POST)).status_code == 403
    await event.refresh_from_db()
    assert event.status == EventStatus.DRAFT


async def test_reviewer_sees_but_cannot_change(client):
    event = await make()
    await login(client, "reviewer")
    listing = await client.get("/admin/events")
    assert listing.status_code == 200 and "Colloque" in listing.text
    assert "Créer un événement" not in listing.text
    assert (await client.get(f"/admin/events/{event.id}")).status_code == 200
    assert (await client.get("/admin/events/new")).status_code == 403
    assert (await client.post(f"/admin/events/{event.id}/publish", data=POST)).status_code == 403


async def test_create_with_bad_input_rerenders_with_french_errors_then_saves(client):
    await seed_plan_items()
    partner = await Organization.create(name="Fromagerie du Rang-Double", name_key="fromagerie")
    user = await login(client, "organizer")
    bad = form(title=SCRIPT, ends_at="2027-02-16T08:00", territory="9999")
    response = await client.post("/admin/events/new", data=bad)
    assert response.status_code == 422
    html = response.text
    assert "La fin doit être après le début." in html
    assert "Territoire inconnu : 9999." in html
    assert "rien n&#39;a été enregistré" in html or "rien n'a été enregistré" in html
    # The user's values come back, escaped.
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert SCRIPT not in html
    assert 'value="2027-02-16T08:00"' in html
    assert 'value="youth" checked' in html
    assert await Event.all().count() == 0

    response = await client.post("/admin/events/new", data=form(capacity="beaucoup"))
    assert response.status_code == 422
    assert "Un nombre entier est attendu." in response.text
    response = await client.post(
        "/admin/events/new", data=form(waitlist="on", online_url="ftp://x", contact_email="x@")
    )
    assert response.status_code == 422
    assert "Adresse web invalide" in response.text
    assert "Adresse courriel invalide." in response.text
    assert await Event.all().count() == 0

    good = form(
        title=SCRIPT,
        capacity="80",
        waitlist="on",
        plan_items=["1.1.3", "2.2.1"],
        partner_rows="2",
        partner_org_0=str(partner.id),
        partner_role_0="host",
        partner_org_1="",
        partner_role_1="partner",
        expected_participants="60",
        registration_closes_at="2027-02-15T17:00",
    )
    response = await client.post("/admin/events/new", data=good)
    assert response.status_code == 303, response.text
    event = await Event.get()
    assert response.headers["location"] == f"/admin/events/{event.id}"
    assert event.title == SCRIPT and event.status == EventStatus.DRAFT
    assert event.starts_at == datetime(2027, 2, 16, 14, 0, tzinfo=UTC)
    assert event.capacity == 80 and event.waitlist and event.expected_participants == 60
    assert event.description == "Ligne 1\nLigne 2"
    await event.fetch_related("clienteles", "plan_items", "territory")
    assert sorted(c.code for c in event.clienteles) == ["schools", "youth"]
    assert sorted(p.code for p in event.plan_items) == ["1.1.3", "2.2.1"]
    assert event.territory.code == "2461"
    partners = await EventPartner.filter(event_id=event.id)
    assert [(p.organization_id, p.role) for p in partners] == [(partner.id, "host")]
    entry = await AuditEntry.get(action="event.created")
    assert entry.actor_id == user.id
    detail = await client.get(response.headers["location"])
    assert "L&#39;événement a été créé (brouillon)." in detail.text


async def test_edit_form_shows_local_times_and_rejects_bad_input(client):
    event = await make(capacity=30, clienteles=["family"])
    await login(client, "organizer")
    page = await client.get(f"/admin/events/{event.id}/edit")
    assert page.status_code == 200
    assert 'value="2027-02-16T09:00"' in page.text
    assert 'value="2027-02-16T11:30"' in page.text
    assert 'value="family" checked' in page.text
    assert 'value="30"' in page.text

    response = await client.post(
        f"/admin/events/{event.id}/edit",
        data=form(title="Nouveau titre", ends_at="2027-02-15T09:00", territory="0000"),
    )
    assert response.status_code == 422
    assert "La fin doit être après le début." in response.text
    assert "Territoire inconnu" in response.text
    await event.refresh_from_db()
    assert event.title == "Colloque" and event.capacity == 30

    response = await client.post(
        f"/admin/events/{event.id}/edit",
        data=form(title="Nouveau titre", starts_at="2027-02-17T13:00", ends_at="2027-02-17T15:00"),
    )
    assert response.status_code == 303
    await event.refresh_from_db()
    assert event.title == "Nouveau titre"
    assert event.starts_at == datetime(2027, 2, 17, 18, 0, tzinfo=UTC)
    assert event.capacity is None and event.sequence == 1
    assert await AuditEntry.filter(action="event.dates_changed").count() == 1
    assert await AuditEntry.filter(action="event.capacity_changed").count() == 1


async def test_publish_cancel_with_message(client):
    event = await make()
    await login(client, "organizer")
    response = await client.post(f"/admin/events/{event.id}/publish", data=POST)
    assert response.status_code == 303
    await event.refresh_from_db()
    assert event.status == EventStatus.PUBLISHED
    # Publishing twice: a clear message, not an error page.
    response = await client.post(f"/admin/events/{event.id}/publish", data=POST)
    assert response.status_code == 303
    detail = await client.get(f"/admin/events/{event.id}")
    assert "Seul un brouillon peut être publié." in detail.text

    confirm = await client.get(f"/admin/events/{event.id}/cancel")
    assert confirm.status_code == 200
    assert "Message aux personnes inscrites" in confirm.text
    response = await client.post(
        f"/admin/events/{event.id}/cancel",
        data={"message": "Tempête de neige : l'événement est reporté."},
    )
    assert response.status_code == 303
    await event.refresh_from_db()
    assert event.status == EventStatus.CANCELLED
    assert event.cancel_reason == "Tempête de neige : l'événement est reporté."
    assert await AuditEntry.filter(action="event.cancelled").count() == 1
    public = await client.get(f"/events/{event.id}")
    assert "Cet événement est annulé." in public.text
    assert "Tempête de neige" in public.text
    # A cancelled event can't be edited.
    edit = await client.get(f"/admin/events/{event.id}/edit")
    assert edit.status_code == 303


async def test_publish_refused_without_venue_is_explained(client):
    event = await make(venue_name="")
    await login(client, "organizer")
    response = await client.post(f"/admin/events/{event.id}/publish", data=POST)
    assert response.status_code == 303
    detail = await client.get(f"/admin/events/{event.id}")
    assert "Indiquez le lieu avant de publier." in detail.text
    await event.refresh_from_db()
    assert event.status == EventStatus.DRAFT


async def test_delete_only_drafts_after_confirmation(client):
    draft = await make(title="Brouillon à jeter")
    published = await make(title="Publié", publish=True)
    await login(client, "organizer")
    confirm = await client.get(f"/admin/events/{draft.id}/delete")
    assert confirm.status_code == 200 and "Supprimer définitivement" in confirm.text
    response = await client.post(f"/admin/events/{draft.id}/delete", data=POST)
    assert response.status_code == 303 and response.headers["location"] == "/admin/events"
    assert not await Event.exists(id=draft.id)
    assert await AuditEntry.filter(action="event.deleted").count() == 1

    assert (await client.get(f"/admin/events/{published.id}/delete")).status_code == 303
    response = await client.post(f"/admin/events/{published.id}/delete", data=POST)
    assert response.status_code == 303
    assert await Event.exists(id=published.id)
    detail = await client.get(f"/admin/events/{published.id}")
    assert "Seuls les brouillons peuvent être supprimés" in detail.text


async def test_duplicate_next_year_with_children(client):
    edition = await make(
        title="JPS 2027",
        kind="perseverance_days",
        territory="14",
        starts_at="2027-02-15T00:00",
        ends_at="2027-02-19T23:59",
        publish=True,
    )
    for day in (16, 17):
        await make(
            title=f"Activité du {day}",
            kind="activity",
            parent_id=edition.id,
            starts_at=f"2027-02-{day}T09:00",
            ends_at=f"2027-02-{day}T10:00",
            publish=True,
        )
    await login(client, "organizer")
    page = await client.get(f"/admin/events/{edition.id}/duplicate")
    assert 'value="364"' in page.text and "Copier aussi ses 2 activités" in page.text
    bad = await client.post(f"/admin/events/{edition.id}/duplicate", data={"shift_days": "x"})
    assert bad.status_code == 422 and "Un nombre entier est attendu." in bad.text
    assert await Event.all().count() == 3
    response = await client.post(
        f"/admin/events/{edition.id}/duplicate", data={"shift_days": "364", "with_children": "on"}
    )
    assert response.status_code == 303
    copy = await Event.get(id=int(response.headers["location"].rsplit("/", 1)[1]))
    assert copy.status == EventStatus.DRAFT
    assert copy.starts_at == edition.starts_at + timedelta(days=364)
    assert copy.starts_at.astimezone(local_tz()).weekday() == 0  # still a Monday
    assert await Event.filter(parent_id=copy.id).count() == 2
    response = await client.post(f"/admin/events/{edition.id}/duplicate", data={"shift_days": "7"})
    single = await Event.get(id=int(response.headers["location"].rsplit("/", 1)[1]))
    assert await Event.filter(parent_id=single.id).count() == 0
    assert await AuditEntry.filter(action="event.duplicated").count() == 2


async def test_territorial_launches_from_the_edition_page(client):
    launch = await make(
        title="Lancement du portrait régional 2027",
        kind="annual_launch",
        territory="14",
        starts_at="2027-10-05T09:00",
        ends_at="2027-10-05T12:00",
        publish=True,
    )
    await login(client, "organizer")
    page = await client.get(f"/admin/events/{launch.id}")
    assert "Créer les lancements territoriaux" in page.text
    response = await client.post(f"/admin/events/{launch.id}/territorial-launches", data=POST)
    assert response.status_code == 303
    children = await Event.filter(parent_id=launch.id).select_related("territory")
    assert sorted(c.territory.code for c in children) == [
        "2452",
        "2460",
        "2461",
        "2462",
        "2463",
        "2464",
    ]
    assert all(c.status == EventStatus.DRAFT for c in children)
    # Again: nothing more.
    await client.post(f"/admin/events/{launch.id}/territorial-launches", data=POST)
    assert await Event.filter(parent_id=launch.id).count() == 6
    page = await client.get(f"/admin/events/{launch.id}")
    assert "Lancement du portrait régional 2027 — Joliette" in page.text
    assert "<dt>Brouillons</dt><dd>6</dd>" in page.text
    # A territorial launch is not an edition itself: refused with a message.
    child = children[0]
    response = await client.post(f"/admin/events/{child.id}/territorial-launches", data=POST)
    assert response.status_code == 303
    detail = await client.get(response.headers["location"])
    assert "Seule une édition peut recevoir des lancements territoriaux." in detail.text
    assert await Event.filter(parent_id=child.id).count() == 0


async def test_edition_page_rolls_up_children_and_links_submissions(client):
    edition = await make(
        title="JPS 2027",
        kind="perseverance_days",
        territory="14",
        starts_at="2027-02-15T00:00",
        ends_at="2027-02-19T23:59",
        publish=True,
    )
    a = await make(
        title="Atelier A",
        kind="activity",
        parent_id=edition.id,
        capacity=40,
        expected_participants=35,
        publish=True,
    )
    await make(
        title="Atelier B",
        kind="activity",
        parent_id=edition.id,
        territory="2462",
        capacity=20,
        expected_participants=15,
    )
    await Event.filter(id=a.id).update(seats_taken=12)
    await login(client, "organizer")
    html = (await client.get(f"/admin/events/{edition.id}")).text
    assert "<dt>Activités</dt><dd>2</dd>" in html
    assert "<dt>Publiées</dt><dd>1</dd>" in html
    assert "<dt>Brouillons</dt><dd>1</dd>" in html
    assert "<dt>Capacité totale</dt><dd>60</dd>" in html
    assert "<dt>Places prises</dt><dd>12</dd>" in html
    assert "<dt>Participation attendue</dt><dd>50</dd>" in html
    assert '<th scope="row">Joliette</th><td>1</td>' in html
    assert '<th scope="row">Matawinie</th><td>1</td>' in html
    assert f'href="/admin/events/{edition.id}/submissions"' in html
    assert f'href="/admin/events/new?parent_id={edition.id}"' in html
    new = await client.get(f"/admin/events/new?parent_id={edition.id}")
    assert f'<option value="{edition.id}" selected>' in new.text
    assert 'value="2027-02-15T09:00"' in new.text


async def test_list_filters_and_seat_counts(client):
    edition = await make(
        title="JPS 2027",
        kind="perseverance_days",
        territory="14",
        starts_at="2027-02-15T00:00",
        ends_at="2027-02-19T23:59",
        publish=True,
    )
    child = await make(
        title="Atelier de mentorat", kind="activity", parent_id=edition.id, capacity=80
    )
    await Event.filter(id=child.id).update(seats_taken=12)
    other = await make(title="Formation des bénévoles", kind="training", territory="12")
    await login(client, "organizer")

    async def rows(url: str) -> set[int]:
        html = (await client.get(url)).text
        return {int(i) for i in re.findall(r'<th scope="row"><a href="/admin/events/(\d+)"', html)}

    assert await rows("/admin/events") == {edition.id, child.id, other.id}
    assert await rows("/admin/events?status=draft") == {child.id, other.id}
    assert await rows("/admin/events?status=published") == {edition.id}
    assert await rows("/admin/events?kind=training") == {other.id}
    assert await rows("/admin/events?territory=2461") == {child.id}
    assert await rows("/admin/events?territory=14") == {edition.id, child.id}
    assert await rows("/admin/events?q=mentorat") == {child.id}
    assert await rows(f"/admin/events?parent_id={edition.id}") == {child.id}
    html = (await client.get(f"/admin/events?parent_id={edition.id}")).text
    assert "Atelier de mentorat" in html and "Formation des bénévoles" not in html
    assert "<td>12 / 80</td>" in html


async def test_forms_refuse_a_missing_csrf_token(client):
    event = await make()
    await login(client, "organizer")
    del client.headers["x-csrf-token"]
    response = await client.post(f"/admin/events/{event.id}/publish", data=POST)
    assert response.status_code == 403
    response = await client.post("/admin/events/new", data=form())
    assert response.status_code == 403
    # With the token from the page, it works.
    page = await client.get(f"/admin/events/{event.id}")
    token = csrf_from(page.text)
    response = await client.post(f"/admin/events/{event.id}/publish", data={"csrf_token": token})
    assert response.status_code == 303
    await event.refresh_from_db()
    assert event.status == EventStatus.PUBLISHED
    assert await Event.all().count() == 1


async def test_form_inputs_keep_their_html_attributes(client):
    """The field macro's extra attributes reach the browser unescaped (a bug: they came
    out as maxlength=&#34;200&#34; and the browser ignored them)."""
    await login(client, "organizer")
    html = (await client.get("/admin/events/new")).text
    title = re.search(r'<input id="f-title"[^>]*>', html)
    assert title and 'maxlength="200"' in title.group(0)
    capacity = re.search(r'<input id="f-capacity"[^>]*>', html)
    assert capacity and 'min="1"' in capacity.group(0) and "&#34;" not in capacity.group(0)
