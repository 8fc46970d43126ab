"""The manage link: what lets a registrant see, change or cancel their own registration.

`<public_id>.<HMAC>`: 144 secret bits derived from SECRET_KEY, nothing stored. A token
only ever opens its own registration; a wrong one is a 404.
"""

from __future__ import annotations

import hmac

from core.errors import NotFound
from core.i18n import _
from core.security import signature
from core.settings import Settings
from registrations.models import Registration


def manage_token(settings: Settings, registration: Registration) -> str:
    """`<public_id>.<HMAC>`: 144 secret bits derived from SECRET_KEY (nothing stored)."""
    public_id = registration.public_id
    return f"{public_id}.{signature(settings.secret_key, f'manage:{public_id}')}"


async def by_manage_token(settings: Settings, token: str) -> Registration:
    public_id, _sep, _mac = token.partition(".")
    registration = await Registration.get_or_none(public_id=public_id[:32]).select_related(
        "event", "person", "clientele", "territory", "organization"
    )
    if registration is None or not hmac.compare_digest(manage_token(settings, registration), token):
        raise NotFound(_("Ce lien de gestion n'est pas valide."))
    return registration


def manage_url(settings: Settings, registration: Registration) -> str:
    return f"{settings.base_url}/manage/{manage_token(settings, registration)}"


# The "confirmer par courriel" link: mailed only, never in an API answer (the manage token
# is), so following it proves the address receives the mail.


def confirm_token(settings: Settings, registration: Registration) -> str:
    """`<public_id>.<HMAC>` of another purpose than the manage token (nothing stored)."""
    public_id = registration.public_id
    return f"{public_id}.{signature(settings.secret_key, f'confirm:{public_id}')}"


async def by_confirm_token(settings: Settings, token: str) -> Registration:
    public_id, _sep, _mac = token.partition(".")
    registration = await Registration.get_or_none(public_id=public_id[:32]).select_related(
        "event", "person"
    )
    if registration is None or not hmac.compare_digest(
        confirm_token(settings, registration), token
    ):
        raise NotFound(_("Ce lien de confirmation n'est pas valide."))
    return registration


def confirm_url(settings: Settings, registration: Registration) -> str:
    return f"{settings.base_url}/confirm/{confirm_token(settings, registration)}"
