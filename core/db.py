"""Database configuration: one Tortoise app per feature package, each with its migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate as migrate_api

from core.settings import PROJECT_ROOT, Settings

# Feature packages that own models, in dependency order. Each has `<app>.models`
# and `<app>.migrations`.
APPS: list[str] = ["core", "people", "events", "registrations"]

SQLITE_PRAGMAS = {"busy_timeout": "10000", "synchronous": "NORMAL"}


def load_packages(settings: Settings | None = None) -> None:
    """Import every package's service module so that it registers its hooks
    (e.g. registrations listens to event cancellations and capacity changes), and hand
    the settings to the modules that define `configure(settings)`."""
    import importlib

    for app in APPS:
        try:
            module = importlib.import_module(f"{app}.service")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.service":
                raise
            continue
        if settings is not None and hasattr(module, "configure"):
            module.configure(settings)


def normalize_db_url(url: str) -> str:
    """Make SQLite paths absolute (relative to the project) and add safe pragmas."""
    if url.startswith("postgresql://"):
        url = "postgres://" + url[len("postgresql://") :]
    if not url.startswith("sqlite://") or url.startswith("sqlite://:memory:"):
        return url
    parts = urlsplit(url)
    raw_path = url[len("sqlite://") :].split("?", 1)[0]
    path = Path(raw_path)
    if not path.is_absolute():
        path = PROJECT_ROOT / path
    path.parent.mkdir(parents=True, exist_ok=True)
    query = dict(parse_qsl(parts.query))
    for key, value in SQLITE_PRAGMAS.items():
        query.setdefault(key, value)
    return urlunsplit(("sqlite", "", str(path), urlencode(query), ""))


def tortoise_config(settings: Settings) -> dict[str, Any]:
    return {
        "connections": {"default": normalize_db_url(settings.database_url)},
        "apps": {
            app: {
                "models": [f"{app}.models"],
                "default_connection": "default",
                "migrations": f"{app}.migrations",
            }
            for app in APPS
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def dialect() -> str:
    return connections.get("default").capabilities.dialect


async def run_migrations(settings: Settings, progress: Any = None) -> None:
    """Apply every pending migration (what `rassembleur migrate` does)."""
    await migrate_api(config=tortoise_config(settings), progress=progress)


async def init_orm(settings: Settings) -> None:
    load_packages(settings)
    await Tortoise.init(config=tortoise_config(settings))


async def close_orm() -> None:
    await Tortoise.close_connections()
