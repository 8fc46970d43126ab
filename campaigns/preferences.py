"""Unsubscribe and preferences (CASL, Québec Law 25): personal signed links, the choices.

Every bulk message carries two personal links and a mailto:

- `unsubscribe_url(settings, person_id, purpose)`: `BASE_URL/unsubscribe/<token>`, the
  `List-Unsubscribe` https URL. A `POST` with the body `List-Unsubscribe=One-Click`
  (RFC 8058) withdraws the consent at once; a `GET` shows a confirmation page.
- `unsubscribe_mailto(settings, person_id, purpose)`: `mailto:<address>?subject=<token>`,
  the second `List-Unsubscribe` entry; a message to it is applied by
  `unsubscribe_by_mail` (see that function for the inbound path).
- `preferences_url(settings, person_id)`: `BASE_URL/preferences/<token>`, the page where
  the person turns each purpose (newsletter, invitations, JPS news) on or off.

Tokens: `<person_id>.<purpose>.<MAC>` and `<person_id>.<MAC>`, where MAC is 144 bits of
HMAC-SHA256 keyed by SECRET_KEY over a domain-separated message (`unsubscribe:` and
`preferences:` can never stand for each other, nor for the registrations' manage links).
Nothing is stored; a token only ever acts on its own person and purpose; a token with
any character changed is a 404 (the MAC is compared in constant time). Rotating
SECRET_KEY invalidates the links of messages already sent (the preferences page can
still be reached from any newer message).

Every change is effective at once and appended to the consent ledger
(`people.models.Consent`) with its source: `unsubscribe` (one-click or the confirmation
page), `unsubscribe_mail` (the mailto) or `preferences` (the preferences page), with the
wording the person saw; an audit entry records it too (no staff actor: the person).
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from email import message_from_bytes
from email.utils import parseaddr
from urllib.parse import quote

from tortoise.transactions import in_transaction

from core.audit import audit
from core.errors import NotFound
from core.i18n import N_, _
from core.mail.outbox import mail_domain
from core.security import signature
from core.settings import Settings
from people.models import Consent, ConsentPurpose, Person

# The purposes a person manages from a message, in the order the page shows them.
# Invitations to events are the `event_communications` consent of the directory.
PREFERENCE_PURPOSES: tuple[ConsentPurpose, ...] = (
    ConsentPurpose.NEWSLETTER,
    ConsentPurpose.EVENT_COMMUNICATIONS,
    ConsentPurpose.JPS_NEWS,
)
PREFERENCE_LABELS: dict[str, str] = {
    ConsentPurpose.NEWSLETTER: N_("L'infolettre de l'instance régionale"),
    ConsentPurpose.EVENT_COMMUNICATIONS: N_("Les invitations à nos événements"),
    ConsentPurpose.JPS_NEWS: N_("Les nouvelles des Journées de la persévérance scolaire"),
}
# What the ledger keeps as the wording the person acted on (French, as every wording).
WORDING_ON = "Je veux recevoir : {label}."
WORDING_OFF = "Je ne veux plus recevoir : {label}."

SOURCE_UNSUBSCRIBE = "unsubscribe"
SOURCE_UNSUBSCRIBE_MAIL = "unsubscribe_mail"
SOURCE_PREFERENCES = "preferences"

_TOKEN = re.compile(r"^(\d{1,12})\.(?:([a-z_]{1,32})\.)?([A-Za-z0-9_-]{24})$")


def _mac(settings: Settings, message: str) -> str:
    return signature(settings.secret_key, message)


def _purpose(purpose: str) -> ConsentPurpose:
    try:
        value = ConsentPurpose(purpose)
    except ValueError:
        raise ValueError(f"not a purpose one can unsubscribe from: {purpose!r}") from None
    if value not in PREFERENCE_PURPOSES:
        raise ValueError(f"not a purpose one can unsubscribe from: {purpose!r}")
    return value


# --------------------------------------------------------------------------- links


def unsubscribe_token(settings: Settings, person_id: int, purpose: str) -> str:
    value = _purpose(purpose).value
    return f"{int(person_id)}.{value}.{_mac(settings, f'unsubscribe:{int(person_id)}:{value}')}"


def preferences_token(settings: Settings, person_id: int) -> str:
    return f"{int(person_id)}.{_mac(settings, f'preferences:{int(person_id)}')}"


def unsubscribe_url(settings: Settings, person_id: int, purpose: str) -> str:
    """The personal one-click unsubscribe URL (the `List-Unsubscribe` https entry)."""
    return f"{settings.base_url}/unsubscribe/{unsubscribe_token(settings, person_id, purpose)}"


def unsubscribe_address(settings: Settings) -> str:
    """Where mailto unsubscribes go: UNSUBSCRIBE_ADDRESS, else unsubscribe@<MAIL_FROM domain>."""
    return settings.unsubscribe_address or f"unsubscribe@{mail_domain(settings)}"


def unsubscribe_mailto(settings: Settings, person_id: int, purpose: str) -> str:
    """`mailto:` entry of `List-Unsubscribe`: the token travels in the subject."""
    token = unsubscribe_token(settings, person_id, purpose)
    return f"mailto:{unsubscribe_address(settings)}?subject={quote('unsubscribe ' + token)}"


def preferences_url(settings: Settings, person_id: int) -> str:
    """The personal page where every purpose is turned on or off."""
    return f"{settings.base_url}/preferences/{preferences_token(settings, person_id)}"


def list_unsubscribe_headers(settings: Settings, person_id: int, purpose: str) -> dict[str, str]:
    """Both `List-Unsubscribe` entries (https first, RFC 8058) for `queue_mail(headers=...)`;
    the outbox adds `List-Unsubscribe-Post: List-Unsubscribe=One-Click` to bulk messages."""
    https = unsubscribe_url(settings, person_id, purpose)
    mailto = unsubscribe_mailto(settings, person_id, purpose)
    return {"List-Unsubscribe": f"<{https}>, <{mailto}>"}


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class UnsubscribeTarget:
    person_id: int
    purpose: ConsentPurpose


def verify_unsubscribe_token(settings: Settings, token: str) -> UnsubscribeTarget:
    """The person and purpose a valid unsubscribe token stands for; NotFound otherwise."""
    match = _TOKEN.match(token or "")
    if match is None or match.group(2) is None:
        raise NotFound(_("Ce lien de désabonnement n'est pas valide."))
    person_id, purpose = int(match.group(1)), match.group(2)
    try:
        expected = unsubscribe_token(settings, person_id, purpose)
    except ValueError:
        raise NotFound(_("Ce lien de désabonnement n'est pas valide.")) from None
    if not hmac.compare_digest(expected.encode(), token.encode()):
        raise NotFound(_("Ce lien de désabonnement n'est pas valide."))
    return UnsubscribeTarget(person_id, ConsentPurpose(purpose))


def verify_preferences_token(settings: Settings, token: str) -> int:
    """The person id a valid preferences token stands for; NotFound otherwise."""
    match = _TOKEN.match(token or "")
    if match is None or match.group(2) is not None:
        raise NotFound(_("Ce lien de préférences n'est pas valide."))
    person_id = int(match.group(1))
    if not hmac.compare_digest(preferences_token(settings, person_id).encode(), token.encode()):
        raise NotFound(_("Ce lien de préférences n'est pas valide."))
    return person_id


async def _reachable_person(person_id: int) -> Person:
    person = await Person.get_or_none(id=person_id)
    if person is None or person.erased_at is not None:
        raise NotFound(_("Ce lien n'est plus valide."))
    return person


# --------------------------------------------------------------------------- choices


@dataclass(frozen=True)
class Preference:
    purpose: str
    label: str
    subscribed: bool


def preference_label(purpose: str) -> str:
    return _(PREFERENCE_LABELS.get(purpose, purpose))


async def preferences_of(person_id: int) -> list[Preference]:
    """Per purpose the page shows, whether the latest ledger entry grants it."""
    latest: dict[str, bool] = {}
    for entry in await Consent.filter(
        person_id=person_id, purpose__in=list(PREFERENCE_PURPOSES)
    ).order_by("at", "id"):
        latest[str(entry.purpose)] = entry.granted
    return [
        Preference(p.value, preference_label(p), latest.get(p.value, False))
        for p in PREFERENCE_PURPOSES
    ]


async def _record(
    person: Person, purpose: ConsentPurpose, granted: bool, source: str, ip: str
) -> Consent:
    label = PREFERENCE_LABELS[purpose]  # French wording, as the ledger keeps it
    consent = await Consent.create(
        person_id=person.id,
        purpose=purpose,
        granted=granted,
        source=source,
        wording=(WORDING_ON if granted else WORDING_OFF).format(label=label),
    )
    await audit(
        None,
        "consent.granted" if granted else "consent.withdrawn",
        person,
        {"purpose": purpose.value, "source": source},
        ip=ip,
    )
    return consent


async def withdraw(
    settings: Settings, token: str, *, source: str = SOURCE_UNSUBSCRIBE, ip: str = ""
) -> UnsubscribeTarget:
    """Unsubscribe the token's person from its purpose, at once.

    Idempotent: when the latest entry already withdraws that purpose, nothing is added
    (a mail client may send the one-click POST more than once)."""
    target = verify_unsubscribe_token(settings, token)
    async with in_transaction():
        person = await _reachable_person(target.person_id)
        latest = (
            await Consent.filter(person_id=person.id, purpose=target.purpose)
            .order_by("-at", "-id")
            .first()
        )
        if latest is None or latest.granted:
            await _record(person, target.purpose, False, source, ip)
    return target


async def person_for_unsubscribe(settings: Settings, token: str) -> tuple[Person, str]:
    """For the confirmation page: the person (must still exist) and the purpose's label."""
    target = verify_unsubscribe_token(settings, token)
    person = await _reachable_person(target.person_id)
    return person, preference_label(target.purpose)


async def person_for_preferences(settings: Settings, token: str) -> Person:
    return await _reachable_person(verify_preferences_token(settings, token))


async def set_preferences(
    settings: Settings, token: str, wanted: set[str], *, ip: str = ""
) -> list[Preference]:
    """Apply the preferences page: each purpose on when in `wanted`, off otherwise.

    Only the purposes whose state changes get a ledger entry (source `preferences`)."""
    person_id = verify_preferences_token(settings, token)
    async with in_transaction():
        person = await _reachable_person(person_id)
        for preference in await preferences_of(person.id):
            on = preference.purpose in wanted
            if on != preference.subscribed:
                await _record(
                    person, ConsentPurpose(preference.purpose), on, SOURCE_PREFERENCES, ip
                )
    return await preferences_of(person_id)


# --------------------------------------------------------------------------- mailto

_SUBJECT_TOKEN = re.compile(r"(\d{1,12}\.[a-z_]{1,32}\.[A-Za-z0-9_-]{24})(?![A-Za-z0-9_-])")


async def unsubscribe_by_mail(settings: Settings, raw: bytes) -> UnsubscribeTarget | None:
    """Apply one message sent to the `mailto:` of `List-Unsubscribe` (None when it holds
    no valid token: a stray message changes nothing).

    The inbound path: the mail server delivers what reaches `unsubscribe_address()` to
    `rassembleur unsubscribe-mail` on its standard input (a Postfix alias
    `unsubscribe: "|/path/.venv/bin/rassembleur unsubscribe-mail"`, a procmail or sieve
    pipe). The token is the MAC-checked one of the https link, so a forged message can
    only unsubscribe someone whose personal link it already holds.
    """
    message = message_from_bytes(raw[:1_000_000])
    subject = str(message.get("Subject", ""))
    to = parseaddr(str(message.get("To", "")))[1]
    for candidate in (subject, to):
        match = _SUBJECT_TOKEN.search(candidate)
        if match is None:
            continue
        try:
            return await withdraw(settings, match.group(1), source=SOURCE_UNSUBSCRIBE_MAIL)
        except NotFound:
            return None
    return None
