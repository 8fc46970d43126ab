"""No 5xx from any input (issue 13, item 7), on SQLite and PostgreSQL.

Every kind of endpoint (JSON API, public pages, back-office forms, feeds, the tablet's
scans, the CSV import) gets the inputs a column cannot hold: integers beyond 32 bits,
NUL characters and lone surrogates, JSON nested too deep, numbers of 5,000 digits,
dates in year 9999. Each answer is a 4xx with a message in French, never a 5xx nor
PostgreSQL's encoding error.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.models import Role
from tests.conftest import csrf_from, login, token_for
from tests.registrations.helpers import published_event

BIG = "9223372036854775808"  # 2**63: beyond every integer column
INT4 = "2147483648"  # 2**31: beyond PostgreSQL's INTEGER
HUGE = "9" * 5000
DEEP = "[" * 100_000 + "]" * 100_000
NUL = "a\x00b"
SURROGATE = "\ud800"


def event_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Colloque",
        "kind": "regional_event",
        "starts_at": "2030-02-16T09:00:00-05:00",
        "ends_at": "2030-02-16T11:00:00-05:00",
    }
    body.update(overrides)
    return body


def registration_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "first_name": "Léa",
        "last_name": "Tremblay",
        "email": "lea.tremblay@exemple.qc.ca",
        "clientele": "schools",
    }
    body.update(overrides)
    return body


def raw_json(text: str) -> dict[str, Any]:
    return {"content": text.encode(), "headers": {"content-type": "application/json"}}


def as_json(body: dict[str, Any]) -> dict[str, Any]:
    # json.dumps escapes NUL as \u0000 and a lone surrogate as \ud800, as a client would.
    return raw_json(json.dumps(body))


# (id, method, url, request arguments, accepted statuses). {event} is a published event,
# {token} a manage token.
API_CASES = [
    ("path-int4", "GET", f"/api/v1/events/{INT4}", {}, {404}),
    ("path-int8", "GET", f"/api/v1/events/{BIG}", {}, {404}),
    ("path-int8-post", "POST", f"/api/v1/events/{BIG}/registrations", as_json({}), {404}),
    ("path-int4-roster", "GET", f"/api/v1/events/{INT4}/checkin/roster", {}, {404}),
    ("path-int4-person", "GET", f"/api/v1/people/{INT4}", {}, {404}),
    ("path-nul-manage", "GET", "/api/v1/manage/abc%00def", {}, {422}),
    ("query-nul", "GET", "/api/v1/events?q=%00", {}, {422}),
    ("query-parent-int8", "GET", f"/api/v1/events?parent_id={BIG}", {}, {422}),
    ("query-parent-int4", "GET", f"/api/v1/events?parent_id={INT4}", {}, {422}),
    ("query-organization-int8", "GET", f"/api/v1/people?organization={BIG}", {}, {422}),
    ("query-organization-huge", "GET", f"/api/v1/people?organization={HUGE}", {}, {422}),
    ("query-page-huge", "GET", f"/api/v1/people?page={HUGE}", {}, {422}),
    ("query-date-9999", "GET", "/api/v1/events?from=9999-12-31", {}, {422}),
    ("query-people-nul", "GET", "/api/v1/people?q=a%00", {}, {422}),
    ("query-search-nul", "GET", "/api/v1/events/{event}/checkin/search?q=%00", {}, {422}),
    ("json-deep", "POST", "/api/v1/events", raw_json(DEEP), {400}),
    ("json-huge-number", "POST", "/api/v1/events", raw_json('{"capacity": ' + HUGE + "}"), {422}),
    (
        "json-huge-float",
        "POST",
        "/api/v1/events",
        raw_json('{"capacity": 1' + "0" * 400 + ".5}"),
        {422},
    ),
    ("json-nan", "POST", "/api/v1/events", raw_json('{"capacity": NaN}'), {400}),
    ("json-nul-title", "POST", "/api/v1/events", as_json(event_body(title=NUL)), {422}),
    ("json-surrogate-title", "POST", "/api/v1/events", as_json(event_body(title=SURROGATE)), {422}),
    ("json-nul-key", "POST", "/api/v1/events", as_json({NUL: 1}), {422}),
    ("json-parent-int8", "POST", "/api/v1/events", as_json(event_body(parent_id=int(BIG))), {422}),
    ("json-parent-int4", "POST", "/api/v1/events", as_json(event_body(parent_id=int(INT4))), {422}),
    (
        "json-organizer-int4",
        "POST",
        "/api/v1/events",
        as_json(event_body(organizer_organization_id=int(INT4))),
        {422},
    ),
    (
        "json-partner-int8",
        "POST",
        "/api/v1/events",
        as_json(event_body(partners=[{"organization_id": int(BIG)}])),
        {422},
    ),
    (
        "json-year-9999",
        "POST",
        "/api/v1/events",
        as_json(
            event_body(starts_at="9999-12-31T23:00:00-05:00", ends_at="9999-12-31T23:30:00-05:00")
        ),
        {422},
    ),
    (
        "json-year-1",
        "POST",
        "/api/v1/events",
        as_json(event_body(starts_at="0001-01-01T00:00:00+05:00")),
        {422},
    ),
    (
        "json-all-day-9999",
        "POST",
        "/api/v1/events",
        as_json(event_body(all_day=True, starts_at="9999-12-31", ends_at="9999-12-31")),
        {422},
    ),
    (
        "patch-capacity-int8",
        "PATCH",
        "/api/v1/events/{event}",
        as_json({"capacity": int(BIG)}),
        {422},
    ),
    (
        "patch-parent-int4",
        "PATCH",
        "/api/v1/events/{event}",
        as_json({"parent_id": int(INT4)}),
        {422},
    ),
    (
        "patch-closes-9999",
        "PATCH",
        "/api/v1/events/{event}",
        as_json({"registration_closes_at": "9999-12-31T23:59:59-12:00"}),
        {422},
    ),
    (
        "register-nul-name",
        "POST",
        "/api/v1/events/{event}/registrations",
        as_json(registration_body(first_name=NUL)),
        {422},
    ),
    (
        "register-nul-answer",
        "POST",
        "/api/v1/events/{event}/registrations",
        as_json(registration_body(answers={"q": NUL})),
        {422},
    ),
    (
        "register-party-int8",
        "POST",
        "/api/v1/events/{event}/registrations",
        as_json(registration_body(party_size=int(BIG))),
        {422},
    ),
    (
        "manage-patch-nul",
        "PATCH",
        "/api/v1/manage/{token}",
        as_json({"answers": {"x": NUL}}),
        {422},
    ),
    (
        "checkin-event-int8",
        "POST",
        "/api/v1/checkin",
        as_json({"event_id": int(BIG), "payload": "x"}),
        {422},
    ),
    (
        "checkin-nonce-nul",
        "POST",
        "/api/v1/checkin",
        as_json({"event_id": "{event}", "payload": "x", "nonce": NUL}),
        {422},
    ),
    (
        "checkin-scanned-9999",
        "POST",
        "/api/v1/checkin",
        as_json({"event_id": "{event}", "payload": "x", "scanned_at": "9999-12-31T23:59:59-12:00"}),
        {422},
    ),
    (
        "sync-nonce-nul",
        "POST",
        "/api/v1/checkin/sync",
        as_json(
            {
                "event_id": "{event}",
                "scans": [
                    {"payload": "x", "nonce": NUL, "scanned_at": "2030-02-16T09:00:00-05:00"}
                ],
            }
        ),
        {422},
    ),
    (
        "sync-device-int8",
        "POST",
        "/api/v1/checkin/sync",
        as_json(
            {
                "event_id": "{event}",
                "scans": [
                    {
                        "payload": "x",
                        "nonce": "n1",
                        "scanned_at": "2030-02-16T09:00:00-05:00",
                        "device_id": int(BIG),
                    }
                ],
            }
        ),
        {422},
    ),
    (
        "walkin-nul-name",
        "POST",
        "/api/v1/events/{event}/walkins",
        as_json({"first_name": NUL, "last_name": "X", "clientele": "schools"}),
        {422},
    ),
]

PAGE_CASES = [
    ("page-path-int4", "GET", f"/events/{INT4}", {}, {404}),
    ("page-path-int8", "GET", f"/events/{BIG}/register", {}, {404}),
    ("page-ics-int8", "GET", f"/events/{BIG}.ics", {}, {404}),
    ("page-admin-int4", "GET", f"/admin/events/{INT4}", {}, {404}),
    ("page-admin-person-int8", "GET", f"/admin/people/{BIG}", {}, {404}),
    ("page-manage-nul", "GET", "/manage/abc%00def", {}, {422}),
    ("page-query-nul", "GET", "/events?q=%00", {}, {422}),
    ("page-query-parent-int8", "GET", f"/events?parent_id={BIG}", {}, {200, 422}),
    ("page-query-date-9999", "GET", "/events?from=9999-12-31", {}, {200, 422}),
    ("feed-query-date-9999", "GET", "/calendar.ics?to=9999-12-31", {}, {400, 422}),
    ("admin-new-parent-int8", "GET", f"/admin/events/new?parent_id={BIG}", {}, {404}),
    ("admin-people-org-int8", "GET", f"/admin/people?organization={BIG}", {}, {422}),
    ("admin-people-nul", "GET", "/admin/people?q=%00", {}, {422}),
]


def _fill(value: Any, event_id: int, token: str) -> Any:
    if isinstance(value, str):
        return value.replace("{event}", str(event_id)).replace("{token}", token)
    return value


async def _answer(client, method, url, kwargs, event_id, token):
    url = _fill(url, event_id, token)
    kwargs = dict(kwargs)
    if "content" in kwargs:
        text = kwargs["content"].decode().replace('"{event}"', str(event_id))
        kwargs["content"] = text.encode()
    return await client.request(method, url, **kwargs)


@pytest.fixture
async def target(db, settings):
    from registrations import manage_links, service
    from tests.registrations.helpers import person

    event = await published_event(capacity=50)
    result = await service.register(event.id, person(1), settings=settings)
    return event.id, manage_links.manage_token(settings, result.registration)


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "statuses"),
    [c[1:] for c in API_CASES],
    ids=[c[0] for c in API_CASES],
)
async def test_api_refuses_bad_input_with_a_french_4xx(
    client, target, method, url, kwargs, statuses
):
    event_id, token = target
    client.headers["authorization"] = f"Bearer {await token_for(Role.ADMIN)}"
    response = await _answer(client, method, url, kwargs, event_id, token)
    assert response.status_code in statuses, response.text[:500]
    error = response.json()["error"]
    assert error["message"] and error["code"]
    text = error["message"] + " ".join((error.get("fields") or {}).values())
    assert any(
        word in text
        for word in (
            "invalide",
            "champ",
            "permis",
            "nombre",
            "date",
            "JSON",
            "introuvable",
            "existe",
            "valeur",
            "Valeur",
            "caractère",
            "entier",
            "Identifiant",
        )
    ), text
    assert response.headers["content-language"] == "fr"


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "statuses"),
    [c[1:] for c in PAGE_CASES],
    ids=[c[0] for c in PAGE_CASES],
)
async def test_pages_refuse_bad_input_without_5xx(client, target, method, url, kwargs, statuses):
    event_id, token = target
    await login(client, Role.ADMIN)
    response = await _answer(client, method, url, kwargs, event_id, token)
    assert response.status_code in statuses, response.text[:500]
    assert response.headers["content-language"] == "fr"


FORM_FIELDS = [
    ("/admin/people/new", {"first_name": NUL, "last_name": "X", "email": "x@exemple.qc.ca"}),
    ("/admin/organizations/new", {"name": NUL}),
    ("/admin/events/new", {"title": "T", "kind": "meeting", "starts_at": "9999-12-31T23:00"}),
]


@pytest.mark.parametrize(
    ("url", "fields"), FORM_FIELDS, ids=["person-nul", "organization-nul", "event-9999"]
)
async def test_back_office_forms_refuse_bad_input_without_5xx(client, target, url, fields):
    await login(client, Role.ADMIN)
    page = await client.get(url)
    response = await client.post(url, data={**fields, "csrf_token": csrf_from(page.text)})
    assert 400 <= response.status_code < 500, response.text[:500]


async def test_public_form_refuses_nul_without_5xx(client, target):
    event_id, _token = target
    page = await client.get(f"/events/{event_id}/register")
    response = await client.post(
        f"/events/{event_id}/register",
        data={
            "first_name": NUL,
            "last_name": "Roy",
            "email": "nul@exemple.qc.ca",
            "clientele": "schools",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 422
    assert "caractère nul" in response.text


HEADER = "first_name,last_name,email,phone,language,organization,clientele,territory"


async def _import(client, data: bytes):
    client.headers["authorization"] = f"Bearer {await token_for(Role.ADMIN)}"
    return await client.post(
        "/api/v1/people/import", content=data, headers={"content-type": "text/csv"}
    )


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
async def test_people_import_reads_utf16_and_utf32(client, db, codec):
    from people.models import Person

    text = f"{HEADER}\nÉmilie,Gagnon,emilie@exemple.qc.ca,,fr,École Saint-Pierre,youth,2461\n"
    response = await _import(client, text.encode(codec))
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1, response.text
    assert (await Person.get(email_key="emilie@exemple.qc.ca")).first_name == "Émilie"


async def test_people_import_names_the_line_of_an_unclosed_quote(client, db):
    lines = [
        HEADER,
        "Ann,Roy,ann@exemple.qc.ca,,fr,,youth,2461",
        'Luc,"Paradis,luc@exemple.qc.ca,,fr,,youth,2461',
        "Eve,Côté,eve@exemple.qc.ca,,fr,,youth,2461",
        "Max,Roy,max@exemple.qc.ca,,fr,,youth,2461",
    ]
    response = await _import(client, ("\n".join(lines) + "\n").encode())
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["created"] == 1
    [rejected] = report["rejected"]
    assert rejected["line"] == 3
    assert "Guillemet" in rejected["error"] and "ligne 5" in rejected["error"]


async def test_people_import_rejects_a_nul_cell_on_its_line(client, db):
    lines = [
        HEADER,
        "Ann,Roy,ann@exemple.qc.ca,,fr,,youth,2461",
        "Luc,Par\x00adis,luc@exemple.qc.ca,,fr,,youth,2461",
    ]
    response = await _import(client, ("\n".join(lines) + "\n").encode())
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["created"] == 1
    assert report["rejected"] == [
        {"line": 3, "error": "Ligne illisible : elle contient un caractère nul (\\0) ou invalide."}
    ]


def test_every_int_path_parameter_is_bounded_to_the_column():
    """Each `{name:int}` of every route only matches ids the database can hold, whatever
    the order the route modules were imported in."""
    from starlette.routing import Mount, Route

    from core.inputs import BoundedIntConvertor
    from server import collect_routes

    pending, checked = list(collect_routes()), 0
    while pending:
        route = pending.pop()
        if isinstance(route, Mount):
            pending.extend(route.routes)
        elif isinstance(route, Route) and ":int}" in route.path:
            for convertor in route.param_convertors.values():
                if convertor.regex == "[0-9]+":
                    raise AssertionError(f"unbounded int in {route.path}")
            checked += sum(
                isinstance(c, BoundedIntConvertor) for c in route.param_convertors.values()
            )
    assert checked > 50
