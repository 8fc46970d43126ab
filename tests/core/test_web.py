"""Web shell: languages, error pages, limits on bodies, OpenAPI, security headers."""

from datetime import UTC, datetime

from core import i18n
from tests.conftest import login


async def test_english_by_query_and_accept_language(client):
    r = await client.get("/login?lang=en")
    assert r.headers["content-language"] == "en"
    assert "Sign in" in r.text
    assert 'lang="en"' in r.text
    # The choice is remembered by a cookie.
    r = await client.get("/login")
    assert "Sign in" in r.text
    client.cookies.clear()
    r = await client.get("/login", headers={"Accept-Language": "en-CA,en;q=0.8"})
    assert "Sign in" in r.text
    r = await client.get("/login", headers={"Accept-Language": "de, fr-CA;q=0.5"})
    assert "Se connecter" in r.text


async def test_switching_language_keeps_the_page_filters(client):
    """The language link keeps the query string (a dashboard's filters), `lang` replaced."""
    await login(client)
    r = await client.get("/admin/rapports?from=2026-01-01&to=2026-06-30&clientele=youth")
    assert r.status_code == 200
    assert 'href="?from=2026-01-01&amp;to=2026-06-30&amp;clientele=youth&amp;lang=en"' in r.text
    r = await client.get("/admin/rapports?from=2026-01-01&lang=en")
    assert 'href="?from=2026-01-01&amp;lang=fr"' in r.text
    client.cookies.clear()  # signed out: the sign-in page, its query encoded again
    r = await client.get("/login?next=%2Fadmin%3Fa%3D1%26b%3D2")
    assert 'href="?next=%2Fadmin%3Fa%3D1%26b%3D2&amp;lang=en"' in r.text


async def test_friendly_404_in_french_and_json_for_api(client):
    r = await client.get("/nulle-part")
    assert r.status_code == 404
    assert "Page introuvable" in r.text
    assert "Traceback" not in r.text
    r = await client.get("/api/v1/nulle-part")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


async def test_500_never_shows_a_trace(settings):
    import httpx
    from starlette.routing import Route

    from server import create_app

    app = create_app(settings, manage_database=False)

    async def boom(request):
        raise RuntimeError("secret interne")

    app.router.routes.append(Route("/boom", boom))
    app.router.routes.append(Route("/api/v1/boom", boom))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/boom")
        assert r.status_code == 500
        assert "Une erreur inattendue est survenue" in r.text
        assert "secret interne" not in r.text and "Traceback" not in r.text
        r = await c.get("/api/v1/boom")
        assert r.json()["error"]["code"] == "server_error"


async def test_oversized_body_is_refused_with_413(client):
    r = await client.post(
        "/login",
        content=b"x" * (3 * 1024 * 1024),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413


async def test_security_headers(client):
    r = await client.get("/")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


async def test_openapi_document(client):
    r = await client.get("/api/v1/openapi.json")
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/health" in doc["paths"]
    assert "/api/v1/people/import" in doc["paths"]


async def test_health_503_when_database_down(client, monkeypatch):
    from tortoise import connections
    from tortoise.backends.base.client import BaseDBAsyncClient

    conn = connections.get("default")

    async def broken(*args, **kwargs):
        raise ConnectionError("down")

    monkeypatch.setattr(type(conn), "execute_query", broken)
    r = await client.get("/api/v1/health")
    assert r.status_code == 503
    assert r.json()["database"] == "unavailable"
    assert BaseDBAsyncClient


async def test_pages_render_at_admin(client):
    await login(client)
    for path in ("/admin", "/admin/account", "/admin/users", "/admin/audit"):
        r = await client.get(path)
        assert r.status_code == 200, path
        assert "<main" in r.text


def test_fr_ca_date_formatting():
    moment = datetime(2027, 2, 16, 14, 0, tzinfo=UTC)  # 9 h à Joliette (UTC-5)
    token = i18n.current_language.set("fr")
    try:
        assert i18n.format_when(moment) == "mardi 16 février 2027, 9 h"
        assert i18n.format_clock(datetime(2027, 2, 16, 19, 30, tzinfo=UTC)) == "14 h 30"
    finally:
        i18n.current_language.reset(token)
    token = i18n.current_language.set("en")
    try:
        assert i18n.format_day(moment) == "Tuesday, February 16, 2027"
    finally:
        i18n.current_language.reset(token)


def test_negotiate_language():
    assert i18n.negotiate_language("en", "fr", "fr") == "en"
    assert i18n.negotiate_language(None, "es, en;q=0.9", "fr") == "en"
    assert i18n.negotiate_language(None, "es", "fr") == "fr"
    assert i18n.negotiate_language("xx", None, "en") == "en"


async def test_oversized_form_gets_a_french_page(client):
    r = await client.post(
        "/login",
        content=b"x" * (3 * 1024 * 1024),
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "content-length": str(3 * 1024 * 1024),
        },
    )
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("text/html")
    assert "trop volumineux" in r.text


async def test_405_keeps_allow_header_and_api_shape(client):
    r = await client.request("TRACE", "/api/v1/health")
    assert r.status_code == 405
    assert "GET" in r.headers["allow"]
    assert r.json()["error"]["code"] == "method_not_allowed"


async def test_openapi_declares_error_shape_for_every_operation(client):
    doc = (await client.get("/api/v1/openapi.json")).json()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            assert "default" in operation["responses"], (method, path)
