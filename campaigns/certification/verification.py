"""Public verification of a certificate: what anyone scanning a window sticker learns.

One rule says whether a certificate is in force (`in_force_sql`, `state_of`): its status is valid
or expiring and its validity has not ended. The directory, the stats of today and this page
read it. The page tells a visitor, in French first: valid (200), or no longer valid —
expired, lapsed, revoked or replaced by a renewal (410 Gone) — or unknown code (404).
It shows the employer's public (legal) name, the program, the level and the dates, nothing
else about the employer or its contact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from campaigns.certification.models import Certificate, CertificateStatus
from core.errors import AppError, NotFound
from core.i18n import _

# Statuses of a certificate in force (an "expiring" one is still valid, being renewed).
IN_FORCE_STATUSES = (CertificateStatus.VALID, CertificateStatus.EXPIRING)
# What the verification answers with 410 Gone.
GONE_STATES = frozenset({"expired", "lapsed", "revoked", "renewed"})
CODE_MAX_LENGTH = 16


def in_force_sql(alias: str, now: datetime) -> tuple[str, list[Any]]:
    """The SQL condition (on the certificate table aliased `alias`) and its values: the
    certificates in force at `now`. `state_of` says the same of one certificate."""
    marks = ", ".join("?" for _ in IN_FORCE_STATUSES)
    condition = f"{alias}.status IN ({marks}) AND {alias}.valid_until > ?"
    return condition, [*(s.value for s in IN_FORCE_STATUSES), now]


def normalize_code(raw: str) -> str:
    """A code as printed or typed: case, spaces and dashes forgiven."""
    return "".join(ch for ch in raw.upper() if ch.isalnum())


def verify_path(code: str) -> str:
    return f"/certification/verify/{code}"


def verify_url(base_url: str, code: str) -> str:
    """The public verification URL (what the certificate's and the sticker's QR encode)."""
    return base_url.rstrip("/") + verify_path(code)


@dataclass(frozen=True)
class Verification:
    code: str
    state: str  # valid, expiring, expired, lapsed, revoked, renewed
    employer_name: str
    program_name: str
    level_code: str
    level_name_fr: str
    level_name_en: str
    issued_at: datetime
    valid_until: datetime
    revoked_at: datetime | None
    replacement_code: str | None  # the renewal's certificate, for a renewed one

    @property
    def in_force(self) -> bool:
        return self.state in ("valid", "expiring")

    @property
    def gone(self) -> bool:
        return self.state in GONE_STATES

    def level_name(self, language: str = "fr") -> str:
        return (self.level_name_en if language == "en" else "") or self.level_name_fr

    def state_message(self) -> str:
        messages = {
            "valid": _("Ce certificat est valide."),
            "expiring": _("Ce certificat est valide; son renouvellement est en cours."),
            "expired": _("Ce certificat est expiré : sa période de validité est terminée."),
            "lapsed": _("Ce certificat est échu : il n'a pas été renouvelé à temps."),
            "revoked": _("Ce certificat a été révoqué : l'employeur n'est plus certifié."),
            "renewed": _(
                "Ce certificat a été remplacé par un certificat renouvelé : vérifiez le "
                "nouveau certificat."
            ),
        }
        return messages[self.state]

    def as_json(self, base_url: str) -> dict[str, Any]:
        return {
            "code": self.code,
            "state": self.state,
            "valid": self.in_force,
            "employer": self.employer_name,
            "program": self.program_name,
            "level": {"code": self.level_code, "name": self.level_name_fr},
            "issued_at": self.issued_at.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "replacement_url": (
                verify_url(base_url, self.replacement_code) if self.replacement_code else None
            ),
            "verify_url": verify_url(base_url, self.code),
        }


class CertificateGone(AppError):
    """410: the certificate existed but is no longer valid (JSON twin of the page)."""

    status_code = 410

    def __init__(self, verification: Verification, base_url: str) -> None:
        super().__init__(
            verification.state_message(),
            code=f"certificate_{verification.state}",
            extra={"certificate": verification.as_json(base_url)},
        )


def state_of(status: CertificateStatus, valid_until: datetime, now: datetime) -> str:
    """valid, expiring, expired (past its end, not yet lapsed), lapsed, revoked, renewed."""
    if status == CertificateStatus.REVOKED:
        return "revoked"
    if status == CertificateStatus.LAPSED:
        return "lapsed"
    if status == CertificateStatus.RENEWED:
        return "renewed"
    if valid_until <= now:  # the upkeep has not lapsed it yet
        return "expired"
    return "expiring" if status == CertificateStatus.EXPIRING else "valid"


async def verify(raw_code: str, *, now: datetime | None = None) -> Verification:
    """The verification of the certificate `raw_code`; NotFound for an unknown code."""
    code = normalize_code(raw_code)
    if not code or len(code) > CODE_MAX_LENGTH:
        raise NotFound(_("Aucun certificat ne porte ce code."), code="certificate_not_found")
    rows = await Certificate.filter(code=code).values(
        "application_id",
        "code",
        "status",
        "issued_at",
        "valid_until",
        "revoked_at",
        "level__code",
        "level__name_fr",
        "level__name_en",
        "application__employer__legal_name",
        "application__program__name",
    )
    if not rows:
        raise NotFound(_("Aucun certificat ne porte ce code."), code="certificate_not_found")
    row = rows[0]
    state = state_of(CertificateStatus(row["status"]), row["valid_until"], now or datetime.now(UTC))
    replacement = None
    if state == "renewed":
        codes = (
            await Certificate.filter(application__previous_id=row["application_id"])
            .order_by("-issued_at")
            .limit(1)
            .values_list("code", flat=True)
        )
        replacement = codes[0] if codes else None
    return Verification(
        code=row["code"],
        state=state,
        employer_name=row["application__employer__legal_name"],
        program_name=row["application__program__name"],
        level_code=row["level__code"],
        level_name_fr=row["level__name_fr"],
        level_name_en=row["level__name_en"] or "",
        issued_at=row["issued_at"],
        valid_until=row["valid_until"],
        revoked_at=row["revoked_at"],
        replacement_code=str(replacement) if replacement else None,
    )
