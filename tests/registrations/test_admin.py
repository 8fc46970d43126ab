"""Back office for registrations: access, list with filters and counts, bulk actions,
detail, add by hand, move, party size, attendance sheet, CSRF (both databases)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from core.models import AuditEntry, Role
from events.models import Event
from registrations import manage_links, opening, service
from registrations.models import (
    Question,
    QuestionKind,
    Registration,
    RegistrationSource,
    RegistrationStatus,
)
from tests.conftest import login
from tests.registrations.helpers import person, published_event

FORM = {"confirm": "1"}


def _list_url(event_id: int) -> str:
    return f"/admin/events/{event_id}/registrations"


def _row_ids(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'data-registration="(\d+)"', html)}


def _found(html: str) -> int:
    match = re.search(r'id="result-count">(\d+) inscription', html)
    assert match, "no result count"
    return int(match.group(1))


def _status_counts(html: str) -> dict[str, tuple[int, int]]:
    rows = re.findall(
        r'data-status="(\w+)">.*?<td class="num">(\d+)</td><td class="num">(\d+)</td>', html
    )
    return {status: (int(n), int(h)) for status, n, h in rows}


def _clientele_counts(html: str) -> dict[str, tuple[int, int, int]]:
    rows = re.findall(
        r'data-clientele="(\w+)">.*?<td class="num">(\d+)</td><td class="num">(\d+)</td>'
        r'<td class="num">(\d+)</td>',
        html,
    )
    return {code: (int(a), int(b), int(c)) for code, a, b, c in rows}


async def _status(registration_id: int) -> RegistrationStatus:
    return (await Registration.get(id=registration_id)).status


async def _register(settings, event_id: int, n: int, **overrides) -> Registration:
    result = await service.register(event_id, person(n, **overrides), settings=settings)
    return result.registration


# --------------------------------------------------------------------------- access


async def test_anonymous_is_sent_to_login(client, settings):
    event = await published_event()
    registration = await _register(settings, event.id, 1)
    for url in (
        _list_url(event.id),
        f"/admin/registrations/{registration.id}",
        f"/admin/events/{event.id}/questions",
        f"/admin/events/{event.id}/registrations/attendance",
        f"/admin/events/{event.id}/registrations/export.csv",
    ):
        response = await client.get(url)
        assert response.status_code == 303, url
        assert response.headers["location"].startswith("/login?next=")


async def test_checkin_role_is_refused(client, settings):
    event = await published_event()
    registration = await _register(settings, event.id, 1)
    await login(client, Role.CHECKIN)
    assert (await client.get(_list_url(event.id))).status_code == 403
    assert (await client.get(f"/admin/registrations/{registration.id}")).status_code == 403
    response = await client.post(f"/admin/registrations/{registration.id}/cancel", data={"x": "1"})
    assert response.status_code == 403
    assert await _status(registration.id) == RegistrationStatus.CONFIRMED


async def test_reviewer_reads_but_cannot_act(client, settings):
    event = await published_event(requires_approval=True)
    registration = await _register(settings, event.id, 1)
    await login(client, Role.REVIEWER)
    page = await client.get(_list_url(event.id))
    assert page.status_code == 200
    assert registration.id in _row_ids(page.text)
    assert 'name="ids"' not in page.text  # no bulk checkboxes
    assert "export.csv" not in page.text
    detail = await client.get(f"/admin/registrations/{registration.id}")
    assert detail.status_code == 200
    assert "/manage/" not in detail.text  # the manage link is for managers only
    assert (await client.get(f"/admin/events/{event.id}/questions")).status_code == 200
    assert (
        await client.get(f"/admin/events/{event.id}/registrations/attendance")
    ).status_code == 200
    assert (await client.get(f"/admin/events/{event.id}/registrations/new")).status_code == 403
    assert (
        await client.get(f"/admin/events/{event.id}/registrations/export.xlsx")
    ).status_code == 403
    for url, data in (
        (f"{_list_url(event.id)}/bulk", {"action": "approve", "ids": str(registration.id)}),
        (f"/admin/registrations/{registration.id}/approve", {}),
        (f"/admin/registrations/{registration.id}/party-size", {"party_size": "2"}),
        (f"/admin/events/{event.id}/questions", {"kind": "yes_no", "label": "Repas ?"}),
    ):
        response = await client.post(url, data=data)
        assert response.status_code == 403, url
    assert await _status(registration.id) == RegistrationStatus.PENDING_APPROVAL
    assert await Question.filter(event_id=event.id).count() == 0


# --------------------------------------------------------------------------- list


async def test_list_filters_and_counts(client, settings):
    event = await published_event(capacity=6, waitlist=True)
    other = await published_event(title="Autre événement")
    a = await _register(
        settings, event.id, 1, party_size=3, territory="2462", organization="Cégep régional"
    )
    b = await _register(settings, event.id, 2, clientele="youth", territory="2461")
    c = await _register(
        settings, event.id, 3, party_size=2, clientele="family", organization="Maison des jeunes"
    )
    d = await _register(settings, event.id, 4, party_size=2)  # does not fit: waitlisted
    e = await _register(settings, event.id, 5, party_size=2, clientele="youth", territory="2452")
    await service.cancel(settings, b.id)  # frees 1: neither d (2) nor e (2) fits
    await _register(settings, other.id, 6)
    assert d.status == e.status == RegistrationStatus.WAITLISTED
    await login(client, Role.ORGANIZER)

    page = await client.get(_list_url(event.id))
    assert page.status_code == 200
    assert _found(page.text) == 5
    assert _row_ids(page.text) == {a.id, b.id, c.id, d.id, e.id}
    counts = _status_counts(page.text)
    assert counts["confirmed"] == (2, 5)
    assert counts["waitlisted"] == (2, 4)
    assert counts["cancelled"] == (1, 1)
    assert counts["pending_approval"] == (0, 0)
    by_clientele = _clientele_counts(page.text)
    assert by_clientele["schools"] == (2, 5, 3)  # a (3, confirmed) + d (2, waitlisted)
    assert by_clientele["family"] == (1, 2, 2)
    assert by_clientele["youth"] == (1, 2, 0)  # b is cancelled, e waitlisted
    assert re.search(r'id="capacity">5 / 6', page.text)

    waitlisted = await client.get(_list_url(event.id), params={"status": "waitlisted"})
    assert _row_ids(waitlisted.text) == {d.id, e.id}
    assert "n° 1" in waitlisted.text and "n° 2" in waitlisted.text
    youth = await client.get(_list_url(event.id), params={"clientele": "youth"})
    assert _row_ids(youth.text) == {b.id, e.id}
    matawinie = await client.get(_list_url(event.id), params={"territory": "2462"})
    assert _row_ids(matawinie.text) == {a.id}
    region = await client.get(_list_url(event.id), params={"territory": "14"})
    assert _row_ids(region.text) == {a.id, b.id, e.id}
    combined = await client.get(
        _list_url(event.id), params={"territory": "14", "clientele": "youth", "status": "cancelled"}
    )
    assert _row_ids(combined.text) == {b.id}
    for q, expected in (
        ("maison", {c.id}),
        ("personne4@EXEMPLE", {d.id}),
        ("Nom5", {e.id}),
        (a.ticket_code.lower(), {a.id}),
        ("personne introuvable", set()),
    ):
        found = await client.get(_list_url(event.id), params={"q": q})
        assert _row_ids(found.text) == expected, q
        assert _found(found.text) == len(expected)
    bad = await client.get(_list_url(event.id), params={"status": "nimporte"})
    assert bad.status_code == 200
    assert "Statut inconnu." in bad.text


async def test_list_paginates(client, settings):
    event = await published_event()
    for n in range(55):
        await _register(settings, event.id, n)
    await login(client, Role.ORGANIZER)
    first = await client.get(_list_url(event.id))
    second = await client.get(_list_url(event.id), params={"page": 2})
    assert len(_row_ids(first.text)) == 50
    assert len(_row_ids(second.text)) == 5
    assert not _row_ids(first.text) & _row_ids(second.text)
    assert 'rel="next"' in first.text and 'rel="next"' not in second.text


async def test_unknown_event_is_404(client, settings):
    await login(client, Role.ORGANIZER)
    assert (await client.get(_list_url(999_999))).status_code == 404
    assert (await client.get("/admin/registrations/999999")).status_code == 404


# --------------------------------------------------------------------------- bulk


async def test_bulk_approve_cancel_decline_promote_the_waitlist(client, settings):
    event = await published_event(capacity=2, waitlist=True, requires_approval=True)
    other = await published_event(title="Autre", requires_approval=True)
    regs = [await _register(settings, event.id, n) for n in range(1, 5)]
    stranger = await _register(settings, other.id, 9)
    assert all(r.status == RegistrationStatus.PENDING_APPROVAL for r in regs)
    await login(client, Role.ORGANIZER)
    bulk = f"{_list_url(event.id)}/bulk"

    response = await client.post(
        bulk,
        data={"action": "approve", "ids": [str(r.id) for r in regs] + [str(stranger.id)]},
    )
    assert response.status_code == 303
    assert response.headers["location"] == _list_url(event.id)
    statuses = [await _status(r.id) for r in regs]
    assert statuses == [
        RegistrationStatus.CONFIRMED,
        RegistrationStatus.CONFIRMED,
        RegistrationStatus.WAITLISTED,
        RegistrationStatus.WAITLISTED,
    ]
    assert await _status(stranger.id) == RegistrationStatus.PENDING_APPROVAL  # other event
    flashed = await client.get(_list_url(event.id))
    assert "2 confirmée(s), 2 en liste d" in flashed.text

    response = await client.post(
        bulk, data={"action": "cancel", "ids": str(regs[0].id), "back": "status=confirmed"}
    )
    assert response.headers["location"] == _list_url(event.id) + "?status=confirmed"
    assert await _status(regs[0].id) == RegistrationStatus.CANCELLED
    assert await _status(regs[2].id) == RegistrationStatus.CONFIRMED  # first in line
    assert await _status(regs[3].id) == RegistrationStatus.WAITLISTED

    await client.post(bulk, data={"action": "decline", "ids": [str(regs[1].id)]})
    assert await _status(regs[1].id) == RegistrationStatus.DECLINED
    assert await _status(regs[3].id) == RegistrationStatus.CONFIRMED
    assert (await Event.get(id=event.id)).seats_taken == 2

    # Already cancelled: skipped, reported, nothing changes.
    await client.post(bulk, data={"action": "cancel", "ids": [str(regs[0].id)]})
    page = await client.get(_list_url(event.id))
    assert "1 ignorée(s)" in page.text
    assert (await Event.get(id=event.id)).seats_taken == 2
    nothing = await client.post(bulk, data={"action": "cancel"})
    assert nothing.status_code == 303
    assert "Cochez au moins une inscription." in (await client.get(_list_url(event.id))).text
    unknown = await client.post(bulk, data={"action": "explode", "ids": [str(regs[2].id)]})
    assert unknown.status_code == 303
    assert await _status(regs[2].id) == RegistrationStatus.CONFIRMED
    entry = await AuditEntry.filter(action="registration.declined").first()
    assert entry is not None and entry.actor_label == "organizer@exemple.qc.ca"


# --------------------------------------------------------------------------- add by hand


async def _required_question(event_id: int) -> Question:
    return await Question.create(
        event_id=event_id,
        kind=QuestionKind.SINGLE_CHOICE,
        label="Repas",
        required=True,
        choices=["Végétarien", "Régulier"],
    )


async def test_add_by_hand_even_when_registration_is_closed(client, settings):
    event = await published_event(capacity=10, requires_approval=True)
    past = datetime.now(UTC) - timedelta(days=1)
    await Event.filter(id=event.id).update(registration_closes_at=past)
    question = await _required_question(event.id)
    with pytest.raises(opening.RegistrationClosed):
        await service.register(event.id, person(1), settings=settings)
    await login(client, Role.ORGANIZER)
    form = await client.get(f"/admin/events/{event.id}/registrations/new")
    assert form.status_code == 200
    assert "Repas" in form.text and "Végétarien" in form.text

    data = {
        "first_name": "Mélanie",
        "last_name": "Tremblay",
        "email": "pas-un-courriel",
        "clientele": "schools",
        "party_size": "0",
    }
    bad = await client.post(f"/admin/events/{event.id}/registrations/new", data=data)
    assert bad.status_code == 422
    assert "Adresse courriel invalide." in bad.text
    assert "La valeur doit être d&#39;au moins 1." in bad.text
    assert 'value="Mélanie"' in bad.text  # what was typed is kept
    data.update(email="melanie@exemple.qc.ca", party_size="4")
    missing = await client.post(f"/admin/events/{event.id}/registrations/new", data=data)
    assert missing.status_code == 422
    assert "Cette question est obligatoire." in missing.text
    assert await Registration.filter(event_id=event.id).count() == 0

    data.update({f"q_{question.id}": "Végétarien", "territory": "2462", "consents": "photos"})
    created = await client.post(f"/admin/events/{event.id}/registrations/new", data=data)
    assert created.status_code == 303
    registration = await Registration.get(event_id=event.id)
    assert created.headers["location"] == f"/admin/registrations/{registration.id}"
    assert registration.status == RegistrationStatus.CONFIRMED  # no approval step
    assert registration.source == RegistrationSource.BACKOFFICE
    assert registration.party_size == 4
    assert registration.answers == {str(question.id): "Végétarien"}
    assert (await Event.get(id=event.id)).seats_taken == 4

    again = await client.post(f"/admin/events/{event.id}/registrations/new", data=data)
    assert again.status_code == 409
    assert "Cette personne est déjà inscrite" in again.text
    assert await Registration.filter(event_id=event.id).count() == 1


# --------------------------------------------------------------------------- detail


async def test_detail_shows_answers_position_link_and_history(client, settings):
    event = await published_event(capacity=3, waitlist=True)
    question = await Question.create(
        event_id=event.id,
        kind=QuestionKind.MULTIPLE_CHOICE,
        label="Ateliers",
        choices=["Matin", "Après-midi"],
    )
    yes_no = await Question.create(event_id=event.id, kind=QuestionKind.YES_NO, label="Allergies ?")
    await _register(settings, event.id, 1, party_size=3)
    waiting = await _register(
        settings,
        event.id,
        2,
        answers={str(question.id): ["Matin", "Après-midi"], str(yes_no.id): "non"},
    )
    await login(client, Role.ORGANIZER)
    page = await client.get(f"/admin/registrations/{waiting.id}")
    assert page.status_code == 200
    text = page.text
    assert "Prénom2 Nom2" in text
    assert "position 1 sur la liste d" in text
    assert "Ateliers" in text and "Matin; Après-midi" in text
    assert "Allergies ?" in text and "<dd>Non</dd>" in text
    assert manage_links.manage_url(settings, waiting) in text
    assert "Inscription créée" in text

    await client.post(f"/admin/registrations/{waiting.id}/party-size", data={"party_size": "3"})
    page = await client.get(f"/admin/registrations/{waiting.id}")
    assert "Taille du groupe modifiée" in page.text and "de : 1; à : 3" in page.text
    assert re.search(r'id="party-size">3<', page.text)


async def test_detail_actions_approve_decline_cancel(client, settings):
    event = await published_event(capacity=1, waitlist=True, requires_approval=True)
    first = await _register(settings, event.id, 1)
    second = await _register(settings, event.id, 2)
    await login(client, Role.ORGANIZER)
    response = await client.post(f"/admin/registrations/{first.id}/approve", data=FORM)
    assert response.status_code == 303
    assert await _status(first.id) == RegistrationStatus.CONFIRMED
    await client.post(f"/admin/registrations/{second.id}/approve", data=FORM)
    assert await _status(second.id) == RegistrationStatus.WAITLISTED
    page = await client.get(f"/admin/registrations/{second.id}")
    assert "liste d&#39;attente" in page.text
    await client.post(f"/admin/registrations/{first.id}/cancel", data=FORM)
    assert await _status(first.id) == RegistrationStatus.CANCELLED
    assert await _status(second.id) == RegistrationStatus.CONFIRMED
    again = await client.post(f"/admin/registrations/{first.id}/cancel", data=FORM)
    assert again.status_code == 303
    assert "déjà annulée" in (await client.get(f"/admin/registrations/{first.id}")).text
    await client.post(f"/admin/registrations/{second.id}/decline", data=FORM)
    assert await _status(second.id) == RegistrationStatus.DECLINED
    assert (await Event.get(id=event.id)).seats_taken == 0


async def test_party_size_change_respects_capacity(client, settings):
    event = await published_event(capacity=4, waitlist=True)
    big = await _register(settings, event.id, 1, party_size=3)
    small = await _register(settings, event.id, 2, party_size=1)
    waiting = await _register(settings, event.id, 3, party_size=1)
    assert waiting.status == RegistrationStatus.WAITLISTED
    await login(client, Role.ORGANIZER)
    url = f"/admin/registrations/{small.id}/party-size"
    await client.post(url, data={"party_size": "2"})
    assert (await Registration.get(id=small.id)).party_size == 1
    assert "assez de places" in (await client.get(f"/admin/registrations/{small.id}")).text
    await client.post(url, data={"party_size": "abc"})
    assert (
        "Un nombre entier est attendu."
        in (await client.get(f"/admin/registrations/{small.id}")).text
    )
    await client.post(url, data={"party_size": "501"})
    assert (await Registration.get(id=small.id)).party_size == 1
    await client.post(f"/admin/registrations/{big.id}/party-size", data={"party_size": "2"})
    assert await _status(waiting.id) == RegistrationStatus.CONFIRMED
    assert (await Event.get(id=event.id)).seats_taken == 4


async def test_move_to_another_event(client, settings):
    edition = await published_event(title="Lancement du portrait 2030", kind="annual_launch")
    launch_a = await published_event(title="Lancement Joliette", parent_id=edition.id)
    launch_b = await published_event(title="Lancement Matawinie", parent_id=edition.id, capacity=5)
    question = await Question.create(event_id=launch_a.id, kind=QuestionKind.SHORT_TEXT, label="Q")
    registration = await _register(
        settings, launch_a.id, 1, party_size=2, answers={str(question.id): "x"}
    )
    await login(client, Role.ORGANIZER)
    page = await client.get(f"/admin/registrations/{registration.id}")
    assert f'<option value="{launch_b.id}">' in page.text
    assert f'<option value="{launch_a.id}">' not in page.text
    bad = await client.post(
        f"/admin/registrations/{registration.id}/move", data={"target_event_id": "999999"}
    )
    assert bad.status_code == 303
    assert await _status(registration.id) == RegistrationStatus.CONFIRMED
    response = await client.post(
        f"/admin/registrations/{registration.id}/move", data={"target_event_id": str(launch_b.id)}
    )
    assert response.status_code == 303
    moved = await Registration.get(event_id=launch_b.id)
    assert response.headers["location"] == f"/admin/registrations/{moved.id}"
    assert moved.status == RegistrationStatus.CONFIRMED and moved.party_size == 2
    assert await _status(registration.id) == RegistrationStatus.CANCELLED
    assert (await Event.get(id=launch_a.id)).seats_taken == 0
    assert (await Event.get(id=launch_b.id)).seats_taken == 2
    assert await AuditEntry.filter(action="registration.moved").count() == 1


# --------------------------------------------------------------------------- attendance


async def test_attendance_sheet_lists_confirmed_only_by_last_name(client, settings):
    event = await published_event(capacity=4, waitlist=True, title="Colloque")
    await _register(settings, event.id, 1, last_name="Tremblay", organization="École A")
    await _register(settings, event.id, 2, last_name="Bouchard", party_size=2, clientele="youth")
    gone = await _register(settings, event.id, 3, last_name="Gagnon")
    await _register(settings, event.id, 4, last_name="Côté", party_size=2)  # waitlisted
    await service.cancel(settings, gone.id)  # Côté (2) still does not fit? 1 free: no
    await login(client, Role.ORGANIZER)
    page = await client.get(f"/admin/events/{event.id}/registrations/attendance")
    assert page.status_code == 200
    names = re.findall(r'<th scope="row">([^<]+)</th>', page.text)
    assert names == ["Bouchard, Prénom2", "Tremblay, Prénom1"]
    assert "École A" in page.text
    assert "Signature" in page.text
    assert "attendance-page" in page.text  # the print stylesheet's hook
    assert "2 inscriptions confirmées" in page.text and "3 personnes" in page.text


async def test_attendance_print_stylesheet_exists(client):
    css = await client.get("/static/css/app.css")
    section = css.text.split("Inscriptions — administration", 1)[1]
    assert "@media print" in section and ".attendance-sheet" in section


# --------------------------------------------------------------------------- CSRF


async def test_every_post_needs_the_csrf_token(client, settings):
    event = await published_event(requires_approval=True)
    registration = await _register(settings, event.id, 1)
    question = await Question.create(event_id=event.id, kind=QuestionKind.YES_NO, label="Q")
    await login(client, Role.ORGANIZER)
    del client.headers["x-csrf-token"]
    for url, data in (
        (f"{_list_url(event.id)}/bulk", {"action": "cancel", "ids": str(registration.id)}),
        (f"{_list_url(event.id)}/new", {"first_name": "A"}),
        (f"/admin/registrations/{registration.id}/approve", {}),
        (f"/admin/registrations/{registration.id}/decline", {}),
        (f"/admin/registrations/{registration.id}/cancel", {}),
        (f"/admin/registrations/{registration.id}/move", {"target_event_id": "1"}),
        (f"/admin/registrations/{registration.id}/party-size", {"party_size": "2"}),
        (f"/admin/events/{event.id}/questions", {"kind": "yes_no", "label": "Nouvelle"}),
        (f"/admin/events/{event.id}/questions/{question.id}", {"kind": "yes_no", "label": "B"}),
        (f"/admin/events/{event.id}/questions/{question.id}/delete", {}),
        (f"/admin/events/{event.id}/questions/{question.id}/activate", {}),
        (f"/admin/events/{event.id}/questions/{question.id}/move", {"direction": "up"}),
    ):
        response = await client.post(url, data=data or {"x": "1"})
        assert response.status_code == 403, url
        assert "expiré" in response.text
    assert await _status(registration.id) == RegistrationStatus.PENDING_APPROVAL
    assert await Question.filter(event_id=event.id).count() == 1
    assert (await Question.get(id=question.id)).label == "Q"
