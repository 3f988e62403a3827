"""Consent per channel, the unsubscribe token and the public unsubscribe routes."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from perkstar_ui.api.consent import LIMIT
from perkstar_ui.api.routes import api
from perkstar_ui.db.models import Customer, Merchant
from perkstar_ui.db.tenancy import system_session, tenant_session
from perkstar_ui.domain.messages import Channel
from perkstar_ui.services import consent, customer_records, merchant_settings
from tests.helpers import add_customer

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")

BASE = "https://crm.example.com"
TOKEN_URL = re.compile(r"^https://crm\.example\.com/unsubscribe/([A-Za-z0-9_-]{43})$")


def _consent(merchant_id: int, customer_id: int) -> tuple[bool, bool]:
    with tenant_session(merchant_id) as session:
        customer = session.get(Customer, customer_id)
        return customer.sms_consent, customer.email_consent


def _collect_at_signup(merchant_id: int, on: bool) -> None:
    with tenant_session(merchant_id) as session:
        merchant = session.get(Merchant, merchant_id)
        merchant.consent_at_signup = on
        session.add(merchant)
        session.commit()


def _form(sms: bool | None, email: bool | None, first: str = "Ada") -> customer_records.CustomerInput:
    return customer_records.CustomerInput(first, "Lovelace", sms_consent=sms, email_consent=email)


def _urls(merchant_id: int, ids: list[int]) -> dict[int, str]:
    with system_session() as session:
        urls = consent.unsubscribe_urls(session, merchant_id, ids, BASE + "/")
        session.commit()
    return urls


# --- defaults of new customers -------------------------------------------------------

def test_new_customers_start_without_consent_when_the_merchant_does_not_collect_it(merchant):
    customer = customer_records.save_customer(merchant, _form(True, True))
    assert _consent(merchant, customer) == (False, False)


def test_new_customers_keep_the_ticks_when_consent_is_collected_at_signup(merchant):
    _collect_at_signup(merchant, True)
    assert consent.merchant_collects_consent(merchant)
    ticked = customer_records.save_customer(merchant, _form(True, False, first="Ticked"))
    unticked = customer_records.save_customer(merchant, _form(None, None, first="Blank"))
    assert _consent(merchant, ticked) == (True, False)
    assert _consent(merchant, unticked) == (False, False)


def test_editing_records_consent_and_none_leaves_it_unchanged(merchant):
    customer = customer_records.save_customer(merchant, _form(None, None))
    customer_records.save_customer(merchant, _form(True, False), customer)
    assert _consent(merchant, customer) == (True, False)
    customer_records.save_customer(merchant, _form(None, True), customer)
    assert _consent(merchant, customer) == (True, True)
    customer_records.save_customer(merchant, _form(False, None), customer)
    assert _consent(merchant, customer) == (False, True)


def test_set_consent_is_scoped_to_the_merchant(merchant, other_merchant):
    customer = add_customer(merchant, "Grace", "Hopper")
    assert not consent.set_consent(other_merchant, customer, True, True)
    assert _consent(merchant, customer) == (False, False)
    assert consent.set_consent(merchant, customer, True, False)
    assert _consent(merchant, customer) == (True, False)


# --- the unsubscribe token -----------------------------------------------------------

def test_unsubscribe_urls_create_a_token_once_and_keep_it(merchant, other_merchant):
    first = add_customer(merchant, "Ada", "One")
    second = add_customer(merchant, "Ada", "Two")
    foreign = add_customer(other_merchant, "Eve", "Other")
    urls = _urls(merchant, [first, second, foreign, first])
    assert set(urls) == {first, second}  # another merchant's customer is left out
    tokens = {customer_id: TOKEN_URL.match(url).group(1) for customer_id, url in urls.items()}
    assert tokens[first] != tokens[second]
    assert _urls(merchant, [second, first]) == urls  # stored, not redrawn
    with tenant_session(merchant) as session:
        assert session.get(Customer, first).unsubscribe_token == tokens[first]
    with tenant_session(other_merchant) as session:
        assert session.get(Customer, foreign).unsubscribe_token is None


def test_unsubscribe_urls_in_a_tenant_session_and_in_chunks(merchant):
    ids = [add_customer(merchant, f"Bulk{i}", "Customer") for i in range(consent._CHUNK + 3)]
    with tenant_session(merchant) as session:
        urls = consent.unsubscribe_urls(session, merchant, ids, BASE)
        session.commit()
    assert set(urls) == set(ids)
    assert len({url for url in urls.values()}) == len(ids)
    assert all(TOKEN_URL.match(url) for url in urls.values())


def test_withdraw_email_leaves_sms_and_unknown_tokens_change_nothing(merchant):
    customer = add_customer(merchant, "Ada", "Lovelace")
    bystander = add_customer(merchant, "Bob", "Bystander")
    consent.set_consent(merchant, customer, True, True)
    consent.set_consent(merchant, bystander, True, True)
    token = TOKEN_URL.match(_urls(merchant, [customer, bystander])[customer]).group(1)
    assert consent.withdraw("x" * 43) is None
    assert consent.withdraw("not a token") is None
    assert _consent(merchant, customer) == (True, True)
    assert consent.withdraw(token, Channel.EMAIL) is None
    assert _consent(merchant, customer) == (True, False)
    assert _consent(merchant, bystander) == (True, True)
    consent.withdraw(token, Channel.SMS)
    assert _consent(merchant, customer) == (False, False)


# --- the public routes ---------------------------------------------------------------

def _client(address: str) -> TestClient:
    return TestClient(api, client=(address, 40000))


def test_get_only_asks_and_post_withdraws_with_the_same_answer_for_any_token(merchant, unique):
    customer = add_customer(merchant, "Ada", "Lovelace")
    consent.set_consent(merchant, customer, True, True)
    token = TOKEN_URL.match(_urls(merchant, [customer])[customer]).group(1)
    client = _client(f"10.1.0.{int(unique[:2], 16) % 250}")

    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200
    assert 'method="post"' in page.text and ">Unsubscribe</button>" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert _consent(merchant, customer) == (True, True)  # a GET (a mail scanner) changes nothing
    unknown_page = client.get("/unsubscribe/" + "A" * 43)
    assert (unknown_page.status_code, unknown_page.text) == (page.status_code, page.text)

    # RFC 8058 one-click: what a mail client POSTs.
    done = client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "no longer receive" in done.text
    assert _consent(merchant, customer) == (True, False)
    for other in ("B" * 43, "short", token):  # unknown, malformed, already withdrawn
        again = client.post(f"/unsubscribe/{other}", data={"List-Unsubscribe": "One-Click"})
        assert (again.status_code, again.text) == (done.status_code, done.text)


def test_the_routes_are_rate_limited_per_client_address():
    flooding = _client("10.99.99.1")
    statuses = [flooding.post("/unsubscribe/" + "C" * 43).status_code for _ in range(LIMIT.limit + 1)]
    assert statuses == [200] * LIMIT.limit + [429]
    assert flooding.get("/unsubscribe/" + "C" * 43).status_code == 429
    assert _client("10.99.99.2").get("/unsubscribe/" + "C" * 43).status_code == 200


def test_the_token_column_is_unique_across_merchants(merchant, other_merchant):
    first = add_customer(merchant, "Ada", "One")
    foreign = add_customer(other_merchant, "Eve", "Two")
    token = TOKEN_URL.match(_urls(merchant, [first])[first]).group(1)
    with pytest.raises(sa.exc.IntegrityError), system_session() as session:
        session.execute(sa.update(Customer).where(Customer.id == foreign).values(unsubscribe_token=token))
        session.commit()


# --- the merchant's settings ---------------------------------------------------------

def _zone_and_consent(merchant_id: int) -> tuple[str, bool]:
    stored = merchant_settings.get_settings(merchant_id)
    return stored.timezone, stored.consent_at_signup


def test_merchant_settings_store_timezone_and_consent_at_signup(merchant, other_merchant):
    assert _zone_and_consent(merchant) == ("UTC", False)
    saved = merchant_settings.save_settings(merchant, " Europe/Paris ", True)
    assert saved == merchant_settings.get_settings(merchant)
    assert _zone_and_consent(merchant) == ("Europe/Paris", True)
    assert consent.merchant_collects_consent(merchant)
    assert _zone_and_consent(other_merchant) == ("UTC", False)
    assert "Europe/Paris" in merchant_settings.timezone_choices()
    assert merchant_settings.timezone_choices()[0] == "UTC"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../../etc/passwd", "Europe/paris"])
def test_an_unknown_timezone_is_refused_and_nothing_changes(merchant, zone):
    merchant_settings.save_settings(merchant, "Asia/Tokyo", False)
    with pytest.raises(merchant_settings.SettingsError, match="not a known IANA zone"):
        merchant_settings.save_settings(merchant, zone, True)
    assert _zone_and_consent(merchant) == ("Asia/Tokyo", False)


def test_two_workers_drawing_tokens_at_once_agree_on_one_per_customer(merchant):
    ids = [add_customer(merchant, f"Race{i}", "Customer") for i in range(40)]
    barrier = threading.Barrier(2)

    def draw() -> dict[int, str]:
        with system_session() as session:
            barrier.wait()
            urls = consent.unsubscribe_urls(session, merchant, ids, BASE)
            session.commit()
            return urls

    with ThreadPoolExecutor(2) as pool:
        first, second = [future.result() for future in [pool.submit(draw), pool.submit(draw)]]
    assert first == second == _urls(merchant, ids)
    assert len(set(first.values())) == len(ids)
