"""The audit log helper every package uses: who did what, when, to what; and the words
the back office shows for an entry (`action_label`, `details_text`).

The labels live here, as catalog msgids keyed by the action name every package writes:
the audit log page (core) shows every package's entries and core imports no feature
package, so the words come with the names rather than from the packages. A test lists
every `audit(...)` call in the code and fails on an action without a label. Unknown
actions, keys and values fall back to the raw text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from core.i18n import N_, _
from core.models import AuditEntry

if TYPE_CHECKING:
    from core.auth import Principal


def _target(target: Any) -> tuple[str, str]:
    if target is None:
        return "", ""
    if isinstance(target, tuple):
        return str(target[0]), str(target[1])
    meta = getattr(target, "_meta", None)
    if meta is not None:
        return f"{meta.app}.{type(target).__name__}", str(target.pk)
    return type(target).__name__, str(target)


async def audit(
    actor: Principal | None,
    action: str,
    target: Any = None,
    details: dict[str, Any] | None = None,
    *,
    ip: str = "",
) -> AuditEntry:
    """Record one entry. `target` is a model instance or a (type, id) tuple.

    Call it inside the same transaction as the change it records.
    """
    target_type, target_id = _target(target)
    user_id = actor.user_id if actor is not None else None
    label = actor.label if actor is not None else "système"
    return await AuditEntry.create(
        actor_id=user_id,
        actor_label=label[:254],
        action=action[:64],
        target_type=target_type[:64],
        target_id=target_id[:64],
        details=details or {},
        ip=(ip or (actor.ip if actor is not None else ""))[:64],
    )


# --------------------------------------------------------------------------- labels

ACTION_LABELS: dict[str, str] = {
    # accounts
    "login.succeeded": N_("Connexion réussie"),
    "login.failed": N_("Connexion refusée"),
    "user.created": N_("Compte créé"),
    "user.role_changed": N_("Rôle modifié"),
    "user.activated": N_("Compte réactivé"),
    "user.deactivated": N_("Compte désactivé"),
    "user.password_changed": N_("Mot de passe modifié"),
    "user.sessions_ended": N_("Déconnexion sur tous les appareils"),
    "token.created": N_("Jeton d'API créé"),
    "token.revoked": N_("Jeton d'API révoqué"),
    "outbox.retry": N_("Message renvoyé"),
    "outbox.retry_dead": N_("Messages abandonnés remis dans la file d'envoi"),
    # people
    "person.created": N_("Personne ajoutée"),
    "person.updated": N_("Fiche de la personne modifiée"),
    "person.exported": N_("Données d'une personne exportées"),
    "person.erased": N_("Données d'une personne effacées"),
    "people.imported": N_("Personnes importées"),
    "people.exported": N_("Personnes exportées"),
    "retention.applied": N_("Durée de conservation appliquée (données anonymisées)"),
    "consent.granted": N_("Consentement donné"),
    "consent.withdrawn": N_("Consentement retiré"),
    "organization.created": N_("Organisme créé"),
    "organization.updated": N_("Organisme modifié"),
    "clientele.created": N_("Clientèle créée"),
    "clientele.updated": N_("Clientèle modifiée"),
    "territories.imported": N_("Territoires importés"),
    # events
    "event.created": N_("Événement créé"),
    "event.updated": N_("Événement modifié"),
    "event.published": N_("Événement publié"),
    "edition.launches_planned": N_("Lancements territoriaux planifiés"),
    "edition.launches_published": N_("Lancements territoriaux publiés"),
    "event.cancelled": N_("Événement annulé"),
    "event.deleted": N_("Événement supprimé"),
    "event.dates_changed": N_("Dates de l'événement modifiées"),
    "event.capacity_changed": N_("Capacité de l'événement modifiée"),
    "event.duplicated": N_("Événement dupliqué"),
    "event.territorial_children_created": N_("Événements par territoire créés"),
    "event.change_recorded": N_("Changement à annoncer aux personnes inscrites"),
    "jps_submission.created": N_("Proposition d'activité reçue"),
    "jps_submission.resubmitted": N_("Proposition d'activité soumise de nouveau"),
    "jps_submission.approved": N_("Proposition d'activité acceptée"),
    "jps_submission.changes_requested": N_("Modifications demandées à une proposition"),
    "jps_submission.refused": N_("Proposition d'activité refusée"),
    # registrations
    "registration.created": N_("Inscription créée"),
    "registration.approved": N_("Inscription approuvée"),
    "registration.declined": N_("Inscription refusée"),
    "registration.cancelled": N_("Inscription annulée"),
    "registration.promoted": N_("Sortie de la liste d'attente"),
    "registration.email_confirmed": N_("Inscription confirmée par courriel"),
    "registration.hold_expired": N_("Places libérées (courriel non confirmé à temps)"),
    "registration.moved": N_("Déplacée depuis un autre événement"),
    "registration.party_size_changed": N_("Taille du groupe modifiée"),
    "registration.answers_changed": N_("Réponses modifiées"),
    "registrations.exported": N_("Inscriptions exportées"),
    "question.created": N_("Question ajoutée"),
    "question.updated": N_("Question modifiée"),
    "question.deactivated": N_("Question désactivée"),
    "question.reactivated": N_("Question réactivée"),
    "question.deleted": N_("Question supprimée"),
    "question.moved": N_("Question déplacée"),
    "checkin.undone": N_("Accueil annulé"),
    "checkin.superseded": N_("Accueil remplacé par un scan antérieur"),
    "checkin.exported": N_("Présences exportées"),
    "checkin.device_paired": N_("Tablette d'accueil jumelée"),
    "checkin.device_revoked": N_("Tablette d'accueil révoquée"),
    "attestation.revoked": N_("Attestation de participation révoquée"),
    "attestation.mailing_requested": N_("Envoi des attestations de participation demandé"),
    "person.tags": N_("Étiquettes de la personne modifiées"),
    "organization.tags": N_("Étiquettes de l'organisme modifiées"),
    # campaigns
    "audience.created": N_("Audience créée"),
    "audience.updated": N_("Audience modifiée"),
    "campaign.created": N_("Campagne créée"),
    "campaign.updated": N_("Campagne modifiée"),
    "campaign.scheduled": N_("Campagne planifiée"),
    "campaign.sending": N_("Envoi de la campagne lancé"),
    "campaign.sent": N_("Campagne envoyée"),
    "campaign.paused": N_("Campagne mise en pause"),
    "campaign.resumed": N_("Campagne reprise"),
    "campaign.cancelled": N_("Campagne annulée"),
    "campaign.test_sent": N_("Essai de campagne envoyé"),
    "campaign.rsvp": N_("Réponse à une invitation"),
    # employer certification
    "certification.program_created": N_("Programme de certification créé"),
    "certification.application_created": N_("Demande de certification commencée"),
    "certification.renewal_started": N_("Renouvellement de certification commencé"),
    "certification.submitted": N_("Demande de certification soumise"),
    "certification.resubmitted": N_("Demande de certification soumise de nouveau"),
    "certification.review_started": N_("Étude de la demande de certification commencée"),
    "certification.certified": N_("Employeur certifié"),
    "certification.changes_requested": N_("Modifications demandées à une demande de certification"),
    "certification.refused": N_("Demande de certification refusée"),
    "certification.expiring": N_("Certification entrée dans la période de renouvellement"),
    "certification.renewed": N_("Certification renouvelée"),
    "certification.lapsed": N_("Certification échue"),
    "certification.revoked": N_("Certification révoquée"),
    "certification.message_sent": N_("Message envoyé à l'employeur"),
    # evaluations
    "evaluation.form_created": N_("Questionnaire d'évaluation créé"),
    "evaluation.form_changed": N_("Questionnaire d'évaluation modifié"),
    "evaluation.sent": N_("Évaluation envoyée"),
    "evaluation.exported": N_("Réponses d'évaluation exportées"),
    # reports: action plans
    "plan.created": N_("Plan d'action créé"),
    "plan.updated": N_("Plan d'action modifié"),
    "plan.deleted": N_("Plan d'action supprimé"),
    "plan.imported": N_("Plan d'action importé (CSV)"),
    "plan_item.created": N_("Élément de plan d'action ajouté"),
    "plan_item.updated": N_("Élément de plan d'action modifié"),
    "plan_item.deleted": N_("Élément de plan d'action supprimé"),
    "plan_item.moved": N_("Élément de plan d'action déplacé"),
}

DETAIL_LABELS: dict[str, str] = {
    "after": N_("après"),
    "before": N_("avant"),
    "changed": N_("champs modifiés"),
    "children": N_("activités"),
    "clientele": N_("clientèle"),
    "code": N_("code"),
    "consents_deleted": N_("consentements supprimés"),
    "count": N_("nombre"),
    "created": N_("créés"),
    "edition": N_("édition"),
    "event": N_("événement"),
    "fields": N_("champs"),
    "from": N_("de"),
    "from_event": N_("de l'événement"),
    "hours": N_("heures"),
    "kind": N_("type"),
    "last_error": N_("dernière erreur"),
    "message": N_("message"),
    "messages_anonymized": N_("messages anonymisés"),
    "name": N_("nom"),
    "notified": N_("personnes avisées"),
    "organization": N_("organisme"),
    "organizations_created": N_("organismes créés"),
    "party_size": N_("personnes"),
    "people_erased": N_("personnes anonymisées"),
    "previous_status": N_("statut précédent"),
    "purpose": N_("finalité"),
    "q": N_("recherche"),
    "region": N_("région"),
    "registrants": N_("personnes inscrites"),
    "registration": N_("inscription"),
    "registrations_anonymized": N_("inscriptions anonymisées"),
    "rejected": N_("rejetés"),
    "retention_months": N_("conservation (mois)"),
    "role": N_("rôle"),
    "scope": N_("portée"),
    "sequence": N_("version"),
    "shift_days": N_("décalage (jours)"),
    "source": N_("source"),
    "status": N_("statut"),
    "territory": N_("territoire"),
    "title": N_("titre"),
    "to": N_("à"),
    "to_event": N_("vers l'événement"),
    "unchanged": N_("inchangés"),
    "updated": N_("mis à jour"),
}

# Values that are codes (statuses, sources, roles, field names...), under these keys only:
# a title or a name is shown as written.
_CODED_KEYS = frozenset(
    {"status", "from", "to", "previous_status", "source", "role", "purpose", "kind"}
    | {"fields", "changed", "scope"}
)
VALUE_LABELS: dict[str, str] = {
    # registration statuses (and what is not an event's or a submission's)
    "confirmed": N_("confirmée"),
    "waitlisted": N_("en liste d'attente"),
    "pending_approval": N_("à approuver"),
    "pending_email": N_("courriel à confirmer"),
    "declined": N_("refusée"),
    "cancelled": N_("annulée"),
    # registration sources
    "form": N_("formulaire"),
    "api": N_("API"),
    "invitation": N_("invitation"),
    "walkin": N_("sur place"),
    "import": N_("importation"),
    "backoffice": N_("ajout manuel"),
    # roles
    "admin": N_("administration"),
    "organizer": N_("organisation"),
    "checkin": N_("accueil"),
    "reviewer": N_("évaluation"),
    # consent purposes
    "event_communications": N_("communications sur les événements"),
    "newsletter": N_("infolettre"),
    "photos": N_("photos et vidéos"),
    "parental": N_("consentement parental"),
    # event kinds
    "annual_launch": N_("lancement annuel du portrait"),
    "perseverance_days": N_("Journées de la persévérance scolaire"),
    "regional_event": N_("événement régional"),
    "activity": N_("activité"),
    "meeting": N_("rencontre de comité"),
    "training": N_("formation"),
    # field names
    "first_name": N_("prénom"),
    "last_name": N_("nom"),
    "email": N_("courriel"),
    "phone": N_("téléphone"),
    "language": N_("langue"),
    "organization": N_("organisme"),
    "clientele": N_("clientèle"),
    "territory": N_("territoire"),
    "name_fr": N_("nom français"),
    "name_en": N_("nom anglais"),
    "position": N_("position"),
    "active": N_("active"),
}
# The same code said of something else ("cancelled": an event is "annulé").
CONTEXT_VALUE_LABELS: dict[str, dict[str, str]] = {
    "event": {
        "draft": N_("brouillon"),
        "published": N_("publié"),
        "cancelled": N_("annulé"),
        "completed": N_("terminé"),
    },
    "jps_submission": {
        "pending": N_("en attente de modération"),
        "changes_requested": N_("modifications demandées"),
        "approved": N_("acceptée"),
        "refused": N_("refusée"),
    },
    "outbox": {
        "queued": N_("en file d'attente"),
        "sending": N_("en cours d'envoi"),
        "sent": N_("envoyé"),
        "failed": N_("refusé"),
        "dead": N_("abandonné"),
    },
}


def action_label(action: str) -> str:
    """ "Inscriptions exportées" for `registrations.exported`; an unknown action as is."""
    label = ACTION_LABELS.get(action)
    return _(label) if label else action


def _value_text(action: str, key: str, value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("oui") if value else _("non")
    if isinstance(value, list | tuple):
        return ", ".join(_value_text(action, key, item) for item in value)
    if isinstance(value, Mapping):
        return "(" + details_text(action, value) + ")"
    text = str(value)
    if key in _CODED_KEYS:
        context = CONTEXT_VALUE_LABELS.get(action.split(".")[0], {})
        label = context.get(text) or VALUE_LABELS.get(text)
        if label:
            return _(label)
    return text


# Keys read first, in this order; the others follow alphabetically. (PostgreSQL's jsonb
# does not keep the order the details were written in, so the order is decided here.)
DETAIL_ORDER = ("status", "previous_status", "from", "to", "party_size", "source")


def _detail_rank(key: str) -> tuple[int, str]:
    return (DETAIL_ORDER.index(key), "") if key in DETAIL_ORDER else (len(DETAIL_ORDER), key)


def details_text(action: str, details: Mapping[str, Any] | None) -> str:
    """An entry's details in words: "statut : confirmée; personnes : 1; source : formulaire"."""
    parts = []
    for key, value in sorted((details or {}).items(), key=lambda item: _detail_rank(item[0])):
        label = DETAIL_LABELS.get(key)
        name = _(label) if label else key
        parts.append(_("%(name)s : %(value)s", name=name, value=_value_text(action, key, value)))
    return "; ".join(parts)


def action_choices() -> list[tuple[str, str]]:
    """(action, label) for a filter, by label."""
    return sorted(((a, action_label(a)) for a in ACTION_LABELS), key=lambda pair: pair[1])
