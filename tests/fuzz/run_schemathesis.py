"""Schemathesis against the served OpenAPI document, on a fresh seeded database.

    .venv/bin/python tests/fuzz/run_schemathesis.py [--database-url URL] [--max-examples N]

Builds a fresh database (a temporary SQLite file, or the PostgreSQL database named by
--database-url / TEST_DATABASE_URL, whose public schema is dropped first), migrates it,
loads the demo data, creates an admin account and an API token, serves the app with
`rassembleur serve` on a free loopback port, then runs `schemathesis run` with every
check (`--checks all`) and a bounded number of examples per operation. Exits with
schemathesis's code: non-zero on any 5xx, any answer outside the document (status,
content type, schema, headers) or any other failed check. Not part of `make test`:
`.ci/run` calls it once per database. It is not collected by pytest (no `test_` prefix).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PASSWORD = "fuzz-mot-de-passe-2027"
ADMIN = "fuzz-admin@exemple.qc.ca"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def reset_postgres(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"rassembleur {args[0]} a échoué ({done.returncode}).")
    return done.stdout


def wait_until_up(url: str, server: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("Le serveur s'est arrêté au démarrage.")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(url, timeout=2) as answer,  # noqa: S310 - loopback
        ):
            if answer.status == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"Le serveur ne répond pas à {url}.")


def a_manage_token(base: str) -> tuple[str, int]:
    """The manage token of a registration made through the public API on one of the
    demo's open events (the /api/v1/manage/{token} operations need a real one)."""
    with urllib.request.urlopen(f"{base}/api/v1/events?per_page=200", timeout=30) as answer:  # noqa: S310
        events = json.load(answer)["items"]
    body = {
        "first_name": "Fuzz",
        "last_name": "Essai",
        "email": "fuzz.essai@exemple.qc.ca",
        "clientele": "schools",
        "guardian_consent": True,
    }
    found: tuple[str, int] | None = None
    for event in events:
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{base}/api/v1/events/{event['id']}/registrations",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                made = json.load(answer)
        except urllib.error.HTTPError:
            continue
        found = found or (str(made["manage_token"]), int(event["id"]))
        if made["status"] == "confirmed":  # the evaluation goes to confirmed registrants
            return str(made["manage_token"]), int(event["id"])
    if found:
        return found
    raise SystemExit("Aucun événement de démonstration n'accepte d'inscription.")


def an_evaluation_token(base: str, api_token: str, event_id: int, env: dict[str, str]) -> str:
    """A real personal evaluation link: an evaluation form on the event of that
    registration, sent now (no check-in: to its confirmed registrants); the link of the
    first invitation is signed with the served instance's SECRET_KEY, as the mail has it."""
    sys.path.insert(0, str(ROOT))
    from core.security import signature

    form = {
        "anonymous": False,
        "questions": [
            {"code": "satisfaction", "kind": "rating", "label_fr": "Satisfaction"},
            {"code": "format", "kind": "choice", "label_fr": "Format", "options": ["A", "B"]},
            {"code": "themes", "kind": "multi", "label_fr": "Thèmes", "options": ["X", "Y"]},
            {"code": "commentaire", "kind": "long_text", "label_fr": "Commentaire"},
        ],
    }
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {api_token}"}
    for path, body in (
        (f"/api/v1/events/{event_id}/evaluation", form),
        (f"/api/v1/events/{event_id}/evaluation/send", {}),
    ):
        request = urllib.request.Request(  # noqa: S310 - loopback
            base + path, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            answer.read()
    token = f"1.{signature(env['SECRET_KEY'], 'evaluation:1')}"
    with urllib.request.urlopen(f"{base}/evaluation/{token}", timeout=30) as answer:  # noqa: S310
        answer.read()  # a 404 here raises: the link must be real
    return token


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (SQLite sinon)")
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--workers", default="1")
    parser.add_argument("--report-dir", default="")
    args, extra = parser.parse_known_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="rassembleur-fuzz-"))
    url = args.database_url or f"sqlite://{tmp}/fuzz.sqlite3"
    if url.startswith("postgres"):
        asyncio.run(reset_postgres(url))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ENV": "development",
        "SECRET_KEY": "fuzz-" + "k" * 48,
        "BASE_URL": base,
        "VAR_DIR": str(tmp / "var"),
        "RATE_LIMIT_ENABLED": "false",
        "RUN_WORKER_IN_SERVER": "false",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("SMTP_URL", None)
    started = time.monotonic()
    cli(env, "migrate")
    cli(env, "demo")
    cli(env, "create-user", ADMIN, "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    token = cli(env, "create-token", ADMIN, "--name", "fuzz").strip().splitlines()[-1]
    print(f"Base prête en {time.monotonic() - started:.1f} s ({url.split('://')[0]}).", flush=True)

    log = (tmp / "server.log").open("wb")
    server = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "cli", "serve", "--port", str(port), "--no-access-log"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_up(f"{base}/api/v1/health", server)
        env["FUZZ_MANAGE_TOKEN"], event_id = a_manage_token(base)
        env["FUZZ_EVALUATION_TOKEN"] = an_evaluation_token(base, token, event_id, env)
        command = [
            str(BIN / "schemathesis"),
            "--config-file",
            str(Path(__file__).with_name("schemathesis.toml")),
            "run",
            f"{base}/api/v1/openapi.json",
            "--max-examples",
            str(args.max_examples),
            "--seed",
            str(args.seed),
            "--workers",
            args.workers,
            "--header",
            f"Authorization: Bearer {token}",
            "--request-timeout",
            "30",
            "--no-color",
            *(["--report", "junit", "--report-dir", args.report_dir] if args.report_dir else []),
            *extra,
        ]
        fuzz_started = time.monotonic()
        code = subprocess.call(command, cwd=tmp, env=env)  # noqa: S603
        print(
            f"schemathesis : code {code}, {time.monotonic() - fuzz_started:.0f} s "
            f"({time.monotonic() - started:.0f} s en tout).",
            flush=True,
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    errors = [
        line
        for line in (tmp / "server.log").read_text(errors="replace").splitlines()
        if "unhandled error" in line or "Traceback" in line
    ]
    if errors:
        print(f"Journal du serveur : {len(errors)} erreurs non traitées ({tmp / 'server.log'}).")
        return code or 1
    return code


if __name__ == "__main__":
    sys.exit(main())
