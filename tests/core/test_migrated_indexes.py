"""A database built by the migrations has the same indexes as one made from the models.

On SQLite, altering a column rebuilds its table, and a rebuild once dropped the table's
separate indexes (registrations 0003; put back by 0007): a migrated database then
scanned where the models promised an index. Run in a child process, on SQLite files of
its own, so the suite's ORM state is not touched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import asyncio, json, sqlite3, sys
from tortoise import Tortoise
from core.db import close_orm, run_migrations, tortoise_config
from core.settings import Settings

migrated, generated = sys.argv[1], sys.argv[2]

def settings(path):
    return Settings(env="test", database_url=f"sqlite://{path}", secret_key="x" * 40)

async def main():
    await run_migrations(settings(migrated))
    await close_orm()
    await Tortoise.init(config=tortoise_config(settings(generated)))
    await Tortoise.generate_schemas()
    await close_orm()

def indexes(path):
    db = sqlite3.connect(path)
    found = set()
    for name, table in db.execute("SELECT name, tbl_name FROM sqlite_master WHERE type='index'"):
        if table == "tortoise_migrations":
            continue
        columns = [row[2] for row in db.execute(f'PRAGMA index_info("{name}")')]
        unique = db.execute(
            f'SELECT "unique" FROM pragma_index_list("{table}") WHERE name = ?', (name,)
        ).fetchone()[0]
        found.add(json.dumps([table, columns, unique]))
    return found

asyncio.run(main())
a, b = indexes(migrated), indexes(generated)
print(json.dumps({"missing": sorted(b - a), "extra": sorted(a - b)}))
"""


def test_migrations_make_every_index_the_models_declare(tmp_path):
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", SCRIPT, str(tmp_path / "m.sqlite3"), str(tmp_path / "g.sqlite3")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    diff = json.loads(result.stdout.strip().splitlines()[-1])
    assert diff == {"missing": [], "extra": []}
