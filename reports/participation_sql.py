"""The SQL of the participation report (`reports.participation`): one statement, two parts.

`base` (materialized once) holds one row per counted registration of the filtered set with
what the measures need: its party size, its active check-in days (`checked_in_days`, which
the database keeps), whether its event has started / is over, whether it is its person's
first participation ever (its event starts no later than the person's first participation,
`registrations_first_participation`, which the database keeps too:
registrations.models.FirstParticipation), and the columns the group keys read. The
statement then aggregates `base` by the group keys, and (UNION ALL) the totals: their
additive measures are the sums of those rows, their distinct counts are distinct over the
whole set. `build_many` aggregates the same `base` once per grouping (the dashboard's
groupings in one statement). Every value is bound; the text differs only by the keys and
filters used. Written for SQLite and PostgreSQL alike (`?` placeholders are numbered for
PostgreSQL); on PostgreSQL, groupings without a plan-item key are aggregated in one pass
with GROUPING SETS instead (`_grouping_sets`: the same rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from registrations.models import RegistrationSource, RegistrationStatus

COUNTED = RegistrationStatus.CONFIRMED.value
WALKIN = RegistrationSource.WALKIN.value

# The axis of a plan item: its `axis` column (people.PlanItem), else its root ancestor
# (axis > orientation > objective > action: 3 hops) for a row whose axis was not filled.
_ROOT_JOINS = (
    "JOIN people_plan_item p0 ON p0.id = epi.planitem_id "
    "LEFT JOIN people_plan_item p1 ON p1.id = p0.parent_id "
    "LEFT JOIN people_plan_item p2 ON p2.id = p1.parent_id "
    "LEFT JOIN people_plan_item p3 ON p3.id = p2.parent_id"
)
_ROOT = "COALESCE(p0.axis_id, p3.id, p2.id, p1.id, p0.id)"

# Group key -> the column of `base` (or of the tag join `t`) it groups by.
KEY_COLUMNS = {
    "clientele": "b.clientele_id",
    "territory": "b.territory_id",
    "region": "b.region_id",
    "event_territory": "b.event_territory_id",
    "sector": "b.sector",
    "kind": "b.kind",
    "plan_item": "t.item_id",
    "axis": "t.axis_id",
    "month": "b.month",
    "edition": "b.parent_id",
}

# The SQL type of each key's column: the NULLs standing for another grouping's keys are
# typed (PostgreSQL types a UNION's columns pairwise: two untyped NULLs would make text).
KEY_TYPES = {key: "INTEGER" for key in KEY_COLUMNS} | {
    "sector": "VARCHAR",
    "kind": "VARCHAR",
    "month": "VARCHAR",
}

# The measures that add up over any partition of the set (the walk-ins' source is bound),
# then the distinct counts, which do not.
ADDITIVE = """
    COUNT(*) AS registrations,
    COALESCE(SUM(b.party_size), 0) AS headcount,
    COALESCE(SUM(b.party_size * b.days), 0) AS attended_headcount,
    COALESCE(SUM(CASE WHEN b.started = 1 AND b.days > 0 THEN b.party_size ELSE 0 END), 0)
        AS came_heads,
    COALESCE(SUM(CASE WHEN b.started = 1 THEN b.party_size ELSE 0 END), 0) AS expected_heads,
    COALESCE(SUM(CASE WHEN b.source = ? THEN 1 ELSE 0 END), 0) AS walkins,
    COALESCE(SUM(CASE WHEN b.ended = 1 AND b.days = 0 THEN 1 ELSE 0 END), 0) AS no_shows"""
DISTINCT = """
    COUNT(DISTINCT b.person_id) AS people,
    COUNT(DISTINCT CASE WHEN b.is_new = 1 THEN b.person_id END) AS new_people,
    COUNT(DISTINCT b.organization_id) AS organizations
"""
AGGREGATES = f"{ADDITIVE},{DISTINCT}"
ADDITIVE_NAMES = (
    "registrations",
    "headcount",
    "attended_headcount",
    "came_heads",
    "expected_heads",
    "walkins",
    "no_shows",
)
# Keys that may count a registration in several rows of a grouping, or in none (an event
# tagged with several plan items, or with none).
TAG_KEYS = frozenset({"plan_item", "axis"})

AGGREGATE_NAMES = (
    *ADDITIVE_NAMES,
    "people",
    "new_people",
    "organizations",
)


@dataclass
class Where:
    """The filter conditions on the registration `r` and its event `e`, and their values."""

    conditions: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    # Plan items a tag join may read (a plan-item or plan filter); None: any.
    tag_items: list[int] | None = None
    # A condition reads the registration's organization `o` (the sector filter).
    needs_organization: bool = False

    def add(self, condition: str, *values: Any) -> None:
        self.conditions.append(condition)
        self.params.extend(values)

    def add_in(self, column: str, values: list[Any]) -> None:
        if not values:
            self.conditions.append("1 = 0")
            return
        self.add(f"{column} IN ({', '.join('?' for _ in values)})", *values)


def _month_case(months: list[tuple[str, datetime, datetime]]) -> tuple[str, list[Any]]:
    """The local month of the event's start, as a CASE over the months' UTC bounds."""
    if not months:
        return "NULL", []
    parts, params = [], []
    for code, start, end in months:
        parts.append("WHEN e.starts_at >= ? AND e.starts_at < ? THEN CAST(? AS VARCHAR(7))")
        params.extend([start, end, code])
    return f"CASE {' '.join(parts)} ELSE NULL END", params


def _tag_join(keys: tuple[str, ...], tag_items: list[int] | None) -> tuple[str, list[Any]]:
    """The event's plan items (and their axes) as `t`, one row per group an event joins."""
    if not {"plan_item", "axis"} & set(keys):
        return "", []
    where, params = "", []
    if tag_items is not None:
        if tag_items:
            where = f"WHERE epi.planitem_id IN ({', '.join('?' for _ in tag_items)})"
            params = list(tag_items)
        else:
            where = "WHERE 1 = 0"
    columns = "epi.planitem_id AS item_id, " if "plan_item" in keys else ""
    sql = (
        f"LEFT JOIN (SELECT DISTINCT epi.events_event_id AS event_id, {columns}"  # noqa: S608
        f"{_ROOT} AS axis_id FROM events_event_plan_item epi {_ROOT_JOINS} {where}) t "
        "ON t.event_id = b.event_id"
    )
    return sql, params


def _base(
    keys: set[str],
    where: Where,
    now: datetime,
    months: list[tuple[str, datetime, datetime]],
    dialect: str,
) -> tuple[str, list[Any]]:
    """The `base` set's SELECT and its values, with the columns every key of `keys` reads."""
    month_sql, month_params = _month_case(months) if "month" in keys else ("NULL", [])
    joins = ""
    if "region" in keys:
        joins += " LEFT JOIN people_territory pt ON pt.id = r.territory_id"
    if "sector" in keys or where.needs_organization:
        joins += " LEFT JOIN people_organization o ON o.id = r.organization_id"
    region = "COALESCE(pt.parent_id, pt.id)" if "region" in keys else "NULL"
    sector = "o.sector" if "sector" in keys else "NULL"
    conditions = " AND ".join(["r.status = ?", *where.conditions])
    # The period's events first, then their registrations from the report's covering index
    # (registrations.models), with their check-in days (a column the database keeps:
    # registrations migration 0011) and their person's first participation (one probe of
    # its primary key; migration 0010). SQLite: CROSS JOIN keeps that order.
    join = "CROSS JOIN" if dialect == "sqlite" else "JOIN"
    from_sql = f"""
    FROM events_event e
    {join} registrations_registration r ON r.event_id = e.id{joins}
    LEFT JOIN registrations_first_participation f ON f.person_id = r.person_id
    WHERE {conditions}"""  # noqa: S608 - fixed text; every value bound
    # Only the columns the keys read (narrower rows: cheaper to materialize and to sort).
    key_columns = {
        "clientele": "r.clientele_id",
        "territory": "r.territory_id",
        "region": f"{region} AS region_id",
        "event_territory": "e.territory_id AS event_territory_id",
        "sector": f"{sector} AS sector",
        "kind": "e.kind",
        "plan_item": "e.id AS event_id",
        "axis": "e.id AS event_id",
        "month": f"{month_sql} AS month",
        "edition": "e.parent_id",
    }
    read = "".join(f"{c}, " for c in dict.fromkeys(key_columns[k] for k in sorted(keys)))
    base = f"""
    SELECT {read}r.person_id, r.organization_id, r.party_size, r.source,
        CASE WHEN e.starts_at <= ? THEN 1 ELSE 0 END AS started,
        CASE WHEN e.ends_at < ? THEN 1 ELSE 0 END AS ended,
        r.checked_in_days AS days,
        CASE WHEN e.starts_at <= f.starts_at THEN 1 ELSE 0 END AS is_new {from_sql}
    """  # noqa: S608 - fixed text (the keys and filters pick pieces); every value bound
    return base, [*month_params, now, now, COUNTED, *where.params]


def _null(key: str) -> str:
    return f"CAST(NULL AS {KEY_TYPES[key]})"


def _grouping_sets(
    groupings: list[tuple[str, ...]],
    where: Where,
    now: datetime,
    months: list[tuple[str, datetime, datetime]],
) -> tuple[str, list[Any]] | None:
    """PostgreSQL: `build_many`'s rows in one pass, `GROUP BY GROUPING SETS` over `base` as
    a plain subquery (the planner flattens it: nothing materialized, read once), or None
    where that form does not apply: a plan-item key (its tag join repeats an event's rows
    for that grouping only) or two groupings of the same keys."""
    keyed = [keys for keys in groupings if keys]
    sets = [frozenset(keys) for keys in keyed]
    if {"plan_item", "axis"} & {k for keys in keyed for k in keys} or len(set(sets)) < len(sets):
        return None
    base, base_params = _base({k for keys in keyed for k in keys}, where, now, months, "postgres")
    columns = list(dict.fromkeys(KEY_COLUMNS[k] for keys in keyed for k in keys))
    grouping = f"GROUPING({', '.join(columns)})" if columns else "0"

    def bits(keys: tuple[str, ...]) -> int:
        # GROUPING(): a set bit per column not grouped by, the first column the highest.
        used = {KEY_COLUMNS[k] for k in keys}
        return sum(1 << (len(columns) - 1 - i) for i, c in enumerate(columns) if c not in used)

    which = " ".join(f"WHEN {bits(keys)} THEN {j}" for j, keys in enumerate(groupings) if keys)
    select = "".join(
        f"CASE WHEN {grouping} = {bits(keys)} THEN {KEY_COLUMNS[key]} END AS g{j}k{i}, "
        for j, keys in enumerate(groupings)
        for i, key in enumerate(keys)
    )
    sets_sql = ", ".join(
        [*(f"({', '.join(KEY_COLUMNS[k] for k in keys)})" for keys in keyed), "()"]
    )
    g = f"CASE {grouping} {which} ELSE -1 END" if which else "-1"
    sql = (
        f"SELECT {g} AS g, {select}{AGGREGATES} FROM ({base}) b "  # noqa: S608 - fixed text
        f"GROUP BY GROUPING SETS ({sets_sql})"
    )
    return sql, [WALKIN, *base_params]


def build_many(
    groupings: list[tuple[str, ...]],
    where: Where,
    now: datetime,
    months: list[tuple[str, datetime, datetime]],
    dialect: str = "sqlite",
) -> tuple[str, list[Any]]:
    """One statement for several groupings of the same set: `base` is built once, then
    aggregated per grouping (UNION ALL) and over the whole set (`part`: the additive
    totals from a partitioning grouping's rows). Rows: `g` the index of the
    grouping (-1: the totals), `g{j}k{i}` the i-th key of grouping j (NULL on the rows of
    the other groupings), then the aggregates. A grouping without keys has no rows of its
    own (the totals are its only row). On PostgreSQL the same rows come from one pass with
    GROUPING SETS where that form applies (`_grouping_sets`)."""
    if dialect == "postgres":
        one_pass = _grouping_sets(groupings, where, now, months)
        if one_pass is not None:
            return one_pass
    base, params = _base({k for keys in groupings for k in keys}, where, now, months, dialect)
    ctes = [f"base AS MATERIALIZED ({base})"]
    # A grouping whose rows partition the set (no tag key: each registration in exactly
    # one row) is kept as `part`: the totals' additive measures are its rows' sums (a few
    # rows instead of the whole set again); only their distinct counts read `base`.
    partition = next(
        (j for j, keys in enumerate(groupings) if keys and not TAG_KEYS & set(keys)), None
    )
    branches: list[str] = []
    branch_params: list[Any] = []
    for j, keys in enumerate(groupings):
        if not keys:
            continue
        tag_sql, tag_params = _tag_join(keys, where.tag_items)
        columns = [KEY_COLUMNS[k] for k in keys]
        select = "".join(
            f"{columns[i] if other == j else _null(other_keys[i])} AS g{other}k{i}, "
            for other, other_keys in enumerate(groupings)
            for i in range(len(other_keys))
        )
        branch = (
            f"SELECT {j} AS g, {select}{AGGREGATES} FROM base b {tag_sql} "  # noqa: S608
            f"GROUP BY {', '.join(columns)}"
        )
        if j == partition:
            ctes.append(f"part AS MATERIALIZED ({branch})")
            params += [WALKIN, *tag_params]
            branches.append("SELECT * FROM part")
        else:
            branches.append(branch)
            branch_params += [WALKIN, *tag_params]
    params += branch_params
    nulls = "".join(
        f"{_null(other_keys[i])} AS g{other}k{i}, "
        for other, other_keys in enumerate(groupings)
        for i in range(len(other_keys))
    )
    if partition is None:
        branches.append(f"SELECT -1 AS g, {nulls}{AGGREGATES} FROM base b")  # noqa: S608
        params.append(WALKIN)
    else:
        sums = ", ".join(f"CAST(COALESCE(SUM(p.{n}), 0) AS BIGINT) AS {n}" for n in ADDITIVE_NAMES)
        branches.append(
            f"SELECT -1 AS g, {nulls}s.*, d.* FROM (SELECT {sums} FROM part p) s "  # noqa: S608
            f"CROSS JOIN (SELECT {DISTINCT} FROM base b) d"
        )
    sql = f"WITH {', '.join(ctes)} " + " UNION ALL ".join(branches)  # noqa: S608
    return sql, params


def build(
    keys: tuple[str, ...],
    where: Where,
    now: datetime,
    months: list[tuple[str, datetime, datetime]],
    dialect: str = "sqlite",
) -> tuple[str, list[Any]]:
    """The statement of one grouping (`build_many` of one)."""
    return build_many([keys], where, now, months, dialect)


def numbered(sql: str, dialect: str) -> str:
    """`?` placeholders as PostgreSQL's `$1, $2...`; unchanged for SQLite."""
    if dialect != "postgres":
        return sql
    pieces = sql.split("?")
    out = [pieces[0]]
    for index, piece in enumerate(pieces[1:], start=1):
        out.append(f"${index}{piece}")
    return "".join(out)
