"""The public directory of certified employers.

Lists the certificates in force (`verification.in_force_sql`) of employers who
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

from campaigns.certification.models import Application, Certificate, Employer, Level, Program
from campaigns.certification.schemas import EMPLOYER_SECTORS, sector_choices, sector_label
from campaigns.certification.verification import in_force_sql, verify_url
from core.db import fetch_values
from core.i18n import N_, _, to_local
from people.models import Territory
from registrations.exports import cell_safe

TERRITORY_MAX = 10  # Territory.code
LEVEL_MAX = 32  # Level.code
MAX_PER_PAGE = 200
PAGE_SIZE = 25


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


# The directory is read with hand-written SQL (`core.db.fetch_values`): for 2,000 employers
# the ORM's building of this five-join query and of its rows cost ten times the query.
def _from_where(filters: DirectoryFilters, now: datetime) -> tuple[str, list[Any]]:
    in_force, values = in_force_sql("c", now)
    sql = (
        f"FROM {_table(Certificate)} c "
        f"JOIN {_table(Application)} a ON a.id = c.application_id "
        f"JOIN {_table(Employer)} e ON e.id = a.employer_id "
        f"JOIN {_table(Level)} l ON l.id = c.level_id "
        f"JOIN {_table(Program)} p ON p.id = a.program_id "
        f"LEFT JOIN {_table(Territory)} t ON t.id = e.territory_id "
        f"LEFT JOIN {_table(Territory)} tp ON tp.id = t.parent_id "
        f"WHERE {in_force} AND e.publish_in_directory = ?"
    )
    values.append(True)
    if filters.territory:
        sql += " AND (t.code = ? OR tp.code = ?)"
        values += [filters.territory, filters.territory]
    if filters.sector:
        sql += " AND e.sector = ?"
        values.append(filters.sector)
    if filters.level:
        sql += " AND l.code = ?"
        values.append(filters.level)
    return sql, values


_COLUMNS = (
    "c.code AS code, c.issued_at AS issued_at, c.valid_until AS valid_until, "
    "e.legal_name AS employer, e.sector AS sector, t.code AS territory_code, "
    "t.name AS territory_name, l.code AS level_code, l.name_fr AS level_name_fr, "
    "l.name_en AS level_name_en, p.name AS program"
)
_ORDER = " ORDER BY e.legal_name, c.id"


def _table(model: Any) -> str:
    return str(model._meta.db_table)


def _day(value: datetime | str) -> date:
    """A local date from a datetime (PostgreSQL) or its ISO text (SQLite)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return to_local(moment).date()


def _entry(row: dict[str, Any]) -> DirectoryEntry:
    return DirectoryEntry(
        employer=row["employer"],
        sector=row["sector"] or "",
        territory_code=row["territory_code"],
        territory_name=row["territory_name"],
        level_code=row["level_code"],
        level_name_fr=row["level_name_fr"],
        level_name_en=row["level_name_en"] or "",
        program=row["program"],
        certified_since=_day(row["issued_at"]),
        valid_until=_day(row["valid_until"]),
        code=row["code"],
    )


async def directory_page(
    filters: DirectoryFilters, *, page: int = 1, per_page: int = PAGE_SIZE
) -> tuple[list[DirectoryEntry], int]:
    """One page of the directory (ordered by employer name) and the number of entries."""
    where, values = _from_where(filters, datetime.now(UTC))
    rows = await fetch_values(
        Certificate,
        f"SELECT {_COLUMNS}, COUNT(*) OVER () AS total {where}{_ORDER} LIMIT ? OFFSET ?",
        [*values, per_page, (page - 1) * per_page],
    )
    if rows:
        total = int(rows[0]["total"])
    else:  # past the last page (or nothing): count alone
        counted = await fetch_values(Certificate, f"SELECT COUNT(*) AS n {where}", values)
        total = int(counted[0]["n"])
    return [_entry(row) for row in rows], total


async def directory_entries(filters: DirectoryFilters) -> list[DirectoryEntry]:
    """Every entry (the partners' CSV)."""
    where, values = _from_where(filters, datetime.now(UTC))
    rows = await fetch_values(Certificate, f"SELECT {_COLUMNS} {where}{_ORDER}", values)
    return [_entry(row) for row in rows]


async def filter_options(language: str = "fr") -> dict[str, list[tuple[str, str]]]:
    """The choices of the page's filters: the MRCs and the levels that have listed
    employers (MRCs by name, levels by their minimum points), every sector."""
    where, values = _from_where(DirectoryFilters(), datetime.now(UTC))
    rows = await fetch_values(
        Certificate,
        "SELECT DISTINCT t.code AS territory_code, t.name AS territory_name, "
        "l.code AS level_code, l.name_fr AS level_name_fr, l.name_en AS level_name_en, "
        f"l.min_points AS min_points {where}",
        values,
    )
    territories = sorted(
        {(r["territory_code"], r["territory_name"]) for r in rows if r["territory_code"]},
        key=lambda pair: (pair[1], pair[0]),
    )
    levels: dict[str, str] = {}
    for r in sorted(rows, key=lambda r: (r["min_points"], r["level_code"])):
        name = (r["level_name_en"] if language == "en" else "") or r["level_name_fr"]
        levels.setdefault(r["level_code"], name)
    return {
        "territories": territories,
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
