"""Who a campaign reaches and what fills each recipient's placeholders (no Reflex).

An audience resolves to a ``SELECT customer.id`` (never a list of every id through
Python); one query then reads each recipient with the card that fills ``{balance}``,
the links and ``{card_name}``: their live card of the chosen template, else their most
recently active live card (for push, an installed card first, since only those can
receive it). Every statement names the merchant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from perkstar_ui.db.models import Card, CardTemplate, Customer, Segment
from perkstar_ui.domain import filters
from perkstar_ui.domain.campaigns import Audience, CampaignError, Placeholder
from perkstar_ui.domain.card_types import BALANCE_UNITS, BalanceUnit, CardType
from perkstar_ui.domain.formatting import format_units
from perkstar_ui.domain.messages import Channel
from perkstar_ui.services import customer_filters

SEGMENT_GONE = "This segment no longer exists: choose another audience."
INSTALLED = "installed"
DELETED = "deleted"


@dataclass(frozen=True)
class Target:
    """The audience as the merchant chose it; stored on the campaign (``audience_detail``)
    so a scheduled campaign is resolved again when it is due."""

    audience: Audience
    ids: tuple[int, ...] = ()  # selected / test: the picked customers
    every_match: bool = False  # selected: every customer the filter and search match
    filter_json: str = ""  # selected (every match) / filter
    search: str = ""
    segment_id: int | None = None
    template_id: int | None = None  # card holders' template; elsewhere the card that fills placeholders

    def detail(self) -> dict:
        return {"ids": list(self.ids), "every_match": self.every_match, "filter": self.filter_json,
                "search": self.search, "segment_id": self.segment_id, "template_id": self.template_id}

    @classmethod
    def from_detail(cls, audience: str, detail: dict) -> Target:
        return cls(Audience(audience), tuple(int(i) for i in detail.get("ids") or ()), bool(detail.get("every_match")),
                   str(detail.get("filter") or ""), str(detail.get("search") or ""), detail.get("segment_id"),
                   detail.get("template_id"))


def _spec(filter_json: str) -> filters.Filter | None:
    return filters.from_json(filter_json) if filter_json else None


def _segment_spec(session: Session, merchant_id: int, segment_id: int | None) -> filters.Filter:
    criteria = None
    if segment_id is not None:
        criteria = session.exec(
            select(Segment.criteria).where(Segment.merchant_id == merchant_id, Segment.id == int(segment_id))
        ).first()
    if criteria is None:
        raise CampaignError(SEGMENT_GONE, "segment")
    return filters.from_json(criteria)


def _template_exists(session: Session, merchant_id: int, template_id: int | None) -> bool:
    return template_id is not None and session.exec(
        select(CardTemplate.id).where(CardTemplate.merchant_id == merchant_id, CardTemplate.id == int(template_id))
    ).first() is not None


def audience_ids(session: Session, merchant_id: int, target: Target) -> sa.Select | list[int]:
    """The audience's customer ids as a subquery (or the picked ids). ``CampaignError`` for
    an audience that cannot be resolved; ``FilterError`` for a filter that no longer applies."""
    audience = target.audience
    if audience in (Audience.SELECTED, Audience.TEST) and not target.every_match:
        if not target.ids:
            raise CampaignError("Select the customers to send to first (tick their rows in the grid)."
                                if audience == Audience.SELECTED else "Name at least one test recipient.",
                                "audience")
        return sorted(set(target.ids))
    if audience in (Audience.SELECTED, Audience.FILTER):
        return customer_filters.matching_ids_query(session, merchant_id, _spec(target.filter_json), target.search)
    if audience == Audience.SEGMENT:
        return customer_filters.matching_ids_query(session, merchant_id,
                                                   _segment_spec(session, merchant_id, target.segment_id))
    if audience == Audience.TEMPLATE:
        if not _template_exists(session, merchant_id, target.template_id):
            raise CampaignError("Choose the card template whose holders get the message.", "template")
        return select(Card.customer_id).where(Card.merchant_id == merchant_id,
                                              Card.template_id == int(target.template_id), Card.status != DELETED)
    raise CampaignError("Choose who gets the message.", "audience")


def count(session: Session, merchant_id: int, target: Target) -> int:
    ids = audience_ids(session, merchant_id, target)
    statement = select(sa.func.count()).select_from(Customer).where(Customer.merchant_id == merchant_id,
                                                                    Customer.id.in_(ids))
    return session.exec(statement).one()


@dataclass(frozen=True)
class Recipient:
    customer_id: int
    first_name: str
    last_name: str
    phone: str | None
    email: str | None
    sms_consent: bool
    email_consent: bool
    card_id: int | None
    serial: str | None
    card_status: str | None
    balance: int | None
    card_type: str | None
    install_token: str | None
    referral_code: str | None
    card_name: str | None


_NO_CARD = (None,) * 8


def _card_choice(merchant_id: int, ids: sa.Select | list[int], target: Target, channel: Channel) -> sa.Subquery:
    """Each audience customer's live cards ranked: rank 1 fills the placeholders."""
    where = [Card.merchant_id == merchant_id, Card.status != DELETED, Card.customer_id.in_(ids)]
    if target.audience == Audience.TEMPLATE:
        where.append(Card.template_id == int(target.template_id))
    order: list[sa.ColumnElement] = []
    if channel == Channel.PUSH:
        order.append(sa.case((Card.status == INSTALLED, 0), else_=1))
    if target.template_id is not None:
        order.append(sa.case((Card.template_id == int(target.template_id), 0), else_=1))
    order += [sa.func.coalesce(Card.last_activity_at, Card.issued_at).desc(), Card.id.desc()]
    return (
        select(Card.customer_id, Card.id.label("card_id"), Card.serial, Card.status, Card.balance, Card.card_type,
               Card.install_token, Card.referral_code, CardTemplate.name.label("card_name"),
               sa.func.row_number().over(partition_by=Card.customer_id, order_by=order).label("rank"))
        .join(CardTemplate, sa.and_(CardTemplate.id == Card.template_id, CardTemplate.merchant_id == merchant_id))
        .where(*where)
        .subquery("chosen_card")
    )


def recipients(session: Session, merchant_id: int, target: Target, channel: Channel, *,
               only: list[int] | None = None, limit: int | None = None) -> Iterator[Recipient]:
    """Every audience customer (by id) with the card that fills their placeholders.
    ``only`` narrows to some customers of the audience (the preview).

    Two queries joined here by customer id: SQLite would scan the ranked cards once per
    customer in a LEFT JOIN on the window subquery."""
    ids = audience_ids(session, merchant_id, target)
    if only is not None:
        ids = select(Customer.id).where(Customer.merchant_id == merchant_id, Customer.id.in_(ids),
                                        Customer.id.in_(only))
    ranked = _card_choice(merchant_id, ids, target, channel)
    cards = {row[0]: row[1:] for row in session.execute(
        select(ranked.c.customer_id, ranked.c.card_id, ranked.c.serial, ranked.c.status, ranked.c.balance,
               ranked.c.card_type, ranked.c.install_token, ranked.c.referral_code, ranked.c.card_name)
        .where(ranked.c.rank == 1)
    )}
    statement = (
        select(Customer.id, Customer.first_name, Customer.last_name, Customer.phone, Customer.email,
               Customer.sms_consent, Customer.email_consent)
        .where(Customer.merchant_id == merchant_id, Customer.id.in_(ids))
        .order_by(Customer.id)
    )
    if limit is not None:
        statement = statement.limit(limit)
    for row in session.execute(statement):
        yield Recipient(*row, *cards.get(row[0], _NO_CARD))


def placeholder_values(recipient: Recipient, base_url: str) -> dict[str, str]:
    values = {Placeholder.FIRST_NAME.value: recipient.first_name or "",
              Placeholder.LAST_NAME.value: recipient.last_name or ""}
    if recipient.card_id is None:
        return values
    unit = BALANCE_UNITS.get(CardType(recipient.card_type), BalanceUnit.NONE)
    values[Placeholder.BALANCE.value] = format_units(recipient.balance or 0, unit)
    values[Placeholder.INSTALL_LINK.value] = f"{base_url}/card/{recipient.install_token}"
    values[Placeholder.REFERRAL_LINK.value] = f"{base_url}/r/{recipient.referral_code}"
    values[Placeholder.CARD_NAME.value] = recipient.card_name or ""
    return values


def longest_values(base_url: str, card_name: str = "") -> dict[str, str]:
    """Stand-ins as long as real values usually get, to check an SMS's length before any
    recipient is known: links have their exact length (fixed-size tokens)."""
    return {Placeholder.FIRST_NAME.value: "x" * 12, Placeholder.LAST_NAME.value: "x" * 14,
            Placeholder.BALANCE.value: "0000.00", Placeholder.INSTALL_LINK.value: f"{base_url}/card/{'x' * 32}",
            Placeholder.REFERRAL_LINK.value: f"{base_url}/r/{'x' * 8}",
            Placeholder.CARD_NAME.value: card_name or "x" * 20}


def utc(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands timestamps back naive; they are UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment
