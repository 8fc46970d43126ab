"""Labels of the events' coded values (kinds, statuses, visibility, formats, partner roles,
phone setting), as catalog message ids translated when asked for."""

from __future__ import annotations

from core.i18n import N_, _
from events.models import (
    AttendanceMode,
    EventKind,
    EventStatus,
    PartnerRole,
    PhoneField,
    Visibility,
)

# Labels as catalog message ids, translated when asked for (one table each, built once).
KIND_LABELS = {
    EventKind.ANNUAL_LAUNCH: N_("Lancement annuel du portrait"),
    EventKind.PERSEVERANCE_DAYS: N_("Journées de la persévérance scolaire"),
    EventKind.REGIONAL_EVENT: N_("Événement régional"),
    EventKind.ACTIVITY: N_("Activité"),
    EventKind.MEETING: N_("Rencontre de comité"),
    EventKind.TRAINING: N_("Formation"),
}
STATUS_LABELS = {
    EventStatus.DRAFT: N_("Brouillon"),
    EventStatus.PUBLISHED: N_("Publié"),
    EventStatus.CANCELLED: N_("Annulé"),
    EventStatus.COMPLETED: N_("Terminé"),
}
VISIBILITY_LABELS = {
    Visibility.PUBLIC: N_("Public"),
    Visibility.UNLISTED: N_("Non répertorié (accessible par lien)"),
    Visibility.PRIVATE: N_("Privé (sur invitation)"),
}
MODE_LABELS = {
    AttendanceMode.IN_PERSON: N_("En personne"),
    AttendanceMode.ONLINE: N_("En ligne"),
    AttendanceMode.HYBRID: N_("Hybride (en personne et en ligne)"),
}
PHONE_FIELD_LABELS = {
    PhoneField.HIDDEN: N_("Ne pas demander"),
    PhoneField.OPTIONAL: N_("Facultatif"),
    PhoneField.REQUIRED: N_("Obligatoire"),
}

ROLE_LABELS = {
    PartnerRole.FIDUCIARY: N_("Fiduciaire"),
    PartnerRole.PARTNER: N_("Partenaire"),
    PartnerRole.HOST: N_("Hôte"),
    PartnerRole.FUNDER: N_("Bailleur de fonds"),
}


def kind_label(kind: str) -> str:
    return _(KIND_LABELS[EventKind(kind)])


def kind_choices() -> list[tuple[str, str]]:
    return [(k.value, kind_label(k)) for k in EventKind]


def status_label(status: str) -> str:
    return _(STATUS_LABELS[EventStatus(status)])


def visibility_label(visibility: str) -> str:
    return _(VISIBILITY_LABELS[Visibility(visibility)])


def mode_label(mode: str) -> str:
    return _(MODE_LABELS[AttendanceMode(mode)])


def partner_role_label(role: str) -> str:
    return _(ROLE_LABELS[PartnerRole(role)])


def phone_field_label(setting: str) -> str:
    return _(PHONE_FIELD_LABELS[PhoneField(setting)])


def phone_field_choices() -> list[tuple[str, str]]:
    return [(p.value, phone_field_label(p)) for p in PhoneField]
