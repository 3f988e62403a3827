"""The public card page service: load by token, install, reviews, tiles."""

import datetime as dt
import urllib.parse

import pytest
import sqlalchemy as sa
from perkstar_ui.services.customer_records import delete_card
from sqlmodel import select

from perkstar_ui.db.models import Card, Review, utcnow
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.services import dashboard
from perkstar_ui.services import public_card as svc
from perkstar_ui.services.public_card import CardRefused
from tests.helpers import add_customer, give_card


def token_of(merchant_id: int, card_id: int) -> str:
    with tenant_session(merchant_id) as session:
        return session.get(Card, card_id).install_token


def card_row(merchant_id: int, card_id: int) -> Card:
    with tenant_session(merchant_id) as session:
        return session.get(Card, card_id)


def set_card(merchant_id: int, card_id: int, **values) -> None:
    if not values:
        return
    with tenant_session(merchant_id) as session:
        session.execute(sa.update(Card).where(Card.id == card_id).values(**values))
        session.commit()


@pytest.fixture
def stamp_card(merchant) -> tuple[int, int, str]:
    customer_id = add_customer(merchant, "Ada", "Lovelace", "07400 123456")
    card_id, _ = give_card(merchant, customer_id, transactions=3)
    return customer_id, card_id, token_of(merchant, card_id)


def test_load_shows_the_card_as_its_holder_sees_it(merchant, stamp_card):
    _, card_id, token = stamp_card
    set_card(merchant, card_id, rewards_available=1, expires_on=dt.date(2999, 12, 31))
    card = svc.load_public_card(token)
    assert card.holder == "Ada Lovelace"
    assert card.business.startswith("Shop ")
    assert (card.card_type, card.type_label) == ("stamp", "Stamp")
    assert card.serial == card_row(merchant, card_id).serial
    assert (card.balance, card.status, card.expiration) == ("3", "Uninstalled", "2999-12-31")
    assert not card.installed and not card.deleted and not card.has_tier
    assert card.rewards_available == "1"
    assert card.rewards[0] == "1 reward ready to redeem"
    assert card.qr_svg_data_uri.startswith("data:image/svg+xml")
    assert "<svg" in urllib.parse.unquote(card.qr_svg_data_uri)


@pytest.mark.parametrize(
    ("card_type", "values", "balance", "tier"),
    [
        ("cashback", {"balance": 1234, "spend_total_cents": 60_000}, "12.34", "Silver"),
        ("discount", {"balance": 250, "spend_total_cents": 250}, "2.50", "Bronze"),
        ("membership", {"balance": 30, "tier": "Premium"}, "30", "Premium"),
        ("gift", {"balance": 5000}, "50.00", ""),
        ("coupon", {}, "", ""),
    ],
)
def test_balance_and_tier_per_type(merchant, card_type, values, balance, tier):
    customer_id = add_customer(merchant, "Bob", "Babbage", "07400 654321")
    card_id, _ = give_card(merchant, customer_id, card_type=card_type)
    set_card(merchant, card_id, **values)
    card = svc.load_public_card(token_of(merchant, card_id))
    assert (card.balance, card.tier) == (balance, tier)
    assert card.has_tier == (card_type in ("cashback", "discount", "membership"))


def test_unknown_or_malformed_token_is_not_found(merchant, stamp_card):
    assert svc.load_public_card("NOSUCHTOKEN") is None
    assert svc.load_public_card("") is None
    assert svc.load_public_card("x" * 200) is None
    assert svc.load_public_card("'; DROP TABLE card; --") is None
    with pytest.raises(CardRefused, match="not found"):
        svc.install_card("NOSUCHTOKEN")
    with pytest.raises(CardRefused, match="not found"):
        svc.submit_review("NOSUCHTOKEN", 5, "")


def test_install_sets_status_device_and_date_once(merchant, stamp_card):
    _, card_id, token = stamp_card
    assert svc.install_card(token) is True
    first = card_row(merchant, card_id)
    assert (first.status, first.device) == ("installed", "pwa")
    assert first.installed_at is not None
    # Installing twice changes nothing, not even the lock counter.
    assert svc.install_card(token) is False
    again = card_row(merchant, card_id)
    assert (again.status, again.device, again.installed_at, again.version) == (
        "installed", "pwa", first.installed_at, first.version,
    )
    loaded = svc.load_public_card(token)
    assert (loaded.status, loaded.device, loaded.installed) == ("Installed", "PWA", True)


def test_reinstall_after_uninstall_is_not_a_first_install(merchant, stamp_card):
    _, card_id, token = stamp_card
    assert svc.install_card(token)
    installed_at = card_row(merchant, card_id).installed_at
    set_card(merchant, card_id, status="uninstalled")
    assert svc.install_card(token) is False
    row = card_row(merchant, card_id)
    assert (row.status, row.installed_at) == ("installed", installed_at)
    # Switching platform updates the device only.
    assert svc.install_card(token, "google_wallet") is False
    assert card_row(merchant, card_id).device == "google_wallet"
    with pytest.raises(ValueError):
        svc.install_card(token, "fax")


def test_deleted_card_says_it_no_longer_works_and_refuses_install_and_review(merchant, stamp_card):
    _, card_id, token = stamp_card
    delete_card(merchant, card_id)
    card = svc.load_public_card(token)
    assert card.deleted and card.status == "Deleted"
    assert card.qr_svg_data_uri == ""  # nothing to scan
    with pytest.raises(CardRefused, match="no longer works"):
        svc.install_card(token)
    with pytest.raises(CardRefused, match="no longer works"):
        svc.submit_review(token, 5, "great")
    row = card_row(merchant, card_id)
    assert (row.status, row.device, row.installed_at) == ("deleted", None, None)


@pytest.mark.parametrize("rating", [0, 6, -1, "", "five", "4.5", None])
def test_rating_must_be_one_to_five(merchant, stamp_card, rating):
    with pytest.raises(CardRefused, match="rating from 1 to 5"):
        svc.submit_review(stamp_card[2], rating, "text")
    assert dashboard.load_tiles(merchant).reviews == 0


def test_review_text_is_at_most_2000_characters(merchant, stamp_card):
    token = stamp_card[2]
    with pytest.raises(CardRefused, match="2000"):
        svc.submit_review(token, 4, "x" * 2001)
    assert svc.submit_review(token, 4, "y" * 2000)


def test_review_is_stored_for_the_cards_merchant_customer_and_card_and_moves_the_tiles(merchant, other_merchant, stamp_card):
    customer_id, card_id, token = stamp_card
    other_customer = add_customer(other_merchant, "Eve", "Other", "07400 111222")
    other_card, _ = give_card(other_merchant, other_customer)
    svc.submit_review(token_of(other_merchant, other_card), 1, "")
    before = dashboard.load_tiles(merchant)
    assert (before.reviews, before.feedback_rating) == (0, None)

    review_id = svc.submit_review(token, "5", "  Lovely coffee  ")
    with tenant_session(merchant) as session:
        review = session.get(Review, review_id)
    assert (review.merchant_id, review.customer_id, review.card_id) == (merchant, customer_id, card_id)
    assert (review.rating, review.text) == (5, "Lovely coffee")
    after = dashboard.load_tiles(merchant)
    assert (after.reviews, after.feedback_rating_text) == (1, "5.0")
    assert dashboard.load_tiles(other_merchant).reviews == 1  # the other shop is untouched


def test_a_second_review_the_same_day_replaces_the_first_a_later_one_adds(merchant, stamp_card):
    token = stamp_card[2]
    now = utcnow()
    first = svc.submit_review(token, 2, "cold", now=now - dt.timedelta(hours=1))
    assert svc.submit_review(token, 4, "", now=now) == first
    tiles = dashboard.load_tiles(merchant)
    assert (tiles.reviews, tiles.feedback_rating_text) == (1, "4.0")
    svc.submit_review(token, 5, "", now=now + dt.timedelta(days=2))
    tiles = dashboard.load_tiles(merchant)
    assert (tiles.reviews, tiles.feedback_rating_text) == (2, "4.5")
    with tenant_session(merchant) as session:
        texts = session.exec(select(Review.text).order_by(Review.id)).all()
    assert texts == [None, None]


def test_qr_encodes_the_serial():
    uri = svc.qr_data_uri("ABCD2345K")
    assert uri.startswith("data:image/svg+xml")
    # segno renders the same matrix for the same content.
    assert uri == svc.qr_data_uri("ABCD2345K") != svc.qr_data_uri("ABCD2345M")


@pytest.mark.filterwarnings("ignore:Using `httpx`")
def test_manifest_route_installs_the_card_page(merchant, stamp_card):
    from starlette.testclient import TestClient

    from perkstar_ui.api.routes import api

    token = stamp_card[2]
    client = TestClient(api)
    response = client.get(f"/api/cards/public/{token}/manifest.webmanifest")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = response.json()
    assert manifest["start_url"] == manifest["scope"] == f"/card/{token}"
    assert manifest["display"] == "standalone"
    assert manifest["name"].startswith("Shop ")
    assert {icon["sizes"] for icon in manifest["icons"]} == {"192x192", "512x512"}
    assert client.get("/api/cards/public/NOSUCHTOKEN/manifest.webmanifest").status_code == 404
