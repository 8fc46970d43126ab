"""Accounts, sessions, roles, tokens, CSRF and the login rate limit."""

import re

import pytest

from core.auth import PERMISSIONS, Principal
from core.models import ApiToken, AuditEntry, Role, User
from tests.conftest import PASSWORD, csrf_from, login, make_user, token_for


async def test_anonymous_backoffice_redirects_to_login(client):
    r = await client.get("/admin/users?x=1")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/admin/users%3Fx%3D1"


async def test_anonymous_api_gets_401_json(client):
    r = await client.get("/api/v1/people")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "not_authenticated"


async def test_checkin_user_forbidden_on_people_directory(client):
    await login(client, Role.CHECKIN)
    r = await client.get("/admin/people")
    assert r.status_code == 403
    assert "Accès refusé" in r.text


async def test_wrong_password_shows_french_message(client):
    user = await make_user(Role.ORGANIZER)
    page = await client.get("/login")
    r = await client.post(
        "/login",
        data={"email": user.email, "password": "mauvais", "csrf_token": csrf_from(page.text)},
    )
    assert r.status_code == 400
    assert "Adresse courriel ou mot de passe incorrect." in r.text
    assert await AuditEntry.filter(action="login.failed").count() == 1


async def test_login_is_rate_limited_after_repeated_failures(client):
    user = await make_user(Role.ORGANIZER)
    page = await client.get("/login")
    token = csrf_from(page.text)
    statuses = []
    for _ in range(10):
        r = await client.post(
            "/login", data={"email": user.email, "password": "mauvais", "csrf_token": token}
        )
        statuses.append(r.status_code)
    assert statuses[:5] == [400] * 5
    assert statuses[5:] == [429] * 5
    assert "Trop de tentatives" in r.text
    assert int(r.headers["retry-after"]) >= 1
    # Even the right password is refused while the limit holds.
    r = await client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 429


async def test_rate_limit_can_be_disabled(settings):
    import httpx

    from server import create_app

    app = create_app(settings.with_(rate_limit_enabled=False), manage_database=False)
    user = await make_user(Role.ORGANIZER)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        token = csrf_from((await c.get("/login")).text)
        for _ in range(8):
            r = await c.post(
                "/login", data={"email": user.email, "password": "x", "csrf_token": token}
            )
            assert r.status_code == 400


async def test_login_without_csrf_is_refused(client):
    user = await make_user(Role.ADMIN)
    await client.get("/login")
    r = await client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert r.status_code == 403
    assert "Le formulaire a expiré" in r.text


async def test_every_html_form_route_checks_csrf(client, app):
    """Walk every POST route outside /api: without a CSRF token, none may act."""
    from starlette.routing import Route

    await login(client, Role.ADMIN)
    del client.headers["x-csrf-token"]
    checked = 0
    for route in app.routes:
        if not isinstance(route, Route) or "POST" not in (route.methods or set()):
            continue
        if route.path.startswith("/api/"):
            continue
        path = re.sub(r"{[^}]+}", "1", route.path)
        r = await client.post(path, data={"x": "1"})
        assert r.status_code == 403, (route.path, r.status_code)
        checked += 1
    assert checked >= 5


async def test_session_cookie_flags(client):
    page = await client.get("/login")
    cookie = page.headers["set-cookie"]
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()  # http base URL


async def test_session_cookie_secure_behind_https(settings):
    import httpx

    from server import create_app

    app = create_app(
        settings.with_(base_url="https://evenements.exemple.qc.ca"), manage_database=False
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://t") as c:
        r = await c.get("/login")
        assert "secure" in r.headers["set-cookie"].lower()


async def test_logout_ends_session(client):
    await login(client)
    assert (await client.get("/admin")).status_code == 200
    r = await client.post("/logout", data={"csrf_token": client.headers["x-csrf-token"]})
    assert r.status_code == 303
    assert (await client.get("/admin")).status_code == 303


async def test_password_change_ends_other_sessions(app, client):
    import httpx

    user = await login(client, Role.ORGANIZER)
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    page = await other.get("/login")
    await other.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    assert (await other.get("/admin")).status_code == 200
    r = await client.post(
        "/admin/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "un-nouveau-secret-solide",
            "csrf_token": client.headers["x-csrf-token"],
        },
    )
    assert r.status_code == 303
    assert (await client.get("/admin")).status_code == 200
    assert (await other.get("/admin")).status_code == 303
    await other.aclose()


async def test_api_token_shown_once_and_stored_hashed(client):
    user = await login(client, Role.ORGANIZER)
    r = await client.post(
        "/admin/account/tokens",
        data={"name": "rapport", "csrf_token": client.headers["x-csrf-token"]},
    )
    assert r.status_code == 200
    import re

    raw = re.search(r'id="new-token">([^<]+)<', r.text).group(1)
    assert raw.startswith("rsb_")
    token = await ApiToken.get(user_id=user.id)
    assert raw not in (token.token_hash, token.prefix)
    assert len(token.token_hash) == 64
    page = await client.get("/admin/account")
    assert raw not in page.text
    # The token works for the API.
    anon = client.__class__(transport=client._transport, base_url="http://testserver")
    r = await anon.get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {raw}"})
    assert r.status_code == 200


async def test_bearer_token_auth_roles_and_revocation(client):
    raw = await token_for(Role.CHECKIN)
    r = await client.get("/api/v1/people", headers={"Authorization": f"Bearer {raw}"})
    assert r.status_code == 403
    raw = await token_for(Role.ORGANIZER)
    r = await client.get("/api/v1/people", headers={"Authorization": f"Bearer {raw}"})
    assert r.status_code == 200
    r = await client.get("/api/v1/people", headers={"Authorization": "Bearer rsb_faux"})
    assert r.status_code == 401
    from core.accounts import revoke_token

    token = await ApiToken.filter(user__email="api-organizer@exemple.qc.ca").first()
    await revoke_token(Principal.system(), token.id)
    r = await client.get("/api/v1/people", headers={"Authorization": f"Bearer {raw}"})
    assert r.status_code == 401


async def test_scoped_device_token_can_only_check_in_for_its_event(db):
    from core.accounts import create_token

    user = await make_user(Role.ORGANIZER)
    _t, raw = await create_token(Principal.system(), user, "tablette", scope="checkin:7")
    from core.auth import principal_from_token

    p = await principal_from_token(raw)
    assert p.can("checkin.scan", event_id=7)
    assert not p.can("checkin.scan", event_id=8)
    assert not p.can("people.view")


def test_permission_matrix_is_closed():
    for permission, roles in PERMISSIONS.items():
        assert roles <= set(Role), permission
    with pytest.raises(KeyError):
        Principal.system().can("no.such.permission")


async def test_admin_creates_user_and_changes_role_with_audit(client):
    await login(client, Role.ADMIN)
    token = client.headers["x-csrf-token"]
    r = await client.post(
        "/admin/users",
        data={
            "email": "Nouvelle@Exemple.qc.ca",
            "full_name": "Nouvelle",
            "role": "organizer",
            "password": "assez-long-secret",
            "csrf_token": token,
        },
    )
    assert r.status_code == 303
    user = await User.get(email="nouvelle@exemple.qc.ca")
    assert user.password_hash.startswith("$argon2")
    r = await client.post(f"/admin/users/{user.id}", data={"role": "reviewer", "csrf_token": token})
    assert r.status_code == 303
    await user.refresh_from_db()
    assert user.role == Role.REVIEWER
    entry = await AuditEntry.get(action="user.role_changed")
    assert entry.details == {"from": "organizer", "to": "reviewer"}
    assert entry.actor_label == "admin@exemple.qc.ca"
    # Bad input: short password, duplicate e-mail.
    r = await client.post(
        "/admin/users",
        data={
            "email": "nouvelle@exemple.qc.ca",
            "role": "organizer",
            "password": "court",
            "csrf_token": token,
        },
    )
    assert r.status_code == 422
    assert "au moins 10 caractères" in r.text


async def test_organizer_cannot_manage_users(client):
    await login(client, Role.ORGANIZER)
    assert (await client.get("/admin/users")).status_code == 403
    r = await client.post(
        "/admin/users",
        data={
            "email": "x@exemple.qc.ca",
            "role": "admin",
            "password": "assez-long-secret",
            "csrf_token": client.headers["x-csrf-token"],
        },
    )
    assert r.status_code == 403
    assert not await User.exists(email="x@exemple.qc.ca")


async def test_service_layer_refuses_without_right(db):
    from core import accounts
    from core.errors import Forbidden

    user = await make_user(Role.ORGANIZER)
    with pytest.raises(Forbidden):
        await accounts.create_user(
            Principal.for_user(user), "y@exemple.qc.ca", "assez-long-secret", "admin"
        )


async def test_audit_page_for_admin_only(client):
    await login(client, Role.ADMIN)
    r = await client.get("/admin/audit")
    assert r.status_code == 200
    assert "Connexion réussie" in r.text
