"""Public directory of certified employers benchmark (not a test).

A fresh SQLite database in a temporary folder (migrated, reference data loaded) receives
one program with its three levels and 2,000 certified employers who consented to the
directory, spread over Québec's MRCs (half of them in Lanaudière), plus 500 that must not
be listed (no consent, revoked, lapsed, expired); `rassembleur serve` runs as a
subprocess; aiohttp drives it over loopback. Measures median / p95 latency and throughput
of:

- GET /certification/repertoire                       (the public page, first page)
- GET /certification/repertoire?territory=14&level=or (filtered by region and level)
- GET /api/v1/certification/directory                 (JSON, first page of 50)
- GET /api/v1/certification/directory?format=csv      (the partners' CSV: every row)
- GET /certification/verify/{code}                    (a sticker's QR code scanned)
- GET /api/v1/health                                  (same client and concurrency: the
                                                       ceiling)

Prints the figures and appends a dated section to bench/RESULTS.md. Target (issue 16):
the directory with 2,000 certified employers answers in under 100 ms median on SQLite.

    .venv/bin/python bench/certification.py [--employers 2000] [--requests 300]
        [--concurrency 1,10] [--no-append]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import signal
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import free_port, machine  # noqa: E402 - bench/ is on sys.path as a script
from events_pages import measure, wait_ready  # noqa: E402

from core.db import close_orm, init_orm, run_migrations  # noqa: E402
from core.settings import Settings  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
TARGET_MS = 100.0
HIDDEN = 500
SECTORS = ["retail", "food_service", "accommodation", "manufacturing", "services", "recreation"]
LEVELS = [("bronze", "Bronze", 50), ("argent", "Argent", 70), ("or", "Or", 90)]


async def prepare(settings: Settings, count: int) -> str:
    """Migrate, load reference data, create the employers; a verification code."""
    from tortoise.transactions import in_transaction

    from campaigns.certification.models import (
        Application,
        ApplicationStatus,
        Certificate,
        CertificateStatus,
        Employer,
        Level,
        Program,
    )
    from people.models import Person, Territory, TerritoryKind
    from people.reference import ensure_reference_data

    await run_migrations(settings)
    await close_orm()
    await init_orm(settings)
    try:
        await ensure_reference_data()
        region = await Territory.get(code="14")
        lanaudiere = list(await Territory.filter(parent_id=region.id).order_by("code"))
        others = list(await Territory.filter(kind=TerritoryKind.MRC).exclude(parent_id=region.id))
        program = await Program.create(name="Employeur engagé pour la conciliation études-travail")
        levels = [
            await Level.create(program=program, code=c, name_fr=n, min_points=p, position=i)
            for i, (c, n, p) in enumerate(LEVELS)
        ]
        now = datetime.now(UTC)
        total = count + HIDDEN
        async with in_transaction():
            await Person.bulk_create(
                [
                    Person(
                        first_name="Contact",
                        last_name=f"Employeur {n}",
                        email=f"rh{n}@exemple.qc.ca",
                        email_key=f"rh{n}@exemple.qc.ca",
                    )
                    for n in range(total)
                ],
                batch_size=500,
            )
            people = list(await Person.all().order_by("id").values_list("id", flat=True))
            await Employer.bulk_create(
                [
                    Employer(
                        key=f"employeur-{n}",
                        legal_name=f"Entreprise {n:05d} de la persévérance inc.",
                        sector=SECTORS[n % len(SECTORS)],
                        territory_id=(
                            lanaudiere[n % len(lanaudiere)] if n % 2 else others[n % len(others)]
                        ).id,
                        employees=20 + n % 30,
                        student_employees=n % 12,
                        publish_in_directory=n < count or n % 4 != 0,
                        directory_consent_at=now,
                    )
                    for n in range(total)
                ],
                batch_size=500,
            )
            employers = list(await Employer.all().order_by("id").values_list("id", flat=True))
            await Application.bulk_create(
                [
                    Application(
                        program_id=program.id,
                        employer_id=employers[n],
                        contact_id=people[n],
                        status=ApplicationStatus.CERTIFIED,
                        certified_at=now - timedelta(days=n % 600),
                    )
                    for n in range(total)
                ],
                batch_size=500,
            )
            apps = list(await Application.all().order_by("id").values_list("id", flat=True))
            hidden = [
                (CertificateStatus.REVOKED, now + timedelta(days=300)),
                (CertificateStatus.LAPSED, now - timedelta(days=10)),
                (CertificateStatus.VALID, now - timedelta(days=1)),  # expired, not lapsed
            ]
            certificates = []
            for n in range(total):
                status, until = (
                    (CertificateStatus.VALID, now + timedelta(days=30 + n % 700))
                    if n < count
                    else hidden[n % 3]
                )
                if n < count and n % 10 == 0:
                    status = CertificateStatus.EXPIRING
                certificates.append(
                    Certificate(
                        application_id=apps[n],
                        code=f"B{n:07d}",
                        level_id=levels[n % 3].id,
                        issued_at=now - timedelta(days=n % 600),
                        valid_until=until,
                        status=status,
                    )
                )
            await Certificate.bulk_create(certificates, batch_size=500)
        listed = await Certificate.filter(
            status__in=["valid", "expiring"],
            valid_until__gt=now,
            application__employer__publish_in_directory=True,
        ).count()
        print(f"{listed} employeurs certifiés au répertoire ({total} certificats en tout).")
        return "B0000001"
    finally:
        await close_orm()


async def drive(
    base: str, args: argparse.Namespace, concurrency: int, code: str
) -> dict[str, dict]:
    paths = [
        ("GET /api/v1/health", "/api/v1/health"),
        ("GET /certification/repertoire", "/certification/repertoire"),
        (
            "GET /certification/repertoire?territory=14&level=or",
            "/certification/repertoire?territory=14&level=or",
        ),
        ("GET /api/v1/certification/directory", "/api/v1/certification/directory"),
        (
            "GET /api/v1/certification/directory?format=csv",
            "/api/v1/certification/directory?format=csv",
        ),
        ("GET /certification/verify/{code}", f"/certification/verify/{code}"),
    ]
    results: dict[str, dict] = {}
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        for label, path in paths:
            async with session.get(base + path) as probe:
                await probe.read()
                if probe.status != 200:
                    raise RuntimeError(f"{path} → {probe.status}")
            requests = args.requests // 3 if "csv" in path else args.requests
            results[label] = await measure(session, base + path, requests, concurrency, args.warmup)
            r = results[label]
            print(
                f"[c={concurrency:>2}] {label:52} médiane {r['median_ms']:6.1f} ms  "
                f"p95 {r['p95_ms']:6.1f} ms  {r['rps']:7.0f} req/s  "
                f"{r['bytes'] / 1024:6.1f} Ko  erreurs {r['errors']}"
            )
    return results


def append_results(runs: dict[int, dict[str, dict]], args: argparse.Namespace) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    levels = ",".join(str(c) for c in runs)
    lines = [
        "",
        f"## Certification — public directory of certified employers — {stamp}",
        "",
        f"- Machine: {machine(with_load=True)}; shared with other work running at the same "
        "time (figures are a floor, not a ceiling).",
        f"- Command: `.venv/bin/python bench/certification.py --employers {args.employers} "
        f"--requests {args.requests} --concurrency {levels}`",
        f"- Database: SQLite (fresh, temporary folder), one program, {args.employers} "
        f"certified employers who consented to the directory (half in Lanaudière, a tenth "
        f"expiring) and {HIDDEN} that must not be listed (no consent, revoked, lapsed, "
        "expired); server: `python -m cli serve --no-access-log` (one uvicorn process, "
        "RATE_LIMIT_ENABLED=false, RUN_WORKER_IN_SERVER=false); client: aiohttp over "
        f"loopback, {args.requests} requests per URL and concurrency level ({args.requests // 3}"
        f" for the CSV) after {args.warmup} warm-up requests.",
        f"- Target (issue 16): the directory answers in under {TARGET_MS:.0f} ms median.",
        "",
        "| concurrency | request | median | p95 | req/s | share of health ceiling | body "
        "| errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for concurrency, results in runs.items():
        ceiling = results["GET /api/v1/health"]["rps"]
        for label, r in results.items():
            lines.append(
                f"| {concurrency} | `{label}` | {r['median_ms']:.1f} ms | {r['p95_ms']:.1f} ms | "
                f"{r['rps']:.0f} | {r['rps'] / ceiling:.0%} | {r['bytes'] / 1024:.1f} KB | "
                f"{r['errors']} |"
            )
    lines.append("")
    with RESULTS.open("a") as fh:
        fh.write("\n".join(lines))
    print(f"Résultats ajoutés à {RESULTS.relative_to(ROOT)}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--employers", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", default="1,10")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="rassembleur-bench-certification-"))
    database_url = f"sqlite://{tmp}/bench.sqlite3"
    settings = Settings(
        env="development",
        database_url=database_url,
        secret_key="bench-" + "x" * 40,
        var_dir=tmp / "var",
        run_worker_in_server=False,
    )
    code = asyncio.run(prepare(settings, args.employers))

    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        VAR_DIR=str(tmp / "var"),
        RATE_LIMIT_ENABLED="false",
        RUN_WORKER_IN_SERVER="false",
        SECRET_KEY="bench-" + "x" * 40,
        BASE_URL=f"http://127.0.0.1:{port}",
    )
    command = [sys.executable, "-m", "cli", "serve", "--port", str(port), "--no-access-log"]
    print("Serveur :", shlex.join(command))
    log = tmp / "server.log"
    runs: dict[int, dict[str, dict]] = {}
    with log.open("w") as out:
        server = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base, server, log)
            for level in [int(c) for c in args.concurrency.split(",") if c.strip()]:
                runs[level] = asyncio.run(drive(base, args, level, code))
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
    for level, results in runs.items():
        for label, r in results.items():
            if "repertoire" in label or label.endswith("/directory"):
                verdict = "OK" if r["median_ms"] < TARGET_MS else "AU-DESSUS DE LA CIBLE"
                print(f"[c={level}] {label}: médiane {r['median_ms']:.1f} ms — {verdict}")
    if not args.no_append:
        append_results(runs, args)


if __name__ == "__main__":
    main()
