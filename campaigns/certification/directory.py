"""The public directory of certified employers.

Lists the certificates in force (`verification.in_force_filter`) of employers who
consented to appear (`Employer.publish_in_directory`), filtered by territory (an MRC code,
or a region code for all its MRCs), sector and level code, ordered by name. The public
page, the JSON endpoint and the partners' CSV read the same query: one row per certificate
in force (an employer certified by two programs appears twice, once per program).

Only public facts are shown: the employer's legal name, sector, MRC, level, program and
dates, and the verification URL — never the address, the contact or the head counts.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from tortoise.queryset import QuerySet

from campaigns.certification.models import Certificate, Level
from campaigns.certification.schemas import EMPLOYER_SECTORS, sector_choices, sector_label
from campaigns.certification.verification import in_force_filter, verify_url
from core.i18n import N_, _, to_local
from people.models import Territory, TerritoryKind
from registrations.exports import cell_safe

TERRITORY_MAX = 10  # Territory.code
LEVEL_MAX = 32  # Level.code
MAX_PER_PAGE = 200
PAGE_SIZE = 25
_E = "application__employer__"


def sector_codes() -> list[str]:
    return list(EMPLOYER_SECTORS)


@dataclass
class DirectoryFilters:
    territory: str | None = None
    sector: str | None = None
    level: str | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: Any) -> DirectoryFilters:
        """From query parameters; a bad value is reported in `errors` (422 in JSON, a
        field error on the page) and ignored."""
        filters = cls()
        territory = (params.get("territory") or "").strip()
        if len(territory) > TERRITORY_MAX:
            filters.errors["territory"] = _("Territoire inconnu.")
        else:
            filters.territory = territory or None
        sector = (params.get("sector") or "").strip()
        if sector and sector not in sector_codes():
            filters.errors["sector"] = _("Secteur inconnu.")
        else:
            filters.sector = sector or None
        level = (params.get("level") or "").strip()
        if len(level) > LEVEL_MAX:
            filters.errors["level"] = _("Niveau inconnu.")
        else:
            filters.level = level or None
        return filters

    def as_dict(self) -> dict[str, str]:
        pairs = {"territory": self.territory, "sector": self.sector, "level": self.level}
        return {k: v for k, v in pairs.items() if v}

    def query_string(self) -> str:
        return urlencode(self.as_dict())


@dataclass(frozen=True)
class DirectoryEntry:
    employer: str
    sector: str
    territory_code: str | None
    territory_name: str | None
    level_code: str
    level_name_fr: str
    level_name_en: str
    program: str
    certified_since: date
    valid_until: date
    code: str

    def level_name(self, language: str = "fr") -> str:
        return (self.level_name_en if language == "en" else "") or self.level_name_fr

    def as_json(self, base_url: str) -> dict[str, Any]:
        return {
            "employer": self.employer,
            "sector": self.sector,
            "sector_label": sector_label(self.sector),
            "territory": (
                {"code": self.territory_code, "name": self.territory_name}
                if self.territory_code
                else None
            ),
            "level": {"code": self.level_code, "name": self.level_name_fr},
            "program": self.program,
            "certified_since": self.certified_since.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            "verify_url": verify_url(base_url, self.code),
        }


async def _territory_ids(code: str) -> list[int]:
    territory = await Territory.get_or_none(code=code).only("id", "kind")
    if territory is None:
        return []
    ids = [territory.id]
    if territory.kind == TerritoryKind.REGION:
        children = await Territory.filter(parent_id=territory.id).values_list("id", flat=True)
        ids += [int(str(child)) for child in children]
    return ids


async def _listed(filters: DirectoryFilters, now: datetime) -> QuerySet[Certificate]:
    query = Certificate.filter(in_force_filter(now), **{f"{_E}publish_in_directory": True})
    if filters.territory:
        query = query.filter(**{f"{_E}territory_id__in": await _territory_ids(filters.territory)})
    if filters.sector:
        query = query.filter(**{f"{_E}sector": filters.sector})
    if filters.level:
        query = query.filter(level__code=filters.level)
    return query


_COLUMNS = (
    "code",
    "issued_at",
    "valid_until",
    f"{_E}legal_name",
    f"{_E}sector",
    f"{_E}territory__code",
    f"{_E}territory__name",
    "level__code",
    "level__name_fr",
    "level__name_en",
    "application__program__name",
)


def _entry(row: dict[str, Any]) -> DirectoryEntry:
    return DirectoryEntry(
        employer=row[f"{_E}legal_name"],
        sector=row[f"{_E}sector"] or "",
        territory_code=row[f"{_E}territory__code"],
        territory_name=row[f"{_E}territory__name"],
        level_code=row["level__code"],
        level_name_fr=row["level__name_fr"],
        level_name_en=row["level__name_en"] or "",
        program=row["application__program__name"],
        certified_since=to_local(row["issued_at"]).date(),
        valid_until=to_local(row["valid_until"]).date(),
        code=row["code"],
    )


async def directory_page(
    filters: DirectoryFilters, *, page: int = 1, per_page: int = PAGE_SIZE
) -> tuple[list[DirectoryEntry], int]:
    """One page of the directory (ordered by employer name) and the number of entries."""
    query = await _listed(filters, datetime.now(UTC))
    total = await query.count()
    rows = (
        await query.order_by(f"{_E}legal_name", "id")
        .offset((page - 1) * per_page)
        .limit(per_page)
        .values(*_COLUMNS)
    )
    return [_entry(row) for row in rows], total


async def directory_entries(filters: DirectoryFilters) -> list[DirectoryEntry]:
    """Every entry (the partners' CSV)."""
    query = await _listed(filters, datetime.now(UTC))
    rows = await query.order_by(f"{_E}legal_name", "id").values(*_COLUMNS)
    return [_entry(row) for row in rows]


async def filter_options(language: str = "fr") -> dict[str, list[tuple[str, str]]]:
    """The choices of the page's filters: the MRCs and levels that have listed employers
    (grouped by region for the MRCs), every sector."""
    now = datetime.now(UTC)
    listed = Certificate.filter(in_force_filter(now), **{f"{_E}publish_in_directory": True})
    territory_ids = set(
        await listed.filter(**{f"{_E}territory_id__isnull": False})
        .order_by(f"{_E}territory_id")
        .distinct()
        .values_list(f"{_E}territory_id", flat=True)
    )
    territories = (
        await Territory.filter(id__in=list(territory_ids)).order_by("name") if territory_ids else []
    )
    level_ids = await listed.order_by("level_id").distinct().values_list("level_id", flat=True)
    level_rows = await Level.filter(id__in=list(level_ids)).order_by("min_points", "code")
    levels: dict[str, str] = {}
    for level in level_rows:
        name = (level.name_en if language == "en" else "") or level.name_fr
        levels.setdefault(level.code, name)
    return {
        "territories": [(t.code, t.name) for t in territories],
        "levels": list(levels.items()),
        "sectors": sector_choices(),
    }


CSV_HEADERS = (
    N_("Employeur"),
    N_("Secteur"),
    N_("Code MRC"),
    N_("MRC ou territoire"),
    N_("Niveau"),
    N_("Programme"),
    N_("Certifié depuis"),
    N_("Valide jusqu'au"),
    N_("Vérification"),
)


def to_csv(entries: list[DirectoryEntry], *, base_url: str, language: str = "fr") -> bytes:
    """UTF-8 with a BOM, CRLF lines; every text cell formula-neutralized."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([cell_safe(_(h)) for h in CSV_HEADERS])
    for e in entries:
        writer.writerow(
            [
                cell_safe(e.employer),
                cell_safe(sector_label(e.sector)),
                cell_safe(e.territory_code or ""),
                cell_safe(e.territory_name or ""),
                cell_safe(e.level_name(language)),
                cell_safe(e.program),
                e.certified_since.isoformat(),
                e.valid_until.isoformat(),
                cell_safe(verify_url(base_url, e.code)),
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
