"""Demo events for `rassembleur demo` (fictional; Lanaudière, region 14).

- the JPS 2027 edition (15–19 February 2027) with fifteen partner activities across the six
  MRCs of Lanaudière, with varied clienteles, days and hours;
- the annual launch "Lancement du portrait régional 2027" and its six territorial launches
  (created by `create_territorial_children`, then given venues and times, published);
- three regional events of other kinds: a colloque, a training (capacity and waitlist)
  and a committee meeting.

Idempotent: nothing is added when events already exist. Organizations and plan items from
the people demo are used when present.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core.auth import Principal
from core.settings import local_tz
from events import editions, service
from events.models import Event
from events.schemas import EventIn
from people.models import Organization, PlanItem
from people.service import name_key

ACTOR = Principal.system("demo")

# MRC codes of Lanaudière (people/data/territories.csv).
D_AUTRAY, L_ASSOMPTION, JOLIETTE, MATAWINIE, MONTCALM, LES_MOULINS = (
    "2452",
    "2460",
    "2461",
    "2462",
    "2463",
    "2464",
)

# (title, MRC, clienteles, day of February 2027, start, end, venue, address, organization,
#  description)
JPS_ACTIVITIES: list[tuple[str, str, list[str], int, str, str, str, str, str, str]] = [
    (
        "Mur des encouragements à l'école secondaire des Chutes",
        JOLIETTE,
        ["youth", "schools"],
        16,
        "09:00",
        "15:30",
        "École secondaire des Chutes",
        "1200, boulevard Base-de-Roc, Joliette",
        "École secondaire des Chutes (Joliette)",
        "Les élèves, le personnel et les parents écrivent un mot d'encouragement sur le grand "
        "mur de l'agora.\nLes messages restent affichés jusqu'à la fin de l'année scolaire.",
    ),
    (
        "Conférence : parler d'avenir avec son ado",
        JOLIETTE,
        ["family"],
        16,
        "19:00",
        "20:30",
        "Maison de la culture de Joliette (démo)",
        "585, rue Archambault, Joliette",
        "Ville de Joliette (démo)",
        "Une psychoéducatrice donne des pistes concrètes pour soutenir la motivation scolaire "
        "à la maison. Période de questions à la fin.",
    ),
    (
        "Déjeuner de reconnaissance des intervenantes et intervenants",
        JOLIETTE,
        ["schools"],
        19,
        "07:30",
        "09:00",
        "Centre administratif du CISSS (démo)",
        "260, rue Lavaltrie Sud, Joliette",
        "CISSS de Lanaudière (démo)",
        "Un déjeuner pour remercier celles et ceux qui accompagnent les jeunes au quotidien.",
    ),
    (
        "Dîner-causerie des employeurs conciliants études-travail",
        D_AUTRAY,
        ["society"],
        16,
        "11:45",
        "13:15",
        "Fromagerie du Rang-Double",
        "455, rang Double, Saint-Cuthbert",
        "Fromagerie du Rang-Double",
        "Des employeurs de D'Autray partagent leurs pratiques pour que les élèves qui "
        "travaillent gardent le cap sur leurs études.",
    ),
    (
        "Exposition des projets d'élèves en formation professionnelle",
        D_AUTRAY,
        ["youth", "family"],
        18,
        "13:00",
        "16:00",
        "Centre de formation professionnelle Lanaudière-Nord",
        "250, rue de Champlain, Berthierville",
        "Centre de formation professionnelle Lanaudière-Nord",
        "Soudage, cuisine, mécanique agricole : les élèves présentent leurs réalisations.",
    ),
    (
        "Soirée pyjama « Lecture sous la couverture »",
        L_ASSOMPTION,
        ["youth", "family"],
        15,
        "18:30",
        "20:00",
        "Bibliothèque municipale de Repentigny (démo)",
        "1, place d'Évry, Repentigny",
        "École primaire des Berges",
        "Les tout-petits et leurs parents viennent en pyjama écouter des histoires. "
        "Chaque enfant repart avec un livre.",
    ),
    (
        "Portes ouvertes : un métier, une passion",
        L_ASSOMPTION,
        ["youth"],
        17,
        "09:00",
        "12:00",
        "Cégep régional de Lanaudière (démo)",
        "180, rue Dorval, L'Assomption",
        "Cégep régional de Lanaudière (démo)",
        "Visite des laboratoires et rencontres avec des étudiantes et étudiants des programmes "
        "techniques.",
    ),
    (
        "Midi-conférence des élus pour la persévérance scolaire",
        L_ASSOMPTION,
        ["society"],
        15,
        "12:00",
        "13:00",
        "Hôtel de ville de L'Assomption (démo)",
        "399, rue Dorval, L'Assomption",
        "",
        "Les élus municipaux de la MRC signent la déclaration d'engagement envers la "
        "persévérance scolaire.",
    ),
    (
        "Ruban vert et blanc à la Maison des jeunes",
        MATAWINIE,
        ["youth"],
        17,
        "15:30",
        "18:00",
        "Maison des jeunes de Rawdon",
        "3590, rue Metcalfe, Rawdon",
        "Maison des jeunes de Rawdon",
        "Atelier de fabrication de rubans, collation et discussion sur ce qui aide à rester "
        "motivé à l'école.",
    ),
    (
        "Randonnée de la persévérance",
        MATAWINIE,
        ["youth", "family", "society"],
        19,
        "13:00",
        "15:30",
        "Parc des Pionniers (démo)",
        "Chemin Régimbald, Saint-Donat",
        "Municipalité de Saint-Donat (démo)",
        "Une marche en raquettes ouverte à toute la population, avec chocolat chaud à l'arrivée.",
    ),
    (
        "Atelier CV et entrevue pour les 16-20 ans",
        MONTCALM,
        ["youth"],
        16,
        "13:30",
        "15:30",
        "Carrefour jeunesse-emploi Montcalm",
        "3, rue Saint-Jacques, Saint-Lin–Laurentides",
        "Carrefour jeunesse-emploi Montcalm",
        "Préparer son premier emploi d'été sans mettre ses études de côté.",
    ),
    (
        "Remise des certificats aux employeurs engagés",
        MONTCALM,
        ["society"],
        18,
        "17:00",
        "18:30",
        "Quincaillerie Beaulieu et fils",
        "120, rue Principale, Sainte-Julienne",
        "Quincaillerie Beaulieu et fils",
        "Les employeurs qui favorisent la conciliation études-travail reçoivent leur certificat.",
    ),
    (
        "Café-rencontre des parents partenaires",
        LES_MOULINS,
        ["family"],
        17,
        "09:30",
        "11:00",
        "Centre communautaire de La Plaine (démo)",
        "6900, rue Guérin, Terrebonne",
        "Parents partenaires de Terrebonne",
        "Échanges entre parents sur la transition primaire-secondaire.",
    ),
    (
        "Spectacle des finissantes et finissants",
        LES_MOULINS,
        ["youth", "family", "schools"],
        18,
        "19:00",
        "21:00",
        "École secondaire du Havre-Jeunesse",
        "1460, chemin Gascon, Terrebonne",
        "École secondaire du Havre-Jeunesse",
        "Musique, théâtre et danse : les élèves de cinquième secondaire montent sur scène.",
    ),
    (
        "Kiosque de la persévérance au marché",
        LES_MOULINS,
        ["society", "family"],
        19,
        "10:00",
        "14:00",
        "Marché Lachenaie",
        "3000, montée des Pionniers, Terrebonne",
        "Marché Lachenaie",
        "Venez écrire un mot d'encouragement à un jeune de votre entourage.",
    ),
]

# MRC code -> (venue, address, local start "YYYY-MM-DDTHH:MM") for the territorial launches.
LAUNCH_VENUES: dict[str, tuple[str, str, str]] = {
    D_AUTRAY: (
        "Salle municipale de Berthierville (démo)",
        "588, rue Montcalm, Berthierville",
        "2027-10-26T09:00",
    ),
    L_ASSOMPTION: ("Salle Désilets (démo)", "180, rue Dorval, L'Assomption", "2027-10-27T09:00"),
    JOLIETTE: (
        "Centre culturel de Joliette (démo)",
        "20, rue Saint-Charles-Borromée Sud, Joliette",
        "2027-10-28T09:00",
    ),
    MATAWINIE: (
        "Salle communautaire de Rawdon (démo)",
        "3588, rue Metcalfe, Rawdon",
        "2027-11-02T13:30",
    ),
    MONTCALM: (
        "Centre multifonctionnel de Saint-Esprit (démo)",
        "21, rue Principale, Saint-Esprit",
        "2027-11-03T09:00",
    ),
    LES_MOULINS: ("Cité GenAction (démo)", "2125, chemin Comtois, Terrebonne", "2027-11-04T09:00"),
}


async def _organizations() -> dict[str, Organization]:
    return {o.name_key: o for o in await Organization.all()}


def _org_id(organizations: dict[str, Organization], name: str) -> int | None:
    organization = organizations.get(name_key(name)) if name else None
    return organization.id if organization else None


async def _plan_codes(*codes: str) -> list[str]:
    items = await PlanItem.filter(code__in=list(codes))
    return [item.code for item in items]


async def _create(values: dict[str, Any], *, publish: bool = True) -> Event:
    event = await service.create_event(ACTOR, EventIn.model_validate(values))
    if publish:
        await service.publish_event(ACTOR, event.id)
    return event


async def load_demo_events() -> str:
    """Add the demo events unless events already exist; returns a one-line summary."""
    if await Event.exists():
        return "événements déjà présents : aucun événement de démonstration ajouté"
    organizations = await _organizations()
    cisss = _org_id(organizations, "CISSS de Lanaudière (démo)")
    cegep = _org_id(organizations, "Cégep régional de Lanaudière (démo)")
    contact = {
        "contact_name": "Équipe de la persévérance scolaire",
        "contact_email": "info@exemple.qc.ca",
        "contact_phone": "450 555-0100",
    }
    count = 0

    # --- JPS 2027 -------------------------------------------------------------------
    jps = await _create(
        {
            "title": "Journées de la persévérance scolaire 2027",
            "kind": "perseverance_days",
            "all_day": True,
            "starts_at": "2027-02-15",
            "ends_at": "2027-02-19",
            "venue_name": "Partout dans Lanaudière",
            "territory": "14",
            "clienteles": ["youth", "family", "schools", "society"],
            "plan_items": await _plan_codes("1.1.3"),
            "registration_enabled": False,
            "description": (
                "Chaque année en février, les Journées de la persévérance scolaire rappellent "
                "que la réussite des jeunes est l'affaire de toute la communauté.\n"
                "Écoles, organismes, municipalités et employeurs proposent des activités "
                "partout dans la région. Portez le ruban vert et blanc!"
            ),
            "organizer_organization_id": cisss,
            **contact,
        }
    )
    count += 1
    for index, row in enumerate(JPS_ACTIVITIES):
        title, mrc, clienteles, day, start, end, venue, address, org, description = row
        values: dict[str, Any] = {
            "title": title,
            "kind": "activity",
            "parent_id": jps.id,
            "starts_at": f"2027-02-{day:02d}T{start}",
            "ends_at": f"2027-02-{day:02d}T{end}",
            "venue_name": venue,
            "address": address,
            "territory": mrc,
            "clienteles": clienteles,
            "description": description,
            "organizer_organization_id": _org_id(organizations, org),
            "registration_enabled": index % 3 != 2,
            "expected_participants": 20 + (index * 17) % 120,
            "plan_items": await _plan_codes("1.1.3"),
        }
        if index % 4 == 1:
            values["capacity"] = 40 + index * 5
        await _create(values)
        count += 1

    # --- Annual launch and its six territorial launches ------------------------------
    launch = await _create(
        {
            "title": "Lancement du portrait régional 2027",
            "kind": "annual_launch",
            "starts_at": "2027-10-21T09:00",
            "ends_at": "2027-10-21T11:30",
            "venue_name": "Centre culturel de Joliette (démo)",
            "address": "20, rue Saint-Charles-Borromée Sud, Joliette",
            "territory": "14",
            "clienteles": ["schools", "society"],
            "plan_items": await _plan_codes("1.1.1", "2.2.1"),
            "capacity": 150,
            "description": (
                "Dévoilement du portrait statistique régional de la persévérance et de la "
                "réussite scolaires.\nSuivi des lancements dans chacune des six MRC."
            ),
            "organizer_organization_id": cisss,
            "partners": [{"organization_id": cisss, "role": "fiduciary"}] if cisss else [],
            **contact,
        }
    )
    count += 1
    children = await editions.create_territorial_children(ACTOR, launch.id)
    for child in children:
        await child.fetch_related("territory")
        code = child.territory.code if child.territory else ""
        venue, address, start = LAUNCH_VENUES.get(
            code, ("Salle communautaire (démo)", "Lanaudière", "2027-11-05T09:00")
        )
        starts = datetime.fromisoformat(start).replace(tzinfo=local_tz())
        child.venue_name = venue
        child.address = address
        child.starts_at = starts
        child.ends_at = starts + timedelta(hours=2)
        child.capacity = 60
        await child.save()
        await service.publish_event(ACTOR, child.id)
        count += 1

    # --- Three regional events of other kinds ----------------------------------------
    await _create(
        {
            "title": "Colloque régional sur la réussite éducative",
            "kind": "regional_event",
            "starts_at": "2027-04-22T08:30",
            "ends_at": "2027-04-22T16:00",
            "venue_name": "Cégep régional de Lanaudière (démo)",
            "address": "20, rue Saint-Charles-Borromée Sud, Joliette",
            "territory": JOLIETTE,
            "clienteles": ["schools", "society", "family"],
            "plan_items": await _plan_codes("2.1.2", "2.2.1"),
            "capacity": 250,
            "registration_closes_at": "2027-04-15T17:00",
            "description": (
                "Une journée de conférences et d'ateliers pour les milieux scolaires, "
                "communautaires, municipaux et les employeurs.\n"
                "Dîner inclus. Attestation de participation remise sur demande."
            ),
            "organizer_organization_id": cisss,
            "partners": [
                p
                for p in (
                    {"organization_id": cisss, "role": "fiduciary"} if cisss else None,
                    {"organization_id": cegep, "role": "host"} if cegep else None,
                )
                if p
            ],
            **contact,
        }
    )
    await _create(
        {
            "title": "Formation : accompagner les jeunes à risque de décrochage",
            "kind": "training",
            "starts_at": "2027-03-10T09:00",
            "ends_at": "2027-03-10T12:00",
            "mode": "hybrid",
            "venue_name": "Carrefour jeunesse-emploi Montcalm",
            "address": "3, rue Saint-Jacques, Saint-Lin–Laurentides",
            "online_url": "https://visio.exemple.qc.ca/formation-decrochage",
            "territory": MONTCALM,
            "clienteles": ["schools"],
            "plan_items": await _plan_codes("4.1.1", "4.3.1"),
            "capacity": 30,
            "waitlist": True,
            "registration_opens_at": "2027-01-11T09:00",
            "registration_closes_at": "2027-03-08T17:00",
            "description": (
                "Repérer les signes de décrochage et intervenir tôt : une formation pratique "
                "pour le personnel scolaire et les intervenants communautaires."
            ),
            **contact,
        }
    )
    await _create(
        {
            "title": "Rencontre du comité régional de concertation",
            "kind": "meeting",
            "starts_at": "2027-01-27T13:30",
            "ends_at": "2027-01-27T15:30",
            "mode": "hybrid",
            "venue_name": "Salle du conseil, MRC de D'Autray (démo)",
            "address": "550, rue Montcalm, Berthierville",
            "online_url": "https://visio.exemple.qc.ca/comite-regional",
            "territory": D_AUTRAY,
            "clienteles": ["schools", "society"],
            "requires_approval": True,
            "description": "Suivi du plan d'action régional et préparation des JPS 2027.",
            "organizer_organization_id": _org_id(organizations, "MRC de D'Autray (démo)"),
            **contact,
        }
    )
    count += 3
    return (
        f"{count} événements de démonstration ajoutés (JPS 2027 et "
        f"{len(JPS_ACTIVITIES)} activités, lancement et {len(children)} lancements "
        "territoriaux, 3 événements régionaux)"
    )
