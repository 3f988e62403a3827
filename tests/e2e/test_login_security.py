"""Login hardened (issue 13) in the prod build: a ticket minted for another browser does not
log this one in; after logout a reload in the same tab receives nothing of the previous
merchant, and another tab of the browser loses its data at its next event; two-factor
sign-in asks for the Authentication code, takes each code once, and turning it off needs
the current password."""

from __future__ import annotations

import re
import time

import pyotp
from playwright.sync_api import BrowserContext, Page, expect

from perkstar_ui.services import accounts
from tests.e2e.conftest import PASSWORD, goto, log_in, path_is, wait_ready
from tests.helpers import add_customer, give_card


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


def test_logout_in_one_tab_empties_the_other_tabs_at_their_next_event(context: BrowserContext, shop):  # noqa: ANN001
    add_customer(shop[0], "Xanthippe", "Marlowcroft", email="xanthippe.m@example.com")
    first = context.new_page()
    log_in(first, shop[1], PASSWORD)
    second = context.new_page()  # the same browser: same cookies, a tab of its own
    goto(second, "/customers")
    expect(second.get_by_test_id("customer-row").filter(has_text="Xanthippe")).to_be_visible()
    frames: list[str] = []
    second.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    second.reload()  # (only so that the listener sees this tab's socket; same tab token)
    wait_ready(second)
    expect(second.get_by_test_id("customer-row").filter(has_text="Xanthippe")).to_be_visible()
    first.get_by_test_id("logout").click()
    first.wait_for_url(path_is("/login"))
    frames.clear()
    # The second tab's next event finds no login: it is sent to /login, and its state is reset
    # on the server and in the page (the grid's rows arrive emptied).
    second.get_by_label("Search customers").fill("Xan")
    second.wait_for_url(path_is("/login"))
    wait_ready(second)
    second.wait_for_timeout(500)  # let any late state delta arrive
    assert any(re.search(r'"rows_rx_state_":\s*\[\]', frame) for frame in frames), frames
    assert not [frame for frame in frames if "Xanthippe" in frame or "xanthippe.m@example.com" in frame]
    assert "Xanthippe" not in second.content()


def test_an_event_of_another_state_after_logout_elsewhere_gives_the_tab_a_new_token(context: BrowserContext, shop):  # noqa: ANN001
    """The second tab's next event comes from the profile (not the grid): the tab leaves as at
    logout, with a new client token, so the states of the old login that the event did not
    load (with Redis: the grid's rows) are never sent to it again."""
    customer = add_customer(shop[0], "Yolanda", "Brightwater", email="yolanda.b@example.com")
    give_card(shop[0], customer)
    first = context.new_page()
    log_in(first, shop[1], PASSWORD)
    second = context.new_page()
    frames: list[str] = []
    second.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    goto(second, "/customers")
    expect(second.get_by_test_id("customer-row").filter(has_text="Yolanda")).to_be_visible()
    goto(second, f"/customers/{customer}")
    expect(second.get_by_test_id("profile-name")).to_have_text("Yolanda Brightwater")
    old_token = second.evaluate("window.sessionStorage.getItem('token')")
    assert old_token
    first.get_by_test_id("logout").click()
    first.wait_for_url(path_is("/login"))
    frames.clear()
    second.get_by_test_id("card-tab").first.click()  # ProfileState.select_card
    second.wait_for_url(path_is("/login"))
    wait_ready(second)
    new_token = second.evaluate("window.sessionStorage.getItem('token')")
    assert new_token and new_token != old_token
    # Logged in again, the tab's grid is the new login's own load, nothing kept from before.
    log_in(second, shop[1], PASSWORD)
    expect(second.get_by_test_id("customer-row").filter(has_text="Yolanda")).to_be_visible()
    assert second.evaluate("window.sessionStorage.getItem('token')") == new_token


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
    recovery, spare = [code.strip() for code in page.get_by_test_id("two-factor-recovery-code").all_inner_texts()[:2]]
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
    # The code that turned it on is spent: the app's next one (clock drift is allowed) signs in.
    page.get_by_label("Authentication code").fill(totp.at(time.time() + totp.interval))
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
    # Turning it off needs the current password besides a code (a wrong password spends none).
    goto(page, "/account")
    page.get_by_label("Current password").fill("not-the-password")
    page.get_by_label("Code to turn it off").fill(spare)
    page.get_by_test_id("two-factor-disable").click()
    expect(page.get_by_test_id("two-factor-error")).to_contain_text("not right")
    expect(page.get_by_test_id("two-factor-status")).to_have_text("On")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("Code to turn it off").fill(spare)
    page.get_by_test_id("two-factor-disable").click()
    expect(page.get_by_test_id("two-factor-status")).to_have_text("Off")
