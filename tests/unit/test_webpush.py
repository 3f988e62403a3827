"""Web Push against a local push service that is also the browser.

The test makes the browser's P-256 key pair and 16-byte auth secret, subscribes them for
a card, lets the provider send, and decrypts what the local push service received
(aes128gcm, RFC 8291) with the browser's private key; the VAPID header's JWT is checked
against our public key (RFC 8292). Also: gone subscriptions, retries, the subscribe route,
the key made once, and the messages the card page lists.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from perkstar_ui.api import public_card as public_card_api
from perkstar_ui.api import push as push_api
from perkstar_ui.config import settings
from perkstar_ui.db.models import Card, Merchant, Message, PushSubscription, SystemSetting
from perkstar_ui.db.tenancy import system_session, tenant_session
from perkstar_ui.domain.messages import Channel, MessageStatus, SkipReason
from perkstar_ui.services import public_card, push_keys, push_subscriptions
from perkstar_ui.services.providers import webpush as webpush_provider
from perkstar_ui.services.providers.base import Outbound
from perkstar_ui.services.providers.webpush import WebPushProvider
from perkstar_ui.services.push_subscriptions import BrowserSubscription, SubscriptionRefused
from tests.helpers import add_customer, give_card


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- the local push service ----------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class PushService:
    """Answers POST /<path> with the status queued for that path (201 when none)."""

    url: str
    received: list[Received] = field(default_factory=list)
    answers: dict[str, list[int]] = field(default_factory=dict)

    def answer(self, path: str, *statuses: int) -> None:
        self.answers[path] = list(statuses)

    def for_path(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


@pytest.fixture(scope="module")
def push_service() -> Iterator[PushService]:
    service = PushService(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real push services

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            service.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            queued = service.answers.get(self.path) or []
            status = queued.pop(0) if queued else 201
            self.send_response(status)
            if status == 201:
                self.send_header("Location", f"{service.url}/messages/{uuid.uuid4().hex}")
            if status in (301, 302, 307, 308):
                self.send_header("Location", f"{service.url}/internal-admin")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield service
    server.shutdown()
    server.server_close()


# Names the tests resolve (no DNS here); numeric hosts go to the real getaddrinfo.
FAKE_DNS = {
    "push.example.com": ["93.184.215.14"],
    "internal.example.com": ["10.1.2.3"],
    "mixed.example.com": ["93.184.215.14", "127.0.0.1"],
    "metadata.example.com": ["169.254.169.254"],
    "v6private.example.com": ["fd00::1"],
}


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch) -> dict[str, list[str]]:
    real = socket.getaddrinfo
    names = {name: list(addresses) for name, addresses in FAKE_DNS.items()}

    def getaddrinfo(host, port, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if isinstance(host, str) and host.lower().rstrip(".") in names:
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                    for a in names[host.lower().rstrip(".")]]
        if isinstance(host, str) and host.endswith((".example.com", ".invalid")):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


@dataclass
class Browser:
    """The browser side of a subscription: its ECDH key pair and auth secret."""

    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes
    endpoint: str

    @classmethod
    def new(cls, endpoint: str) -> Browser:
        return cls(ec.generate_private_key(ec.SECP256R1()), os.urandom(16), endpoint)

    def subscription(self) -> BrowserSubscription:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return BrowserSubscription(self.endpoint, b64url(point), b64url(self.auth_secret))

    def decrypt(self, body: bytes) -> dict:
        plain = http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth_secret, version="aes128gcm")
        return json.loads(plain)


def token_of(merchant_id: int, card_id: int) -> str:
    with tenant_session(merchant_id) as session:
        return session.get(Card, card_id).install_token


def merchant_name(merchant_id: int) -> str:
    with system_session() as session:
        return session.get(Merchant, merchant_id).name


def outbound(merchant_id: int, card_id: int, text: str, message_id: int = 1) -> Outbound:
    return Outbound(id=message_id, merchant_id=merchant_id, merchant_name=merchant_name(merchant_id),
                    channel=Channel.PUSH, recipient="serial", subject=None, body=text, card_id=card_id)


def subscriptions_of(card_id: int) -> list[str]:
    with system_session() as session:
        return list(session.exec(select(PushSubscription.endpoint).where(PushSubscription.card_id == card_id)).all())


@pytest.fixture
def installed_card(merchant) -> tuple[int, str]:
    customer_id = add_customer(merchant, "Ada", "Lovelace", "07400 123456")
    card_id, _ = give_card(merchant, customer_id, status="installed", device="pwa")
    return card_id, token_of(merchant, card_id)


def verify_vapid(authorization: str, audience: str) -> dict:
    """Check ``vapid t=<JWT>,k=<key>`` (RFC 8292) ourselves: the key is our public key and
    the ES256 signature over the JWT's first two parts verifies with it."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid"
    parts = dict(item.split("=", 1) for item in params.split(","))
    assert parts["k"] == push_keys.public_key()
    header_b64, claims_b64, signature_b64 = parts["t"].split(".")
    assert json.loads(unb64url(header_b64)) == {"typ": "JWT", "alg": "ES256"}
    signature = unb64url(signature_b64)
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(parts["k"]))
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    public.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):  # and a tampered token does not
        public.verify(der, f"{header_b64}.{claims_b64}x".encode(), ec.ECDSA(hashes.SHA256()))
    claims = json.loads(unb64url(claims_b64))
    assert claims["aud"] == audience
    assert claims["sub"] == settings().vapid_subject
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    return claims


# --- the provider --------------------------------------------------------------------------


def test_push_reaches_every_subscribed_browser_encrypted_and_signed(merchant, installed_card, push_service):
    card_id, token = installed_card
    phone = Browser.new(f"{push_service.url}/phone-{uuid.uuid4().hex}")
    tablet = Browser.new(f"{push_service.url}/tablet-{uuid.uuid4().hex}")
    for browser in (phone, tablet):
        push_subscriptions.subscribe(token, browser.subscription(), allow_local_endpoint=True)

    [result] = WebPushProvider(allow_local_endpoints=True).send_batch([outbound(merchant, card_id, "Double stamps today ☕ until 5 pm")])

    assert result.accepted and result.provider_message_id.startswith(f"{push_service.url}/messages/")
    for browser in (phone, tablet):
        [request] = push_service.for_path("/" + browser.endpoint.rsplit("/", 1)[1])
        assert request.headers["content-encoding"] == "aes128gcm"
        assert int(request.headers["ttl"]) > 0  # kept for a phone that is offline
        verify_vapid(request.headers["authorization"], push_service.url)
        assert b"Double stamps" not in request.body  # encrypted on the wire
        assert browser.decrypt(request.body) == {
            "title": merchant_name(merchant), "body": "Double stamps today ☕ until 5 pm",
            "url": f"/card/{token}", "tag": "perkstar-message-1",
        }


def test_another_browsers_keys_cannot_read_it(merchant, installed_card, push_service):
    card_id, token = installed_card
    browser = Browser.new(f"{push_service.url}/only-{uuid.uuid4().hex}")
    push_subscriptions.subscribe(token, browser.subscription(), allow_local_endpoint=True)
    WebPushProvider(allow_local_endpoints=True).send_batch([outbound(merchant, card_id, "secret offer")])
    [request] = push_service.for_path("/" + browser.endpoint.rsplit("/", 1)[1])
    stranger = Browser.new(browser.endpoint)
    with pytest.raises(Exception):  # noqa: B017 - http_ece raises a bare InvalidTag/ECEException
        stranger.decrypt(request.body)


def test_gone_subscription_is_deleted_and_the_message_still_counts(merchant, installed_card, push_service):
    card_id, token = installed_card
    gone = Browser.new(f"{push_service.url}/gone-{uuid.uuid4().hex}")
    push_subscriptions.subscribe(token, gone.subscription(), allow_local_endpoint=True)
    push_service.answer("/" + gone.endpoint.rsplit("/", 1)[1], 410)

    [result] = WebPushProvider(allow_local_endpoints=True).send_batch([outbound(merchant, card_id, "hello")])

    assert result.accepted  # shown on the card page even though no browser took it
    assert subscriptions_of(card_id) == []


def test_push_service_error_is_retried_unless_another_browser_got_it(merchant, installed_card, push_service):
    card_id, token = installed_card
    flaky = Browser.new(f"{push_service.url}/flaky-{uuid.uuid4().hex}")
    push_subscriptions.subscribe(token, flaky.subscription(), allow_local_endpoint=True)
    push_service.answer("/" + flaky.endpoint.rsplit("/", 1)[1], 503)

    [failed] = WebPushProvider(allow_local_endpoints=True).send_batch([outbound(merchant, card_id, "try again")])
    assert not failed.accepted and not failed.permanent and "503" in failed.error
    assert subscriptions_of(card_id) == [flaky.endpoint]  # kept: it may come back

    [retried] = WebPushProvider(allow_local_endpoints=True).send_batch([outbound(merchant, card_id, "try again")])
    assert retried.accepted
    assert len(push_service.for_path("/" + flaky.endpoint.rsplit("/", 1)[1])) == 2

    steady = Browser.new(f"{push_service.url}/steady-{uuid.uuid4().hex}")
    push_subscriptions.subscribe(token, steady.subscription(), allow_local_endpoint=True)
    push_service.answer("/" + flaky.endpoint.rsplit("/", 1)[1], 500)
    [partial] = WebPushProvider(allow_local_endpoints=True).send_batch([outbound(merchant, card_id, "once")])
    assert partial.accepted  # retrying would give the steady browser a duplicate


def test_card_without_subscription_is_accepted_not_installed_is_refused(merchant, push_service):
    customer_id = add_customer(merchant, "Bo", "Diddley")
    installed, _ = give_card(merchant, customer_id, status="installed", device="pwa")
    not_installed, _ = give_card(merchant, customer_id)
    results = WebPushProvider(allow_local_endpoints=True).send_batch([
        outbound(merchant, installed, "on the card page only", 1),
        outbound(merchant, not_installed, "never", 2),
    ])
    assert [r.id for r in results] == [1, 2]
    assert results[0].accepted and results[0].provider_message_id is None
    assert not results[1].accepted and results[1].permanent and results[1].error == SkipReason.NOT_INSTALLED.value
    assert WebPushProvider(allow_local_endpoints=True).configured()


def test_long_text_is_shortened_for_the_notification_only(merchant, installed_card, push_service):
    card_id, token = installed_card
    browser = Browser.new(f"{push_service.url}/long-{uuid.uuid4().hex}")
    push_subscriptions.subscribe(token, browser.subscription(), allow_local_endpoint=True)
    text = "🎉" * 1000  # 4000 bytes of UTF-8: over what a push service takes
    [result] = WebPushProvider(allow_local_endpoints=True).send_batch([outbound(merchant, card_id, text)])
    assert result.accepted
    [request] = push_service.for_path("/" + browser.endpoint.rsplit("/", 1)[1])
    shown = browser.decrypt(request.body)["body"]
    assert shown.endswith("…") and set(shown[:-1]) == {"🎉"} and len(shown.encode()) <= 3004


# --- subscriptions -------------------------------------------------------------------------


def test_subscribing_again_replaces_by_endpoint(merchant, installed_card):
    card_id, token = installed_card
    endpoint = f"https://push.example.com/wpush/{uuid.uuid4().hex}"
    first, second = Browser.new(endpoint), Browser.new(endpoint)
    push_subscriptions.subscribe(token, first.subscription())
    push_subscriptions.subscribe(token, second.subscription())
    with system_session() as session:
        rows = session.exec(select(PushSubscription).where(PushSubscription.endpoint == endpoint)).all()
    assert [(r.card_id, r.p256dh) for r in rows] == [(card_id, second.subscription().p256dh)]


def test_one_browser_moves_to_another_merchants_card(merchant, other_merchant, installed_card):
    card_id, token = installed_card
    other_card, _ = give_card(other_merchant, add_customer(other_merchant, "Cy", "Twombly"), status="installed")
    endpoint = f"https://push.example.com/wpush/{uuid.uuid4().hex}"
    push_subscriptions.subscribe(token, Browser.new(endpoint).subscription())
    push_subscriptions.subscribe(token_of(other_merchant, other_card), Browser.new(endpoint).subscription())
    assert subscriptions_of(card_id) == []
    with tenant_session(other_merchant) as session:
        assert session.exec(select(PushSubscription.card_id).where(PushSubscription.endpoint == endpoint)).one() == other_card


@pytest.mark.parametrize("endpoint", [
    "http://push.example.com/x",  # not https
    "https://127.0.0.1/x", "https://localhost:8443/x", "https://10.0.0.5/x", "https://[::1]/x",
    "https://169.254.169.254/latest/meta-data",  # cloud metadata: never
    "https://" + "a" * 1000 + ".com/x",
    # numeric forms of 127.0.0.1 that are no literal IP address, with and without a port
    "https://2130706433:6379/x", "https://2130706433/x", "https://127.1/x", "https://0x7f.1/x",
    "https://0x7f.1:8443/admin", "https://[::ffff:127.0.0.1]/x", "https://0/x",
    # names: judged by every address they resolve to
    "https://internal.example.com/x", "https://mixed.example.com/x", "https://metadata.example.com/x",
    "https://v6private.example.com/x", "https://nowhere.invalid/x",
    # a public host on another port (push services use 443)
    "https://push.example.com:8443/x", "https://93.184.215.14:6379/x", "https://push.example.com:0/x",
])
def test_endpoints_we_would_not_call_are_refused(installed_card, endpoint):
    _, token = installed_card
    with pytest.raises(SubscriptionRefused):
        push_subscriptions.subscribe(token, Browser.new(endpoint).subscription())


def test_public_push_service_on_443_is_accepted(installed_card):
    card_id, token = installed_card
    for endpoint in (f"https://push.example.com:443/a{uuid.uuid4().hex}", f"https://93.184.215.14/b{uuid.uuid4().hex}"):
        push_subscriptions.subscribe(token, Browser.new(endpoint).subscription())
    assert len(subscriptions_of(card_id)) == 2


def test_a_card_keeps_its_five_newest_subscriptions(installed_card):
    card_id, token = installed_card
    endpoints = [f"https://push.example.com/wpush/{n}-{uuid.uuid4().hex}" for n in range(7)]
    for endpoint in endpoints:
        push_subscriptions.subscribe(token, Browser.new(endpoint).subscription())
    assert sorted(subscriptions_of(card_id)) == sorted(endpoints[2:])
    push_subscriptions.subscribe(token, Browser.new(endpoints[2]).subscription())  # renewed: now the newest
    push_subscriptions.subscribe(token, Browser.new(endpoints[0]).subscription())
    assert sorted(subscriptions_of(card_id)) == sorted([endpoints[0], endpoints[2], *endpoints[4:]])  # 3 went
    assert [s.endpoint for s in push_subscriptions.subscriptions_for_cards([card_id])[card_id]] == [
        endpoints[0], endpoints[2], endpoints[6], endpoints[5], endpoints[4]]


def test_send_skips_an_endpoint_that_now_resolves_privately(merchant, installed_card, fake_dns, monkeypatch):
    card_id, token = installed_card
    endpoint = f"https://push.example.com/wpush/{uuid.uuid4().hex}"
    push_subscriptions.subscribe(token, Browser.new(endpoint).subscription())
    fake_dns["push.example.com"] = ["127.0.0.1"]  # DNS rebinding after the check
    sent: list[str] = []
    monkeypatch.setattr(webpush_provider, "_push", lambda http, vapid, subject, sub, payload: sent.append(sub.endpoint))
    [result] = WebPushProvider().send_batch([outbound(merchant, card_id, "hello")])
    assert sent == []
    assert result.accepted and result.provider_message_id is None  # on the card page only
    assert subscriptions_of(card_id) == [endpoint]


def test_local_endpoints_are_skipped_without_the_test_escape_hatch(merchant, installed_card, push_service):
    card_id, token = installed_card
    browser = Browser.new(f"{push_service.url}/hatch-{uuid.uuid4().hex}")
    push_subscriptions.subscribe(token, browser.subscription(), allow_local_endpoint=True)
    [result] = WebPushProvider().send_batch([outbound(merchant, card_id, "hello")])
    assert result.accepted and push_service.for_path("/" + browser.endpoint.rsplit("/", 1)[1]) == []


@pytest.mark.parametrize("status", [302, 307, 308])
def test_redirects_are_not_followed(merchant, installed_card, push_service, status):
    card_id, token = installed_card
    browser = Browser.new(f"{push_service.url}/redirect-{uuid.uuid4().hex}")
    push_subscriptions.subscribe(token, browser.subscription(), allow_local_endpoint=True)
    push_service.answer("/" + browser.endpoint.rsplit("/", 1)[1], status)
    [result] = WebPushProvider(allow_local_endpoints=True).send_batch([outbound(merchant, card_id, "hello")])
    assert len(push_service.for_path("/" + browser.endpoint.rsplit("/", 1)[1])) == 1
    assert push_service.for_path("/internal-admin") == []
    assert result.accepted and result.provider_message_id is None


def test_an_unreachable_host_is_tried_once_per_batch(merchant, installed_card, monkeypatch):
    card_id, token = installed_card
    with socket.socket() as probe:  # a port nothing listens on: the connection is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for n in range(3):
        push_subscriptions.subscribe(token, Browser.new(f"http://127.0.0.1:{port}/dead-{n}").subscription(),
                                     allow_local_endpoint=True)
    calls: list[object] = []
    real_webpush = webpush_provider.webpush

    def counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(kwargs["timeout"])
        return real_webpush(*args, **kwargs)

    monkeypatch.setattr(webpush_provider, "webpush", counting)
    results = WebPushProvider(allow_local_endpoints=True).send_batch(
        [outbound(merchant, card_id, "one", 1), outbound(merchant, card_id, "two", 2)])
    assert calls == [(3, 5)]  # connect and read bounded; the other five attempts skipped
    assert all(not r.accepted and not r.permanent and "unreachable" in r.error for r in results)


def test_bad_keys_are_refused(installed_card):
    _, token = installed_card
    good = Browser.new("https://push.example.com/k").subscription()
    for bad in (
        BrowserSubscription(good.endpoint, b64url(b"\x04" + b"\x01" * 64), good.auth),  # not on the curve
        BrowserSubscription(good.endpoint, "not base64!", good.auth),
        BrowserSubscription(good.endpoint, good.p256dh, b64url(b"short")),
    ):
        with pytest.raises(SubscriptionRefused):
            push_subscriptions.subscribe(token, bad)


def test_unknown_or_deleted_card_is_refused(merchant, installed_card):
    card_id, token = installed_card
    subscription = Browser.new("https://push.example.com/x").subscription()
    with pytest.raises(public_card.CardRefused):
        push_subscriptions.subscribe("A" * 32, subscription)
    with tenant_session(merchant) as session:
        session.execute(sa.update(Card).where(Card.id == card_id).values(status="deleted"))
        session.commit()
    with pytest.raises(public_card.CardRefused):
        push_subscriptions.subscribe(token, subscription)


# --- the routes ------------------------------------------------------------------------------


def client(address: str) -> TestClient:
    return TestClient(Starlette(routes=push_api.ROUTES), client=(address, 40000))


def test_key_route_serves_the_public_key():
    response = client("192.0.2.1").get("/api/push/key")
    assert response.status_code == 200
    key = unb64url(response.json()["publicKey"])
    assert len(key) == 65 and key[0] == 4
    assert response.json()["publicKey"] == push_keys.public_key()


def test_subscribe_route_stores_and_refuses(merchant, installed_card, unique):
    card_id, token = installed_card
    api = client(f"198.51.100.{int(unique[:2], 16) % 250}")
    endpoint = f"https://push.example.com/wpush/{unique}"
    body = {"token": token, "subscription": {"endpoint": endpoint, "expirationTime": None,
                                             "keys": {"p256dh": Browser.new(endpoint).subscription().p256dh,
                                                      "auth": b64url(os.urandom(16))}}}
    assert api.post("/api/push/subscribe", json=body).status_code == 201
    assert subscriptions_of(card_id) == [endpoint]
    assert api.post("/api/push/subscribe", json={**body, "token": "Z" * 32}).status_code == 404
    assert api.post("/api/push/subscribe", json={"token": token}).status_code == 400
    assert api.post("/api/push/subscribe", content=b"{not json").status_code == 400
    local = {**body, "subscription": {**body["subscription"], "endpoint": "https://127.0.0.1:9/x"}}
    assert api.post("/api/push/subscribe", json=local).status_code == 400
    assert api.post("/api/push/subscribe", content=b"x" * 5000).status_code == 413
    chunked = (b"x" * 1000 for _ in range(6))  # no Content-Length: counted while streaming
    assert api.post("/api/push/subscribe", content=chunked).status_code == 413


def test_subscribe_route_stops_reading_past_the_limit(unique):
    """A large body is not read whole: the route stops after 4 KB and answers 413."""
    app = Starlette(routes=push_api.ROUTES)
    chunks_read = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal chunks_read
        chunks_read += 1
        return {"type": "http.request", "body": b"x" * 1024, "more_body": chunks_read < 1000}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "http_version": "1.1", "method": "POST", "scheme": "http", "path": "/api/push/subscribe",
             "raw_path": b"/api/push/subscribe", "root_path": "", "query_string": b"", "headers": [],
             "client": (f"192.0.2.{int(unique[:2], 16) % 250}", 40000), "server": ("testserver", 80)}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert chunks_read <= 5


def test_subscribe_route_is_rate_limited_per_client(installed_card, unique):
    _, token = installed_card
    api = client(f"203.0.113.{int(unique[:2], 16) % 250}")
    answers = [api.post("/api/push/subscribe", json={"token": token}).status_code for _ in range(12)]
    assert answers[:10] == [400] * 10 and answers[10:] == [429, 429]
    assert client(f"203.0.113.{(int(unique[:2], 16) + 1) % 250}").post(
        "/api/push/subscribe", json={"token": token}).status_code == 400  # another client is not held up


# --- the key pair --------------------------------------------------------------------------


def test_key_pair_is_made_once_even_when_workers_race():
    with system_session() as session:
        session.execute(sa.delete(SystemSetting).where(SystemSetting.key == push_keys.PRIVATE_KEY_SETTING))
        session.commit()
    push_keys._vapid_for.cache_clear()  # noqa: SLF001 - forget the cached key of the deleted row
    try:
        barrier = threading.Barrier(6)
        stored: list[str] = []

        def worker() -> None:
            barrier.wait()
            stored.append(push_keys._stored_or_created())  # noqa: SLF001 - the racing step itself

        threads = [threading.Thread(target=worker) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(stored) == 6 and len(set(stored)) == 1
        with system_session() as session:
            assert session.exec(select(sa.func.count()).select_from(SystemSetting)
                                .where(SystemSetting.key == push_keys.PRIVATE_KEY_SETTING)).one() == 1
    finally:
        push_keys._vapid_for.cache_clear()  # noqa: SLF001
    first = push_keys.public_key()
    push_keys._vapid_for.cache_clear()  # noqa: SLF001 - as a new process would
    assert push_keys.public_key() == first


# --- the card page's messages ----------------------------------------------------------------


def test_card_page_lists_sent_push_messages_newest_first(merchant, other_merchant, installed_card):
    card_id, token = installed_card
    with tenant_session(merchant) as session:
        customer_id = session.get(Card, card_id).customer_id
        session.execute(sa.update(Merchant).where(Merchant.id == merchant).values(timezone="Europe/Paris"))
        start = dt.datetime(2026, 7, 1, 8, 0, tzinfo=dt.timezone.utc)
        for minutes, status, channel, text in [
            (0, MessageStatus.SENT, Channel.PUSH, "first"),
            (10, MessageStatus.DELIVERED, Channel.PUSH, "second"),
            (20, MessageStatus.QUEUED, Channel.PUSH, "not yet"),
            (30, MessageStatus.FAILED, Channel.PUSH, "failed"),
            (40, MessageStatus.SENT, Channel.SMS, "an sms"),
        ]:
            session.add(Message(customer_id=customer_id, card_id=card_id, channel=channel.value, recipient="x",
                                body=text, status=status.value, created_at=start,
                                sent_at=start + dt.timedelta(minutes=minutes)))
        session.commit()
    assert [(m.text, m.sent_at) for m in public_card.card_messages(token)] == [
        ("second", "2026-07-01 10:10"), ("first", "2026-07-01 10:00")]
    assert public_card.card_messages("Q" * 32) == []


def test_offline_copy_of_the_card_is_self_contained(merchant, installed_card):
    card_id, token = installed_card
    api = TestClient(Starlette(routes=public_card_api.ROUTES))
    response = api.get(f"/api/cards/public/{token}/offline.html")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    card = public_card.load_public_card(token)
    assert f'data-testid="card-serial">{card.serial}<' in response.text
    assert 'data-testid="card-holder">Ada Lovelace<' in response.text
    assert 'src="data:image/svg+xml' in response.text  # the QR needs no network
    assert api.get(f"/api/cards/public/{'N' * 32}/offline.html").status_code == 404
