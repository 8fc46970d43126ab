"""Ending sessions (issue 13): a copied session cookie dies with logout, a password or
role change, deactivation and "Se déconnecter partout"; login lockout per (account,
address) so that an attacker cannot lock the owner out."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from core.accounts import LoginLimits
from core.errors import RateLimited
from core.models import AuditEntry, Role, User
from core.ratelimit import RateLimiter
from tests.conftest import PASSWORD, csrf_for, csrf_from, login, make_settings, make_user

COOKIE = "rassembleur_session"


def _client(app: Any, ip: str = "127.0.0.1", cookie: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(ip, 50001)),
        base_url="http://testserver",
        follow_redirects=False,
        cookies={COOKIE: cookie} if cookie else None,
    )


def _copy_of(app: Any, client: httpx.AsyncClient) -> httpx.AsyncClient:
    """A second client holding a copy of `client`'s session cookie, as a thief would."""
    return _client(app, "10.0.0.99", client.cookies[COOKIE])


async def _sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> int:
    page = await client.get("/login")
    r = await client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_from(page.text)}
    )
    if r.status_code == 303:
        client.headers["x-csrf-token"] = await csrf_for(client)
    return r.status_code


async def _assert_signed_in(client: httpx.AsyncClient) -> None:
    assert (await client.get("/admin")).status_code == 200


async def _assert_signed_out(client: httpx.AsyncClient) -> None:
    r = await client.get("/admin")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")
    r = await client.get("/api/v1/people")
    assert r.status_code == 401


async def test_copied_cookie_is_refused_after_logout(app, client):
    await login(client, Role.ADMIN)
    async with _copy_of(app, client) as stolen, _client(app, "10.0.0.5") as other:
        await make_user(Role.ORGANIZER)
        assert await _sign_in(other, "organizer@exemple.qc.ca") == 303
        await _assert_signed_in(stolen)
        assert (await stolen.get("/api/v1/people")).status_code == 200

        r = await client.post("/logout", data={"csrf_token": client.headers["x-csrf-token"]})
        assert r.status_code == 303

        await _assert_signed_out(stolen)
        await _assert_signed_out(client)
        # Another account's session is not touched.
        await _assert_signed_in(other)


async def test_copied_cookie_is_refused_after_password_change(app, client):
    await login(client, Role.ORGANIZER)
    async with _copy_of(app, client) as stolen:
        await _assert_signed_in(stolen)
        r = await client.post(
            "/admin/account/password",
            data={
                "current_password": PASSWORD,
                "new_password": "un-nouveau-secret-solide",
                "csrf_token": client.headers["x-csrf-token"],
            },
        )
        assert r.status_code == 303
        await _assert_signed_in(client)  # the session that changed it goes on
        await _assert_signed_out(stolen)


@pytest.mark.parametrize("change", ["role", "deactivation"])
async def test_copied_cookie_is_refused_after_role_change_or_deactivation(app, client, change):
    target = await login(client, Role.ORGANIZER)
    async with _copy_of(app, client) as stolen, _client(app, "10.0.0.7") as admin:
        await make_user(Role.ADMIN)
        assert await _sign_in(admin, "admin@exemple.qc.ca") == 303
        await _assert_signed_in(stolen)

        form = {"role": "reviewer"} if change == "role" else {"active": "0"}
        r = await admin.post(
            f"/admin/users/{target.id}", data={**form, "csrf_token": admin.headers["x-csrf-token"]}
        )
        assert r.status_code == 303
        if change == "deactivation":
            # Reactivating the account does not bring the old sessions back.
            r = await admin.post(
                f"/admin/users/{target.id}",
                data={"active": "1", "csrf_token": admin.headers["x-csrf-token"]},
            )
            assert r.status_code == 303
        await _assert_signed_out(stolen)
        await _assert_signed_out(client)
        await _assert_signed_in(admin)


async def test_same_role_saved_again_keeps_the_sessions(app, client):
    target = await login(client, Role.ORGANIZER)
    async with _client(app, "10.0.0.7") as admin:
        await make_user(Role.ADMIN)
        assert await _sign_in(admin, "admin@exemple.qc.ca") == 303
        r = await admin.post(
            f"/admin/users/{target.id}",
            data={"role": "organizer", "csrf_token": admin.headers["x-csrf-token"]},
        )
        assert r.status_code == 303
        await _assert_signed_in(client)


async def test_sign_out_everywhere_ends_every_session_of_the_account(app, client):
    user = await login(client, Role.ORGANIZER)
    async with (
        _client(app, "10.0.0.2") as phone,
        _copy_of(app, client) as stolen,
        _client(app, "10.0.0.3") as other,
    ):
        assert await _sign_in(phone, user.email) == 303
        await make_user(Role.ADMIN)
        assert await _sign_in(other, "admin@exemple.qc.ca") == 303
        page = await client.get("/admin/account")
        assert "Se déconnecter partout" in page.text

        r = await client.post(
            "/admin/account/sessions/end", data={"csrf_token": client.headers["x-csrf-token"]}
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/login"

        await _assert_signed_out(client)
        await _assert_signed_out(phone)
        await _assert_signed_out(stolen)
        await _assert_signed_in(other)
        assert await AuditEntry.filter(action="user.sessions_ended", actor_id=user.id).exists()
        # Signing in again works, on the new version.
        assert await _sign_in(client, user.email) == 303
        await _assert_signed_in(client)
        assert (await User.get(id=user.id)).session_version == 1


async def test_a_session_without_version_is_refused(app, client):
    """A cookie signed before this rule (no version in it) no longer opens anything."""
    await login(client, Role.ADMIN)
    await User.all().update(session_version=3)
    await _assert_signed_out(client)


# ---- login lockout -------------------------------------------------------------------


async def _try(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    page = await client.get("/login")
    return await client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_from(page.text)}
    )


async def test_lockout_from_one_address_does_not_lock_the_owner_out(app):
    user = await make_user(Role.ORGANIZER)
    async with _client(app, "10.0.0.1") as attacker, _client(app, "10.0.0.2") as owner:
        for _ in range(5):
            assert (await _try(attacker, user.email, "mauvais")).status_code == 400
        r = await _try(attacker, user.email, PASSWORD)
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1
        # The owner, from another address, still gets in.
        assert (await _try(owner, user.email, PASSWORD)).status_code == 303
        await _assert_signed_in(owner)


async def test_one_address_is_stopped_across_accounts(app):
    first = await make_user(Role.ORGANIZER)
    second = await make_user(Role.REVIEWER)
    async with _client(app, "10.0.0.1") as attacker:
        for _ in range(5):
            assert (await _try(attacker, first.email, "mauvais")).status_code == 400
        assert (await _try(attacker, second.email, "mauvais")).status_code == 429


async def test_per_account_ceiling_stops_many_addresses(settings):
    from server import create_app

    app = create_app(
        settings.with_(login_account_rate_limit="12/15 minutes"), manage_database=False
    )
    user = await make_user(Role.ORGANIZER)
    for n in range(4):
        async with _client(app, f"10.0.1.{n}") as c:
            for _ in range(3):
                assert (await _try(c, user.email, "mauvais")).status_code == 400
    async with _client(app, "10.0.2.1") as fresh:
        r = await _try(fresh, user.email, PASSWORD)
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) > 60


def test_default_account_ceiling():
    limits = LoginLimits.from_settings(make_settings())
    assert limits.account == "50/15 minutes"
    assert limits.pair == limits.address == "5/minute"


async def test_retry_after_grows_with_repeated_lockouts(monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    limiter = RateLimiter(make_settings())
    checks = LoginLimits().checks("owner@exemple.qc.ca", "10.0.0.1")
    waits: list[int] = []
    while not waits or waits[-1] <= 3600:
        assert len(waits) < 6, waits
        await limiter.check_each(checks)  # not locked out at the start of a round
        for _ in range(5):
            await limiter.hit_each(checks)
            now[0] += 1
        with pytest.raises(RateLimited) as err:
            await limiter.check_each(checks)
        waits.append(err.value.retry_after)
        now[0] += err.value.retry_after + 1
    # About a minute, then a quarter of an hour, then most of an hour...
    assert waits[0] <= 60 < waits[1] <= 900 < waits[2] <= 3600, waits
    # ... and after 30 failures in a day, the rest of the day.
    assert 3600 < waits[-1] <= 86400, waits
