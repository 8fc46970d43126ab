"""People directory services: reference data, people, organizations, consent, import, export.

No HTTP here: every operation takes the calling `Principal` first and checks its right
itself (`authorize`), validates, writes in one transaction and records an audit entry.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from email_validator import EmailNotValidError, validate_email
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core import db
from core.audit import audit
from core.auth import Principal, authorize
from core.errors import Conflict, NotFound, ValidationFailed
from core.i18n import N_, _
from core.mail.outbox import forget_person_messages, messages_for_person
from core.paging import page_number
from core.spreadsheet import neutralize_formula
from people.models import (
    Clientele,
    Consent,
    ConsentPurpose,
    Organization,
    Person,
    PlanItem,
    PlanLevel,
    Sector,
    Territory,
    TerritoryKind,
)
from people.schemas import ClienteleIn, ClienteleNew, ConsentIn, OrganizationIn, PersonIn
from people.signals import PersonErasing, PersonExporting, person_erasing, person_exporting

DATA_DIR = Path(__file__).resolve().parent / "data"
TERRITORIES_CSV = DATA_DIR / "territories.csv"
# Plan d'action tree, transcribed from seed 003 (Chaudière-Appalaches "Plan d'action
# 2012-2017", enjeu 1 : persévérance scolaire): axes A-D, orientations 1-7, objectives
# and actions with their target clienteles (1 youth, 2 family, 3 schools, 4 society).
PLAN_ITEMS_CSV = DATA_DIR / "plan_items.csv"

# The four default target clienteles (DESIGN.md glossary). Codes are stable.
DEFAULT_CLIENTELES = [
    ("youth", "Jeunes et adultes concernés", "Youth and adults concerned"),
    (
        "family",
        "Environnement immédiat (famille, intervenants proches)",
        "Immediate environment (family, close support workers)",
    ),
    (
        "schools",
        "Institutions scolaires, organismes de soutien et communautaires",
        "Schools, support and community organizations",
    ),
    ("society", "Entreprises, société en général", "Businesses and society at large"),
]

SECTOR_LABELS: dict[str, str] = {
    Sector.EDUCATION: N_("Éducation"),
    Sector.MUNICIPAL: N_("Municipal"),
    Sector.HEALTH: N_("Santé et services sociaux"),
    Sector.COMMUNITY: N_("Communautaire"),
    Sector.BUSINESS: N_("Entreprise"),
    Sector.GOVERNMENT: N_("Gouvernement"),
    Sector.RESEARCH: N_("Recherche"),
    Sector.OTHER: N_("Autre"),
}

PURPOSE_LABELS: dict[str, str] = {
    ConsentPurpose.EVENT_COMMUNICATIONS: N_("Communications sur les événements"),
    ConsentPurpose.NEWSLETTER: N_("Infolettre"),
    ConsentPurpose.PHOTOS: N_("Photos et vidéos"),
    ConsentPurpose.PARENTAL: N_("Consentement parental (moins de 14 ans)"),
}

ANONYMIZED_FIRST_NAME = "Personne"
ANONYMIZED_LAST_NAME = "anonymisée"


def sector_label(sector: str) -> str:
    return _(SECTOR_LABELS.get(sector, SECTOR_LABELS[Sector.OTHER]))


def sector_choices() -> list[tuple[str, str]]:
    return [(s.value, sector_label(s)) for s in Sector]


def purpose_label(purpose: str) -> str:
    return _(PURPOSE_LABELS.get(purpose, purpose))


def purpose_choices() -> list[tuple[str, str]]:
    return [(p.value, purpose_label(p)) for p in ConsentPurpose]


def email_key(email: str | None) -> str:
    """The identity of an e-mail address: trimmed and lower-cased."""
    return (email or "").strip().lower()


def name_key(name: str | None) -> str:
    """An organization's identity: case-folded, inner spaces collapsed."""
    return " ".join((name or "").split()).casefold()


def is_valid_email(value: str) -> bool:
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
        }


def decode_csv(data: bytes) -> list[dict[str, str]]:
    """UTF-8 (BOM accepted, Windows-1252 tolerated), `,` or `;` separated, header row."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    if reader.fieldnames:
        reader.fieldnames = [(name or "").strip().lower() for name in reader.fieldnames]
    return [
        {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        for row in reader
    ]


async def ensure_clienteles() -> int:
    created = 0
    for position, (code, name_fr, name_en) in enumerate(DEFAULT_CLIENTELES, start=1):
        _obj, was_created = await Clientele.get_or_create(
            code=code, defaults={"name_fr": name_fr, "name_en": name_en, "position": position}
        )
        created += int(was_created)
    return created


async def _apply_territories(rows: list[dict[str, str]], report: ImportReport) -> None:
    existing = {t.code: t for t in await Territory.all()}
    # Regions first so MRCs can point at them.
    ordered = sorted(enumerate(rows, start=2), key=lambda r: r[1].get("kind") != "region")
    for line, row in ordered:
        code, kind, name = row.get("code", ""), row.get("kind", ""), row.get("name", "")
        region_code = row.get("region_code", "")
        if not code or not name:
            report.rejected.append({"line": line, "error": _("Code ou nom manquant.")})
            continue
        if kind not in {TerritoryKind.REGION, TerritoryKind.MRC}:
            report.rejected.append(
                {"line": line, "error": _("Type inconnu : %(kind)s (region ou mrc).", kind=kind)}
            )
            continue
        parent = None
        if kind == TerritoryKind.MRC:
            parent = existing.get(region_code)
            if parent is None or parent.kind != TerritoryKind.REGION:
                report.rejected.append(
                    {"line": line, "error": _("Région inconnue : %(code)s.", code=region_code)}
                )
                continue
        current = existing.get(code)
        if current is None:
            existing[code] = await Territory.create(code=code, kind=kind, name=name, parent=parent)
            report.created += 1
        elif (
            current.name != name
            or current.kind != kind
            or current.parent_id != (parent.id if parent else None)  # type: ignore[attr-defined]
            or not current.active
        ):
            current.name, current.parent, current.active = name, parent, True
            current.kind = TerritoryKind(kind)
            await current.save()
            report.updated += 1
        else:
            report.unchanged += 1


async def import_territories(actor: Principal, data: bytes) -> ImportReport:
    """Load or update territories from a CSV with columns code,kind,name,region_code."""
    authorize(actor, "reference.edit")
    rows = decode_csv(data)
    report = ImportReport()
    missing = {"code", "kind", "name", "region_code"} - set(rows[0].keys() if rows else [])
    if missing:
        report.rejected.append(
            {
                "line": 1,
                "error": _("Colonnes manquantes : %(cols)s.", cols=", ".join(sorted(missing))),
            }
        )
        return report
    async with in_transaction():
        await _apply_territories(rows, report)
        await audit(
            actor,
            "territories.imported",
            None,
            report.as_dict() | {"rejected": len(report.rejected)},
        )
    return report


# ---------------------------------------------------------------------------
# Reference data: territories, clienteles, plan items
# ---------------------------------------------------------------------------


async def list_territories(*, active_only: bool = True) -> list[Territory]:
    query = Territory.all().select_related("parent")
    if active_only:
        query = query.filter(active=True)
    return list(await query.order_by("code"))


async def territories_by_region(
    *, active_only: bool = True
) -> list[tuple[Territory, list[Territory]]]:
    """[(region, [its MRCs sorted by name])] in region-code order.

    On every list page's territory select: one plain query (the parents are matched by
    id here, no join).
    """
    query = Territory.filter(active=True) if active_only else Territory.all()
    territories = await query.order_by("code")
    regions = [t for t in territories if t.kind == TerritoryKind.REGION]
    children: dict[int, list[Territory]] = {r.id: [] for r in regions}
    for t in territories:
        parent_id = t.parent_id  # type: ignore[attr-defined]
        if t.kind == TerritoryKind.MRC and parent_id in children:
            children[parent_id].append(t)
    return [(r, sorted(children[r.id], key=lambda t: name_key(t.name))) for r in regions]


def territory_choices(groups: list[tuple[Territory, list[Territory]]]) -> list[tuple[str, str]]:
    """Select options: each region followed by its MRCs (indented)."""
    options: list[tuple[str, str]] = []
    for region, mrcs in groups:
        options.append((region.code, f"{region.code} – {region.name}"))
        options.extend((m.code, f"\u00a0\u00a0\u00a0{m.name}") for m in mrcs)
    return options


async def list_clienteles(*, active_only: bool = False) -> list[Clientele]:
    query = Clientele.all()
    if active_only:
        query = query.filter(active=True)
    return list(await query.order_by("position", "code"))


async def update_clientele(actor: Principal, code: str, data: ClienteleIn) -> Clientele:
    """Rename, reorder or (de)activate a clientele. Its code never changes."""
    authorize(actor, "reference.edit")
    async with in_transaction():
        clientele = await Clientele.get_or_none(code=code)
        if clientele is None:
            raise NotFound(_("Cette clientèle n'existe pas."))
        before = {
            "name_fr": clientele.name_fr,
            "name_en": clientele.name_en,
            "position": clientele.position,
            "active": clientele.active,
        }
        after = data.model_dump()
        changed = {k: v for k, v in after.items() if before[k] != v}
        if changed:
            clientele.update_from_dict(changed)
            await clientele.save()
            await audit(actor, "clientele.updated", clientele, {"code": code, "changed": changed})
    return clientele


async def create_clientele(actor: Principal, data: ClienteleNew) -> Clientele:
    authorize(actor, "reference.edit")
    async with in_transaction():
        if await Clientele.exists(code=data.code):
            raise Conflict(
                _("Ce code de clientèle existe déjà."),
                fields={"code": _("Ce code de clientèle existe déjà.")},
            )
        clientele = await Clientele.create(**data.model_dump())
        await audit(actor, "clientele.created", clientele, {"code": data.code})
    return clientele


def _read_plan_items() -> list[dict[str, str]]:
    with PLAN_ITEMS_CSV.open(encoding="utf-8", newline="") as fh:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]


async def seed_plan_items() -> int:
    """Create the plan-d'action tree from people/data/plan_items.csv (idempotent).

    Returns how many items were added; existing codes are left as they are (their
    titles may have been edited).
    """
    rows = _read_plan_items()
    created = 0
    async with in_transaction():
        existing = {item.code: item for item in await PlanItem.all()}
        for position, row in enumerate(rows, start=1):
            if row["code"] in existing:
                continue
            parent = existing.get(row["parent"]) if row["parent"] else None
            existing[row["code"]] = await PlanItem.create(
                code=row["code"],
                level=PlanLevel(row["level"]),
                title=row["title"],
                parent=parent,
                position=position,
                clienteles=row["clienteles"],
            )
            created += 1
    return created


@dataclass
class PlanNode:
    item: PlanItem
    children: list[PlanNode] = field(default_factory=list)


async def plan_tree() -> list[PlanNode]:
    items = list(await PlanItem.all().order_by("position", "code"))
    nodes = {item.id: PlanNode(item) for item in items}
    roots: list[PlanNode] = []
    for item in items:
        parent_id = item.parent_id  # type: ignore[attr-defined]
        if parent_id in nodes:
            nodes[parent_id].children.append(nodes[item.id])
        else:
            roots.append(nodes[item.id])
    return roots


# ---------------------------------------------------------------------------
# Organizations
# ---------------------------------------------------------------------------


async def _territory_by_code(code: str | None, field_name: str = "territory") -> Territory | None:
    if not code:
        return None
    territory = await Territory.get_or_none(code=code.strip())
    if territory is None:
        raise ValidationFailed(fields={field_name: _("Territoire inconnu : %(code)s.", code=code)})
    return territory


async def search_organizations(
    actor: Principal,
    *,
    q: str = "",
    sector: str | None = None,
    territory: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    authorize(actor, "people.view")
    query = Organization.all()
    for word in q.split():
        query = query.filter(name__icontains=word)
    if sector:
        query = query.filter(sector=sector)
    if territory:
        query = query.filter(Q(territory__code=territory) | Q(territory__parent__code=territory))
    page = page_number(page)
    total = await query.count()
    items = (
        await query.select_related("territory")
        .order_by("name", "id")
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return Page(list(items), total, page, per_page)


async def organization_choices() -> list[tuple[int, str]]:
    return [(o.id, o.name) for o in await Organization.all().order_by("name", "id")]


async def get_organization(actor: Principal, organization_id: int) -> Organization:
    authorize(actor, "people.view")
    organization = await Organization.get_or_none(id=organization_id).select_related("territory")
    if organization is None:
        raise NotFound(_("Cet organisme n'existe pas."))
    return organization


def _name_taken() -> Conflict:
    message = _("Un organisme porte déjà ce nom.")
    return Conflict(message, code="duplicate_name", fields={"name": message})


async def create_organization(actor: Principal, data: OrganizationIn) -> Organization:
    authorize(actor, "people.edit")
    async with in_transaction():
        territory = await _territory_by_code(data.territory)
        key = name_key(data.name)
        if await Organization.exists(name_key=key):
            raise _name_taken()
        try:
            organization = await Organization.create(
                name=" ".join(data.name.split()),
                name_key=key,
                sector=data.sector,
                territory=territory,
                website=data.website,
            )
        except IntegrityError:
            raise _name_taken() from None
        await audit(actor, "organization.created", organization, {"name": organization.name})
    return organization


async def update_organization(
    actor: Principal, organization_id: int, data: OrganizationIn
) -> Organization:
    authorize(actor, "people.edit")
    async with in_transaction():
        organization = await Organization.get_or_none(id=organization_id)
        if organization is None:
            raise NotFound(_("Cet organisme n'existe pas."))
        territory = await _territory_by_code(data.territory)
        key = name_key(data.name)
        if await Organization.filter(name_key=key).exclude(id=organization_id).exists():
            raise _name_taken()
        organization.name = " ".join(data.name.split())
        organization.name_key = key
        organization.sector = data.sector
        organization.territory = territory
        organization.website = data.website
        try:
            await organization.save()
        except IntegrityError:
            raise _name_taken() from None
        await audit(actor, "organization.updated", organization, {"name": organization.name})
    return organization


# ---------------------------------------------------------------------------
# People
# ---------------------------------------------------------------------------


def _people_query(
    *,
    q: str = "",
    territory: str | None = None,
    clientele: str | None = None,
    organization_id: int | None = None,
    include_erased: bool = False,
) -> Any:
    query = Person.all()
    if not include_erased:
        query = query.filter(erased_at__isnull=True)
    for word in q.split()[:8]:
        query = query.filter(
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(email_key__icontains=word.lower())
            | Q(organization__name__icontains=word)
        )
    if territory:
        # A region code also finds the people of its MRCs.
        query = query.filter(Q(territory__code=territory) | Q(territory__parent__code=territory))
    if clientele:
        query = query.filter(clientele__code=clientele)
    if organization_id:
        query = query.filter(organization_id=organization_id)
    return query


async def search_people(
    actor: Principal,
    *,
    q: str = "",
    territory: str | None = None,
    clientele: str | None = None,
    organization_id: int | None = None,
    include_erased: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """People matching free text (names, e-mail, organization) and filters, one page."""
    authorize(actor, "people.view")
    per_page = max(1, min(int(per_page), 200))
    page = page_number(page)
    query = _people_query(
        q=q,
        territory=territory,
        clientele=clientele,
        organization_id=organization_id,
        include_erased=include_erased,
    )
    total = await query.count()
    items = (
        await query.select_related("organization", "clientele", "territory")
        .order_by("last_name", "first_name", "id")
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return Page(list(items), total, page, per_page)


async def get_person(actor: Principal, person_id: int) -> Person:
    authorize(actor, "people.view")
    person = await Person.get_or_none(id=person_id).select_related(
        "organization", "clientele", "territory"
    )
    if person is None:
        raise NotFound(_("Cette personne n'existe pas."))
    return person


def _email_taken() -> Conflict:
    message = _("Une personne utilise déjà cette adresse courriel.")
    return Conflict(message, code="duplicate_email", fields={"email": message})


async def _resolve_person_refs(data: PersonIn) -> dict[str, Any]:
    fields: dict[str, str] = {}
    refs: dict[str, Any] = {"organization": None, "clientele": None, "territory": None}
    if data.organization_id is not None:
        refs["organization"] = await Organization.get_or_none(id=data.organization_id)
        if refs["organization"] is None:
            fields["organization_id"] = _("Organisme inconnu.")
    if data.clientele:
        refs["clientele"] = await Clientele.get_or_none(code=data.clientele)
        if refs["clientele"] is None:
            fields["clientele"] = _("Clientèle inconnue : %(code)s.", code=data.clientele)
    if data.territory:
        refs["territory"] = await Territory.get_or_none(code=data.territory)
        if refs["territory"] is None:
            fields["territory"] = _("Territoire inconnu : %(code)s.", code=data.territory)
    if fields:
        raise ValidationFailed(fields=fields)
    return refs


async def create_person(actor: Principal, data: PersonIn) -> Person:
    authorize(actor, "people.edit")
    async with in_transaction():
        refs = await _resolve_person_refs(data)
        key = email_key(data.email)
        if await Person.exists(email_key=key):
            raise _email_taken()
        try:
            person = await Person.create(
                first_name=data.first_name,
                last_name=data.last_name,
                email=data.email,
                email_key=key,
                phone=data.phone,
                language=data.language,
                **refs,
            )
        except IntegrityError:
            raise _email_taken() from None
        await audit(actor, "person.created", person)
    return await get_person(actor, person.id)


async def update_person(actor: Principal, person_id: int, data: PersonIn) -> Person:
    authorize(actor, "people.edit")
    async with in_transaction():
        person = await Person.get_or_none(id=person_id)
        if person is None:
            raise NotFound(_("Cette personne n'existe pas."))
        if person.erased_at is not None:
            raise Conflict(_("Cette personne a été anonymisée : elle ne peut plus être modifiée."))
        refs = await _resolve_person_refs(data)
        key = email_key(data.email)
        if await Person.filter(email_key=key).exclude(id=person_id).exists():
            raise _email_taken()
        values: dict[str, Any] = {
            "first_name": data.first_name,
            "last_name": data.last_name,
            "email": data.email,
            "phone": data.phone,
            "language": data.language,
        }
        changed = [k for k, v in values.items() if getattr(person, k) != v]
        for name, obj in refs.items():
            if getattr(person, f"{name}_id") != (obj.id if obj else None):
                changed.append(name)
        person.update_from_dict(values | {"email_key": key})
        for name, obj in refs.items():
            setattr(person, name, obj)
        try:
            await person.save()
        except IntegrityError:
            raise _email_taken() from None
        if changed:
            await audit(actor, "person.updated", person, {"fields": sorted(changed)})
    return await get_person(actor, person_id)


async def upsert_person(
    actor: Principal,
    *,
    first_name: str,
    last_name: str,
    email: str,
    language: str | None = None,
    clientele: Clientele | None = None,
    territory: Territory | None = None,
    organization: Organization | None = None,
    phone: str = "",
    overwrite: bool = True,
) -> tuple[Person, bool]:
    """Find a person by e-mail (case-insensitive) or create one; fill in given values.

    For other packages (registrations, walk-ins): the e-mail is the identity. Call it
    inside the caller's transaction. `overwrite=False` (what anyone may submit, e.g. a
    public registration form) only fills what the person's record leaves empty: knowing
    someone's e-mail must not let a stranger rename them or change their clientele.
    """
    authorize(actor, "people.edit")
    key = email_key(email)
    person = await db.first_where(Person, "email_key", key)
    values: dict[str, Any] = {"first_name": first_name.strip(), "last_name": last_name.strip()}
    if language:
        values["language"] = language
    if phone:
        values["phone"] = phone
    if person is None:
        person = await Person.create(
            email=email.strip(),
            email_key=key,
            clientele=clientele,
            territory=territory,
            organization=organization,
            **values,
        )
        return person, True
    if not overwrite:
        values = {k: v for k, v in values.items() if v and not getattr(person, k)}
        clientele = clientele if person.clientele_id is None else None  # type: ignore[attr-defined]
        territory = territory if person.territory_id is None else None  # type: ignore[attr-defined]
        organization = organization if person.organization_id is None else None  # type: ignore[attr-defined]
        if not values and clientele is None and territory is None and organization is None:
            return person, False
    person.update_from_dict(values)
    if clientele is not None:
        person.clientele = clientele
    if territory is not None:
        person.territory = territory
    if organization is not None:
        person.organization = organization
    await person.save()
    return person, False


# ---------------------------------------------------------------------------
# Consent ledger
# ---------------------------------------------------------------------------


async def record_consent(actor: Principal, person_id: int, data: ConsentIn) -> Consent:
    """Append one grant or withdrawal to the ledger (never updated in place)."""
    authorize(actor, "people.edit")
    async with in_transaction():
        person = await Person.get_or_none(id=person_id)
        if person is None:
            raise NotFound(_("Cette personne n'existe pas."))
        if person.erased_at is not None:
            raise Conflict(_("Cette personne a été anonymisée : elle ne peut plus être modifiée."))
        consent = await Consent.create(
            person=person,
            purpose=data.purpose,
            granted=data.granted,
            source=data.source,
            wording=data.wording,
        )
        await audit(
            actor,
            "consent.granted" if data.granted else "consent.withdrawn",
            person,
            {"purpose": data.purpose.value, "source": data.source},
        )
    return consent


async def consent_history(person_id: int) -> list[Consent]:
    return list(await Consent.filter(person_id=person_id).order_by("at", "id"))


def current_consents(history: Iterable[Consent]) -> dict[str, Consent | None]:
    """Per purpose, the latest ledger entry (or None when never asked)."""
    state: dict[str, Consent | None] = {p.value: None for p in ConsentPurpose}
    for entry in sorted(history, key=lambda c: (c.at, c.id)):
        state[str(entry.purpose)] = entry
    return state


async def has_consent(person_id: int, purpose: ConsentPurpose | str) -> bool:
    latest = (
        await Consent.filter(person_id=person_id, purpose=purpose).order_by("-at", "-id").first()
    )
    return bool(latest and latest.granted)


# ---------------------------------------------------------------------------
# Serialization, personal-data export, erasure
# ---------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def person_dict(person: Person, language: str = "fr") -> dict[str, Any]:
    """A person with organization/clientele/territory already fetched, as JSON data."""
    organization = person.organization
    clientele = person.clientele
    territory = person.territory
    return {
        "id": person.id,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "phone": person.phone,
        "language": person.language,
        "organization": (
            {
                "id": organization.id,
                "name": organization.name,
                "sector": str(organization.sector),
                "territory": None,
            }
            if organization is not None
            else None
        ),
        "clientele": (
            {"code": clientele.code, "name": clientele.name(language)}
            if clientele is not None
            else None
        ),
        "territory": (
            {"code": territory.code, "name": territory.name} if territory is not None else None
        ),
        "created_at": _iso(person.created_at),
        "updated_at": _iso(person.updated_at),
        "erased": person.erased_at is not None,
    }


def consent_dict(consent: Consent) -> dict[str, Any]:
    return {
        "purpose": str(consent.purpose),
        "granted": consent.granted,
        "source": consent.source,
        "wording": consent.wording,
        "at": _iso(consent.at),
    }


async def export_person(actor: Principal, person_id: int) -> dict[str, Any]:
    """Everything we hold about one person (Law 25 access request), as a JSON document."""
    authorize(actor, "people.export")
    person = await get_person(actor, person_id)
    data: dict[str, Any] = {
        "exported_at": _iso(_now()),
        "person": person_dict(person),
        "organization": None,
        "consents": [consent_dict(c) for c in await consent_history(person.id)],
    }
    if person.organization is not None:
        org = person.organization
        await org.fetch_related("territory")
        data["organization"] = {
            "id": org.id,
            "name": org.name,
            "sector": str(org.sector),
            "website": org.website,
            "territory": org.territory.code if org.territory else None,
        }
    for contribution in await person_exporting.send(PersonExporting(person)):
        data.update(contribution)
    data["messages"] = await messages_for_person(person.id)
    await audit(actor, "person.exported", person)
    return data


async def erase_person(actor: Principal, person_id: int) -> Person:
    """Anonymize a person: personal data gone, the row (and aggregate counts) kept."""
    authorize(actor, "people.erase")
    async with in_transaction():
        person = await Person.get_or_none(id=person_id)
        if person is None:
            raise NotFound(_("Cette personne n'existe pas."))
        if person.erased_at is not None:
            return person
        erased: dict[str, int] = {}
        for counts in await person_erasing.send(PersonErasing(person)):
            erased.update(counts)
        erased["messages_anonymized"] = await forget_person_messages(person.id)
        consents = await Consent.filter(person_id=person.id).delete()
        person.first_name = ANONYMIZED_FIRST_NAME
        person.last_name = ANONYMIZED_LAST_NAME
        person.email = None
        person.email_key = None
        person.phone = ""
        person.organization = None  # type: ignore[assignment]
        person.erased_at = _now()
        await person.save()
        await audit(actor, "person.erased", person, {"consents_deleted": consents, **erased})
    return person


# ---------------------------------------------------------------------------
# People CSV (import and export)
# ---------------------------------------------------------------------------

PEOPLE_COLUMNS = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "language",
    "organization",
    "clientele",
    "territory",
]
REQUIRED_PEOPLE_COLUMNS = {"first_name", "last_name", "email"}
_LIMITS = {"first_name": 100, "last_name": 100, "email": 254, "phone": 40, "organization": 200}
_COLUMN_LABELS = {
    "first_name": N_("prénom"),
    "last_name": N_("nom"),
    "email": N_("courriel"),
    "phone": N_("téléphone"),
    "organization": N_("organisme"),
}


def _decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def read_csv_lines(data: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """(header, [(line number, row)]) — the header is line 1, blank lines are skipped."""
    text = _decode_text(data)
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [(name or "").strip().lower() for name in next(reader, [])]
    rows: list[tuple[int, dict[str, str]]] = []
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            break
        except csv.Error:
            rows.append((reader.line_num, {"__error__": "csv"}))
            continue
        if not any(cell.strip() for cell in raw):
            continue
        row = {header[i]: raw[i].strip() for i in range(min(len(header), len(raw))) if header[i]}
        rows.append((reader.line_num, row))
    return header, rows


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def import_people_csv(actor: Principal, data: bytes) -> ImportReport:
    """Import people from a People CSV (see DESIGN.md). E-mail is the identity.

    Valid lines are imported, invalid ones reported with their line number (the header
    is line 1) and a reason. Empty cells never erase a known value on update.
    """
    authorize(actor, "people.import")
    report = ImportReport()
    header, rows = read_csv_lines(data)
    missing = REQUIRED_PEOPLE_COLUMNS - set(header)
    if missing:
        report.rejected.append(
            {
                "line": 1,
                "error": _(
                    "Colonnes manquantes : %(cols)s. En-tête attendu : %(header)s.",
                    cols=", ".join(sorted(missing)),
                    header=",".join(PEOPLE_COLUMNS),
                ),
            }
        )
        return report

    clienteles = {c.code.lower(): c for c in await Clientele.all()}
    territories = {t.code: t for t in await Territory.all()}

    accepted: list[tuple[int, dict[str, str]]] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        error = _check_people_row(row, clienteles, territories)
        if error is None:
            key = email_key(row["email"])
            if key in seen:
                error = _(
                    "Courriel en double dans le fichier (déjà à la ligne %(line)s) : %(email)s.",
                    line=seen[key],
                    email=row["email"],
                )
            else:
                seen[key] = line
        if error is not None:
            report.rejected.append({"line": line, "error": error})
        else:
            accepted.append((line, row))

    async with in_transaction():
        organizations = {o.name_key: o for o in await Organization.all()}
        existing: dict[str, Person] = {}
        for chunk in _chunks(list(seen)):
            for known in await Person.filter(email_key__in=chunk):
                existing[str(known.email_key)] = known

        new_people: list[Person] = []
        changed_people: list[Person] = []
        organizations_created = 0
        now = _now()
        for _line, row in accepted:
            organization = None
            org_name = " ".join(row.get("organization", "").split())
            if org_name:
                organization = organizations.get(name_key(org_name))
                if organization is None:
                    organization = await Organization.create(
                        name=org_name, name_key=name_key(org_name)
                    )
                    organizations[organization.name_key] = organization
                    organizations_created += 1
            clientele = clienteles.get(row.get("clientele", "").lower())
            territory = territories.get(row.get("territory", ""))
            language = row.get("language", "").lower()
            key = email_key(row["email"])
            person = existing.get(key)
            if person is None:
                new_people.append(
                    Person(
                        first_name=row["first_name"],
                        last_name=row["last_name"],
                        email=row["email"],
                        email_key=key,
                        phone=row.get("phone", ""),
                        language=language or "fr",
                        organization=organization,
                        clientele=clientele,
                        territory=territory,
                        created_at=now,
                        updated_at=now,
                    )
                )
                continue
            if _apply_row(person, row, language, organization, clientele, territory):
                person.updated_at = now
                changed_people.append(person)
            else:
                report.unchanged += 1

        if new_people:
            await Person.bulk_create(new_people, batch_size=500)
        if changed_people:
            await Person.bulk_update(
                changed_people,
                fields=[
                    "first_name",
                    "last_name",
                    "email",
                    "phone",
                    "language",
                    "organization_id",
                    "clientele_id",
                    "territory_id",
                    "updated_at",
                ],
                batch_size=200,
            )
        report.created = len(new_people)
        report.updated = len(changed_people)
        await audit(
            actor,
            "people.imported",
            None,
            {
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "rejected": len(report.rejected),
                "organizations_created": organizations_created,
            },
        )
    return report


def _check_people_row(
    row: dict[str, str],
    clienteles: dict[str, Clientele],
    territories: dict[str, Territory],
) -> str | None:
    """The first problem of one CSV line, in French, or None when the line is valid."""
    if row.get("__error__"):
        return _("Ligne illisible (guillemets mal fermés ?).")
    first, last = row.get("first_name", ""), row.get("last_name", "")
    if not first and not last:
        return _("Prénom et nom manquants.")
    if not first:
        return _("Prénom manquant.")
    if not last:
        return _("Nom manquant.")
    email = row.get("email", "")
    if not email:
        return _("Courriel manquant.")
    for column, limit in _LIMITS.items():
        if len(row.get(column, "")) > limit:
            return _(
                "Valeur trop longue pour la colonne %(column)s (%(limit)s caractères au maximum).",
                column=_(_COLUMN_LABELS[column]),
                limit=limit,
            )
    if not is_valid_email(email):
        return _("Courriel invalide : %(email)s.", email=email)
    language = row.get("language", "").lower()
    if language and language not in ("fr", "en"):
        return _("Langue invalide : %(value)s (fr ou en).", value=row.get("language", ""))
    clientele = row.get("clientele", "")
    if clientele and clientele.lower() not in clienteles:
        return _("Code de clientèle inconnu : %(code)s.", code=clientele)
    territory = row.get("territory", "")
    if territory and territory not in territories:
        return _("Code de territoire inconnu : %(code)s.", code=territory)
    return None


def _apply_row(
    person: Person,
    row: dict[str, str],
    language: str,
    organization: Organization | None,
    clientele: Clientele | None,
    territory: Territory | None,
) -> bool:
    """Copy a CSV line onto a known person; empty cells keep what we know. Changed?"""
    changed = False
    values: dict[str, Any] = {
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "email": row["email"],
    }
    if row.get("phone"):
        values["phone"] = row["phone"]
    if language:
        values["language"] = language
    if organization is not None:
        values["organization_id"] = organization.id
    if clientele is not None:
        values["clientele_id"] = clientele.id
    if territory is not None:
        values["territory_id"] = territory.id
    for name, value in values.items():
        if getattr(person, name) != value:
            setattr(person, name, value)
            changed = True
    return changed


async def export_people_csv(
    actor: Principal,
    *,
    q: str = "",
    territory: str | None = None,
    clientele: str | None = None,
    organization_id: int | None = None,
) -> str:
    """The matching people in the People CSV format (UTF-8 with BOM for spreadsheets)."""
    authorize(actor, "people.export")
    query = _people_query(
        q=q, territory=territory, clientele=clientele, organization_id=organization_id
    )
    people = await query.select_related("organization", "clientele", "territory").order_by(
        "last_name", "first_name", "id"
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(PEOPLE_COLUMNS)
    for p in people:
        writer.writerow(
            [
                neutralize_formula(p.first_name),
                neutralize_formula(p.last_name),
                p.email or "",
                neutralize_formula(p.phone),
                p.language,
                neutralize_formula(p.organization.name) if p.organization else "",
                p.clientele.code if p.clientele else "",
                p.territory.code if p.territory else "",
            ]
        )
    await audit(actor, "people.exported", None, {"count": len(people)})
    return "\ufeff" + out.getvalue()


async def ensure_reference_data() -> str:
    """What the service cannot work without; safe to run again (changes nothing then)."""
    async with in_transaction():
        clienteles = await ensure_clienteles()
        report = ImportReport()
        if not await Territory.exists():
            await _apply_territories(decode_csv(TERRITORIES_CSV.read_bytes()), report)
    return f"{clienteles} clientèles et {report.created} territoires ajoutés"
