"""The public card page (``/card/{token}``): what the holder sees, installing it on the
home screen, and leaving a review. No login: the install token is the only secret.

The card is found by its token across merchants (``system_session``, one indexed
look-up of id and merchant); everything else is read and written in that merchant's
``tenant_session``, so the page can never show another merchant's data.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import segno
import sqlalchemy as sa
from sqlmodel import select

from perkstar_ui.db.models import Card, CardTemplate, Customer, Merchant, Message, Review, as_utc, utcnow
from perkstar_ui.db.tenancy import system_session, tenant_session
from perkstar_ui.domain import contacts
from perkstar_ui.domain.card_types import (
    BALANCE_UNITS,
    CARD_TYPE_LABELS,
    BalanceUnit,
    CardType,
    validate_settings,
)
from perkstar_ui.domain.formatting import card_status_label, device_label, format_units
from perkstar_ui.domain.ledger import spend_tier
from perkstar_ui.domain.messages import Channel, MessageStatus

# Tokens are drawn from serials.ALPHABET; accept any URL-safe token up to the column size
# and answer "not found" to anything else without asking the database.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,43}$")
TIERED_TYPES = frozenset({CardType.CASHBACK, CardType.DISCOUNT, CardType.MEMBERSHIP})
DEVICES = frozenset({"pwa", "apple_wallet", "google_wallet"})
REVIEW_MAX_LENGTH = 2000
# A holder submitting again within this window replaces their earlier review, so the
# public form cannot be used to pile up ratings in the merchant's tiles.
REVIEW_REPLACE_WINDOW = dt.timedelta(hours=24)

DELETED_MESSAGE = "This card has been deleted and no longer works."
_BALANCE_LABELS = {
    CardType.STAMP: "Stamps",
    CardType.MULTIPASS: "Visits left",
    CardType.CASHBACK: "Points",
    CardType.GIFT: "Balance",
    CardType.REWARD: "Points",
    CardType.COUPON: "",
    CardType.MEMBERSHIP: "Visits left",
    CardType.DISCOUNT: "Total spent",
}
# Push messages the card page lists (newest first); older ones are not shown.
CARD_MESSAGES_SHOWN = 20
_SHOWN_STATUSES = (MessageStatus.SENT.value, MessageStatus.DELIVERED.value)
_TIER_LABELS = {CardType.CASHBACK: "Cashback level", CardType.DISCOUNT: "Discount level", CardType.MEMBERSHIP: "Membership"}


class CardRefused(Exception):
    """The action is not possible for this card; the message is for the holder."""


@dataclass(frozen=True)
class PublicCard:
    business: str
    holder: str
    card_type: str
    type_label: str
    template_name: str
    serial: str
    status: str  # Installed / Uninstalled / Deleted / Expired
    deleted: bool
    installed: bool
    device: str  # display label, empty when not installed
    balance: str  # plain value in the type's unit (contract), empty for a coupon
    balance_label: str
    has_tier: bool
    tier: str
    tier_label: str
    rewards: tuple[str, ...]  # lines for people: rewards ready, the catalogue, the offer
    rewards_available: str  # digits (stamp cards); empty for the other types
    expiration: str  # ISO date, empty when the card never expires
    qr_svg_data_uri: str  # empty for a deleted card: it must not be scanned


def valid_token(token: str) -> bool:
    return bool(token) and _TOKEN.match(token) is not None


def locate_card(token: str) -> tuple[int, int] | None:
    """(card id, merchant id) for an install token, across merchants."""
    if not valid_token(token):
        return None
    with system_session() as session:
        row = session.exec(select(Card.id, Card.merchant_id).where(Card.install_token == token)).first()
    return (row[0], row[1]) if row else None


def qr_data_uri(serial: str) -> str:
    """The serial as a QR code, an SVG data URI (segno; no files, no network)."""
    return segno.make(serial, error="m").svg_data_uri(scale=8, border=2, dark="#111111", light="#ffffff")


def _tier(card: Card, settings) -> str:  # noqa: ANN001
    """The card's tier from the ledger cache; before the engine has set one, the tier a
    new card starts on (the first of the template's)."""
    if card.tier:
        return card.tier
    tiers = getattr(settings, "tiers", None) or []
    if card.card_type in (CardType.CASHBACK, CardType.DISCOUNT) and tiers:
        return spend_tier(tiers, card.spend_total_cents).name
    return tiers[0].name if tiers else ""


def _rewards(card: Card, settings) -> tuple[tuple[str, ...], str]:  # noqa: ANN001
    kind = CardType(card.card_type)
    if kind == CardType.STAMP:
        count = card.rewards_available
        ready = f"{count} reward{'s' if count != 1 else ''} ready to redeem" if count else "No reward ready yet"
        to_go = settings.stamp_count - card.balance % settings.stamp_count
        return (ready, f"{to_go} more stamp{'s' if to_go != 1 else ''} to the next reward"), str(count)
    if kind == CardType.REWARD:
        points = card.balance
        lines = tuple(
            f"{level.name}: {format_units(level.centipoints, BalanceUnit.CENTIPOINTS)} points"
            + (" (available)" if points >= level.centipoints else "")
            for level in settings.levels
        )
        return lines, ""
    if kind == CardType.COUPON:
        used = (card.metrics or {}).get("coupon_status") == "redeemed"
        return (settings.offer + (" (used)" if used else ""),), ""
    if kind in (CardType.CASHBACK, CardType.DISCOUNT):
        tier = _tier(card, settings)
        percent = next((t.percent for t in settings.tiers if t.name == tier), None)
        if percent is not None:
            verb = "cashback" if kind == CardType.CASHBACK else "off every purchase"
            return (f"{percent.normalize():f}% {verb}",), ""
    return (), ""


def load_public_card(token: str, *, today: dt.date | None = None) -> PublicCard | None:
    """What the card page shows, or None for an unknown token (no hint of why)."""
    found = locate_card(token)
    if found is None:
        return None
    card_id, merchant_id = found
    today = today or dt.date.today()
    with tenant_session(merchant_id) as session:
        card = session.get(Card, card_id)
        if card is None:
            return None
        customer = session.get(Customer, card.customer_id)
        template = session.get(CardTemplate, card.template_id)
        business = session.exec(select(Merchant.name).where(Merchant.id == merchant_id)).one()
    kind = CardType(card.card_type)
    settings = validate_settings(kind, template.settings if template else None)
    deleted = card.status == "deleted"
    rewards, rewards_available = _rewards(card, settings)
    return PublicCard(
        business=business,
        holder=contacts.full_name(customer.first_name, customer.last_name) if customer else "",
        card_type=kind.value,
        type_label=CARD_TYPE_LABELS[kind],
        template_name=template.name if template else CARD_TYPE_LABELS[kind],
        serial=card.serial,
        status=card_status_label(card.status, card.expires_on, today),
        deleted=deleted,
        installed=card.status == "installed",
        device=device_label(card.device) if card.status == "installed" else "",
        balance=format_units(card.balance, BALANCE_UNITS[kind]),
        balance_label=_BALANCE_LABELS[kind],
        has_tier=kind in TIERED_TYPES,
        tier=_tier(card, settings) if kind in TIERED_TYPES else "",
        tier_label=_TIER_LABELS.get(kind, ""),
        rewards=rewards,
        rewards_available=rewards_available,
        expiration=card.expires_on.isoformat() if card.expires_on else "",
        qr_svg_data_uri="" if deleted else qr_data_uri(card.serial),
    )


def install_card(token: str, device: str = "pwa") -> bool:
    """Mark the card installed on ``device`` (the home-screen install is ``pwa``).

    Idempotent: installing again on the same device changes nothing; on another device
    (a platform switch) only the device changes. ``installed_at`` is set once, by the
    first install ever. Returns whether this was that first install. A Deleted card is
    refused with ``CardRefused``; an unknown token too. A program that pays referral
    rewards on installation is the caller's (``services.referrals.install_card``).
    """
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}")
    found = locate_card(token)
    if found is None:
        raise CardRefused("Card not found.")
    card_id, merchant_id = found
    with tenant_session(merchant_id) as session:
        status = session.exec(select(Card.status).where(Card.id == card_id)).one()
        if status == "deleted":
            raise CardRefused(DELETED_MESSAGE)
        live = sa.and_(Card.id == card_id, Card.status != "deleted")
        # Two taps at once: the row lock (PostgreSQL) or the single writer (SQLite)
        # lets exactly one of them claim the first install.
        first = session.execute(
            sa.update(Card).where(live, Card.installed_at.is_(None)).values(installed_at=utcnow())
        ).rowcount == 1
        changed = session.execute(
            sa.update(Card)
            .where(live, sa.or_(Card.status != "installed", Card.device.is_(None), Card.device != device))
            .values(status="installed", device=device, version=Card.version + 1)
        ).rowcount
        if not first and not changed:
            session.rollback()
            if session.exec(select(Card.status).where(Card.id == card_id)).one() == "deleted":
                raise CardRefused(DELETED_MESSAGE)  # deleted between the read and the update
            return False
        session.commit()
    return first


def submit_review(token: str, rating: int | str, text: str | None = None, *, now: dt.datetime | None = None) -> int:
    """Store the holder's rating (1–5) and optional text for the card's merchant,
    customer and card; returns the review id. A second review of the same card within
    ``REVIEW_REPLACE_WINDOW`` replaces the first. Raises ``CardRefused`` with a
    message for the holder."""
    try:
        value = int(str(rating).strip())
    except ValueError:
        raise CardRefused("Choose a rating from 1 to 5.") from None
    if not 1 <= value <= 5:
        raise CardRefused("Choose a rating from 1 to 5.")
    body = (text or "").strip()
    if len(body) > REVIEW_MAX_LENGTH:
        raise CardRefused(f"Keep the review under {REVIEW_MAX_LENGTH} characters (it has {len(body)}).")
    found = locate_card(token)
    if found is None:
        raise CardRefused("Card not found.")
    card_id, merchant_id = found
    now = now or utcnow()
    with tenant_session(merchant_id) as session:
        card = session.get(Card, card_id)
        if card is None:
            raise CardRefused("Card not found.")
        if card.status == "deleted":
            raise CardRefused(DELETED_MESSAGE)
        recent = session.exec(
            select(Review)
            .where(Review.card_id == card_id, Review.created_at >= now - REVIEW_REPLACE_WINDOW)
            .order_by(Review.created_at.desc(), Review.id.desc())
        ).first()
        if recent is None:
            recent = Review(merchant_id=merchant_id, customer_id=card.customer_id, card_id=card_id, rating=value)
        recent.rating, recent.text, recent.created_at = value, body or None, now
        session.add(recent)
        session.commit()
        return recent.id


@dataclass(frozen=True)
class CardMessage:
    text: str
    sent_at: str  # "YYYY-MM-DD HH:MM" in the merchant's timezone


def card_messages(token: str, limit: int = CARD_MESSAGES_SHOWN) -> list[CardMessage]:
    """The push messages that went out to this card (sent or delivered), newest first:
    the card page shows them whether or not the holder's phone took the notification.
    Times are in the merchant's timezone."""
    found = locate_card(token)
    if found is None:
        return []
    card_id, merchant_id = found
    with tenant_session(merchant_id) as session:
        zone_name = session.exec(select(Merchant.timezone).where(Merchant.id == merchant_id)).one()
        rows = session.exec(
            select(Message.body, Message.sent_at, Message.created_at)
            .where(Message.card_id == card_id, Message.channel == Channel.PUSH.value,
                   Message.status.in_(_SHOWN_STATUSES))
            .order_by(sa.func.coalesce(Message.sent_at, Message.created_at).desc(), Message.id.desc())
            .limit(limit)
        ).all()
    zone = _zone(zone_name)
    return [CardMessage(text=body, sent_at=as_utc(sent or created).astimezone(zone).strftime("%Y-%m-%d %H:%M"))
            for body, sent, created in rows]


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def card_manifest(token: str) -> dict | None:
    """The web app manifest that makes "Add to home screen" install this one card as a
    PWA opening on its own page; None for an unknown token."""
    found = locate_card(token)
    if found is None:
        return None
    card_id, merchant_id = found
    with tenant_session(merchant_id) as session:
        row = session.exec(
            select(Merchant.name, CardTemplate.name, Card.card_type)
            .join(CardTemplate, CardTemplate.id == Card.template_id)
            .join(Merchant, Merchant.id == Card.merchant_id)
            .where(Card.id == card_id)
        ).first()
    if row is None:
        return None
    business, template_name, _card_type = row
    page = f"/card/{token}"
    return {
        "id": page,
        "name": f"{business} · {template_name}",
        "short_name": business[:12],
        "description": f"Your {template_name} at {business}",
        "start_url": page,
        "scope": page,
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": "#6e56cf",
        "icons": [
            {"src": "/card-icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": "/card-icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
        ],
    }
