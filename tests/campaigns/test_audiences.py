"""Audiences: every criterion of the filter, and exact exclusion counts by reason."""

from __future__ import annotations

from campaigns import audiences
from campaigns.models import Audience, AudienceKind
from campaigns.schemas import AudienceFilters, AudienceIn
from core.auth import Principal
from core.models import MessageStatus, OutboundMessage
from people.models import Consent, Sector
from people.tags import set_organization_tags, set_person_tags
from registrations.models import RegistrationStatus
from tests.campaigns import factories as f

SYSTEM = Principal.system("tests")


async def _emails(filters: dict, purpose: str = "event_communications") -> set[str]:
    audience = Audience(name="t", kind=AudienceKind.FILTER, filters=filters)
    people = await audiences.recipients_query(audience, purpose).values_list("email", flat=True)
    return set(people)


async def test_each_exclusion_is_counted_once_with_its_reason(db):
    ok = await f.person("Ok")
    await f.person("Effacée", erased=True)
    await f.person("Sans", email="")  # no address
    bounced = await f.person("Rebond")
    await OutboundMessage.create(
        dedupe_key="x1",
        message_id="<x1@t>",
        to_address=bounced.email,
        subject="s",
        text_body="t",
        status=MessageStatus.FAILED,
        next_attempt_at=bounced.created_at,
        person_id=bounced.id,
    )
    unsubscribed = await f.person("Désabonnée")
    await Consent.create(
        person=unsubscribed, purpose="event_communications", granted=False, source="unsubscribe"
    )
    await f.person("Jamais", consents=())
    await f.person("Infolettre", consents=("newsletter",))
    # Withdrew, then granted again: the latest entry wins.
    again = await f.person("Revenue")
    await Consent.create(person=again, purpose="event_communications", granted=False, source="x")
    await Consent.create(person=again, purpose="event_communications", granted=True, source="x")

    audience = await audiences.create_audience(SYSTEM, AudienceIn(name="Tous"))
    summary = await audiences.summarize(audience)
    assert summary.count == 2
    assert summary.excluded == {
        "erased": 1,
        "no_email": 1,
        "hard_bounced": 1,
        "unsubscribed": 1,
        "no_consent": 2,
    }
    preview = await audiences.preview_people(audience)
    assert {p.id for p in preview} == {ok.id, again.id}

    # For the newsletter, only "Infolettre" consented; the others never asked.
    news = await audiences.summarize(audience, "newsletter")
    assert news.count == 1
    assert news.excluded["no_consent"] == 4  # Ok, Désabonnée, Jamais, Revenue
    assert news.excluded["unsubscribed"] == 0


async def test_filter_criteria(db):
    school = await f.organization("École des Prairies", Sector.EDUCATION)
    town = await f.organization("Ville de Joliette", Sector.MUNICIPAL)
    a = await f.person("A", clientele="youth", territory="2461", organization=school)  # Joliette
    b = await f.person("B", clientele="family", territory="14", language="en")  # region only
    c = await f.person("C", clientele="society", territory="2463", organization=town)  # Montcalm
    d = await f.person("D", clientele="schools", territory="03")  # elsewhere
    assert (await _emails({"clienteles": ["youth", "family"]})) == {a.email, b.email}
    assert (await _emails({"regions": ["14"]})) == {a.email, b.email, c.email}
    assert (await _emails({"territories": ["2463"]})) == {c.email}
    assert (await _emails({"sectors": ["municipal"]})) == {c.email}
    assert (await _emails({"organizations": [school.id]})) == {a.email}
    assert (await _emails({"languages": ["en"]})) == {b.email}
    assert (await _emails({"regions": ["14"], "clienteles": ["society"]})) == {c.email}

    await set_person_tags(SYSTEM, d.id, "Comité JPS, partenaire")
    await set_organization_tags(SYSTEM, school.id, ["comité  jps"])
    assert (await _emails({"tags": ["COMITÉ JPS"]})) == {a.email, d.email}

    edition = await f.event("JPS 2027")
    child = await f.event("Activité", parent=edition)
    other = await f.event("Autre")
    ra = await f.registration(child, a)
    await f.registration(other, b)
    await f.registration(child, c, RegistrationStatus.CANCELLED)
    await f.registration(child, d)
    await f.check_in(ra)
    assert (await _emails({"registered_event": [edition.id]})) == {a.email, d.email}
    assert (await _emails({"attended_event": [child.id]})) == {a.email}
    assert (await _emails({"not_attended_event": [edition.id]})) == {d.email}
    assert (await _emails({"not_registered_event": [child.id]})) == {b.email, c.email}


async def test_unknown_references_are_field_errors(db):
    import pytest

    from core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        await audiences.create_audience(
            SYSTEM,
            AudienceIn(name="x", filters=AudienceFilters(clienteles=["nope"], regions=["99"])),
        )
    assert set(caught.value.fields) == {"filters.clienteles", "filters.regions"}


async def test_static_list_from_csv(db):
    known = await f.person("Connue", email="connue@exemple.qc.ca")
    await f.person("Autre")
    data = (
        b"first_name,last_name,email\n"
        b"Connue,Nom,CONNUE@exemple.qc.ca\n"
        b"Nouvelle,Personne,nouvelle@exemple.qc.ca\n"
        b"Mauvaise,Ligne,pas-un-courriel\n"
    )
    audience, rejected = await audiences.create_static_audience(SYSTEM, "Liste", data)
    assert [r["line"] for r in rejected] == [4]
    people = await audiences.base_query(audience).values_list("email_key", flat=True)
    assert sorted(people) == ["connue@exemple.qc.ca", "nouvelle@exemple.qc.ca"]
    # The new person has no consent yet: excluded, counted.
    summary = await audiences.summarize(audience)
    assert summary.count == 1 and summary.excluded["no_consent"] == 1
    assert (await audiences.preview_people(audience))[0].id == known.id
