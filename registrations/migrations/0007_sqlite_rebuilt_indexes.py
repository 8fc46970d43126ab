"""Put back, on SQLite, the indexes that 0003's AlterField of `status` lost.

On SQLite, altering a column rebuilds the table, and the rebuild kept the UNIQUE columns
(declared in the table) but not the separate indexes: (event_id, status), status,
waitlist_rank and hold_expires_at were missing from every migrated SQLite database (a
database made from the models had them). On PostgreSQL they were never lost, and
IF NOT EXISTS with Tortoise's own index names makes this a no-op there.
Found while measuring the soak (bench/RESULTS.md, 2026-12-02 19:13)."""

from tortoise import migrations
from tortoise.migrations import operations as ops

TABLE = "registrations_registration"
INDEXES = {
    "idx_registratio_event_i_4e3c49": ("event_id", "status"),
    "idx_registratio_status_7316c1": ("status",),
    "idx_registratio_waitlis_5317ff": ("waitlist_rank",),
    "idx_registratio_hold_ex_2a2d53": ("hold_expires_at",),
}


class Migration(migrations.Migration):
    dependencies = [("registrations", "0006_soak2_door_indexes")]

    initial = False

    operations = [
        ops.RunSQL(
            [
                f'CREATE INDEX IF NOT EXISTS "{name}" ON "{TABLE}" ('
                + ", ".join(f'"{column}"' for column in columns)
                + ")"
                for name, columns in INDEXES.items()
            ],
            reverse_sql=[],
        ),
    ]
