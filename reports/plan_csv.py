"""A plan as CSV: `code,level,parent,title,indicator,target` (+ optional `target_measure`,
`clienteles`), so a regional body loads its own plan and takes it elsewhere.

Import: UTF-8 with or without BOM (UTF-16 and Windows-1252 tolerated), `,` or `;`. The
file is checked whole first, line by line (`reports.plans.row_errors` for the tree rules,
here for the cells: level, target, lengths), and refused with every line's reason in
French when anything is wrong: nothing is written then. A valid file is written in one
transaction; re-importing it updates titles, indicators and targets of the codes the plan
already holds, without duplicating them. Export: UTF-8 with BOM, formulas neutralized.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from tortoise.transactions import in_transaction

from core.audit import audit
from core.auth import Principal, authorize
from core.errors import ValidationFailed
from core.i18n import _
from core.spreadsheet import neutralize_formula
from people.models import PlanItem
from people.reference import csv_text
from reports import plans
from reports.schemas import MAX_TITLE, PlanImportOut, PlanItemIn

REQUIRED_COLUMNS = ("code", "level", "parent", "title")
COLUMNS = ("code", "level", "parent", "title", "indicator", "target")
OPTIONAL_COLUMNS = ("target_measure", "clienteles")
EXPORT_COLUMNS = COLUMNS + OPTIONAL_COLUMNS
MAX_ROWS = 2000
MAX_BYTES = 1024 * 1024
LIMITS = {"code": 20, "parent": 20, "title": MAX_TITLE, "indicator": 300, "target_measure": 24}
_CLIENTELE_SPLIT = re.compile(r"[\s,;|]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass
class ParsedPlan:
    rows: list[tuple[int, PlanItemIn]]
    errors: list[dict[str, Any]]
    columns: set[str]


def _cell_errors(line: int, cells: dict[str, str]) -> tuple[PlanItemIn | None, list[str]]:
    problems: list[str] = []
    for name, limit in LIMITS.items():
        if len(cells.get(name, "")) > limit:
            problems.append(
                _(
                    "Colonne « %(column)s » trop longue (%(limit)s caractères au plus).",
                    column=name,
                    limit=limit,
                )
            )
    code = cells.get("code", "")
    if not code:
        problems.append(_("Code manquant."))
    elif re.search(r"[\s,;]", code):
        problems.append(
            _("Code invalide : %(code)s (sans espace, virgule ni point-virgule).", code=code)
        )
    raw_level = cells.get("level", "").strip().lower()
    level = plans.LEVEL_WORDS.get(raw_level)
    if level is None:
        problems.append(
            _(
                "Niveau inconnu : « %(level)s » (axis, orientation, objective ou action).",
                level=cells.get("level", ""),
            )
        )
    if not cells.get("title"):
        problems.append(_("Titre manquant."))
    target: int | None = None
    raw_target = cells.get("target", "").replace("\u00a0", "").replace(" ", "")
    if raw_target:
        if not raw_target.isdigit() or not 0 < int(raw_target) < 2**31:
            problems.append(
                _(
                    "Cible invalide : « %(target)s » (un nombre entier positif).",
                    target=cells.get("target", ""),
                )
            )
        else:
            target = int(raw_target)
    if any(_CONTROL.search(v) or "\x00" in v for v in cells.values()):
        problems.append(_("Caractères de contrôle interdits."))
    if problems:
        return None, problems
    try:
        row = PlanItemIn(
            code=code,
            level=level,  # type: ignore[arg-type]
            parent=cells.get("parent", ""),
            title=cells["title"],
            indicator=cells.get("indicator", ""),
            target=target,
            target_measure=cells.get("target_measure", ""),  # type: ignore[arg-type]
            clienteles=[c for c in _CLIENTELE_SPLIT.split(cells.get("clienteles", "")) if c],
        )
    except ValidationError as exc:
        fields = sorted({str(e["loc"][0]) for e in exc.errors() if e.get("loc")})
        return None, [_("Valeur invalide : %(columns)s.", columns=", ".join(fields))]
    return row, []


def parse_plan_csv(data: bytes) -> ParsedPlan:
    """The rows of a plan CSV and every problem of its cells (line 1 is the header)."""
    if len(data) > MAX_BYTES:
        raise ValidationFailed(fields={"file": _("Fichier trop volumineux (1 Mo au plus).")})
    text, delimiter = csv_text(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [(h or "").strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error):
        raise ValidationFailed(fields={"file": _("Le fichier CSV est vide.")}) from None
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ValidationFailed(
            _("En-tête incomplet : il manque %(columns)s.", columns=", ".join(missing)),
            code="invalid_plan",
            fields={"file": _("Colonnes attendues : %(columns)s.", columns=",".join(COLUMNS))},
        )
    columns = {c for c in header if c in EXPORT_COLUMNS}
    rows: list[tuple[int, PlanItemIn]] = []
    errors: list[dict[str, Any]] = []
    try:
        for number, record in enumerate(reader, start=2):
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) + len(errors) >= MAX_ROWS:
                raise ValidationFailed(
                    fields={"file": _("Trop de lignes (%(n)s au plus).", n=MAX_ROWS)}
                )
            cells = {
                name: (record[i] if i < len(record) else "").strip()
                for i, name in enumerate(header)
                if name in columns
            }
            row, problems = _cell_errors(number, cells)
            if row is None:
                errors.extend({"line": number, "error": p} for p in problems)
            else:
                rows.append((number, row))
    except csv.Error as exc:
        errors.append({"line": reader.line_num, "error": _("CSV illisible : %(e)s", e=str(exc))})
    if not rows and not errors:
        raise ValidationFailed(fields={"file": _("Le fichier ne contient aucun élément.")})
    return ParsedPlan(rows, errors, columns)


async def import_plan_csv(actor: Principal, plan_id: int, data: bytes) -> PlanImportOut:
    """Load a CSV into a plan: all or nothing (every bad line listed, in French)."""
    authorize(actor, plans.EDIT)
    parsed = parse_plan_csv(data)
    async with in_transaction():
        plan = await plans.get_plan(actor, plan_id)
        existing = {i.code: i for i in await PlanItem.filter(plan_id=plan.id)}
        errors = parsed.errors + plans.row_errors(
            parsed.rows, existing, await plans.known_clienteles()
        )
        if errors:
            raise plans.refused(sorted(errors, key=lambda e: e["line"]))
        counts = await plans.apply_rows(plan, parsed.rows, parsed.columns)
        await audit(
            actor,
            "plan.imported",
            plan,
            {"created": counts.created, "updated": counts.updated, "unchanged": counts.unchanged},
        )
    return PlanImportOut(
        plan_id=plan.id, created=counts.created, updated=counts.updated, unchanged=counts.unchanged
    )


def _cell(value: Any) -> str:
    return neutralize_formula(_CONTROL.sub("", str(value)))


async def export_plan_csv(actor: Principal, plan_id: int, *, semicolon: bool = False) -> bytes:
    """The plan as CSV (UTF-8 with BOM, CRLF), in tree order: re-importable as is."""
    plan, rows = await plans.plan_rows(actor, plan_id)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if semicolon else ",", lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        item = row.item
        writer.writerow(
            [
                _cell(item.code),
                item.level,
                _cell(row.parent_code or ""),
                _cell(item.title),
                _cell(item.indicator),
                item.target if item.target is not None else "",
                item.target_measure,
                item.clienteles,
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def export_filename(plan_id: int) -> str:
    return f"plan-{plan_id}.csv"
