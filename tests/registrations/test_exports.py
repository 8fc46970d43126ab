"""Registration exports (CSV with BOM, XLSX) from the back office and the organizer's JSON
API `GET /api/v1/events/{id}/registrations` (JSON, ?format=csv|xlsx), both databases."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from openpyxl import load_workbook

from core.models import Role
from core.settings import local_tz
from registrations import service
from registrations.models import Question, QuestionKind, Registration
from tests.conftest import login, token_for
from tests.registrations.helpers import person, published_event

FIXED = [
    "Nom",
    "Prénom",
    "Courriel",
    "Téléphone",
    "Statut",
    "Position en liste d'attente",
    "Taille du groupe",
    "Clientèle",
    "Organisme",
    "MRC ou territoire",
    "Langue",
    "Source",
    "Code du billet",
    "Inscrit le",
]


async def _event_with_answers(settings):
    event = await published_event(capacity=3, waitlist=True)
    meal = await Question.create(
        event_id=event.id,
        kind=QuestionKind.SINGLE_CHOICE,
        label="Repas",
        choices=["Végétarien", "Régulier"],
        position=0,
    )
    workshops = await Question.create(
        event_id=event.id,
        kind=QuestionKind.MULTIPLE_CHOICE,
        label="Ateliers",
        choices=["Matin", "Après-midi"],
        position=1,
    )
    note = await Question.create(
        event_id=event.id, kind=QuestionKind.SHORT_TEXT, label="Commentaire", position=2
    )
    count = await Question.create(
        event_id=event.id, kind=QuestionKind.NUMBER, label="Nombre d'élèves", position=3
    )
    photo = await Question.create(
        event_id=event.id, kind=QuestionKind.YES_NO, label="Photo ?", position=4
    )
    first = await service.register(
        event.id,
        person(
            1,
            last_name="Tremblay",
            organization='=HYPERLINK("http://mal.example")',
            territory="2462",
            party_size=2,
            answers={
                str(meal.id): "Végétarien",
                str(workshops.id): ["Après-midi", "Matin"],
                str(note.id): "@SUM(A1:A9)",
                str(count.id): "25",
                str(photo.id): "oui",
            },
        ),
        settings=settings,
    )
    second = await service.register(
        event.id,
        person(2, first_name="-Éloïse", last_name="Bouchard", clientele="youth", party_size=2),
        settings=settings,
    )
    return event, (meal, workshops, note, count, photo), first.registration, second.registration


def _read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "no UTF-8 BOM"
    text = body.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def _check_rows(rows: list[list], first: Registration, second: Registration, *, xlsx: bool):
    header = rows[0]
    assert header[: len(FIXED)] == FIXED
    assert header[len(FIXED) :] == [
        "Repas",
        "Ateliers",
        "Commentaire",
        "Nombre d'élèves",
        "Photo ?",
    ]
    by_name = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert set(by_name) == {"Tremblay", "Bouchard"}
    assert list(by_name) == ["Bouchard", "Tremblay"]  # by last name
    tremblay, bouchard = by_name["Tremblay"], by_name["Bouchard"]
    assert tremblay["Statut"] == "Confirmée"
    assert bouchard["Statut"] == "Liste d'attente"
    assert str(bouchard["Position en liste d'attente"]) == "1"
    assert str(tremblay["Taille du groupe"]) == "2"
    assert tremblay["Clientèle"].startswith("Institutions scolaires")
    assert bouchard["Clientèle"].startswith("Jeunes")
    # CSV: a leading apostrophe keeps spreadsheets from reading a formula. XLSX: the text
    # as typed, stored as a text cell (checked in _read_xlsx), no visible apostrophe.
    guard = "" if xlsx else "'"
    assert tremblay["Organisme"] == guard + '=HYPERLINK("http://mal.example")'
    assert bouchard["Prénom"] == guard + "-Éloïse"
    assert tremblay["MRC ou territoire"] == "Matawinie"
    assert tremblay["Langue"] == "fr"
    assert tremblay["Source"] == "Formulaire public"
    assert tremblay["Code du billet"] == first.ticket_code
    assert tremblay["Repas"] == "Végétarien"
    assert tremblay["Ateliers"] == "Matin; Après-midi"  # in the question's order
    assert tremblay["Commentaire"] == guard + "@SUM(A1:A9)"
    assert str(tremblay["Nombre d'élèves"]) == "25"
    assert tremblay["Photo ?"] == "Oui"
    assert bouchard["Repas"] in ("", None)
    local = first.created_at.astimezone(local_tz())
    if xlsx:
        assert isinstance(tremblay["Inscrit le"], datetime)
        assert tremblay["Inscrit le"].strftime("%Y-%m-%d %H:%M") == local.strftime("%Y-%m-%d %H:%M")
        assert tremblay["Nombre d'élèves"] == 25  # a number cell
    else:
        assert tremblay["Inscrit le"] == local.strftime("%Y-%m-%d %H:%M")


def _read_xlsx(body: bytes) -> list[list]:
    workbook = load_workbook(io.BytesIO(body))
    sheet = workbook.active
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f", f"formula in {cell.coordinate}"
            if isinstance(cell.value, str) and cell.value[:1] in "=+-@":
                assert cell.data_type == "s" and cell.quotePrefix, cell.coordinate
    return [list(row) for row in sheet.iter_rows(values_only=True)]


async def test_back_office_csv_export(client, settings):
    event, _questions, first, second = await _event_with_answers(settings)
    await login(client, Role.ORGANIZER)
    response = await client.get(f"/admin/events/{event.id}/registrations/export.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert f"inscriptions-evenement-{event.id}.csv" in response.headers["content-disposition"]
    rows = _read_csv(response.content)
    assert len(rows) == 3
    _check_rows(rows, first, second, xlsx=False)
    filtered = await client.get(
        f"/admin/events/{event.id}/registrations/export.csv", params={"status": "waitlisted"}
    )
    names = [row[0] for row in _read_csv(filtered.content)[1:]]
    assert names == ["Bouchard"]


async def test_back_office_xlsx_export(client, settings):
    event, _questions, first, second = await _event_with_answers(settings)
    await login(client, Role.ORGANIZER)
    response = await client.get(f"/admin/events/{event.id}/registrations/export.xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    rows = _read_xlsx(response.content)
    assert len(rows) == 3
    _check_rows(rows, first, second, xlsx=True)


async def test_deactivated_question_answers_stay_in_exports(client, settings):
    event, (meal, *_rest), first, _second = await _event_with_answers(settings)
    await Question.filter(id=meal.id).update(active=False)
    await login(client, Role.ORGANIZER)
    rows = _read_csv(
        (await client.get(f"/admin/events/{event.id}/registrations/export.csv")).content
    )
    assert "Repas" in rows[0]
    tremblay = next(r for r in rows if r[0] == "Tremblay")
    assert tremblay[rows[0].index("Repas")] == "Végétarien"


async def test_api_json_list(client, settings):
    event, (meal, workshops, *_rest), first, second = await _event_with_answers(settings)
    other = await published_event(title="Autre")
    await service.register(other.id, person(9), settings=settings)
    token = await token_for(Role.ORGANIZER)
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/events/{event.id}/registrations"
    response = await client.get(url, headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 2 and body["page"] == 1
    items = {item["last_name"]: item for item in body["items"]}
    tremblay, bouchard = items["Tremblay"], items["Bouchard"]
    assert tremblay["id"] == first.public_id
    assert tremblay["status"] == "confirmed"
    assert tremblay["first_name"] == "Prénom1"
    assert tremblay["email"] == "personne1@exemple.qc.ca"
    assert tremblay["clientele"] == "schools"
    assert tremblay["territory"] == "2462"
    assert tremblay["organization"] == '=HYPERLINK("http://mal.example")'  # raw in JSON
    assert tremblay["party_size"] == 2
    assert tremblay["answers"][str(meal.id)] == "Végétarien"
    assert tremblay["answers"][str(workshops.id)] == ["Matin", "Après-midi"]
    assert tremblay["waitlist_position"] is None
    assert bouchard["waitlist_position"] == 1
    created = datetime.fromisoformat(tremblay["created_at"])
    assert created.utcoffset() is not None
    assert created == first.created_at.replace(microsecond=created.microsecond)

    only_waiting = (await client.get(url, headers=headers, params={"status": "waitlisted"})).json()
    assert [i["last_name"] for i in only_waiting["items"]] == ["Bouchard"]
    youth = (await client.get(url, headers=headers, params={"clientele": "youth"})).json()
    assert youth["total"] == 1 and youth["items"][0]["id"] == second.public_id
    paged = (await client.get(url, headers=headers, params={"per_page": 1, "page": 2})).json()
    assert paged["total"] == 2 and [i["last_name"] for i in paged["items"]] == ["Tremblay"]

    bad = await client.get(url, headers=headers, params={"status": "nope", "format": "pdf"})
    assert bad.status_code == 422
    assert set(bad.json()["error"]["fields"]) == {"status", "format"}
    bad_page = await client.get(url, headers=headers, params={"page": "x"})
    assert bad_page.status_code == 422
    missing = await client.get("/api/v1/events/999999/registrations", headers=headers)
    assert missing.status_code == 404


async def test_api_csv_and_xlsx(client, settings):
    event, _questions, first, second = await _event_with_answers(settings)
    token = await token_for(Role.ORGANIZER)
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/events/{event.id}/registrations"
    as_csv = await client.get(url, headers=headers, params={"format": "csv"})
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    _check_rows(_read_csv(as_csv.content), first, second, xlsx=False)
    as_xlsx = await client.get(url, headers=headers, params={"format": "xlsx"})
    assert as_xlsx.status_code == 200
    assert ".xlsx" in as_xlsx.headers["content-disposition"]
    _check_rows(_read_xlsx(as_xlsx.content), first, second, xlsx=True)
    youth = await client.get(url, headers=headers, params={"format": "csv", "clientele": "youth"})
    assert [row[0] for row in _read_csv(youth.content)[1:]] == ["Bouchard"]


async def test_api_permissions(client, settings):
    event, *_rest = await _event_with_answers(settings)
    url = f"/api/v1/events/{event.id}/registrations"
    anonymous = await client.get(url)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    for role in (Role.REVIEWER, Role.CHECKIN):
        token = await token_for(role)
        response = await client.get(url, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 403, role
        csv_response = await client.get(
            url, headers={"Authorization": f"Bearer {token}"}, params={"format": "csv"}
        )
        assert csv_response.status_code == 403
    await login(client, Role.REVIEWER)
    assert (
        await client.get(f"/admin/events/{event.id}/registrations/export.csv")
    ).status_code == 403


async def test_api_get_and_public_post_share_the_path(client, settings):
    event = await published_event()
    url = f"/api/v1/events/{event.id}/registrations"
    created = await client.post(
        url,
        json={
            "first_name": "Anne",
            "last_name": "Gagnon",
            "email": "anne@exemple.qc.ca",
            "clientele": "schools",
        },
    )
    assert created.status_code == 201, created.text
    token = await token_for(Role.ORGANIZER)
    listed = await client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200
    assert [i["last_name"] for i in listed.json()["items"]] == ["Gagnon"]


async def test_api_is_documented(client, settings):
    document = (await client.get("/api/v1/openapi.json")).json()
    operations = document["paths"]["/api/v1/events/{id}/registrations"]
    assert "get" in operations
    names = {p["name"] for p in operations["get"]["parameters"]}
    assert {"id", "status", "clientele", "format"} <= names
