"""Login hardened (issue 13) in the prod build: a ticket minted for another browser does not
log this one in; after logout a reload in the same tab receives nothing of the previous
merchant; two-factor sign-in asks for the Authentication code."""

from __future__ import annotations

import re

import pyotp
from playwright.sync_api import Page, expect

from perkstar_ui.services import accounts
from tests.e2e.conftest import PASSWORD, goto, log_in, path_is, wait_ready
from tests.helpers import add_customer


def test_a_ticket_minted_for_another_browser_does_not_log_this_one_in(page: Page, shop):  # noqa: ANN001
    ticket = accounts.log_in(shop[1], PASSWORD, browser="someone-elses-browser-cookie")
    page.goto(f"/api/session?ticket={ticket}")
    page.wait_for_url(path_is("/login"))
    goto(page, "/customers")
    page.wait_for_url(path_is("/login"))
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def test_logout_then_reload_shows_no_customer_data(page: Page, shop):  # noqa: ANN001
    add_customer(shop[0], "Zephyrine", "Quillfeather", email="zephyrine.q@example.com")
    log_in(page, shop[1], PASSWORD)
    expect(page.get_by_test_id("customer-row").filter(has_text="Zephyrine")).to_be_visible()
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    page.get_by_test_id("logout").click()
    page.wait_for_url(path_is("/login"))
    wait_ready(page)
    page.reload()
    wait_ready(page)
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    page.wait_for_timeout(500)  # let any late state delta arrive
    assert frames, "the reloaded page talked to the server"
    assert not [frame for frame in frames if "Zephyrine" in frame or "zephyrine.q@example.com" in frame]
    assert "Zephyrine" not in page.content()


def test_two_factor_sign_in_asks_for_the_authentication_code(page: Page, shop):  # noqa: ANN001
    log_in(page, shop[1], PASSWORD)
    goto(page, "/account")
    expect(page.get_by_test_id("two-factor-status")).to_have_text("Off")
    page.get_by_test_id("two-factor-start").click()
    expect(page.get_by_test_id("two-factor-qr")).to_be_visible()
    totp = pyotp.TOTP(page.get_by_test_id("two-factor-secret").inner_text().strip())
    page.get_by_label("Code from your app").fill(totp.now())
    page.get_by_test_id("two-factor-confirm").click()
    expect(page.get_by_test_id("two-factor-status")).to_have_text("On")
    expect(page.get_by_test_id("two-factor-recovery-code")).to_have_count(10)
    recovery = page.get_by_test_id("two-factor-recovery-code").first.inner_text().strip()
    page.get_by_test_id("logout").click()
    page.wait_for_url(path_is("/login"))
    wait_ready(page)
    page.get_by_label("Email").fill(shop[1])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    code = page.get_by_label("Authentication code")
    expect(code).to_be_visible()
    code.fill("000000" if totp.now() != "000000" else "111111")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("form-error")).to_contain_text(re.compile("Wrong"))
    page.get_by_label("Authentication code").fill(totp.now())
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(path_is("/customers"))
    # A recovery code works once instead of the app.
    wait_ready(page)
    page.get_by_test_id("logout").click()
    page.wait_for_url(path_is("/login"))
    wait_ready(page)
    page.get_by_label("Email").fill(shop[1])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Authentication code").fill(recovery)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(path_is("/customers"))
