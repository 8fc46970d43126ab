"""Model fields of our own."""

from __future__ import annotations

from typing import Any

from tortoise import fields


class DatabaseKeptIntField(fields.IntField):
    """An integer column that the database keeps (its triggers), never the application.

    Tortoise leaves a generated field out of every INSERT and of a whole-object UPDATE
    (`save()`), so an object loaded before the database changed the value cannot write the
    stale value back; an explicit `update(...)` of it raises. The column is a plain
    `INT NOT NULL DEFAULT <db_default>` on both databases (no SERIAL / AUTOINCREMENT, which
    Tortoise's `generated` otherwise means: `GENERATED_SQL` is unset); a created object
    holds that default, what the database gave its row.
    """

    class _db_postgres:
        GENERATED_SQL = None

    class _db_sqlite:
        GENERATED_SQL = None

    def __init__(self, db_default: int = 0, **kwargs: Any) -> None:
        kwargs["generated"] = True
        # A new object holds the value the database gives a new row (not a sentinel).
        kwargs.setdefault("default", db_default)
        super().__init__(db_default=db_default, **kwargs)
