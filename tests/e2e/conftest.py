"""Real-browser tests: Playwright (Python) driving Debian's chromium against a served app."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
E2E_PASSWORD = "mot-de-passe-e2e-solide"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            raise pytest.UsageError(f"chromium is required in CI ({CHROMIUM} not found)")
        skip = pytest.mark.skip(reason="Debian chromium absent : apt-get install -y chromium")
        for item in items:
            if "tests/e2e/" in str(item.fspath):
                item.add_marker(skip)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("live")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SMTP_URL", "ENV"}}
    env.update(
        {
            "DATABASE_URL": f"sqlite://{tmp}/e2e.sqlite3",
            "VAR_DIR": str(tmp / "var"),
            "BASE_URL": f"http://127.0.0.1:{port}",
            "RUN_WORKER_IN_SERVER": "false",
        }
    )
    cli = [sys.executable, "-m", "cli"]
    subprocess.run([*cli, "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run(
        [*cli, "create-user", "orga@exemple.qc.ca", "--role", "organizer", "--password-stdin"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        input=E2E_PASSWORD + "\n",
        text=True,
    )
    log = open(tmp / "server.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--no-access-log"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            with urllib.request.urlopen(base + "/api/v1/health", timeout=1) as r:  # noqa: S310
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.1)
    else:
        proc.terminate()
        raise RuntimeError((tmp / "server.log").read_text())
    yield {
        "base": base,
        "email": "orga@exemple.qc.ca",
        "password": E2E_PASSWORD,
        "env": env,  # DATABASE_URL, VAR_DIR, … of the served instance (to seed data)
        "root": str(ROOT),
    }
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    # Package scope: the sync API runs its own event loop, which must be closed before the
    # asyncio tests of the other packages run.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()
