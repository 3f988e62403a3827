"""A local Stripe-shaped API on loopback for the E2E app (``STRIPE_API_BASE``) and the unit
tests (``stripe.api_base``): it answers the calls the app makes with Stripe's own fixture
objects (``tests.stripe_fixtures``) and records every request, so a test asserts what the
app asked Stripe for without the internet. The key ``REVOKED_KEY`` is refused with
Stripe's 401. Routes: ``GET /v1/account``, ``GET /v1/prices``, ``GET /v1/prices/{id}``,
``POST /v1/prices``, ``POST /v1/checkout/sessions``, ``POST /v1/subscriptions/{id}``."""

from __future__ import annotations

import json
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests import stripe_fixtures as fx

ACCOUNT_ID = "acct_1PerkstarE2eGym"
ACCOUNT_NAME = "E2E Gym"
LISTED_PRICE = "price_e2e_listed_monthly"
LISTED_PRODUCT = "Gym membership"
CREATED_PRICE = "price_e2e_created"
CHECKOUT_URL = "https://checkout.stripe.com/c/pay/cs_test_perkstar_e2e"
REVOKED_KEY = "sk_test_51PerkstarRevokedKey00009999"


@dataclass(frozen=True)
class StripeRequest:
    method: str
    path: str
    form: dict[str, str]
    auth: str
    query: dict[str, list[str]]


class _Handler(BaseHTTPRequestHandler):
    server: "StripeApi._Server"

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _price(self, price_id: str, **changes) -> dict:  # noqa: ANN003
        price = fx.resource("price")
        price.update(id=price_id, **changes)
        return price

    def _handle(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in urllib.parse.parse_qs(self.rfile.read(length).decode()).items()} if length else {}
        auth = self.headers.get("Authorization") or ""
        self.server.owner.record(StripeRequest(self.command, url.path, form, auth, urllib.parse.parse_qs(url.query)))
        if auth == f"Bearer {REVOKED_KEY}":
            return self._answer(401, {"error": {"type": "invalid_request_error",
                                                "message": "Invalid API Key provided: sk_test_***9999"}})
        route = (self.command, url.path)
        if route == ("GET", "/v1/account"):
            return self._answer(200, {"id": ACCOUNT_ID, "object": "account",
                                      "settings": {"dashboard": {"display_name": ACCOUNT_NAME}}})
        if route == ("GET", "/v1/prices"):
            price = self._price(LISTED_PRICE, unit_amount=3_500,
                                product={"id": "prod_e2e", "object": "product", "name": LISTED_PRODUCT})
            return self._answer(200, {"object": "list", "data": [price], "has_more": False, "url": "/v1/prices"})
        if self.command == "GET" and url.path.startswith("/v1/prices/"):
            return self._answer(200, self._price(url.path.rsplit("/", 1)[1]))
        if route == ("POST", "/v1/prices"):
            return self._answer(200, self._price(CREATED_PRICE, unit_amount=int(form.get("unit_amount") or 0)))
        if route == ("POST", "/v1/checkout/sessions"):
            session = fx.resource("checkout.session")
            session.update(mode="subscription", url=CHECKOUT_URL,
                           metadata={"card_serial": form.get("metadata[card_serial]", "")})
            return self._answer(200, session)
        if self.command == "POST" and url.path.startswith("/v1/subscriptions/"):
            subscription = fx.resource("subscription")
            subscription.update(id=url.path.rsplit("/", 1)[1], cancel_at_period_end=True)
            return self._answer(200, subscription)
        return self._answer(404, {"error": {"type": "invalid_request_error", "message": f"No route {url.path}"}})

    do_GET = do_POST = do_DELETE = _handle


class StripeApi:
    class _Server(ThreadingHTTPServer):
        owner: "StripeApi"

    def __init__(self) -> None:
        self._requests: list[StripeRequest] = []
        self._lock = threading.Lock()
        self._server = self._Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "StripeApi":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def record(self, request: StripeRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def requests(self, method: str | None = None, path_prefix: str = "") -> list[StripeRequest]:
        with self._lock:
            return [r for r in self._requests if (method is None or r.method == method) and r.path.startswith(path_prefix)]
