"""Check-in load benchmark (not a test): 2,000 tickets redeemed at the door over real HTTP.

A fresh database (SQLite in a temporary folder, then PostgreSQL in its own database
`rassembleur_bench_checkin`, created and dropped here, never the test suite's) gets one
published event happening now, N confirmed registrations (bulk-inserted) and a paired
check-in device. `rassembleur serve` runs as a subprocess; 16 concurrent aiohttp clients
POST every signed ticket payload to /api/v1/checkin with the device token and a nonce.

Measures: check-ins/s, median and p95 latency; checks that every answer is "ok" and that
the database holds exactly N check-ins. `GET /api/v1/health` with the same client and
concurrency gives the ceiling; each figure is also reported as a share of it. Prints the
figures and appends a dated section to bench/RESULTS.md.

    .venv/bin/python bench/checkin_load.py [--tickets 2000] [--concurrency 16]
        [--no-postgres] [--no-sqlite] [--no-record] [--label TEXT] [--notes TEXT]
        [--py-spy FILE.svg|FILE.txt]   # profile the server (needs `pip install py-spy`)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import free_port, machine, reset_postgres  # noqa: E402 - bench/ is on sys.path as a script

from core.db import close_orm, init_orm, run_migrations  # noqa: E402
from core.settings import Settings  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
PG_BENCH_DB = "rassembleur_bench_checkin"
SECRET_KEY = "bench-checkin-" + "x" * 40
TIME_ZONE = "America/Toronto"


def make_settings(database_url: str, tmp: Path) -> Settings:
    return Settings(
        env="development",
        database_url=database_url,
        secret_key=SECRET_KEY,
        var_dir=tmp / "var",
        run_worker_in_server=False,
        rate_limit_enabled=False,
    )


async def prepare(settings: Settings, count: int) -> dict[str, Any]:
    """Migrate, load reference data, one event happening now, `count` confirmed
    registrations with their signed payloads, and a paired device token."""
    from core.auth import Principal
    from core.models import Role, User
    from core.security import hash_password
    from events import service as events
    from events.models import Event
    from events.schemas import EventIn
    from people.models import Clientele, Person
    from people.reference import ensure_reference_data
    from registrations import devices, tickets
    from registrations.models import Registration, RegistrationSource, RegistrationStatus

    await run_migrations(settings)
    await close_orm()
    await init_orm(settings)
    try:
        started = time.perf_counter()
        await ensure_reference_data()
        system = Principal.system("bench")
        organizer = await User.create(
            email="organisatrice@exemple.qc.ca",
            password_hash=hash_password(secrets.token_urlsafe(16)),
            role=Role.ORGANIZER,
            full_name="Organisatrice",
        )
        start = datetime.now(ZoneInfo(TIME_ZONE)) + timedelta(minutes=30)
        data = EventIn.model_validate(
            {
                "title": "Rassemblement régional (banc d'essai)",
                "kind": "regional_event",
                "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
                "ends_at": (start + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"),
                "venue_name": "Aréna municipal",
                "address": "1, rue Principale, Joliette",
                "territory": "2462",
                "capacity": max(2000, count),
            }
        )
        event = await events.create_event(system, data)
        await events.publish_event(system, event.id)
        event = await Event.get(id=event.id)
        clientele = await Clientele.get(code="schools")
        chunk = 500
        for offset in range(0, count, chunk):
            size = min(chunk, count - offset)
            await Person.bulk_create(
                [
                    Person(
                        first_name=f"Prénom{i}",
                        last_name=f"Nom{i}",
                        email=f"personne{i}@exemple.qc.ca",
                        email_key=f"personne{i}@exemple.qc.ca",
                        clientele=clientele,
                    )
                    for i in range(offset, offset + size)
                ]
            )
        people = await Person.all().order_by("id").values_list("id", flat=True)
        now = datetime.now(UTC)
        codes: set[str] = set()
        rows = []
        for person_id in people:
            code = tickets.new_ticket_code()
            while code in codes:
                code = tickets.new_ticket_code()
            codes.add(code)
            rows.append(
                Registration(
                    public_id=tickets.new_public_id(),
                    ticket_code=code,
                    event_id=event.id,
                    person_id=person_id,
                    active_key=f"{event.id}:{person_id}",
                    status=RegistrationStatus.CONFIRMED,
                    clientele=clientele,
                    party_size=1,
                    source=RegistrationSource.IMPORT,
                    confirmed_at=now,
                )
            )
        for offset in range(0, len(rows), chunk):
            await Registration.bulk_create(rows[offset : offset + chunk])
        signer = await tickets.get_signer(settings.secret_key)
        payloads = [
            signer.sign(event.id, public_id)
            for public_id in await Registration.filter(event_id=event.id).values_list(
                "public_id", flat=True
            )
        ]
        _device, token = await devices.pair_device(
            Principal.for_user(organizer), event.id, "Tablette de banc d'essai", hours=24
        )
        return {
            "event_id": event.id,
            "payloads": payloads,
            "token": token,
            "setup_seconds": time.perf_counter() - started,
        }
    finally:
        await close_orm()


async def count_checkins(settings: Settings, event_id: int) -> tuple[int, int]:
    from registrations.models import CheckIn, Scan

    await init_orm(settings)
    try:
        return (
            await CheckIn.filter(event_id=event_id, active_key__isnull=False).count(),
            await Scan.filter(event_id=event_id).count(),
        )
    finally:
        await close_orm()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


async def drive(
    base: str,
    concurrency: int,
    requests: list[tuple[str, str, dict[str, Any] | None]],
    headers: dict[str, str],
) -> dict[str, Any]:
    """Send `requests` (method, path, json) with `concurrency` clients; latencies in ms."""
    latencies: list[float] = []
    answers: list[Any] = [None] * len(requests)
    statuses: list[int] = [0] * len(requests)
    next_index = 0
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(base_url=base, connector=connector, headers=headers) as http:

        async def client() -> None:
            nonlocal next_index
            while next_index < len(requests):
                index = next_index
                next_index += 1
                method, path, body = requests[index]
                sent = time.perf_counter()
                async with http.request(method, path, json=body) as response:
                    data = await response.json(content_type=None)
                    statuses[index] = response.status
                latencies.append((time.perf_counter() - sent) * 1000)
                answers[index] = data

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "count": len(requests),
        "seconds": elapsed,
        "rate": len(requests) / elapsed,
        "median_ms": statistics.median(latencies),
        "p95_ms": percentile(latencies, 0.95),
        "answers": answers,
        "statuses": statuses,
    }


async def wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.perf_counter() + 30
    async with aiohttp.ClientSession() as http:
        while time.perf_counter() < deadline:
            if server.poll() is not None:
                raise RuntimeError("le serveur s'est arrêté au démarrage")
            try:
                async with http.get(f"{base}/api/v1/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("le serveur n'a pas démarré à temps")


async def measure(base: str, data: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    await wait_ready(base, args.server)
    health_requests = [("GET", "/api/v1/health", None)] * max(2000, args.tickets)
    # Warm the client and the server (imports, connection pool) before measuring.
    await drive(base, args.concurrency, health_requests[:200], {})
    server = psutil.Process(args.server.pid)
    cpu = server.cpu_times()
    health = await drive(base, args.concurrency, health_requests, {})
    health["server_cpu_ms"] = cpu_ms(server, cpu) / len(health_requests)
    auth = {"Authorization": f"Bearer {data['token']}"}
    scans = [
        (
            "POST",
            "/api/v1/checkin",
            {"event_id": data["event_id"], "payload": payload, "nonce": secrets.token_hex(16)},
        )
        for payload in data["payloads"]
    ]
    cpu = server.cpu_times()
    load = os.getloadavg()[0]
    checkins = await drive(base, args.concurrency, scans, auth)
    checkins["server_cpu_ms"] = cpu_ms(server, cpu) / len(scans)
    checkins["load_before"] = load
    return {"health": health, "checkin": checkins}


def cpu_ms(process: psutil.Process, before: Any) -> float:
    """CPU time (user + system, all threads) the server spent since `before`, in ms."""
    after = process.cpu_times()
    return (after.user - before.user + after.system - before.system) * 1000


def run_case(label: str, database_url: str, args: argparse.Namespace, tmp: Path) -> dict:
    settings = make_settings(database_url, tmp)
    data = asyncio.run(prepare(settings, args.tickets))
    print(
        f"[{label}] {args.tickets} inscriptions confirmées préparées en "
        f"{data['setup_seconds']:.1f} s"
    )
    port = free_port()
    env = dict(
        os.environ,
        ENV="development",
        DATABASE_URL=database_url,
        VAR_DIR=str(tmp / "var"),
        SECRET_KEY=SECRET_KEY,
        RATE_LIMIT_ENABLED="false",
        RUN_WORKER_IN_SERVER="false",
        BASE_URL=f"http://127.0.0.1:{port}",
    )
    command = [
        sys.executable,
        "-m",
        "cli",
        "serve",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        "--workers",
        os.environ.get("BENCH_WORKERS", "1"),
    ]
    server = subprocess.Popen(  # noqa: S603
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    args.server = server
    profiler = None
    try:
        if args.py_spy:  # investigation only: py-spy is not a project dependency
            profiler = subprocess.Popen(  # noqa: S603
                [
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "-o",
                    args.py_spy,
                    "--pid",
                    str(server.pid),
                    "-r",
                    "200",
                ]
                + (["-f", "raw"] if args.py_spy.endswith(".txt") else []),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        figures = asyncio.run(measure(f"http://127.0.0.1:{port}", data, args))
    finally:
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
        server.send_signal(signal.SIGTERM)
        try:
            _out, err = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            _out, err = server.communicate()
        noise = ("INFO tortoise", "Tortoise-ORM")
        lines = [
            line
            for line in (err or b"").decode(errors="replace").splitlines()
            if line.strip() and not any(n in line for n in noise)
        ]
        if lines:
            print(f"[{label}] stderr du serveur :\n" + "\n".join(lines[-40:]))
    health, scans = figures["health"], figures["checkin"]
    results: dict[str, int] = {}
    for status, answer in zip(scans["statuses"], scans["answers"], strict=True):
        key = answer.get("result", f"http {status}") if isinstance(answer, dict) else str(status)
        results[key] = results.get(key, 0) + 1
    in_db, scan_rows = asyncio.run(count_checkins(settings, data["event_id"]))
    result = {
        "label": label,
        "tickets": args.tickets,
        "concurrency": args.concurrency,
        "health": health,
        "checkin": scans,
        "results": results,
        "all_ok": results == {"ok": args.tickets},
        "checkins_in_db": in_db,
        "scans_in_db": scan_rows,
        "command": shlex.join(
            [
                f"{k}={v}"
                for k, v in env.items()
                if k in {"DATABASE_URL", "RATE_LIMIT_ENABLED", "RUN_WORKER_IN_SERVER", "SECRET_KEY"}
            ]
            + ["python", *command[1:]]
        ).replace(SECRET_KEY, "…"),
    }
    share = scans["rate"] / health["rate"]
    print(
        f"[{label}] santé (plafond) : {health['rate']:.0f} req/s, médiane "
        f"{health['median_ms']:.1f} ms, p95 {health['p95_ms']:.1f} ms\n"
        f"[{label}] accueils : {scans['rate']:.0f}/s ({share:.0%} du plafond) sur "
        f"{scans['seconds']:.2f} s, médiane {scans['median_ms']:.1f} ms "
        f"({scans['median_ms'] / health['median_ms']:.1f}× la santé), p95 "
        f"{scans['p95_ms']:.1f} ms ({scans['p95_ms'] / health['p95_ms']:.1f}× la santé)\n"
        f"[{label}] CPU du serveur : {scans['server_cpu_ms']:.2f} ms par accueil, "
        f"{health['server_cpu_ms']:.2f} ms par requête de santé; charge de la machine avant : "
        f"{scans['load_before']:.1f}\n"
        f"[{label}] réponses : {results}; accueils en base : {in_db}; scans en base : "
        f"{scan_rows}"
    )
    return result


def append_results(results: list[dict], args: argparse.Namespace) -> None:
    title = "Check-in load" + (f" — {args.label}" if args.label else "")
    lines = [
        "",
        f"## {title} — {datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        "",
        f"- Machine: {machine()}",
        f"- Command: `.venv/bin/python bench/checkin_load.py --tickets {args.tickets} "
        f"--concurrency {args.concurrency}`",
        f"- Load: {args.tickets} distinct signed tickets (one event, confirmed registrations), "
        f"each POSTed once to `/api/v1/checkin` with the paired device's bearer token and a "
        f"fresh nonce, by {args.concurrency} concurrent aiohttp clients (keep-alive) on "
        "loopback; one `rassembleur serve` process (uvicorn, no access log). Ceiling: "
        f"`GET /api/v1/health` (one `SELECT 1`), same client and concurrency, measured just "
        "before.",
        "",
        "| database | health req/s | health median / p95 | check-ins/s (share of ceiling) "
        "| check-in median / p95 (× health) | server CPU per check-in / per health "
        "| load avg | answers | check-ins in DB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        h, c = r["health"], r["checkin"]
        answers = ", ".join(f"{k} {v}" for k, v in sorted(r["results"].items()))
        lines.append(
            f"| {r['label']} | {h['rate']:.0f} | {h['median_ms']:.1f} / {h['p95_ms']:.1f} ms "
            f"| **{c['rate']:.0f}** ({c['rate'] / h['rate']:.0%}) "
            f"| {c['median_ms']:.1f} / **{c['p95_ms']:.1f}** ms "
            f"({c['median_ms'] / h['median_ms']:.1f}× / {c['p95_ms'] / h['p95_ms']:.1f}×) "
            f"| {c['server_cpu_ms']:.2f} / {h['server_cpu_ms']:.2f} ms "
            f"| {c['load_before']:.1f} | {answers} | {r['checkins_in_db']} |"
        )
    for r in results:
        lines.append(f"\n`{r['label']}` server command: `{r['command']}`")
    if args.notes:
        lines.append("")
        lines.append(args.notes)
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\nAppended by the scripts in `bench/`.\n")
    with RESULTS.open("a") as fh:
        fh.write("\n".join(lines) + "\n")
    print(f"Résultats ajoutés à {RESULTS.relative_to(ROOT)}.")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-record", action="store_true", help="ne pas écrire RESULTS.md")
    parser.add_argument("--label", default="", help="précision ajoutée au titre de la section")
    parser.add_argument("--notes", default="", help="paragraphe ajouté sous le tableau")
    parser.add_argument("--py-spy", default="", help="profil py-spy du serveur (enquête)")
    parser.add_argument("--case", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        # One database per child process: Tortoise keeps per-dialect state in its models.
        with tempfile.TemporaryDirectory(prefix="rassembleur-bench-checkin-") as name:
            tmp = Path(name)
            if args.case == "sqlite":
                result = run_case("SQLite", f"sqlite://{tmp}/bench.sqlite3", args, tmp)
            else:
                url = asyncio.run(reset_postgres(PG_BENCH_DB))
                if url is None:
                    return 0
                try:
                    result = run_case("PostgreSQL", url, args, tmp)
                finally:
                    asyncio.run(reset_postgres(PG_BENCH_DB, drop_only=True))
        for figures in (result["health"], result["checkin"]):
            figures.pop("answers")
            figures.pop("statuses")
        Path(args.out).write_text(json.dumps(result))
        return 0
    results = []
    failed = False
    cases = [
        c for c, skip in (("sqlite", args.no_sqlite), ("postgres", args.no_postgres)) if not skip
    ]
    with tempfile.TemporaryDirectory(prefix="rassembleur-bench-checkin-out-") as name:
        for case in cases:
            out = Path(name) / f"{case}.json"
            child = [sys.executable, __file__, "--case", case, "--out", str(out)]
            child += ["--tickets", str(args.tickets), "--concurrency", str(args.concurrency)]
            if args.py_spy:
                spy = Path(args.py_spy).resolve()
                child += ["--py-spy", str(spy.with_name(f"{case}-{spy.name}"))]
            if subprocess.run(child, cwd=ROOT, check=False).returncode != 0:  # noqa: S603
                failed = True
            if out.exists():
                results.append(json.loads(out.read_text()))
    for r in results:
        if not r["all_ok"] or r["checkins_in_db"] != args.tickets:
            print(f"[{r['label']}] ÉCHEC : réponses {r['results']}, {r['checkins_in_db']} en base")
            failed = True
    if not args.no_record and results:
        append_results(results, args)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
