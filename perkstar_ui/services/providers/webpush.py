"""Web Push (RFC 8030/8291/8292) to the card pages that subscribed, with pywebpush.

A push message is addressed to a card; every browser that subscribed for that card
gets it, encrypted for that browser (aes128gcm) and signed with our VAPID key. The card
page also lists the message itself, so a message is accepted even when no browser has
subscribed (or every subscription turned out to be gone): the holder sees it next time
they open the card. Only when every subscription failed for a reason that may pass
(push service down, 429/5xx, network) does the outbox retry it later.

The endpoint came from a browser, so each send checks it again (https, port 443, every
address public: a name may now resolve to a private one), never follows a redirect, and
is bounded: 3 s to connect, 5 s per read, and after one network failure the other
subscriptions on that host are left for the retry instead of each waiting in turn.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import requests
from pywebpush import WebPushException, webpush
from sqlmodel import select

from perkstar_ui.config import Settings, settings
from perkstar_ui.db.models import Card
from perkstar_ui.db.tenancy import system_session
from perkstar_ui.domain.messages import Channel, SkipReason
from perkstar_ui.services import push_keys
from perkstar_ui.services.providers.base import Outbound, SendResult
from perkstar_ui.services.push_subscriptions import (
    BrowserSubscription,
    endpoint_refusal,
    subscriptions_for_cards,
    unsubscribe_endpoint,
)

log = logging.getLogger(__name__)

# How long a push service keeps a message for a phone that is offline (RFC 8030 TTL).
TIME_TO_LIVE_SECONDS = 3 * 24 * 3600
REQUEST_TIMEOUT_SECONDS = (3, 5)  # connect, read
# Push services accept 4096 encrypted bytes; keep the notification text well inside
# (the whole message is on the card page anyway).
MAX_NOTIFICATION_BYTES = 3000
GONE_STATUSES = frozenset({404, 410})  # the browser unsubscribed or the phone is gone
RETRYABLE_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True)
class _CardTarget:
    install_token: str
    status: str


@dataclass(frozen=True)
class _Attempt:
    accepted: bool
    retryable: bool = False
    location: str | None = None
    error: str = ""
    network_failure: bool = False  # no answer (timeout, refused connection): skip the host


def notification_payload(message: Outbound, install_token: str) -> str:
    """What the service worker shows: the merchant's name as the title, the text, and
    the card page to open on a tap."""
    text = message.body
    while len(text.encode("utf-8")) > MAX_NOTIFICATION_BYTES:
        text = text[: max(1, len(text) * 9 // 10)]
    if text != message.body:
        text = text.rstrip() + "…"
    return json.dumps({"title": message.merchant_name, "body": text, "url": f"/card/{install_token}",
                       "tag": f"perkstar-message-{message.id}"}, ensure_ascii=False)


class _NoRedirectSession(requests.Session):
    """A redirect is answered as it is (a 3xx is a refusal): following it would let a
    public endpoint send our POST to a private address."""

    def request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        kwargs["allow_redirects"] = False
        return super().request(*args, **kwargs)


def _card_targets(card_ids: list[int]) -> dict[int, _CardTarget]:
    if not card_ids:
        return {}
    with system_session() as session:
        rows = session.exec(select(Card.id, Card.install_token, Card.status).where(Card.id.in_(card_ids))).all()
    return {card_id: _CardTarget(token, status) for card_id, token, status in rows}


class WebPushProvider:
    channel = Channel.PUSH

    def __init__(self, config: Settings | None = None, *, allow_local_endpoints: bool = False) -> None:
        """``allow_local_endpoints``: tests only, to reach their push service on 127.0.0.1
        over HTTP (the worker never sets it; the public subscribe route cannot store one)."""
        self._config = config or settings()
        self._allow_local_endpoints = allow_local_endpoints

    def configured(self) -> bool:
        """Always: the VAPID keys are ours (made on first use), no account is needed."""
        return True

    def send_batch(self, messages: list[Outbound]) -> list[SendResult]:
        card_ids = sorted({m.card_id for m in messages if m.card_id is not None})
        targets = _card_targets(card_ids)
        subscriptions = subscriptions_for_cards(card_ids)
        vapid = push_keys.vapid()
        subject = self._config.vapid_subject
        with _NoRedirectSession() as http:  # keep-alive to each push service across the batch
            batch = _Batch(http, vapid, subject, self._allow_local_endpoints)
            return [self._send_one(batch, m, targets, subscriptions) for m in messages]

    def _send_one(self, batch: _Batch, message: Outbound, targets: dict[int, _CardTarget],
                  subscriptions: dict[int, list[BrowserSubscription]]) -> SendResult:
        target = targets.get(message.card_id) if message.card_id is not None else None
        if target is None or target.status == "deleted":
            return SendResult(message.id, accepted=False, error="The card no longer exists.", permanent=True)
        if target.status != "installed":
            return SendResult(message.id, accepted=False, error=SkipReason.NOT_INSTALLED.value, permanent=True)
        payload = notification_payload(message, target.install_token)
        attempts = [batch.push(subscription, payload) for subscription in subscriptions.get(message.card_id, [])]
        accepted = [a for a in attempts if a.accepted]
        retryable = [a for a in attempts if a.retryable]
        if retryable and not accepted:
            # Nobody got it yet and it may pass: retry the whole message later (no duplicates).
            return SendResult(message.id, accepted=False, error=retryable[0].error, permanent=False)
        return SendResult(message.id, accepted=True, provider_message_id=accepted[0].location if accepted else None)


class _Batch:
    """One batch's sends: the session, and per host what is known so far (its endpoint
    check, and whether it already failed to answer)."""

    def __init__(self, http: requests.Session, vapid, subject: str, allow_local_endpoints: bool) -> None:  # noqa: ANN001
        self.http, self.vapid, self.subject = http, vapid, subject
        self.allow_local_endpoints = allow_local_endpoints
        self._unreachable: dict[str, _Attempt] = {}

    def push(self, subscription: BrowserSubscription, payload: str) -> _Attempt:
        host = _host(subscription.endpoint)
        if host in self._unreachable:  # it failed once in this batch: the retry will try again
            return self._unreachable[host]
        if not self.allow_local_endpoints:
            refusal = endpoint_refusal(subscription.endpoint)
            if refusal:
                log.warning("push to %s skipped: %s", host, refusal)
                return _Attempt(accepted=False, error=refusal)
        attempt = _push(self.http, self.vapid, self.subject, subscription, payload)
        if attempt.network_failure:
            self._unreachable[host] = attempt
        return attempt


def _push(http: requests.Session, vapid, subject: str, subscription: BrowserSubscription, payload: str) -> _Attempt:  # noqa: ANN001
    info = {"endpoint": subscription.endpoint, "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}}
    try:
        response = webpush(info, payload, vapid_private_key=vapid, vapid_claims={"sub": subject},
                           ttl=TIME_TO_LIVE_SECONDS, timeout=REQUEST_TIMEOUT_SECONDS, requests_session=http)
    except WebPushException as error:
        status = error.response.status_code if error.response is not None else None
        if status in GONE_STATUSES:
            unsubscribe_endpoint(subscription.endpoint)
            return _Attempt(accepted=False)
        retryable = status is None or status >= 500 or status in RETRYABLE_STATUSES
        log.warning("push to %s refused (%s)", _host(subscription.endpoint), status)
        return _Attempt(accepted=False, retryable=retryable, error=f"Push service answered {status}.")
    except requests.RequestException as error:
        log.warning("push to %s failed: %s", _host(subscription.endpoint), type(error).__name__)
        return _Attempt(accepted=False, retryable=True, network_failure=True,
                        error=f"Push service unreachable ({type(error).__name__}).")
    return _Attempt(accepted=True, location=response.headers.get("Location"))


def _host(endpoint: str) -> str:
    """For logs: the push service, never the whole endpoint (it identifies a browser)."""
    return endpoint.split("/")[2] if endpoint.count("/") >= 2 else "?"
