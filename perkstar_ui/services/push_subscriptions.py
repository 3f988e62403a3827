"""Web Push subscriptions of card pages: a holder's browser subscribes for one card.

The card's install token is the only secret (as on the card page); the browser's
``PushSubscription`` names the push service URL we will POST to and the keys that
encrypt the message for that browser only (RFC 8291). Because our server makes that
request, the endpoint is checked first: HTTPS on port 443 to a host whose every address
is public, never this machine or a private network (no server-side request forgery
through a crafted subscription). The provider checks again before each send: a name
may resolve elsewhere later.
"""

from __future__ import annotations

import binascii
import ipaddress
import socket
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
# A holder has a phone or two; the oldest subscription goes when a card has more.
MAX_SUBSCRIPTIONS_PER_CARD = 5


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
    if not allow_local_endpoint:
        refusal = endpoint_refusal(endpoint)
        if refusal:
            raise SubscriptionRefused(refusal)
    else:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise SubscriptionRefused("The endpoint must be an https URL.")
    try:
        public = _decoded(subscription.p256dh, "keys.p256dh")
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public)
    except ValueError:
        raise SubscriptionRefused("keys.p256dh is not a P-256 public key.") from None
    if len(_decoded(subscription.auth, "keys.auth")) != 16:
        raise SubscriptionRefused("keys.auth must be 16 bytes.")
    if len(subscription.p256dh) > 200 or len(subscription.auth) > 100:
        raise SubscriptionRefused("The keys are too long.")


def endpoint_refusal(endpoint: str) -> str | None:
    """Why we will not POST to this endpoint, or None: https, port 443, and a host whose
    every address (resolved now) is global. Names and numeric forms (``127.1``,
    ``2130706433``, ``0x7f.1``) are all judged by what they resolve to."""
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        return "The endpoint is not a valid URL."
    if parts.scheme != "https" or not parts.hostname:
        return "The endpoint must be an https URL."
    if port not in (None, 443):
        return "The endpoint must use the standard https port."
    addresses = resolve(parts.hostname)
    if not addresses:
        return "The endpoint's host does not resolve."
    if not all(_is_global(address) for address in addresses):
        return "The endpoint must be a public push service."
    return None


def resolve(host: str) -> list[str]:
    """Every address the host resolves to (empty when it does not)."""
    try:
        infos = socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [info[4][0] for info in infos]


def _is_global(address: str) -> bool:
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return parsed.is_global


def subscribe(token: str, subscription: BrowserSubscription, *, allow_local_endpoint: bool = False) -> None:
    """Store the subscription for the card with this install token. The endpoint is
    unique: subscribing again (new keys, or the same browser for another card) replaces
    the earlier row. A card keeps its ``MAX_SUBSCRIPTIONS_PER_CARD`` newest subscriptions. Raises ``CardRefused`` for an unknown or deleted card and
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
        newest = (select(PushSubscription.id).where(PushSubscription.card_id == card_id)
                  .order_by(PushSubscription.created_at.desc(), PushSubscription.id.desc())
                  .limit(MAX_SUBSCRIPTIONS_PER_CARD))
        session.execute(sa.delete(PushSubscription).where(
            PushSubscription.card_id == card_id, PushSubscription.id.not_in(newest.scalar_subquery())))
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
            .order_by(PushSubscription.created_at.desc(), PushSubscription.id.desc())
        ).all()
    for card_id, endpoint, p256dh, auth in rows:
        if len(by_card[card_id]) < MAX_SUBSCRIPTIONS_PER_CARD:  # rows kept from before the cap
            by_card[card_id].append(BrowserSubscription(endpoint, p256dh, auth))
    return by_card
