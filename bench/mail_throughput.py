"""Mail throughput benchmark (not a test): queue 10,000 messages, deliver them with the
real worker process (`python -m cli worker`) to an aiosmtpd sink on loopback.

Measures: time to queue, messages/s delivered until all are received, the worker's peak
RSS. Runs on a fresh SQLite database, and on PostgreSQL when reachable (in its own
database `rassembleur_bench`, never the test suite's). Prints the figures and appends a
dated section to bench/RESULTS.md.

    .venv/bin/python bench/mail_throughput.py [--messages 10000] [--batch-size 100]
        [--pool-size 4] [--no-postgres] [--pg-database NAME] [--no-record]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import free_port, machine, reset_postgres  # noqa: E402 - bench/ is on sys.path as a script

from core.db import close_orm, init_orm, run_migrations  # noqa: E402
from core.settings import Settings  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
PG_BENCH_DB = "rassembleur_bench"
MESSAGE_ID = re.compile(rb"^Message-ID: (<[^>\r\n]+>)", re.MULTILINE | re.IGNORECASE)


class CountingSink:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids: set[str] = set()
        self.total = 0
        self.first_at: float | None = None
        self.last_at: float | None = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        match = MESSAGE_ID.search(envelope.content)
        now = time.perf_counter()
        with self.lock:
            self.total += 1
            if match:
                self.ids.add(match.group(1).decode())
            if self.first_at is None:
                self.first_at = now
            self.last_at = now
        return "250 OK"

    def distinct(self) -> int:
        with self.lock:
            return len(self.ids)


async def prepare(settings: Settings, count: int) -> float:
    """Migrate and queue `count` messages; the time spent queueing (seconds)."""
    from tortoise.transactions import in_transaction

    from core.mail.outbox import queue_mail

    await run_migrations(settings)
    await close_orm()
    await init_orm(settings)
    try:
        start = time.perf_counter()
        chunk = 500
        for offset in range(0, count, chunk):
            async with in_transaction():
                for i in range(offset, min(count, offset + chunk)):
                    await queue_mail(
                        to_address=f"personne{i}@exemple.qc.ca",
                        to_name=f"Personne {i}",
                        template="test",
                        context={"queued_at": datetime.now(UTC)},
                        dedupe_key=f"bench:{i}",
                        settings=settings,
                    )
        return time.perf_counter() - start
    finally:
        await close_orm()


async def count_sent(settings: Settings) -> int:
    from core.models import MessageStatus, OutboundMessage

    await init_orm(settings)
    try:
        return await OutboundMessage.filter(status=MessageStatus.SENT).count()
    finally:
        await close_orm()


def run_case(label: str, database_url: str, args: argparse.Namespace, tmp: Path) -> dict:
    settings = Settings(
        env="development",
        database_url=database_url,
        secret_key="bench-" + "x" * 40,
        var_dir=tmp / "var",
        run_worker_in_server=False,
    )
    queue_seconds = asyncio.run(prepare(settings, args.messages))
    print(
        f"[{label}] {args.messages} messages mis en file en {queue_seconds:.1f} s "
        f"({args.messages / queue_seconds:.0f}/s)"
    )
    sink = CountingSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        SMTP_URL=f"smtp://127.0.0.1:{port}",
        MAIL_BATCH_SIZE=str(args.batch_size),
        MAIL_POOL_SIZE=str(args.pool_size),
        MAIL_POLL_INTERVAL="0.2",
        MAIL_RATE_PER_SECOND="0",
        ENV="development",
        SECRET_KEY="bench-" + "x" * 40,
        VAR_DIR=str(tmp / "var"),
    )
    command = [sys.executable, "-m", "cli", "worker"]
    started = time.perf_counter()
    worker = subprocess.Popen(  # noqa: S603
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    proc = psutil.Process(worker.pid)
    peak_rss = 0
    cpu_seconds = 0.0
    deadline = started + args.timeout
    try:
        while sink.distinct() < args.messages:
            if worker.poll() is not None:
                raise RuntimeError(f"le travailleur s'est arrêté : {worker.stderr.read()!r}")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"délai dépassé : {sink.distinct()} reçus")
            try:
                peak_rss = max(peak_rss, proc.memory_info().rss)
                times = proc.cpu_times()
                cpu_seconds = times.user + times.system
            except psutil.NoSuchProcess:
                pass
            time.sleep(0.05)
        done = time.perf_counter()
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        controller.stop()
    assert sink.first_at is not None and sink.last_at is not None
    span = sink.last_at - sink.first_at
    total_span = done - started
    sent = asyncio.run(count_sent(settings))
    result = {
        "label": label,
        "messages": args.messages,
        "queue_seconds": queue_seconds,
        "queue_rate": args.messages / queue_seconds,
        "rate_first_to_last": args.messages / span if span else float("inf"),
        "rate_from_start": args.messages / total_span,
        "seconds_from_start": total_span,
        "received": sink.total,
        "distinct": sink.distinct(),
        "marked_sent": sent,
        "peak_rss_mb": peak_rss / 2**20,
        "worker_cpu_seconds": cpu_seconds,
        "command": shlex.join(
            [
                f"{k}={v}"
                for k, v in env.items()
                if k in {"DATABASE_URL", "SMTP_URL", "MAIL_BATCH_SIZE", "MAIL_POOL_SIZE"}
            ]
            + ["python", "-m", "cli", "worker"]
        ),
    }
    print(
        f"[{label}] livrés : {result['distinct']} distincts ({result['received']} reçus), "
        f"{result['rate_first_to_last']:.0f} messages/s du premier au dernier, "
        f"{result['rate_from_start']:.0f}/s depuis le lancement du processus "
        f"({total_span:.1f} s); marqués envoyés : {sent}; RSS max du travailleur : "
        f"{result['peak_rss_mb']:.0f} Mo; CPU du travailleur : {cpu_seconds:.1f} s"
    )
    return result


def append_results(results: list[dict], args: argparse.Namespace) -> None:
    lines = [
        "",
        f"## Mail throughput — {datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        "",
        f"- Machine: {machine()}",
        f"- Command: `.venv/bin/python bench/mail_throughput.py --messages {args.messages} "
        f"--batch-size {args.batch_size} --pool-size {args.pool_size}`",
        "- Worker: a separate process (`python -m cli worker`); SMTP: aiosmtpd sink on "
        "loopback in the benchmark process; messages: the `test` template (HTML + text, ~3 KB).",
        "",
        "| database | queued in | queue rate | delivered/s (first→last) | delivered/s "
        "(from process start) | received (distinct) | marked sent | worker peak RSS |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['label']} | {r['queue_seconds']:.1f} s | {r['queue_rate']:.0f}/s "
            f"| {r['rate_first_to_last']:.0f} | {r['rate_from_start']:.0f} "
            f"({r['seconds_from_start']:.1f} s) | {r['received']} ({r['distinct']}) "
            f"| {r['marked_sent']} | {r['peak_rss_mb']:.0f} MB |"
        )
    for r in results:
        lines.append(f"\n`{r['label']}` worker command: `{r['command']}`")
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\nAppended by the scripts in `bench/`.\n")
    with RESULTS.open("a") as fh:
        fh.write("\n".join(lines) + "\n")
    print(f"Résultats ajoutés à {RESULTS.relative_to(ROOT)}.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--pool-size", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--pg-database", default=PG_BENCH_DB)
    parser.add_argument("--no-record", action="store_true", help="ne pas écrire RESULTS.md")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="rassembleur-bench-") as name:
        tmp = Path(name)
        results.append(run_case("SQLite", f"sqlite://{tmp}/bench.sqlite3", args, tmp))
        if not args.no_postgres:
            url = asyncio.run(reset_postgres(args.pg_database))
            if url:
                results.append(run_case("PostgreSQL", url, args, tmp))
    if not args.no_record:
        append_results(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
