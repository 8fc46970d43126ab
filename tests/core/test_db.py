"""core.db: SQLite transactions between processes, hand-written SQL in both dialects."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
from pathlib import Path

import pytest
from tortoise.transactions import in_transaction

from core import db
from core.db import normalize_db_url
from people.models import Territory
from tests.conftest import dialect


async def test_a_transaction_that_reads_then_writes_waits_for_another_process(settings):
    """Another process (here another SQLite connection) writes between our read and our
    write: with a deferred BEGIN our write failed at once with "database is locked"; with
    BEGIN IMMEDIATE the other writer waits for our commit and both writes land."""
    if dialect() != "sqlite":
        pytest.skip("SQLite only: PostgreSQL locks rows, not the database")
    path = Path(re.sub(r"^sqlite://", "", normalize_db_url(settings.database_url)).split("?")[0])
    territory = await Territory.get(code="2462")
    outcome: dict[str, object] = {}

    def other_process() -> None:
        other = sqlite3.connect(path, timeout=10, isolation_level=None)
        try:
            other.execute(
                "UPDATE people_territory SET name = name || ' (autre)' WHERE id = ?",
                [territory.id],
            )
            outcome["other"] = "ok"
        except sqlite3.Error as exc:  # pragma: no cover - what the fix prevents
            outcome["other"] = repr(exc)
        finally:
            other.close()

    async with in_transaction():
        await Territory.filter(id=territory.id).first()  # the transaction reads first
        thread = threading.Thread(target=other_process)
        thread.start()
        await asyncio.sleep(0.3)  # the other writer is now waiting (or has written)
        await Territory.filter(id=territory.id).update(active=False)  # then writes
    await asyncio.to_thread(thread.join, 15)
    assert outcome == {"other": "ok"}
    refreshed = await Territory.get(id=territory.id)
    assert refreshed.active is False
    assert refreshed.name.endswith(" (autre)")


async def test_hand_written_sql_runs_in_both_dialects(settings):
    territory = await db.first_where(Territory, "code", "2462")
    assert territory is not None and territory.code == "2462"
    assert await db.first_where(Territory, "code", "nope") is None
    changed = await db.execute(
        Territory, "UPDATE people_territory SET active = ? WHERE code = ?", [False, "2462"]
    )
    assert changed == 1
    rows = await db.fetch_values(
        Territory, "SELECT code, active FROM people_territory WHERE code IN (?, ?)", ["2462", "x"]
    )
    assert rows == [{"code": "2462", "active": False}]
    territory.name = "Matawinie (renommée)"
    await territory.save()  # an instance from first_where is a full, savable model
    assert (await Territory.get(code="2462")).name == "Matawinie (renommée)"
