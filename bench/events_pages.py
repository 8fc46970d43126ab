"""Public event pages benchmark (not a test).

A fresh SQLite database in a temporary folder (migrated, reference data loaded) receives
1,000 published events (a third of them activities of a JPS edition); `rassembleur serve`
runs as a subprocess; aiohttp drives it over loopback. Measures median / p95 latency and
throughput of:

- GET /events               (the public list, first page)
- GET /calendar.ics         (the public feed; skipped with a note when the route is absent)
- GET /api/v1/health        (same client and concurrency: the ceiling)

plus, for information, a filtered list and the JPS calendar. Prints the figures and appends
a dated section to bench/RESULTS.md. Target: under 150 ms median for each.

    .venv/bin/python bench/events_pages.py [--events 1000] [--requests 400]
        [--concurrency 1,10] [--no-append]
"""

from __future__ import annotations

import argparse
import asyncio
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
TARGET_MS = 150.0


async def prepare(settings: Settings, count: int) -> None:
    """Migrate, load reference data and create `count` published public events."""
    from tortoise.transactions import in_transaction

    from events.models import AttendanceMode, Event, EventKind, EventStatus, Visibility
    from people.models import Clientele, Territory, TerritoryKind
    from people.reference import ensure_reference_data

    await run_migrations(settings)
    await close_orm()
    await init_orm(settings)
    try:
        await ensure_reference_data()
        region = await Territory.get(code="14")
        mrcs = list(await Territory.filter(parent_id=region.id).order_by("code"))
        others = list(await Territory.filter(kind=TerritoryKind.MRC).exclude(parent_id=region.id))
        clienteles = list(await Clientele.all().order_by("position"))
        tz_start = datetime(2027, 1, 11, 14, 0, tzinfo=UTC)
        edition = await Event.create(
            uid="bench-jps@rassembleur",
            kind=EventKind.PERSEVERANCE_DAYS,
            title="Journées de la persévérance scolaire 2027",
            description="Une semaine d'activités partout dans la région.",
            starts_at=datetime(2027, 2, 15, 5, 0, tzinfo=UTC),
            ends_at=datetime(2027, 2, 20, 4, 59, tzinfo=UTC),
            venue_name="Partout dans Lanaudière",
            territory=region,
            status=EventStatus.PUBLISHED,
            visibility=Visibility.PUBLIC,
            published_at=datetime.now(UTC),
        )
        kinds = [EventKind.REGIONAL_EVENT, EventKind.TRAINING, EventKind.MEETING]
        async with in_transaction():
            for n in range(count - 1):
                is_activity = n % 3 == 0
                if is_activity:
                    starts = datetime(2027, 2, 15 + (n // 3) % 5, 13 + n % 8, 0, tzinfo=UTC)
                else:
                    starts = tz_start + timedelta(days=n % 300, hours=n % 6)
                territory = mrcs[n % len(mrcs)] if n % 5 else others[n % len(others)]
                event = await Event.create(
                    uid=f"bench-{n}@rassembleur",
                    parent=edition if is_activity else None,
                    kind=EventKind.ACTIVITY if is_activity else kinds[n % 3],
                    title=f"Activité de mobilisation pour la persévérance scolaire n° {n}",
                    description="Une activité pour soutenir la réussite des jeunes. " * 20,
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=2),
                    mode=AttendanceMode.IN_PERSON,
                    venue_name=f"Centre communautaire {territory.name}",
                    address=f"{100 + n}, rue Principale, {territory.name}",
                    territory=territory,
                    capacity=50 if n % 4 == 0 else None,
                    status=EventStatus.PUBLISHED,
                    visibility=Visibility.PUBLIC,
                    published_at=datetime.now(UTC),
                )
                await event.clienteles.add(*clienteles[n % 4 : n % 4 + 2])
        total = await Event.filter(status=EventStatus.PUBLISHED).count()
        print(f"{total} événements publiés.")
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


async def measure(
    session: aiohttp.ClientSession, url: str, requests: int, concurrency: int, warmup: int
) -> dict:
    latencies: list[float] = []
    sizes: list[int] = []
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)

    async def one() -> tuple[float, int, int]:
        start = time.perf_counter()
        async with session.get(url) as response:
            body = await response.read()
        return time.perf_counter() - start, response.status, len(body)

    for _ in range(warmup):
        await one()

    async def worker() -> None:
        nonlocal errors
        while True:
            try:
                queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            elapsed, status, size = await one()
            if status != 200:
                errors += 1
            latencies.append(elapsed)
            sizes.append(size)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "median_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000,
        "rps": len(ordered) / wall,
        "errors": errors,
        "bytes": int(statistics.median(sizes)) if sizes else 0,
    }


async def drive(
    base: str, args: argparse.Namespace, concurrency: int
) -> tuple[dict[str, dict], list[str]]:
    notes: list[str] = []
    paths = [
        ("GET /api/v1/health", "/api/v1/health"),
        ("GET /events", "/events"),
        ("GET /calendar.ics", "/calendar.ics"),
        ("GET /events?territory=14&clientele=youth", "/events?territory=14&clientele=youth"),
        ("GET /jps", "/jps"),
    ]
    results: dict[str, dict] = {}
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        for label, path in paths:
            async with session.get(base + path) as probe:
                await probe.read()
                status = probe.status
            if status == 404 and path == "/calendar.ics":
                notes.append("`/calendar.ics` absent (404) lors de cette mesure : ignoré.")
                continue
            if status != 200:
                raise RuntimeError(f"{path} → {status}")
            results[label] = await measure(
                session, base + path, args.requests, concurrency, args.warmup
            )
            r = results[label]
            print(
                f"[c={concurrency:>2}] {label:45} médiane {r['median_ms']:6.1f} ms  "
                f"p95 {r['p95_ms']:6.1f} ms  "
                f"{r['rps']:7.0f} req/s  {r['bytes'] / 1024:6.1f} Ko  erreurs {r['errors']}"
            )
    return results, notes


def append_results(
    runs: dict[int, dict[str, dict]], notes: list[str], args: argparse.Namespace
) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    levels = ",".join(str(c) for c in runs)
    lines = [
        "",
        f"## Événements — pages publiques — {stamp}",
        "",
        f"- Machine: {machine()}",
        f"- Command: `.venv/bin/python bench/events_pages.py --events {args.events} "
        f"--requests {args.requests} --concurrency {levels}`",
        f"- Database: SQLite (fresh, temporary folder), {args.events} published public events "
        "(a third of them activities of one JPS edition); server: `python -m cli serve "
        "--no-access-log` (one uvicorn process, RATE_LIMIT_ENABLED=false, "
        "RUN_WORKER_IN_SERVER=false); client: aiohttp over loopback, "
        f"{args.requests} requests per URL and concurrency level after {args.warmup} "
        "warm-up requests.",
        f"- Target: median under {TARGET_MS:.0f} ms for the list page and the public feed.",
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
    lines += [f"- Note: {note}" for note in notes]
    lines.append("")
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\nAppended by the scripts in `bench/`.\n")
    with RESULTS.open("a") as fh:
        fh.write("\n".join(lines))
    print(f"Résultats ajoutés à {RESULTS.relative_to(ROOT)}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument(
        "--concurrency", default="1,10", help="comma-separated levels (default 1,10)"
    )
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="rassembleur-bench-events-"))
    database_url = f"sqlite://{tmp}/bench.sqlite3"
    settings = Settings(
        env="development",
        database_url=database_url,
        secret_key="bench-" + "x" * 40,
        var_dir=tmp / "var",
        run_worker_in_server=False,
    )
    asyncio.run(prepare(settings, args.events))

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
    with log.open("w") as out:
        server = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base, server, log)
            runs: dict[int, dict[str, dict]] = {}
            notes: list[str] = []
            for level in [int(c) for c in args.concurrency.split(",") if c.strip()]:
                runs[level], level_notes = asyncio.run(drive(base, args, level))
                notes += [n for n in level_notes if n not in notes]
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
    for note in notes:
        print("Note :", note)
    for level, results in runs.items():
        for label in ("GET /events", "GET /calendar.ics"):
            if label in results:
                median = results[label]["median_ms"]
                verdict = "OK" if median < TARGET_MS else "AU-DESSUS DE LA CIBLE"
                print(f"[c={level}] {label}: médiane {median:.1f} ms — {verdict}")
    if not args.no_append:
        append_results(runs, notes, args)


if __name__ == "__main__":
    main()
