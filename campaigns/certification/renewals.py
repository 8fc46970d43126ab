"""Renewals, run by the periodic upkeep (`core.maintenance`, registered in
`campaigns.certification.receivers`).

1. A certification whose certificate ends within its program's renewal window becomes
   `expiring`; that transition mails the renewal invitation with its pre-filled renewal
   link (`workflow.renew_url`, `applications.start_renewal`).
2. A certification still `certified` or `expiring` at its certificate's end becomes
   `lapsed` (a certified renewal has already made it `renewed`).

Idempotent: each move is the workflow's conditional transition, so a second run (or a
second worker) finds nothing left to do.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from campaigns.certification import workflow
from campaigns.certification.models import (
    Application,
    ApplicationStatus,
    Certificate,
    CertificateStatus,
    Program,
)
from core.auth import Principal
from core.errors import Conflict
from core.settings import Settings

S = ApplicationStatus
UPKEEP = Principal.system("entretien")
BATCH = 500


async def run_renewals(settings: Settings, now: datetime | None = None) -> int:
    """Move due certifications into the renewal window, then lapse expired ones."""
    now = now or datetime.now(UTC)
    changed = 0
    lapsing = (
        await Certificate.filter(
            valid_until__lte=now, status__in=[CertificateStatus.VALID, CertificateStatus.EXPIRING]
        )
        .limit(BATCH)
        .values("application_id")
    )
    for row in lapsing:
        changed += await _move(settings, int(row["application_id"]), S.LAPSED, now)
    windows = {p.id: p.renewal_window_days for p in await Program.all()}
    longest = max(windows.values(), default=0)
    due = (
        await Certificate.filter(
            status=CertificateStatus.VALID,
            valid_until__gt=now,
            valid_until__lte=now + timedelta(days=longest),
        )
        .limit(BATCH)
        .values("application_id", "valid_until", "application__program_id")
    )
    for row in due:
        window = windows.get(int(row["application__program_id"]), 0)
        if row["valid_until"] <= now + timedelta(days=window):
            changed += await _move(settings, int(row["application_id"]), S.EXPIRING, now)
    return changed


async def _move(settings: Settings, application_id: int, to: S, now: datetime) -> int:
    application = await Application.get_or_none(id=application_id)
    if application is None or application.status not in workflow.CURRENT:
        return 0
    try:
        await workflow.transition(UPKEEP, application_id, to, settings=settings, now=now)
    except Conflict:  # moved meanwhile (renewed, revoked, another worker)
        return 0
    return 1
