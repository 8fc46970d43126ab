"""The participant's pages through the ASGI app: form, manage page, edit, cancel, resend."""

from __future__ import annotations

import re
from html import unescape

from core.models import OutboundMessage
from events.models import Event
from registrations import manage_links, service
from registrations.models import Question, Registration, RegistrationStatus
from tests.conftest import csrf_from
from tests.registrations.helpers import person, published_event

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def form_data(html: str, **overrides) -> dict:
    data = {
        "csrf_token": csrf_from(html),
        "first_name": "Chantal",
        "last_name": "Beaulieu",
        "email": "chantal.beaulieu@exemple.qc.ca",
        "clientele": "schools",
        "organization": "École secondaire Thérèse-Martin",
        "territory": "2462",
        "language": "fr",
        "party_size": "1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


async def questions_for(event: Event) -> dict[str, Question]:
    made = {
        "allergies": await Question.create(
            event=event, kind="short_text", label="Allergies alimentaires", position=1
        ),
        "atelier": await Question.create(
            event=event,
            kind="single_choice",
            label="Atelier choisi",
            required=True,
            choices=["Matin", "Après-midi"],
            position=2,
        ),
        "themes": await Question.create(
            event=event,
            kind="multiple_choice",
            label="Thèmes d'intérêt",
            choices=["Lecture", "Numératie", "Conciliation études-travail"],
            position=3,
        ),
        "diner": await Question.create(
            event=event, kind="yes_no", label="Restez-vous pour le dîner?", position=4
        ),
        "eleves": await Question.create(
            event=event, kind="number", label="Nombre d'élèves", position=5
        ),
        "commentaire": await Question.create(
            event=event, kind="long_text", label="Commentaires", position=6
        ),
    }
    return made


async def register_through_form(client, event: Event, **overrides):
    page = await client.get(f"/events/{event.id}/register")
    assert page.status_code == 200, page.text
    return await client.post(f"/events/{event.id}/register", data=form_data(page.text, **overrides))


async def test_form_shows_questions_clienteles_and_unchecked_consents(client):
    event = await published_event(clienteles=["youth", "schools"], capacity=30)
    q = await questions_for(event)
    page = await client.get(f"/events/{event.id}/register")
    assert page.status_code == 200
    html = page.text
    assert "Colloque régional" in html
    # Only the event's clienteles, as radio buttons.
    assert 'type="radio" id="f-clientele-youth"' in html
    assert 'id="f-clientele-schools"' in html
    assert 'id="f-clientele-family"' not in html
    assert 'id="f-clientele-society"' not in html
    # Questions in order, with their controls and required markers.
    labels = [q[k].label for k in ("allergies", "atelier", "themes", "diner", "eleves")]
    positions = [html.index(label.replace("'", "&#39;")) for label in labels]
    assert positions == sorted(positions)
    assert f'type="radio" id="f-q-{q["atelier"].id}-0" name="q-{q["atelier"].id}"' in html
    assert f'type="checkbox" id="f-q-{q["themes"].id}-2"' in html
    assert f'<textarea id="f-q-{q["commentaire"].id}"' in html
    assert f'id="f-q-{q["diner"].id}-0" name="q-{q["diner"].id}" value="oui"' in html
    atelier = html[html.index("Atelier choisi") : html.index("Atelier choisi") + 200]
    assert 'class="req"' in atelier
    # Consents: the ledger's wording, nothing pre-checked.
    for purpose in ("event_communications", "newsletter", "photos"):
        tag = re.search(rf'<input type="checkbox" id="f-consent-{purpose}"[^>]*>', html)
        assert tag and "checked" not in tag.group(0)
    assert "J&#39;accepte de recevoir l&#39;infolettre" in html
    # Youth: under-14 and guardian consent, unchecked.
    assert 'id="f-under_14"' in html and 'id="f-guardian_consent"' in html
    assert not re.search(r'id="f-(under_14|guardian_consent)"[^>]*checked', html)
    assert "Vous inscrivez un groupe? (ex. une classe)" in html
    # MRC select grouped by region.
    assert "<optgroup" in html and 'value="2462"' in html


async def test_form_without_event_clienteles_lists_all_active(client):
    event = await published_event()
    html = (await client.get(f"/events/{event.id}/register")).text
    for code in ("youth", "family", "schools", "society"):
        assert f'id="f-clientele-{code}"' in html


async def test_register_then_manage_page_shows_ticket(client, settings):
    event = await published_event(capacity=10, online_url="https://rencontre.exemple.ca/salle")
    q = await questions_for(event)
    response = await register_through_form(
        client,
        event,
        **{
            f"q-{q['atelier'].id}": "Matin",
            f"q-{q['themes'].id}": ["Lecture", "Numératie"],
            f"q-{q['diner'].id}": "oui",
            f"q-{q['eleves'].id}": "24",
            "consents": ["newsletter"],
        },
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/manage/")
    registration = await Registration.get(event_id=event.id)
    assert registration.status == RegistrationStatus.CONFIRMED
    assert registration.answers == {
        str(q["atelier"].id): "Matin",
        str(q["themes"].id): ["Lecture", "Numératie"],
        str(q["diner"].id): True,
        str(q["eleves"].id): 24,
    }
    assert location == f"/manage/{manage_links.manage_token(settings, registration)}"
    page = await client.get(location)
    assert page.status_code == 200
    html = page.text
    assert registration.ticket_code in html
    assert f'<img class="reg-qr" src="{location}/qr.png"' in html
    assert re.search(r'<img class="reg-qr"[^>]*alt="Code QR du billet de Chantal Beaulieu', html)
    assert "Votre inscription est confirmée" in html
    assert "samedi 16 février 2030, 9 h à 11 h 30" in html
    assert "Cégep régional de Lanaudière" in html
    assert f'href="{location}/event.ics"' in html and "Ajouter à mon agenda" in html
    assert f'href="{location}/edit"' in html and f'href="{location}/cancel"' in html
    assert "Lecture, Numératie" in html
    ics = await client.get(f"{location}/event.ics")
    assert ics.status_code == 200
    assert ics.headers["content-type"].startswith("text/calendar")
    assert b"BEGIN:VEVENT" in ics.content
    qr = await client.get(f"{location}/qr.png")
    assert qr.status_code == 200 and qr.headers["content-type"] == "image/png"
    assert "private" in qr.headers["cache-control"]


async def test_online_link_only_for_confirmed(client, settings):
    event = await published_event(
        capacity=1,
        waitlist=True,
        mode="hybrid",
        online_url="https://rencontre.exemple.ca/salle-secrete",
    )
    first = (await service.register(event.id, person(1), settings=settings)).registration
    second = (await service.register(event.id, person(2), settings=settings)).registration
    confirmed = await client.get(f"/manage/{manage_links.manage_token(settings, first)}")
    waiting = await client.get(f"/manage/{manage_links.manage_token(settings, second)}")
    assert "https://rencontre.exemple.ca/salle-secrete" in confirmed.text
    assert "https://rencontre.exemple.ca/salle-secrete" not in waiting.text
    assert "en position 1" in waiting.text
    assert second.ticket_code not in waiting.text
    ics = await client.get(f"/manage/{manage_links.manage_token(settings, second)}/event.ics")
    assert b"salle-secrete" not in ics.content.replace(b"\r\n ", b"")
    ics = await client.get(f"/manage/{manage_links.manage_token(settings, first)}/event.ics")
    assert b"salle-secrete" in ics.content.replace(b"\r\n ", b"")  # unfolded
    png = await client.get(f"/manage/{manage_links.manage_token(settings, second)}/qr.png")
    assert png.status_code == 404


async def test_errors_rerender_with_values_kept(client):
    event = await published_event(clienteles=["schools", "society"])
    q = await questions_for(event)
    response = await register_through_form(
        client,
        event,
        first_name=SCRIPT,
        last_name="",
        email="pas-une-adresse",
        clientele="youth",
        party_size="0",
        **{f"q-{q['eleves'].id}": "beaucoup", f"q-{q['allergies'].id}": "Arachides"},
    )
    assert response.status_code == 422
    html = response.text
    assert 'id="erreurs"' in html and "autofocus" in html
    assert "Ce champ est obligatoire." in html  # last name, required question
    assert "Adresse courriel invalide." in html
    assert "La valeur doit être d&#39;au moins 1." in html
    assert "Un nombre est attendu." in html
    assert "Cette question est obligatoire." in html
    # Values kept (and escaped), errors tied to their fields.
    assert f'value="{ESCAPED}"' in html.replace("&#34;", '"')
    assert SCRIPT not in html
    assert 'value="pas-une-adresse"' in html
    assert 'value="Arachides"' in html
    assert 'aria-describedby="e-email"' in html
    assert 'href="#f-email"' in html
    assert f'href="#f-q-{q["atelier"].id}-0"' in html
    assert await Registration.all().count() == 0


async def test_clientele_not_targeted_is_refused(client):
    event = await published_event(clienteles=["schools"])
    response = await register_through_form(client, event, clientele="family")
    assert response.status_code == 422
    assert "Choisissez une des clientèles visées par cet événement." in response.text
    assert await Registration.all().count() == 0


async def test_under_14_youth_needs_guardian_consent(client):
    event = await published_event(clienteles=["youth"])
    refused = await register_through_form(client, event, clientele="youth", under_14="1")
    assert refused.status_code == 422
    assert "le consentement d&#39;un parent ou tuteur est requis" in refused.text
    assert await Registration.all().count() == 0
    accepted = await register_through_form(
        client, event, clientele="youth", under_14="1", guardian_consent="1"
    )
    assert accepted.status_code == 303
    registration = await Registration.get(event_id=event.id)
    assert registration.under_14 and registration.guardian_consent


async def test_form_post_without_csrf_is_refused(client):
    event = await published_event()
    page = await client.get(f"/events/{event.id}/register")
    data = form_data(page.text)
    data["csrf_token"] = "faux"
    response = await client.post(f"/events/{event.id}/register", data=data)
    assert response.status_code == 403
    assert await Registration.all().count() == 0


async def test_closed_full_and_already_registered_messages(client, settings):
    from datetime import UTC, datetime, timedelta

    closed = await published_event()
    await Event.filter(id=closed.id).update(
        registration_closes_at=datetime.now(UTC) - timedelta(hours=1)
    )
    page = await client.get(f"/events/{closed.id}/register")
    assert "Les inscriptions à cet événement sont fermées." in page.text
    assert 'name="first_name"' not in page.text

    full = await published_event(capacity=1)
    await service.register(full.id, person(1), settings=settings)
    page = await client.get(f"/events/{full.id}/register")
    assert "Cet événement est complet." in page.text
    assert 'name="first_name"' not in page.text

    small = await published_event(capacity=3)
    response = await register_through_form(client, small, party_size="5")
    assert response.status_code == 422
    assert "Votre groupe de 5 personnes dépasse la capacité de l&#39;événement (3 places)." in (
        response.text
    )
    await service.register(small.id, person(1), settings=settings)
    response = await register_through_form(client, small, party_size="3")
    assert response.status_code == 409
    assert "Cet événement est complet." not in response.text
    assert "Il reste 2 places; votre groupe compte 3 personnes." in response.text


async def test_public_form_duplicate_gets_a_neutral_page_and_the_manage_link(client, settings):
    """Issue 13: the public form does not say "already registered" (it would tell anyone
    who attends what): a neutral "check your e-mail" page, and the registrant is mailed
    their manage link. A new registration still gets its ticket page (303 to it)."""
    event = await published_event()
    first = await register_through_form(client, event)
    assert first.status_code == 303 and first.headers["location"].startswith("/manage/")
    registration = await Registration.get(event_id=event.id)
    await OutboundMessage.all().delete()
    again = await register_through_form(
        client, event, email="CHANTAL.Beaulieu@Exemple.qc.ca", first_name="Chantal"
    )
    assert again.status_code == 200
    assert "Vérifiez vos courriels" in again.text
    for telling in ("déjà inscrit", "already_registered", "Inscription confirmée", "/manage/"):
        assert telling not in again.text
    assert registration.ticket_code not in again.text
    [sent] = await OutboundMessage.all()
    assert sent.to_address == "chantal.beaulieu@exemple.qc.ca"
    assert manage_links.manage_url(settings, registration) in sent.text_body
    assert await Registration.filter(event_id=event.id).count() == 1
    # Submitted again at once: the same page, no second message (the link's dedupe key).
    third = await register_through_form(client, event, email="chantal.beaulieu@exemple.qc.ca")
    assert third.status_code == 200 and "Vérifiez vos courriels" in third.text
    assert await OutboundMessage.all().count() == 1


async def test_staff_session_duplicate_on_the_form_keeps_the_conflict(client, settings):
    """A signed-in staff member (an authenticated channel) is told plainly."""
    from core.models import Role
    from tests.conftest import login

    event = await published_event()
    await service.register(
        event.id, person(1, email="chantal.beaulieu@exemple.qc.ca"), settings=settings
    )
    await login(client, Role.ORGANIZER)
    again = await register_through_form(client, event, email="CHANTAL.Beaulieu@Exemple.qc.ca")
    assert again.status_code == 409
    assert "Vous êtes déjà inscrit·e à cet événement." in again.text
    assert f'action="/events/{event.id}/resend"' in again.text
    assert await Registration.filter(event_id=event.id).count() == 1


async def test_waitlisted_and_pending_pages(client, settings):
    event = await published_event(capacity=1, waitlist=True)
    await service.register(event.id, person(1), settings=settings)
    response = await register_through_form(client, event)
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert "liste d'attente, en position 1" in unescape(page.text)
    assert 'class="reg-qr"' not in page.text

    approval = await published_event(requires_approval=True)
    response = await register_through_form(client, approval)
    page = await client.get(response.headers["location"])
    assert "En attente d'approbation" in unescape(page.text)
    assert "confirme chaque inscription" in page.text


async def test_cancel_with_confirmation_promotes_waitlist(client, settings):
    event = await published_event(capacity=1, waitlist=True)
    response = await register_through_form(client, event)
    manage = response.headers["location"]
    waiting = (await service.register(event.id, person(2), settings=settings)).registration
    confirm = await client.get(f"{manage}/cancel")
    assert confirm.status_code == 200
    assert "Êtes-vous certain·e?" in confirm.text
    # Nothing happens on the confirmation page itself.
    mine = await Registration.get(person__email_key="chantal.beaulieu@exemple.qc.ca")
    assert mine.status == RegistrationStatus.CONFIRMED
    done = await client.post(f"{manage}/cancel", data={"csrf_token": csrf_from(confirm.text)})
    assert done.status_code == 303 and done.headers["location"] == manage
    assert (await Registration.get(id=mine.id)).status == RegistrationStatus.CANCELLED
    assert (await Registration.get(id=waiting.id)).status == RegistrationStatus.CONFIRMED
    page = await client.get(manage)
    assert "Cette inscription est annulée." in page.text
    assert f'href="{manage}/cancel"' not in page.text
    again = await client.get(f"{manage}/cancel")
    assert again.status_code == 303


async def test_edit_party_size_beyond_capacity_and_answers(client, settings):
    event = await published_event(capacity=5)
    q = await questions_for(event)
    others = person(1, party_size=2, answers={str(q["atelier"].id): "Matin"})
    await service.register(event.id, others, settings=settings)
    response = await register_through_form(client, event, **{f"q-{q['atelier'].id}": "Matin"})
    manage = response.headers["location"]
    form = await client.get(f"{manage}/edit")
    assert form.status_code == 200
    assert f'id="f-q-{q["atelier"].id}-0" name="q-{q["atelier"].id}" value="Matin" checked' in (
        form.text
    )
    too_big = await client.post(
        f"{manage}/edit",
        data={
            "csrf_token": csrf_from(form.text),
            "party_size": "5",
            f"q-{q['atelier'].id}": "Après-midi",
        },
    )
    assert too_big.status_code == 409
    assert "Il ne reste pas assez de places pour agrandir votre groupe." in too_big.text
    assert "au plus 3 personnes" in too_big.text
    assert 'value="5"' in too_big.text
    mine = await Registration.get(person__email_key="chantal.beaulieu@exemple.qc.ca")
    assert mine.party_size == 1 and mine.answers == {str(q["atelier"].id): "Matin"}
    assert (await Event.get(id=event.id)).seats_taken == 3

    bad = await client.post(
        f"{manage}/edit",
        data={"csrf_token": csrf_from(form.text), "party_size": "2", f"q-{q['atelier'].id}": ""},
    )
    assert bad.status_code == 422
    assert "Cette question est obligatoire." in bad.text

    ok = await client.post(
        f"{manage}/edit",
        data={
            "csrf_token": csrf_from(form.text),
            "party_size": "3",
            f"q-{q['atelier'].id}": "Après-midi",
        },
    )
    assert ok.status_code == 303
    mine = await Registration.get(id=mine.id)
    assert mine.party_size == 3 and mine.answers == {str(q["atelier"].id): "Après-midi"}
    assert (await Event.get(id=event.id)).seats_taken == 5


async def test_resend_form_answers_the_same_either_way(client, settings):
    event = await published_event()
    registered = (await service.register(event.id, person(1), settings=settings)).registration
    await OutboundMessage.all().delete()
    page = await client.get(f"/events/{event.id}/resend")
    assert page.status_code == 200
    texts = []
    for email in ("PERSONNE1@exemple.qc.ca", "inconnu@exemple.qc.ca"):
        response = await client.post(
            f"/events/{event.id}/resend",
            data={"csrf_token": csrf_from(page.text), "email": email},
        )
        assert response.status_code == 303
        texts.append((await client.get(response.headers["location"])).text)
    message = "Si une inscription existe pour cette adresse, le lien vient d'être envoyé."
    assert message in unescape(texts[0]) and message in unescape(texts[1])
    sent = await OutboundMessage.all()
    assert len(sent) == 1
    assert sent[0].to_address == "personne1@exemple.qc.ca"
    assert manage_links.manage_url(settings, registered) in sent[0].text_body
    empty = await client.post(
        f"/events/{event.id}/resend", data={"csrf_token": csrf_from(page.text), "email": ""}
    )
    assert empty.status_code == 422


async def test_html_in_names_is_escaped_on_manage_page(client, settings):
    event = await published_event()
    registration = (
        await service.register(
            event.id, person(1, first_name=SCRIPT, last_name="<b>Gras</b>"), settings=settings
        )
    ).registration
    page = await client.get(f"/manage/{manage_links.manage_token(settings, registration)}")
    assert page.status_code == 200
    assert SCRIPT not in page.text and "<b>Gras</b>" not in page.text
    assert ESCAPED in page.text and "&lt;b&gt;Gras&lt;/b&gt;" in page.text


async def test_wrong_manage_token_is_404_and_reveals_nothing(client, settings):
    event = await published_event()
    registration = (await service.register(event.id, person(1), settings=settings)).registration
    token = manage_links.manage_token(settings, registration)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for url in (
        f"/manage/{forged}",
        f"/manage/{registration.public_id}",
        f"/manage/{forged}/qr.png",
        f"/manage/{forged}/edit",
        f"/manage/{forged}/cancel",
        "/manage/nimportequoi",
    ):
        response = await client.get(url)
        assert response.status_code == 404, url
        assert "Prénom1" not in response.text
        assert registration.ticket_code not in response.text


async def test_form_and_resend_are_rate_limited_per_address(client):
    event = await published_event()
    page = await client.get(f"/events/{event.id}/register")
    statuses = []
    for _ in range(21):
        response = await client.post(
            f"/events/{event.id}/register", data=form_data(page.text, last_name="")
        )
        statuses.append(response.status_code)
    assert statuses[:20] == [422] * 20
    assert statuses[20] == 429
    assert int(response.headers["retry-after"]) >= 1
    assert "Trop de tentatives" in response.text
    resend = [
        (
            await client.post(
                f"/events/{event.id}/resend",
                data={"csrf_token": csrf_from(page.text), "email": "a@exemple.qc.ca"},
            )
        ).status_code
        for _ in range(11)
    ]
    assert resend[:10] == [303] * 10 and resend[10] == 429
