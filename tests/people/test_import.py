"""People CSV import: validation per line, identity by e-mail, re-import, encodings."""

from __future__ import annotations

from core.auth import Principal
from core.models import AuditEntry
from people.imports import import_people_csv
from people.models import Organization, Person

HEADER = "first_name,last_name,email,phone,language,organization,clientele,territory"
MRCS = ["2452", "2460", "2461", "2462", "2463", "2464"]
CLIENTELES = ["youth", "family", "schools", "society"]

# (position among data lines, the bad line, a word the reason must contain)
BAD_LINES = [
    (3, "Luc,Paradis,pas-un-courriel,,fr,,youth,2461", "Courriel invalide"),
    (50, "Anne,Roy,anne.roy@exemple.qc.ca,,fr,,youth,9999", "territoire inconnu : 9999"),
    (120, ",Gagnon,sans.prenom@exemple.qc.ca,,fr,,youth,2461", "Prénom manquant"),
    (200, "Paul,,sans.nom@exemple.qc.ca,,fr,,youth,2461", "Nom manquant"),
    (333, "Jean,Double,PERSONNE5@Exemple.QC.CA,,fr,,youth,2461", "double dans le fichier"),
    (404, "Lise,Martel,lise.martel@exemple.qc.ca,,fr,,aliens,2461", "clientèle inconnu : aliens"),
    (555, "Marc,Hébert,marc.hebert@exemple.qc.ca,,es,,youth,2461", "Langue invalide : es"),
    (666, "Nina,Caron,,,fr,,youth,2461", "Courriel manquant"),
    (777, "Rémi,Boily,remi@boily,,fr,,youth,2461", "Courriel invalide : remi@boily"),
    (888, ",,vide@exemple.qc.ca,,fr,,youth,2461", "Prénom et nom manquants"),
]


def good_line(i: int, phone: str = "") -> str:
    org = f"École test {i % 12}" if i % 3 else ""
    language = "en" if i % 10 == 0 else "fr"
    return (
        f"Prénom{i},Nom{i},personne{i}@exemple.qc.ca,{phone or f'450 555-{i:04d}'},"
        f"{language},{org},{CLIENTELES[i % 4]},{MRCS[i % 6]}"
    )


def build_csv(good: int = 1000, *, bad: bool = True, separator: str = ",") -> tuple[str, dict]:
    """The file and, for each bad line, its line number (header = line 1) and reason."""
    data_lines = [good_line(i) for i in range(good)]
    expected: dict[int, str] = {}
    if bad:
        for position, line, reason in BAD_LINES:
            data_lines.insert(position, line)
        for index, line in enumerate(data_lines):
            for _position, bad_line, reason in BAD_LINES:
                if line == bad_line:
                    expected[index + 2] = reason
    text = "\n".join([HEADER, *data_lines]) + "\n"
    if separator != ",":
        text = text.replace(",", separator)
    return text, expected


def system() -> Principal:
    return Principal.system("tests")


async def test_import_thousand_good_ten_bad(db):
    text, expected = build_csv()
    report = await import_people_csv(system(), text.encode())

    assert report.created == 1000
    assert report.updated == 0
    assert await Person.all().count() == 1000
    assert [r["line"] for r in report.rejected] == sorted(expected)
    for item in report.rejected:
        assert expected[item["line"]].lower() in item["error"].lower(), item
    # The duplicate points back to the first occurrence: personne5 is the 7th data line
    # (a bad line was inserted before it), so line 8 of the file.
    duplicate = next(r for r in report.rejected if "double" in r["error"])
    assert "ligne 8)" in duplicate["error"]
    person = await Person.get(email_key="personne7@exemple.qc.ca").select_related(
        "organization", "clientele", "territory"
    )
    assert (person.first_name, person.last_name) == ("Prénom7", "Nom7")
    assert person.organization.name == "École test 7"
    assert person.clientele.code == "society"
    assert person.territory.code == "2460"
    assert await Organization.all().count() == 8
    entry = await AuditEntry.get(action="people.imported")
    assert entry.details["created"] == 1000 and entry.details["rejected"] == 10


async def test_reimport_updates_instead_of_duplicating(db):
    text, _expected = build_csv()
    await import_people_csv(system(), text.encode())

    again = await import_people_csv(system(), text.encode())
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1000)
    assert len(again.rejected) == 10
    assert await Person.all().count() == 1000
    assert await Organization.all().count() == 8

    # 25 people changed their phone; one changed the case of her e-mail; two new people.
    lines = text.splitlines()
    changed = 0
    for index, line in enumerate(lines):
        if line.startswith("Prénom") and changed < 25 and ",450 555-" in line:
            lines[index] = line.replace(",450 555-", ",819 555-")
            changed += 1
    lines = [ln.replace("personne999@", "PERSONNE999@") for ln in lines]
    lines.append(good_line(5000))
    lines.append(good_line(5001))
    third = await import_people_csv(system(), ("\n".join(lines) + "\n").encode())
    assert third.created == 2
    assert third.updated == 26
    assert third.unchanged == 1000 - 26
    assert await Person.all().count() == 1002
    person = await Person.get(email_key="personne999@exemple.qc.ca")
    assert person.email == "PERSONNE999@exemple.qc.ca"
    assert await Person.filter(phone__startswith="+1819555").count() == 25  # stored E.164


async def test_empty_cells_keep_known_values(db):
    await import_people_csv(
        system(),
        f"{HEADER}\nAna,Lee,ana@exemple.qc.ca,450 555-0123,en,Org A,youth,2461\n".encode(),
    )
    report = await import_people_csv(
        system(), f"{HEADER}\nAna,Lee,ana@exemple.qc.ca,,,,,\n".encode()
    )
    assert (report.updated, report.unchanged) == (0, 1)
    person = await Person.get(email_key="ana@exemple.qc.ca").select_related(
        "organization", "territory"
    )
    assert (person.phone, person.language, person.organization.name, person.territory.code) == (
        "+14505550123",
        "en",
        "Org A",
        "2461",
    )


async def test_bom_and_semicolon_accepted(db):
    text, expected = build_csv(good=30, bad=False, separator=";")
    data = b"\xef\xbb\xbf" + text.encode("utf-8")
    report = await import_people_csv(system(), data)
    assert (report.created, report.rejected) == (30, [])
    assert not expected
    person = await Person.get(email_key="personne4@exemple.qc.ca")
    assert person.first_name == "Prénom4"  # accents survive, BOM not in the first column


async def test_windows_1252_and_blank_lines_keep_line_numbers(db):
    text = (
        f"{HEADER}\r\nÉlise,Gagné,elise@exemple.qc.ca,,fr,,youth,2461\r\n"
        "\r\nBad,Line,nope,,fr,,,\r\n"
    )
    report = await import_people_csv(system(), text.encode("cp1252"))
    assert report.created == 1
    assert report.rejected == [{"line": 4, "error": "Courriel invalide : nope."}]
    assert (await Person.get(email_key="elise@exemple.qc.ca")).first_name == "Élise"


async def test_missing_columns_rejects_the_file(db):
    report = await import_people_csv(system(), b"prenom,nom\nA,B\n")
    assert report.created == 0
    assert report.rejected[0]["line"] == 1
    assert "Colonnes manquantes" in report.rejected[0]["error"]
    assert await Person.all().count() == 0


async def test_clientele_code_case_insensitive_and_region_territory(db):
    report = await import_people_csv(
        system(), f"{HEADER}\nA,B,ab@exemple.qc.ca,,,,Youth,14\n".encode()
    )
    assert report.created == 1, report.rejected
    person = await Person.get(email_key="ab@exemple.qc.ca").select_related("clientele", "territory")
    assert (person.clientele.code, person.territory.name) == ("youth", "Lanaudière")


async def test_export_neutralizes_every_text_column(db):
    """Issue 13: the e-mail column goes through the spreadsheet guard like the others."""
    from people.imports import export_people_csv
    from people.service import email_key

    await Person.create(
        first_name="Émilie",
        last_name="Formule",
        email="=1+1@example.org",
        email_key=email_key("=1+1@example.org"),
        language="fr",
    )
    text = await export_people_csv(system())
    lines = text.lstrip("\ufeff").splitlines()
    [row] = [line for line in lines if "Formule" in line]
    assert row.startswith("Émilie,Formule,'=1+1@example.org,")
