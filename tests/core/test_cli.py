"""The `rassembleur` command, run as a real process on its own SQLite database."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli_env(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "SMTP_URL", "ENV", "BASE_URL"}
    }
    env.update(
        {"DATABASE_URL": f"sqlite://{tmp_path}/cli.sqlite3", "VAR_DIR": str(tmp_path / "var")}
    )
    return env


@pytest.fixture
def run(cli_env):
    env = cli_env

    def _run(*args: str, stdin: str = "", check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "-m", "cli", *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=120,
        )
        if check:
            assert result.returncode == 0, result.stderr + result.stdout
        return result

    return _run


def test_migrate_create_user_token_and_idempotence(run, tmp_path):
    first = run("migrate")
    assert "4 clientèles et" in first.stdout
    again = run("migrate")
    assert "0 clientèles et 0 territoires ajoutés" in again.stdout

    r = run(
        "create-user",
        "Chef@Exemple.qc.ca",
        "--role",
        "organizer",
        "--password-stdin",
        stdin="un-mot-de-passe-solide\n",
    )
    assert "chef@exemple.qc.ca" in r.stdout
    r = run(
        "create-user", "bad", "--role", "organizer", "--password-stdin", stdin="x\n", check=False
    )
    assert r.returncode == 1 and "Adresse courriel invalide" in r.stderr

    r = run("create-token", "chef@exemple.qc.ca")
    token = r.stdout.strip().splitlines()[-1]
    assert token.startswith("rsb_") and len(token) > 40


def test_import_territories_updates_names(run, tmp_path):
    run("migrate")
    csv = tmp_path / "t.csv"
    csv.write_text(
        "code,kind,name,region_code\n2462,mrc,Joliette (nouveau nom),14\n9999,mrc,Inconnue,99\n",
        encoding="utf-8",
    )
    r = run("import-territories", str(csv))
    assert "0 créés, 1 mis à jour, 1 rejetés" in r.stdout
    assert "Région inconnue : 99" in r.stdout


def test_demo_prints_admin_login_and_is_repeatable(run):
    run("migrate")
    r = run("demo", "--if-empty")
    assert "admin@demo.rassembleur.local" in r.stdout
    password = r.stdout.split("Mot de passe : ")[1].split()[0]
    r2 = run("demo", "--if-empty")
    assert password in r2.stdout


def test_production_refuses_to_start_without_secret(run):
    r = subprocess.run(
        [sys.executable, "-m", "cli", "migrate"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "ENV": "production", "SECRET_KEY": "", "BASE_URL": ""},
        timeout=60,
    )
    assert r.returncode == 2
    assert "SECRET_KEY" in r.stderr


def test_cli_and_demo_live_outside_core_and_core_imports_no_feature():
    """The CLI and the demo data call feature packages, so they sit beside server.py;
    nothing in core/ imports a feature package (lazy imports included)."""
    import ast

    import cli

    assert callable(cli.main)
    features = {"people", "events", "registrations", "cli", "demo", "server"}
    offenders = []
    for path in sorted((ROOT / "core").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            offenders += [
                f"{path.relative_to(ROOT)}: {name}"
                for name in names
                if name.split(".")[0] in features
            ]
    assert offenders == []


# --------------------------------------------------------------------------- serve's base URL


def test_serve_base_url_follows_the_port_unless_base_url_is_set():
    from cli import serve_base_url

    assert serve_base_url({}, "127.0.0.1", 8123) == ("http://127.0.0.1:8123", None)
    assert serve_base_url({"BASE_URL": ""}, "0.0.0.0", 8123) == ("http://127.0.0.1:8123", None)
    assert serve_base_url({}, "::1", 8123)[0] == "http://[::1]:8123"
    url, warning = serve_base_url({"BASE_URL": "http://127.0.0.1:8000/"}, "127.0.0.1", 8123)
    assert url == "http://127.0.0.1:8000"
    assert warning is not None and "8000" in warning and "8123" in warning
    assert serve_base_url({"BASE_URL": "http://localhost:8123"}, "127.0.0.1", 8123)[1] is None
    # A public address behind a reverse proxy: its port is the proxy's, not a mistake.
    public = serve_base_url({"BASE_URL": "https://evenements.exemple.qc.ca"}, "127.0.0.1", 8000)
    assert public == ("https://evenements.exemple.qc.ca", None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(env: dict[str, str], port: int) -> tuple[dict, str, str]:
    """Start `serve` on `port`, read the OpenAPI document's server URL, stop it."""
    env = {**env, "RUN_WORKER_IN_SERVER": "false"}
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--port", str(port), "--no-access-log"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                url = f"http://127.0.0.1:{port}/api/v1/openapi.json"
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                    document = json.loads(response.read())
                break
            except OSError:
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.2)
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    return document, out, err


def test_serve_links_follow_the_port_served(run, cli_env):
    run("migrate")
    port = _free_port()
    document, out, err = _serve(cli_env, port)
    assert document["servers"] == [{"url": f"http://127.0.0.1:{port}"}]
    assert f"Rassembleur sert http://127.0.0.1:{port}" in out
    assert "BASE_URL" not in err


def test_serve_warns_when_base_url_names_another_port(run, cli_env):
    run("migrate")
    port = _free_port()
    document, _out, err = _serve({**cli_env, "BASE_URL": "http://127.0.0.1:8000"}, port)
    assert document["servers"] == [{"url": "http://127.0.0.1:8000"}]
    warning = next(line for line in err.splitlines() if "BASE_URL" in line)
    assert "WARNING" in warning and f"port {port}" in warning and "8000" in warning


def test_make_run_passes_port_and_host():
    result = subprocess.run(
        ["make", "-n", "run", "PORT=8123", "HOST=0.0.0.0"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "rassembleur serve --host 0.0.0.0 --port 8123" in result.stdout
    default = subprocess.run(
        ["make", "-n", "run"], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert "rassembleur serve --host 127.0.0.1 --port 8000" in default.stdout


SEED_REGISTRATIONS = """
import asyncio

from core.db import close_orm, init_orm
from core.settings import load_settings
from registrations import service
from tests.registrations.helpers import person, published_event


async def main():
    settings = load_settings()
    await init_orm(settings)
    try:
        event = await published_event(title="Colloque de 2023")
        for n in range(3):
            await service.register(event.id, person(n), settings=settings)
        print(event.id)
    finally:
        await close_orm()


asyncio.run(main())
"""


def test_retention_dry_run_prints_what_it_would_anonymize_then_the_run_does_it(
    run, cli_env, tmp_path
):
    import sqlite3

    run("migrate")
    seeded = subprocess.run(
        [sys.executable, "-c", SEED_REGISTRATIONS],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=cli_env,
        timeout=120,
    )
    assert seeded.returncode == 0, seeded.stderr
    event_id = int(seeded.stdout.split()[-1])
    db = sqlite3.connect(tmp_path / "cli.sqlite3")
    with db:  # it ended three years ago
        db.execute(
            "UPDATE events_event SET starts_at = '2023-01-10 14:00:00+00:00', "
            "ends_at = '2023-01-10 16:00:00+00:00' WHERE id = ?",
            (event_id,),
        )
    people = db.execute("SELECT email FROM people_person ORDER BY id").fetchall()

    dry = run("retention", "--dry-run")
    assert "Essai à blanc" in dry.stdout and "24 mois" in dry.stdout
    assert f"événement {event_id} « Colloque de 2023 », terminé le mardi 10 janvier 2023" in (
        dry.stdout
    )
    assert "3 inscription(s) à anonymiser" in dry.stdout
    assert "Inscriptions à anonymiser : 3; personnes sans activité" in dry.stdout
    assert db.execute("SELECT email FROM people_person ORDER BY id").fetchall() == people
    audit = "SELECT details FROM core_audit_entry WHERE action = 'retention.applied'"
    assert not db.execute(audit).fetchall()

    done = run("retention")
    assert "Conservation appliquée (24 mois par défaut)" in done.stdout
    assert "3 inscription(s) anonymisées" in done.stdout
    (left,) = db.execute(
        "SELECT COUNT(*) FROM registrations_registration WHERE anonymized_at IS NULL"
    ).fetchone()
    assert left == 0
    (details,) = db.execute(audit).fetchone()
    assert json.loads(details)["registrations_anonymized"] == 3
    assert "Inscriptions à anonymiser : 0;" in run("retention", "--dry-run").stdout
