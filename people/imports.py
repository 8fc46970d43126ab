"""People CSV (import and export), in the format of DESIGN.md. E-mail is the identity.

No HTTP here: both operations take the calling `Principal` and check its right itself.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from tortoise.transactions import in_transaction

from core.audit import audit
from core.auth import Principal, authorize
from core.i18n import N_, _
from core.inputs import text_problem
from core.spreadsheet import neutralize_formula
from people.models import Clientele, Organization, Person, Territory
from people.phones import format_phone, normalize_phone
from people.reference import ImportReport, csv_text
from people.service import email_key, name_key, people_query

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


def is_valid_email(value: str) -> bool:
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def read_csv_lines(data: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """(header, [(line number, row)]) — the header is line 1, blank lines are skipped."""
    text, delimiter = csv_text(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [(name or "").strip().lower() for name in next(reader, [])]
    rows: list[tuple[int, dict[str, str]]] = []
    while True:
        start = reader.line_num + 1
        try:
            raw = next(reader)
        except StopIteration:
            break
        except csv.Error:
            rows.append((start, {"__error__": "csv"}))
            continue
        if any("\n" in cell or "\r" in cell for cell in raw):
            # No people column holds a line break: a quote opened and never closed (or
            # closed lines later) has swallowed the lines that follow into one cell.
            rows.append((start, {"__error__": "quote", "__end__": str(reader.line_num)}))
            continue
        if not any(cell.strip() for cell in raw):
            continue
        if any(text_problem(cell) for cell in raw):
            rows.append((start, {"__error__": "nul"}))
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
        now = datetime.now(UTC)
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
    """The first problem of one CSV line, in French, or None when the line is valid (the
    phone is then in E.164)."""
    error = row.get("__error__")
    if error == "quote":
        return _(
            'Guillemet (") ouvert à cette ligne et non refermé avant la ligne %(end)s : '
            "les lignes de celle-ci à la ligne %(end)s n'ont pas été importées. Corrigez les "
            "guillemets de cette ligne et importez de nouveau le fichier.",
            end=row.get("__end__", "?"),
        )
    if error == "nul":
        return _("Ligne illisible : elle contient un caractère nul (\\0) ou invalide.")
    if error:
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
    try:
        row["phone"] = normalize_phone(row.get("phone", ""))
    except ValueError:
        return _("Numéro de téléphone invalide « %(value)s ».", value=row.get("phone", ""))
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
    query = people_query(
        q=q, territory=territory, clientele=clientele, organization_id=organization_id
    )
    people = await query.select_related("organization", "clientele", "territory").order_by(
        "last_name", "first_name", "id"
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(PEOPLE_COLUMNS)
    for p in people:
        # Every text cell goes through the spreadsheet guard, the e-mail too (a valid
        # address may start with "=", "+", "-" or "@"), and the codes for good measure.
        writer.writerow(
            [
                neutralize_formula(value)
                for value in (
                    p.first_name,
                    p.last_name,
                    p.email or "",
                    format_phone(p.phone),
                    p.language,
                    p.organization.name if p.organization else "",
                    p.clientele.code if p.clientele else "",
                    p.territory.code if p.territory else "",
                )
            ]
        )
    await audit(actor, "people.exported", None, {"count": len(people)})
    return "\ufeff" + out.getvalue()
