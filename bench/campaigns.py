"""Campaign benchmark (not a test): a personalized 10,000-recipient invitation.

1. resolve + render + queue: the upkeep's `campaigns.sending.run_due_campaigns` turns the
   audience into recipients and outbox messages (one message per person: language,
   placeholders, personal unsubscribe and RSVP links, CSS inlined) — messages/s;
2. delivery: the real `MailWorker` (in this process) sends the outbox to an aiosmtpd sink
   on loopback — messages/s, and this process's peak RSS;
3. the ceiling: a raw aiosmtplib loop (same pool size, pre-built messages) to the same
   sink — messages/s; delivery is reported as a share of it.

SQLite in a temporary folder; PostgreSQL only with --postgres-url (its `public` schema is
dropped and re-created: give a database of your own). Prints the figures and, unless
--no-record, appends a section to bench/RESULTS.md.

    .venv/bin/python bench/campaigns.py [--recipients 10000] [--postgres-url URL] [--no-sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import psutil
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import free_port, machine  # noqa: E402

from core.db import close_orm, init_orm, run_migrations  # noqa: E402
from core.settings import Settings  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
POOL = 4


class Sink:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.total = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            self.total += 1
        return "250 OK"


async def reset_schema(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


async def seed(n: int) -> int:
    from campaigns import service
    from campaigns.audiences import create_audience
    from campaigns.schemas import AudienceIn, CampaignIn
    from core.auth import Principal
    from events.models import Event, EventKind, EventStatus
    from people.models import Clientele, Consent, Person
    from people.reference import ensure_reference_data

    await ensure_reference_data()
    system = Principal.system("bench")
    clientele = await Clientele.get(code="schools")
    for start in range(0, n, 1000):
        await Person.bulk_create(
            [
                Person(
                    first_name=f"Prénom{i}",
                    last_name=f"Nom{i}",
                    email=f"p{i}@exemple.qc.ca",
                    email_key=f"p{i}@exemple.qc.ca",
                    language="en" if i % 3 == 0 else "fr",
                    clientele=clientele,
                )
                for i in range(start, min(n, start + 1000))
            ]
        )
    ids = await Person.all().values_list("id", flat=True)
    for start in range(0, len(ids), 1000):
        await Consent.bulk_create(
            [
                Consent(person_id=pid, purpose="event_communications", granted=True, source="b")
                for pid in ids[start : start + 1000]
            ]
        )
    starts = datetime(2027, 2, 16, 14, 0, tzinfo=UTC)
    event = await Event.create(
        uid="bench-campaign",
        kind=EventKind.ANNUAL_LAUNCH,
        title="Lancement du portrait régional",
        starts_at=starts,
        ends_at=starts.replace(hour=16),
        venue_name="Salle Rolland-Brunelle",
        address="1000, boul. Manseau, Joliette",
        status=EventStatus.PUBLISHED,
    )
    audience = await create_audience(system, AudienceIn(name="Tous"))
    campaign = await service.create_campaign(
        system,
        CampaignIn(
            kind="invitation",
            name="Bench",
            audience_id=audience.id,
            event_id=event.id,
            subject_fr="{{ prenom }}, vous êtes invité·e : {{ evenement }}",
            body_fr="Bonjour {{ prenom }},\n\n## {{ evenement }}\n\nLe **{{ evenement_date }}**"
            ", {{ evenement_lieu }}.\n\n- portrait régional\n- ateliers\n\n"
            "[Répondre]({{ lien_rsvp }}) · [Détails]({{ lien_evenement }})",
            subject_en="{{ prenom }}, you are invited: {{ evenement }}",
            body_en="Hello {{ prenom }},\n\n## {{ evenement }}\n\n[Answer]({{ lien_rsvp }})",
        ),
    )
    await service.send(system, campaign.id)
    return campaign.id


async def raw_loop(port: int, count: int) -> float:
    """Messages/s of a bare aiosmtplib loop: POOL connections, pre-built messages."""
    import aiosmtplib

    message = EmailMessage()
    message["From"] = "bench@exemple.qc.ca"
    message["Subject"] = "Essai"
    message.set_content("x" * 2000)
    data = message.as_bytes()
    per = count // POOL

    async def lane(k: int) -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
        await client.connect()
        for i in range(per):
            await client.sendmail("bench@exemple.qc.ca", [f"r{k}-{i}@exemple.qc.ca"], data)
        await client.quit()

    start = time.perf_counter()
    await asyncio.gather(*(lane(k) for k in range(POOL)))
    return per * POOL / (time.perf_counter() - start)


async def run_case(label: str, url: str, n: int) -> dict:
    from campaigns import sending
    from core.mail.worker import MailWorker
    from core.models import OutboundMessage

    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings = Settings(
        env="bench",
        database_url=url,
        secret_key="bench-" + "x" * 40,
        base_url="https://rassembleur.exemple.qc.ca",
        smtp_url=f"smtp://127.0.0.1:{port}",
        mail_batch_size=200,
        mail_pool_size=POOL,
        run_worker_in_server=False,
    )
    if url.startswith("postgres"):
        await reset_schema(url)
    await run_migrations(settings)
    await close_orm()
    await init_orm(settings)
    process = psutil.Process()
    try:
        await seed(n)
        start = time.perf_counter()
        queued = await sending.run_due_campaigns(settings)
        queue_seconds = time.perf_counter() - start
        assert queued == n, queued
        assert await OutboundMessage.all().count() == n
        worker = MailWorker(settings)
        peak = process.memory_info().rss
        start = time.perf_counter()
        try:
            while await worker.run_once():
                peak = max(peak, process.memory_info().rss)
        finally:
            await worker.close()
        send_seconds = time.perf_counter() - start
        assert sink.total == n, sink.total
        raw = await raw_loop(port, 2000)
    finally:
        await close_orm()
        controller.stop()
    result = {
        "label": label,
        "n": n,
        "queue_rate": n / queue_seconds,
        "send_rate": n / send_seconds,
        "raw_rate": raw,
        "rss_mb": peak / 2**20,
    }
    print(
        f"{label}: {n} messages résolus, rendus et mis en file à {result['queue_rate']:.0f}/s; "
        f"livrés à {result['send_rate']:.0f}/s ({result['send_rate'] / raw:.0%} d'une boucle "
        f"aiosmtplib brute à {raw:.0f}/s); RSS max {result['rss_mb']:.0f} Mo"
    )
    return result


def record(results: list[dict], args: argparse.Namespace) -> None:
    lines = [
        "",
        f"## Campaigns: {args.recipients}-recipient personalized invitation — "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"- Machine: {machine(with_load=True)}.",
        f"- Command: `.venv/bin/python bench/campaigns.py --recipients {args.recipients}"
        + (" --postgres-url <own database>" if args.postgres_url else "")
        + ("" if args.sqlite else " --no-sqlite")
        + "` (in-process: the upkeep's queuing, then the real MailWorker, pool "
        f"{POOL}, batches of 200, to an aiosmtpd sink in a thread of the same process).",
        "- Ceiling: a raw aiosmtplib loop (same pool size, 2,000 pre-built messages) to the "
        "same sink, measured in the same run.",
        "",
        "| database | resolve + render + queue | delivered | share of raw aiosmtplib | peak RSS |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['label']} | {r['queue_rate']:.0f} msg/s | {r['send_rate']:.0f} msg/s | "
            f"{r['send_rate'] / r['raw_rate']:.0%} (raw {r['raw_rate']:.0f}/s) | "
            f"{r['rss_mb']:.0f} MB |"
        )
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--postgres-url", default="")
    parser.add_argument("--no-sqlite", dest="sqlite", action="store_false")
    parser.add_argument("--no-record", dest="record", action="store_false")
    parser.add_argument("--case", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:  # one database per process (module-level SQL caches follow the dialect)
        from core.db import load_packages

        with tempfile.TemporaryDirectory(prefix="rassembleur-bench-campaigns-") as tmp:
            url = f"sqlite://{tmp}/b.sqlite3" if args.case == "sqlite" else args.postgres_url
            load_packages(Settings(env="bench", database_url=url))
            label = "SQLite" if args.case == "sqlite" else "PostgreSQL"
            print(json.dumps(asyncio.run(run_case(label, url, args.recipients))))
        return
    results = []
    cases = (["sqlite"] if args.sqlite else []) + (["postgres"] if args.postgres_url else [])
    for case in cases:
        command = [sys.executable, __file__, "--case", case, "--recipients", str(args.recipients)]
        if args.postgres_url:
            command += ["--postgres-url", args.postgres_url]
        done = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
        print(done.stdout.strip().splitlines()[-2])
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    if args.record and results:
        record(results, args)


if __name__ == "__main__":
    main()
