"""Retention (Québec Law 25): personal data is kept as long as it serves, then anonymized.

The rule, applied by the periodic upkeep (task `registrations.retention`, at most hourly)
and on demand by `rassembleur retention` (`--dry-run` prints what it would do):

- A registration to an event that ended more than its retention period ago (the event's
  `retention_months`, else the RETENTION_MONTHS setting) is anonymized
  (`anonymize_registrations`): answers to the custom questions, what was typed at the
  door, the stored copies of its messages; its public id and ticket code change, so the
  manage link and the QR code open nothing any more. When its person stays (active
  elsewhere, or a consent on record), the registration is moved onto an anonymous person
  of the same clientele and territory: the old event no longer names them.
- A person with no activity for RETENTION_MONTHS (no registration to an event still
  within its period, no consent entry, no record change or import, no activity
  submission, not the contact of such an event) and no consent on record is erased
  through the erasure path (`people.privacy.anonymize_person`, the one erasure rule).

What the reports count stays: status, party size, clientele, territory, organization
(and so its sector), source, language, check-ins and their dates.

Work is done in batches of `BATCH_SIZE` rows, one transaction each (bounded memory; a
stop loses one batch at most; progress is logged). Only rows not yet anonymized are
picked, so a second run changes nothing. On PostgreSQL each batch locks its rows with
`FOR UPDATE SKIP LOCKED`: several processes running the upkeep at once share the work and
never do the same row twice; SQLite runs one writer at a time (`BEGIN IMMEDIATE`).
"""

from __future__ import annotations

import calendar
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from core import db, maintenance
from core.audit import audit
from core.auth import Principal
from core.mail.outbox import forget_caused_messages
from core.settings import Settings
from events.models import ActivitySubmission, Event
from people.models import Consent, ConsentPurpose, Person
from people.privacy import ANONYMIZED_FIRST_NAME, ANONYMIZED_LAST_NAME, anonymize_person
from registrations.models import CheckIn, Registration, Scan
from registrations.tickets import new_public_id, new_ticket_code

log = logging.getLogger("rassembleur.retention")

BATCH_SIZE = 200
UPKEEP_EVERY = 3600.0  # seconds between two runs by the periodic upkeep (per process)
REGISTRATION_CAUSE = "registrations.Registration"
EVENT_CAUSE = "events.Event"
# Consents that keep a person (a standing relationship). The parental consent belongs to
# one youth registration: it does not keep the person once that registration is over.
STANDING_PURPOSES = (
    ConsentPurpose.EVENT_COMMUNICATIONS,
    ConsentPurpose.NEWSLETTER,
    ConsentPurpose.PHOTOS,
)


def months_before(moment: datetime, months: int) -> datetime:
    """The same moment `months` calendar months earlier (the day clamped to the month's
    last: 31 March minus one month is 28 or 29 February)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


# --------------------------------------------------------------------------- the rule


@dataclass(frozen=True)
class Periods:
    """The cut-off dates of one run: the default period's and each event override's."""

    default_months: int
    now: datetime
    overrides: tuple[int, ...] = ()

    @property
    def cutoff(self) -> datetime:
        """People without activity since this moment are anonymized."""
        return months_before(self.now, self.default_months)

    def expired(self, alias: str = "e") -> tuple[str, list[Any]]:
        """SQL true when event `alias` ended more than its retention period ago (never
        NULL, so `NOT (...)` means "still within its period")."""
        pairs = [(0, self.cutoff)] + [(m, months_before(self.now, m)) for m in self.overrides]
        sql = " OR ".join(
            f"(COALESCE({alias}.retention_months, 0) = ? AND {alias}.ends_at < ?)" for _ in pairs
        )
        values: list[Any] = []
        for months, cutoff in pairs:
            values += [months, cutoff]
        return f"({sql})", values


async def periods(default_months: int, now: datetime | None = None) -> Periods:
    rows = await (
        Event.filter(retention_months__isnull=False)
        .order_by("retention_months")
        .distinct()
        .values("retention_months")
    )
    return Periods(
        default_months=default_months,
        now=now or datetime.now(UTC),
        overrides=tuple(sorted({int(row["retention_months"]) for row in rows})),
    )


def _for_update(*aliases: str) -> str:
    if db.dialect() != "postgres":
        return ""
    return f" FOR UPDATE OF {', '.join(aliases)} SKIP LOCKED"


async def expired_registrations(
    plan: Periods, after_id: int, limit: int, *, lock: bool
) -> list[dict[str, Any]]:
    """Registrations to events past their period, not yet anonymized, by id after `after_id`.

    With `lock`, their people are locked too (as the erasure locks a person before their
    registrations): the same order everywhere, so concurrent runs and erasures never
    deadlock, and a person being erased elsewhere is left to that erasure."""
    expired, values = plan.expired("e")
    sql = (
        "SELECT r.id, r.person_id, r.event_id, r.active_key "  # noqa: S608 - names from the models
        f"FROM {Registration._meta.db_table} r JOIN {Event._meta.db_table} e ON e.id = r.event_id "
        f"JOIN {Person._meta.db_table} p ON p.id = r.person_id "
        f"WHERE r.anonymized_at IS NULL AND r.id > ? AND {expired} "
        "ORDER BY r.id LIMIT ?"
    )
    if lock:
        sql += _for_update("r", "p")
    return await db.fetch_values(Registration, sql, [after_id, *values, limit])


async def inactive_people(plan: Periods, after_id: int, limit: int, *, lock: bool) -> list[int]:
    """Ids (after `after_id`) of people not erased, with no activity since the cut-off and
    no consent on record. Activity: the record created or changed (an import, an edit, a
    registration updating it), a consent entry, a registration to an event still within
    its period, being the contact of such an event, an activity submission from their
    e-mail address."""
    cutoff = plan.cutoff
    expired_r, values_r = plan.expired("er")
    expired_c, values_c = plan.expired("ec")
    consents, registrations = Consent._meta.db_table, Registration._meta.db_table
    events, submissions = Event._meta.db_table, ActivitySubmission._meta.db_table
    purposes = ", ".join("?" for _ in STANDING_PURPOSES)
    sql = (
        f"SELECT p.id FROM {Person._meta.db_table} p "  # noqa: S608 - names from the models
        "WHERE p.erased_at IS NULL AND p.id > ? AND p.created_at < ? AND p.updated_at < ? "
        f"AND NOT EXISTS (SELECT 1 FROM {consents} c WHERE c.person_id = p.id AND c.at >= ?) "
        f"AND NOT EXISTS (SELECT 1 FROM {consents} c WHERE c.person_id = p.id "
        f"AND c.granted = ? AND c.purpose IN ({purposes}) AND NOT EXISTS (SELECT 1 FROM "
        f"{consents} w WHERE w.person_id = c.person_id AND w.purpose = c.purpose "
        "AND w.id > c.id)) "
        f"AND NOT EXISTS (SELECT 1 FROM {registrations} r JOIN {events} er "
        f"ON er.id = r.event_id WHERE r.person_id = p.id AND NOT {expired_r}) "
        f"AND NOT EXISTS (SELECT 1 FROM {events} ec WHERE ec.contact_person_id = p.id "
        f"AND NOT {expired_c}) "
        f"AND NOT EXISTS (SELECT 1 FROM {submissions} s "
        "WHERE LOWER(s.contact_email) = p.email_key AND s.updated_at >= ?) "
        "ORDER BY p.id LIMIT ?"
    )
    if lock:
        sql += _for_update("p")
    values: list[Any] = [after_id, cutoff, cutoff, cutoff, True]
    values += [purpose.value for purpose in STANDING_PURPOSES]
    values += [*values_r, *values_c, cutoff, limit]
    return [row["id"] for row in await db.fetch_values(Person, sql, values)]


# --------------------------------------------------------------------------- anonymizing


async def anonymize_registrations(ids: Sequence[int]) -> int:
    """Anonymize registrations (call inside a transaction): answers emptied, public id and
    ticket code replaced (the manage link and QR code open nothing any more), what was
    typed at the door (search terms, volunteer names) emptied, the stored copies of the
    messages they caused emptied. Status, party size, clientele, territory, organization,
    source and check-ins stay. Returns how many were not anonymized yet.

    Used by the erasure of a person and by the retention rule alike."""
    if not ids:
        return 0
    rows = await Registration.filter(id__in=ids).values("id", "event_id", "person_id")
    changed = await Registration.filter(id__in=ids, anonymized_at__isnull=True).update(
        anonymized_at=datetime.now(UTC)
    )
    await Registration.filter(id__in=ids).update(answers={})
    for row in rows:
        await Registration.filter(id=row["id"]).update(
            public_id=new_public_id(), ticket_code=new_ticket_code()
        )
    await Scan.filter(registration_id__in=ids).update(detail="", volunteer="")
    await CheckIn.filter(registration_id__in=ids).update(volunteer="")
    await forget_caused_messages((REGISTRATION_CAUSE, row["id"]) for row in rows)
    events_of: dict[int, set[int]] = defaultdict(set)
    for row in rows:
        events_of[row["person_id"]].add(row["event_id"])
    for person_id, event_ids in events_of.items():  # e.g. the cancellation notices
        await forget_caused_messages(
            ((EVENT_CAUSE, event_id) for event_id in event_ids), person_id=person_id
        )
    return changed


async def _detach(rows: list[dict[str, Any]], now: datetime) -> None:
    """Move registrations off the people who stay, onto one anonymous person each (of the
    same language, clientele and territory, so counts by person stay right)."""
    by_person: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_person[row["person_id"]].append(row)
    staying = await Person.filter(id__in=list(by_person), erased_at__isnull=True).values(
        "id", "language", "clientele_id", "territory_id"
    )
    for person in staying:
        anonymous = await Person.create(
            first_name=ANONYMIZED_FIRST_NAME,
            last_name=ANONYMIZED_LAST_NAME,
            email=None,
            email_key=None,
            language=person["language"],
            clientele_id=person["clientele_id"],
            territory_id=person["territory_id"],
            erased_at=now,
        )
        moved = by_person[person["id"]]
        await Registration.filter(id__in=[row["id"] for row in moved]).update(
            person_id=anonymous.id
        )
        for row in moved:
            if row["active_key"]:  # "<event_id>:<person_id>" would still name them
                await Registration.filter(id=row["id"]).update(
                    active_key=f"{row['event_id']}:{anonymous.id}"
                )
        causes = [(REGISTRATION_CAUSE, row["id"]) for row in moved]
        causes += [(EVENT_CAUSE, event_id) for event_id in {row["event_id"] for row in moved}]
        await forget_caused_messages(causes, person_id=person["id"], new_person_id=anonymous.id)


# --------------------------------------------------------------------------- runs


@dataclass
class RetentionReport:
    retention_months: int
    people_erased: int = 0
    registrations_anonymized: int = 0
    batches: int = 0

    @property
    def changed(self) -> int:
        return self.people_erased + self.registrations_anonymized


async def _erase_inactive_people(plan: Periods, report: RetentionReport, batch_size: int) -> None:
    after = 0
    while True:
        async with in_transaction():
            ids = await inactive_people(plan, after, batch_size, lock=True)
            if not ids:
                return
            erased = registrations = 0
            for person_id in ids:
                done = await anonymize_person(
                    person_id, None, {"retention_months": plan.default_months}
                )
                if done is not None and done.counts is not None:
                    erased += 1
                    registrations += done.counts.get("registrations_anonymized", 0)
        after = ids[-1]
        report.people_erased += erased
        report.registrations_anonymized += registrations
        report.batches += 1
        log.info(
            "conservation : %d personnes anonymisées dans ce lot (%d en tout)",
            erased,
            report.people_erased,
        )


async def _anonymize_expired_registrations(
    plan: Periods, report: RetentionReport, batch_size: int
) -> None:
    after = 0
    while True:
        async with in_transaction():
            rows = await expired_registrations(plan, after, batch_size, lock=True)
            if not rows:
                return
            changed = await anonymize_registrations([row["id"] for row in rows])
            await _detach(rows, plan.now)
            # What was typed at the door of these events without finding a registration.
            await Scan.filter(
                event_id__in={row["event_id"] for row in rows}, registration_id__isnull=True
            ).update(detail="", volunteer="")
        after = rows[-1]["id"]
        report.registrations_anonymized += changed
        report.batches += 1
        log.info(
            "conservation : %d inscriptions anonymisées dans ce lot (%d en tout)",
            changed,
            report.registrations_anonymized,
        )


async def apply_retention(
    settings: Settings,
    *,
    actor: Principal | None = None,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
) -> RetentionReport:
    """Apply the retention rule once (see the module). The audit log records the run with
    its counts when it changed something, or when someone asked for it (`actor`)."""
    plan = await periods(settings.retention_months, now)
    report = RetentionReport(retention_months=settings.retention_months)
    # People first: an inactive person is erased with their registrations attached (no
    # anonymous copy needed); what is left belongs to people who stay.
    await _erase_inactive_people(plan, report, batch_size)
    await _anonymize_expired_registrations(plan, report, batch_size)
    if report.changed or actor is not None:
        await audit(
            actor,
            "retention.applied",
            None,
            {
                "retention_months": report.retention_months,
                "people_erased": report.people_erased,
                "registrations_anonymized": report.registrations_anonymized,
            },
        )
    if report.changed:
        log.info(
            "conservation : %d personnes et %d inscriptions anonymisées",
            report.people_erased,
            report.registrations_anonymized,
        )
    return report


@dataclass
class ExpiredEvent:
    event: Event
    registrations: int


@dataclass
class RetentionPreview:
    retention_months: int
    events: list[ExpiredEvent] = field(default_factory=list)
    people: int = 0

    @property
    def registrations(self) -> int:
        return sum(item.registrations for item in self.events)


async def preview_retention(settings: Settings, *, now: datetime | None = None) -> RetentionPreview:
    """What `apply_retention` would anonymize now, changing nothing (the dry run)."""
    plan = await periods(settings.retention_months, now)
    preview = RetentionPreview(retention_months=settings.retention_months)
    expired, values = plan.expired("e")
    rows = await db.fetch_values(
        Registration,
        "SELECT r.event_id, COUNT(*) AS n "  # noqa: S608 - names from the models
        f"FROM {Registration._meta.db_table} r JOIN {Event._meta.db_table} e ON e.id = r.event_id "
        f"WHERE r.anonymized_at IS NULL AND {expired} GROUP BY r.event_id",
        values,
    )
    counts = {row["event_id"]: int(row["n"]) for row in rows}
    for event in await Event.filter(id__in=list(counts)).order_by("ends_at", "id"):
        preview.events.append(ExpiredEvent(event, counts[event.id]))
    after = 0
    while ids := await inactive_people(plan, after, BATCH_SIZE * 5, lock=False):
        preview.people += len(ids)
        after = ids[-1]
    return preview


def register_upkeep(settings: Settings, every: float = UPKEEP_EVERY) -> None:
    """Run the rule with the periodic upkeep (beside the mail worker), at most once every
    `every` seconds per process: periods are counted in months, and an idle run still
    reads every person's activity."""
    last: list[float] = []

    async def retention() -> int:
        now = time.monotonic()
        if last and now - last[-1] < every:
            return 0
        last[:] = [now]
        return (await apply_retention(settings)).changed

    maintenance.register("registrations.retention", retention)
