"""Rendering a campaign for one recipient: placeholders, Markdown, HTML, text.

The organizer writes the subject and body in Markdown with placeholders such as
`{{ prenom }}`. They are filled in by a sandboxed Jinja2 environment
(`ImmutableSandboxedEnvironment`: no attribute starting with `_`, no method that changes
anything, so `{{ ''.__class__ }}` renders nothing). The filled Markdown is turned into HTML
by markdown-it-py with raw HTML off (a `<script>` typed in the body shows as text), the
HTML is sanitized by nh3, then laid out in `emails/campaigns/message.html` whose CSS is
inlined by css-inline for mail clients. The filled Markdown itself is the text part.

`check_template` runs when a campaign is saved: an unknown placeholder, a syntax error or
an unsafe access is refused there with a French message, before anything is sent.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import css_inline
import nh3
from jinja2 import ChainableUndefined, StrictUndefined, Template, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markdown_it import MarkdownIt
from markupsafe import escape

from core import i18n
from core.errors import ValidationFailed
from core.i18n import _
from core.mail.outbox import one_line

# The placeholders an organizer may use, with an example value (preview, checks).
PLACEHOLDERS: dict[str, str] = {
    "prenom": "Camille",
    "nom": "Tremblay",
    "courriel": "camille@exemple.qc.ca",
    "organisme": "École secondaire des Chutes",
    "evenement": "Lancement du portrait régional",
    "evenement_date": "mardi 16 février 2027, 14 h",
    "evenement_lieu": "Salle Rolland-Brunelle, Joliette",
    "lien_evenement": "https://exemple.qc.ca/events/1",
    "lien_rsvp": "https://exemple.qc.ca/rsvp/exemple",
    "lien_desinscription": "https://exemple.qc.ca/unsubscribe/exemple",
    "lien_preferences": "https://exemple.qc.ca/preferences/exemple",
}

_strict = ImmutableSandboxedEnvironment(autoescape=False, undefined=StrictUndefined)
_lenient = ImmutableSandboxedEnvironment(autoescape=False, undefined=ChainableUndefined)
_markdown = MarkdownIt("commonmark", {"html": False, "breaks": True, "typographer": False})
_inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


def check_template(text: str, field: str) -> None:
    """Refuse a subject or body that would not render: unknown placeholder, syntax error,
    unsafe access (raised as a ValidationFailed on `field`)."""
    try:
        _strict.from_string(text).render(PLACEHOLDERS)
    except TemplateError as exc:
        message = str(exc.message or exc)[:200].rstrip(".")
        raise ValidationFailed(
            fields={
                field: _(
                    "Gabarit invalide : %(error)s. Variables permises : %(names)s.",
                    error=message,
                    names=", ".join("{{ %s }}" % n for n in PLACEHOLDERS),  # noqa: UP031
                )
            }
        ) from None


_JINJA_SYNTAX = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)


@functools.lru_cache(maxsize=64)
def _compiled(text: str) -> Template:
    """A campaign's subject or body compiled once, rendered for every recipient."""
    return _lenient.from_string(text)


def fill(text: str, values: Mapping[str, Any]) -> str:
    """The placeholders of `text` filled in (sandboxed). Saved texts passed
    `check_template`; should one still fail, its placeholders are dropped, not shown."""
    if "{" not in text:
        return text
    try:
        return _compiled(text).render(dict(values))
    except (TemplateError, TypeError, ValueError, ArithmeticError):
        return _JINJA_SYNTAX.sub("", text)


def markdown_html(markdown: str) -> str:
    """Markdown to sanitized HTML (raw HTML is not interpreted, then nh3 cleans)."""
    return nh3.clean(_markdown.render(markdown), link_rel="noopener noreferrer")


def inline_css(html: str) -> str:
    if not html:
        return html
    try:
        return _inliner.inline(html)
    except ValueError:
        return html


@dataclass
class Rendered:
    language: str
    subject: str
    markdown: str
    html: str


def pick_language(language: str | None, has_english: bool) -> str:
    return "en" if language == "en" and has_english else "fr"


def render_for(
    *,
    subject_fr: str,
    body_fr: str,
    subject_en: str,
    body_en: str,
    language: str | None,
    values: Mapping[str, Any],
) -> Rendered:
    """The subject and body in the recipient's language (French when no English)."""
    lang = pick_language(language, bool(subject_en and body_en))
    subject, body = (subject_en, body_en) if lang == "en" else (subject_fr, body_fr)
    token = i18n.current_language.set(lang)
    try:
        filled_subject = one_line(fill(subject, values), 300)
        filled_body = fill(body, values)
    finally:
        i18n.current_language.reset(token)
    return Rendered(lang, filled_subject, filled_body, body_html(body, values))


# A body whose only template syntax is plain `{{ name }}` placeholders is turned into HTML
# once (each placeholder stands as an inert marker through Markdown and nh3), then each
# recipient's values are put in, HTML-escaped, and the result sanitized again (a value
# cannot add markup nor a javascript: link). Any other body is filled, then converted,
# per recipient.
_SIMPLE = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
_MARKER = "zqph{}qz"
_MARKERS = re.compile(r"zqph(\d+)qz")


@functools.lru_cache(maxsize=16)
def _skeleton(body: str) -> tuple[str, tuple[str, ...]] | None:
    names: list[str] = []

    def mark(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return _MARKER.format(len(names) - 1)

    marked = _SIMPLE.sub(mark, body)
    if "{{" in marked or "{%" in marked or "{#" in marked or _MARKERS.search(body):
        return None
    if any(name not in PLACEHOLDERS for name in names):
        return None
    return markdown_html(marked), tuple(names)


def body_html(body: str, values: Mapping[str, Any]) -> str:
    """The body's sanitized HTML for one recipient (see `_skeleton`)."""
    skeleton = _skeleton(body)
    if skeleton is None:
        return markdown_html(fill(body, values))
    html, names = skeleton

    def value(match: re.Match[str]) -> str:
        index = int(match.group(1))
        return str(escape(values.get(names[index], ""))) if index < len(names) else ""

    return nh3.clean(_MARKERS.sub(value, html), link_rel="noopener noreferrer")
