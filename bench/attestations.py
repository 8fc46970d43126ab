"""Attendance-certificate benchmark (not a test): 1,000 certificates generated and queued by
mail (issue 17; target ≥ 50 per second).

A fresh database holds an event that is over, gives certificates (2 days, 3 h 30 per day)
and has N attendees checked in (both days). `rassembleur serve` runs on it (one uvicorn
process, its upkeep and mail worker inside it, as deployed by default; SMTP_URL empty so
the worker sends nothing and the queue is what is measured). The client (aiohttp):

1. GET /api/v1/health at concurrency 10: the ceiling of this machine and server;
2. POST /api/v1/events/{id}/attestations/send (an organizer's API token), then polls
   GET /api/v1/events/{id}/attestations until every certificate is queued: certificates
   made (PDF drawn, QR included) and queued with the PDF attached, per second, from the POST
   to the last one queued;
3. meanwhile, GET /api/v1/health one at a time: how the server answers while it draws.

Afterwards, from the database: N messages, each with a PDF attachment; one of them is
read back (text and QR) as a check.

    .venv/bin/python bench/attestations.py [--certificates 1000] [--postgres-url URL]
        [--no-sqlite] [--no-record]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import free_port, machine  # noqa: E402 - bench/ is on sys.path as a script

from core.db import close_orm, init_orm, run_migrations  # noqa: E402
from core.settings import Settings  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
TARGET = 50.0  # certificates per second
SECRET = "bench-" + "x" * 40


async def reset_schema(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


async def prepare(settings: Settings, n: int) -> tuple[int, str]:
    """Migrate; an event that is over with `n` attendees checked in on both its days;
    an organizer's API token. Returns (event id, token)."""
    from tortoise.transactions import in_transaction

    from core.accounts import create_token
    from core.auth import Principal
    from core.models import Role, User
    from events.models import Event, EventKind, EventStatus
    from people.models import Clientele, Person
    from people.reference import ensure_reference_data
    from registrations import tickets
    from registrations.models import CheckIn, Registration, RegistrationStatus

    if settings.database_url.startswith("postgres"):
        await reset_schema(settings.database_url)
    await run_migrations(settings)
    await close_orm()
    await init_orm(settings)
    try:
        await ensure_reference_data()
        clientele = await Clientele.get(code="schools")
        starts = datetime.now(UTC).replace(hour=13, minute=0, second=0, microsecond=0) - timedelta(
            days=14
        )
        event = await Event.create(
            uid="bench-attestations@rassembleur",
            kind=EventKind.TRAINING,
            title="Formation régionale : accompagner la persévérance scolaire",
            starts_at=starts,
            ends_at=starts + timedelta(days=1, hours=7),
            venue_name="Cégep régional de Lanaudière à Joliette",
            status=EventStatus.PUBLISHED,
            gives_attestation=True,
            attestation_minutes=210,
            attestation_minutes_per_day=True,
        )
        days = [starts.date(), starts.date() + timedelta(days=1)]
        async with in_transaction():
            for start in range(0, n, 500):
                await Person.bulk_create(
                    [
                        Person(
                            first_name=f"Prénom{i}",
                            last_name=f"Côté-Nom{i}",
                            email=f"p{i}@exemple.qc.ca",
                            email_key=f"p{i}@exemple.qc.ca",
                            language="en" if i % 4 == 0 else "fr",
                            clientele=clientele,
                        )
                        for i in range(start, min(n, start + 500))
                    ]
                )
            people = await Person.all().order_by("id")
            await Registration.bulk_create(
                [
                    Registration(
                        public_id=tickets.new_public_id(),
                        ticket_code=f"B{i:07d}",
                        event_id=event.id,
                        person_id=p.id,
                        status=RegistrationStatus.CONFIRMED,
                        clientele_id=clientele.id,
                        language=p.language,
                        confirmed_at=starts - timedelta(days=7),
                    )
                    for i, p in enumerate(people)
                ],
                batch_size=500,
            )
            registrations = await Registration.filter(event_id=event.id).values_list(
                "id", flat=True
            )
            await CheckIn.bulk_create(
                [
                    CheckIn(
                        event_id=event.id,
                        registration_id=rid,
                        day=day,
                        active_key=f"{rid}:{day.isoformat()}",
                        checked_in_at=datetime.combine(day, starts.timetz()),
                        method="scan",
                    )
                    for rid in registrations
                    for day in days
                ],
                batch_size=500,
            )
        user = await User.create(
            email="organisatrice@exemple.qc.ca", password_hash="!", role=Role.ORGANIZER
        )
        _token, raw = await create_token(Principal.system("bench"), user, "bench")
        return event.id, raw
    finally:
        await close_orm()


async def check_queue(settings: Settings, n: int) -> str:
    """Every certificate queued once, with a PDF; one read back (text, QR)."""
    import zxingcpp

    from core.models import OutboundMessage
    from tests import pdf_reading

    await init_orm(settings)
    try:
        messages = await OutboundMessage.filter(dedupe_key__startswith="attestation:")
        assert len(messages) == n, len(messages)
        assert all(m.attachments[0]["content_type"] == "application/pdf" for m in messages)
        sizes = [len(m.attachments[0]["data"]) * 3 // 4 for m in messages]
        pdf = base64.b64decode(messages[0].attachments[0]["data"])
        text = pdf_reading.text(pdf)
        assert "Prénom" in text
        assert "Durée de la formation" in text or "Training time" in text
        (image,) = pdf_reading.images(pdf)
        (code,) = zxingcpp.read_barcodes(image)
        assert "/attestations/verifier/" in code.text
        return f"{statistics.median(sizes) / 1024:.1f} KB"
    finally:
        await close_orm()


def wait_ready(base: str, proc: subprocess.Popen, log: Path) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(log.read_text())
        try:
            with urllib.request.urlopen(base + "/api/v1/health", timeout=1) as r:  # noqa: S310
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("le serveur n'a pas démarré :\n" + log.read_text())


async def health_ceiling(session: aiohttp.ClientSession, base: str) -> float:
    count, concurrency = 1000, 10
    remaining = list(range(count))

    async def lane() -> None:
        while remaining:
            remaining.pop()
            async with session.get(base + "/api/v1/health") as r:
                await r.read()
                assert r.status == 200

    for _ in range(20):
        async with session.get(base + "/api/v1/health") as r:
            await r.read()
    start = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return count / (time.perf_counter() - start)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of the server process and of its children (drawing processes)."""
    import psutil

    process = psutil.Process(pid)
    total = sum(process.cpu_times()[:2])
    for child in process.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.NoSuchProcess:
            pass
    return total


async def drive(base: str, event_id: int, token: str, n: int, pid: int) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        ceiling = await health_ceiling(session, base)
        done = asyncio.Event()
        latencies: list[float] = []

        async def probe() -> None:
            while not done.is_set():
                start = time.perf_counter()
                async with session.get(base + "/api/v1/health") as r:
                    await r.read()
                latencies.append(time.perf_counter() - start)
                await asyncio.sleep(0.05)

        prober = asyncio.create_task(probe())
        cpu_before = _cpu_seconds(pid)
        start = time.perf_counter()
        async with session.post(
            f"{base}/api/v1/events/{event_id}/attestations/send", headers=headers
        ) as r:
            body = await r.json()
            assert r.status == 202, body
        post_ms = (time.perf_counter() - start) * 1000
        status = body
        while status["mailed"] < n or status["running"]:
            await asyncio.sleep(0.5)
            async with session.get(
                f"{base}/api/v1/events/{event_id}/attestations", headers=headers
            ) as r:
                status = await r.json()
            if time.perf_counter() - start > 600:
                raise RuntimeError(f"trop long : {status}")
        elapsed = time.perf_counter() - start
        cpu = _cpu_seconds(pid) - cpu_before
        done.set()
        await prober
    ordered = sorted(latencies)
    return {
        "ceiling": ceiling,
        "rate": n / elapsed,
        "cpu_ms": cpu * 1000 / n,
        "seconds": elapsed,
        "post_ms": post_ms,
        "health_median_ms": statistics.median(ordered) * 1000,
        "health_p95_ms": ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000,
        "health_max_ms": ordered[-1] * 1000,
    }


def run_case(label: str, url: str, n: int, tmp: Path) -> dict:
    settings = Settings(env="bench", database_url=url, secret_key=SECRET, var_dir=tmp / "var")
    event_id, token = asyncio.run(prepare(settings, n))
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=url,
        VAR_DIR=str(tmp / "var"),
        RATE_LIMIT_ENABLED="false",
        RUN_WORKER_IN_SERVER="true",
        SMTP_URL="",
        SECRET_KEY=SECRET,
        BASE_URL=f"http://127.0.0.1:{port}",
    )
    command = [sys.executable, "-m", "cli", "serve", "--port", str(port), "--no-access-log"]
    print(f"{label} — serveur :", shlex.join(command))
    log = tmp / f"server-{label}.log"
    with log.open("w") as out:
        server = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base, server, log)
            result = asyncio.run(drive(base, event_id, token, n, server.pid))
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
    result["pdf_size"] = asyncio.run(check_queue(settings, n))
    result["label"] = label
    result["n"] = n
    result["load"] = os.getloadavg()[0]
    print(
        f"{label}: {n} attestations produites et mises en file en {result['seconds']:.1f} s, "
        f"soit {result['rate']:.0f}/s (cible ≥ {TARGET:.0f}/s : "
        f"{'OK' if result['rate'] >= TARGET else 'SOUS LA CIBLE'}); plafond GET /api/v1/health "
        f"{result['ceiling']:.0f} req/s; pendant l'envoi, /api/v1/health médiane "
        f"{result['health_median_ms']:.0f} ms, p95 {result['health_p95_ms']:.0f} ms, max "
        f"{result['health_max_ms']:.0f} ms; CPU du serveur et de ses processus de dessin "
        f"{result['cpu_ms']:.1f} ms par attestation; PDF médian {result['pdf_size']}; "
        f"charge machine {result['load']:.1f}"
    )
    return result


def record(results: list[dict], args: argparse.Namespace) -> None:
    lines = [
        "",
        f"## Attendance certificates: {args.certificates} generated and queued by mail — "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"- Machine: {machine(with_load=True)}; shared with other workstreams running tests "
        "and benchmarks at the same time (load average at the end of each case below).",
        f"- Command: `.venv/bin/python bench/attestations.py --certificates {args.certificates}"
        + (" --postgres-url <own database>" if args.postgres_url else "")
        + ("" if args.sqlite else " --no-sqlite")
        + "`.",
        "- Server: `python -m cli serve --no-access-log` (one uvicorn process; its upkeep "
        "does the mailing, woken by the request; RATE_LIMIT_ENABLED=false; SMTP_URL empty, "
        "so nothing is sent and the queue is what is measured). Data: one 2-day training "
        f"that is over, {args.certificates} attendees checked in on both days, 3 h 30 per "
        "day. Client: aiohttp over loopback; rate = certificates / time from the POST "
        "`/api/v1/events/{id}/attestations/send` to the last one queued (polled every "
        "0.5 s). Each certificate: the PDF drawn (DejaVu Serif subset, QR code), the "
        "message rendered (French or English) and queued with the PDF attached.",
        f"- Target: ≥ {TARGET:.0f} certificates per second.",
        "",
        "- CPU per certificate: user + system CPU of the server process and its drawing "
        "processes during the mailing, divided by the certificates (includes the health "
        "probes and the progress polls): what the machine's load does not change.",
        "",
        "| database | certificates/s | seconds | share of health ceiling | GET /api/v1/health "
        "during (median / p95 / max) | CPU per certificate | PDF size (median) | load at end |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['label']} | {r['rate']:.0f} | {r['seconds']:.1f} | "
            f"{r['rate'] / r['ceiling']:.1%} (ceiling {r['ceiling']:.0f} req/s) | "
            f"{r['health_median_ms']:.0f} / {r['health_p95_ms']:.0f} / "
            f"{r['health_max_ms']:.0f} ms | {r['cpu_ms']:.1f} ms | {r['pdf_size']} | "
            f"{r['load']:.1f} |"
        )
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    print(f"Résultats ajoutés à {RESULTS.relative_to(ROOT)}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--certificates", type=int, default=1000)
    parser.add_argument("--postgres-url", default="")
    parser.add_argument("--no-sqlite", dest="sqlite", action="store_false")
    parser.add_argument("--no-record", dest="record", action="store_false")
    parser.add_argument("--case", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:  # one database per process (module-level SQL caches follow the dialect)
        from core.db import load_packages

        with tempfile.TemporaryDirectory(prefix="rassembleur-bench-attestations-") as tmp:
            url = f"sqlite://{tmp}/b.sqlite3" if args.case == "sqlite" else args.postgres_url
            load_packages(Settings(env="bench", database_url=url))
            label = "SQLite" if args.case == "sqlite" else "PostgreSQL"
            print(json.dumps(run_case(label, url, args.certificates, Path(tmp))))
        return
    results = []
    cases = (["sqlite"] if args.sqlite else []) + (["postgres"] if args.postgres_url else [])
    for case in cases:
        command = [
            sys.executable,
            __file__,
            "--case",
            case,
            "--certificates",
            str(args.certificates),
        ]
        if args.postgres_url:
            command += ["--postgres-url", args.postgres_url]
        done = subprocess.run(command, capture_output=True, text=True)  # noqa: S603
        if done.returncode:
            print(done.stdout, done.stderr)
            raise SystemExit(done.returncode)
        print(done.stdout.strip().splitlines()[-2])
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    if args.record and results:
        record(results, args)


if __name__ == "__main__":
    main()
