"""Shared fixtures.

The database is chosen by TEST_DATABASE_URL (default: a SQLite file in a temporary
folder). It is built once per run by applying the committed migrations (so the
migrations themselves are tested), then each test that uses `db` starts from empty
tables with the reference data (clienteles, territories) loaded again.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from tortoise import Tortoise, connections
from tortoise.contrib.test import truncate_all_models

from core.auth import Principal
from core.db import close_orm, init_orm, normalize_db_url, run_migrations
from core.models import Role, User
from core.security import hash_password
from core.settings import Settings

PASSWORD = "mot-de-passe-de-test"
_TMP = Path(tempfile.mkdtemp(prefix="rassembleur-tests-"))


def test_database_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite://{_TMP}/test.sqlite3"


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "database_url": test_database_url(),
        "secret_key": "clé-de-test-" + "x" * 40,
        "base_url": "http://testserver",
        "var_dir": _TMP / "var",
        "run_worker_in_server": False,
        "mail_poll_interval": 0.05,
    }
    values.update(overrides)
    return Settings(**values)


async def _reset_postgres(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


@pytest_asyncio.fixture(scope="session")
async def database() -> AsyncIterator[Settings]:
    settings = make_settings()
    url = normalize_db_url(settings.database_url)
    if url.startswith("postgres"):
        await _reset_postgres(url)
    else:
        path = Path(re.sub(r"^sqlite://", "", url).split("?")[0])
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)  # noqa: ASYNC240 - set-up, before any I/O
    await run_migrations(settings)
    await close_orm()
    await init_orm(settings)
    yield settings
    await close_orm()


@pytest_asyncio.fixture
async def db(database: Settings) -> AsyncIterator[Settings]:
    from people.reference import ensure_reference_data

    await truncate_all_models()
    _forget_process_caches()
    await ensure_reference_data()
    yield database


def _forget_process_caches() -> None:
    """Ids restart after truncation: drop every in-process cache keyed by them."""
    from core.auth import forget_token_cache
    from registrations import checkin, devices
    from registrations import service as registrations_service

    forget_token_cache()
    checkin.forget_cached_events()
    registrations_service.forget_cached_events()
    devices.forget_cached_devices()


@pytest.fixture
def settings(db: Settings) -> Settings:
    return db


@pytest.fixture
def app(settings: Settings) -> Any:
    from server import create_app

    return create_app(settings, manage_database=False)


@pytest_asyncio.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", follow_redirects=False
    ) as c:
        yield c


async def make_user(role: Role | str = Role.ADMIN, email: str | None = None) -> User:
    role = Role(role)
    return await User.create(
        email=email or f"{role.value}@exemple.qc.ca",
        password_hash=hash_password(PASSWORD),
        role=role,
        full_name=f"Test {role.value}",
    )


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in page"
    return match.group(1)


async def login(client: httpx.AsyncClient, role: Role | str = Role.ADMIN) -> User:
    """Create a user of `role` and sign `client` in through the real login form."""
    user = await make_user(role)
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 303, response.text
    client.headers["x-csrf-token"] = await csrf_for(client)
    return user


async def csrf_for(client: httpx.AsyncClient) -> str:
    """The CSRF token of the client's current session (read from a page)."""
    page = await client.get("/admin/account")
    if page.status_code != 200:
        page = await client.get("/login")
    return csrf_from(page.text)


async def token_for(role: Role | str = Role.ORGANIZER) -> str:
    from core.accounts import create_token

    user = await make_user(role, email=f"api-{Role(role).value}@exemple.qc.ca")
    _token, raw = await create_token(Principal.system("tests"), user, "tests")
    return raw


def dialect() -> str:
    return connections.get("default").capabilities.dialect


__all__ = ["Tortoise"]
