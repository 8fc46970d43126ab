"""The check-in tablet app in a real browser: camera scan (Chromium's fake capture fed
with a .y4m made from a real ticket QR), search, walk-in, offline queue and sync, and the
app shell served by the service worker without network."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from registrations.roster import rows_as_dicts
from tests.e2e.conftest import CHROMIUM

BASE_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WIDTH, HEIGHT = 640, 480
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def seed(live_server) -> dict:
    try:
        urllib.request.urlopen(live_server["base"] + "/checkin/sw.js", timeout=5)  # noqa: S310
    except OSError:
        pytest.fail(
            'The tablet routes are not served: add "registrations.tablet_routes" to ROUTE_MODULES'
        )
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.checkin_seed", live_server["email"]],
        cwd=live_server["root"],
        env=live_server["env"],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _api(live_server, token: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        live_server["base"] + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def _roster_entry(live_server, seed, key: str) -> dict:
    roster = _api(
        live_server, seed["tokens"][0], f"/api/v1/events/{seed['event_id']}/checkin/roster"
    )
    public_id = seed["people"][key]["public_id"]
    return next(r for r in rows_as_dicts(roster) if r["id"] == public_id)


def write_y4m(path: Path, payload: str, *, blank: int = 40, with_qr: int = 20) -> None:
    """A 10 fps 640x480 grey video: `blank` uniform frames, then the ticket's QR code
    (error correction M, as printed) in the middle, `with_qr` frames; Chromium loops it."""
    import qrcode
    from PIL import Image

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(payload)
    qr.make(fit=True)
    image = qr.make_image(fill_color="black", back_color="white").get_image().convert("L")
    frame = Image.new("L", (WIDTH, HEIGHT), 255)
    frame.paste(image, ((WIDTH - image.width) // 2, (HEIGHT - image.height) // 2))
    luma_qr = frame.tobytes()
    luma_blank = bytes([128]) * (WIDTH * HEIGHT)
    chroma = bytes([128]) * (WIDTH * HEIGHT // 2)  # U and V planes, 320x240 each
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for luma in [luma_blank] * blank + [luma_qr] * with_qr:
            out.write(b"FRAME\n" + luma + chroma)


# Watches the camera's frames (not the decoder): records when a frame with the QR follows
# a blank frame, on the page's performance.now() clock.
PROBE = """() => {
  const video = document.getElementById("video");
  const canvas = document.createElement("canvas");
  canvas.width = 32; canvas.height = 24;
  const ctx = canvas.getContext("2d", {willReadFrequently: true});
  const probe = window.__probe = {transitions: [], last: null, frames: 0};
  const onFrame = (now, meta) => {
    ctx.drawImage(video, 0, 0, 32, 24);
    const d = ctx.getImageData(0, 0, 32, 24).data;
    let s = 0, s2 = 0;
    for (let i = 0; i < d.length; i += 4) { s += d[i]; s2 += d[i] * d[i]; }
    const n = d.length / 4, variance = s2 / n - (s / n) ** 2;
    const qr = variance > 200;
    const shown = meta && meta.presentationTime;
    const at = shown && shown <= now ? shown : now;
    if (probe.last === false && qr) probe.transitions.push(at);
    probe.last = qr; probe.frames += 1;
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}"""

MEASURE = """() => {
  const box = document.getElementById("answer");
  const painted = Number(box.dataset.paintedAt || box.dataset.shownAt);
  const since = window.__probe.since || 0;
  const before = window.__probe.transitions.filter((t) => t > since && t <= painted);
  if (!before.length) return null;
  const entered = before[before.length - 1];
  return {ms: painted - entered, grabbed: Number(box.dataset.frameAt) - entered,
          decode: Number(box.dataset.decodeMs)};
}"""


def _open(context, live_server, seed, token_index: int = 0):
    page = context.new_page()
    page.errors = _watch(page)
    token = seed["tokens"][token_index]
    page.goto(f"{live_server['base']}/checkin/{seed['event_id']}#token={token}")
    page.locator("#event-title").filter(has_text="Journée de partage").wait_for()
    assert "token" not in page.url  # removed from the address bar, kept in localStorage
    return page


def _watch(page) -> list[str]:
    """Console errors (CSP violations show up here), uncaught exceptions and failed
    requests of a page (the browser's own /favicon.ico probe of other pages aside)."""
    errors: list[str] = []

    def console(message) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    def response(answer) -> None:
        if answer.status >= 400 and not answer.url.endswith("/favicon.ico"):
            errors.append(f"{answer.status} {answer.url}")

    page.on("console", console)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", response)
    return errors


def _answer(page, result: str, name: str | None = None):
    answer = page.locator("#answer")
    answer.wait_for(state="visible")
    assert answer.get_attribute("data-result") == result, page.locator("#answer").inner_text()
    if name is not None:
        assert page.locator("#answer-name").inner_text().strip() == name
    return answer


def _dismiss(page) -> None:
    page.locator("#answer").click()
    page.locator("#answer").wait_for(state="hidden")


def test_without_link_or_session_says_what_to_do(live_server, browser, seed):
    context = browser.new_context(viewport=VIEWPORT, locale="fr-CA")
    page = context.new_page()
    page.goto(f"{live_server['base']}/checkin/{seed['event_id']}")
    message = page.locator("#gate-message")
    message.wait_for()
    assert "Ouvrez le lien d'appareil fourni par l'équipe ou connectez-vous" in message.inner_text()
    assert page.locator("#app").is_hidden()
    context.close()


def test_camera_scan_checks_in_and_times_the_answer(live_server, browser, seed, tmp_path):
    person = seed["people"]["camera"]
    video = tmp_path / "ticket.y4m"
    write_y4m(video, person["payload"])
    camera_browser = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            *BASE_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = camera_browser.new_context(viewport=VIEWPORT, locale="fr-CA")
        page = _open(context, live_server, seed)
        page.wait_for_selector("body[data-scanning='1']")
        page.evaluate(PROBE)
        _answer(page, "ok", person["name"])
        assert "Jeunes et adultes concernés" in page.locator("#answer-details").inner_text()
        timing = page.evaluate(MEASURE)
        if timing is None:  # the QR was already in view when the probe started: once more
            _dismiss(page)
            page.evaluate("window.__probe.since = performance.now()")
            page.wait_for_function(
                "() => { const b = document.getElementById('answer');"
                " return !b.hidden && window.__probe.transitions.some("
                "t => t > window.__probe.since && t <= Number(b.dataset.paintedAt)); }",
                timeout=20000,
            )
            timing = page.evaluate(MEASURE)
        print(
            f"\nQR entering the frame → answer painted: {timing['ms']:.0f} ms "
            f"(frame taken after {timing['grabbed']:.0f} ms, jsQR decode {timing['decode']:.0f} ms"
            " in the worker; the rest is the POST and the paint)"
        )
        # The server recorded the check-in of that person.
        assert _roster_entry(live_server, seed, "camera")["checked_in_at"]
        assert page.errors == []
        context.close()
    finally:
        camera_browser.close()


def test_staff_session_checks_in_with_the_csrf_header(live_server, browser, seed):
    person = seed["people"]["staff"]
    context = browser.new_context(viewport=VIEWPORT, locale="fr-CA")
    page = context.new_page()
    errors = _watch(page)
    page.goto(live_server["base"] + "/login")
    page.get_by_label("Adresse courriel").fill(live_server["email"])
    page.get_by_label("Mot de passe").fill(live_server["password"])
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/admin")
    page.goto(f"{live_server['base']}/checkin/{seed['event_id']}")
    assert page.locator('meta[name="csrf-token"]').get_attribute("content")
    page.locator("#event-title").filter(has_text="Journée de partage").wait_for()
    # The short code printed on the ticket, typed loosely.
    code = person["ticket_code"]
    page.get_by_label("Code du billet", exact=True).fill(f"{code[:4]}-{code[4:]}".lower())
    page.get_by_role("button", name="Valider").click()
    _answer(page, "ok", person["name"])
    assert _roster_entry(live_server, seed, "staff")["checked_in_at"]
    assert page.evaluate("Object.keys(localStorage).filter(k => k.includes('token'))") == []
    assert errors == []
    context.close()


def test_search_and_check_in_from_the_list(live_server, browser, seed):
    person = seed["people"]["search"]
    context = browser.new_context(viewport=VIEWPORT, locale="fr-CA")
    page = _open(context, live_server, seed)
    page.get_by_placeholder("Nom ou code du billet").fill("gagn")
    row = page.locator("#search-results li").filter(has_text=person["name"])
    row.wait_for()
    assert "Groupe de 2 personnes" in row.inner_text()
    row.get_by_role("button", name="Accueillir").click()
    _answer(page, "ok", person["name"])
    _dismiss(page)
    assert _roster_entry(live_server, seed, "search")["checked_in_at"]
    # Again from the list: the server says already, with the time and the device.
    row.get_by_role("button", name="Accueillir").click()
    _answer(page, "already_checked_in", person["name"])
    assert "Tablette porte A" in page.locator("#answer-extra").inner_text()
    _dismiss(page)
    # The last scans offer an undo (two taps), and the server forgets the check-in.
    page.get_by_role("tab", name="Derniers scans").click()
    row = page.locator("#recent-list li[data-checkin-id]").filter(has_text=person["name"])
    row.get_by_role("button", name="Annuler").click()
    row.get_by_role("button", name="Confirmer l'annulation").click()
    page.locator("#recent-list li").filter(has_text=person["name"]).filter(
        has_text="Accueil annulé"
    ).wait_for()
    assert _roster_entry(live_server, seed, "search")["checked_in_at"] is None
    # Checked in again for the rest of the tests' counts.
    page.get_by_role("tab", name="Rechercher").click()
    page.get_by_placeholder("Nom ou code du billet").fill("")
    page.get_by_placeholder("Nom ou code du billet").fill(person["ticket_code"].lower())
    row = page.locator("#search-results li").filter(has_text=person["name"])
    row.get_by_role("button", name="Accueillir").click()
    _answer(page, "ok", person["name"])
    context.close()


def test_walk_in_registers_and_checks_in(live_server, browser, seed):
    context = browser.new_context(viewport={"width": 800, "height": 1280}, locale="fr-CA")
    page = _open(context, live_server, seed)
    page.get_by_role("tab", name="Sur place").click()
    # The event targets no clientele: every active one is offered, none chosen.
    choices = page.locator("#w-clienteles input[type=radio]")
    assert choices.count() == 4
    assert not any(choices.nth(n).is_checked() for n in range(4))
    page.get_by_label("Prénom", exact=True).fill("Nadia")
    page.get_by_label("Nom", exact=True).fill("Lapointe")
    page.get_by_label("Environnement immédiat (famille, intervenants proches)").check()
    page.get_by_label("MRC").select_option("2462")
    page.get_by_role("button", name="Une personne de plus").click()
    page.get_by_role("button", name="Inscrire et accueillir").click()
    _answer(page, "ok", "Nadia Lapointe")
    assert "Groupe de 2 personnes" in page.locator("#answer-details").inner_text()
    found = _api(
        live_server,
        seed["tokens"][0],
        f"/api/v1/events/{seed['event_id']}/checkin/search?q=Lapointe",
    )["items"]
    assert [(f["name"], f["checked_in"], f["party_size"]) for f in found] == [
        ("Nadia Lapointe", True, 2)
    ]
    context.close()


def test_offline_scans_are_answered_queued_and_synced(live_server, browser, seed):
    people = seed["people"]
    context = browser.new_context(viewport=VIEWPORT, locale="fr-CA")
    page = _open(context, live_server, seed, token_index=1)  # "Tablette porte B"
    page.wait_for_function("() => document.getElementById('count-present').textContent !== '–'")
    context.set_offline(True)
    page.locator("#net").filter(has_text="Hors ligne").wait_for()
    # Meanwhile another tablet (online) lets Olivier in.
    other = _api(
        live_server,
        seed["tokens"][0],
        "/api/v1/checkin",
        {"event_id": seed["event_id"], "payload": people["duplicate"]["payload"]},
    )
    assert other["result"] == "ok"

    def scan(payload: str) -> None:
        page.get_by_label("Code du billet", exact=True).fill(payload)
        page.get_by_role("button", name="Valider").click()

    scan(people["offline"]["payload"])
    _answer(page, "ok", people["offline"]["name"])
    assert page.locator("#answer-offline").is_visible()
    assert "Signature non vérifiable" not in page.locator("#answer").inner_text()  # Ed25519
    assert page.locator("#queue-count").inner_text() == "1"
    _dismiss(page)
    scan(people["offline"]["payload"])  # the same ticket again: this tablet remembers
    _answer(page, "already_checked_in", people["offline"]["name"])
    assert "cette tablette" in page.locator("#answer-extra").inner_text()
    _dismiss(page)
    scan(people["cancelled"]["payload"])
    _answer(page, "cancelled", people["cancelled"]["name"])
    _dismiss(page)
    genuine = people["spare"]["payload"]
    scan(genuine[:-6] + ("BBBBBB" if genuine.endswith("AAAAAA") else "AAAAAA"))  # forged
    _answer(page, "invalid")
    _dismiss(page)
    scan(people["duplicate"]["payload"])  # the cache does not know yet: ok locally
    _answer(page, "ok", people["duplicate"]["name"])
    _dismiss(page)
    assert page.locator("#queue-count").inner_text() == "5"
    assert page.locator("#net").inner_text().strip().lower() == "hors ligne"
    assert _roster_entry(live_server, seed, "offline")["checked_in_at"] is None

    context.set_offline(False)
    page.locator("#queue").wait_for(state="hidden", timeout=15000)
    page.locator("#net").filter(has_text="En ligne").wait_for()
    assert _roster_entry(live_server, seed, "offline")["checked_in_at"]
    assert _roster_entry(live_server, seed, "spare")["checked_in_at"] is None
    page.get_by_role("tab", name="Derniers scans").click()
    dups = page.locator("#dups")
    dups.get_by_role("heading", name="Doublons signalés par le serveur").wait_for()
    assert people["duplicate"]["name"] in dups.inner_text()
    assert "Tablette porte A" in dups.inner_text()
    assert people["offline"]["name"] not in dups.inner_text()
    context.close()


def test_app_shell_opens_offline_from_the_service_worker(live_server, browser, seed):
    context = browser.new_context(viewport=VIEWPORT, locale="fr-CA")
    page = _open(context, live_server, seed)
    page.wait_for_function(
        "async () => navigator.serviceWorker.controller !== null"
        " && !!(await caches.match(location.pathname))"
        " && !!(await caches.match('/static/vendor/jsqr/jsQR.js'))",
        polling=200,
    )
    context.set_offline(True)
    response = page.reload()
    assert response is not None and response.headers.get("x-checkin-cache") == "hit"
    page.locator("#event-title").filter(has_text="Journée de partage").wait_for()
    page.locator("#net").filter(has_text="Hors ligne").wait_for()
    page.get_by_placeholder("Nom ou code du billet").fill("pelletier")
    page.locator("#search-results li").filter(has_text="Florence Pelletier").wait_for()
    assert "cache" in page.locator("#search-hint").inner_text()
    context.set_offline(False)
    context.close()


def test_walk_in_offers_only_the_event_clientele_chosen(live_server, browser, seed):
    context = browser.new_context(viewport={"width": 800, "height": 1280}, locale="fr-CA")
    page = context.new_page()
    page.errors = _watch(page)
    page.goto(
        f"{live_server['base']}/checkin/{seed['single_event_id']}#token={seed['single_token']}"
    )
    page.locator("#event-title").filter(has_text="Soirée des familles").wait_for()
    page.get_by_role("tab", name="Sur place").click()
    family = page.get_by_label("Environnement immédiat (famille, intervenants proches)")
    family.wait_for()
    assert page.locator("#w-clienteles input[type=radio]").count() == 1
    assert family.is_checked()
    page.get_by_label("Prénom", exact=True).fill("Noah")
    page.get_by_label("Nom", exact=True).fill("Fortin")
    page.get_by_role("button", name="Inscrire et accueillir").click()
    _answer(page, "ok", "Noah Fortin")
    _dismiss(page)
    assert family.is_checked()  # still chosen for the next walk-in
    assert page.errors == []
    context.close()


def test_offline_scan_keeps_its_device_through_revocation_and_new_link(live_server, browser, seed):
    person = seed["people"]["repaired"]
    tablet = browser.new_context(viewport=VIEWPORT, locale="fr-CA")
    page = _open(tablet, live_server, seed, token_index=2)  # "Tablette porte C"
    page.get_by_label("Votre prénom").fill("Julie")
    page.wait_for_function("() => document.getElementById('count-present').textContent !== '–'")
    tablet.set_offline(True)
    page.locator("#net").filter(has_text="Hors ligne").wait_for()
    page.get_by_label("Code du billet", exact=True).fill(person["payload"])
    page.get_by_role("button", name="Valider").click()
    _answer(page, "ok", person["name"])
    assert page.locator("#queue-count").inner_text() == "1"
    _dismiss(page)

    # Meanwhile, in the back office, the tablet is revoked and paired again.
    office = browser.new_context(viewport=VIEWPORT, locale="fr-CA")
    admin = office.new_page()
    admin.goto(live_server["base"] + "/login")
    admin.get_by_label("Adresse courriel").fill(live_server["email"])
    admin.get_by_label("Mot de passe").fill(live_server["password"])
    admin.get_by_role("button", name="Se connecter").click()
    admin.wait_for_url("**/admin")
    checkin_page = f"{live_server['base']}/admin/events/{seed['event_id']}/checkin"
    admin.goto(checkin_page)
    admin.get_by_role("button", name="Révoquer Tablette porte C").click()
    admin.get_by_label("Nom de l'appareil").fill("Tablette porte C2")
    admin.get_by_role("button", name="Nouvel appareil").click()
    link = admin.locator("#pair-link").input_value()

    # Back online with the revoked link: the tablet says so and keeps its queue.
    tablet.set_offline(False)
    page.locator("#gate-message").filter(has_text="n'est plus valide").wait_for()
    assert page.locator("#queue-count").inner_text() == "1"
    # The new link, opened on the same tablet, syncs the queue.
    page.goto(link)
    page.locator("#event-title").filter(has_text="Journée de partage").wait_for()
    page.locator("#queue").wait_for(state="hidden", timeout=15000)
    row = None
    for _attempt in range(75):
        live = _api(
            live_server, seed["tokens"][0], f"/api/v1/events/{seed['event_id']}/checkin/live"
        )
        row = next((r for r in live["recent"] if r["name"] == person["name"]), None)
        if row is not None:
            break
        page.wait_for_timeout(200)
    assert row is not None and row["result"] == "ok"
    assert (row["device"], row["volunteer"]) == ("Tablette porte C", "Julie")
    admin.goto(checkin_page)
    scan_row = admin.locator("#scans tbody tr").filter(has_text=person["name"])
    assert "Tablette porte C" in scan_row.inner_text() and "Julie" in scan_row.inner_text()
    assert "Tablette porte C2" not in scan_row.inner_text()
    office.close()
    tablet.close()


def test_roster_delta_brings_changes_made_elsewhere(live_server, browser, seed):
    """The first pull is the full roster; after a change made elsewhere (another tablet
    lets Noah in, Alice cancels from her link), the next pull asks only for the changes
    since its cursor, and the merged copy decides offline with them."""
    people = seed["people"]
    context = browser.new_context(viewport=VIEWPORT, locale="fr-CA")
    pulls: list[tuple[str, dict]] = []

    def response(answer) -> None:
        if "/checkin/roster" in answer.url and answer.status == 200:
            pulls.append((answer.url, answer.json()))

    page = context.new_page()
    page.errors = _watch(page)
    page.on("response", response)
    page.goto(f"{live_server['base']}/checkin/{seed['event_id']}#token={seed['tokens'][1]}")
    page.locator("#event-title").filter(has_text="Journée de partage").wait_for()
    page.wait_for_function("() => document.getElementById('count-present').textContent !== '–'")
    assert len(pulls) == 1
    first_url, first = pulls[0]
    assert "since=" not in first_url and first["full"] is True
    ids = {row[0] for row in first["rows"]}
    assert {people["delta_in"]["public_id"], people["delta_gone"]["public_id"]} <= ids

    context.set_offline(True)
    page.locator("#net").filter(has_text="Hors ligne").wait_for()
    done = _api(
        live_server,
        seed["tokens"][0],
        "/api/v1/checkin",
        {"event_id": seed["event_id"], "payload": people["delta_in"]["payload"]},
    )
    assert done["result"] == "ok"
    request = urllib.request.Request(
        f"{live_server['base']}/api/v1/manage/{people['delta_gone']['manage_token']}",
        method="DELETE",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        assert answer.status == 200

    context.set_offline(False)  # back online: the queue is synced, then the roster
    page.locator("#net").filter(has_text="En ligne").wait_for()
    deadline = 20_000
    while len(pulls) < 2 and deadline > 0:
        page.wait_for_timeout(250)
        deadline -= 250
    delta_url, delta = pulls[-1]
    assert f"since={first['cursor']}" in delta_url.replace("%2E", ".")
    assert delta["full"] is False
    changed = {row[0]: dict(zip(delta["fields"], row, strict=True)) for row in delta["rows"]}
    assert people["delta_in"]["public_id"] in changed
    assert changed[people["delta_gone"]["public_id"]]["status"] == "cancelled"
    # (Every row of this test's event changed within the cursor's safety overlap, so all
    # may come again here; tests/registrations/test_checkin_roster.py shows a delta holds
    # only the changes.)

    # Offline again: the merged copy knows both changes.
    context.set_offline(True)
    page.locator("#net").filter(has_text="Hors ligne").wait_for()
    page.get_by_label("Code du billet", exact=True).fill(people["delta_in"]["payload"])
    page.get_by_role("button", name="Valider").click()
    _answer(page, "already_checked_in", people["delta_in"]["name"])
    assert page.locator("#answer-offline").is_visible()
    _dismiss(page)
    page.get_by_label("Code du billet", exact=True).fill(people["delta_gone"]["payload"])
    page.get_by_role("button", name="Valider").click()
    _answer(page, "cancelled", people["delta_gone"]["name"])
    _dismiss(page)
    # The two local answers are queued; synced once online, the server agrees.
    context.set_offline(False)
    page.locator("#queue").wait_for(state="hidden", timeout=15000)
    assert not [e for e in page.errors if "/api/v1/manage/" not in e], page.errors
    context.close()
