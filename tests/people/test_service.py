"""People services: directory, organizations, consent ledger, export, erasure, reference data."""

from __future__ import annotations

import pytest

from core.auth import Principal
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from core.http import validate
from core.models import AuditEntry, Role
from people import consents, organizations, privacy, reference, service
from people.demo import DEMO_PEOPLE_COUNT, load_demo_people
from people.models import (
    Clientele,
    Consent,
    ConsentPurpose,
    Organization,
    Person,
    PlanItem,
    Territory,
)
from people.schemas import ClienteleIn, ConsentIn, OrganizationIn, PersonIn
from people.signals import PersonErasing, PersonExporting, person_erasing, person_exporting


def staff(role: Role) -> Principal:
    return Principal(user_id=None, email=f"{role.value}@exemple.qc.ca", role=role, via="session")


ORGANIZER = staff(Role.ORGANIZER)
ADMIN = staff(Role.ADMIN)
CHECKIN = staff(Role.CHECKIN)


def person_in(**overrides) -> PersonIn:
    data = {
        "first_name": "Émilie",
        "last_name": "Tremblay",
        "email": "Emilie.Tremblay@exemple.qc.ca",
        "clientele": "schools",
        "territory": "2461",
    }
    data.update(overrides)
    return validate(PersonIn, data)


async def test_create_and_search(db):
    org = await organizations.create_organization(
        ORGANIZER,
        validate(OrganizationIn, {"name": "Maison des jeunes de Rawdon", "sector": "community"}),
    )
    person = await service.create_person(ORGANIZER, person_in(organization_id=org.id))
    await service.create_person(
        ORGANIZER,
        person_in(
            first_name="Louis",
            last_name="Côté",
            email="louis@exemple.qc.ca",
            territory="2452",
            clientele="youth",
        ),
    )
    assert person.email_key == "emilie.tremblay@exemple.qc.ca"

    async def names(**filters):
        page = await service.search_people(ORGANIZER, **filters)
        return [p.first_name for p in page.items]

    assert await names(q="trem") == ["Émilie"]
    assert await names(q="EMILIE.TREMBLAY") == ["Émilie"]
    assert await names(q="rawdon") == ["Émilie"]
    assert await names(territory="2452") == ["Louis"]
    assert sorted(await names(territory="14")) == ["Louis", "Émilie"]  # region includes its MRCs
    assert await names(clientele="schools") == ["Émilie"]
    assert await names(organization_id=org.id) == ["Émilie"]
    assert await names(q="personne") == []
    assert await AuditEntry.filter(action="person.created").count() == 2


async def test_pagination(db):
    for i in range(7):
        await service.create_person(
            ORGANIZER, person_in(email=f"p{i}@exemple.qc.ca", last_name=f"Nom{i}")
        )
    first = await service.search_people(ORGANIZER, per_page=5)
    second = await service.search_people(ORGANIZER, per_page=5, page=2)
    assert (first.total, len(first.items), first.has_next) == (7, 5, True)
    assert (len(second.items), second.has_next) == (2, False)
    assert {p.id for p in first.items}.isdisjoint({p.id for p in second.items})


async def test_duplicate_email_any_case_refused(db):
    first = await service.create_person(ORGANIZER, person_in())
    with pytest.raises(Conflict) as caught:
        await service.create_person(ORGANIZER, person_in(email="EMILIE.tremblay@EXEMPLE.qc.ca"))
    assert "email" in caught.value.fields
    other = await service.create_person(ORGANIZER, person_in(email="autre@exemple.qc.ca"))
    with pytest.raises(Conflict):
        await service.update_person(
            ORGANIZER, other.id, person_in(email=" emilie.TREMBLAY@exemple.qc.ca")
        )
    # Changing the case of one's own address is fine.
    updated = await service.update_person(
        ORGANIZER, first.id, person_in(email="EMILIE.TREMBLAY@exemple.qc.ca")
    )
    assert updated.email == "EMILIE.TREMBLAY@exemple.qc.ca"
    assert await Person.all().count() == 2


async def test_validation_messages_in_french(db):
    with pytest.raises(ValidationFailed) as caught:
        validate(
            PersonIn, {"first_name": "", "last_name": "X", "email": "pas-valide", "language": "de"}
        )
    assert caught.value.fields["email"] == "Adresse courriel invalide."
    assert caught.value.fields["first_name"] == "Ce champ est obligatoire."
    assert "Langue invalide" in caught.value.fields["language"]
    with pytest.raises(ValidationFailed) as caught:
        await service.create_person(ORGANIZER, person_in(territory="9999", clientele="aliens"))
    assert caught.value.fields == {
        "territory": "Territoire inconnu : 9999.",
        "clientele": "Clientèle inconnue : aliens.",
    }


async def test_permissions_checked_by_services(db):
    with pytest.raises(Forbidden):
        await service.search_people(CHECKIN)
    with pytest.raises(Forbidden):
        await service.create_person(staff(Role.REVIEWER), person_in())
    person = await service.create_person(ORGANIZER, person_in())
    with pytest.raises(Forbidden):
        await privacy.erase_person(ORGANIZER, person.id)
    with pytest.raises(Forbidden):
        await reference.update_clientele(
            ORGANIZER, "youth", validate(ClienteleIn, {"name_fr": "x", "name_en": "y"})
        )


async def test_organizations_unique_name_and_edit(db):
    org = await organizations.create_organization(
        ORGANIZER,
        validate(
            OrganizationIn,
            {"name": "Ville de  Joliette", "sector": "municipal", "territory": "2461"},
        ),
    )
    assert org.name == "Ville de Joliette"
    with pytest.raises(Conflict) as caught:
        await organizations.create_organization(
            ORGANIZER, validate(OrganizationIn, {"name": "VILLE DE JOLIETTE"})
        )
    assert "name" in caught.value.fields
    other = await organizations.create_organization(
        ORGANIZER, validate(OrganizationIn, {"name": "Autre"})
    )
    with pytest.raises(Conflict):
        await organizations.update_organization(
            ORGANIZER, other.id, validate(OrganizationIn, {"name": "ville de joliette"})
        )
    edited = await organizations.update_organization(
        ORGANIZER,
        org.id,
        validate(OrganizationIn, {"name": "Ville de Joliette", "sector": "government"}),
    )
    assert edited.sector == "government" and edited.territory is None
    page = await organizations.search_organizations(ORGANIZER, q="joli")
    assert [o.name for o in page.items] == ["Ville de Joliette"]
    with pytest.raises(ValidationFailed):
        validate(OrganizationIn, {"name": "X", "sector": "pirates"})
    assert reference.sector_label("health") == "Santé et services sociaux"


async def test_clientele_editing_keeps_code(db):
    clientele = await reference.update_clientele(
        ADMIN,
        "family",
        validate(
            ClienteleIn,
            {"name_fr": "Familles", "name_en": "Families", "position": 9, "active": False},
        ),
    )
    assert (clientele.code, clientele.name_fr, clientele.position, clientele.active) == (
        "family",
        "Familles",
        9,
        False,
    )
    assert [c.code for c in await reference.list_clienteles(active_only=True)] == [
        "youth",
        "schools",
        "society",
    ]
    with pytest.raises(NotFound):
        await reference.update_clientele(
            ADMIN, "nope", validate(ClienteleIn, {"name_fr": "x", "name_en": "y"})
        )


async def test_consent_ledger_keeps_history(db):
    person = await service.create_person(ORGANIZER, person_in())
    grant = ConsentIn(
        purpose=ConsentPurpose.NEWSLETTER,
        granted=True,
        source="registration_form",
        wording="Je veux l'infolettre.",
    )
    await consents.record_consent(ORGANIZER, person.id, grant)
    await consents.record_consent(
        ORGANIZER,
        person.id,
        ConsentIn(purpose=ConsentPurpose.PHOTOS, granted=True, wording="Photos OK"),
    )
    await consents.record_consent(
        ORGANIZER,
        person.id,
        ConsentIn(purpose=ConsentPurpose.NEWSLETTER, granted=False, source="unsubscribe"),
    )
    history = await consents.consent_history(person.id)
    assert [(c.purpose, c.granted) for c in history] == [
        ("newsletter", True),
        ("photos", True),
        ("newsletter", False),
    ]
    current = consents.current_consents(history)
    assert current["newsletter"].granted is False and current["newsletter"].source == "unsubscribe"
    assert current["photos"].granted is True
    assert current["event_communications"] is None
    assert not await consents.has_consent(person.id, ConsentPurpose.NEWSLETTER)
    assert await consents.has_consent(person.id, "photos")
    assert await AuditEntry.filter(action="consent.withdrawn").count() == 1


async def test_export_contains_person_consents_and_contributors(db):
    org = await organizations.create_organization(
        ORGANIZER, validate(OrganizationIn, {"name": "Fromagerie", "sector": "business"})
    )
    person = await service.create_person(
        ORGANIZER, person_in(organization_id=org.id, phone="450 555-0101")
    )
    await consents.record_consent(
        ORGANIZER,
        person.id,
        ConsentIn(purpose=ConsentPurpose.NEWSLETTER, granted=True, wording="Infolettre"),
    )

    async def contributor(signal: PersonExporting) -> dict:
        return {"test_extra": [{"person": signal.person.id}]}

    person_exporting.connect(contributor)
    try:
        data = await privacy.export_person(ADMIN, person.id)
    finally:
        person_exporting.disconnect(contributor)
    assert data["person"]["email"] == "Emilie.Tremblay@exemple.qc.ca"
    assert data["person"]["phone"] == "+14505550101"
    assert data["person"]["territory"]["code"] == "2461"
    assert data["organization"]["name"] == "Fromagerie"
    assert data["consents"][0]["wording"] == "Infolettre"
    assert data["test_extra"] == [{"person": person.id}]
    assert data["registrations"] == []  # the registrations package's own contributor
    assert await AuditEntry.filter(action="person.exported").count() == 1


async def test_erasure_anonymizes_and_keeps_the_row(db):
    person = await service.create_person(ORGANIZER, person_in(phone="450 555-0101"))
    keep = await service.create_person(ORGANIZER, person_in(email="garde@exemple.qc.ca"))
    await consents.record_consent(
        ORGANIZER, person.id, ConsentIn(purpose=ConsentPurpose.PHOTOS, granted=True, wording="Oui")
    )
    hooked: list[int] = []

    async def hook(signal: PersonErasing) -> dict[str, int]:
        hooked.append(signal.person.id)
        return {}

    person_erasing.connect(hook)
    try:
        await privacy.erase_person(ADMIN, person.id)
    finally:
        person_erasing.disconnect(hook)
    assert hooked == [person.id]
    assert await Person.all().count() == 2
    erased = await Person.get(id=person.id).select_related("clientele", "territory")
    assert erased.display_name == "Personne anonymisée"
    assert (erased.email, erased.email_key, erased.phone) == (None, None, "")
    assert erased.erased_at is not None
    assert (
        erased.clientele.code == "schools" and erased.territory.code == "2461"
    )  # counts stay right
    assert await Consent.filter(person_id=person.id).count() == 0
    assert (await Person.get(id=keep.id)).email == "garde@exemple.qc.ca"
    entry = await AuditEntry.get(action="person.erased")
    assert entry.target_id == str(person.id) and "Tremblay" not in str(entry.details)
    # The address is free again, and the anonymized row is hidden from the directory.
    again = await service.create_person(ORGANIZER, person_in())
    assert again.id != person.id
    assert [p.id for p in (await service.search_people(ORGANIZER, q="anonymisée")).items] == []
    with pytest.raises(Conflict):
        await service.update_person(ORGANIZER, person.id, person_in(email="x@exemple.qc.ca"))


async def test_territory_reimport_updates_a_name(db):
    csv_text = (
        "code,kind,name,region_code\n14,region,Lanaudière (nouveau nom),\n"
        "2461,mrc,Joliette (MRC),14\n2424,mrc,Nouvelle MRC,14\n2500,mrc,Orpheline,99\n"
    )
    report = await reference.import_territories(ADMIN, csv_text.encode())
    assert (report.created, report.updated) == (1, 2)
    assert report.rejected == [{"line": 5, "error": "Région inconnue : 99."}]
    assert (await Territory.get(code="14")).name == "Lanaudière (nouveau nom)"
    assert (await Territory.get(code="2461")).name == "Joliette (MRC)"
    new = await Territory.get(code="2424").select_related("parent")
    assert new.parent.code == "14"
    assert await Territory.all().count() == 116  # 115 bundled + 1
    with pytest.raises(Forbidden):
        await reference.import_territories(ORGANIZER, csv_text.encode())


async def test_reference_data_grouped(db):
    groups = await reference.territories_by_region()
    by_code = {region.code: [m.name for m in mrcs] for region, mrcs in groups}
    assert len(by_code) == 17
    assert by_code["14"] == [
        "D'Autray",
        "Joliette",
        "L'Assomption",
        "Les Moulins",
        "Matawinie",
        "Montcalm",
    ]
    assert len(by_code["12"]) == 10
    assert await Clientele.all().count() == 4


async def test_seed_plan_items_idempotent(db):
    created = await reference.seed_plan_items()
    assert created >= 50
    assert await reference.seed_plan_items() == 0
    assert await PlanItem.all().count() == created
    action = await PlanItem.get(code="1.1.3").select_related("parent__parent__parent")
    assert "persévérance scolaire" in action.title
    assert action.parent.parent.parent.code == "A"
    assert set(action.clienteles.split(",")) == {"youth", "family", "schools", "society"}
    axes = [node.item.code for node in await reference.plan_tree()]
    assert axes == ["A", "B", "C", "D"]
    certification = await PlanItem.get(code="5.1.2")
    assert "certification" in certification.title and certification.clienteles == "society"


async def test_demo_loader_idempotent(db):
    message = await load_demo_people()
    assert str(DEMO_PEOPLE_COUNT) in message
    people = await Person.all().count()
    organization_count = await Organization.all().count()
    assert people == DEMO_PEOPLE_COUNT and organization_count >= 15
    assert await Consent.all().count() > people
    lanaudiere = await Person.filter(territory__parent__code="14").count()
    assert lanaudiere >= 50
    assert (
        len(
            set(
                await Person.filter(territory__parent__code="14").values_list(
                    "territory__code", flat=True
                )
            )
        )
        == 6
    )
    assert await Person.filter(email_key__endswith="@exemple.qc.ca").count() == people
    await load_demo_people()
    assert await Person.all().count() == people
    assert await Organization.all().count() == organization_count


async def test_upsert_person_by_email(db):
    system = Principal.system("tests")
    person, created = await service.upsert_person(
        system, first_name="A", last_name="B", email="Ab@exemple.qc.ca"
    )
    again, created_again = await service.upsert_person(
        system, first_name="Anne", last_name="B", email="ab@EXEMPLE.qc.ca", language="en"
    )
    assert created and not created_again and again.id == person.id
    assert (again.first_name, again.language) == ("Anne", "en")
