"""The audit log and a registration's history speak French: an action label for every
action the code writes, details as "statut : confirmée; personnes : 1"."""

from __future__ import annotations

import ast
import re
from html import unescape
from pathlib import Path

from core.audit import ACTION_LABELS, action_label, details_text
from core.models import Role
from core.settings import PROJECT_ROOT
from registrations import service
from tests.conftest import login
from tests.registrations.helpers import person, published_event

PACKAGES = ("core", "people", "events", "registrations", "campaigns")


def written_actions() -> set[str]:
    """Every action name passed to `audit(...)` (or `_audit_decision(...)`) in the code."""
    found: set[str] = set()
    for package in PACKAGES:
        for path in Path(PROJECT_ROOT, package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name not in ("audit", "_audit_decision") or len(node.args) < 2:
                    continue
                action = node.args[1]
                for part in ast.walk(action):
                    if isinstance(part, ast.Constant) and isinstance(part.value, str):
                        found.add(part.value)
    return found


def visible_text(html: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", body))


def test_every_written_action_has_a_label():
    actions = written_actions()
    assert "registrations.exported" in actions and "login.succeeded" in actions
    assert sorted(actions - set(ACTION_LABELS)) == []


def test_labels_and_details_in_french_with_raw_fallback():
    assert action_label("registrations.exported") == "Inscriptions exportées"
    assert action_label("something.new") == "something.new"
    assert (
        details_text(
            "registration.created",
            {"event": 3, "status": "confirmed", "party_size": 1, "source": "form"},
        )
        == "statut : confirmée; personnes : 1; source : formulaire; événement : 3"
    )
    assert details_text("event.cancelled", {"from": "published", "to": "cancelled"}) == (
        "de : publié; à : annulé"
    )
    assert details_text("x.y", {"mystery": "value", "flag": True}) == "flag : oui; mystery : value"
    assert details_text("person.updated", {"fields": ["phone", "email"]}) == (
        "champs : téléphone, courriel"
    )
    assert details_text("x.y", {}) == ""


async def test_audit_page_and_history_show_french_labels(client, settings):
    event = await published_event(capacity=10)
    result = await service.register(event.id, person(1), settings=settings)
    await login(client, Role.ADMIN)
    exported = await client.get(f"/admin/events/{event.id}/registrations/export.csv")
    assert exported.status_code == 200

    page = visible_text((await client.get("/admin/audit")).text)
    assert "Inscriptions exportées" in page
    assert "Inscription créée" in page
    assert "statut : confirmée; personnes : 1; source : formulaire" in page
    for raw in ("registrations.exported", "registration.created", "status :", "confirmed"):
        assert raw not in page, raw

    history = visible_text(
        (await client.get(f"/admin/registrations/{result.registration.id}")).text
    )
    assert "Inscription créée" in history
    assert "statut : confirmée; personnes : 1; source : formulaire" in history
    assert "registration.created" not in history and "status :" not in history


async def test_audit_page_filters_by_action(client, settings):
    await login(client, Role.ADMIN)
    page = await client.get("/admin/audit", params={"action": "login.succeeded"})
    assert page.status_code == 200
    text = visible_text(page.text)
    assert "Connexion réussie" in text
    assert '<option value="login.succeeded" selected>' in page.text
