"""Each registration's check-in days (`Registration.checked_in_days`), kept by the database.

The column counts the registration's active check-ins (`registrations_checkin.active_key`
not null: one per day present). Triggers on `registrations_checkin` keep it exact on every
write that can change it, whoever writes: a check-in inserted or deleted while active
(deleted with its registration or event too), one undone or restored (`active_key` set to
null or back), one moved to another registration (both are recomputed). The participation
report reads the column from its index instead of counting each registration's check-ins.

A recomputation counts the registration's active check-ins (its index: registration_id,
active_key), so the value is what a from-scratch count gives, never an increment that
could drift. On PostgreSQL the registration's row is locked first (`FOR NO KEY UPDATE`):
two transactions checking in one registration at once (two days of a multi-day event,
synchronized from two tablets) count one after the other, the second seeing the first's
check-in (each statement of a VOLATILE PL/pgSQL function takes a new snapshot under READ
COMMITTED). SQLite has one writer at a time. The application never writes the column
(`core.db_fields.DatabaseKeptIntField`: left out of every INSERT and `save()`).

Existing rows are counted here, after the triggers exist (one statement).
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops
from core.db_fields import DatabaseKeptIntField
from tortoise.indexes import Index

REGISTRATIONS = "registrations_registration"
CHECKINS = "registrations_checkin"
PREFIX = "registrations_checked_in_days"


def _recount(registrations: str) -> str:
    """Set the check-in days of the registrations whose id satisfies `registrations`."""
    return (
        f"UPDATE {REGISTRATIONS} SET checked_in_days = (SELECT COUNT(*) FROM {CHECKINS} c "
        f"WHERE c.registration_id = {REGISTRATIONS}.id AND c.active_key IS NOT NULL) "
        f"WHERE {registrations}"
    )


SQLITE = [
    f"CREATE TRIGGER IF NOT EXISTS {PREFIX}_insert AFTER INSERT ON {CHECKINS} "
    f"WHEN NEW.active_key IS NOT NULL BEGIN {_recount('id = NEW.registration_id')}; END",
    f"CREATE TRIGGER IF NOT EXISTS {PREFIX}_delete AFTER DELETE ON {CHECKINS} "
    f"WHEN OLD.active_key IS NOT NULL BEGIN {_recount('id = OLD.registration_id')}; END",
    f"CREATE TRIGGER IF NOT EXISTS {PREFIX}_update "
    f"AFTER UPDATE OF active_key, registration_id ON {CHECKINS} "
    "WHEN OLD.active_key IS NOT NEW.active_key OR OLD.registration_id IS NOT NEW.registration_id "
    f"BEGIN {_recount('id IN (OLD.registration_id, NEW.registration_id)')}; END",
]

POSTGRES = [
    f"""CREATE OR REPLACE FUNCTION {PREFIX}_refresh(registrations integer[]) RETURNS void
    LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    one integer;
BEGIN
    FOR one IN SELECT DISTINCT r FROM unnest(registrations) AS r WHERE r IS NOT NULL ORDER BY r
    LOOP
        PERFORM 1 FROM {REGISTRATIONS} WHERE id = one FOR NO KEY UPDATE;
        {_recount("id = one")};
    END LOOP;
END $$""",
    f"""CREATE OR REPLACE FUNCTION {PREFIX}_checkin() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.active_key IS NOT NULL THEN
            PERFORM {PREFIX}_refresh(ARRAY[NEW.registration_id]);
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        IF OLD.active_key IS NOT NULL THEN
            PERFORM {PREFIX}_refresh(ARRAY[OLD.registration_id]);
        END IF;
    ELSIF OLD.active_key IS DISTINCT FROM NEW.active_key
        OR OLD.registration_id IS DISTINCT FROM NEW.registration_id THEN
        PERFORM {PREFIX}_refresh(ARRAY[OLD.registration_id, NEW.registration_id]);
    END IF;
    RETURN NULL;
END $$""",
    f"DROP TRIGGER IF EXISTS {PREFIX}_checkin ON {CHECKINS}",
    f"CREATE TRIGGER {PREFIX}_checkin "
    f"AFTER INSERT OR DELETE OR UPDATE OF active_key, registration_id ON {CHECKINS} "
    f"FOR EACH ROW EXECUTE FUNCTION {PREFIX}_checkin()",
]


async def _forward(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    statements = SQLITE if client.capabilities.dialect == "sqlite" else POSTGRES
    for statement in statements:
        await client.execute_script(statement)
    await client.execute_script(
        _recount(f"id IN (SELECT registration_id FROM {CHECKINS} WHERE active_key IS NOT NULL)")
    )


class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('core', '0002_user_session_version'), ('core', '0003_retention_indexes'), ('core', '0004_mail_claims'), ('events', '0001_initial'), ('events', '0002_all_day_phone_field'), ('events', '0003_abuse_registration_limits'), ('events', '0004_campb_automatic_messages'), ('events', '0005_retention_months'), ('events', '0006_e2_attestation_flag'), ('people', '0001_initial'), ('people', '0002_campb_jps_news_purpose'), ('people', '0003_retention_indexes'), ('people', '0004_campa_tags'), ('people', '0005_soak_indexes'), ('people', '0006_r1_plans'), ('registrations', '0010_first_participation')]

    initial = False

    operations = [
        ops.RemoveIndex(
            model_name='Registration',
            name=None,
            fields=['event_id', 'status', 'person_id', 'clientele_id', 'territory_id', 'organization_id', 'party_size', 'source', 'id'],
        ),
        ops.AddField(
            model_name='Registration',
            name='checked_in_days',
            field=DatabaseKeptIntField(generated=True, db_default=0),
        ),
        ops.RunPython(_forward),
        ops.AddIndex(
            model_name='Registration',
            index=Index(fields=['event_id', 'status', 'person_id', 'clientele_id', 'territory_id', 'organization_id', 'party_size', 'source', 'checked_in_days', 'id']),
        ),
    ]
