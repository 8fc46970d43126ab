"""Registration rush benchmark (not a test).

A popular event opens: 1,000 different people register at once through the JSON API
(`POST /api/v1/events/{id}/registrations`) from 50 concurrent aiohttp clients, against
`rassembleur serve` (one uvicorn process, as subprocess) on a fresh database — SQLite,
then PostgreSQL when reachable (database `rassembleur_bench_rush`, created and dropped).

The event: capacity 600 (heads), waitlist on, three target clienteles, one custom
question. Every request registers a distinct person (party size 1) with an answer and a
consent, so each one goes through the whole `registrations.service.register` path and
queues its e-mail (QR PNG inline + ICS attached for confirmed registrations) in the
outbox, in the same transaction.

Checks (printed; a failure exits non-zero): every request answered 201; confirmed heads
== min(capacity, requests) == `Event.seats_taken` (zero oversell); the others waitlisted
with unique ranks (positions returned within 1..N; how many distinct is reported); one
queued message per registration, with the QR and ICS attachments on every confirmation,
and the QR of one of them decodes (zxing-cpp).

Also measures `GET /api/v1/health` with the same client and concurrency (the ceiling).
Prints the figures and appends a dated section to bench/RESULTS.md.

    .venv/bin/python bench/registration_rush.py [--requests 1000] [--concurrency 50]
        [--capacity 600] [--workers 1] [--no-postgres] [--no-sqlite] [--no-append] [--label TEXT]
"""

from __future__ import annotations

import argparse
import asyncio
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

from _common import free_port, machine, reset_postgres  # noqa: E402 - bench/ is on sys.path as a script

from core.db import close_orm, init_orm, run_migrations  # noqa: E402
from core.settings import Settings  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
PG_BENCH_DB = "rassembleur_bench_rush"
SECRET = "bench-" + "x" * 40
TARGET_RPS = 400.0
CLIENTELES = ["youth", "schools", "society"]


def bench_settings(database_url: str, var_dir: Path) -> Settings:
    return Settings(
        env="development",
        database_url=database_url,
        secret_key=SECRET,
        var_dir=var_dir,
        run_worker_in_server=False,
    )


async def prepare(settings: Settings, capacity: int) -> tuple[int, str]:
    """Migrate, load reference data, create the published event and its question."""
    from events.models import AttendanceMode, Event, EventKind, EventStatus, Visibility
    from people.models import Clientele, Territory
    from people.reference import ensure_reference_data
    from registrations.models import Question, QuestionKind

    await run_migrations(settings)
    await close_orm()
    await init_orm(settings)
    try:
        await ensure_reference_data()
        territory = await Territory.get(code="2461")
        starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=20)
        event = await Event.create(
            uid="bench-rush@rassembleur",
            kind=EventKind.REGIONAL_EVENT,
            title="Lancement du portrait régional — salle comble",
            description="Le lancement que toute la région attend.",
            starts_at=starts,
            ends_at=starts + timedelta(hours=3),
            mode=AttendanceMode.IN_PERSON,
            venue_name="Cégep régional de Lanaudière",
            address="20, rue Saint-Charles-Borromée Sud, Joliette",
            territory=territory,
            capacity=capacity,
            waitlist=True,
            status=EventStatus.PUBLISHED,
            visibility=Visibility.PUBLIC,
            published_at=datetime.now(UTC),
        )
        await event.clienteles.add(*await Clientele.filter(code__in=CLIENTELES))
        question = await Question.create(
            event=event,
            kind=QuestionKind.SHORT_TEXT,
            label="Restrictions alimentaires",
            required=False,
            position=0,
        )
        return event.id, str(question.id)
    finally:
        await close_orm()


async def verify(settings: Settings, event_id: int, requests: int, capacity: int) -> dict:
    """What the database says after the rush (counts, oversell, ranks, outbox)."""
    from core.models import OutboundMessage
    from events.models import Event
    from registrations.models import Registration, RegistrationStatus

    await init_orm(settings)
    try:
        event = await Event.get(id=event_id)
        rows = await Registration.filter(event_id=event_id).values(
            "id", "status", "party_size", "waitlist_rank"
        )
        confirmed = [r for r in rows if r["status"] == RegistrationStatus.CONFIRMED]
        waitlisted = [r for r in rows if r["status"] == RegistrationStatus.WAITLISTED]
        ranks = [r["waitlist_rank"] for r in waitlisted]
        messages = await OutboundMessage.all().values("dedupe_key", "attachments")
        confirmations = [
            m for m in messages if m["dedupe_key"].startswith("registration_confirmed:")
        ]
        with_ticket = sum(
            1
            for m in confirmations
            if {a.get("filename") for a in (m["attachments"] or [])}
            >= {"billet.png", "evenement.ics"}
        )
        qr_ok = _qr_decodes(confirmations[0]["attachments"]) if confirmations else False
        heads = sum(r["party_size"] for r in confirmed)
        return {
            "registrations": len(rows),
            "confirmed": len(confirmed),
            "confirmed_heads": heads,
            "seats_taken": event.seats_taken,
            "waitlisted": len(waitlisted),
            "unique_ranks": len(set(ranks)) == len(ranks) and None not in ranks,
            "messages": len(messages),
            "confirmations": len(confirmations),
            "with_ticket": with_ticket,
            "qr_decodes": qr_ok,
            "expected_confirmed": min(capacity, requests),
        }
    finally:
        await close_orm()


def _qr_decodes(attachments: list[dict]) -> bool | None:
    """The inline QR of one queued confirmation decodes to a ticket payload (zxing-cpp)."""
    import io

    try:
        import zxingcpp
        from PIL import Image
    except ImportError:
        return None
    from core.mail.outbox import attachment_bytes

    png = next(a for a in attachments if a["filename"] == "billet.png")
    image = Image.open(io.BytesIO(attachment_bytes(png)))  # made as the worker makes it
    found = zxingcpp.read_barcodes(image)
    return bool(found) and found[0].text.startswith("RSB1:")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process, its threads and its live children
    (the uvicorn workers of `serve --workers N`), from Linux /proc."""

    def own(one: int) -> float:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    if not Path(f"/proc/{pid}").exists():
        return float("nan")
    return own(pid) + sum(cpu_seconds(child) for child in children)


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


def summarize(latencies: list[float], wall: float) -> dict:
    ordered = sorted(latencies)
    return {
        "median_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000,
        "max_ms": ordered[-1] * 1000,
        "rps": len(ordered) / wall,
        "wall_s": wall,
    }


async def run_workers(concurrency: int, jobs: list, one) -> float:
    queue: asyncio.Queue = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def worker() -> None:
        while True:
            try:
                job = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await one(job)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def drive(
    base: str, event_id: int, question_id: str, args: argparse.Namespace, tag: str, pid: int
) -> dict:
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        # The ceiling: the health probe, same client, same concurrency.
        health_latencies: list[float] = []
        health_errors = 0

        async def health(_n: int) -> None:
            nonlocal health_errors
            start = time.perf_counter()
            async with session.get(base + "/api/v1/health") as response:
                await response.read()
            health_latencies.append(time.perf_counter() - start)
            if response.status != 200:
                health_errors += 1

        await run_workers(args.concurrency, list(range(200)), health)  # warm-up
        health_latencies.clear()
        cpu = cpu_seconds(pid)
        wall = await run_workers(args.concurrency, list(range(args.health_requests)), health)
        ceiling = summarize(health_latencies, wall) | {"errors": health_errors}
        ceiling["cpu_ms"] = (cpu_seconds(pid) - cpu) * 1000 / args.health_requests

        # The rush.
        url = f"{base}/api/v1/events/{event_id}/registrations"
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        positions: list[int] = []
        confirmed_ids: list[str] = []
        failures: list[str] = []

        async def register(n: int) -> None:
            body = {
                "first_name": f"Personne{n}",
                "last_name": "Tremblay-Gagnon",
                "email": f"personne.{tag}.{n}@exemple.qc.ca",
                "clientele": CLIENTELES[n % len(CLIENTELES)],
                "organization": f"École secondaire n° {n % 40}",
                "territory": "2461",
                "language": "fr",
                "party_size": 1,
                "answers": {question_id: "Végétarien" if n % 3 else ""},
                "consents": ["event_communications"] if n % 2 else [],
            }
            start = time.perf_counter()
            async with session.post(url, json=body) as response:
                payload = await response.json(content_type=None)
            latencies.append(time.perf_counter() - start)
            statuses[response.status] = statuses.get(response.status, 0) + 1
            if response.status != 201:
                if len(failures) < 5:
                    failures.append(f"{response.status} {payload}")
                return
            if payload["status"] == "confirmed":
                confirmed_ids.append(payload["id"])
                if not (payload["ticket"] and payload["ticket"]["qr_payload"]):
                    failures.append(f"confirmed without ticket: {payload['id']}")
            elif payload["status"] == "waitlisted":
                positions.append(payload["waitlist_position"])

        cpu = cpu_seconds(pid)
        wall = await run_workers(args.concurrency, list(range(args.requests)), register)
        rush = summarize(latencies, wall)
        rush["cpu_ms"] = (cpu_seconds(pid) - cpu) * 1000 / args.requests
        rush["cpu_share"] = (cpu_seconds(pid) - cpu) / wall
    return {
        "ceiling": ceiling,
        "rush": rush,
        "statuses": statuses,
        "positions": positions,
        "confirmed_ids": confirmed_ids,
        "failures": failures,
    }


def run_case(label: str, database_url: str, args: argparse.Namespace, tmp: Path) -> dict:
    settings = bench_settings(database_url, tmp / "var")
    event_id, question_id = asyncio.run(prepare(settings, args.capacity))
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        VAR_DIR=str(tmp / "var"),
        RATE_LIMIT_ENABLED="false",
        RUN_WORKER_IN_SERVER="false",
        SECRET_KEY=SECRET,
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
        "--workers",
        str(args.workers),
    ]
    log = tmp / f"server-{label}.log"
    with log.open("w") as out:
        server = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base, server, log)
            profiler = None
            if args.profile:
                # py-spy (not a project dependency: pip install py-spy) samples the server
                # during the whole drive; folded stacks, one file per database.
                profiler = subprocess.Popen(  # noqa: S603
                    [
                        str(Path(sys.executable).parent / "py-spy"),
                        "record",
                        "--pid",
                        str(server.pid),
                        "--format",
                        "raw",
                        "--rate",
                        "200",
                        "--output",
                        f"{args.profile}-{label}.txt",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(1)
            try:
                result = asyncio.run(drive(base, event_id, question_id, args, label, server.pid))
            finally:
                if profiler is not None:
                    profiler.send_signal(signal.SIGINT)
                    profiler.wait(timeout=60)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
    result["db"] = asyncio.run(verify(settings, event_id, args.requests, args.capacity))
    result["server_command"] = f"DATABASE_URL={database_url} " + shlex.join(command[1:])
    return result


def check(result: dict, args: argparse.Namespace) -> list[str]:
    """Correctness problems of one run (empty when all is well)."""
    problems = list(result["failures"])
    db = result["db"]
    answered = sum(result["statuses"].values())
    if answered != args.requests:
        problems.append(f"{answered} réponses pour {args.requests} requêtes")
    if result["statuses"].get(201, 0) != args.requests:
        problems.append(f"statuts : {result['statuses']}")
    expected = db["expected_confirmed"]
    if not (db["confirmed_heads"] == expected == db["seats_taken"]):
        problems.append(
            f"survente ou sous-remplissage : {db['confirmed_heads']} personnes confirmées, "
            f"seats_taken {db['seats_taken']}, attendu {expected}"
        )
    if len(set(result["confirmed_ids"])) != expected:
        problems.append(f"{len(set(result['confirmed_ids']))} billets rendus, attendu {expected}")
    waiting = args.requests - expected
    if db["waitlisted"] != waiting or not db["unique_ranks"]:
        problems.append(
            f"liste d'attente : {db['waitlisted']} (rangs uniques : {db['unique_ranks']})"
        )
    # The position in each 201 answer is a snapshot taken after its own commit: on
    # PostgreSQL two registrations committing in the opposite order of their ranks may
    # both see the same count; the order itself (unique ranks, checked above) is exact.
    if len(result["positions"]) != waiting or not all(
        1 <= p <= waiting for p in result["positions"]
    ):
        problems.append(f"positions d'attente rendues hors de 1..{waiting}")
    if db["qr_decodes"] is False:
        problems.append("le code QR d'une confirmation en file ne se décode pas")
    if db["messages"] != args.requests or db["with_ticket"] != expected:
        problems.append(
            f"courriels : {db['messages']} en file, {db['with_ticket']} confirmations avec "
            f"QR + ICS (attendu {args.requests} et {expected})"
        )
    return problems


def report(label: str, result: dict, problems: list[str]) -> None:
    c, r, db = result["ceiling"], result["rush"], result["db"]
    print(
        f"[{label}] GET /api/v1/health : {c['rps']:.0f} req/s, médiane {c['median_ms']:.1f} ms, "
        f"p95 {c['p95_ms']:.1f} ms, CPU serveur {c['cpu_ms']:.2f} ms/requête"
    )
    print(
        f"[{label}] POST inscriptions : {r['rps']:.0f} inscriptions/s ({r['rps'] / c['rps']:.0%} "
        f"du plafond), médiane {r['median_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, "
        f"max {r['max_ms']:.0f} ms, {r['wall_s']:.2f} s au total; statuts {result['statuses']}; "
        f"CPU serveur {r['cpu_ms']:.2f} ms/inscription ({r['cpu_share']:.0%} d'un cœur)"
    )
    print(
        f"[{label}] base : {db['confirmed']} confirmées ({db['confirmed_heads']} personnes, "
        f"seats_taken {db['seats_taken']}), {db['waitlisted']} en attente, "
        f"{db['messages']} courriels en file dont {db['with_ticket']} avec QR + ICS"
    )
    verdict = "OK" if r["rps"] >= TARGET_RPS else "SOUS LA CIBLE"
    print(f"[{label}] cible {TARGET_RPS:.0f}/s : {verdict}")
    for problem in problems:
        print(f"[{label}] PROBLÈME : {problem}")


def append_results(runs: dict[str, dict], args: argparse.Namespace, command: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = "Inscriptions — ruée"
    if args.label:
        title += f" ({args.label})"
    lines = [
        "",
        f"## {title} — {stamp}",
        "",
        f"- Machine: {machine(with_load=True)}",
        f"- Command: `{command}`",
        f"- Scenario: one published event (capacity {args.capacity}, waitlist on, three "
        f"target clienteles, one custom question); {args.requests} "
        "`POST /api/v1/events/{id}/registrations` (JSON, distinct people, party size 1, an "
        f"answer and a consent) from {args.concurrency} concurrent aiohttp clients over "
        f"loopback against `python -m cli serve --no-access-log --workers {args.workers}` "
        f"({args.workers} uvicorn process{'es' if args.workers > 1 else ''}, "
        "RATE_LIMIT_ENABLED=false, RUN_WORKER_IN_SERVER=false) on a fresh database; each "
        "registration queues its e-mail (QR PNG inline + ICS attached when confirmed) in the "
        "same transaction. Ceiling: `GET /api/v1/health`, same client and concurrency.",
        f"- Target: >= {TARGET_RPS:.0f} registrations/s.",
        "",
        "| database | registrations/s | share of health ceiling | median | p95 | max "
        "| health req/s | answered (201) | confirmed heads / seats_taken / expected "
        "| waitlisted (positions) | e-mails queued (with QR + ICS) | checks |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, result in runs.items():
        c, r, db = result["ceiling"], result["rush"], result["db"]
        positions = result["positions"]
        span = f"{min(positions)}–{max(positions)}" if positions else "—"
        lines.append(
            f"| {label} | {r['rps']:.0f} | {r['rps'] / c['rps']:.0%} | {r['median_ms']:.0f} ms "
            f"| {r['p95_ms']:.0f} ms | {r['max_ms']:.0f} ms | {c['rps']:.0f} "
            f"| {sum(result['statuses'].values())} ({result['statuses'].get(201, 0)}) "
            f"| {db['confirmed_heads']} / {db['seats_taken']} / {db['expected_confirmed']} "
            f"| {db['waitlisted']} ({span}, {len(set(positions))} distinct) "
            f"| {db['messages']} ({db['with_ticket']}) "
            f"| {'OK' if not result['problems'] else '; '.join(result['problems'])} |"
        )
    for label, result in runs.items():
        lines.append(f"\n`{label}` server: `{result['server_command']}`")
    lines.append("")
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\nAppended by the scripts in `bench/`.\n")
    with RESULTS.open("a") as fh:
        fh.write("\n".join(lines))
    print(f"Résultats ajoutés à {RESULTS.relative_to(ROOT)}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--capacity", type=int, default=600)
    parser.add_argument("--health-requests", type=int, default=3000)
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn processes (`serve --workers N`)"
    )
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-append", action="store_true")
    parser.add_argument("--label", default="", help="a note for the RESULTS.md heading")
    parser.add_argument(
        "--profile", metavar="PREFIX", help="record the server with py-spy to PREFIX-<db>.txt"
    )
    parser.add_argument("--case", nargs=3, help=argparse.SUPPRESS)  # label url folder (child)
    args = parser.parse_args()
    if args.case:
        # One database per process: Tortoise keeps per-dialect state between inits.
        label, url, folder = args.case
        result = run_case(label, url, args, Path(folder))
        Path(folder, f"result-{label}.json").write_text(json.dumps(result))
        return
    command = ".venv/bin/python " + shlex.join(["bench/registration_rush.py", *sys.argv[1:]])

    runs: dict[str, dict] = {}
    failed = False
    with tempfile.TemporaryDirectory(prefix="rassembleur-bench-rush-") as folder:
        tmp = Path(folder)
        cases: list[tuple[str, str]] = []
        if not args.no_sqlite:
            cases.append(("SQLite", f"sqlite://{tmp}/bench.sqlite3"))
        if not args.no_postgres:
            url = asyncio.run(reset_postgres(PG_BENCH_DB))
            if url:
                cases.append(("PostgreSQL", url))
        try:
            for label, url in cases:
                subprocess.run(  # noqa: S603
                    [sys.executable, __file__, *sys.argv[1:], "--case", label, url, folder],
                    check=True,
                )
                result = json.loads((tmp / f"result-{label}.json").read_text())
                result["statuses"] = {int(k): v for k, v in result["statuses"].items()}
                result["problems"] = check(result, args)
                failed = failed or bool(result["problems"])
                report(label, result, result["problems"])
                runs[label] = result
        finally:
            if any(label == "PostgreSQL" for label, _url in cases):
                asyncio.run(reset_postgres(PG_BENCH_DB, drop_only=True))
    if runs and not args.no_append:
        append_results(runs, args, command)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
