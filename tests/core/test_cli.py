"""The `rassembleur` command, run as a real process on its own SQLite database."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def run(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SMTP_URL", "ENV"}}
    env.update(
        {"DATABASE_URL": f"sqlite://{tmp_path}/cli.sqlite3", "VAR_DIR": str(tmp_path / "var")}
    )

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
