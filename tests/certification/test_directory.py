"""The public directory of certified employers: only employers certified now who consented
appear; filters by MRC (or region), sector and level; the page is escaped and paginated;
the partners' JSON and CSV (UTF-8 BOM, formulas neutralized) say the same."""

from __future__ import annotations

import csv
import html
import io
from datetime import UTC, datetime, timedelta

from campaigns.certification.models import CertificateStatus
from tests.certification.certified import certified, program

NOW = datetime.now(UTC)
API = "/api/v1/certification/directory"


async def names(client, query: str = "") -> list[str]:
    response = await client.get(API + query)
    assert response.status_code == 200, response.text
    return [item["employer"] for item in response.json()["items"]]


async def test_only_current_consenting_employers_are_listed(client):
    prog = await program()
    await certified(prog, "Quincaillerie Beaulieu")
    await certified(prog, "Marché Lachenaie", status=CertificateStatus.EXPIRING)
    await certified(prog, "Discret inc.", publish=False)
    await certified(prog, "Révoqué ltée", status=CertificateStatus.REVOKED, revoked_at=NOW)
    await certified(
        prog,
        "Échu enr.",
        status=CertificateStatus.LAPSED,
        issued_at=NOW - timedelta(days=800),
        valid_until=NOW - timedelta(days=60),
    )
    await certified(
        prog, "Expiré hier", issued_at=NOW - timedelta(days=731), valid_until=NOW - timedelta(1)
    )
    assert await names(client) == ["Marché Lachenaie", "Quincaillerie Beaulieu"]
    page = await client.get("/certification/repertoire")
    assert page.status_code == 200
    assert "Quincaillerie Beaulieu" in page.text
    assert "Marché Lachenaie" in page.text
    for hidden in ("Discret inc.", "Révoqué ltée", "Échu enr.", "Expiré hier"):
        assert hidden not in page.text


async def test_filters_by_mrc_region_sector_and_level(client):
    prog = await program()
    await certified(prog, "A Joliette commerce", territory="2461", sector="retail", level="or")
    await certified(prog, "B Joliette resto", territory="2461", sector="food_service")
    await certified(prog, "C Matawinie", territory="2462", sector="retail", level="bronze")
    await certified(prog, "D Québec", territory="2423", sector="retail", level="or")
    assert await names(client, "?territory=2461") == ["A Joliette commerce", "B Joliette resto"]
    assert await names(client, "?territory=14") == [
        "A Joliette commerce",
        "B Joliette resto",
        "C Matawinie",
    ]
    assert await names(client, "?sector=retail&territory=14") == [
        "A Joliette commerce",
        "C Matawinie",
    ]
    assert await names(client, "?level=or") == ["A Joliette commerce", "D Québec"]
    assert await names(client, "?territory=9999") == []
    page = await client.get("/certification/repertoire?territory=2462")
    assert "C Matawinie" in page.text
    assert "A Joliette commerce" not in page.text
    # The MRC choices are those with listed employers.
    assert '<option value="2462" selected>Matawinie</option>' in page.text
    assert '<option value="2423">Québec</option>' in page.text
    assert '<option value="2452"' not in page.text


async def test_entries_carry_public_facts_only(client):
    prog = await program()
    cert = await certified(prog, "Quincaillerie Beaulieu", territory="2463", level="argent")
    item = (await client.get(API)).json()["items"][0]
    assert item == {
        "employer": "Quincaillerie Beaulieu",
        "sector": "retail",
        "sector_label": "Commerce de détail",
        "territory": {"code": "2463", "name": "Montcalm"},
        "level": {"code": "argent", "name": "Argent"},
        "program": prog.name,
        "certified_since": item["certified_since"],
        "valid_until": item["valid_until"],
        "verify_url": f"http://testserver/certification/verify/{cert.code}",
    }
    assert datetime.fromisoformat(item["valid_until"]).date() > NOW.date()


async def test_bad_filters_are_refused_with_field_errors(client):
    bad = await client.get(API + "?sector=banque")
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"] == {"sector": "Secteur inconnu."}
    assert (await client.get(API + "?territory=" + "1" * 11)).status_code == 422
    assert (await client.get(API + "?format=xlsx")).status_code == 422
    assert (await client.get(API + "?per_page=0")).status_code == 422
    assert (await client.get(API + "?per_page=201")).status_code == 422
    page = await client.get("/certification/repertoire?sector=banque")
    assert page.status_code == 200
    assert "Secteur inconnu." in page.text


async def test_script_in_a_name_is_escaped_on_the_page(client):
    await certified(await program(), '<img src=x onerror="alert(1)"> Boutique')
    page = await client.get("/certification/repertoire")
    assert "<img src=x" not in page.text
    assert "&lt;img src=x" in page.text


async def test_pages_of_25(client):
    prog = await program()
    for n in range(30):
        await certified(prog, f"Employeur {n:02d}", students=1)
    first = await client.get("/certification/repertoire")
    assert "30 employeurs certifiés" in first.text
    assert "Employeur 24" in first.text and "Employeur 25" not in first.text
    assert 'href="?page=2"' in first.text
    second = await client.get("/certification/repertoire?page=2")
    assert "Employeur 25" in second.text and "Employeur 24" not in second.text
    body = (await client.get(API + "?per_page=10&page=3")).json()
    assert body["total"] == 30
    assert [i["employer"] for i in body["items"]][0] == "Employeur 20"


async def test_csv_for_partners(client):
    prog = await program()
    await certified(prog, '=HYPERLINK("http://x")', territory="2461")
    await certified(prog, "Boulangerie L’Œuf d’or", territory="2464", level="or")
    await certified(prog, "Ailleurs", territory="2423")
    response = await client.get(API + "?format=csv&territory=14")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["Employeur", "Secteur", "Code MRC", "MRC ou territoire", "Niveau"]
    assert [r[0] for r in rows[1:]] == ['\'=HYPERLINK("http://x")', "Boulangerie L’Œuf d’or"]
    assert rows[2][2:5] == ["2464", "Les Moulins", "Or"]
    assert rows[2][8].startswith("http://testserver/certification/verify/")
    page = await client.get("/certification/repertoire?territory=14")
    assert html.escape(API + "?territory=14&format=csv") in page.text


async def test_openapi_documents_the_directory(client):
    document = (await client.get("/api/v1/openapi.json")).json()
    operation = document["paths"]["/api/v1/certification/directory"]["get"]
    params = {p["name"]: p["schema"] for p in operation["parameters"]}
    assert params["territory"] == {"type": "string", "maxLength": 10}
    assert "retail" in params["sector"]["enum"]
    assert params["format"]["enum"] == ["json", "csv", ""]
    content = operation["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/csv"}
    item = content["application/json"]["schema"]["properties"]["items"]["items"]
    assert item["properties"]["employer"]["maxLength"] == 200
    assert "security" not in operation
    verify = document["paths"]["/api/v1/certification/verify/{code}"]["get"]
    assert {"200", "404", "410"} <= set(verify["responses"])
