"""GET /api/v1/reports/participation: the same numbers as the service, JSON, CSV and XLSX,
field errors in French, the OpenAPI declaration, and who may read it."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.conftest import login, token_for
from tests.reports.dataset import build

URL = "/api/v1/reports/participation"
YEAR = {"from": "2026-01-01", "to": "2026-12-31"}


@pytest.fixture
async def data(db: Any) -> Any:
    return await build()


async def get(client, token: str, **params: Any):
    return await client.get(URL, params=params, headers={"Authorization": f"Bearer {token}"})


async def test_grouped_by_clientele_and_mrc(data, client):
    token = await token_for("organizer")
    answer = await get(client, token, group_by="clientele,territory", **YEAR)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["group_by"] == ["clientele", "territory"]
    first = body["rows"][0]
    assert first == {
        "clientele": "youth",
        "clientele_label": "Jeunes et adultes concernés",
        "territory": "2461",
        "territory_label": "Joliette",
        "registrations": 2,
        "headcount": 2,
        "attended_headcount": 1,
        "attendance_rate": 0.5,
        "walkins": 0,
        "no_shows": 1,
        "people": 2,
        "new_people": 1,
        "organizations": 0,
        "masked": False,
    }
    assert len(body["rows"]) == 6
    assert body["totals"] == {
        "registrations": 10,
        "headcount": 15,
        "attended_headcount": 14,
        "attendance_rate": 0.7333,
        "walkins": 1,
        "no_shows": 3,
        "people": 7,
        "new_people": 6,
        "organizations": 2,
        "masked": False,
    }


async def test_filters_and_mask_through_the_query_string(data, client):
    token = await token_for("reviewer")
    answer = await get(
        client, token, group_by="clientele", clientele="", territory="14", mask="3", **YEAR
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["totals"]["registrations"] == 8
    # Region 14: youth 2 people, family 2, schools 1 → all under 3: every cell hidden.
    assert [row["masked"] for row in body["rows"]] == [True, True, True]
    assert body["rows"][0]["people"] is None
    assert body["totals"]["people"] == 5


async def test_csv_with_semicolons_and_xlsx(data, client):
    token = await token_for("organizer")
    answer = await get(client, token, group_by="clientele", format="csv", sep=";", **YEAR)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.content.startswith("\ufeff".encode())
    lines = answer.content.decode("utf-8-sig").splitlines()
    assert lines[0].split(";")[:3] == ["Clientèle", "Inscriptions", "Personnes inscrites"]
    assert lines[1] == "Jeunes et adultes concernés;2;2;1;50,0;0;1;2;1;0"
    assert lines[-1] == "Total;10;15;14;73,3;1;3;7;6;2"
    masked = await get(client, token, group_by="clientele", format="csv", mask="5", **YEAR)
    assert masked.content.decode("utf-8-sig").splitlines()[1].endswith(",< 5,< 5,< 5")
    xlsx = await get(client, token, group_by="month", format="xlsx", **YEAR)
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "Mois"
    assert values[1][:3] == ["février 2026", 6, 8]
    assert values[-1][:3] == ["Total", 10, 15]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"group_by": "clientele,territory,month"}, "group_by"),
        ({"group_by": "personne"}, "group_by"),
        ({"group_by": "clientele,clientele"}, "group_by"),
        ({"from": "2026-13-01"}, "from"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "to"),
        ({"kind": "fête"}, "kind"),
        ({"event_id": "abc"}, "event_id"),
        ({"mask": "101"}, "mask"),
        ({"format": "pdf"}, "format"),
        ({"sep": "|"}, "sep"),
        ({"clientele": "inconnue"}, "clientele"),
        ({"territory": "9999"}, "territory"),
        ({"plan_item": "Z.9"}, "plan_item"),
    ],
)
async def test_bad_values_are_422_with_a_french_field_error(data, client, params, field):
    token = await token_for("organizer")
    answer = await get(client, token, **params)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert field in error["fields"]
    assert error["code"] == "validation_error"


async def test_who_may_read_it(data, client):
    assert (await client.get(URL)).status_code == 401
    await login(client, "checkin")
    assert (await client.get(URL)).status_code == 403


async def test_declared_in_the_openapi_document(data, client):
    document = (await client.get("/api/v1/openapi.json")).json()
    operation = document["paths"][URL]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert names >= {"group_by", "from", "to", "kind", "event_id", "edition_id", "clientele"}
    assert names >= {"territory", "sector", "plan_item", "plan_id", "mask", "format", "sep"}
    assert set(operation["responses"]) >= {"200", "401", "403", "422"}


async def test_csv_without_keys_is_one_totals_line(data, client):
    token = await token_for("organizer")
    answer = await get(client, token, format="csv", **YEAR)
    lines = answer.content.decode("utf-8-sig").splitlines()
    assert lines == [
        "Inscriptions,Personnes inscrites,Présences,Taux de présence (%),"
        "Inscriptions sur place,Absences,Personnes distinctes,Nouvelles personnes,Organismes",
        "10,15,14,73.3,1,3,7,6,2",
    ]
