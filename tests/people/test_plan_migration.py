"""Migration people 0006 (several plans) keeps what an existing database holds.

An existing database has seed 003's tree with unique codes and events tagged with its
items. After the migration the items belong to "Plan d'action régional 2023-2028", each
has its axis (an axis points to itself) and the events keep their tags: Tortoise's own
SQLite table rebuild would have deleted the tags in cascade (foreign keys on). Run in a
child process on an SQLite file of its own, so the suite's ORM state is not touched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import asyncio, datetime as dt, json, sys
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate
from core.db import close_orm, tortoise_config
from core.settings import Settings

config = tortoise_config(
    Settings(env="test", database_url=f"sqlite://{sys.argv[1]}", secret_key="x" * 40)
)

async def main():
    await migrate(config=config, target="people.0005_soak_indexes")
    await migrate(config=config, target="events.0006_e2_attestation_flag")
    await close_orm()
    await Tortoise.init(config=config)
    db = connections.get("default")
    await db.execute_script(
        "INSERT INTO people_plan_item (id, code, level, title, position, clienteles, parent_id)"
        " VALUES (1, 'A', 'axis', 'Sensibilisation', 1, '', NULL),"
        " (2, '1', 'orientation', 'Promouvoir', 2, '', 1),"
        " (3, '1.1', 'objective', 'Valoriser', 3, '', 2),"
        " (4, '1.1.3', 'action', 'JPS', 4, 'youth', 3),"
        " (5, 'B', 'axis', 'Mobilisation', 5, '', NULL)"
    )
    from events.models import Event
    start = dt.datetime(2027, 2, 15, 14, tzinfo=dt.UTC)
    event = await Event.create(uid="u1@test", kind="regional_event", title="JPS",
                               starts_at=start, ends_at=start + dt.timedelta(hours=2))
    await db.execute_script(
        f"INSERT INTO events_event_plan_item (events_event_id, planitem_id) VALUES "
        f"({event.id}, 4), ({event.id}, 5)"
    )
    await close_orm()
    await migrate(config=config)
    await Tortoise.init(config=config)
    db = connections.get("default")
    items = await db.execute_query_dict(
        "SELECT id, code, plan_id, axis_id, parent_id FROM people_plan_item ORDER BY id")
    plans = await db.execute_query_dict(
        "SELECT id, name, period_start, period_end FROM people_plan")
    tags = await db.execute_query_dict(
        "SELECT planitem_id FROM events_event_plan_item ORDER BY planitem_id")
    # The same code may now appear in another plan.
    await db.execute_script(
        "INSERT INTO people_plan (name, period_start, period_end, active, created_at)"
        " VALUES ('Plan 2029-2034', 2029, 2034, 1, '2029-01-01 00:00:00+00:00')")
    await db.execute_script(
        "INSERT INTO people_plan_item (plan_id, code, level, title, position, clienteles,"
        " indicator, target_measure)"
        " SELECT MAX(id), 'A', 'axis', 'Axe', 1, '', '', '' FROM people_plan")
    await close_orm()
    print(json.dumps({"items": items, "plans": plans, "tags": tags}))

asyncio.run(main())
"""


def test_existing_items_join_one_plan_and_events_keep_their_tags(tmp_path):
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", SCRIPT, str(tmp_path / "m.sqlite3")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["plans"] == [
        {
            "id": 1,
            "name": "Plan d'action régional 2023-2028",
            "period_start": 2023,
            "period_end": 2028,
        }
    ]
    assert found["items"] == [
        {"id": 1, "code": "A", "plan_id": 1, "axis_id": 1, "parent_id": None},
        {"id": 2, "code": "1", "plan_id": 1, "axis_id": 1, "parent_id": 1},
        {"id": 3, "code": "1.1", "plan_id": 1, "axis_id": 1, "parent_id": 2},
        {"id": 4, "code": "1.1.3", "plan_id": 1, "axis_id": 1, "parent_id": 3},
        {"id": 5, "code": "B", "plan_id": 1, "axis_id": 5, "parent_id": None},
    ]
    assert found["tags"] == [{"planitem_id": 4}, {"planitem_id": 5}]
