from tests.conftest import login


async def test_home_in_french(client):
    r = await client.get("/")
    assert r.status_code == 200
    assert "persévérance" in r.text
    assert r.headers["content-language"] == "fr"


async def test_health(client):
    r = await client.get("/api/v1/health")
    assert r.json() == {"status": "ok", "database": "ok"}


async def test_login(client):
    await login(client)
    r = await client.get("/admin")
    assert r.status_code == 200
