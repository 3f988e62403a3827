"""The referral program's rewards (customers.md §15, spec Q27, issue 14).

Who invites (``invitation``) and when both sides are paid: on the referred card's first
real visit once it has settled (``domain.referral_rules``: an earning action older than
the counter's undo window and not corrected, so an accidental tap undone pays nobody),
or on its installation when the merchant chose that. Nothing is paid while the new
card's bonuses are held for a contact confirmation (``Card.bonus_hold``), nor for a
template that is inactive or whose program is off. The worker's ``referral-rewards`` job
(``pay_all_due``, every minute) pays settled first visits, and completes a payment of
which only one side was made; a panel load (``services.card_desk``) pays one it finds
due; ``install_card`` here wraps the card page's install. Each bonus carries an
idempotency key derived from the new card, unique per merchant, so two tablets, a
repeated install or a retried payment pay once. Sign-up itself is ``services.signup``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import select

from perkstar_ui.db.models import Card, CardTemplate, CardTransaction, Customer, Merchant, as_utc, utcnow
from perkstar_ui.db.tenancy import system_session, tenant_session
from perkstar_ui.domain import contacts
from perkstar_ui.domain.card_types import CARD_TYPE_LABELS, CardType, validate_settings
from perkstar_ui.domain.referral_rules import LedgerRow, first_visit_settled, may_owe_bonus
from perkstar_ui.services import cards, public_card

REFERRAL_CODE_MAX = 16


@dataclass(frozen=True)
class Invitation:
    business: str
    card_name: str
    card_type_label: str
    referrer_first_name: str
    merchant_id: int
    template_id: int
    referrer_card_id: int


def referrer_card(code: str) -> Card | None:
    """The live card whose referral code this is, across merchants."""
    code = (code or "").strip()
    if not code or len(code) > REFERRAL_CODE_MAX:
        return None
    with system_session() as session:  # the code is all we have: look it up across merchants
        card = session.exec(select(Card).where(Card.referral_code == code)).first()
    return card if card is not None and card.status != "deleted" else None


def _program_on(session, card: Card) -> bool:  # noqa: ANN001
    """The card's template is active and its referral program on."""
    template = session.get(CardTemplate, card.template_id)
    return (template is not None and template.active
            and validate_settings(card.card_type, template.settings).referral.enabled)


def _ledger_rows(session, merchant_id: int, card_id: int) -> list[LedgerRow]:  # noqa: ANN001
    ledger = CardTransaction.__table__
    rows = session.execute(sa.select(ledger.c.id, ledger.c.kind, ledger.c.created_at, ledger.c.source,
                                     ledger.c.action_key, ledger.c.correction_of_id)
                           .where(ledger.c.merchant_id == merchant_id, ledger.c.card_id == card_id)).all()
    return [LedgerRow(r.id, r.kind, as_utc(r.created_at), r.source, r.action_key, r.correction_of_id) for r in rows]


def invitation(code: str) -> Invitation | None:
    """What the sign-up page shows; None for an unknown code or a program that is off."""
    card = referrer_card(code)
    if card is None:
        return None
    with tenant_session(card.merchant_id) as session:
        if not _program_on(session, card):
            return None
        template = session.get(CardTemplate, card.template_id)
        referrer = session.get(Customer, card.customer_id)
        merchant = session.get(Merchant, card.merchant_id)
        return Invitation(merchant.name, template.name, CARD_TYPE_LABELS[CardType(card.card_type)],
                          referrer.first_name, card.merchant_id, template.id, card.id)


def _due(merchant_id: int, card_id: int, now: dt.datetime):  # noqa: ANN202
    """(card, referrer, program, new name, old name) when the card's rewards are due now."""
    with tenant_session(merchant_id) as session:
        card = session.get(Card, card_id)
        if card is None or not may_owe_bonus(card.referred_by_card_id, card.bonus_hold, card.status):
            return None
        template = session.get(CardTemplate, card.template_id)
        referral = validate_settings(card.card_type, template.settings).referral
        referrer = session.get(Card, card.referred_by_card_id)
        if referrer is None or not referral.enabled or not template.active:
            return None
        keys = {f"referral-{card.id}-new": referral.new_customer_reward, f"referral-{card.id}-referrer": referral.referrer_reward}
        paid = set(session.exec(select(CardTransaction.idempotency_key)
                                .where(CardTransaction.idempotency_key.in_(list(keys)))).all())
        if all(key in paid for key, amount in keys.items() if amount):
            return None  # the common case once paid: no lock taken
        if referral.trigger == "install":
            happened = card.installed_at is not None
        else:
            happened = first_visit_settled(_ledger_rows(session, merchant_id, card_id), now)
        if not happened:
            return None
        new_customer = session.get(Customer, card.customer_id)
        old_customer = session.get(Customer, referrer.customer_id)
        return (card, referrer, referral, contacts.full_name(new_customer.first_name, new_customer.last_name),
                contacts.full_name(old_customer.first_name, old_customer.last_name))


def pay_if_due(merchant_id: int, card_id: int, now: dt.datetime | None = None) -> int:
    """Pay the referral rewards of this (referred) card if its trigger has happened (a
    first visit: settled) and they are not held; the number of bonuses granted now (0 when
    paid before)."""
    due = _due(merchant_id, card_id, now or utcnow())
    if due is None:
        return 0
    card, referrer, referral, new_name, old_name = due
    granted = 0
    if referral.new_customer_reward:
        granted += cards.grant_referral_bonus(merchant_id, card.id, referral.new_customer_reward,
                                              key=f"referral-{card.id}-new", comment=f"Referral bonus: invited by {old_name}")
    if referral.referrer_reward:
        granted += cards.grant_referral_bonus(merchant_id, referrer.id, referral.referrer_reward,
                                              key=f"referral-{card.id}-referrer", comment=f"Referral bonus: invited {new_name}")
    return granted


def on_card_installed(merchant_id: int, card_id: int) -> int:
    """Rewards of a program that pays on installation; the number of bonuses granted."""
    return pay_if_due(merchant_id, card_id)


def on_first_visit(merchant_id: int, card_id: int, now: dt.datetime | None = None) -> int:
    """Rewards of a program that pays on the new card's first visit (spec Q27), once that
    visit has settled (older than the undo window, not corrected)."""
    return pay_if_due(merchant_id, card_id, now)


RECENT_ACTIVITY = dt.timedelta(days=2)


def pay_all_due(now: dt.datetime | None = None) -> int:
    """The worker's ``referral-rewards`` job (every minute): pay the first visits that have
    settled since, and what a caller missed (a crash between the visit's commit and the
    payment, or between the two sides' grants): the referred cards active lately of which
    either side's reward is missing. Idempotent."""
    now = now or utcnow()
    card, ledger = Card.__table__, CardTransaction.__table__

    def paid(side: str):  # noqa: ANN202
        key = sa.literal("referral-") + sa.cast(card.c.id, sa.String) + sa.literal(f"-{side}")
        return sa.exists().where(ledger.c.merchant_id == card.c.merchant_id, ledger.c.idempotency_key == key)

    with system_session() as session:  # the candidates are about every merchant
        rows = session.execute(
            sa.select(card.c.merchant_id, card.c.id)
            .where(card.c.referred_by_card_id.is_not(None), card.c.bonus_hold.is_(False), card.c.status != "deleted",
                   card.c.last_activity_at >= now - RECENT_ACTIVITY, ~sa.and_(paid("referrer"), paid("new")))
            .order_by(card.c.merchant_id, card.c.id)
        ).all()
    return sum(pay_if_due(merchant_id, card_id, now) for merchant_id, card_id in rows)


def install_card(token: str, device: str = "pwa") -> bool:
    """The card page's install (``public_card.install_card``), then the rewards of a
    program that pays on installation; whether this was the card's first install."""
    first = public_card.install_card(token, device)
    found = public_card.locate_card(token)
    if found is not None:
        pay_if_due(found[1], found[0])  # also retries a payment an earlier install missed
    return first
