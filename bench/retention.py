"""Retention benchmark (not a test): how long the first run takes on years of data, and
whether its memory stays bounded.

Seeds a fresh database with `--registrations` registrations (`--per-event` per event) to
events that ended 30 months ago, one person each, a third checked in, one stored message
each; half of the people gave a newsletter consent (they stay: their registrations are
moved onto anonymous people), the other half have no activity nor consent (they are
erased through the erasure path). Then runs `rassembleur retention` — on SQLite one
process, on PostgreSQL `--processes` processes at once (FOR UPDATE SKIP LOCKED) — and
reports wall time, rows per second, each process's peak RSS (psutil, sampled every
20 ms), and checks: every registration anonymized exactly once (sum of the audit
entries), counts by clientele/territory/status and check-ins unchanged, a second run
changes nothing.

PostgreSQL: the helper's own database (`--pg-url`, default test_e), its schema reset.

    .venv/bin/python bench/retention.py [--registrations 20000] [--per-event 200]
        [--processes 2] [--no-postgres] [--no-append]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import machine  # noqa: E402 - bench/ is on sys.path as a script

from core.db import close_orm, init_orm, run_migrations  # noqa: E402
from core.settings import Settings  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
SECRET = "bench-" + "x" * 40


async def _reset_pg(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


async def seed(settings: Settings, registrations: int, per_event: int) -> dict[str, Any]:
    from core.models import MessageStatus, OutboundMessage
    from events.models import Event, EventKind, EventStatus
    from people.models import Clientele, Consent, ConsentPurpose, Person, Territory
    from people.reference import ensure_reference_data
    from registrations.models import CheckIn, Registration, RegistrationStatus

    await run_migrations(settings)
    await close_orm()
    await init_orm(settings)
    await ensure_reference_data()
    clienteles = [c.id for c in await Clientele.all()]
    territories = [t.id for t in await Territory.filter(kind="mrc").limit(10)]
    ended = datetime.now(UTC) - timedelta(days=30 * 31)
    events = []
    for n in range((registrations + per_event - 1) // per_event):
        events.append(
            Event(
                uid=f"bench-{n}@rassembleur",
                kind=EventKind.REGIONAL_EVENT,
                title=f"Colloque {n}",
                starts_at=ended - timedelta(hours=3, days=n),
                ends_at=ended - timedelta(days=n),
                status=EventStatus.COMPLETED,
            )
        )
    await Event.bulk_create(events, batch_size=500)
    event_ids = [e.id for e in await Event.all().order_by("id")]
    people = [
        Person(
            first_name=f"Prénom{n}",
            last_name=f"Nom{n}",
            email=f"p{n}@exemple.qc.ca",
            email_key=f"p{n}@exemple.qc.ca",
            phone="450 555-0199",
            clientele_id=clienteles[n % len(clienteles)],
            territory_id=territories[n % len(territories)],
        )
        for n in range(registrations)
    ]
    await Person.bulk_create(people, batch_size=1000)
    person_ids = [p["id"] for p in await Person.all().order_by("id").values("id")]
    old = ended - timedelta(days=60)
    await Person.all().update(created_at=old, updated_at=old)
    await Consent.bulk_create(
        [
            Consent(person_id=pid, purpose=ConsentPurpose.NEWSLETTER, granted=True, source="b")
            for pid in person_ids[::2]
        ],
        batch_size=1000,
    )
    await Registration.bulk_create(
        [
            Registration(
                public_id=secrets.token_hex(10),
                ticket_code=secrets.token_hex(4).upper(),
                event_id=event_ids[n // per_event],
                person_id=pid,
                status=RegistrationStatus.CONFIRMED,
                clientele_id=clienteles[n % len(clienteles)],
                territory_id=territories[n % len(territories)],
                party_size=1 + n % 3,
                answers={"1": f"réponse personnelle {n}"},
            )
            for n, pid in enumerate(person_ids)
        ],
        batch_size=1000,
    )
    regs = await Registration.all().order_by("id").values("id", "event_id", "person_id")
    await CheckIn.bulk_create(
        [
            CheckIn(
                event_id=r["event_id"],
                registration_id=r["id"],
                day=ended.date(),
                active_key=f"{r['id']}:{ended.date()}",
                checked_in_at=ended - timedelta(hours=2),
                volunteer="Bénévole",
            )
            for r in regs[::3]
        ],
        batch_size=1000,
    )
    await OutboundMessage.bulk_create(
        [
            OutboundMessage(
                dedupe_key=f"bench:{r['id']}",
                message_id=f"<bench-{r['id']}@rassembleur>",
                to_address=f"p{r['person_id']}@exemple.qc.ca",
                subject="Votre inscription",
                text_body="Bonjour Prénom, voici votre billet.",
                status=MessageStatus.SENT,
                next_attempt_at=ended,
                person_id=r["person_id"],
                cause_type="registrations.Registration",
                cause_id=str(r["id"]),
            )
            for r in regs
        ],
        batch_size=1000,
    )
    counts = await _counts()
    await close_orm()
    return counts


async def _counts() -> dict[str, Any]:
    from registrations.models import CheckIn, Registration

    rows = await Registration.all().values_list(
        "clientele_id", "territory_id", "status", "party_size"
    )
    return {
        "registrations": sorted(rows),
        "checkins": sorted(await CheckIn.all().values_list("registration_id", "day")),
    }


def run_processes(url: str, processes: int) -> list[dict[str, Any]]:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET, "ENV": "development"}
    env["VAR_DIR"] = tempfile.mkdtemp(prefix="rassembleur-bench-retention-var-")
    started = time.perf_counter()
    procs = [
        subprocess.Popen(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "cli", "retention"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    peaks = [0] * processes
    ends: list[float | None] = [None] * processes
    handles = [psutil.Process(p.pid) for p in procs]
    while any(e is None for e in ends):
        for i, (proc, handle) in enumerate(zip(procs, handles, strict=True)):
            if ends[i] is not None:
                continue
            if proc.poll() is not None:
                ends[i] = time.perf_counter() - started
                continue
            try:
                peaks[i] = max(peaks[i], handle.memory_info().rss)
            except psutil.Error:
                pass
        time.sleep(0.02)
    results = []
    for i, proc in enumerate(procs):
        out, err = proc.communicate()
        results.append(
            {
                "rc": proc.returncode,
                "seconds": ends[i],
                "peak_rss_mb": peaks[i] / 1e6,
                "stdout": out.strip().splitlines()[-1:] if out else [],
                "stderr": err.strip().splitlines()[-3:] if proc.returncode else [],
                "progress_lines": sum("conservation :" in line for line in err.splitlines()),
            }
        )
    return results


async def verify(settings: Settings, before: dict[str, Any]) -> dict[str, Any]:
    from core.models import AuditEntry
    from people.models import Person
    from registrations.models import Registration

    await init_orm(settings)
    try:
        details = await AuditEntry.filter(action="retention.applied").values_list(
            "details", flat=True
        )
        return {
            "left": await Registration.filter(anonymized_at__isnull=True).count(),
            "audited": sum(d["registrations_anonymized"] for d in details),  # type: ignore[index]
            "people_erased": sum(d["people_erased"] for d in details),  # type: ignore[index]
            "same_counts": await _counts() == before,
            "named_left": await Person.filter(
                registrations__isnull=False, email_key__isnull=False
            ).count(),
        }
    finally:
        await close_orm()


def bench(label: str, url: str, registrations: int, per_event: int, processes: int) -> str:
    settings = Settings(env="test", database_url=url, secret_key=SECRET)
    before = asyncio.run(seed(settings, registrations, per_event))
    results = run_processes(url, processes)
    wall = max(r["seconds"] or 0 for r in results)
    check = asyncio.run(verify(settings, before))
    again = run_processes(url, 1)[0]
    print(label, json.dumps(results, ensure_ascii=False), json.dumps(check), again["stdout"])
    ok = all(r["rc"] == 0 for r in results) and check["left"] == 0 and check["same_counts"]
    ok = ok and check["audited"] == registrations and check["named_left"] == 0
    rss = ", ".join(f"{r['peak_rss_mb']:.0f}" for r in results)
    return (
        f"| {label} | {processes} | {registrations} | {wall:.1f} s | "
        f"{registrations / wall:.0f}/s | "
        f"{rss} MB | "
        f"{check['audited']} / {check['people_erased']} | "
        f"{'oui' if check['same_counts'] else 'NON'} | "
        f"{(again['stdout'] or ['?'])[0].split(' : ')[-1]} | {'ok' if ok else 'ÉCHEC'} |"
    )


def _row_in_own_process(label: str, url: str, args: argparse.Namespace, processes: int) -> str:
    """One database per process (Tortoise keeps per-dialect state between inits)."""
    result = subprocess.run(  # noqa: S603 - this script
        [
            sys.executable,
            __file__,
            "--only",
            label,
            "--url",
            url,
            "--registrations",
            str(args.registrations),
            "--per-event",
            str(args.per_event),
            "--processes",
            str(processes),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    print(result.stdout, result.stderr[-2000:] if result.returncode else "")
    rows = [line for line in result.stdout.splitlines() if line.startswith(f"| {label} |")]
    return rows[-1] if rows else f"| {label} | échec : voir la sortie | | | | | | | | ÉCHEC |"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--registrations", type=int, default=20000)
    parser.add_argument("--per-event", type=int, default=200)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/test_e")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-append", action="store_true")
    parser.add_argument("--only", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only:
        print(bench(args.only, args.url, args.registrations, args.per_event, args.processes))
        return 0
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="rassembleur-bench-retention-"))
    rows.append(_row_in_own_process("SQLite", f"sqlite://{tmp}/bench.sqlite3", args, 1))
    if not args.no_postgres:
        asyncio.run(_reset_pg(args.pg_url))
        rows.append(_row_in_own_process("PostgreSQL", args.pg_url, args, args.processes))
        asyncio.run(_reset_pg(args.pg_url))
    section = "\n".join(
        [
            f"\n## Retention — first run on 30-month-old data — "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n",
            f"- Machine: {machine(with_load=True)}",
            f"- Command: `.venv/bin/python bench/retention.py --registrations "
            f"{args.registrations} --per-event {args.per_event} --processes {args.processes}`",
            "- Data: one person per registration, a third checked in, one stored message each; "
            "half the people hold a newsletter consent (kept: registrations moved onto "
            "anonymous people), half without activity nor consent (erased). Runs: "
            "`rassembleur retention` as separate processes (batches of 200, one transaction "
            "each). Not an HTTP benchmark: no health ceiling applies.",
            "",
            "| database | processes | registrations | wall time | registrations/s | peak RSS "
            "per process | anonymized (audit) / people erased | counts unchanged | second run "
            "| checks |",
            "|---|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    print(section)
    if not args.no_append:
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write(section)
    return 0 if all(row.endswith("| ok |") for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
