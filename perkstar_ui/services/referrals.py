"""The referral program (customers.md §15): sign-up by a card's referral link and the
rewards for both sides, on install or on the new card's first visit (spec Q27).

Rewards are granted at most once per referred card: each bonus carries an idempotency
key derived from the new card, so a repeated install or a second first-visit cannot pay
twice. Nobody is rewarded for inviting someone the business already knows.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from perkstar_ui.db.models import Card, CardTemplate, Customer, Merchant
from perkstar_ui.db.tenancy import system_session, tenant_session
from perkstar_ui.domain import contacts
from perkstar_ui.domain.card_types import CARD_TYPE_LABELS, CardType, validate_settings
from perkstar_ui.domain.ledger import Refused
from perkstar_ui.services import cards
from perkstar_ui.services.customer_records import CustomerInput, save_customer
from perkstar_ui.services.refusals import RecordError


@dataclass(frozen=True)
class Invitation:
    business: str
    card_name: str
    card_type_label: str
    referrer_first_name: str


def _referrer_card(code: str) -> Card | None:
    code = (code or "").strip()
    if not code or len(code) > 16:
        return None
    with system_session() as session:  # the code is all we have: look it up across merchants
        card = session.exec(select(Card).where(Card.referral_code == code)).first()
    return card if card is not None and card.status != "deleted" else None


def _program_on(session, card: Card) -> bool:  # noqa: ANN001
    template = session.get(CardTemplate, card.template_id)
    return template is not None and validate_settings(card.card_type, template.settings).referral.enabled


def invitation(code: str) -> Invitation | None:
    """What the sign-up page shows; None for an unknown code or a program that is off."""
    card = _referrer_card(code)
    if card is None:
        return None
    with tenant_session(card.merchant_id) as session:
        if not _program_on(session, card):
            return None
        template = session.get(CardTemplate, card.template_id)
        referrer = session.get(Customer, card.customer_id)
        merchant = session.get(Merchant, card.merchant_id)
        return Invitation(merchant.name, template.name, CARD_TYPE_LABELS[CardType(card.card_type)], referrer.first_name)


def _existing_customer(session, region: str, phone: str, email: str) -> Customer | None:  # noqa: ANN001
    for column, normalise, raw in ((Customer.phone, lambda v: contacts.normalise_phone(v, region), phone),
                                   (Customer.email, contacts.normalise_email, email)):
        try:
            value = normalise(raw)
        except ValueError:
            continue
        if value:
            found = session.exec(select(Customer).where(column == value)).first()
            if found is not None:
                return found
    return None


def sign_up(code: str, first_name: str, last_name: str, phone: str, email: str, *, device: str = "pwa") -> str:
    """A new customer referred by the code's card holder, with the same card issued and
    installed; returns the new card's install token. ``Refused`` with a message."""
    referrer_card = _referrer_card(code)
    if referrer_card is None:
        raise Refused("This referral link is not valid any more.")
    if not (phone or "").strip() and not (email or "").strip():
        raise Refused("Enter a phone number or an email.")
    merchant_id = referrer_card.merchant_id
    with tenant_session(merchant_id) as session:
        if not _program_on(session, referrer_card):
            raise Refused("This referral link is not valid any more.")
        merchant = session.get(Merchant, merchant_id)
        region, business = merchant.default_country, merchant.name
        existing = _existing_customer(session, region, phone, email)
    if existing is not None:
        # §15: no referral reward for someone the business already knows — and a stranger
        # typing a known phone or email must not be handed that customer's card.
        raise Refused(f"You are already a customer of {business}. Ask them to send your card link.")
    try:
        customer_id = save_customer(merchant_id, CustomerInput(first_name, last_name, phone, email))
    except RecordError as error:
        raise Refused(str(error)) from None
    with tenant_session(merchant_id) as session:
        customer = session.get(Customer, customer_id)
        customer.utm = "referral"
        session.add(customer)
        card = cards.issue_card(session, customer_id, session.get(CardTemplate, referrer_card.template_id),
                                utm="referral", referred_by_card_id=referrer_card.id, source="referral")
        session.commit()
        token = card.install_token
    # The install is what may pay the rewards of a program that pays on installation.
    from perkstar_ui.services import (
        public_card,  # public_card calls back into this module
    )

    public_card.install_card(token, device)
    return token


def _program(merchant_id: int, card_id: int):  # noqa: ANN202
    with tenant_session(merchant_id) as session:
        card = session.get(Card, card_id)
        if card is None or card.referred_by_card_id is None:
            return None
        template = session.get(CardTemplate, card.template_id)
        settings = validate_settings(card.card_type, template.settings)
        referrer = session.get(Card, card.referred_by_card_id)
        if referrer is None or not settings.referral.enabled:
            return None
        new_customer = session.get(Customer, card.customer_id)
        old_customer = session.get(Customer, referrer.customer_id)
        return (card, referrer, settings.referral,
                contacts.full_name(new_customer.first_name, new_customer.last_name),
                contacts.full_name(old_customer.first_name, old_customer.last_name))


def _reward(merchant_id: int, card_id: int, trigger: str) -> int:
    program = _program(merchant_id, card_id)
    if program is None:
        return 0
    card, referrer, referral, new_name, old_name = program
    if referral.trigger != trigger:
        return 0
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
    return _reward(merchant_id, card_id, "install")


def on_first_visit(merchant_id: int, card_id: int) -> int:
    """Rewards of a program that pays on the new card's first visit (spec Q27)."""
    return _reward(merchant_id, card_id, "first_visit")
