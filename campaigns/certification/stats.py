"""Certification figures for the reports: employers certified by MRC, sector and level, and
the student employees they cover.

"Certified on day D" means, at the end of D (local time): a certificate issued by then,
whose validity runs past it, not revoked by then and not yet replaced by its renewal's
certificate. Without a day, "now" and only certificates whose status is still in force
(what the directory and the verification page say). Each employer counts once per group
(an employer certified by two programs is one employer; its student employees are counted
once), all in SQL: the inner query keeps one row per employer and group, the outer one
counts and sums.

The caller (the reports package) checks its own permission (`reports.view`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from campaigns.certification.models import (
    Application,
    Certificate,
    CertificateStatus,
    Employer,
    Level,
    Program,
)
from campaigns.certification.schemas import sector_label
from campaigns.certification.verification import in_force_sql
from core.db import fetch_values
from core.settings import local_tz
from people.models import PlanItem, Territory

GROUPS = ("territory", "sector", "level")


class StatsError(ValueError):
    """An unknown group."""


def _table(model: Any) -> str:
    return str(model._meta.db_table)


def _instant(on: date | None) -> datetime:
    if on is None:
        return datetime.now(UTC)
    end = datetime.combine(on + timedelta(days=1), time(0), tzinfo=local_tz())
    return end.astimezone(UTC)


def _where(
    *, on: date | None, territory: str | None, sector: str | None, level: str | None
) -> tuple[list[str], list[Any]]:
    """The conditions (on aliases c, a, e, l, t, tp) and their values."""
    at = _instant(on)
    cert, app = _table(Certificate), _table(Application)
    conditions = ["c.issued_at <= ?", "c.valid_until > ?"]
    values: list[Any] = [at, at]
    if on is None:
        in_force, in_force_values = in_force_sql("c", at)
        conditions.append(in_force)
        values += in_force_values
    else:
        conditions.append("NOT (c.status = ? AND COALESCE(c.revoked_at, c.issued_at) <= ?)")
        values += [CertificateStatus.REVOKED.value, at]
        conditions.append(
            f"NOT EXISTS (SELECT 1 FROM {cert} c2 JOIN {app} a2 ON a2.id = c2.application_id "  # noqa: S608
            "WHERE a2.previous_id = c.application_id AND c2.issued_at <= ?)"
        )
        values.append(at)
    if territory:
        conditions.append("(t.code = ? OR tp.code = ?)")
        values += [territory, territory]
    if sector:
        conditions.append("e.sector = ?")
        values.append(sector)
    if level:
        conditions.append("l.code = ?")
        values.append(level)
    return conditions, values


_KEYS = {
    "territory": ("t.code", "t.name", "territory", "territory_name"),
    "sector": ("e.sector", None, "sector", None),
    "level": ("l.code", "l.name_fr", "level", "level_name"),
}


def _group_columns(group_by: Sequence[str]) -> list[tuple[str, str]]:
    """(SQL expression, output name) of each group key and its label."""
    columns: list[tuple[str, str]] = []
    for key in dict.fromkeys(group_by):
        if key not in _KEYS:
            raise StatsError(f"unknown group {key!r} (one of {', '.join(GROUPS)})")
        code, label, name, label_name = _KEYS[key]
        columns.append((code, name))
        if label and label_name:
            columns.append((label, label_name))
    return columns


def _joins(extra: str = "") -> str:
    return (
        f"FROM {_table(Certificate)} c "
        f"JOIN {_table(Application)} a ON a.id = c.application_id "
        f"JOIN {_table(Employer)} e ON e.id = a.employer_id "
        f"JOIN {_table(Level)} l ON l.id = c.level_id "
        f"LEFT JOIN {_table(Territory)} t ON t.id = e.territory_id "
        f"LEFT JOIN {_table(Territory)} tp ON tp.id = t.parent_id " + extra
    )


async def certified_employers(
    *,
    on: date | None = None,
    territory: str | None = None,
    sector: str | None = None,
    level: str | None = None,
    group_by: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Rows `{<group keys>..., employers, student_employees}` ordered by the keys; one row
    (the totals) without `group_by`. `territory` filters by MRC code or region code (all
    its MRCs); `group_by` among "territory" (the MRC: code and name), "sector", "level"
    (code and French name), "sector" (code and `sector_label`, in the current language)."""
    columns = _group_columns(group_by)
    conditions, values = _where(on=on, territory=territory, sector=sector, level=level)
    inner_cols = ", ".join(["e.id AS employer_id", "e.student_employees AS students"])
    inner_cols += "".join(f", {expr} AS {name}" for expr, name in columns)
    inner_group = ", ".join(["e.id", "e.student_employees", *(expr for expr, _n in columns)])
    names = [name for _e, name in columns]
    outer_cols = "".join(f"{name}, " for name in names)
    sql = (
        f"SELECT {outer_cols}COUNT(*) AS employers, COALESCE(SUM(students), 0) AS "  # noqa: S608
        f"student_employees FROM (SELECT {inner_cols} {_joins()} "
        f"WHERE {' AND '.join(conditions)} GROUP BY {inner_group}) x"
        + (f" GROUP BY {', '.join(names)} ORDER BY {', '.join(names)}" if names else "")
    )
    rows = await fetch_values(Certificate, sql, values)
    out = []
    for row in rows:
        item = {name: row[name] for name in names}
        if "sector" in item:
            item["sector_label"] = sector_label(item["sector"] or "")
        item["employers"] = int(row["employers"] or 0)
        item["student_employees"] = int(row["student_employees"] or 0)
        out.append(item)
    return out


def _plan_link() -> tuple[str, str, str]:
    """The program ↔ plan item link table and its two columns."""
    relation = Program._meta.fields_map["plan_items"]
    return (
        str(relation.through),  # type: ignore[attr-defined]
        str(relation.backward_key),  # type: ignore[attr-defined]
        str(relation.forward_key),  # type: ignore[attr-defined]
    )


async def certified_by_plan_item(
    *,
    on: date | None = None,
    territory: str | None = None,
    sector: str | None = None,
    level: str | None = None,
) -> list[dict[str, Any]]:
    """Rows `{plan_item, plan_item_title, employers, student_employees}`: the employers
    certified by the programs tagged with each plan item (action 5.1.2, …), by code."""
    through, program_col, item_col = _plan_link()
    conditions, values = _where(on=on, territory=territory, sector=sector, level=level)
    joins = _joins(
        f"JOIN {through} pp ON pp.{program_col} = a.program_id "
        f"JOIN {_table(PlanItem)} p ON p.id = pp.{item_col} "
    )
    sql = (
        "SELECT plan_item, plan_item_title, COUNT(*) AS employers, "  # noqa: S608
        "COALESCE(SUM(students), 0) AS student_employees FROM (SELECT e.id AS employer_id, "
        "e.student_employees AS students, p.code AS plan_item, p.title AS plan_item_title "
        f"{joins} WHERE {' AND '.join(conditions)} "
        "GROUP BY e.id, e.student_employees, p.code, p.title) x "
        "GROUP BY plan_item, plan_item_title ORDER BY plan_item"
    )
    rows = await fetch_values(Certificate, sql, values)
    return [
        {
            "plan_item": row["plan_item"],
            "plan_item_title": row["plan_item_title"],
            "employers": int(row["employers"] or 0),
            "student_employees": int(row["student_employees"] or 0),
        }
        for row in rows
    ]
