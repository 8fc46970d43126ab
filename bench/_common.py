"""Helpers shared by the benchmarks (not part of the project's package)."""

from __future__ import annotations

import os
import platform
import socket
import statistics
import subprocess
import time
from pathlib import Path

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def machine(*, with_load: bool = False) -> str:
    """Cores, CPU model, memory, Python and kernel (for the RESULTS.md sections)."""
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()  # noqa: S607
    free = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.splitlines()  # noqa: S607
    mem = free[1].split() if len(free) > 1 else ["", "?"]
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    text = (
        f"nproc {nproc or os.cpu_count()} ({cpu or platform.processor()}), mémoire {mem[1]} "
        f"(libre {mem[3] if len(mem) > 3 else '?'}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )
    if with_load:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
        text += f", load average at start {load:.1f}"
    return text


def cpu_probe_ms(rounds: int = 5) -> float:
    """Median ms of a fixed pure-Python loop (10^7 additions), one core: the machine's speed
    at that moment. These shared machines' speed moves by a third within an hour; a figure
    read with the probe beside it can be compared with another sitting's."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        total = 0
        for i in range(10_000_000):
            total += i
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


async def reset_postgres(database: str, drop_only: bool = False) -> str | None:
    """(Re)create the benchmark's own PostgreSQL database; None when no server answers."""
    try:
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
    except Exception as exc:  # noqa: BLE001 - PostgreSQL is optional
        print(f"PostgreSQL non joignable ({exc}); seul SQLite est mesuré.")
        return None
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        if not drop_only:
            await conn.execute(f"CREATE DATABASE {database}")
    finally:
        await conn.close()
    return f"postgres://postgres@127.0.0.1:5432/{database}"
