"""A task cancelled at any point of a transaction leaves the database usable (a request
abandoned mid-way, a worker stopped): 500 random cancellations on each database, each
followed by a transaction that must finish within seconds, and every cancelled
transaction either whole or absent."""

from __future__ import annotations

import asyncio
import random

from tortoise.transactions import in_transaction

from core.models import AuditEntry

ROUNDS = 500


async def _pair(i: int) -> None:
    async with in_transaction():
        await AuditEntry.create(action="first", target_type="cancel", target_id=str(i))
        await AuditEntry.filter(target_type="cancel").count()
        await AuditEntry.create(action="second", target_type="cancel", target_id=str(i))


async def test_cancelled_transactions_never_wedge_the_database(db):
    rng = random.Random(20261202)
    cancelled = 0
    for i in range(ROUNDS):
        task = asyncio.create_task(_pair(i))
        # From "not started" to "committing": the delays span a transaction's life here.
        await asyncio.sleep(rng.random() * 0.0015)
        if task.cancel():
            cancelled += 1
        try:
            await task
        except asyncio.CancelledError:
            pass
        # The database still answers at once (it used to hang forever after the first
        # cancellation inside BEGIN on SQLite, and leak a pooled connection on PostgreSQL).
        await asyncio.wait_for(_pair(ROUNDS + i), timeout=10)
    assert cancelled > ROUNDS // 5  # the test really cancelled transactions midway
    rows = await AuditEntry.filter(target_type="cancel").values_list("target_id", "action")
    firsts = {t for t, a in rows if a == "first"}
    seconds = {t for t, a in rows if a == "second"}
    assert firsts == seconds  # all or nothing, never half a transaction
    assert {str(ROUNDS + i) for i in range(ROUNDS)} <= firsts
