"""The personal evaluation link: `/evaluation/<invitation id>.<HMAC>`.

144 secret bits derived from SECRET_KEY (core.security.signature), nothing stored: the
invitation mail and its reminder carry the same link. A link with any character changed
is a 404. The response a link made is found again by `edit_key`, a second HMAC of the
link under another purpose: the database never holds the link, so for an anonymous form
nothing in it ties the response to the invitation.
"""

from __future__ import annotations

import hashlib
import hmac

from core.errors import NotFound
from core.i18n import _
from core.security import signature
from core.settings import Settings
from evaluations.models import Invitation

TOKEN_MAX = 60


def invitation_token(settings: Settings, invitation_id: int) -> str:
    return f"{invitation_id}.{signature(settings.secret_key, f'evaluation:{invitation_id}')}"


def evaluation_url(settings: Settings, invitation_id: int) -> str:
    return f"{settings.base_url}/evaluation/{invitation_token(settings, invitation_id)}"


def edit_key(settings: Settings, token: str) -> str:
    """What finds the response made with this link (64 hex characters)."""
    mac = hmac.new(settings.secret_key.encode(), f"evaluation-response:{token}".encode(), "sha256")
    return hashlib.sha256(mac.digest()).hexdigest()


async def invitation_by_token(settings: Settings, token: str) -> Invitation:
    """The invitation of a valid link (with its form, event and registration), else 404."""
    number, _sep, _mac = token[:TOKEN_MAX].partition(".")
    if not number.isascii() or not number.isdigit() or len(number) > 9:
        raise NotFound(_("Ce lien d'évaluation n'est pas valide."))
    if not hmac.compare_digest(invitation_token(settings, int(number)), token):
        raise NotFound(_("Ce lien d'évaluation n'est pas valide."))
    invitation = await Invitation.get_or_none(id=int(number)).select_related(
        "form", "event", "registration"
    )
    if invitation is None:
        raise NotFound(_("Ce lien d'évaluation n'est pas valide."))
    return invitation
