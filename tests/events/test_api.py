"""The events JSON API: contract, roles, filters, errors (never a 500 for bad input)."""

from core.models import Role
from tests.conftest import login, token_for

BODY = {
    "title": "Colloque régional sur la persévérance",
    "kind": "regional_event",
    "starts_at": "2027-02-16T09:00:00-05:00",
    "ends_at": "2027-02-16T11:30:00-05:00",
    "venue_name": "Cégep régional de Lanaudière",
    "address": "20, rue Saint-Charles-Borromée Sud, Joliette",
    "territory": "2462",
    "online_url": "https://visio.exemple.qc.ca/colloque",
    "capacity": 120,
    "waitlist": True,
    "clienteles": ["schools", "society"],
}


async def _auth(role=Role.ORGANIZER):
    return {"Authorization": f"Bearer {await token_for(role)}"}


async def test_create_publish_list_detail(client):
    headers = await _auth()
    r = await client.post("/api/v1/events", json=BODY, headers=headers)
    assert r.status_code == 201, r.text
    event = r.json()
    assert event["status"] == "draft"
    assert event["starts_at"] == "2027-02-16T09:00:00-05:00"
    assert event["mode"] == "hybrid"
    assert event["online_url"] == BODY["online_url"]  # staff see the link
    # Drafts are invisible to the public.
    assert (await client.get(f"/api/v1/events/{event['id']}")).status_code == 404
    assert (await client.get("/api/v1/events")).json()["total"] == 0

    r = await client.post(f"/api/v1/events/{event['id']}/publish", headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "published"
    public = (await client.get(f"/api/v1/events/{event['id']}")).json()
    assert public["online_url"] is None  # revealed only to registrants
    listing = (await client.get("/api/v1/events?territory=14&clientele=schools")).json()
    assert [e["id"] for e in listing["items"]] == [event["id"]]
    assert (await client.get("/api/v1/events?clientele=youth")).json()["total"] == 0
    assert (await client.get("/api/v1/events?kind=training")).json()["total"] == 0
    assert (await client.get("/api/v1/events?from=2027-02-17")).json()["total"] == 0
    assert (await client.get("/api/v1/events?to=2027-02-16")).json()["total"] == 1


async def test_patch_changes_dates_and_sequence(client):
    headers = await _auth()
    event = (await client.post("/api/v1/events", json=BODY, headers=headers)).json()
    r = await client.patch(
        f"/api/v1/events/{event['id']}",
        json={"starts_at": "2027-02-17T09:00", "ends_at": "2027-02-17T12:00"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["sequence"] == 1
    assert r.json()["starts_at"] == "2027-02-17T09:00:00-05:00"
    r = await client.patch(
        f"/api/v1/events/{event['id']}", json={"ends_at": "2027-02-17T08:00"}, headers=headers
    )
    assert r.status_code == 422
    assert r.json()["error"]["fields"]["ends_at"] == "La fin doit être après le début."


async def test_cancel_duplicate_delete(client):
    headers = await _auth()
    event = (await client.post("/api/v1/events", json=BODY, headers=headers)).json()
    copy = await client.post(f"/api/v1/events/{event['id']}/duplicate", headers=headers)
    assert copy.status_code == 201
    assert copy.json()["starts_at"].startswith("2028-02-15")  # 364 days: same weekday
    r = await client.delete(f"/api/v1/events/{copy.json()['id']}", headers=headers)
    assert r.status_code == 204
    await client.post(f"/api/v1/events/{event['id']}/publish", headers=headers)
    r = await client.delete(f"/api/v1/events/{event['id']}", headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_draft"
    r = await client.post(
        f"/api/v1/events/{event['id']}/cancel", json={"message": "Tempête"}, headers=headers
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = await client.post(f"/api/v1/events/{event['id']}/cancel", headers=headers)
    assert r.status_code == 409


async def test_territorial_launches(client):
    headers = await _auth()
    body = BODY | {"kind": "annual_launch", "territory": "14", "title": "Lancement 2027"}
    body.pop("online_url")
    edition = (await client.post("/api/v1/events", json=body, headers=headers)).json()
    r = await client.post(f"/api/v1/events/{edition['id']}/territorial-launches", headers=headers)
    assert r.status_code == 201
    assert r.json()["total"] == 6
    assert all(item["parent_id"] == edition["id"] for item in r.json()["items"])


async def test_roles_and_anonymous(client):
    assert (await client.post("/api/v1/events", json=BODY)).status_code == 401
    r = await client.post("/api/v1/events", json=BODY, headers=await _auth(Role.CHECKIN))
    assert r.status_code == 403
    r = await client.post("/api/v1/events", json=BODY, headers=await _auth(Role.REVIEWER))
    assert r.status_code == 403


async def test_session_cookie_api_calls_need_csrf_header(client):
    await login(client, Role.ORGANIZER)
    token = client.headers.pop("x-csrf-token")
    r = await client.post("/api/v1/events", json=BODY)
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    r = await client.post("/api/v1/events", json=BODY, headers={"x-csrf-token": token})
    assert r.status_code == 201


async def test_bad_input_is_4xx_with_french_fields(client):
    headers = await _auth()
    cases = [
        ({"title": ""}, "title"),
        ({"kind": "fete"}, "kind"),
        ({"starts_at": "demain"}, "starts_at"),
        ({"capacity": 0}, "capacity"),
        ({"online_url": "javascript:alert(1)"}, "online_url"),
        ({"contact_email": "pas-un-courriel"}, "contact_email"),
        ({"clienteles": ["martiens"]}, "clienteles"),
        ({"territory": "99"}, "territory"),
        ({"unknown_field": 1}, "unknown_field"),
        ({"parent_id": 999999}, "parent_id"),
    ]
    for change, field in cases:
        r = await client.post("/api/v1/events", json=BODY | change, headers=headers)
        assert r.status_code == 422, (change, r.text)
        assert field in r.json()["error"]["fields"], (change, r.json())
    r = await client.post(
        "/api/v1/events",
        content=b"{pas du json",
        headers=headers | {"content-type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"
    r = await client.post(
        "/api/v1/events", content=b"title=x", headers=headers | {"content-type": "text/plain"}
    )
    assert r.status_code == 415
    r = await client.get("/api/v1/events?from=hier")
    assert r.status_code == 422
    r = await client.get("/api/v1/events?page=abc")
    assert r.status_code == 422
    assert (await client.get("/api/v1/events/999999")).status_code == 404


async def test_openapi_lists_event_routes(client):
    doc = (await client.get("/api/v1/openapi.json")).json()
    assert "post" in doc["paths"]["/api/v1/events"]
    assert "get" in doc["paths"]["/api/v1/events"]
    assert "patch" in doc["paths"]["/api/v1/events/{id}"]
    assert "EventIn" in doc["components"]["schemas"]
