"""People directory services: reference data, people, organizations, consent, import, export."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tortoise.transactions import in_transaction

from core.audit import audit
from core.auth import Principal, authorize
from core.i18n import _
from people.models import Clientele, Territory, TerritoryKind

DATA_DIR = Path(__file__).resolve().parent / "data"
TERRITORIES_CSV = DATA_DIR / "territories.csv"

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
            existing[code] = await Territory.create(
                code=code, kind=kind, name=name, parent=parent
            )
            report.created += 1
        elif (
            current.name != name
            or current.kind != kind
            or current.parent_id != (parent.id if parent else None)  # type: ignore[attr-defined]
            or not current.active
        ):
            current.name, current.kind, current.parent, current.active = name, kind, parent, True
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
            {"line": 1, "error": _("Colonnes manquantes : %(cols)s.", cols=", ".join(sorted(missing)))}
        )
        return report
    async with in_transaction():
        await _apply_territories(rows, report)
        await audit(actor, "territories.imported", None, report.as_dict() | {"rejected": len(report.rejected)})
    return report


async def ensure_reference_data() -> str:
    """What the service cannot work without; safe to run again (changes nothing then)."""
    async with in_transaction():
        clienteles = await ensure_clienteles()
        report = ImportReport()
        if not await Territory.exists():
            await _apply_territories(decode_csv(TERRITORIES_CSV.read_bytes()), report)
    return f"{clienteles} clientèles et {report.created} territoires ajoutés"
