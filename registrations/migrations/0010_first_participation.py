"""Each person's first participation (`FirstParticipation`), kept by the database.

The table holds, per person with a confirmed registration, the start of the earliest event
among them. Triggers keep it exact on every write that can change it, whoever writes:

- `registrations_registration`: a row inserted or deleted while confirmed; a row whose
  status, person or event changes, when it was or becomes confirmed (both people's rows
  are recomputed when the person changes: the retention rule, a merge);
- `events_event`: a start that changes (the event's confirmed people are recomputed).

A recomputation is `DELETE` then `INSERT ... SELECT MIN(start)` for the people concerned,
so the row is what a from-scratch computation gives, never an increment that could drift.
On PostgreSQL the people's rows are first locked (`pg_advisory_xact_lock`, in person
order): two transactions registering one person at once recompute one after the other,
the second seeing the first's registration (each statement of a VOLATILE PL/pgSQL function
takes a new snapshot under READ COMMITTED). SQLite has one writer at a time.

Existing rows are computed here, after the triggers exist (one statement).
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

CONFIRMED = "confirmed"  # RegistrationStatus.CONFIRMED, frozen with this migration
TABLE = "registrations_first_participation"
LOCK_CLASS = 41_015  # pg_advisory_xact_lock(LOCK_CLASS, person_id): this table's locks

# The event's start read by its primary key for each of the person's confirmed
# registrations (their index: person_id, status, event_id), whatever the statistics say (a
# join planned without them scanned every registration for each one inserted).
RECOMPUTE = (
    f"INSERT INTO {TABLE} (person_id, starts_at) "
    "SELECT r.person_id, MIN((SELECT e.starts_at FROM events_event e WHERE e.id = r.event_id)) "
    f"FROM registrations_registration r WHERE r.status = '{CONFIRMED}' AND {{people}} "
    "GROUP BY r.person_id"
)


def _sqlite_refresh(person: str) -> str:
    return (
        f"DELETE FROM {TABLE} WHERE person_id = {person}; "
        + RECOMPUTE.format(people=f"r.person_id = {person}")
        + "; "
    )


EVENT_PEOPLE = (
    "SELECT person_id FROM registrations_registration "
    f"WHERE event_id = NEW.id AND status = '{CONFIRMED}'"
)

SQLITE = [
    "CREATE TRIGGER IF NOT EXISTS registrations_first_participation_insert "
    f"AFTER INSERT ON registrations_registration WHEN NEW.status = '{CONFIRMED}' "
    f"BEGIN {_sqlite_refresh('NEW.person_id')}END",
    "CREATE TRIGGER IF NOT EXISTS registrations_first_participation_delete "
    f"AFTER DELETE ON registrations_registration WHEN OLD.status = '{CONFIRMED}' "
    f"BEGIN {_sqlite_refresh('OLD.person_id')}END",
    "CREATE TRIGGER IF NOT EXISTS registrations_first_participation_update "
    "AFTER UPDATE OF status, person_id, event_id ON registrations_registration "
    f"WHEN (OLD.status = '{CONFIRMED}' OR NEW.status = '{CONFIRMED}') "
    "AND (OLD.status IS NOT NEW.status OR OLD.person_id IS NOT NEW.person_id "
    "OR OLD.event_id IS NOT NEW.event_id) "
    f"BEGIN {_sqlite_refresh('OLD.person_id')}{_sqlite_refresh('NEW.person_id')}END",
    "CREATE TRIGGER IF NOT EXISTS registrations_first_participation_event "
    "AFTER UPDATE OF starts_at ON events_event WHEN OLD.starts_at IS NOT NEW.starts_at "
    f"BEGIN DELETE FROM {TABLE} WHERE person_id IN ({EVENT_PEOPLE}); "
    + RECOMPUTE.format(people=f"r.person_id IN ({EVENT_PEOPLE})")
    + "; END",
]

POSTGRES = [
    f"""CREATE OR REPLACE FUNCTION {TABLE}_refresh(people integer[]) RETURNS void
    LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    one integer;
BEGIN
    FOR one IN SELECT DISTINCT p FROM unnest(people) AS p WHERE p IS NOT NULL ORDER BY p LOOP
        PERFORM pg_advisory_xact_lock({LOCK_CLASS}, one);
    END LOOP;
    FOR one IN SELECT DISTINCT p FROM unnest(people) AS p WHERE p IS NOT NULL ORDER BY p LOOP
        DELETE FROM {TABLE} WHERE person_id = one;
        {RECOMPUTE.format(people="r.person_id = one")};
    END LOOP;
END $$""",
    f"""CREATE OR REPLACE FUNCTION {TABLE}_registration() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status = '{CONFIRMED}' THEN
            PERFORM {TABLE}_refresh(ARRAY[NEW.person_id]);
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        IF OLD.status = '{CONFIRMED}' THEN
            PERFORM {TABLE}_refresh(ARRAY[OLD.person_id]);
        END IF;
    ELSIF (OLD.status = '{CONFIRMED}' OR NEW.status = '{CONFIRMED}')
        AND (OLD.status IS DISTINCT FROM NEW.status
             OR OLD.person_id IS DISTINCT FROM NEW.person_id
             OR OLD.event_id IS DISTINCT FROM NEW.event_id) THEN
        PERFORM {TABLE}_refresh(ARRAY[OLD.person_id, NEW.person_id]);
    END IF;
    RETURN NULL;
END $$""",
    f"""CREATE OR REPLACE FUNCTION {TABLE}_event() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM {TABLE}_refresh(ARRAY({EVENT_PEOPLE}));
    RETURN NULL;
END $$""",
    f"DROP TRIGGER IF EXISTS {TABLE}_registration ON registrations_registration",
    f"CREATE TRIGGER {TABLE}_registration "
    "AFTER INSERT OR DELETE OR UPDATE OF status, person_id, event_id "
    f"ON registrations_registration FOR EACH ROW EXECUTE FUNCTION {TABLE}_registration()",
    f"DROP TRIGGER IF EXISTS {TABLE}_event ON events_event",
    f"CREATE TRIGGER {TABLE}_event AFTER UPDATE OF starts_at ON events_event FOR EACH ROW "
    "WHEN (OLD.starts_at IS DISTINCT FROM NEW.starts_at) "
    f"EXECUTE FUNCTION {TABLE}_event()",
]


async def _forward(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    statements = SQLITE if client.capabilities.dialect == "sqlite" else POSTGRES
    for statement in statements:
        await client.execute_script(statement)
    await client.execute_script(f"DELETE FROM {TABLE}")
    await client.execute_script(RECOMPUTE.format(people="1 = 1"))


class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('core', '0002_user_session_version'), ('core', '0003_retention_indexes'), ('core', '0004_mail_claims'), ('events', '0006_e2_attestation_flag'), ('people', '0001_initial'), ('people', '0002_campb_jps_news_purpose'), ('people', '0003_retention_indexes'), ('people', '0004_campa_tags'), ('people', '0005_soak_indexes'), ('people', '0006_r1_plans'), ('registrations', '0009_e2_attestations')]

    initial = False

    operations = [
        ops.CreateModel(
            name='FirstParticipation',
            fields=[
                ('person_id', fields.IntField(primary_key=True, unique=True, db_index=True)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'registrations_first_participation', 'app': 'registrations', 'pk_attr': 'person_id', 'table_description': "Each person's first participation: the start of the earliest event among their"},
            bases=['Model'],
        ),
        ops.RunPython(_forward),
    ]
