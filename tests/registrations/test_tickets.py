"""Tickets as the registrant gets them: QR images that decode to a signed payload."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
import zxingcpp
from PIL import Image

from registrations import manage_links, notices, service, tickets
from registrations.tickets import TicketError
from tests.registrations.helpers import person, published_event

B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


async def confirmed_ticket(client, settings):
    event = await published_event(capacity=10)
    registration = (await service.register(event.id, person(1), settings=settings)).registration
    return event, registration, f"/manage/{manage_links.manage_token(settings, registration)}"


def decode(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    # zxing-cpp may report one symbol twice (seen once in CI: two results); what must
    # hold is that every symbol found is a QR code with the same text.
    assert results
    assert {r.format for r in results} == {zxingcpp.BarcodeFormat.QRCode}
    texts = {r.text for r in results}
    assert len(texts) == 1, [(r.text, str(r.position)) for r in results]
    return results[0].text


def changed(payload: str, position: int) -> str:
    current = payload[position]
    replacement = B32[(B32.index(current) + 7) % len(B32)]
    return payload[:position] + replacement + payload[position + 1 :]


async def test_png_decodes_to_the_signed_payload(client, settings):
    event, registration, manage = await confirmed_ticket(client, settings)
    response = await client.get(f"{manage}/qr.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"].startswith("private")
    payload = decode(response.content)
    assert payload == await notices.ticket_payload(settings, registration)
    signer = await tickets.get_signer(settings.secret_key)
    claim = tickets.verify_payload(payload, signer.public_key)
    assert claim.event_id == event.id
    assert claim.public_id == registration.public_id


async def test_one_changed_character_fails_verification(client, settings):
    _event, _registration, manage = await confirmed_ticket(client, settings)
    payload = decode((await client.get(f"{manage}/qr.png")).content)
    signer = await tickets.get_signer(settings.secret_key)
    body_start = len(tickets.PREFIX)
    # Event id, public id, the signature's start, middle and near its end.
    positions = [body_start, body_start + 3, body_start + 10, body_start + 25]
    positions += [len(payload) // 2, len(payload) - 10, len(payload) - 2]
    for position in positions:
        forged = changed(payload, position)
        assert forged != payload
        with pytest.raises(TicketError):
            tickets.verify_payload(forged, signer.public_key)
    with pytest.raises(TicketError):
        tickets.verify_payload("RSB2:" + payload[body_start:], signer.public_key)
    with pytest.raises(TicketError):
        tickets.verify_payload(payload[:-8], signer.public_key)


async def test_changed_last_character_fails_verification(client, settings):
    _event, _registration, manage = await confirmed_ticket(client, settings)
    payload = decode((await client.get(f"{manage}/qr.png")).content)
    signer = await tickets.get_signer(settings.secret_key)
    last = payload[-1]
    sibling = B32[B32.index(last) ^ 1]  # differs only in the padding bit
    with pytest.raises(TicketError):
        tickets.verify_payload(payload[:-1] + sibling, signer.public_key)


async def test_svg_endpoint_returns_valid_svg(client, settings):
    _event, _registration, manage = await confirmed_ticket(client, settings)
    response = await client.get(f"{manage}/qr.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.headers["cache-control"].startswith("private")
    root = ET.fromstring(response.content)
    assert root.tag.endswith("svg")
    assert root.tag.startswith("{http://www.w3.org/2000/svg}")
    assert any(child.tag.endswith("path") for child in root.iter())


async def test_ticket_code_is_eight_unambiguous_characters(client, settings):
    event = await published_event()
    codes = [
        (await service.register(event.id, person(n), settings=settings)).registration.ticket_code
        for n in range(1, 21)
    ]
    for code in codes:
        assert len(code) == 8
        assert set(code) <= set(tickets.CODE_ALPHABET)
        assert not set(code) & set("01OIL")
    assert len(set(codes)) == len(codes)
    _event, registration, manage = await confirmed_ticket(client, settings)
    assert registration.ticket_code in (await client.get(manage)).text


async def test_wrong_token_is_404_for_every_ticket_endpoint(client, settings):
    _event, registration, manage = await confirmed_ticket(client, settings)
    token = manage.removeprefix("/manage/")
    public_id, _dot, mac = token.partition(".")
    wrong_mac = public_id + "." + ("A" * len(mac))
    other_public_id = "A" * len(public_id) + "." + mac
    for bad in (wrong_mac, other_public_id, public_id, "x"):
        for suffix in ("", "/qr.png", "/qr.svg", "/event.ics"):
            response = await client.get(f"/manage/{bad}{suffix}")
            assert response.status_code == 404, (bad, suffix)
            assert registration.ticket_code not in response.text
        api = await client.get(f"/api/v1/manage/{bad}")
        assert api.status_code == 404
        assert api.json()["error"]["code"] == "not_found"
