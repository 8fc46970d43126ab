"""Upgrading a populated database with `rassembleur migrate` keeps every row.

A database is built at an old migration state (core, people, events and registrations at
0001, before campaigns and evaluations existed), filled by raw SQL (the current
models have newer columns) and upgraded to head with `core.db.run_migrations`, what
`rassembleur migrate` runs. Two upgrade bugs once hit such a database: every AddField of a
NOT NULL column with only a Python default failed on a table with rows ("Cannot add a NOT
NULL column with default value NULL"; on PostgreSQL "contains null values"), and on SQLite
a table rebuild (registrations 0003) dropped `registrations_registration` with foreign
keys on, which deleted in cascade every check-in of the registrations and nulled the
scans' links. Run in a child process on a database of its own (an SQLite file; on
PostgreSQL, when TEST_DATABASE_URL points to one, a database named after it with
`_upgrade`), so the suite's ORM state and tables are not touched."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import asyncio, datetime as dt, json, sys
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate
from core.db import close_orm, in_dialect, run_migrations, tortoise_config
from core.settings import Settings

settings = Settings(env="test", database_url=sys.argv[1], secret_key="x" * 40)
config = tortoise_config(settings)
T = dt.datetime(2026, 2, 16, 18, 30, tzinfo=dt.UTC)

ROWS = [
    ("people_clientele", {"id": 1, "code": "parents", "name_fr": "Parents",
                          "name_en": "Parents", "position": 1, "active": True}),
    ("core_user", {"id": 1, "email": "admin@example.org", "full_name": "Anne Admin",
                   "password_hash": "x", "role": "admin", "is_active": True,
                   "language": "fr", "created_at": T}),
    ("core_audit_entry", {"id": 1, "at": T, "actor_label": "Anne Admin",
                          "action": "event.create", "target_type": "event", "target_id": "1",
                          "details": "{}", "ip": "127.0.0.1", "actor_id": 1}),
    *[("people_person", {"id": n, "first_name": first, "last_name": "Tremblay",
                         "email": f"{first.lower()}@example.org",
                         "email_key": f"{first.lower()}@example.org", "phone": "",
                         "language": "fr", "created_at": T, "updated_at": T,
                         "clientele_id": 1})
      for n, first in ((1, "Élise"), (2, "Marc"), (3, "Zoé"))],
    *[("people_consent", {"id": n, "purpose": "event_communications", "granted": True,
                          "source": "form", "wording": "J'accepte.", "at": T, "person_id": n})
      for n in (1, 2)],
    ("events_event", {
        "id": 1, "uid": "u1@test", "kind": "regional_event", "title": "Forum régional",
        "description": "", "starts_at": T, "ends_at": T + dt.timedelta(hours=3),
        "timezone": "America/Montreal", "mode": "in_person", "venue_name": "Cégep",
        "address": "", "online_url": "", "capacity": 50, "waitlist": True,
        "requires_approval": False, "allow_walkins_over_capacity": True,
        "registration_enabled": True, "checkin_opens_minutes": 60, "visibility": "public",
        "status": "published", "contact_name": "", "contact_email": "", "contact_phone": "",
        "image_url": "", "image_alt": "", "seats_taken": 3, "sequence": 0,
        "cancel_reason": "", "created_at": T, "updated_at": T, "created_by_id": 1}),
    *[("registrations_registration", {
        "id": n, "public_id": f"pub{n}", "ticket_code": f"TICKET{n}", "active_key": f"1:{n}",
        "status": "confirmed", "language": "fr", "party_size": 1, "answers": "{}",
        "under_14": False, "guardian_consent": False, "source": "form",
        "created_at": T, "updated_at": T, "confirmed_at": T, "clientele_id": 1,
        "event_id": 1, "person_id": n})
      for n in (1, 2, 3)],
    *[("registrations_checkin", {
        "id": n, "day": T.date(), "active_key": f"{n}:2026-02-16",
        "checked_in_at": T + dt.timedelta(minutes=n), "method": "qr", "event_id": 1,
        "registration_id": n, "staff_id": 1})
      for n in (1, 2)],
    *[("registrations_scan", {
        "id": n, "nonce": f"nonce{n}", "scanned_at": T, "received_at": T, "result": result,
        "detail": "", "checkin_id": checkin, "event_id": 1, "registration_id": n,
        "staff_id": 1})
      for n, result, checkin in ((1, "ok", 1), (2, "ok", 2), (3, "already_checked_in", None))],
    *[("core_outbound_message", {
        "id": n, "created_at": T, "updated_at": T, "dedupe_key": f"confirm:{n}",
        "message_id": f"<m{n}@test>", "to_address": f"p{n}@example.org", "to_name": "",
        "language": "fr", "subject": "Votre inscription", "text_body": "Bonjour",
        "html_body": "", "headers": "{}", "attachments": "[]", "category": "registration",
        "status": status, "attempts": 1, "next_attempt_at": T, "last_error": "",
        "person_id": n, "cause_type": "registration", "cause_id": str(n)})
      for n, status in ((1, "sent"), (2, "queued"))],
]
TABLES = sorted({table for table, _ in ROWS})

async def counts(db):
    found = {}
    for table in TABLES:
        rows = await db.execute_query_dict(f'SELECT COUNT(*) AS n FROM "{table}"')
        found[table] = rows[0]["n"]
    return found

async def main():
    await migrate(config=config, target="registrations.0001_initial")
    await close_orm()
    await Tortoise.init(config=config)
    db = connections.get("default")
    for table, row in ROWS:
        columns = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        sql = f'INSERT INTO "{table}" ({columns}) VALUES ({marks})'
        await db.execute_query(in_dialect(db, sql), list(row.values()))
    if db.capabilities.dialect == "postgres":
        for table in TABLES:
            await db.execute_script(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f'(SELECT MAX(id) FROM "{table}"))')
    before = await counts(db)
    await close_orm()

    steps = []
    await run_migrations(settings, progress=lambda event, app, name: steps.append(
        f"{app}.{name}") if event == "apply_done" else None)
    await close_orm()

    await Tortoise.init(config=config)
    db = connections.get("default")
    after = await counts(db)
    values = {
        "checkins": await db.execute_query_dict(
            'SELECT "id", "registration_id", "volunteer" FROM "registrations_checkin" '
            'ORDER BY "id"'),
        "scans": await db.execute_query_dict(
            'SELECT "id", "registration_id", "checkin_id", "volunteer" FROM "registrations_scan" '
            'ORDER BY "id"'),
        "registrations": await db.execute_query_dict(
            'SELECT "id", "status", "hold_expires_at", "checked_in_days" '
            'FROM "registrations_registration" ORDER BY "id"'),
        "events": await db.execute_query_dict(
            'SELECT "title", "all_day", "phone_field", "max_public_party_size", '
            '"reminder_days_before", "send_reminder", "evaluation_url", '
            '"gives_attestation" FROM "events_event"'),
        "users": await db.execute_query_dict('SELECT "email", "session_version" FROM "core_user"'),
        "outbox": await db.execute_query_dict(
            'SELECT "status", "claim_token" FROM "core_outbound_message" ORDER BY "id"'),
        "people": await db.execute_query_dict(
            'SELECT "first_name" FROM "people_person" ORDER BY "id"'),
        "first_participations": await db.execute_query_dict(
            'SELECT "person_id" FROM "registrations_first_participation" ORDER BY "person_id"'),
        "first_starts": await db.execute_query_dict(
            'SELECT COUNT(*) AS n FROM "registrations_first_participation" f '
            'JOIN "events_event" e ON e.starts_at = f.starts_at'),
        "consents": await db.execute_query_dict(
            'SELECT "person_id", "purpose" FROM "people_consent" ORDER BY "id"'),
    }
    if db.capabilities.dialect == "postgres":
        # The DEFAULTs used to fill the existing rows were dropped (same schema as a
        # database made by the same migrations when empty).
        values["defaults"] = await db.execute_query_dict(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_default IS NOT NULL "
            "AND column_default NOT LIKE 'nextval%'")
    if db.capabilities.dialect == "sqlite":
        values["foreign_keys"] = (await db.execute_query_dict("PRAGMA foreign_keys"))[0][
            "foreign_keys"]
    await close_orm()
    print(json.dumps({"before": before, "after": after, "steps": steps, "values": values},
                     default=str))

try:
    asyncio.run(main())
except BaseException:
    # A failed migration may leave a connection's thread behind: exit all the same.
    import os, traceback
    traceback.print_exc()
    sys.stderr.flush()
    os._exit(1)
"""


def upgrade(database_url: str) -> dict:
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", SCRIPT, database_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def check_everything_survived(found: dict) -> None:
    assert found["before"]["registrations_checkin"] == 2
    assert found["after"] == found["before"]
    # Every migration after the old state ran, the rebuild of registrations 0003 included.
    assert "registrations.0002_checkin_volunteer" in found["steps"]
    assert "registrations.0003_abuse_pending_email" in found["steps"]
    assert "events.0006_e2_attestation_flag" in found["steps"]
    assert "evaluations.0001_initial" in found["steps"]
    values = found["values"]
    assert values["checkins"] == [
        {"id": 1, "registration_id": 1, "volunteer": ""},
        {"id": 2, "registration_id": 2, "volunteer": ""},
    ]
    assert values["scans"] == [
        {"id": 1, "registration_id": 1, "checkin_id": 1, "volunteer": ""},
        {"id": 2, "registration_id": 2, "checkin_id": 2, "volunteer": ""},
        {"id": 3, "registration_id": 3, "checkin_id": None, "volunteer": ""},
    ]
    # Each registration's check-in days were counted (registrations 0011): registrations 1
    # and 2 are checked in, 3 is not.
    assert [
        (r["id"], r["status"], r["hold_expires_at"], r["checked_in_days"])
        for r in values["registrations"]
    ] == [
        (1, "confirmed", None, 1),
        (2, "confirmed", None, 1),
        (3, "confirmed", None, 0),
    ]
    # The new NOT NULL columns hold the models' defaults on the existing rows.
    [event] = values["events"]
    assert event["title"] == "Forum régional"
    assert bool(event["all_day"]) is False
    assert event["phone_field"] == "optional"
    assert event["max_public_party_size"] == 10
    assert event["reminder_days_before"] == 2
    assert bool(event["send_reminder"]) is True
    assert event["evaluation_url"] == ""
    assert bool(event["gives_attestation"]) is False
    assert values["users"] == [{"email": "admin@example.org", "session_version": 0}]
    assert values["outbox"] == [
        {"status": "sent", "claim_token": None},
        {"status": "queued", "claim_token": None},
    ]
    assert [p["first_name"] for p in values["people"]] == ["Élise", "Marc", "Zoé"]
    # Each person's first participation was computed from the existing registrations
    # (registrations 0010): the event's start, for the three people registered.
    assert [row["person_id"] for row in values["first_participations"]] == [1, 2, 3]
    assert values["first_starts"] == [{"n": 3}]
    assert values["consents"] == [
        {"person_id": 1, "purpose": "event_communications"},
        {"person_id": 2, "purpose": "event_communications"},
    ]


def test_sqlite_upgrade_keeps_every_row(tmp_path):
    found = upgrade(f"sqlite://{tmp_path / 'old.sqlite3'}")
    check_everything_survived(found)
    # The application's connections have foreign keys on again.
    assert found["values"]["foreign_keys"] == 1


async def _admin(url: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def test_postgres_upgrade_keeps_every_row():
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        pytest.skip("TEST_DATABASE_URL does not point to PostgreSQL")
    parts = urlsplit(base)
    name = parts.path.lstrip("/") + "_upgrade"
    url = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))
    # Created and dropped from the suite's own database: only the `_upgrade` one changes.
    asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'))
    try:
        found = upgrade(url)
        check_everything_survived(found)
        # Only the column the database keeps has a DEFAULT of its own: the application
        # never writes it (core.db_fields.DatabaseKeptIntField), new rows take it.
        assert found["values"]["defaults"] == [
            {"table_name": "registrations_registration", "column_name": "checked_in_days"}
        ]
    finally:
        asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_migrate_refuses_an_sqlite_database_with_broken_references(tmp_path):
    """`rassembleur migrate` stops, in French, before touching a database whose rows
    point to rows that do not exist (the migrations would hide it: they run with foreign
    keys off)."""
    path = tmp_path / "b.sqlite3"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "ENV", "BASE_URL"}}
    env.update({"DATABASE_URL": f"sqlite://{path}", "VAR_DIR": str(tmp_path / "var")})

    def migrate() -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603 - our own interpreter and command
            [sys.executable, "-m", "cli", "migrate"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    first = migrate()
    assert first.returncode == 0, first.stderr[-3000:]
    db = sqlite3.connect(path)  # foreign keys off by default: a consent of nobody
    db.execute(
        "INSERT INTO people_consent (purpose, granted, source, wording, at, person_id) "
        "VALUES ('newsletter', 1, 'form', '', '2026-01-01 00:00:00+00:00', 999)"
    )
    db.commit()
    db.close()
    again = migrate()
    assert again.returncode == 1
    assert (
        "Erreur : Clés étrangères rompues avant les migrations : 1 ligne(s) désignent une "
        "ligne absente (people_consent ligne 1 → people_person). Rien n'a été modifié"
    ) in again.stderr


def test_no_migration_adds_a_not_null_column_that_a_populated_table_refuses():
    """`makemigrations` writes `ops.AddField` for a new NOT NULL field with a Python
    default: it fails on every deployment with rows. Such a field goes through
    `core.migration_ops.AddFieldWithDefault` (edit the generated file)."""
    import importlib
    import pkgutil

    from tortoise.fields.relational import ManyToManyFieldInstance
    from tortoise.migrations import operations as ops

    from core.db import APPS

    plain = []
    for app in APPS:
        package = importlib.import_module(f"{app}.migrations")
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{app}.migrations.{info.name}")
            for op in module.Migration.operations:
                field = getattr(op, "field", None)
                if (
                    type(op) is ops.AddField
                    and not isinstance(field, ManyToManyFieldInstance)
                    and not field.null
                    and not field.has_db_default()
                ):
                    plain.append(f"{app}.{info.name}: {op.model_name}.{op.name}")
    assert plain == []
