"""The OpenAPI document says what the code does (issue 13, item 8): what schemathesis
found in the document or the code, each pinned by a test that runs on SQLite and
PostgreSQL. The whole fuzzing run is tests/fuzz/run_schemathesis.py (CI)."""

from __future__ import annotations

import pytest

from core.inputs import INT32_MAX
from core.models import Role
from tests.conftest import token_for

EVENT = {
    "title": "Colloque",
    "kind": "regional_event",
    "starts_at": "2030-02-16T09:00:00-05:00",
    "ends_at": "2030-02-16T11:00:00-05:00",
}


async def _admin(client) -> dict[str, str]:
    return {"authorization": f"Bearer {await token_for(Role.ADMIN)}"}


async def test_path_ids_are_documented_as_bounded_integers(client, db):
    doc = (await client.get("/api/v1/openapi.json")).json()
    [param] = doc["paths"]["/api/v1/events/{id}"]["get"]["parameters"]
    assert param["schema"] == {"type": "integer", "minimum": 0, "maximum": INT32_MAX}
    [token] = doc["paths"]["/api/v1/manage/{token}"]["get"]["parameters"]
    assert token["schema"] == {"type": "string"}


async def test_list_parameters_carry_their_bounds_and_enums(client, db):
    doc = (await client.get("/api/v1/openapi.json")).json()

    def params(path: str) -> dict[str, dict]:
        return {p["name"]: p["schema"] for p in doc["paths"][path]["get"]["parameters"]}

    events = params("/api/v1/events")
    assert events["per_page"] == {"type": "integer", "minimum": 1, "maximum": 200}
    assert events["page"]["maximum"] == 100_000
    assert "annual_launch" in events["kind"]["enum"]
    assert "draft" in events["status"]["enum"]
    assert params("/api/v1/people")["per_page"]["minimum"] == 1
    assert params("/api/v1/events/{id}/registrations")["per_page"]["maximum"] == 500
    assert "enum" in params("/calendar.ics")["kind"]


@pytest.mark.parametrize(
    "query",
    ["per_page=0", "per_page=201", "per_page=", "page=0", "page=100001", "status=inconnu"],
)
async def test_out_of_bounds_list_parameters_are_422(client, db, query):
    response = await client.get(f"/api/v1/events?{query}")
    assert response.status_code == 422, response.text
    assert response.json()["error"]["fields"]


async def test_registration_export_checks_page_bounds_too(client, db):
    headers = await _admin(client)
    event = (await client.post("/api/v1/events", json=EVENT, headers=headers)).json()
    url = f"/api/v1/events/{event['id']}/registrations?format=csv&page=-3"
    response = await client.get(url, headers=headers)
    assert response.status_code == 422, response.text


async def test_people_per_page_bounds(client, db):
    headers = await _admin(client)
    assert (await client.get("/api/v1/people?per_page=-4", headers=headers)).status_code == 422
    assert (await client.get("/api/v1/people?per_page=200", headers=headers)).status_code == 200


async def test_405_names_every_method_of_the_path(client, db):
    response = await client.request("OPTIONS", "/api/v1/events")
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "HEAD", "POST"}
    response = await client.put("/api/v1/events/1")
    assert {m.strip() for m in response.headers["allow"].split(",")} == {
        "DELETE",
        "GET",
        "HEAD",
        "PATCH",
    }
    response = await client.request("OPTIONS", "/api/v1/manage/abc")
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {
        "DELETE",
        "GET",
        "HEAD",
        "PATCH",
    }


async def test_cancel_and_duplicate_bodies_are_optional(client, db):
    doc = (await client.get("/api/v1/openapi.json")).json()
    for path in ("/api/v1/events/{id}/cancel", "/api/v1/events/{id}/duplicate"):
        assert doc["paths"][path]["post"]["requestBody"]["required"] is False
    assert doc["paths"]["/api/v1/events"]["post"]["requestBody"]["required"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"shift_days": 364, "with_children": 0}, "with_children"),
        ({"shift_days": "364"}, "shift_days"),
        ({"shift_days": True}, "shift_days"),
    ],
)
async def test_json_bodies_take_the_documented_types_only(client, db, body, field):
    headers = await _admin(client)
    event = (await client.post("/api/v1/events", json=EVENT, headers=headers)).json()
    response = await client.post(
        f"/api/v1/events/{event['id']}/duplicate", json=body, headers=headers
    )
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["fields"]


async def test_json_datetimes_still_read_dates_and_short_times(client, db):
    headers = await _admin(client)
    body = EVENT | {"starts_at": "2030-02-16T09:00", "ends_at": "2030-02-16T11:30"}
    assert (await client.post("/api/v1/events", json=body, headers=headers)).status_code == 201
    body = EVENT | {"all_day": True, "starts_at": "2030-02-16", "ends_at": "2030-02-17"}
    response = await client.post("/api/v1/events", json=body, headers=headers)
    assert response.status_code == 201, response.text


async def test_deleting_a_draft_with_registrations_is_a_conflict_not_a_500(client, db):
    """Found by schemathesis: a walk-in registered on a draft, then DELETE → FOREIGN KEY."""
    from events.models import Event

    headers = await _admin(client)
    event = (await client.post("/api/v1/events", json=EVENT, headers=headers)).json()
    walkin = await client.post(
        f"/api/v1/events/{event['id']}/walkins",
        json={"first_name": "Léa", "last_name": "Roy", "clientele": "schools"},
        headers=headers,
    )
    assert walkin.status_code == 201, walkin.text
    response = await client.delete(f"/api/v1/events/{event['id']}", headers=headers)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "has_registrations"
    assert await Event.filter(id=event["id"]).exists()
