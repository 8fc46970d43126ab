"""Soak benchmark (not a test): does latency stay flat and memory settle over minutes?

A fresh database (SQLite in a temporary folder by default; `--postgres URL` empties that
PostgreSQL database's public schema and uses it) gets an event happening now with a few
hundred confirmed registrations, 60 other published events (the lists), an organizer's API
token and two paired tablets. One `rassembleur serve` process (uvicorn) runs as a
subprocess; `--clients` (8) aiohttp clients then loop without pause for `--minutes` (10),
each request drawn at random:

    register  30 %  POST /api/v1/events/{id}/registrations (the organizer's token)
    scan      30 %  POST /api/v1/checkin: a ticket not yet scanned (3 in 4) or again
    page      15 %  GET /events, /events/{id}, /events/{id}/register (HTML)
    list       7 %  GET /api/v1/events?per_page=50
    roster     8 %  GET .../checkin/roster, then ?since=<cursor> (each client a tablet)
    live      10 %  GET .../checkin/live (the tablets' poll)

Each minute: requests, p95 overall and per kind, errors (5xx, unexpected answers,
connection errors), the server's RSS and the roster's mean wire size. Before and after:
`GET /api/v1/health` for 10 s with the same clients (the ceiling; throughput is also given
as a share of it). Verdict: last two minutes' p95 within 1.5x the first two's, RSS settled
(the last third grows by < 5 %), zero errors. Appends a section to bench/RESULTS.md.

    .venv/bin/python bench/soak.py [--minutes 10] [--clients 8] [--registrations 300]
        [--postgres postgres://postgres@127.0.0.1:5432/DB] [--no-record] [--notes TEXT]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import free_port, machine  # noqa: E402 - bench/ is on sys.path as a script

from core.db import close_orm, init_orm, run_migrations  # noqa: E402
from core.settings import Settings  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
SECRET_KEY = "bench-soak-" + "x" * 40
TIME_ZONE = "America/Toronto"
KINDS = {"register": 30, "scan": 30, "page": 15, "list": 7, "roster": 8, "live": 10}
CLIENTELES = ("youth", "family", "schools", "society")


def make_settings(database_url: str, tmp: Path) -> Settings:
    return Settings(
        env="development",
        database_url=database_url,
        secret_key=SECRET_KEY,
        var_dir=tmp / "var",
        run_worker_in_server=False,
        rate_limit_enabled=False,
    )


async def empty_postgres(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1), timeout=5)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


async def prepare(settings: Settings, count: int) -> dict[str, Any]:
    """Migrate; the door event (now) with `count` confirmed registrations; 60 listed
    events; an organizer's API token; two tablets."""
    from core.accounts import create_token
    from core.auth import Principal
    from core.models import Role, User
    from core.security import hash_password
    from events import service as events
    from events.schemas import EventIn
    from people.reference import ensure_reference_data
    from registrations import devices, notices, service
    from registrations.schemas import RegistrationIn

    await run_migrations(settings)
    await close_orm()
    await init_orm(settings)
    try:
        await ensure_reference_data()
        system = Principal.system("bench")
        user = await User.create(
            email="organisatrice@exemple.qc.ca",
            password_hash=hash_password(secrets.token_urlsafe(16)),
            role=Role.ORGANIZER,
            full_name="Organisatrice",
        )
        organizer = Principal.for_user(user)
        _token, api_token = await create_token(organizer, user, "banc d'essai")
        now = datetime.now(ZoneInfo(TIME_ZONE))

        async def event(title: str, start: datetime, **extra: Any) -> int:
            data = {
                "title": title,
                "kind": "regional_event",
                "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
                "ends_at": (start + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M"),
                "venue_name": "Cégep régional",
                "address": "20, rue Saint-Charles-Borromée Sud, Joliette",
                "territory": "2462",
                "clienteles": ["youth", "schools"],
                **extra,
            }
            created = await events.create_event(system, EventIn.model_validate(data))
            await events.publish_event(system, created.id)
            return created.id

        door = await event(
            "Grand rassemblement (soak)",
            now + timedelta(minutes=20),
            capacity=100_000,
            clienteles=list(CLIENTELES),
        )
        edition = await event("Journées de la persévérance (soak)", now + timedelta(days=30))
        listed = [door, edition]
        for n in range(58):
            parent = {"parent_id": edition} if n % 3 == 0 else {}
            listed.append(
                await event(
                    f"Activité {n}",
                    now + timedelta(days=2 + n % 40, hours=n % 7),
                    capacity=200,
                    **parent,
                )
            )
        payloads = []
        for n in range(count):
            data = RegistrationIn.model_validate(
                {
                    "first_name": f"Prénom{n}",
                    "last_name": f"Nom{n}",
                    "email": f"initial{n}@exemple.qc.ca",
                    "clientele": CLIENTELES[n % 4],
                }
            )
            result = await service.register(door, data, settings=settings)
            payloads.append(await notices.ticket_payload(settings, result.registration))
        tablets = [
            (await devices.pair_device(organizer, door, f"Tablette {n}", hours=24))[1]
            for n in (1, 2)
        ]
        return {
            "door": door,
            "listed": listed,
            "payloads": payloads,
            "api_token": api_token,
            "tablets": tablets,
        }
    finally:
        await close_orm()


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


class Soak:
    def __init__(self, base: str, data: dict[str, Any], args: argparse.Namespace) -> None:
        self.base = base
        self.data = data
        self.args = args
        self.fresh: list[str] = list(data["payloads"])  # tickets not scanned yet
        self.scanned: list[str] = []
        self.samples: list[tuple[float, str, float]] = []  # (seconds since start, kind, ms)
        self.errors: list[tuple[float, str, str]] = []
        self.roster_bytes: list[tuple[float, int, bool]] = []
        self.rss: list[tuple[int, float]] = []
        self.load: list[tuple[int, float]] = []  # the machine's 1-minute load average
        self.counter = 0
        self.rng = random.Random(13)  # noqa: S311 - a load mix, not a secret

    async def request(
        self, http: aiohttp.ClientSession, kind: str, client: int
    ) -> tuple[int, Any, int]:
        door = self.data["door"]
        tablet = {"Authorization": f"Bearer {self.data['tablets'][client % 2]}"}
        if kind == "register":
            self.counter += 1
            body = {
                "first_name": f"Soak{self.counter}",
                "last_name": f"Client{client}",
                "email": f"soak{self.counter}.{client}@exemple.qc.ca",
                "clientele": CLIENTELES[self.counter % 4],
            }
            headers = {"Authorization": f"Bearer {self.data['api_token']}"}
            async with http.post(
                f"/api/v1/events/{door}/registrations", json=body, headers=headers
            ) as r:
                data = await r.json(content_type=None)
                if r.status == 201:
                    self.fresh.append(data["ticket"]["qr_payload"])
                return r.status, data, 0
        if kind == "scan":
            again = self.scanned and (not self.fresh or self.rng.random() < 0.25)
            payload = (
                self.rng.choice(self.scanned)
                if again
                else self.fresh.pop(self.rng.randrange(len(self.fresh)))
            )
            body = {"event_id": door, "payload": payload, "nonce": secrets.token_hex(12)}
            async with http.post("/api/v1/checkin", json=body, headers=tablet) as r:
                data = await r.json(content_type=None)
                if not again:
                    self.scanned.append(payload)
                return r.status, data, 0
        if kind == "page":
            event = self.rng.choice(self.data["listed"])
            path = self.rng.choice(["/events", f"/events/{event}", f"/events/{event}/register"])
            async with http.get(path) as r:
                await r.read()
                return r.status, None, 0
        if kind == "list":
            async with http.get("/api/v1/events", params={"per_page": "50"}) as r:
                return r.status, await r.json(content_type=None), 0
        if kind == "roster":
            cursor = self.cursors.get(client)
            params = {"since": cursor} if cursor else {}
            async with http.get(
                f"/api/v1/events/{door}/checkin/roster", params=params, headers=tablet
            ) as r:
                wire = int(r.headers.get("Content-Length", "0"))
                data = await r.json(content_type=None)
                if r.status == 200:
                    self.cursors[client] = data["cursor"]
                return r.status, data, wire
        async with http.get(f"/api/v1/events/{door}/checkin/live", headers=tablet) as r:
            return r.status, await r.json(content_type=None), 0

    @staticmethod
    def expected(kind: str, status: int, data: Any) -> bool:
        if kind == "register":
            return status == 201 and data.get("status") == "confirmed"
        if kind == "scan":
            return status == 200 and data.get("result") in {"ok", "already_checked_in"}
        return status == 200

    async def client(self, http: aiohttp.ClientSession, client: int, until: float) -> None:
        kinds, weights = list(KINDS), list(KINDS.values())
        while time.perf_counter() < until:
            kind = self.rng.choices(kinds, weights)[0]
            if kind == "scan" and not self.fresh and not self.scanned:
                kind = "register"
            sent = time.perf_counter()
            data: Any = None
            try:
                status, data, wire = await self.request(http, kind, client)
                ok = self.expected(kind, status, data)
                detail = f"HTTP {status} {str(data)[:160]}"
            except (TimeoutError, aiohttp.ClientError, ValueError, KeyError) as exc:
                ok, wire, detail = False, 0, f"{type(exc).__name__}: {exc}"
            done = time.perf_counter()
            at = done - self.started
            self.samples.append((at, kind, (done - sent) * 1000))
            if not ok:
                self.errors.append((at, kind, detail))
            if kind == "roster" and wire and ok:
                self.roster_bytes.append((at, wire, data.get("full") is False))

    def server_rss(self) -> float:
        process = psutil.Process(self.args.server.pid)
        total = process.memory_info().rss
        for child in process.children(recursive=True):
            total += child.memory_info().rss
        return total / 1_048_576

    async def sample_rss(self, minutes: int) -> None:
        for minute in range(1, minutes + 1):
            await asyncio.sleep(max(0.0, self.started + minute * 60 - time.perf_counter()))
            self.rss.append((minute, self.server_rss()))
            self.load.append((minute, os.getloadavg()[0]))

    async def run(self) -> dict[str, Any]:
        self.cursors: dict[int, str] = {}
        timeout = aiohttp.ClientTimeout(total=60)
        connector = aiohttp.TCPConnector(limit=self.args.clients)
        async with aiohttp.ClientSession(self.base, connector=connector, timeout=timeout) as http:
            before = await health(http, self.args.clients, 10)
            rss_start = self.server_rss()
            self.started = time.perf_counter()
            until = self.started + self.args.minutes * 60
            await asyncio.gather(
                self.sample_rss(self.args.minutes),
                *(self.client(http, n, until) for n in range(self.args.clients)),
            )
            after = await health(http, self.args.clients, 10)
        return {"health_before": before, "health_after": after, "rss_start": rss_start}


async def health(http: aiohttp.ClientSession, clients: int, seconds: float) -> float:
    """Requests per second `GET /api/v1/health` answers with these clients (the ceiling)."""
    count = 0
    until = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal count
        while time.perf_counter() < until:
            async with http.get("/api/v1/health") as r:
                await r.read()
                count += r.status == 200

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(clients)))
    return count / (time.perf_counter() - started)


async def wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.perf_counter() + 60
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
            await asyncio.sleep(0.2)
    raise RuntimeError("le serveur n'a pas démarré à temps")


def minute_table(soak: Soak, minutes: int) -> list[dict[str, Any]]:
    rows = []
    rss = dict(soak.rss)
    load = dict(soak.load)
    for minute in range(1, minutes + 1):
        lo, hi = (minute - 1) * 60, minute * 60
        samples = [s for s in soak.samples if lo <= s[0] < hi]
        by_kind: dict[str, list[float]] = defaultdict(list)
        for _at, kind, ms in samples:
            by_kind[kind].append(ms)
        roster = [w for at, w, delta in soak.roster_bytes if lo <= at < hi and delta]
        rows.append(
            {
                "minute": minute,
                "requests": len(samples),
                "p95": percentile([ms for _a, _k, ms in samples], 0.95),
                "kinds": {k: percentile(by_kind[k], 0.95) for k in KINDS},
                "errors": sum(1 for at, _k, _d in soak.errors if lo <= at < hi),
                "rss": rss.get(minute, 0.0),
                "load": load.get(minute, 0.0),
                "roster_bytes": sum(roster) / len(roster) if roster else 0.0,
            }
        )
    return rows


def verdict(soak: Soak, rows: list[dict[str, Any]], minutes: int) -> dict[str, Any]:
    span = 2 * 60 if minutes >= 4 else 60
    end = minutes * 60
    first = percentile([ms for at, _k, ms in soak.samples if at < span], 0.95)
    last = percentile([ms for at, _k, ms in soak.samples if end - span <= at < end], 0.95)
    third = max(1, minutes // 3)
    rss_values = [r["rss"] for r in rows]
    settle_from = rss_values[-third - 1] if len(rss_values) > third else rss_values[0]
    growth = (rss_values[-1] - settle_from) / settle_from if settle_from else 0.0
    return {
        "first_p95": first,
        "last_p95": last,
        "ratio": last / first if first else 0.0,
        "flat": last <= 1.5 * first,
        "rss_growth_last_third": growth,
        "rss_settled": growth < 0.05,
        "errors": len(soak.errors),
    }


def report(
    soak: Soak,
    figures: dict[str, Any],
    args: argparse.Namespace,
    label: str,
    command: str,
    door_rows: int,
) -> str:
    rows = minute_table(soak, args.minutes)
    v = verdict(soak, rows, args.minutes)
    ceiling = (figures["health_before"] + figures["health_after"]) / 2
    kinds = list(KINDS)
    lines = [
        "",
        f"## Soak — {label} — {datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        "",
        f"- Machine: {machine(with_load=True)}",
        f"- Command: `.venv/bin/python bench/soak.py --minutes {args.minutes} "
        f"--clients {args.clients} --registrations {args.registrations}"
        + (" --postgres …" if args.postgres else "")
        + "`",
        f"- Server: `{command}`",
        f"- Mix: {', '.join(f'{k} {w} %' for k, w in KINDS.items())}; "
        f"{args.clients} aiohttp clients without pause, keep-alive, loopback; "
        "registrations through the organizer's API token; "
        "each client is a tablet that pulls the roster by cursor.",
        f"- Ceiling (`GET /api/v1/health`, same clients, 10 s before and after): "
        f"{figures['health_before']:.0f} and {figures['health_after']:.0f} req/s "
        f"(= {ceiling * 60:.0f} requests a minute).",
        f"- The door event grew from {args.registrations} to {door_rows} registrations.",
        "",
        "| minute | requests (share of ceiling) | p95 all | "
        + " | ".join(f"p95 {k}" for k in kinds)
        + " | roster delta bytes (gzip) | server RSS | errors | machine load |",
        "|---" * (7 + len(kinds)) + "|",
    ]
    for r in rows:
        lines.append(
            f"| {r['minute']} | {r['requests']} ({r['requests'] / (ceiling * 60):.0%}) "
            f"| {r['p95']:.0f} ms | "
            + " | ".join(f"{r['kinds'][k]:.0f}" for k in kinds)
            + f" | {r['roster_bytes']:.0f} | {r['rss']:.1f} MB | {r['errors']} | {r['load']:.1f} |"
        )
    lines += [
        "",
        f"Server RSS before the load: {figures['rss_start']:.1f} MB. "
        f"Verdict: p95 of the first two minutes {v['first_p95']:.0f} ms, of the last two "
        f"{v['last_p95']:.0f} ms ({v['ratio']:.2f}×, "
        f"{'within' if v['flat'] else 'NOT within'} 1.5×); "
        f"RSS over the last third {v['rss_growth_last_third']:+.1%} "
        f"({'settled' if v['rss_settled'] else 'NOT settled'}); errors: {v['errors']}.",
    ]
    if soak.errors:
        lines.append("")
        lines.append(
            "First errors: " + "; ".join(f"{k} at {at:.0f} s: {d}" for at, k, d in soak.errors[:5])
        )
    if args.notes:
        lines += ["", args.notes]
    return "\n".join(lines) + "\n"


async def door_count(settings: Settings, door: int) -> int:
    from registrations.models import Registration

    await init_orm(settings)
    try:
        return await Registration.filter(event_id=door).count()
    finally:
        await close_orm()


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--registrations", type=int, default=300, help="at the start")
    parser.add_argument("--postgres", default="", help="a PostgreSQL database to empty and use")
    parser.add_argument("--no-record", action="store_true", help="ne pas écrire RESULTS.md")
    parser.add_argument("--notes", default="", help="paragraphe ajouté sous le tableau")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rassembleur-soak-") as name:
        tmp = Path(name)
        if args.postgres:
            asyncio.run(empty_postgres(args.postgres))
            url, label = args.postgres, "PostgreSQL"
        else:
            url, label = f"sqlite://{tmp}/soak.sqlite3", "SQLite"
        settings = make_settings(url, tmp)
        started = time.perf_counter()
        data = asyncio.run(prepare(settings, args.registrations))
        print(f"[{label}] préparé en {time.perf_counter() - started:.0f} s")
        port = free_port()
        env = dict(
            os.environ,
            ENV="development",
            DATABASE_URL=url,
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
        ]
        server = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )  # noqa: S603
        args.server = server
        base = f"http://127.0.0.1:{port}"
        soak = Soak(base, data, args)
        try:
            asyncio.run(wait_ready(base, server))
            figures = asyncio.run(soak.run())
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                _out, err = server.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                _out, err = server.communicate()
            lines = [
                line
                for line in (err or b"").decode(errors="replace").splitlines()
                if line.strip() and "tortoise" not in line.lower()
            ]
            if lines:
                print(f"[{label}] stderr du serveur :\n" + "\n".join(lines[-30:]))
        rows = asyncio.run(door_count(settings, data["door"]))
        shown = shlex.join(
            [
                "DATABASE_URL=…",
                "RATE_LIMIT_ENABLED=false",
                "RUN_WORKER_IN_SERVER=false",
                "python",
                *command[1:],
            ]
        )
        text = report(soak, figures, args, label, shown, rows)
        print(text)
        if not args.no_record:
            with RESULTS.open("a") as fh:
                fh.write(text)
            print(f"Résultats ajoutés à {RESULTS.relative_to(ROOT)}.")
        v = verdict(soak, minute_table(soak, args.minutes), args.minutes)
        return 0 if v["flat"] and v["rss_settled"] and not v["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
