"""Web Push subscriptions of card pages: a holder's browser subscribes for one card.

The card's install token is the only secret (as on the card page); the browser's
``PushSubscription`` names the push service URL we will POST to and the keys that
encrypt the message for that browser only (RFC 8291). Because our server makes that
request, the endpoint is checked first: HTTPS to a public host, never this machine or
a private network (no server-side request forgery through a crafted subscription).
"""

from __future__ import annotations

import binascii
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid.utils import b64urldecode
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import select

from perkstar_ui.db.models import Card, PushSubscription, utcnow
from perkstar_ui.db.tenancy import system_session
from perkstar_ui.services.public_card import DELETED_MESSAGE, CardRefused, locate_card

MAX_ENDPOINT_LENGTH = 1000
_LOCAL_HOST_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


class SubscriptionRefused(ValueError):
    """The browser's subscription is malformed or points somewhere we will not call."""


@dataclass(frozen=True)
class BrowserSubscription:
    """``PushSubscription.toJSON()``: where to send and the keys to encrypt for."""

    endpoint: str
    p256dh: str  # the browser's P-256 public key, uncompressed point, base64url
    auth: str  # the 16-byte authentication secret, base64url

    @classmethod
    def from_json(cls, data: object) -> BrowserSubscription:
        if not isinstance(data, dict) or not isinstance(data.get("keys"), dict):
            raise SubscriptionRefused("Expected a PushSubscription: endpoint and keys.")
        keys = data["keys"]
        values = (data.get("endpoint"), keys.get("p256dh"), keys.get("auth"))
        if not all(isinstance(value, str) and value for value in values):
            raise SubscriptionRefused("The subscription needs endpoint, keys.p256dh and keys.auth.")
        return cls(*(value.strip() for value in values))


def _decoded(value: str, what: str) -> bytes:
    try:
        return b64urldecode(value.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise SubscriptionRefused(f"{what} is not base64url.") from None


def check(subscription: BrowserSubscription, *, allow_local_endpoint: bool = False) -> None:
    """Refuse what a real browser would never send. ``allow_local_endpoint`` lets tests
    run their own push service on 127.0.0.1 over HTTP; the public route never sets it."""
    endpoint = subscription.endpoint
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise SubscriptionRefused("The endpoint is too long.")
    parts = urlsplit(endpoint)
    if parts.scheme not in (("https", "http") if allow_local_endpoint else ("https",)) or not parts.hostname:
        raise SubscriptionRefused("The endpoint must be an https URL.")
    if not allow_local_endpoint and _is_local(parts.hostname):
        raise SubscriptionRefused("The endpoint must be a public push service.")
    try:
        public = _decoded(subscription.p256dh, "keys.p256dh")
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public)
    except ValueError:
        raise SubscriptionRefused("keys.p256dh is not a P-256 public key.") from None
    if len(_decoded(subscription.auth, "keys.auth")) != 16:
        raise SubscriptionRefused("keys.auth must be 16 bytes.")
    if len(subscription.p256dh) > 200 or len(subscription.auth) > 100:
        raise SubscriptionRefused("The keys are too long.")


def _is_local(host: str) -> bool:
    if host.lower().rstrip(".") in _LOCAL_HOST_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False  # a name: push services are public names (fcm.googleapis.com, …)
    return not address.is_global


def subscribe(token: str, subscription: BrowserSubscription, *, allow_local_endpoint: bool = False) -> None:
    """Store the subscription for the card with this install token. The endpoint is
    unique: subscribing again (new keys, or the same browser for another card) replaces
    the earlier row. Raises ``CardRefused`` for an unknown or deleted card and
    ``SubscriptionRefused`` for a bad subscription."""
    check(subscription, allow_local_endpoint=allow_local_endpoint)
    found = locate_card(token)
    if found is None:
        raise CardRefused("Card not found.")
    card_id, merchant_id = found
    values = {"merchant_id": merchant_id, "card_id": card_id, "endpoint": subscription.endpoint,
              "p256dh": subscription.p256dh, "auth": subscription.auth, "created_at": utcnow()}
    # A system session: the endpoint may move from another merchant's card (one browser,
    # two businesses), which a tenant session must never touch.
    with system_session() as session:
        status = session.exec(select(Card.status).where(Card.id == card_id)).first()
        if status is None or status == "deleted":
            raise CardRefused(DELETED_MESSAGE)
        dialect = session.get_bind().dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(PushSubscription).values(**values)
        session.execute(insert.on_conflict_do_update(
            index_elements=["endpoint"],
            set_={key: insert.excluded[key] for key in ("merchant_id", "card_id", "p256dh", "auth", "created_at")},
        ))
        session.commit()


def unsubscribe_endpoint(endpoint: str) -> None:
    """Forget a subscription the push service says is gone (HTTP 404/410)."""
    with system_session() as session:
        session.execute(sa.delete(PushSubscription).where(PushSubscription.endpoint == endpoint))
        session.commit()


def subscriptions_for_cards(card_ids: list[int]) -> dict[int, list[BrowserSubscription]]:
    """Every stored subscription of these cards (any merchant: the worker's batch spans
    merchants), by card id."""
    if not card_ids:
        return {}
    by_card: dict[int, list[BrowserSubscription]] = {card_id: [] for card_id in card_ids}
    with system_session() as session:
        rows = session.exec(
            select(PushSubscription.card_id, PushSubscription.endpoint, PushSubscription.p256dh, PushSubscription.auth)
            .where(PushSubscription.card_id.in_(card_ids))
            .order_by(PushSubscription.id)
        ).all()
    for card_id, endpoint, p256dh, auth in rows:
        by_card[card_id].append(BrowserSubscription(endpoint, p256dh, auth))
    return by_card
