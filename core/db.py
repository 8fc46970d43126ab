"""Database configuration: one Tortoise app per feature package, each with its migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tortoise import Model, Tortoise, connections
from tortoise.migrations.api import migrate as migrate_api

from core.settings import PROJECT_ROOT, Settings

M = TypeVar("M", bound=Model)

# Feature packages that own models, in dependency order. Each has `<app>.models`
# and `<app>.migrations`.
APPS: list[str] = ["core", "people", "events", "registrations", "campaigns", "evaluations"]
# Packages whose service and receivers are loaded (every app, sub-packages with their own
# receivers, and reports, which has no models).
PACKAGES: list[str] = [*APPS, "campaigns.certification", "reports"]
# Sub-packages whose models belong to an app (and share its migrations).
EXTRA_MODELS: dict[str, list[str]] = {"campaigns": ["campaigns.certification.models"]}

SQLITE_PRAGMAS = {"busy_timeout": "10000", "synchronous": "NORMAL"}


def load_packages(settings: Settings | None = None) -> None:
    """Import every package's domain modules and connect its signal receivers.

    A package that reacts to other packages' changes has a `receivers` module whose
    `connect(settings)` connects its receivers to the typed signals (`core.signals`);
    after this, `core.signals.unconnected()` is empty (a test checks it).
    """
    import importlib

    from core.settings import load_settings, use_time_zone

    settings = settings or load_settings()
    use_time_zone(settings.time_zone)
    for app in dict.fromkeys(PACKAGES):
        for part in ("service", "receivers"):
            name = f"{app}.{part}"
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name != name:
                    raise
                continue
            if part == "receivers":
                module.connect(settings)


def normalize_db_url(url: str) -> str:
    """Make SQLite paths absolute (relative to the project) and add safe pragmas."""
    if url.startswith("postgresql://"):
        url = "postgres://" + url[len("postgresql://") :]
    if not url.startswith("sqlite://") or url.startswith("sqlite://:memory:"):
        return url
    parts = urlsplit(url)
    raw_path = url[len("sqlite://") :].split("?", 1)[0]
    path = Path(raw_path)
    if not path.is_absolute():
        path = PROJECT_ROOT / path
    path.parent.mkdir(parents=True, exist_ok=True)
    query = dict(parse_qsl(parts.query))
    for key, value in SQLITE_PRAGMAS.items():
        query.setdefault(key, value)
    return urlunsplit(("sqlite", "", str(path), urlencode(query), ""))


def _immediate_sqlite_transactions() -> None:
    """SQLite write transactions start with `BEGIN IMMEDIATE` (one step).

    Tortoise opens them with a deferred `BEGIN` (after a needless COMMIT). A deferred
    transaction that reads, then writes, fails at once with "database is locked"
    (SQLITE_BUSY_SNAPSHOT, no busy timeout) when another process wrote in between: with
    `serve --workers N` on SQLite, registrations got 500s. IMMEDIATE takes the write lock
    at BEGIN, where the busy timeout applies, so processes queue instead of failing.
    Within one process Tortoise already runs one transaction at a time: nothing changes.
    """
    import sqlite3

    from tortoise.backends.sqlite.client import SqliteTransactionWrapper
    from tortoise.exceptions import TransactionManagementError

    async def begin(self: Any) -> None:
        try:
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc

    SqliteTransactionWrapper.begin = begin  # type: ignore[method-assign]


_immediate_sqlite_transactions()


def _cancellation_safe_transactions() -> None:
    """A task cancelled while a transaction opens no longer wedges the database.

    Tortoise's transaction contexts take their resource (SQLite: the connection's lock;
    PostgreSQL: a pooled connection) and then BEGIN, in `__aenter__`. A cancellation (or
    any error) between the two leaves `__aexit__` uncalled: the SQLite lock was never
    released — every later query of the process waited forever — and the PostgreSQL
    connection never went back to the pool. Here a failed or cancelled `__aenter__`
    undoes what it did: the BEGIN that may still complete (aiosqlite runs statements in
    its own thread, in order) is rolled back, the context variable is reset and the lock
    or connection is given back; then the cancellation goes on.
    """
    import asyncio
    import contextlib

    from tortoise.backends.base.client import TransactionContextPooled
    from tortoise.backends.sqlite.client import SqliteTransactionContext
    from tortoise.connection import get_connections

    async def _undo(action: Any) -> None:
        # Shielded: a second cancellation must not leave the clean-up half done.
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.shield(action())

    async def sqlite_enter(self: Any) -> Any:
        await self._trxlock.acquire()
        token = None
        try:
            await self.ensure_connection()
            token = self.token = get_connections().set(self.connection_name, self.connection)
            await self.connection.begin()
        except BaseException:
            connection = self.connection._connection

            async def rollback() -> None:
                if connection is not None:
                    await connection.rollback()

            await _undo(rollback)
            if token is not None:
                get_connections().reset(token)
            self._trxlock.release()
            raise
        return self.connection

    async def pooled_enter(self: Any) -> Any:
        await self.ensure_connection()
        pool = self.client._parent._pool
        self.client._connection = await pool.acquire()
        token = None
        try:
            token = self.token = get_connections().set(self.connection_name, self.client)
            await self.client.begin()
        except BaseException:
            connection = self.client._connection

            async def give_back() -> None:
                # asyncpg resets the connection (rolling back an open transaction) or
                # terminates it when a query was interrupted; either way the pool keeps
                # its size.
                await pool.release(connection)

            await _undo(give_back)
            if token is not None:
                get_connections().reset(token)
            raise
        return self.client

    SqliteTransactionContext.__aenter__ = sqlite_enter  # type: ignore[method-assign]
    TransactionContextPooled.__aenter__ = pooled_enter  # type: ignore[method-assign]


_cancellation_safe_transactions()


def tortoise_config(settings: Settings) -> dict[str, Any]:
    return {
        "connections": {"default": normalize_db_url(settings.database_url)},
        "apps": {
            app: {
                "models": [f"{app}.models", *EXTRA_MODELS.get(app, [])],
                "default_connection": "default",
                "migrations": f"{app}.migrations",
            }
            for app in APPS
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def dialect() -> str:
    return connections.get("default").capabilities.dialect


class ForeignKeysBroken(RuntimeError):
    """Rows of an SQLite database point to rows that do not exist (`foreign_key_check`)."""


async def _sqlite_foreign_key_check(when: str, advice: str) -> None:
    rows = await connections.get("default").execute_query_dict("PRAGMA foreign_key_check")
    if rows:
        found = ", ".join(
            f"{row['table']} ligne {row['rowid']} → {row['parent']}" for row in rows[:10]
        )
        raise ForeignKeysBroken(
            f"Clés étrangères rompues {when} : {len(rows)} ligne(s) désignent une ligne "
            f"absente ({found}). {advice}"
        )


async def run_migrations(settings: Settings, progress: Any = None) -> None:
    """Apply every pending migration (what `rassembleur migrate` does).

    On SQLite the migrations run on a connection with foreign keys off, as SQLite's
    documented table-rebuild procedure requires: Tortoise rebuilds a table for an
    AlterField (create, copy, DROP TABLE, rename) and, with foreign keys on, DROP TABLE
    deletes the rows first, which deletes in cascade (or nulls) every row of the other
    tables that references them (registrations 0003 emptied `registrations_checkin`).
    `PRAGMA foreign_key_check` runs before (a database already broken is not touched) and
    after (a migration that broke a reference fails loudly instead of leaving it). The
    connection is then closed: the application's connections have foreign keys on.
    PostgreSQL is unchanged.
    """
    config = tortoise_config(settings)
    url = config["connections"]["default"]
    if not url.startswith("sqlite://"):
        await migrate_api(config=config, progress=progress)
        return
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["foreign_keys"] = "OFF"
    config["connections"]["default"] = urlunsplit(parts._replace(query=urlencode(query)))
    await Tortoise.init(config=config, init_connections=False)
    try:
        await _sqlite_foreign_key_check(
            "avant les migrations",
            "Rien n'a été modifié : corrigez ces lignes, puis relancez la migration.",
        )
    finally:
        await Tortoise.close_connections()
    try:
        await migrate_api(config=config, progress=progress)
        await _sqlite_foreign_key_check(
            "par les migrations",
            "Restaurez la sauvegarde de la base de données et signalez le problème.",
        )
    finally:
        await Tortoise.close_connections()


async def init_orm(settings: Settings) -> None:
    load_packages(settings)
    await Tortoise.init(config=tortoise_config(settings))


async def close_orm() -> None:
    await Tortoise.close_connections()


# --------------------------------------------------------------------------- hand-written SQL
# For the few hot paths where building a query with the ORM costs more than running it
# (registering, checking in): SQL written once with `?` placeholders, turned into the
# connection's dialect ($1, $2, ... on PostgreSQL) once and remembered. Table and column
# names come from the models; values are always bound parameters.

_DIALECT_SQL: dict[tuple[str, str], str] = {}


def in_dialect(db: Any, sql: str) -> str:
    """`sql` with its `?` placeholders in the dialect of connection `db`."""
    dialect = db.capabilities.dialect
    key = (dialect, sql)
    text = _DIALECT_SQL.get(key)
    if text is None:
        if dialect == "postgres":
            parts = sql.split("?")
            text = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))
        else:
            text = sql
        _DIALECT_SQL[key] = text
    return text


async def execute(model: type[Model], sql: str, values: list[Any]) -> int:
    """Run a hand-written UPDATE/DELETE on `model`'s connection (the current transaction's
    when inside one); the number of rows changed."""
    db = model._meta.db
    count, _rows = await db.execute_query(in_dialect(db, sql), values)
    return int(count)


async def fetch_values(model: type[Model], sql: str, values: list[Any]) -> list[dict[str, Any]]:
    db = model._meta.db
    return [dict(row) for row in await db.execute_query_dict(in_dialect(db, sql), values)]


async def first_where(model: type[M], column: str, value: Any) -> M | None:
    """`model.get_or_none(column=value)` for a unique column, without the ORM's query
    building: one indexed SELECT, a full model instance (it can be saved)."""
    sql = f"SELECT * FROM {model._meta.db_table} WHERE {column} = ? LIMIT 1"  # noqa: S608
    rows = await fetch_values(model, sql, [value])
    return model._init_from_db(**rows[0]) if rows else None
