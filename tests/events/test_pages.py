"""Public event pages through the ASGI app: list filters, event page, editions, JPS calendar."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from core.auth import Principal
from core.settings import local_tz
from events import editions, service
from events.models import Event, EventKind, EventStatus, Visibility
from events.schemas import EventIn
from people.models import Clientele, Organization, Territory
from people.reference import seed_plan_items
from tests.conftest import login

SYSTEM = Principal.system("tests")
SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def event_in(**overrides) -> EventIn:
    values = {
        "title": "Colloque régional",
        "kind": "regional_event",
        "starts_at": "2027-02-16T09:00",
        "ends_at": "2027-02-16T11:30",
        "venue_name": "Cégep régional de Lanaudière",
        "address": "20, rue Saint-Charles-Borromée Sud, Joliette",
        "territory": "2461",
        "clienteles": ["youth", "schools"],
    }
    values.update(overrides)
    return EventIn.model_validate(values)


async def make(publish: bool = True, **overrides) -> Event:
    event = await service.create_event(SYSTEM, event_in(**overrides))
    if publish:
        await service.publish_event(SYSTEM, event.id)
    return event


def listed(html: str) -> set[int]:
    """Ids of the events listed on a page (one heading link per result)."""
    return {int(i) for i in re.findall(r'class="event-title"><a href="/events/(\d+)"', html)}


async def ids(client, url: str) -> set[int]:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    return listed(response.text)


async def test_public_list_filters_show_exactly_the_matching_events(client):
    colloque = await make(title="Colloque sur la réussite", territory="2461")
    parents = await make(
        title="Formation des parents",
        kind="training",
        territory="2462",
        clienteles=["family"],
        starts_at="2027-03-10T18:30",
        ends_at="2027-03-10T20:30",
        description="Atelier d'éveil à la lecture pour les familles",
    )
    elsewhere = await make(
        title="Comité régional Chaudière-Appalaches",
        kind="meeting",
        territory="12",
        clienteles=["society"],
        starts_at="2027-04-01T13:00",
        ends_at="2027-04-01T15:00",
    )
    employers = await make(
        title="Déjeuner des employeurs",
        kind="regional_event",
        territory="2464",
        clienteles=["society", "youth"],
        starts_at="2027-05-05T07:30",
        ends_at="2027-05-05T09:00",
    )
    past = await make(
        title="Colloque 2020", starts_at="2020-02-18T09:00", ends_at="2020-02-18T12:00"
    )
    await make(publish=False, title="Brouillon caché")
    await make(title="Rencontre privée", visibility="private")
    await make(title="Rencontre non répertoriée", visibility="unlisted")

    upcoming = {colloque.id, parents.id, elsewhere.id, employers.id}
    assert await ids(client, "/events") == upcoming
    assert await ids(client, "/events?kind=training") == {parents.id}
    assert await ids(client, "/events?kind=regional_event") == {colloque.id, employers.id}
    assert await ids(client, "/events?territory=14") == {colloque.id, parents.id, employers.id}
    assert await ids(client, "/events?territory=2461") == {colloque.id}
    assert await ids(client, "/events?territory=12") == {elsewhere.id}
    assert await ids(client, "/events?clientele=family") == {parents.id}
    assert await ids(client, "/events?clientele=society") == {elsewhere.id, employers.id}
    assert await ids(client, "/events?from=2027-03-01&to=2027-04-30") == {
        parents.id,
        elsewhere.id,
    }
    assert await ids(client, "/events?to=2027-02-16") == {colloque.id, past.id}
    assert await ids(client, "/events?q=lecture") == {parents.id}
    assert await ids(client, "/events?q=colloque&from=2019-01-01") == {colloque.id, past.id}
    assert await ids(client, "/events?territory=14&clientele=youth") == {
        colloque.id,
        employers.id,
    }
    assert await ids(client, "/events?territory=2463") == set()
    # A bad filter value is reported, not a 500.
    response = await client.get("/events?kind=aliens&from=hier")
    assert response.status_code == 200
    assert "Type d&#39;événement inconnu." in response.text
    assert "Date invalide" in response.text


async def test_list_item_shows_date_place_kind_territory_and_clienteles(client):
    event = await make(title="Colloque régional sur la persévérance")
    html = (await client.get("/events")).text
    assert listed(html) == {event.id}
    assert "mardi 16 février 2027, 9 h à 11 h 30" in html
    assert "Cégep régional de Lanaudière, 20, rue Saint-Charles-Borromée Sud, Joliette" in html
    assert "Événement régional" in html
    assert "<dd>Joliette</dd>" in html
    assert "Jeunes et adultes concernés · Institutions scolaires" in html
    assert 'href="/calendar.ics"' in html


async def test_drafts_and_private_hidden_unlisted_by_url_only(client):
    draft = await make(publish=False, title="Brouillon")
    private = await make(title="Comité privé", visibility="private")
    unlisted = await make(title="Lien seulement", visibility="unlisted")
    assert (await client.get(f"/events/{draft.id}")).status_code == 404
    assert (await client.get(f"/events/{private.id}")).status_code == 404
    assert (await client.get("/events/999999")).status_code == 404
    page = await client.get(f"/events/{unlisted.id}")
    assert page.status_code == 200 and "Lien seulement" in page.text
    assert await ids(client, "/events") == set()
    assert await ids(client, "/events?q=Lien") == set()
    # Staff see the draft, marked as such.
    await login(client, "organizer")
    staff_view = await client.get(f"/events/{draft.id}")
    assert staff_view.status_code == 200
    assert "Brouillon</strong>" in staff_view.text


async def test_event_page_practical_information(client):
    await seed_plan_items()
    fiduciary = await Organization.create(name="CISSS de Lanaudière", name_key="cisss")
    host = await Organization.create(name="Cégep régional", name_key="cegep")
    event = await make(
        title="Colloque hybride",
        online_url="https://visio.exemple.qc.ca/salle-secrete-123",
        mode="hybrid",
        capacity=80,
        waitlist=True,
        description="Première ligne <b>gras</b>\nDeuxième ligne",
        organizer_organization_id=fiduciary.id,
        partners=[
            {"organization_id": fiduciary.id, "role": "fiduciary"},
            {"organization_id": host.id, "role": "host"},
        ],
        contact_name="Émilie Tremblay",
        contact_email="emilie@exemple.qc.ca",
        contact_phone="450 555-0101",
        plan_items=["1.1.3"],
        image_url="https://exemple.qc.ca/affiche.png",
        image_alt="Affiche du colloque",
        registration_closes_at="2027-02-15T17:00",
    )
    await Event.filter(id=event.id).update(seats_taken=12)
    html = (await client.get(f"/events/{event.id}")).text
    assert "mardi 16 février 2027" in html
    assert "9 h" in html and "11 h 30" in html
    assert "salle-secrete-123" not in html
    assert "Le lien de participation en ligne est transmis aux personnes inscrites." in html
    assert "Hybride (en personne et en ligne)" in html
    assert "68 places restantes sur 80" in html
    assert "Date limite : lundi 15 février 2027, 17 h." in html
    assert "CISSS de Lanaudière" in html and "(Fiduciaire)" in html and "(Hôte)" in html
    assert "emilie@exemple.qc.ca" in html and "450 555-0101" in html
    assert "1.1.3 — Préparer la semaine des Journées de la persévérance scolaire" in html
    assert '<img class="event-image" src="https://exemple.qc.ca/affiche.png"' in html
    assert 'alt="Affiche du colloque"' in html
    assert f'href="/events/{event.id}.ics"' in html and "Ajouter à mon agenda" in html
    # Plain text, escaped, line breaks kept by CSS (white-space: pre-line).
    assert "Première ligne &lt;b&gt;gras&lt;/b&gt;\nDeuxième ligne" in html
    assert "<b>gras</b>" not in html
    assert "Cégep régional de Lanaudière<br>20, rue Saint-Charles-Borromée Sud" in html

    await Event.filter(id=event.id).update(seats_taken=80)
    full = (await client.get(f"/events/{event.id}")).text
    assert "Complet — inscription possible sur la liste d'attente" in full


async def test_multi_day_and_cancelled_event(client):
    event = await make(
        title="Salon des métiers",
        starts_at="2027-03-03T09:00",
        ends_at="2027-03-04T16:00",
    )
    html = (await client.get(f"/events/{event.id}")).text
    assert "Du mercredi 3 mars 2027, 9 h au jeudi 4 mars 2027, 16 h" in html
    await service.cancel_event(SYSTEM, event.id, "Tempête de neige.\nReporté au printemps.")
    cancelled = (await client.get(f"/events/{event.id}")).text
    assert "Cet événement est annulé." in cancelled
    assert "Tempête de neige.\nReporté au printemps." in cancelled
    listing = (await client.get("/events")).text
    assert event.id in listed(listing) and "Annulé" in listing


async def test_edition_page_lists_children_by_date_with_mrc_filter(client):
    launch = await make(
        title="Lancement du portrait régional 2027",
        kind="annual_launch",
        territory="14",
        starts_at="2027-10-05T09:00",
        ends_at="2027-10-05T12:00",
    )
    children = await editions.create_territorial_children(SYSTEM, launch.id)
    assert len(children) == 6
    by_code = {}
    for day, child in enumerate(children):
        await child.fetch_related("territory")
        child.venue_name = f"Salle {child.territory.name}"
        child.starts_at = datetime(2027, 10, 6 + day, 13, 0, tzinfo=UTC)
        child.ends_at = child.starts_at + timedelta(hours=2)
        await child.save()
        by_code[child.territory.code] = child
    for code in ("2461", "2462", "2464"):
        await service.publish_event(SYSTEM, by_code[code].id)

    html = (await client.get(f"/events/{launch.id}")).text
    assert listed(html) == {by_code[c].id for c in ("2461", "2462", "2464")}
    shown = sorted(
        ("2461", "2462", "2464"), key=lambda c: html.index(f'href="/events/{by_code[c].id}"')
    )
    assert shown == sorted(shown, key=lambda c: by_code[c].starts_at)  # by date
    assert '<option value="2461"' in html
    only = await ids(client, f"/events/{launch.id}?territory=2461")
    assert only == {by_code["2461"].id}
    child_page = (await client.get(f"/events/{by_code['2461'].id}")).text
    assert f'href="/events/{launch.id}"' in child_page


async def jps_week() -> tuple[Event, dict[str, Event]]:
    edition = await make(
        title="Journées de la persévérance scolaire 2027",
        kind="perseverance_days",
        territory="14",
        starts_at="2027-02-15T00:00",
        ends_at="2027-02-19T23:59",
        venue_name="Lanaudière",
    )

    async def activity(key, territory, clienteles, day, publish=True, **extra):
        return key, await make(
            publish=publish,
            title=f"Activité {key}",
            kind="activity",
            parent_id=edition.id,
            territory=territory,
            clienteles=clienteles,
            starts_at=f"2027-02-{day}T10:00",
            ends_at=f"2027-02-{day}T11:00",
            **extra,
        )

    rows = [
        await activity("a1", "2461", ["youth"], 16),
        await activity("a2", "2461", ["family"], 17),
        await activity("a3", "2462", ["youth"], 16),
        await activity("a4", "2463", ["youth", "family"], 18),
        await activity("a5", "2464", ["society"], 19),
        await activity("draft", "2461", ["youth"], 16, publish=False),
        await activity("unlisted", "2461", ["youth"], 16, visibility="unlisted"),
    ]
    return edition, dict(rows)


async def test_jps_calendar_filters_show_exactly_the_matching_activities(client):
    edition, acts = await jps_week()
    # An activity of another edition never shows.
    other = await make(
        title="JPS 2026",
        kind="perseverance_days",
        territory="14",
        starts_at="2026-02-16T00:00",
        ends_at="2026-02-20T23:59",
    )
    await make(
        title="Vieille activité",
        kind="activity",
        parent_id=other.id,
        territory="2461",
        starts_at="2026-02-17T10:00",
        ends_at="2026-02-17T11:00",
    )

    def expect(*keys):
        return {acts[k].id for k in keys}

    html = (await client.get("/jps")).text
    assert "Journées de la persévérance scolaire 2027" in html
    assert 'href="/jps/proposer"' in html
    assert listed(html) == expect("a1", "a2", "a3", "a4", "a5")
    assert '<option value="2027-02-15">lundi 15 février 2027</option>' in html
    assert '<option value="2027-02-19">vendredi 19 février 2027</option>' in html
    for code in ("2452", "2460", "2461", "2462", "2463", "2464"):
        assert f'<option value="{code}"' in html
    assert await ids(client, "/jps?territory=2461") == expect("a1", "a2")
    assert await ids(client, "/jps?clientele=youth") == expect("a1", "a3", "a4")
    assert await ids(client, "/jps?clientele=family") == expect("a2", "a4")
    assert await ids(client, "/jps?territory=2461&clientele=youth") == expect("a1")
    assert await ids(client, "/jps?day=2027-02-16") == expect("a1", "a3")
    assert await ids(client, "/jps?day=2027-02-16&clientele=youth&territory=2462") == expect("a3")
    assert await ids(client, "/jps?day=2027-02-18&clientele=family") == expect("a4")
    assert await ids(client, "/jps?territory=2452") == set()
    assert await ids(client, "/jps?territory=14") == expect("a1", "a2", "a3", "a4", "a5")
    outside = await client.get("/jps?day=2027-03-01")
    assert outside.status_code == 200 and "Choisissez un jour de l&#39;édition." in outside.text
    # Grouped by day, days in order.
    assert html.index("mardi 16 février 2027</h2>") < html.index("mercredi 17 février 2027</h2>")
    assert edition.id not in listed(html)


async def test_jps_without_edition(client):
    response = await client.get("/jps")
    assert response.status_code == 200
    assert "pas encore publié" in response.text


async def test_every_public_page_under_100_kb_with_200_events(client):
    edition = await make(
        title="JPS 2027 " + "x" * 180,
        kind="perseverance_days",
        territory="14",
        starts_at="2027-02-15T00:00",
        ends_at="2027-02-19T23:59",
        description="Description " * 1500,
    )
    territories = await Territory.filter(parent__code="14")
    clienteles = await Clientele.all()
    long = "Activité de mobilisation pour la persévérance scolaire " * 4
    first = None
    for n in range(199):
        event = await Event.create(
            uid=f"bulk-{n}@tests",
            parent=edition if n % 2 == 0 else None,
            kind=EventKind.ACTIVITY if n % 2 == 0 else EventKind.REGIONAL_EVENT,
            title=(f"{n} " + long)[:200],
            description="Texte " * 500,
            starts_at=datetime(2027, 2, 15 + (n % 5), 14, 0, tzinfo=UTC),
            ends_at=datetime(2027, 2, 15 + (n % 5), 16, 0, tzinfo=UTC),
            venue_name=("Centre communautaire " * 10)[:200],
            address=("1234, boulevard de la Persévérance, " * 8)[:300],
            territory=territories[n % len(territories)],
            status=EventStatus.PUBLISHED,
            visibility=Visibility.PUBLIC,
        )
        await event.clienteles.add(*clienteles)
        first = first or event
    assert await Event.all().count() == 200
    urls = [
        "/events",
        "/events?page=2",
        "/events?page=10",
        f"/events/{edition.id}",
        f"/events/{edition.id}?page=2",
        f"/events/{first.id}",
        "/jps",
        "/jps?page=2",
        "/jps?day=2027-02-16",
        "/events?territory=14&clientele=youth",
    ]
    for url in urls:
        response = await client.get(url)
        assert response.status_code == 200, url
        assert len(response.content) < 100_000, (url, len(response.content))
    # Pagination actually reaches every event.
    seen: set[int] = set()
    page = 1
    while True:
        html = (await client.get(f"/events?page={page}")).text
        found = listed(html)
        if not found:
            break
        seen |= found
        page += 1
    assert len(seen) == 200


async def test_script_title_is_escaped_on_every_page(client):
    edition = await make(
        title=SCRIPT,
        kind="perseverance_days",
        territory="14",
        starts_at="2027-02-15T00:00",
        ends_at="2027-02-19T23:59",
        description=SCRIPT,
        venue_name=SCRIPT,
    )
    child = await make(
        title=SCRIPT,
        kind="activity",
        parent_id=edition.id,
        territory="2461",
        description=SCRIPT,
        address=SCRIPT,
        contact_name=SCRIPT,
    )
    public = ["/events", f"/events/{edition.id}", f"/events/{child.id}", "/jps", "/events?q=script"]
    await login(client, "organizer")
    admin = [
        "/admin/events",
        f"/admin/events/{edition.id}",
        f"/admin/events/{child.id}",
        f"/admin/events/{child.id}/edit",
        f"/admin/events/{child.id}/cancel",
        f"/admin/events/{child.id}/duplicate",
        f"/admin/events/new?parent_id={edition.id}",
    ]
    for url in public + admin:
        response = await client.get(url)
        assert response.status_code == 200, url
        assert SCRIPT not in response.text, url
        assert ESCAPED in response.text, url


async def test_demo_events_load_once_and_fill_the_pages(client):
    from events.demo import load_demo_events
    from people.demo import load_demo_people

    await seed_plan_items()
    await load_demo_people()
    summary = await load_demo_events()
    assert "ajoutés" in summary
    total = await Event.all().count()
    assert "déjà" in await load_demo_events()
    assert await Event.all().count() == total

    jps = await Event.get(kind="perseverance_days")
    assert jps.status == EventStatus.PUBLISHED
    local = jps.starts_at.astimezone(local_tz()), jps.ends_at.astimezone(local_tz())
    assert (local[0].date().isoformat(), local[1].date().isoformat()) == (
        "2027-02-15",
        "2027-02-19",
    )
    activities = await Event.filter(parent_id=jps.id, status=EventStatus.PUBLISHED).select_related(
        "territory"
    )
    assert len(activities) >= 14
    assert {a.territory.code for a in activities} == {
        "2452",
        "2460",
        "2461",
        "2462",
        "2463",
        "2464",
    }
    assert len({a.starts_at.astimezone(local_tz()).date() for a in activities}) == 5
    launch = await Event.get(kind="annual_launch", parent_id=None)
    assert launch.title == "Lancement du portrait régional 2027"
    launches = await Event.filter(parent_id=launch.id, status=EventStatus.PUBLISHED)
    assert len(launches) == 6 and all(c.venue_name for c in launches)
    others = await Event.filter(kind__in=["regional_event", "training", "meeting"])
    assert sorted(e.kind for e in others) == ["meeting", "regional_event", "training"]
    assert any(e.capacity and e.waitlist for e in others)

    html = (await client.get("/jps")).text
    assert len(listed(html)) == len(activities)
    assert len(listed((await client.get("/jps?territory=2461")).text)) == sum(
        1 for a in activities if a.territory.code == "2461"
    )
    assert (await client.get(f"/events/{launch.id}")).status_code == 200
