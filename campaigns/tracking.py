"""Tracking, honest about its limits.

- Opens: a 1×1 image per message (`/t/o/<token>.gif`). Approximate: many mail clients
  block images (no open seen) or fetch them in advance (an open no one made).
- Clicks: the links of the campaign's own body (HTML part) go through
  `/t/c/<token>?u=<url>`, whose token is an HMAC over the recipient AND the URL: only a URL
  the campaign's body really holds (for that recipient) redirects; anything else is a 404,
  so this is no open redirect. Unsubscribe, preferences and RSVP links are not rewritten.

Tokens: `<recipient id>.<MAC>`, MAC = 144 bits of HMAC-SHA256 keyed by SECRET_KEY over a
domain-separated message (`open:` / `click:`). Nothing is stored but the first open and
click times and the click count on the recipient row.
"""

from __future__ import annotations

import base64
import hmac
import re
from datetime import UTC, datetime
from html import unescape
from urllib.parse import quote

from markupsafe import escape
from tortoise.expressions import F

from campaigns.models import CampaignRecipient
from core.errors import NotFound
from core.security import signature
from core.settings import Settings

_TOKEN = re.compile(r"^(\d{1,12})\.([A-Za-z0-9_-]{24})$")
_HREF = re.compile(r'href="(https?://[^"]+)"')
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _mac(settings: Settings, message: str) -> str:
    return signature(settings.secret_key, message)


def _parse(token: str) -> tuple[int, str]:
    match = _TOKEN.match(token or "")
    if match is None or int(match.group(1)) >= 2**31:
        raise NotFound()
    return int(match.group(1)), match.group(2)


def open_url(settings: Settings, recipient_id: int) -> str:
    mac = _mac(settings, f"open:{recipient_id}")
    return f"{settings.base_url.rstrip('/')}/t/o/{recipient_id}.{mac}.gif"


def click_url(settings: Settings, recipient_id: int, url: str) -> str:
    mac = _mac(settings, f"click:{recipient_id}:{url}")
    return f"{settings.base_url.rstrip('/')}/t/c/{recipient_id}.{mac}?u={quote(url, safe='')}"


def track_links(settings: Settings, recipient_id: int, html: str) -> str:
    """The body's http(s) links rewritten through the click redirect."""

    def rewrite(match: re.Match[str]) -> str:
        url = unescape(match.group(1))
        return f'href="{escape(click_url(settings, recipient_id, url))}"'

    return _HREF.sub(rewrite, html)


async def record_open(settings: Settings, token: str) -> None:
    recipient_id, mac = _parse(token)
    if not hmac.compare_digest(mac, _mac(settings, f"open:{recipient_id}")):
        raise NotFound()
    await CampaignRecipient.filter(id=recipient_id, opened_at__isnull=True).update(
        opened_at=datetime.now(UTC)
    )


async def record_click(settings: Settings, token: str, url: str) -> str:
    """The URL to redirect to, once its click is counted; 404 unless signed for it."""
    recipient_id, mac = _parse(token)
    if not url or not hmac.compare_digest(mac, _mac(settings, f"click:{recipient_id}:{url}")):
        raise NotFound()
    now = datetime.now(UTC)
    rows = CampaignRecipient.filter(id=recipient_id)
    await rows.update(clicks=F("clicks") + 1)
    await rows.filter(clicked_at__isnull=True).update(clicked_at=now)
    await rows.filter(opened_at__isnull=True).update(opened_at=now)  # a click is an open
    return url
