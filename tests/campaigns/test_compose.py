"""Composition: placeholders sandboxed, Markdown inert, headers safe, language chosen."""

from __future__ import annotations

import pytest

from campaigns import compose, sending, service
from campaigns.audiences import create_audience
from campaigns.schemas import AudienceIn, CampaignIn
from core.auth import Principal
from core.errors import ValidationFailed
from core.mail.outbox import build_mime, mime_bytes
from tests.campaigns import factories as f

SYSTEM = Principal.system("tests")


def test_unsafe_placeholders_render_nothing():
    text = compose.fill(
        "{{ ''.__class__ }}|{{ ''.__class__.__mro__[1].__subclasses__() }}|"
        "{{ prenom.__class__ }}|{{ prenom }}",
        {"prenom": "Léa"},
    )
    assert text == "|||"  # one error: every placeholder dropped, nothing leaks
    assert compose.fill("{{ prenom.__class__ }}|{{ prenom }}", {"prenom": "Léa"}) == "|Léa"


def test_unsafe_or_unknown_placeholders_are_refused_when_saved():
    for body in ("{{ ''.__class__ }}", "Bonjour {{ prénom_inconnu }}", "{% for %}"):
        with pytest.raises(ValidationFailed) as caught:
            compose.check_template(body, "body_fr")
        assert "Gabarit invalide" in caught.value.fields["body_fr"]
    compose.check_template("Bonjour {{ prenom }}, {{ evenement | upper }}", "body_fr")


def test_script_and_javascript_links_in_markdown_are_inert():
    html = compose.markdown_html(
        "<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n"
        "[clic](javascript:alert(1)) [ok](https://exemple.qc.ca)"
    )
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    assert "javascript:" not in html.replace("[clic](javascript:alert(1))", "")
    assert 'href="https://exemple.qc.ca"' in html


def test_english_when_written_else_french():
    kwargs = dict(subject_fr="Objet", body_fr="Texte", values={})
    assert compose.render_for(**kwargs, subject_en="", body_en="", language="en").language == "fr"
    english = compose.render_for(**kwargs, subject_en="Subject", body_en="Body", language="en")
    assert (english.language, english.subject) == ("en", "Subject")


async def test_crlf_in_subject_and_names_cannot_add_headers(settings):
    person = await f.person("Évelyne\r\nBcc: victime@exemple.qc.ca")
    ev = await f.event("Colloque\r\nX-Injected: oui")
    audience = await create_audience(SYSTEM, AudienceIn(name="Tous"))
    campaign = await service.create_campaign(
        SYSTEM,
        CampaignIn(
            kind="invitation",
            name="c",
            audience_id=audience.id,
            event_id=ev.id,
            subject_fr="{{ evenement }} pour {{ prenom }}",
            body_fr="<script>alert('x')</script> {{ prenom }}",
        ),
    )
    campaign = await service.get_campaign(SYSTEM, campaign.id)
    message, chosen = await sending.preview(SYSTEM, settings, campaign, person.id)
    assert chosen is not None and chosen.id == person.id
    raw = mime_bytes(build_mime(message, settings))
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in headers and b"\r\nX-Injected:" not in headers
    assert "\n" not in message.subject and "\r" not in message.to_name
    assert "<script>" not in message.html_body
    assert "&lt;script&gt;" in message.html_body
    # CSS inlined for mail clients.
    assert "<style>" not in message.html_body
