"""People directory over HTTP: pages, permissions, CSRF, JSON API."""

from __future__ import annotations

import json

from core.models import Role
from people.models import Consent, Person, Territory
from people.reference import seed_plan_items
from tests.conftest import csrf_from, login, token_for
from tests.people.test_import import build_csv

LANAUDIERE_MRCS = ["D'Autray", "L'Assomption", "Joliette", "Matawinie", "Montcalm", "Les Moulins"]
CLIENTELE_NAMES = [
    "Jeunes et adultes concernés",
    "Environnement immédiat (famille, intervenants proches)",
    "Institutions scolaires, organismes de soutien et communautaires",
    "Entreprises, société en général",
]


def unescape(html: str) -> str:
    return html.replace("&#39;", "'").replace("&#x27;", "'").replace("&amp;", "&")


async def create_person(client, **overrides) -> int:
    data = {
        "first_name": "Émilie",
        "last_name": "Tremblay",
        "email": "emilie@exemple.qc.ca",
        "language": "fr",
        "clientele": "schools",
        "territory": "2461",
    }
    data.update(overrides)
    response = await client.post("/admin/people/new", data=data)
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


async def test_anonymous_page_redirects_to_login(client):
    response = await client.get("/admin/people?q=tremblay")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin/people%3Fq%3Dtremblay"


async def test_anonymous_api_gets_401_json(client):
    response = await client.get("/api/v1/people")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    response = await client.post(
        "/api/v1/people/import", content=b"x", headers={"content-type": "text/csv"}
    )
    assert response.status_code == 401


async def test_checkin_user_forbidden(client):
    await login(client, Role.CHECKIN)
    assert (await client.get("/admin/people")).status_code == 403
    assert (await client.get("/admin/organizations")).status_code == 403
    response = await client.get("/api/v1/people")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    token = await token_for(Role.CHECKIN)
    response = await client.get("/api/v1/people", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 403


async def test_directory_shows_lanaudiere_mrcs_and_clienteles(client):
    await login(client, Role.ORGANIZER)
    response = await client.get("/admin/people")
    assert response.status_code == 200
    html = unescape(response.text)
    for name in LANAUDIERE_MRCS + CLIENTELE_NAMES:
        assert name in html, name
    assert 'href="/admin/people/import"' in html
    assert 'href="/admin/people/export.csv?' in html


async def test_organizer_creates_searches_and_edits(client):
    await login(client, Role.ORGANIZER)
    page = await client.get("/admin/people/new")
    assert page.status_code == 200 and 'for="f-email"' in page.text
    person_id = await create_person(client)
    await create_person(
        client, first_name="Louis", last_name="Côté", email="louis@exemple.qc.ca", territory="2452"
    )

    listing = await client.get("/admin/people", params={"q": "tremb"})
    assert "Tremblay, Émilie" in listing.text and "Côté" not in listing.text
    listing = await client.get("/admin/people", params={"territory": "2452"})
    assert "Côté, Louis" in listing.text and "Tremblay" not in listing.text
    listing = await client.get("/admin/people", params={"clientele": "schools", "page": "1"})
    assert "2 personnes trouvées" in listing.text

    detail = await client.get(f"/admin/people/{person_id}")
    assert detail.status_code == 200 and "emilie@exemple.qc.ca" in detail.text
    response = await client.post(
        f"/admin/people/{person_id}",
        data={
            "first_name": "Émilie",
            "last_name": "Tremblay-Roy",
            "email": "emilie@exemple.qc.ca",
            "language": "en",
            "clientele": "youth",
            "territory": "2464",
            "phone": "450 555-0000",
        },
    )
    assert response.status_code == 303
    person = await Person.get(id=person_id).select_related("territory", "clientele")
    assert (person.last_name, person.language, person.territory.code, person.clientele.code) == (
        "Tremblay-Roy",
        "en",
        "2464",
        "youth",
    )
    assert (await client.get("/admin/people/999999")).status_code == 404


async def test_duplicate_email_refused_with_field_error(client):
    await login(client, Role.ORGANIZER)
    await create_person(client)
    response = await client.post(
        "/admin/people/new",
        data={
            "first_name": "Autre",
            "last_name": "Personne",
            "email": "EMILIE@Exemple.qc.ca",
            "language": "fr",
        },
    )
    assert response.status_code == 409
    assert 'aria-describedby="e-email"' in response.text
    assert "Une personne utilise déjà cette adresse courriel." in unescape(response.text)
    assert 'value="Autre"' in response.text  # what was typed is kept
    assert await Person.all().count() == 1
    bad = await client.post(
        "/admin/people/new", data={"first_name": "", "last_name": "X", "email": "nope"}
    )
    assert bad.status_code == 422
    assert "Adresse courriel invalide." in bad.text and 'id="e-first_name"' in bad.text


async def test_form_without_csrf_refused(client):
    await login(client, Role.ORGANIZER)
    del client.headers["x-csrf-token"]
    response = await client.post(
        "/admin/people/new", data={"first_name": "A", "last_name": "B", "email": "ab@exemple.qc.ca"}
    )
    assert response.status_code == 403
    assert await Person.all().count() == 0


async def test_import_page_with_csrf(client):
    await login(client, Role.ORGANIZER)
    del client.headers["x-csrf-token"]
    page = await client.get("/admin/people/import")
    assert page.status_code == 200
    text, expected = build_csv(good=40)
    files = {"file": ("personnes.csv", text.encode(), "text/csv")}
    refused = await client.post("/admin/people/import", files=files)
    assert refused.status_code == 403
    response = await client.post(
        "/admin/people/import", data={"csrf_token": csrf_from(page.text)}, files=files
    )
    assert response.status_code == 200
    html = unescape(response.text)
    assert "40 créées, 0 mises à jour, 0 inchangées, 10 lignes rejetées." in html
    assert len(expected) == 10
    for line in expected:
        assert f'<th scope="row">{line}</th>' in html
    assert "Courriel invalide : pas-un-courriel." in html
    assert await Person.all().count() == 40


async def test_import_api_multipart_and_raw_csv(client):
    token = await token_for(Role.ORGANIZER)
    auth = {"authorization": f"Bearer {token}"}
    text, expected = build_csv(good=1000)
    response = await client.post(
        "/api/v1/people/import", headers=auth, files={"file": ("p.csv", text.encode(), "text/csv")}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["updated"]) == (1000, 0)
    assert [r["line"] for r in body["rejected"]] == sorted(expected)
    assert all(set(r) == {"line", "error"} for r in body["rejected"])

    changed = text.replace("450 555-0001,", "819 555-0001,")
    response = await client.post(
        "/api/v1/people/import",
        headers=auth | {"content-type": "text/csv; charset=utf-8"},
        content=b"\xef\xbb\xbf" + changed.replace(",", ";").encode(),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["updated"], len(body["rejected"])) == (0, 1, 10)
    assert await Person.all().count() == 1000

    empty = await client.post(
        "/api/v1/people/import", headers=auth | {"content-type": "text/csv"}, content=b""
    )
    assert empty.status_code == 422 and "file" in empty.json()["error"]["fields"]
    wrong = await client.post("/api/v1/people/import", headers=auth, json={"a": 1})
    assert wrong.status_code == 415
    missing = await client.post("/api/v1/people/import", headers=auth, files={"other": ("x", b"y")})
    assert missing.status_code == 422


async def test_reviewer_cannot_import(client):
    token = await token_for(Role.REVIEWER)
    response = await client.post(
        "/api/v1/people/import",
        headers={"authorization": f"Bearer {token}", "content-type": "text/csv"},
        content=b"first_name,last_name,email\nA,B,ab@exemple.qc.ca\n",
    )
    assert response.status_code == 403
    assert await Person.all().count() == 0


async def test_api_search_and_detail(client):
    await login(client, Role.ORGANIZER)
    person_id = await create_person(client)
    await create_person(
        client, first_name="Louis", last_name="Côté", email="louis@exemple.qc.ca", territory="2452"
    )
    token = await token_for(Role.REVIEWER)
    auth = {"authorization": f"Bearer {token}"}
    response = await client.get(
        "/api/v1/people", params={"q": "emilie", "per_page": 10}, headers=auth
    )
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 1 and body["page"] == 1 and body["has_next"] is False
    item = body["items"][0]
    assert item["email"] == "emilie@exemple.qc.ca"
    assert item["territory"] == {"code": "2461", "name": "Joliette"}
    assert item["clientele"]["code"] == "schools"
    body = (await client.get("/api/v1/people", params={"territory": "14"}, headers=auth)).json()
    assert body["total"] == 2
    bad = await client.get("/api/v1/people", params={"page": "zéro"}, headers=auth)
    assert bad.status_code == 422
    detail = await client.get(f"/api/v1/people/{person_id}", headers=auth)
    assert detail.status_code == 200 and detail.json()["consents"] == []
    missing = await client.get("/api/v1/people/999999", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_public_reference_api(client):
    territories = (await client.get("/api/v1/territories")).json()["items"]
    mrcs = {t["name"] for t in territories if t["region_code"] == "14"}
    assert mrcs == set(LANAUDIERE_MRCS)
    assert len([t for t in territories if t["kind"] == "region"]) == 17
    clienteles = (await client.get("/api/v1/clienteles")).json()["items"]
    assert [c["code"] for c in clienteles] == ["youth", "family", "schools", "society"]
    english = (await client.get("/api/v1/clienteles?lang=en")).json()["items"]
    assert english[0]["name"] == "Youth and adults concerned"


async def test_openapi_documents_people_api(client):
    document = (await client.get("/api/v1/openapi.json")).json()
    paths = document["paths"]
    assert "multipart/form-data" in paths["/api/v1/people/import"]["post"]["requestBody"]["content"]
    assert "/api/v1/people/{id}" in paths
    assert "security" not in paths["/api/v1/territories"]["get"]
    assert "ImportResult" in document["components"]["schemas"]


async def test_consents_export_and_erasure_pages(client):
    admin = await login(client, Role.ADMIN)
    assert admin.role == "admin"
    person_id = await create_person(client)
    response = await client.post(
        f"/admin/people/{person_id}/consents",
        data={
            "purpose": "newsletter",
            "granted": "1",
            "wording": "Je veux l'infolettre",
            "source": "téléphone",
        },
    )
    assert response.status_code == 303
    await client.post(
        f"/admin/people/{person_id}/consents", data={"purpose": "newsletter", "granted": "0"}
    )
    bad = await client.post(
        f"/admin/people/{person_id}/consents", data={"purpose": "spam", "granted": "1"}
    )
    assert bad.status_code == 422
    detail = unescape((await client.get(f"/admin/people/{person_id}")).text)
    assert "Je veux l'infolettre" in detail and "Retiré" in detail
    assert await Consent.filter(person_id=person_id).count() == 2

    export = await client.get(f"/admin/people/{person_id}/export")
    assert export.status_code == 200
    assert "attachment" in export.headers["content-disposition"]
    data = json.loads(export.content)
    assert data["person"]["email"] == "emilie@exemple.qc.ca"
    assert [c["granted"] for c in data["consents"]] == [True, False]

    confirm = await client.get(f"/admin/people/{person_id}/erase")
    assert confirm.status_code == 200 and "irréversible" in confirm.text
    unconfirmed = await client.post(f"/admin/people/{person_id}/erase", data={})
    assert unconfirmed.status_code == 422
    assert (await Person.get(id=person_id)).erased_at is None
    done = await client.post(f"/admin/people/{person_id}/erase", data={"confirm": "yes"})
    assert done.status_code == 303
    person = await Person.get(id=person_id)
    assert person.erased_at is not None and person.email is None
    assert await Person.all().count() == 1
    page = unescape((await client.get(f"/admin/people/{person_id}")).text)
    assert "Personne anonymisée" in page and "emilie@exemple.qc.ca" not in page


async def test_organizer_cannot_erase(client):
    await login(client, Role.ORGANIZER)
    person_id = await create_person(client)
    assert (await client.get(f"/admin/people/{person_id}/erase")).status_code == 403
    assert (
        await client.post(f"/admin/people/{person_id}/erase", data={"confirm": "yes"})
    ).status_code == 403
    assert (await Person.get(id=person_id)).erased_at is None


async def test_people_csv_export(client):
    await login(client, Role.ORGANIZER)
    await create_person(client, first_name="=HYPERLINK(1)")
    response = await client.get("/admin/people/export.csv")
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == "first_name,last_name,email,phone,language,organization,clientele,territory"
    assert lines[1].startswith("'=HYPERLINK(1),Tremblay,emilie@exemple.qc.ca")


async def test_organization_pages(client):
    await login(client, Role.ORGANIZER)
    response = await client.post(
        "/admin/organizations/new",
        data={"name": "Ville de Joliette", "sector": "municipal", "territory": "2461"},
    )
    assert response.status_code == 303
    org_url = response.headers["location"]
    duplicate = await client.post(
        "/admin/organizations/new", data={"name": "VILLE DE JOLIETTE", "sector": "other"}
    )
    assert duplicate.status_code == 409 and 'aria-describedby="e-name"' in duplicate.text
    listing = await client.get(
        "/admin/organizations", params={"q": "joliette", "sector": "municipal"}
    )
    assert "Ville de Joliette" in listing.text and "Municipal" in listing.text
    response = await client.post(
        org_url, data={"name": "Ville de Joliette", "sector": "government", "website": "ftp://x"}
    )
    assert response.status_code == 422
    response = await client.post(
        org_url,
        data={
            "name": "Ville de Joliette",
            "sector": "government",
            "website": "https://joliette.exemple.qc.ca",
        },
    )
    assert response.status_code == 303
    page = await client.get(org_url)
    assert page.status_code == 200 and "https://joliette.exemple.qc.ca" in page.text
    assert (await client.get("/admin/organizations/new")).status_code == 200


async def test_reference_page_and_admin_edits(client):
    await seed_plan_items()
    await login(client, Role.ADMIN)
    page = await client.get("/admin/reference")
    html = unescape(page.text)
    assert page.status_code == 200
    for name in LANAUDIERE_MRCS + CLIENTELE_NAMES:
        assert name in html, name
    assert "1.1.3" in html and "Sensibilisation et information" in html
    response = await client.post(
        "/admin/reference/clienteles/family",
        data={
            "name_fr": "Familles et proches",
            "name_en": "Families",
            "position": "2",
            "active": "1",
        },
    )
    assert response.status_code == 303
    assert "Familles et proches" in (await client.get("/admin/reference")).text
    response = await client.post(
        "/admin/reference/territories",
        files={
            "file": (
                "t.csv",
                b"code,kind,name,region_code\n2461,mrc,Joliette (nouveau),14\n",
                "text/csv",
            )
        },
    )
    assert response.status_code == 200
    assert "1 mis à jour" in response.text
    assert (await Territory.get(code="2461")).name == "Joliette (nouveau)"


async def test_reference_edits_need_admin(client):
    await login(client, Role.ORGANIZER)
    page = await client.get("/admin/reference")
    assert page.status_code == 200 and "/admin/reference/clienteles/family" not in page.text
    response = await client.post(
        "/admin/reference/clienteles/family", data={"name_fr": "X", "name_en": "Y", "position": "1"}
    )
    assert response.status_code == 403
