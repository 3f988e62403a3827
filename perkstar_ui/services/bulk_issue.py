"""The "Issue cards in bulk" dialog's use cases (customers.md §11), over ``services.cards``.

``issue_form`` says which settings apply to a template (and their defaults);
``issue_selected`` parses the dialog's text, calls ``cards.issue_cards`` (one
transaction: cards, opening entries, queued SMS/email) and then applies the optional
expiration-date override to the cards it issued.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from perkstar_ui.db.models import CardTemplate
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain.card_rules import PERIODS, IssueOptions, Unit, parse_amount
from perkstar_ui.domain.card_types import CardType, MembershipSettings, StampSettings, validate_settings
from perkstar_ui.domain.ledger import Refused
from perkstar_ui.services import cards
from perkstar_ui.services.customer_filters import Selection, selected_customers

DELIVERIES = ("sms", "email", "both", "none")

# What "Starting balance" counts, per type; coupon and membership have none (cards.md §6.4, §7.5).
BALANCE_INPUT: dict[CardType, tuple[str, str]] = {
    CardType.STAMP: (Unit.COUNT, "stamps"),
    CardType.MULTIPASS: (Unit.COUNT, "visits"),
    CardType.CASHBACK: (Unit.POINTS, "points, e.g. 12.50"),
    CardType.REWARD: (Unit.POINTS, "points, e.g. 12.50"),
    CardType.GIFT: (Unit.MONEY, "money, e.g. 25.00"),
    CardType.DISCOUNT: (Unit.MONEY, "money spent so far, e.g. 25.00 (sets the tier)"),
}


@dataclass(frozen=True)
class IssueForm:
    """The settings the dialog shows for one template."""

    template_id: int
    card_type: str
    balance_unit: str  # Unit.* for parse_amount; Unit.NONE: no Starting balance
    balance_hint: str
    welcome_stamps: str  # the template's default (stamp cards), else ""
    tiers: list[str] = field(default_factory=list)  # membership in manual mode only
    period: str = ""  # its default period
    can_expire: bool = True  # Expiration date may be overridden


@dataclass(frozen=True)
class IssueRequest:
    """The dialog's text fields, exactly as typed."""

    starting_balance: str = ""
    welcome_stamps: str = ""
    tier: str = ""
    period: str = ""
    expires_on: str = ""


def _form(template: CardTemplate) -> IssueForm:
    card_type = CardType(template.card_type)
    settings = validate_settings(card_type, template.settings)
    unit, hint = BALANCE_INPUT.get(card_type, (Unit.NONE, ""))
    manual = isinstance(settings, MembershipSettings) and settings.mode == "manual"
    return IssueForm(
        template_id=template.id,
        card_type=card_type.value,
        balance_unit=unit,
        balance_hint=hint,
        welcome_stamps=str(settings.welcome_stamps) if isinstance(settings, StampSettings) else "",
        tiers=[t.name for t in settings.tiers] if manual else [],
        period=settings.period if manual else "",
        # A Stripe membership ends with its subscription, not on a date set here.
        can_expire=not (isinstance(settings, MembershipSettings) and settings.mode == "stripe"),
    )


def issue_form(merchant_id: int, template_id: int) -> IssueForm | None:
    with tenant_session(merchant_id) as session:
        template = session.get(CardTemplate, template_id)
        if template is None or not template.active:
            return None
        return _form(template)


def _parse_date(text: str, today: dt.date) -> dt.date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        date = dt.date.fromisoformat(text)
    except ValueError:
        raise Refused("Expiration date must be a date (YYYY-MM-DD).") from None
    if date < today:
        raise Refused("Expiration date cannot be in the past.")
    return date


def parse_request(form: IssueForm, request: IssueRequest, today: dt.date) -> IssueOptions:
    """The dialog's text as issue options and the expiration override; ``Refused`` says why not."""
    starting = 0
    if form.balance_unit != Unit.NONE:
        starting = parse_amount(request.starting_balance, form.balance_unit, required=False,
                                label="Starting balance") or 0
    welcome = None
    if form.card_type == CardType.STAMP.value:
        welcome = parse_amount(request.welcome_stamps, Unit.COUNT, required=False, label="Welcome stamps")
    tier = period = None
    if form.tiers:
        tier = request.tier.strip() or form.tiers[0]
        if tier not in form.tiers:
            raise Refused(f"Unknown tier {tier}.")
        period = request.period.strip() or form.period
        if period not in PERIODS:
            raise Refused("Choose a period.")
    expires_on = _parse_date(request.expires_on, today)
    if expires_on and not form.can_expire:
        raise Refused("A Stripe membership ends with its subscription; leave Expiration date empty.")
    return IssueOptions(starting_balance=starting, welcome_stamps=welcome, tier=tier, period=period,
                        expires_on=expires_on)


def issue_selected(
    merchant_id: int,
    selection: Selection,
    template_id: int,
    request: IssueRequest,
    *,
    delivery: str,
    staff_user_id: int | None = None,
    origin: str = "",
    today: dt.date | None = None,
) -> cards.IssueReport:
    """Issue the template to the selected customers as the dialog asked; ``Refused`` says why not."""
    if selection.empty:
        raise Refused("Select the customers to issue cards to first.")
    if delivery not in DELIVERIES:
        raise Refused("Choose a delivery: SMS, Email, Both or None.")
    form = issue_form(merchant_id, template_id)
    if form is None:
        raise Refused("Choose a card template.")
    options = parse_request(form, request, today or dt.date.today())
    customers = selected_customers(merchant_id, selection)
    return cards.issue_cards(merchant_id, customers, template_id, options, delivery=delivery,
                             staff_user_id=staff_user_id, origin=origin)


def summary(report: cards.IssueReport, shown: int = 10) -> str:
    """The toast: "Issued N cards", messages queued, then the skipped reasons (the first few)."""
    text = f"Issued {report.issued} card{'' if report.issued == 1 else 's'}."
    if report.messages:
        text += f" {report.messages} message{'' if report.messages == 1 else 's'} queued."
    if report.skipped:
        reasons = "; ".join(report.skipped[:shown])
        more = len(report.skipped) - shown
        text += f" Skipped: {reasons}" + (f"; and {more} more." if more > 0 else ".")
    return text
