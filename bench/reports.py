"""Participation report benchmark (not a test): issue 15's acceptance figures.

A fresh database (SQLite in a temporary folder; PostgreSQL in a database of its own,
dropped and re-created: `bench_r2` by default) receives, by bulk inserts, 1,000 events
over 2025–2026 (a tenth of them over two days, a fifth in editions, each tagged with a
plan action), 30,000 people, 100,000 registrations (90 % confirmed, some walk-ins,
groups) and 60,000 check-ins. `rassembleur serve` runs as a subprocess; aiohttp drives
it over loopback, one request at a time. Measured in the same run:

- GET /api/v1/reports/participation?group_by=clientele,territory&from=2026-01-01&to=2026-12-31
  (median, p95 over --runs requests after warm-up);
- the bare SQL aggregate of that report (the statement `reports.participation_sql` builds,
  same values) run directly on the same database with the driver (sqlite3 / asyncpg):
  its median, and its share of the HTTP median;
- GET /admin/rapports (the dashboard, signed in) when the route exists; skipped otherwise;
- GET /api/v1/health with the same client: the ceiling.

Targets: report median < 150 ms on SQLite, < 100 ms on PostgreSQL; dashboard < 500 ms.

    .venv/bin/python bench/reports.py [--runs 60] [--postgres-db bench_r2] [--no-postgres]
        [--no-sqlite] [--no-append]

Before / after on these shared machines, whose speed moves by a third within an hour: two
checkouts served at once, their report requests alternated (`--baseline`):

    git worktree add /tmp/before <commit> && cp bench/reports.py bench/_common.py /tmp/before/bench/
    .venv/bin/python bench/reports.py --baseline /tmp/before --runs 40
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import cpu_probe_ms, free_port, machine, reset_postgres  # noqa: E402

from core.db import close_orm, init_orm, run_migrations  # noqa: E402
from core.settings import Settings  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
TZ = ZoneInfo("America/Toronto")
PASSWORD = "bench-mot-de-passe-2027"
ADMIN = "bench-rapports@exemple.qc.ca"
REPORT_PATH = (
    "/api/v1/reports/participation?group_by=clientele,territory&from=2026-01-01&to=2026-12-31"
)
TARGETS = {"sqlite": 150.0, "postgres": 100.0}
EVENTS, PEOPLE, REGISTRATIONS, CHECKINS = 1000, 30_000, 100_000, 60_000


async def _insert(table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Bulk insert (executemany, batches of 5,000, one transaction each)."""
    from tortoise import connections
    from tortoise.transactions import in_transaction

    connection = connections.get("default")
    dialect = connection.capabilities.dialect
    marks = ", ".join(f"${i}" if dialect == "postgres" else "?" for i in range(1, len(columns) + 1))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
    began = time.perf_counter()
    for start in range(0, len(rows), 5000):
        async with in_transaction() as conn:
            await conn.execute_many(sql, [list(r) for r in rows[start : start + 5000]])
    print(f"  {table}: {len(rows)} lignes en {time.perf_counter() - began:.1f} s")


async def seed(settings: Settings) -> str:
    """Migrate, load the reference data and the volume; return an API token."""
    from core.accounts import create_token
    from core.auth import Principal
    from core.models import Role, User
    from core.security import hash_password
    from events.models import Event, EventKind
    from people.models import Clientele, Organization, Person, PlanItem, Sector, Territory
    from people.reference import ensure_reference_data, seed_plan_items
    from registrations.models import Registration

    await run_migrations(settings)
    await close_orm()
    await init_orm(settings)
    rng = random.Random(15)
    started = time.perf_counter()
    await ensure_reference_data()
    await seed_plan_items()
    now = datetime.now(UTC)
    clienteles = [c.id for c in await Clientele.all()]
    mrcs = [t.id for t in await Territory.filter(kind="mrc")]
    local_mrcs = rng.sample(mrcs, 20)  # participants come mostly from one region's MRCs
    actions = [p.id for p in await PlanItem.filter(level="action")]
    sectors = [s.value for s in Sector]
    await _insert(
        "people_organization",
        ["name", "name_key", "sector", "website", "created_at", "updated_at"],
        [
            (f"Organisme {n}", f"organisme {n}", rng.choice(sectors), "", now, now)
            for n in range(500)
        ],
    )
    organizations = [o.id for o in await Organization.all().only("id")]
    await _insert(
        "people_person",
        [
            "first_name",
            "last_name",
            "email",
            "email_key",
            "phone",
            "language",
            "created_at",
            "updated_at",
            "erased_at",
        ],
        [
            (
                f"Prénom{n}",
                f"Nom{n}",
                f"p{n}@exemple.qc.ca",
                f"p{n}@exemple.qc.ca",
                "",
                "fr",
                now,
                now,
                now if n % 100 == 0 else None,
            )
            for n in range(PEOPLE)
        ],
    )
    people = [p.id for p in await Person.all().only("id")]

    # Editions: 10 a year; events spread over 2025–2026, a tenth over two days.
    def event(title: str, kind: str, starts: datetime, ends: datetime, **extra: Any) -> Event:
        return Event(
            uid=secrets.token_hex(12),
            kind=kind,
            title=title,
            starts_at=starts.astimezone(UTC),
            ends_at=ends.astimezone(UTC),
            status="published",
            **extra,
        )

    edition_list = [
        event(f"JPS {year} ({n})", "perseverance_days", day, day + timedelta(days=4))
        for year in (2025, 2026)
        for n in range(10)
        for day in [datetime(year, 2, 10 + n, tzinfo=TZ)]
    ]
    await Event.bulk_create(edition_list, batch_size=500)
    editions = [e.id for e in await Event.all().only("id")]
    kinds = [k.value for k in EventKind if k != EventKind.PERSEVERANCE_DAYS]
    event_list = []
    for n in range(EVENTS):
        day = date(2025, 1, 1) + timedelta(days=rng.randrange(730))
        starts = datetime.combine(day, clock(9), tzinfo=TZ)
        ends = starts + (timedelta(days=1, hours=7) if n % 10 == 0 else timedelta(hours=3))
        event_list.append(
            event(
                f"Événement {n}",
                rng.choice(kinds),
                starts,
                ends,
                territory_id=rng.choice(mrcs),
                parent_id=rng.choice(editions) if n % 5 == 0 else None,
            )
        )
    await Event.bulk_create(event_list, batch_size=500)
    events = await Event.filter(id__not_in=editions).values("id", "starts_at", "ends_at")
    await _insert(
        "events_event_plan_item",
        ["events_event_id", "planitem_id"],
        [(e["id"], rng.choice(actions)) for e in events],
    )
    # Registrations: 100 per event, distinct people per event.
    registration_rows = []
    for event in events:
        for person in rng.sample(people, REGISTRATIONS // len(events)):
            roll = rng.random()
            status = "confirmed" if roll < 0.9 else "cancelled" if roll < 0.95 else "waitlisted"
            territory = rng.choice(local_mrcs) if rng.random() < 0.95 else None
            registration_rows.append(
                (
                    secrets.token_hex(12),
                    f"{len(registration_rows):08X}",
                    event["id"],
                    person,
                    f"{event['id']}:{person}" if status != "cancelled" else None,
                    status,
                    rng.choice(clienteles),
                    rng.choice(organizations) if rng.random() < 0.4 else None,
                    territory,
                    "fr",
                    1 if rng.random() < 0.9 else rng.randint(2, 4),
                    "{}",
                    False,
                    False,
                    "walkin" if rng.random() < 0.03 else "form",
                    now,
                    now,
                )
            )
    await _insert(
        "registrations_registration",
        [
            "public_id",
            "ticket_code",
            "event_id",
            "person_id",
            "active_key",
            "status",
            "clientele_id",
            "organization_id",
            "territory_id",
            "language",
            "party_size",
            "answers",
            "under_14",
            "guardian_consent",
            "source",
            "created_at",
            "updated_at",
        ],
        registration_rows,
    )
    ends = {e["id"]: e for e in events}
    past = [
        r
        for r in await Registration.filter(status="confirmed").values("id", "event_id")
        if ends[r["event_id"]]["ends_at"] < now
    ]
    checkins = []
    for registration in rng.sample(past, min(len(past), CHECKINS)):
        event = ends[registration["event_id"]]
        first = event["starts_at"].astimezone(TZ).date()
        last = event["ends_at"].astimezone(TZ).date()
        days = [first] if last == first or rng.random() < 0.5 else [first, last]
        for day in days:
            if len(checkins) < CHECKINS:
                checkins.append(
                    (
                        event["id"],
                        registration["id"],
                        day,
                        f"{registration['id']}:{day}",
                        event["starts_at"].astimezone(UTC),
                        "scan",
                        "",
                        now,
                    )
                )
    await _insert(
        "registrations_checkin",
        [
            "event_id",
            "registration_id",
            "day",
            "active_key",
            "checked_in_at",
            "method",
            "volunteer",
            "changed_at",
        ],
        checkins,
    )
    from tortoise import connections

    if connections.get("default").capabilities.dialect == "postgres":
        # What autovacuum does after a bulk load; a live database has its statistics.
        await connections.get("default").execute_script("ANALYZE")
    user = await User.create(
        email=ADMIN, password_hash=hash_password(PASSWORD), role=Role.ADMIN, full_name="Bench"
    )
    _token, raw = await create_token(Principal.system("bench"), user, "bench")
    counts = (
        await Event.all().count(),
        await Registration.all().count(),
        len(checkins),
    )
    print(
        f"Données : {counts[0]} événements, {counts[1]} inscriptions, {counts[2]} présences "
        f"en {time.perf_counter() - started:.0f} s"
    )
    return raw


async def bare_sql(settings: Settings, runs: int) -> float:
    """Median ms of the report's statement run directly with the driver."""
    from tortoise import connections

    from core.settings import use_time_zone
    from reports import participation_sql as q
    from reports.participation import (
        POSTGRES_SETTINGS,
        ParticipationFilters,
        _month_range,
        _where,
    )

    await init_orm(settings)
    use_time_zone("America/Toronto")
    filters = ParticipationFilters(date_from=date(2026, 1, 1), date_to=date(2026, 12, 31))
    where = await _where(filters)
    dialect = connections.get("default").capabilities.dialect
    sql, params = q.build(
        ("clientele", "territory"), where, datetime.now(UTC), await _month_range(filters), dialect
    )
    await close_orm()
    times = []
    if dialect == "postgres":
        import asyncpg

        url = settings.database_url.replace("postgres://", "postgresql://", 1)
        conn = await asyncpg.connect(url)

        async def once() -> None:
            # As the report runs it: its transaction, with its SET LOCAL settings.
            async with conn.transaction():
                await conn.execute(POSTGRES_SETTINGS)
                await conn.fetch(statement, *params)

        try:
            statement = q.numbered(sql, "postgres")
            for _ in range(5):
                await once()
            for _ in range(runs):
                start = time.perf_counter()
                await once()
                times.append(time.perf_counter() - start)
        finally:
            await conn.close()
    else:
        path = settings.database_url[len("sqlite://") :].split("?")[0]
        values = [p.isoformat(" ") if isinstance(p, datetime) else p for p in params]
        db = sqlite3.connect(path)
        try:
            for _ in range(5):
                db.execute(sql, values).fetchall()
            for _ in range(runs):
                start = time.perf_counter()
                db.execute(sql, values).fetchall()
                times.append(time.perf_counter() - start)
        finally:
            db.close()
    return statistics.median(times) * 1000


def wait_ready(base: str, proc: subprocess.Popen, log: Path) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError(log.read_text())
        try:
            with urllib.request.urlopen(base + "/api/v1/health", timeout=1) as r:  # noqa: S310
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("le serveur n'a pas démarré :\n" + log.read_text())


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank below) of `values`."""
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


async def timed(
    session: aiohttp.ClientSession, url: str, runs: int, headers: dict[str, str] | None = None
) -> dict[str, float]:
    latencies = []
    for _ in range(5):
        async with session.get(url, headers=headers) as answer:
            await answer.read()
            if answer.status != 200:
                raise RuntimeError(f"{url} → {answer.status}")
    started = time.perf_counter()
    for _ in range(runs):
        start = time.perf_counter()
        async with session.get(url, headers=headers) as answer:
            await answer.read()
        latencies.append(time.perf_counter() - start)
    wall = time.perf_counter() - started
    return {
        "median_ms": statistics.median(latencies) * 1000,
        "p95_ms": p95(latencies) * 1000,
        "rps": runs / wall,
    }


async def drive(base: str, token: str, runs: int) -> tuple[dict[str, dict[str, float]], list[str]]:
    notes: list[str] = []
    results: dict[str, dict[str, float]] = {}
    auth = {"Authorization": f"Bearer {token}"}
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=aiohttp.ClientTimeout(60)) as s:
        results["health"] = await timed(s, base + "/api/v1/health", max(runs, 200))
        results["report"] = await timed(s, base + REPORT_PATH, runs, auth)
        async with s.get(base + "/login") as page:
            match = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
        form = {"email": ADMIN, "password": PASSWORD, "csrf_token": match.group(1) if match else ""}
        async with s.post(base + "/login", data=form, allow_redirects=False) as answer:
            await answer.read()
        async with s.get(base + "/admin/rapports") as probe:
            await probe.read()
            status = probe.status
        if status == 200:
            results["dashboard"] = await timed(s, base + "/admin/rapports", runs)
        else:
            notes.append(f"`/admin/rapports` answered {status} on this branch: not measured.")
    return results, notes


def start_server(settings: Settings, root: Path = ROOT) -> tuple[subprocess.Popen, str, Any]:
    """`rassembleur serve` of the checkout `root` on `settings`' database; (process, base
    URL, its log file). The caller stops it (`stop_server`)."""
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=settings.database_url,
        VAR_DIR=str(settings.var_dir),
        RATE_LIMIT_ENABLED="false",
        RUN_WORKER_IN_SERVER="false",
        SECRET_KEY=settings.secret_key,
        BASE_URL=f"http://127.0.0.1:{port}",
    )
    command = [sys.executable, "-m", "cli", "serve", "--port", str(port), "--no-access-log"]
    log = Path(settings.var_dir) / "server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    out = log.open("w")
    server = subprocess.Popen(  # noqa: S603
        command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, server, log)
    except BaseException:
        stop_server(server, out)
        raise
    return server, base, out


def stop_server(server: subprocess.Popen, out: Any) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    out.close()


def run_database(label: str, settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    token = asyncio.run(seed(settings))
    asyncio.run(close_orm())
    load = os.getloadavg()[0]
    probe = cpu_probe_ms()
    server, base, out = start_server(settings)
    try:
        results, notes = asyncio.run(drive(base, token, args.runs))
    finally:
        stop_server(server, out)
    results["sql"] = {"median_ms": asyncio.run(bare_sql(settings, args.runs))}
    for name, r in results.items():
        extra = f"  p95 {r['p95_ms']:6.1f} ms  {r['rps']:6.0f} req/s" if "p95_ms" in r else ""
        print(f"[{label}] {name:10} médiane {r['median_ms']:6.1f} ms{extra}")
    print(f"[{label}] sonde CPU  {probe:6.0f} ms")
    return {"results": results, "notes": notes, "load": load, "probe": probe}


async def alternate(bases: dict[str, tuple[str, str]], runs: int) -> dict[str, list[float]]:
    """The report's request to each server in turn (the first of each round alternating),
    `runs` rounds after 5 warm-up ones: whatever the machine does meanwhile, both sides
    live through it. Latencies in ms per side."""
    times: dict[str, list[float]] = {side: [] for side in bases}
    sides = list(bases)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(60)) as session:
        for round_ in range(runs + 5):
            order = sides if round_ % 2 == 0 else sides[::-1]
            for side in order:
                base, token = bases[side]
                start = time.perf_counter()
                async with session.get(
                    base + REPORT_PATH, headers={"Authorization": f"Bearer {token}"}
                ) as answer:
                    await answer.read()
                    if answer.status != 200:
                        raise RuntimeError(f"{side}: {answer.status}")
                if round_ >= 5:
                    times[side].append((time.perf_counter() - start) * 1000)
    return times


def compare(args: argparse.Namespace, tmp: Path, common: dict[str, Any]) -> None:
    """--baseline DIR: the report in two checkouts at once (DIR, an earlier commit with this
    script copied in, and this one), each seeded by its own code into its own database,
    their requests alternated (`alternate`)."""
    baseline = Path(args.baseline).resolve()
    databases = [] if args.no_sqlite else ["sqlite"]
    if not args.no_postgres and asyncio.run(reset_postgres(args.postgres_db, drop_only=True)):
        databases.append("postgres")
    lines = []
    for database in databases:
        servers: dict[str, tuple[subprocess.Popen, str, Any]] = {}
        bases: dict[str, tuple[str, str]] = {}
        try:
            for side, root in (("before", baseline), ("after", ROOT)):
                out = tmp / f"{database}-{side}.json"
                subprocess.run(  # noqa: S603 - the script of each checkout
                    [
                        sys.executable,
                        str(root / "bench" / "reports.py"),
                        "--one",
                        database,
                        "--seed-only",
                        "--json",
                        str(out),
                        "--postgres-db",
                        f"{args.postgres_db}_{side}",
                    ],
                    cwd=root,
                    check=True,
                )
                seeded = json.loads(out.read_text())
                settings = Settings(
                    database_url=seeded["url"], **(common | {"var_dir": tmp / side / database})
                )
                servers[side] = start_server(settings, root)
                bases[side] = (servers[side][1], seeded["token"])
            load = os.getloadavg()[0]
            probe = cpu_probe_ms()
            times = asyncio.run(alternate(bases, args.runs))
        finally:
            for server, _base, log in servers.values():
                stop_server(server, log)
            if database == "postgres":
                for side in ("before", "after"):
                    asyncio.run(reset_postgres(f"{args.postgres_db}_{side}", drop_only=True))
        before, after = (statistics.median(times[side]) for side in ("before", "after"))
        print(
            f"[{database}] avant {before:6.1f} ms  après {after:6.1f} ms  "
            f"({after / before - 1:+.0%}; sonde CPU {probe:.0f} ms, charge {load:.1f})"
        )
        lines.append(
            f"| {database} | {load:.1f} | {probe:.0f} ms | {before:.1f} ms | {after:.1f} ms | "
            f"{after / before - 1:+.0%} | {p95(times['before']):.1f} / "
            f"{p95(times['after']):.1f} ms |"
        )
    if args.no_append or not lines:
        return
    commit = subprocess.run(  # noqa: S603, S607
        ["git", "-C", str(baseline), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = [
        "",
        f"## Reports: participation before ({commit}) / after, requests alternated — {stamp}",
        "",
        f"- Machine: {machine(with_load=True)}.",
        f"- Command: `.venv/bin/python bench/reports.py --baseline <checkout of {commit}> "
        f"--runs {args.runs}` (this script copied into that checkout). Each side seeded by "
        "its own code (same data), its own server; the report's request sent to one then "
        f"the other, the first alternating, {args.runs} rounds after 5 warm-up ones.",
        "",
        "| database | load | CPU probe | report median before | after | change | "
        "p95 before / after |",
        "|---|---|---|---|---|---|---|",
        *lines,
        "",
    ]
    with RESULTS.open("a") as fh:
        fh.write("\n".join(section))
    print(f"Résultats ajoutés à {RESULTS.relative_to(ROOT)}.")


def append_results(runs: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "",
        f"## Reports: participation by clientele × participant MRC — {stamp}",
        "",
        f"- Machine: {machine(with_load=True)}. Shared with other helpers' work in parallel "
        "(load average shown per database).",
        f"- Command: `.venv/bin/python bench/reports.py --runs {args.runs}` (PostgreSQL in its "
        "own database). Data: 1,000 events over 2025–2026 (+20 editions), 30,000 people, "
        "100,000 registrations, 60,000 check-ins, bulk-inserted; server `python -m cli serve "
        "--no-access-log` (one uvicorn process, RATE_LIMIT_ENABLED=false); client aiohttp, "
        f"one request at a time, {args.runs} timed requests after 5 warm-up ones.",
        f"- Request: `GET {REPORT_PATH}` (bearer token). Bare SQL: the same statement and "
        "values run with the driver (sqlite3 / asyncpg) on the same database.",
        "- Targets: report median < 150 ms (SQLite), < 100 ms (PostgreSQL); dashboard < 500 ms.",
        "- CPU probe: median time of a fixed pure-Python loop (10^7 additions) just before the "
        "server starts (`bench/_common.cpu_probe_ms`): the machine's speed at that moment, to "
        "compare sittings (higher is slower).",
        "",
        "| database | load | CPU probe | report median | report p95 | bare SQL median (share "
        "of report) | dashboard median / p95 | health median | report req/s (share of health) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, run in runs.items():
        r = run["results"]
        report, health, sql = r["report"], r["health"], r["sql"]
        dashboard = r.get("dashboard")
        dash = f"{dashboard['median_ms']:.0f} / {dashboard['p95_ms']:.0f} ms" if dashboard else "—"
        lines.append(
            f"| {label} | {run['load']:.1f} | {run.get('probe', 0):.0f} ms | "
            f"{report['median_ms']:.1f} ms | "
            f"{report['p95_ms']:.1f} ms | {sql['median_ms']:.1f} ms "
            f"({sql['median_ms'] / report['median_ms']:.0%}) | {dash} | "
            f"{health['median_ms']:.1f} ms | {report['rps']:.1f} "
            f"({report['rps'] / health['rps']:.1%}) |"
        )
    for run in runs.values():
        lines += [f"- Note: {note}" for note in run["notes"] if f"- Note: {note}" not in lines]
    lines.append("")
    with RESULTS.open("a") as fh:
        fh.write("\n".join(lines))
    print(f"Résultats ajoutés à {RESULTS.relative_to(ROOT)}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--postgres-db", default="bench_r2")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-append", action="store_true")
    parser.add_argument("--one", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--baseline",
        help="checkout of an earlier commit (this script copied in): its report and this "
        "one's, requests alternated",
    )
    args = parser.parse_args()
    if args.runs < 30:
        parser.error("--runs: at least 30")
    runs: dict[str, dict[str, Any]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="rassembleur-bench-reports-"))
    common = {
        "env": "development",
        "secret_key": "bench-" + "x" * 40,
        "var_dir": tmp / "var",
        "run_worker_in_server": False,
    }
    if args.one:
        # One database per process: Tortoise does not switch backends within a process.
        if args.one == "sqlite":
            url = f"sqlite://{tmp}/bench.sqlite3"
        else:
            url = asyncio.run(reset_postgres(args.postgres_db)) or ""
        if args.seed_only:
            token = asyncio.run(seed(Settings(database_url=url, **common)))
            Path(args.json).write_text(json.dumps({"url": url, "token": token}))
            sys.stdout.flush()
            os._exit(0)
        run = run_database(args.one, Settings(database_url=url, **common), args)
        if args.one == "postgres" and not args.keep:
            asyncio.run(reset_postgres(args.postgres_db, drop_only=True))
        Path(args.json).write_text(json.dumps(run))
        sys.stdout.flush()
        os._exit(0)  # a connection thread left by the ORM's loops would keep it alive
    if args.baseline:
        compare(args, tmp, common)
        return
    wanted = [("SQLite", "sqlite")] if not args.no_sqlite else []
    if not args.no_postgres and asyncio.run(reset_postgres(args.postgres_db, drop_only=True)):
        wanted.append(("PostgreSQL", "postgres"))
    for label, one in wanted:
        out = tmp / f"{one}.json"
        subprocess.run(  # noqa: S603 - this script
            [
                sys.executable,
                __file__,
                "--one",
                one,
                "--json",
                str(out),
                "--runs",
                str(args.runs),
                "--postgres-db",
                args.postgres_db,
            ],
            check=True,
        )
        runs[label] = json.loads(out.read_text())
    for label, run in runs.items():
        median = run["results"]["report"]["median_ms"]
        target = TARGETS["postgres" if label == "PostgreSQL" else "sqlite"]
        verdict = "OK" if median < target else "AU-DESSUS DE LA CIBLE"
        print(f"[{label}] rapport : médiane {median:.1f} ms (cible {target:.0f}) — {verdict}")
    if runs and not args.no_append:
        append_results(runs, args)


if __name__ == "__main__":
    main()
