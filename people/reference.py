"""Reference data: territories, target clienteles, the plan d'action tree, fixed labels.

What the service cannot work without (`ensure_reference_data`, run by `migrate`), the
territory import (MAMH CSV) and the lists the forms offer. No HTTP here: operations that
change reference data take the calling `Principal` and check its right (`authorize`).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tortoise.transactions import in_transaction

from core.audit import audit
from core.auth import Principal, authorize
from core.errors import Conflict, NotFound, ValidationFailed
from core.i18n import N_, _
from people import plans
from people.models import (
    Clientele,
    ConsentPurpose,
    PlanItem,
    PlanLevel,
    Sector,
    Territory,
    TerritoryKind,
)
from people.schemas import ClienteleIn, ClienteleNew
from people.service import name_key

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
    ConsentPurpose.JPS_NEWS: N_("Nouvelles des Journées de la persévérance scolaire"),
}


def sector_label(sector: str) -> str:
    return _(SECTOR_LABELS.get(sector, SECTOR_LABELS[Sector.OTHER]))


def sector_choices() -> list[tuple[str, str]]:
    return [(s.value, sector_label(s)) for s in Sector]


def purpose_label(purpose: str) -> str:
    return _(PURPOSE_LABELS.get(purpose, purpose))


def purpose_choices() -> list[tuple[str, str]]:
    return [(p.value, purpose_label(p)) for p in ConsentPurpose]


@dataclass
class ImportReport:
    """What a CSV import did (territories here, people in `people.imports`)."""

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


# ---------------------------------------------------------------------------
# Territories (regions and MRCs)
# ---------------------------------------------------------------------------


def _decode_csv_bytes(data: bytes) -> str:
    """UTF-8 (BOM accepted); UTF-16 or UTF-32 with their BOM, or UTF-16 without one (what
    some spreadsheets save as "Unicode text"); otherwise Windows-1252."""
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    head = data[:2000]
    if len(head) >= 4:
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if odd > len(head) // 4 and even == 0:
            return data.decode("utf-16-le", errors="replace")
        if even > len(head) // 4 and odd == 0:
            return data.decode("utf-16-be", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def csv_text(data: bytes) -> tuple[str, str]:
    """(text, delimiter) of an uploaded CSV: UTF-8 (BOM accepted; UTF-16 and Windows-1252
    tolerated),
    `,` or `;` separated (whichever the header line has more of)."""
    text = _decode_csv_bytes(data)
    first_line = text.split("\n", 1)[0]
    return text, ";" if first_line.count(";") > first_line.count(",") else ","


def decode_csv(data: bytes) -> list[dict[str, str]]:
    """The rows of a CSV with a header row (see `csv_text`), keys lower-cased."""
    text, delimiter = csv_text(data)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    if reader.fieldnames:
        reader.fieldnames = [(name or "").strip().lower() for name in reader.fieldnames]
    return [
        {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        for row in reader
    ]


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
            or current.parent_id != (parent.id if parent else None)
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
        parent_id = t.parent_id
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


async def territory_by_code(code: str | None, field_name: str = "territory") -> Territory | None:
    """The territory of a code typed by someone (None when blank); unknown → field error."""
    if not code:
        return None
    territory = await Territory.get_or_none(code=code.strip())
    if territory is None:
        raise ValidationFailed(fields={field_name: _("Territoire inconnu : %(code)s.", code=code)})
    return territory


# ---------------------------------------------------------------------------
# Target clienteles
# ---------------------------------------------------------------------------


async def ensure_clienteles() -> int:
    created = 0
    for position, (code, name_fr, name_en) in enumerate(DEFAULT_CLIENTELES, start=1):
        _obj, was_created = await Clientele.get_or_create(
            code=code, defaults={"name_fr": name_fr, "name_en": name_en, "position": position}
        )
        created += int(was_created)
    return created


async def list_clienteles(*, active_only: bool = False) -> list[Clientele]:
    query = Clientele.all()
    if active_only:
        query = query.filter(active=True)
    return list(await query.order_by("position", "code"))


async def offered_clienteles(targeted: Iterable[Clientele]) -> list[Clientele]:
    """The clienteles a registration may choose: the active ones an event targets (in
    their order), or every active one when it targets none."""
    active = [c for c in targeted if c.active]
    if active:
        return sorted(active, key=lambda c: (c.position, c.code))
    return await list_clienteles(active_only=True)


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


# ---------------------------------------------------------------------------
# Plan d'action (axes > orientations > objectives > actions)
# ---------------------------------------------------------------------------


def _read_plan_items() -> list[dict[str, str]]:
    with PLAN_ITEMS_CSV.open(encoding="utf-8", newline="") as fh:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]


async def seed_plan_items() -> int:
    """Create the plan-d'action tree from people/data/plan_items.csv (idempotent).

    The items go to the default plan ("Plan d'action régional 2023-2028", made when
    missing). Returns how many items were added; existing codes are left as they are
    (their titles may have been edited).
    """
    rows = _read_plan_items()
    created = 0
    async with in_transaction():
        plan = await plans.default_plan()
        existing = {item.code: item for item in await PlanItem.filter(plan_id=plan.id)}
        for position, row in enumerate(rows, start=1):
            if row["code"] in existing:
                continue
            parent = existing.get(row["parent"]) if row["parent"] else None
            existing[row["code"]] = await PlanItem.create(
                plan=plan,
                code=row["code"],
                level=PlanLevel(row["level"]),
                title=row["title"],
                parent=parent,
                axis_id=parent.axis_id if parent is not None else None,
                position=position,
                clienteles=row["clienteles"],
            )
            created += 1
        if created:
            await plans.fill_axes(plan.id)
    return created


PlanNode = plans.PlanNode


async def plan_tree(plan_id: int | None = None) -> list[PlanNode]:
    """The tree of a plan (default: the current year's plan)."""
    return await plans.plan_tree(plan_id)


# ---------------------------------------------------------------------------
# What `migrate` loads
# ---------------------------------------------------------------------------


async def ensure_bundled_territories(report: ImportReport) -> None:
    """Add the bundled territories whose code the database lacks.

    Existing rows are never changed here: a name or an active flag an administrator
    edited stays (updating names is `import_territories`' job, on an explicit import).
    """
    known = set(await Territory.all().values_list("code", flat=True))
    rows = decode_csv(TERRITORIES_CSV.read_bytes())
    await _apply_territories([row for row in rows if row.get("code") not in known], report)


async def ensure_reference_data() -> str:
    """What the service cannot work without; safe to run again (changes nothing then)."""
    async with in_transaction():
        clienteles = await ensure_clienteles()
        report = ImportReport()
        await ensure_bundled_territories(report)
    return f"{clienteles} clientèles et {report.created} territoires ajoutés"
