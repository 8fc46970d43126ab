"""The back office's words for statuses, sources, question kinds and history entries (the
audit labels are `core.audit`'s, shared with the audit log page)."""

from __future__ import annotations

from typing import Any

from core.audit import action_label, details_text
from core.i18n import N_, _, current_language
from people.phones import format_phone
from people.reference import purpose_label
from registrations.models import QuestionKind, RegistrationSource, RegistrationStatus

STATUS_LABELS = {
    RegistrationStatus.CONFIRMED: N_("Confirmée"),
    RegistrationStatus.WAITLISTED: N_("Liste d'attente"),
    RegistrationStatus.PENDING_APPROVAL: N_("À approuver"),
    RegistrationStatus.DECLINED: N_("Refusée"),
    RegistrationStatus.CANCELLED: N_("Annulée"),
    RegistrationStatus.PENDING_EMAIL: N_("Courriel à confirmer"),
}
SOURCE_LABELS = {
    RegistrationSource.FORM: N_("Formulaire public"),
    RegistrationSource.API: N_("API"),
    RegistrationSource.INVITATION: N_("Invitation"),
    RegistrationSource.WALKIN: N_("Sur place"),
    RegistrationSource.IMPORT: N_("Importation"),
    RegistrationSource.BACKOFFICE: N_("Ajout manuel"),
}
KIND_LABELS = {
    QuestionKind.SHORT_TEXT: N_("Texte court"),
    QuestionKind.LONG_TEXT: N_("Texte long"),
    QuestionKind.SINGLE_CHOICE: N_("Choix unique"),
    QuestionKind.MULTIPLE_CHOICE: N_("Choix multiples"),
    QuestionKind.YES_NO: N_("Oui ou non"),
    QuestionKind.NUMBER: N_("Nombre"),
}


def status_label(status: str) -> str:
    try:
        return _(STATUS_LABELS[RegistrationStatus(status)])
    except ValueError:
        return status


def status_choices() -> list[tuple[str, str]]:
    return [(s.value, _(label)) for s, label in STATUS_LABELS.items()]


def source_label(source: str) -> str:
    try:
        return _(SOURCE_LABELS[RegistrationSource(source)])
    except ValueError:
        return source


def kind_label(kind: str) -> str:
    try:
        return _(KIND_LABELS[QuestionKind(kind)])
    except ValueError:
        return kind


def kind_choices() -> list[tuple[str, str]]:
    return [(k.value, _(label)) for k, label in KIND_LABELS.items()]


def template_helpers() -> dict[str, Any]:
    """The label functions the back-office templates use."""
    return {
        "status_label": status_label,
        "source_label": source_label,
        "kind_label": kind_label,
        "action_label": action_label,
        "details_text": details_text,
        "purpose_label": purpose_label,
        "format_phone": format_phone,
        "language": current_language.get(),
    }
