"""The error summary of the participant's forms (register, edit): one line per field in
error, in form order, naming the field ("Prénom : ce champ est obligatoire.") and linking
to its control."""

from __future__ import annotations

from core.i18n import _
from people.models import ConsentPurpose
from registrations.models import Question, QuestionKind


def answer_anchor(question: Question) -> str:
    """The id of the first control of a question (target of the error summary link)."""
    kind = QuestionKind(question.kind)
    if kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE, QuestionKind.YES_NO):
        return f"f-q-{question.id}-0"
    return f"f-q-{question.id}"


def field_labels(questions: list[Question]) -> dict[str, str]:
    """What the form calls each field (the error summary names them)."""
    labels = {
        "first_name": _("Prénom"),
        "last_name": _("Nom"),
        "email": _("Adresse courriel"),
        "phone": _("Téléphone"),
        "language": _("Langue de correspondance"),
        "clientele": _("Vous êtes…"),
        "organization": _("Organisme, école ou entreprise"),
        "territory": _("MRC"),
        "party_size": _("Nombre de personnes"),
        "answers": _("Questions de l'organisation"),
        "consents": _("Consentements"),
        "under_14": _("Jeunes de moins de 14 ans"),
        "guardian_consent": _("Consentement d'un parent ou tuteur"),
    }
    labels.update({f"answers.{q.id}": q.label for q in questions})
    return labels


def summary_line(label: str | None, message: str) -> str:
    """ "Prénom : ce champ est obligatoire." (an initial capital kept for acronyms)."""
    if not label:
        return message
    if message[:1].isupper() and not message[1:2].isupper():
        message = message[0].lower() + message[1:]
    return _("%(label)s : %(text)s", label=label, text=message)


def error_summary(
    errors: dict[str, str],
    questions: list[Question],
    clientele_codes: list[str],
    first_consent: ConsentPurpose,
) -> list[tuple[str, str]]:
    """[(control id, "Field : message")] for the error summary, in form order."""
    labels = field_labels(questions)
    by_key = {f"answers.{q.id}": answer_anchor(q) for q in questions}
    special = {
        "clientele": f"f-clientele-{clientele_codes[0]}" if clientele_codes else "f-clientele",
        "consents": f"f-consent-{first_consent.value}",
    }
    order = [
        "first_name",
        "last_name",
        "email",
        "phone",
        "language",
        "clientele",
        "organization",
        "territory",
        "party_size",
        *by_key,
        "consents",
        "under_14",
        "guardian_consent",
    ]
    ranked = sorted(errors.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 999)
    items = []
    for key, message in ranked:
        message = summary_line(
            labels.get(key, labels["answers"] if key.startswith("answers") else None), message
        )
        if key in by_key:
            items.append((by_key[key], message))
        elif key in special:
            items.append((special[key], message))
        elif key.startswith("answers"):
            items.append(("questions", message))
        else:
            items.append((f"f-{key}", message))
    return items
