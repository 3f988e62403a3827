"""Login, logout, the app shell and the dashboard tiles, driven in Chromium."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from perkstar_ui import config
from perkstar_ui.db.engine import get_engine
from tests.e2e.conftest import goto, log_in, path_is, wait_ready

PRIVATE_PAGES = ["/customers", "/segments", "/campaigns", "/cards", "/settings"]
TILES = ["total-customers", "card-transactions", "reviews", "feedback-rating"]


def tile_values(page: Page) -> dict[str, str]:
    return {key: page.get_by_test_id(f"tile-{key}").get_by_test_id("tile-value").inner_text() for key in TILES}


def counted_in_sql(merchant_id: int) -> dict[str, str]:
    """The tile definitions of customers.md §2, written independently as bare SQL."""
    with get_engine().connect() as connection:
        def one(query: str):
            return connection.execute(sa.text(query), {"m": merchant_id}).scalar_one()

        reviews = one("SELECT COUNT(*) FROM review WHERE merchant_id = :m")
        mean = one("SELECT AVG(rating * 1.0) FROM review WHERE merchant_id = :m")
        return {
            "total-customers": str(one("SELECT COUNT(*) FROM customer WHERE merchant_id = :m")),
            "card-transactions": str(one("SELECT COUNT(*) FROM card_transaction WHERE merchant_id = :m")),
            "reviews": str(reviews),
            # half-up rounding to one decimal, as the contract shows ratings
            "feedback-rating": "" if not reviews else f"{int(float(mean) * 10 + 0.5 + 1e-9) / 10:.1f}",
        }


def create_merchant_cli(email: str, name: str = "Second Shop", password: str = "second-shop-pw") -> None:
    subprocess.run(
        [sys.executable, "-m", "perkstar_ui.cli", "create-merchant", "--name", name,
         "--email", email, "--password", password],
        check=True, capture_output=True,
    )


@pytest.mark.parametrize("path", PRIVATE_PAGES)
def test_private_pages_redirect_to_login(page: Page, path: str):
    goto(page, path)
    page.wait_for_url(path_is("/login"))
    expect(page.get_by_label("Email")).to_be_visible()
    expect(page.get_by_test_id("tile-total-customers")).to_have_count(0)


def test_bad_password_shows_form_error_and_stays_on_login(page: Page):
    goto(page, "/login")
    page.get_by_label("Email").fill(config.DEMO_EMAIL)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("Wrong email or password")
    expect(page).to_have_url(path_is("/login"))
    assert not [c for c in page.context.cookies() if c["name"] == "perkstar_session"]


def test_login_survives_reload_and_logout_ends_it(page: Page, demo_merchant):
    log_in(page, config.DEMO_EMAIL, config.DEMO_PASSWORD)
    session_cookie = next(c for c in page.context.cookies() if c["name"] == "perkstar_session")
    assert session_cookie["httpOnly"] and session_cookie["sameSite"] == "Strict"
    assert "perkstar_session" not in page.evaluate("document.cookie")

    page.reload()
    wait_ready(page)
    expect(page).to_have_url(path_is("/customers"))
    expect(page.get_by_test_id("tile-total-customers").get_by_test_id("tile-value")).not_to_have_text("")

    goto(page, "/login")  # a logged-in merchant is sent on to the dashboard
    page.wait_for_url(path_is("/customers"))

    page.get_by_test_id("logout").click()
    page.wait_for_url(path_is("/login"))
    goto(page, "/customers")
    page.wait_for_url(path_is("/login"))
    # The old token is dead on the server too, not only forgotten by the browser.
    page.context.add_cookies([{**session_cookie}])
    goto(page, "/customers")
    page.wait_for_url(path_is("/login"))


def test_expired_session_goes_back_to_login(page: Page, unique: str):
    email = f"expiry-{unique}@shop.test"
    create_merchant_cli(email)
    log_in(page, email, "second-shop-pw")
    with get_engine().begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE login_session SET expires_at = :past WHERE staff_user_id = "
                "(SELECT id FROM staff_user WHERE email = :email)"
            ),
            {"past": dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1), "email": email},
        )
    goto(page, "/customers")
    page.wait_for_url(path_is("/login"))


def test_repeated_failures_are_throttled_with_a_clear_message(page: Page, unique: str):
    """After five failures each further attempt waits 1 s, 2 s, 4 s … (never a hard lock)."""
    email = f"throttle-{unique}@shop.test"
    create_merchant_cli(email)
    goto(page, "/login")
    page.get_by_label("Email").fill(email)
    for _ in range(5):
        page.get_by_label("Password").fill("wrong-password")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_test_id("form-error")).to_contain_text("Wrong email or password")
        page.get_by_label("Password").fill("")  # make the next error a new render
    waits = re.compile(r"Too many failed attempts\. Try again in ([2-9]|\d\d+) seconds")
    for _ in range(40):  # quick wrong attempts until one must wait 2 s or more
        page.get_by_label("Password").fill("wrong-password")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_timeout(250)
        if waits.search(page.get_by_test_id("form-error").inner_text()):
            break
    expect(page.get_by_test_id("form-error")).to_contain_text(waits)
    page.get_by_label("Password").fill("second-shop-pw")  # the right password waits too
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("Too many failed attempts")
    expect(page).to_have_url(path_is("/login"))


def test_tiles_equal_independent_counts_and_follow_changes(page: Page, demo_merchant):
    log_in(page, config.DEMO_EMAIL, config.DEMO_PASSWORD)
    expected = counted_in_sql(demo_merchant)
    assert int(expected["total-customers"]) > 0 and expected["feedback-rating"]
    for key, value in expected.items():
        expect(page.get_by_test_id(f"tile-{key}").get_by_test_id("tile-value")).to_have_text(value)

    with get_engine().begin() as connection:  # new data arrives (e.g. from the card page)
        customer_id = connection.execute(
            sa.text("SELECT MIN(id) FROM customer WHERE merchant_id = :m"), {"m": demo_merchant}
        ).scalar_one()
        connection.execute(
            sa.text("INSERT INTO review (merchant_id, customer_id, rating, created_at) VALUES (:m, :c, 1, :t)"),
            {"m": demo_merchant, "c": customer_id, "t": dt.datetime.now(dt.timezone.utc)},
        )
    page.reload()
    wait_ready(page)
    changed = counted_in_sql(demo_merchant)
    assert int(changed["reviews"]) == int(expected["reviews"]) + 1
    for key, value in changed.items():
        expect(page.get_by_test_id(f"tile-{key}").get_by_test_id("tile-value")).to_have_text(value)


def test_second_merchant_sees_none_of_the_first_ones_data(browser, base_url, demo_merchant, unique):
    email = f"second-{unique}@shop.test"
    create_merchant_cli(email)
    demo_context = browser.new_context(base_url=base_url)
    second_context = browser.new_context(base_url=base_url)
    try:
        demo_page, second_page = demo_context.new_page(), second_context.new_page()
        log_in(demo_page, config.DEMO_EMAIL, config.DEMO_PASSWORD)
        log_in(second_page, email, "second-shop-pw")
        for key in TILES:
            expect(second_page.get_by_test_id(f"tile-{key}").get_by_test_id("tile-value")).to_have_text(
                "" if key == "feedback-rating" else "0"
            )
        expect(demo_page.get_by_test_id("tile-total-customers").get_by_test_id("tile-value")).to_have_text(
            counted_in_sql(demo_merchant)["total-customers"]
        )
        expect(second_page.get_by_text(config.DEMO_MERCHANT_NAME)).to_have_count(0)
    finally:
        demo_context.close()
        second_context.close()


@pytest.mark.parametrize("path", ["/login", "/customers", "/settings"])
def test_tablet_portrait_has_no_sideways_scroll(browser, base_url, path):
    context = browser.new_context(base_url=base_url, viewport={"width": 768, "height": 1024}, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        if path != "/login":
            log_in(page, config.DEMO_EMAIL, config.DEMO_PASSWORD)
        goto(page, path)
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], f"page is {widths[0]}px wide in a {widths[1]}px viewport"
        if path != "/login":
            # The menu collapses to icons, each keeping its accessible name and a 44 px target.
            nav = page.get_by_test_id("nav-customers")
            expect(nav).to_have_accessible_name("Customers")
            expect(nav.get_by_text("Customers")).to_be_hidden()
            box = nav.bounding_box()
            assert box["height"] >= 44 and box["width"] >= 44
            for key in ["segments", "campaigns", "cards", "settings"]:
                expect(page.get_by_test_id(f"nav-{key}")).to_be_visible()
            expect(page.get_by_test_id("logout")).to_be_visible()
    finally:
        context.close()


def test_desktop_menu_shows_labels_and_navigates(page: Page):
    log_in(page, config.DEMO_EMAIL, config.DEMO_PASSWORD)
    expect(page.get_by_test_id("nav-customers").get_by_text("Customers")).to_be_visible()
    for key, heading in [("segments", "Segments"), ("cards", "Cards"), ("customers", "Customers")]:
        page.get_by_test_id(f"nav-{key}").click()
        page.wait_for_url(path_is(f"/{key}"))
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
