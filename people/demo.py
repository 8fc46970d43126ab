"""Demo people and organizations for `rassembleur demo` (fictional, e-mails on exemple.qc.ca).

About sixty people and fifteen organizations spread over the six MRCs of Lanaudière
(region 14), with a few partners elsewhere in Québec, and consent ledger entries.
Idempotent: nothing is added when the directory already holds people.
"""

from __future__ import annotations

import unicodedata

from tortoise.transactions import in_transaction

from people.models import (
    Clientele,
    Consent,
    ConsentPurpose,
    Organization,
    Person,
    Sector,
    Territory,
)
from people.service import email_key, name_key

# (name, sector, territory code, website)
DEMO_ORGANIZATIONS: list[tuple[str, Sector, str, str]] = [
    ("École secondaire des Chutes (Joliette)", Sector.EDUCATION, "2461", ""),
    ("École secondaire du Havre-Jeunesse", Sector.EDUCATION, "2464", ""),
    ("École primaire des Berges", Sector.EDUCATION, "2460", ""),
    ("Centre de formation professionnelle Lanaudière-Nord", Sector.EDUCATION, "2452", ""),
    ("Cégep régional de Lanaudière (démo)", Sector.EDUCATION, "2460", ""),
    ("Maison des jeunes de Rawdon", Sector.COMMUNITY, "2462", ""),
    ("Carrefour jeunesse-emploi Montcalm", Sector.COMMUNITY, "2463", ""),
    ("Parents partenaires de Terrebonne", Sector.COMMUNITY, "2464", ""),
    ("Ville de Joliette (démo)", Sector.MUNICIPAL, "2461", ""),
    ("Municipalité de Saint-Donat (démo)", Sector.MUNICIPAL, "2462", ""),
    ("MRC de D'Autray (démo)", Sector.MUNICIPAL, "2452", ""),
    (
        "Quincaillerie Beaulieu et fils",
        Sector.BUSINESS,
        "2463",
        "https://quincaillerie.exemple.qc.ca",
    ),
    ("Fromagerie du Rang-Double", Sector.BUSINESS, "2452", ""),
    ("Marché Lachenaie", Sector.BUSINESS, "2464", ""),
    ("CISSS de Lanaudière (démo)", Sector.HEALTH, "14", ""),
    ("Table régionale de Chaudière-Appalaches (démo)", Sector.COMMUNITY, "12", ""),
    ("Université du Québec, équipe de recherche (démo)", Sector.RESEARCH, "16", ""),
]

FIRST_NAMES = [
    "Émilie",
    "Mathieu",
    "Sophie",
    "Jérôme",
    "Catherine",
    "Olivier",
    "Geneviève",
    "Maxime",
    "Isabelle",
    "Félix",
    "Marie-Ève",
    "Samuel",
    "Julie",
    "Antoine",
    "Véronique",
    "Gabriel",
    "Chantal",
    "Louis",
    "Annie",
    "Étienne",
    "Mélanie",
    "Simon",
    "Nathalie",
    "Alexandre",
    "Karine",
    "Philippe",
    "Josée",
    "William",
    "Audrey",
    "Francis",
]
LAST_NAMES = [
    "Tremblay",
    "Gagnon",
    "Roy",
    "Côté",
    "Bouchard",
    "Gauthier",
    "Morin",
    "Lavoie",
    "Fortin",
    "Gagné",
    "Ouellet",
    "Pelletier",
    "Bélanger",
    "Lévesque",
    "Bergeron",
    "Leblanc",
    "Paquette",
    "Girard",
    "Simard",
    "Boucher",
    "Caron",
    "Beaulieu",
    "Cloutier",
    "Dubé",
    "Poirier",
    "Fournier",
    "Lapointe",
    "Leclerc",
    "Lefebvre",
    "Poulin",
    "Thibault",
    "St-Pierre",
]
LANAUDIERE_MRCS = ["2452", "2460", "2461", "2462", "2463", "2464"]
CLIENTELE_CODES = ["youth", "family", "schools", "society"]
DEMO_PEOPLE_COUNT = 60


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum() or ch == "-")


def demo_people_rows() -> list[dict[str, str]]:
    """The demo people as plain rows (deterministic)."""
    rows: list[dict[str, str]] = []
    for i in range(DEMO_PEOPLE_COUNT):
        first = FIRST_NAMES[i % len(FIRST_NAMES)]
        last = LAST_NAMES[(i * 7) % len(LAST_NAMES)]
        organization = DEMO_ORGANIZATIONS[i % len(DEMO_ORGANIZATIONS)]
        # Most people live in Lanaudière; every tenth one is elsewhere (region or MRC).
        territory = organization[2] if i % 10 == 9 else LANAUDIERE_MRCS[i % 6]
        clientele = {
            Sector.EDUCATION: "schools",
            Sector.COMMUNITY: "family" if i % 2 else "schools",
            Sector.MUNICIPAL: "society",
            Sector.BUSINESS: "society",
        }.get(organization[1], CLIENTELE_CODES[i % 4])
        if i % 6 == 0:
            clientele = "youth"
        rows.append(
            {
                "first_name": first,
                "last_name": last,
                "email": f"{_ascii(first)}.{_ascii(last)}{i}@exemple.qc.ca",
                "phone": f"450 555-{1000 + i * 37:04d}",
                "language": "en" if i % 15 == 7 else "fr",
                "organization": organization[0],
                "clientele": clientele,
                "territory": territory,
            }
        )
    return rows


async def load_demo_people() -> str:
    """Add the demo organizations, people and consents unless people already exist."""
    if await Person.exists():
        return "répertoire déjà rempli : aucune personne de démonstration ajoutée"
    territories = {t.code: t for t in await Territory.all()}
    clienteles = {c.code: c for c in await Clientele.all()}
    async with in_transaction():
        organizations: dict[str, Organization] = {o.name_key: o for o in await Organization.all()}
        org_created = 0
        for name, sector, territory_code, website in DEMO_ORGANIZATIONS:
            key = name_key(name)
            if key in organizations:
                continue
            organizations[key] = await Organization.create(
                name=name,
                name_key=key,
                sector=sector,
                territory=territories.get(territory_code),
                website=website,
            )
            org_created += 1
        people = 0
        for i, row in enumerate(demo_people_rows()):
            person = await Person.create(
                first_name=row["first_name"],
                last_name=row["last_name"],
                email=row["email"],
                email_key=email_key(row["email"]),
                phone=row["phone"],
                language=row["language"],
                organization=organizations[name_key(row["organization"])],
                clientele=clienteles.get(row["clientele"]),
                territory=territories.get(row["territory"]),
            )
            people += 1
            await Consent.create(
                person=person,
                purpose=ConsentPurpose.EVENT_COMMUNICATIONS,
                granted=True,
                source="demo",
                wording="J'accepte de recevoir des communications sur les événements.",
            )
            if i % 3 == 0:
                await Consent.create(
                    person=person,
                    purpose=ConsentPurpose.NEWSLETTER,
                    granted=True,
                    source="demo",
                    wording="Je souhaite recevoir l'infolettre.",
                )
            if i % 9 == 0:
                await Consent.create(
                    person=person,
                    purpose=ConsentPurpose.NEWSLETTER,
                    granted=False,
                    source="unsubscribe",
                    wording="Désabonnement de l'infolettre.",
                )
    return f"{people} personnes et {org_created} organismes de démonstration ajoutés"
