"""Several action plans: `Plan`, and per plan item its plan, axis, indicator and target.

The existing items (seed 003's tree) are attached to one plan created here, "Plan
d'action régional 2023-2028", and their axis (root ancestor; an axis points to itself) is
filled in. `code` becomes unique per plan instead of unique.

The schema change is written by hand (`_forward`) and the operations below only move the
migration state (`StateOnly`): on SQLite, dropping the column-level UNIQUE of `code` means
rebuilding the table, and Tortoise's rebuild drops the old table with foreign keys on, which
deletes in cascade the rows that reference it — every event's plan-item tags
(events_event_plan_item) and, through `parent_id`, the copied rows themselves. Here the
rebuild follows SQLite's documented procedure (foreign keys off, one transaction, then
`PRAGMA foreign_key_check`). The table has no separate index, before or after (the
(plan_id, code) unique constraint is declared in the table, as in a database made from the
models). On PostgreSQL it is plain ALTER TABLEs, in one transaction too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import UniqueConstraint
from tortoise.transactions import in_transaction

PLAN_NAME = "Plan d'action régional 2023-2028"
PLAN_START, PLAN_END = 2023, 2028
UNIQUE_NAME = "uid_people_plan_plan_id_376258"  # Tortoise's name for (plan_id, code)

# Each item with its root ancestor (an axis is its own root).
ROOTS_CTE = (
    "WITH RECURSIVE anc(id, root) AS ("
    "SELECT id, id FROM people_plan_item WHERE parent_id IS NULL "
    "UNION ALL SELECT c.id, anc.root FROM people_plan_item c JOIN anc ON c.parent_id = anc.id)"
)

SQLITE_TABLE = """CREATE TABLE "new__people_plan_item" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "code" VARCHAR(20) NOT NULL,
    "level" VARCHAR(12) NOT NULL,
    "title" TEXT NOT NULL,
    "position" INT NOT NULL,
    "clienteles" VARCHAR(64) NOT NULL,
    "indicator" VARCHAR(300) NOT NULL,
    "target" INT,
    "target_measure" VARCHAR(24) NOT NULL,
    "axis_id" INT REFERENCES "people_plan_item" ("id") ON DELETE SET NULL,
    "parent_id" INT REFERENCES "people_plan_item" ("id") ON DELETE CASCADE,
    "plan_id" INT NOT NULL REFERENCES "people_plan" ("id") ON DELETE CASCADE,
    CONSTRAINT "{unique}" UNIQUE ("plan_id", "code")
)""".format(unique=UNIQUE_NAME)

SQLITE_PLAN_TABLE = """CREATE TABLE IF NOT EXISTS "people_plan" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "period_start" INT NOT NULL,
    "period_end" INT NOT NULL,
    "active" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL
)"""

PG_PLAN_TABLE = """CREATE TABLE IF NOT EXISTS "people_plan" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(200) NOT NULL,
    "period_start" INT NOT NULL,
    "period_end" INT NOT NULL,
    "active" BOOL NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL
)"""


class StateOnly(ops.TortoiseOperation):
    """Moves the migration state as `operation` would; the database work is `_forward`'s."""

    def __init__(self, operation: ops.TortoiseOperation) -> None:
        self.operation = operation

    def describe(self) -> str:
        return f"{self.operation.describe()} (state only)"

    def state_forward(self, app_label: str, state: Any) -> None:
        self.operation.state_forward(app_label, state)


async def _plan_id(client: Any, placeholder: str) -> int | None:
    """Create the plan the existing items go to (none when there are no items)."""
    rows = await client.execute_query_dict('SELECT COUNT(*) AS n FROM "people_plan_item"')
    if not rows or not rows[0]["n"]:
        return None
    p = placeholder
    await client.execute_query(
        'INSERT INTO "people_plan" ("name", "period_start", "period_end", "active", "created_at") '
        f"VALUES ({p(1)}, {p(2)}, {p(3)}, {p(4)}, {p(5)})",
        [PLAN_NAME, PLAN_START, PLAN_END, True, dt.datetime.now(dt.UTC)],
    )
    found = await client.execute_query_dict(
        f'SELECT MAX("id") AS id FROM "people_plan" WHERE "name" = {p(1)}', [PLAN_NAME]
    )
    return int(found[0]["id"])


async def _sqlite(client: Any) -> None:
    # `core.db.run_migrations` already runs with foreign keys off; put back what was there.
    was = (await client.execute_query_dict("PRAGMA foreign_keys"))[0]["foreign_keys"]
    await client.execute_script("PRAGMA foreign_keys = OFF")
    try:
        async with in_transaction(client.connection_name) as conn:
            await conn.execute_script(SQLITE_PLAN_TABLE)
            plan_id = await _plan_id(conn, lambda n: "?")
            await conn.execute_script(SQLITE_TABLE)
            if plan_id is not None:
                await conn.execute_query(
                    f"{ROOTS_CTE} INSERT INTO new__people_plan_item (id, code, level, title, "
                    "position, clienteles, indicator, target, target_measure, axis_id, "
                    "parent_id, plan_id) SELECT i.id, i.code, i.level, i.title, i.position, "
                    "i.clienteles, '', NULL, '', anc.root, i.parent_id, ? "
                    "FROM people_plan_item i LEFT JOIN anc ON anc.id = i.id",
                    [plan_id],
                )
            await conn.execute_script('DROP TABLE "people_plan_item"')
            await conn.execute_script(
                'ALTER TABLE "new__people_plan_item" RENAME TO "people_plan_item"'
            )
            broken = await conn.execute_query_dict("PRAGMA foreign_key_check")
            if broken:
                raise RuntimeError(f"foreign keys broken by the plan migration: {broken[:5]}")
    finally:
        await client.execute_script(f"PRAGMA foreign_keys = {'ON' if was else 'OFF'}")


async def _postgres(client: Any) -> None:
    async with in_transaction(client.connection_name) as conn:
        await conn.execute_script(PG_PLAN_TABLE)
        await conn.execute_script(
            'ALTER TABLE "people_plan_item" '
            'ADD COLUMN "indicator" VARCHAR(300) NOT NULL DEFAULT \'\', '
            'ADD COLUMN "target" INT, '
            'ADD COLUMN "target_measure" VARCHAR(24) NOT NULL DEFAULT \'\', '
            'ADD COLUMN "axis_id" INT REFERENCES "people_plan_item" ("id") ON DELETE SET NULL, '
            'ADD COLUMN "plan_id" INT REFERENCES "people_plan" ("id") ON DELETE CASCADE'
        )
        await conn.execute_script(
            'ALTER TABLE "people_plan_item" ALTER COLUMN "indicator" DROP DEFAULT, '
            'ALTER COLUMN "target_measure" DROP DEFAULT'
        )
        plan_id = await _plan_id(conn, lambda n: f"${n}")
        if plan_id is not None:
            await conn.execute_query(
                f'{ROOTS_CTE} UPDATE "people_plan_item" i SET "plan_id" = $1, '
                '"axis_id" = anc.root FROM anc WHERE anc.id = i.id',
                [plan_id],
            )
            # Rows outside the tree (a parent cycle) still go to the plan.
            await conn.execute_query(
                'UPDATE "people_plan_item" SET "plan_id" = $1 WHERE "plan_id" IS NULL', [plan_id]
            )
        await conn.execute_script(
            'ALTER TABLE "people_plan_item" ALTER COLUMN "plan_id" SET NOT NULL'
        )
        uniques = await conn.execute_query_dict(
            "SELECT c.conname AS name FROM pg_constraint c "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) "
            "WHERE c.conrelid = 'people_plan_item'::regclass AND c.contype = 'u' "
            "AND array_length(c.conkey, 1) = 1 AND a.attname = 'code'"
        )
        for row in uniques:
            await conn.execute_script(
                f'ALTER TABLE "people_plan_item" DROP CONSTRAINT "{row["name"]}"'
            )
        await conn.execute_script(
            f'ALTER TABLE "people_plan_item" ADD CONSTRAINT "{UNIQUE_NAME}" '
            'UNIQUE ("plan_id", "code")'
        )


async def _forward(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "sqlite":
        await _sqlite(client)
    else:
        await _postgres(client)


class Migration(migrations.Migration):
    dependencies = [("people", "0005_soak_indexes")]

    initial = False
    # Not one transaction for the whole migration: on SQLite, `PRAGMA foreign_keys` can
    # only change outside a transaction. `_forward` opens its own (all or nothing).
    atomic = False

    operations = [
        ops.RunPython(_forward),
        StateOnly(
            ops.CreateModel(
                name="Plan",
                fields=[
                    (
                        "id",
                        fields.IntField(
                            generated=True, primary_key=True, unique=True, db_index=True
                        ),
                    ),
                    ("name", fields.CharField(max_length=200)),
                    ("period_start", fields.IntField()),
                    ("period_end", fields.IntField()),
                    ("active", fields.BooleanField(default=True)),
                    ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ],
                options={
                    "table": "people_plan",
                    "app": "people",
                    "pk_attr": "id",
                    "table_description": 'A regional action plan for a period of years ("Plan d\'action régional 2023-2028").',
                },
                bases=["Model"],
            )
        ),
        StateOnly(
            ops.AlterField(model_name="PlanItem", name="code", field=fields.CharField(max_length=20))
        ),
        StateOnly(
            ops.AddField(
                model_name="PlanItem",
                name="axis",
                field=fields.ForeignKeyField(
                    "people.PlanItem",
                    source_field="axis_id",
                    null=True,
                    db_constraint=True,
                    to_field="id",
                    related_name=False,
                    on_delete=OnDelete.SET_NULL,
                ),
            )
        ),
        StateOnly(
            ops.AddField(
                model_name="PlanItem",
                name="indicator",
                field=fields.CharField(default="", max_length=300),
            )
        ),
        StateOnly(
            ops.AddField(
                model_name="PlanItem",
                name="plan",
                field=fields.ForeignKeyField(
                    "people.Plan",
                    source_field="plan_id",
                    db_constraint=True,
                    to_field="id",
                    related_name="items",
                    on_delete=OnDelete.CASCADE,
                ),
            )
        ),
        StateOnly(ops.AddField(model_name="PlanItem", name="target", field=fields.IntField(null=True))),
        StateOnly(
            ops.AddField(
                model_name="PlanItem",
                name="target_measure",
                field=fields.CharField(default="", max_length=24),
            )
        ),
        StateOnly(
            ops.AddConstraint(
                model_name="PlanItem",
                constraint=UniqueConstraint(fields=("plan", "code"), name=None),
            )
        ),
    ]
