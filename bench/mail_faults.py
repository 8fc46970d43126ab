"""Mail fault benchmark (not a test): the real worker process (`python -m cli worker`)
delivering to an aiosmtpd sink on loopback through two faults, on a fresh SQLite database
and on PostgreSQL when reachable (in its own database, never the test suite's).

1. Outage: messages are queued at a steady rate (`--rate` per second) the whole time; the
   sink is up for `--before` seconds, down (port closed: connection refused) for
   `--outage` seconds (300 in the recorded run), then up again until every message is
   delivered. Reports lost, duplicates, dead, failed, the most attempts any message
   used, the delay from the sink's return to its first message and to the last queued
   message delivered.
2. Crash: `--messages` are queued, the worker (sending `--send-rate` per second) is
   killed with SIGKILL (`kill -9`) in the middle of a batch, `--kills` times, each
   `--between` deliveries after the previous crash was recovered, and each time started
   again at once. Reports, per
   crash, the messages the killed worker held (claimed, not recorded), how many messages
   went twice, and the delay from the kill until the last of the held ones was
   delivered; then lost, duplicates and dead over the run.

Targets: 0 lost, at most 1 duplicate per crash, nothing dead, recovery under 30 s.

    .venv/bin/python bench/mail_faults.py [--outage 300] [--before 10] [--rate 5]
        [--messages 10000] [--kills 3] [--between 500] [--send-rate 100]
        [--batch-size 50] [--pool-size 2]
        [--no-sqlite] [--no-postgres] [--pg-database NAME] [--no-record]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import free_port, machine, reset_postgres  # noqa: E402 - bench/ is on sys.path as a script

from core.db import close_orm, init_orm, run_migrations  # noqa: E402
from core.settings import Settings  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
PG_BENCH_DB = "rassembleur_bench_mail_faults"
SECRET_KEY = "bench-mail-faults-" + "x" * 40
MESSAGE_ID = re.compile(rb"^Message-ID: (<[^>\r\n]+>)", re.MULTILINE | re.IGNORECASE)


class Sink:
    """Counts each Message-ID received and when it was first and last received."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count: Counter[str] = Counter()
        self.first: dict[str, float] = {}
        self.last_at = 0.0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        match = MESSAGE_ID.search(envelope.content)
        now = time.monotonic()
        with self.lock:
            if match:
                key = match.group(1).decode()
                self.count[key] += 1
                self.first.setdefault(key, now)
            self.last_at = now
        return "250 OK"

    def snapshot(self) -> tuple[int, int]:
        """(distinct messages, total received)"""
        with self.lock:
            return len(self.count), sum(self.count.values())

    def received(self, ids: set[str]) -> dict[str, float]:
        with self.lock:
            return {k: self.first[k] for k in ids if k in self.first}


class SMTPSink:
    def __init__(self) -> None:
        self.port = free_port()
        self.sink = Sink()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def settings_for(database_url: str, tmp: Path) -> Settings:
    return Settings(
        env="development",
        database_url=database_url,
        secret_key=SECRET_KEY,
        var_dir=tmp / "var",
        run_worker_in_server=False,
    )


class Worker:
    """`python -m cli worker` as a child process."""

    def __init__(
        self,
        database_url: str,
        smtp_port: int,
        args: argparse.Namespace,
        tmp: Path,
        send_rate: float = 0,
    ) -> None:
        self.env = dict(
            os.environ,
            DATABASE_URL=database_url,
            SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
            MAIL_BATCH_SIZE=str(args.batch_size),
            MAIL_POOL_SIZE=str(args.pool_size),
            ENV="development",
            SECRET_KEY=SECRET_KEY,
            VAR_DIR=str(tmp / "var"),
            RUN_WORKER_IN_SERVER="false",
            MAIL_RATE_PER_SECOND=str(send_rate),
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.log = tmp / "worker.log"

    @property
    def command(self) -> str:
        shown = ("SMTP_URL", "MAIL_BATCH_SIZE", "MAIL_POOL_SIZE", "MAIL_RATE_PER_SECOND")
        return shlex.join([f"{k}={self.env[k]}" for k in shown] + ["python", "-m", "cli", "worker"])

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "cli", "worker"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


async def queue(prefix: str, first: int, count: int, settings: Settings) -> list[str]:
    """Queue `count` messages; their Message-IDs."""
    from tortoise.transactions import in_transaction

    from core.mail.outbox import queue_mail

    ids = []
    async with in_transaction():
        for i in range(first, first + count):
            message = await queue_mail(
                to_address=f"{prefix}{i}@exemple.qc.ca",
                to_name=f"Personne {i}",
                template="test",
                context={"queued_at": datetime.now(UTC)},
                dedupe_key=f"{prefix}:{i}",
                settings=settings,
            )
            ids.append(message.message_id)
    return ids


async def outbox_summary() -> dict[str, Any]:
    from core.models import OutboundMessage

    rows = await OutboundMessage.all().values_list("status", "attempts")
    counts = Counter(str(status) for status, _attempts in rows)
    waiting = [a for status, a in rows if str(status) != "sent"]
    return {
        "counts": dict(counts),
        "max_attempts": max((a for _s, a in rows), default=0),
        "max_attempts_unsent": max(waiting, default=0),
    }


async def wait_for(condition, within: float, what: str, worker: Worker | None = None) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        if worker is not None and not worker.alive():
            raise RuntimeError(f"le travailleur s'est arrêté ({what}); voir {worker.log}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"délai dépassé : {what}")
        await asyncio.sleep(0.05)


async def outage_case(settings: Settings, args: argparse.Namespace, tmp: Path) -> dict:
    smtp = SMTPSink()
    smtp.start()
    worker = Worker(settings.database_url, smtp.port, args, tmp)
    worker.start()
    queued: list[str] = []
    period = 1 / args.rate

    async def produce_for(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            queued.extend(await queue("panne", len(queued), 1, settings))
            await asyncio.sleep(period)

    try:
        await produce_for(args.before)
        smtp.stop()
        down_at = time.monotonic()
        print(f"  serveur SMTP arrêté pour {args.outage:.0f} s", flush=True)
        await produce_for(args.outage)
        during = await outbox_summary()
        smtp.start()
        up_at = time.monotonic()
        print(f"  serveur SMTP relancé après {up_at - down_at:.0f} s", flush=True)
        backlog = set(queued)

        async def first_after_restart() -> bool:
            return smtp.sink.last_at > up_at

        async def backlog_delivered() -> bool:
            return len(smtp.sink.received(backlog)) == len(backlog)

        await wait_for(first_after_restart, 120, "premier message après la reprise", worker)
        first_delay = smtp.sink.last_at - up_at
        await wait_for(backlog_delivered, args.timeout, "file rattrapée", worker)
        drained = max(smtp.sink.received(backlog).values()) - up_at
        await asyncio.sleep(2)  # let the worker record the last outcomes
        summary = await outbox_summary()
    finally:
        worker.stop()
        smtp.stop()
    distinct, total = smtp.sink.snapshot()
    counts = summary["counts"]
    return {
        "queued": len(queued),
        "queued_during_outage": len(queued) - int(args.before * args.rate),
        "delivered": distinct,
        "lost": len(set(queued) - set(smtp.sink.count)),
        "duplicates": total - distinct,
        "dead": counts.get("dead", 0),
        "failed": counts.get("failed", 0),
        "dead_during_outage": during["counts"].get("dead", 0),
        "max_attempts_during_outage": during["max_attempts_unsent"],
        "max_attempts": summary["max_attempts"],
        "first_after_restart_s": first_delay,
        "backlog_drained_s": drained,
        "command": worker.command,
    }


async def crash_case(settings: Settings, args: argparse.Namespace, tmp: Path) -> dict:
    from core.models import MessageStatus, OutboundMessage

    smtp = SMTPSink()
    smtp.start()
    queued: list[str] = []
    chunk = 500
    for first in range(0, args.messages, chunk):
        queued.extend(await queue("crash", first, min(chunk, args.messages - first), settings))
    worker = Worker(settings.database_url, smtp.port, args, tmp, send_rate=args.send_rate)
    crashes = []
    try:
        worker.start()
        threshold = 0
        offsets = random.Random(20261202)
        for k in range(args.kills):
            # Each kill once the previous crash is recovered and mail flows again, at a
            # point that is not a batch boundary.
            threshold = max(threshold, smtp.sink.snapshot()[0]) + args.between
            threshold += offsets.randrange(1, max(2, args.batch_size))

            async def past_threshold(threshold: int = threshold) -> bool:
                return smtp.sink.snapshot()[0] >= threshold

            await wait_for(past_threshold, args.timeout, f"{threshold} messages livrés", worker)
            before = smtp.sink.snapshot()
            worker.kill()
            killed_at = time.monotonic()
            # What the killed worker held: claimed, outcome not recorded.
            held = set(
                await OutboundMessage.filter(status=MessageStatus.SENDING).values_list(
                    "message_id", flat=True
                )
            )
            worker.start()  # restarted at once

            async def held_delivered(held: set[str] = held) -> bool:
                return len(smtp.sink.received(held)) == len(held)

            await wait_for(held_delivered, args.timeout, "messages du lot interrompu", worker)
            times = smtp.sink.received(held).values()
            after = smtp.sink.snapshot()
            with smtp.sink.lock:
                twice = sum(1 for key in held if smtp.sink.count[key] > 1)
            crashes.append(
                {
                    "received_at_kill": before[0],
                    "held": len(held),
                    "twice": twice,
                    "recovery_s": (max(times) - killed_at) if held else 0.0,
                    "duplicates_so_far": after[1] - after[0],
                }
            )
            print(
                f"  kill -9 n° {k + 1} après {before[0]} livrés : {len(held)} messages "
                f"réservés par le processus tué, {twice} envoyés deux fois, tous livrés "
                f"{crashes[-1]['recovery_s']:.1f} s après le kill",
                flush=True,
            )

        async def all_delivered() -> bool:
            return smtp.sink.snapshot()[0] >= len(queued)

        await wait_for(all_delivered, args.timeout, "tous les messages livrés", worker)
        await asyncio.sleep(2)
        summary = await outbox_summary()
    finally:
        worker.stop()
        smtp.stop()
    distinct, total = smtp.sink.snapshot()
    return {
        "queued": len(queued),
        "delivered": distinct,
        "lost": len(set(queued) - set(smtp.sink.count)),
        "duplicates": total - distinct,
        "dead": summary["counts"].get("dead", 0),
        "failed": summary["counts"].get("failed", 0),
        "crashes": crashes,
        "command": worker.command,
    }


async def run_case(label: str, database_url: str, args: argparse.Namespace, tmp: Path) -> dict:
    settings = settings_for(database_url, tmp)
    await run_migrations(settings)
    await close_orm()
    await init_orm(settings)
    try:
        result: dict[str, Any] = {"label": label}
        if not args.no_outage:
            print(f"[{label}] panne SMTP", flush=True)
            result["outage"] = await outage_case(settings, args, tmp)
            print(f"[{label}] {json.dumps(result['outage'])}", flush=True)
        if args.kills:
            print(f"[{label}] kill -9", flush=True)
            result["crash"] = await crash_case(settings, args, tmp)
            print(f"[{label}] {json.dumps(result['crash'])}", flush=True)
        return result
    finally:
        await close_orm()


def append_results(results: list[dict], args: argparse.Namespace, command: str) -> None:
    lines = [
        "",
        f"## Mail faults{' — ' + args.label if args.label else ''} — "
        f"{datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        "",
        f"- Machine: {machine(with_load=True)}",
        f"- Command: `{command}`",
        "- Worker: a separate process (`python -m cli worker`, defaults otherwise: "
        "MAIL_MAX_ATTEMPTS 8, MAIL_LEASE_SECONDS 20, MAIL_POLL_INTERVAL 1); SMTP: aiosmtpd "
        "sink on loopback in the benchmark process; fresh database per case.",
    ]
    if not args.no_outage:
        lines += [
            f"- Outage: messages queued at {args.rate:g}/s throughout; sink up {args.before:g} s, "
            f"down {args.outage:g} s (connection refused), then up until all are delivered.",
            "",
            "| database | queued (during outage) | delivered | lost | duplicates | dead | "
            "failed | most attempts (during outage / end) | first message after return | "
            "backlog delivered after return |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in results:
            o = r.get("outage")
            if o:
                lines.append(
                    f"| {r['label']} | {o['queued']} ({o['queued_during_outage']}) "
                    f"| {o['delivered']} | {o['lost']} | {o['duplicates']} | {o['dead']} "
                    f"| {o['failed']} | {o['max_attempts_during_outage']} / {o['max_attempts']} "
                    f"| {o['first_after_restart_s']:.1f} s | {o['backlog_drained_s']:.1f} s |"
                )
    if args.kills:
        lines += [
            "",
            f"- Crash: {args.messages} messages queued, the worker (MAIL_RATE_PER_SECOND "
            f"{args.send_rate:g}) killed with SIGKILL {args.kills} times mid-batch, "
            f"{args.between} deliveries after the previous recovery, and restarted at once; "
            "'held' = messages in status sending right after the kill.",
            "",
            "| database | crash | delivered when killed | held by the killed worker | "
            "sent twice | last held one delivered after the kill |",
            "|---|---|---|---|---|---|",
        ]
        for r in results:
            c = r.get("crash")
            if not c:
                continue
            for n, crash in enumerate(c["crashes"], 1):
                lines.append(
                    f"| {r['label']} | {n} | {crash['received_at_kill']} | {crash['held']} "
                    f"| {crash['twice']} | {crash['recovery_s']:.1f} s |"
                )
            lines.append(
                f"| {r['label']} | whole run | {c['delivered']} of {c['queued']} delivered, "
                f"{c['lost']} lost | {c['dead']} dead, {c['failed']} failed "
                f"| {c['duplicates']} | |"
            )
    if args.notes:
        lines += ["", args.notes]
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\nAppended by the scripts in `bench/`.\n")
    with RESULTS.open("a") as fh:
        fh.write("\n".join(lines) + "\n")
    print(f"Résultats ajoutés à {RESULTS.relative_to(ROOT)}.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outage", type=float, default=300, help="secondes de panne SMTP")
    parser.add_argument("--before", type=float, default=10, help="secondes avant la panne")
    parser.add_argument("--rate", type=float, default=5, help="messages mis en file par seconde")
    parser.add_argument("--no-outage", action="store_true")
    parser.add_argument("--messages", type=int, default=10000, help="messages du cas kill -9")
    parser.add_argument("--kills", type=int, default=3, help="kill -9 (0 = pas de ce cas)")
    parser.add_argument(
        "--between", type=int, default=500, help="messages livrés entre deux kill -9"
    )
    parser.add_argument(
        "--send-rate", type=float, default=100, help="MAIL_RATE_PER_SECOND du cas kill -9"
    )
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--pool-size", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--pg-database", default=PG_BENCH_DB)
    parser.add_argument("--no-record", action="store_true", help="ne pas écrire RESULTS.md")
    parser.add_argument("--label", default="", help="précision ajoutée au titre de la section")
    parser.add_argument("--notes", default="", help="paragraphe ajouté sous les tableaux")
    parser.add_argument("--case", nargs=3, help=argparse.SUPPRESS)  # label url folder (child)
    args = parser.parse_args()
    if args.case:
        # One database per process: Tortoise keeps per-dialect state between inits.
        label, url, folder = args.case
        result = asyncio.run(run_case(label, url, args, Path(folder)))
        Path(folder, f"result-{label}.json").write_text(json.dumps(result))
        return 0
    command = ".venv/bin/python " + shlex.join(["bench/mail_faults.py", *sys.argv[1:]])
    results = []
    with tempfile.TemporaryDirectory(prefix="rassembleur-bench-faults-") as folder:
        tmp = Path(folder)
        cases: list[tuple[str, str]] = []
        if not args.no_sqlite:
            cases.append(("SQLite", f"sqlite://{tmp}/bench.sqlite3"))
        if not args.no_postgres:
            url = asyncio.run(reset_postgres(args.pg_database))
            if url:
                cases.append(("PostgreSQL", url))
        try:
            for label, url in cases:
                subprocess.run(  # noqa: S603
                    [sys.executable, __file__, *sys.argv[1:], "--case", label, url, folder],
                    check=True,
                )
                results.append(json.loads(Path(folder, f"result-{label}.json").read_text()))
        finally:
            if any(label == "PostgreSQL" for label, _url in cases):
                asyncio.run(reset_postgres(args.pg_database, drop_only=True))
    if not args.no_record:
        append_results(results, args, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
