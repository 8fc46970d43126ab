"""The web shell in a real browser: login at phone width, French first, English on demand."""


def test_login_and_directory_at_360px(live_server, browser):
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="fr-CA")
    page = context.new_page()
    page.goto(live_server["base"] + "/admin/people")
    assert "/login" in page.url
    assert page.locator("html").get_attribute("lang") == "fr"
    page.get_by_label("Adresse courriel").fill(live_server["email"])
    page.get_by_label("Mot de passe").fill(live_server["password"])
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/admin/people")
    assert page.get_by_role("heading", level=1).count() == 1
    # Nothing wider than the phone screen.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, width
    context.close()


def test_wrong_password_message_and_english(live_server, browser):
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="fr-CA")
    page = context.new_page()
    page.goto(live_server["base"] + "/login")
    page.get_by_label("Adresse courriel").fill(live_server["email"])
    page.get_by_label("Mot de passe").fill("pas-le-bon")
    page.get_by_role("button", name="Se connecter").click()
    assert (
        page.get_by_role("alert").inner_text().strip()
        == "Adresse courriel ou mot de passe incorrect."
    )
    page.get_by_role("link", name="English").click()
    assert page.get_by_role("button", name="Sign in").is_visible()
    context.close()
