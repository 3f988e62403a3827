"""Public sign-up (issue 14): a new customer and their card from the template's join page
(``/join/{join_code}``) or a holder's referral link (``/r/{referral_code}``).

One path for both: the template's issuing form (``domain.signup.IssuingForm``: required
fields, custom fields), the honeypot, the merchant's rate limits, then

- a phone or email the business already knows gets the neutral answer (``Answer.DONE``,
  the words of a restore request) and a restore code sent to that customer: no second
  customer, no card handed to whoever typed it, no referral reward (§15);
- otherwise the customer and the card are created (the referral link recorded on the
  card; rewards follow ``services.referrals``) and the card page opens (``Answer.CARD``),
  or, when the merchant verifies contacts for bonuses, the bonuses are held and a code is
  sent (``Answer.VERIFY``).

The caller passes the client's address (``client``) for the per-IP limit.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from perkstar_ui.db.models import CardTemplate, Customer, Merchant
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain import contacts
from perkstar_ui.domain import signup as rules
from perkstar_ui.domain.card_rules import IssueOptions
from perkstar_ui.domain.card_types import CARD_TYPE_LABELS, CardType
from perkstar_ui.domain.ledger import Refused
from perkstar_ui.domain.messages import Channel
from perkstar_ui.domain.signup import CodePurpose, StandardField
from perkstar_ui.services import cards, contact_codes, referrals, signup_limits
from perkstar_ui.services.custom_fields import list_custom_fields_in
from perkstar_ui.services.customer_records import CustomerInput, save_customer
from perkstar_ui.services.refusals import RecordError

INVALID_LINK = "This link is not valid any more."
_KINDS = {StandardField.PHONE: "tel", StandardField.EMAIL: "email", StandardField.BIRTHDATE: "date"}


class Answer(enum.StrEnum):
    CARD = "card"  # open the new card's page (token)
    DONE = "done"  # the neutral answer (rules.NEUTRAL_DONE)
    VERIFY = "verify"  # card made, bonuses held: enter the code sent (token)


@dataclass(frozen=True)
class Outcome:
    answer: Answer
    token: str = ""
    # DONE for a known customer: the contact (as their record has it) that matched and the
    # restore code went to, for the page to confirm that code with (never shown).
    contact: str = ""


@dataclass(frozen=True)
class FieldView:
    key: str  # the form's input name: a StandardField value or "cf:<key>"
    label: str
    kind: str  # text / tel / email / date / number / choice
    required: bool
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class JoinPage:
    business: str
    card_name: str
    type_label: str
    fields: tuple[FieldView, ...]
    referrer: str = ""  # first name of who invites (referral links)


@dataclass(frozen=True)
class _Target:
    merchant_id: int
    template_id: int
    referrer_card_id: int | None = None
    referral_code: str = ""
    referrer: str = ""


def _target(join_code: str = "", referral_code: str = "") -> _Target | None:
    if referral_code:
        invitation = referrals.invitation(referral_code)
        if invitation is None:
            return None
        return _Target(invitation.merchant_id, invitation.template_id, invitation.referrer_card_id,
                       referral_code.strip(), invitation.referrer_first_name)
    found = contact_codes.join_template(join_code)
    return _Target(found[1], found[0]) if found is not None else None


def _fields(session, template: CardTemplate) -> tuple[FieldView, ...]:  # noqa: ANN001
    form = cards.settings_of(template.card_type, template.settings).issuing_form
    custom = {f"{rules.CUSTOM_PREFIX}{d.key}": d for d in list_custom_fields_in(session)}
    views = []
    for spec in form.fields:
        if spec.key in custom:
            d = custom[spec.key]
            views.append(FieldView(spec.key, d.label, d.field_type, spec.required, tuple(d.choices)))
        elif not spec.key.startswith(rules.CUSTOM_PREFIX):
            key = StandardField(spec.key)
            views.append(FieldView(spec.key, rules.STANDARD_LABELS[key], _KINDS.get(key, "text"), spec.required))
    return tuple(views)  # a removed custom field is simply not asked any more


def template_of(join_code: str = "", referral_code: str = "") -> tuple[int, int] | None:
    """(template id, merchant id) of a join or referral link, for restore codes."""
    target = _target(join_code, referral_code)
    return (target.template_id, target.merchant_id) if target is not None else None


def join_page(join_code: str = "", referral_code: str = "") -> JoinPage | None:
    """What the page shows; None for an unknown link (or a referral program that is off)."""
    target = _target(join_code, referral_code)
    if target is None:
        return None
    with tenant_session(target.merchant_id) as session:
        template = session.get(CardTemplate, target.template_id)
        business = session.get(Merchant, target.merchant_id).name
        return JoinPage(business, template.name, CARD_TYPE_LABELS[CardType(template.card_type)],
                        _fields(session, template), target.referrer)


def _existing(session, region: str, values: dict[str, str], asked: set[str]) -> tuple[Customer, Channel] | None:  # noqa: ANN001
    """The customer an asked (and by then validated) phone or email belongs to; a field
    the form does not ask is never looked up, whatever the client sent."""
    for key in (StandardField.PHONE, StandardField.EMAIL):
        if key in asked and (values.get(key) or "").strip():
            match = contact_codes.find_customer(session, region, values[key])
            if match is not None:
                return match
    return None


def _check(fields: tuple[FieldView, ...], values: dict[str, str], region: str) -> None:
    """Required fields and formats; ``Refused`` naming every problem, nothing stored."""
    labels = {f.key: f.label for f in fields}
    asked = {f.key: (values.get(f.key) or "").strip() for f in fields}
    problems = []
    missing = [f.label for f in fields if f.required and not asked[f.key]]
    if missing:
        problems.append(f"Please fill in: {', '.join(missing)}.")
    if not any(asked.get(k) for k in rules.IDENTIFYING) and not missing:
        problems.append("Enter a phone number or an email.")
    parsers = {StandardField.PHONE: lambda v: contacts.normalise_phone(v, region),
               StandardField.EMAIL: contacts.normalise_email, StandardField.BIRTHDATE: contacts.parse_birthdate}
    for f in fields:
        value = asked[f.key]
        if not value:
            continue
        try:
            if f.key in parsers:
                parsers[StandardField(f.key)](value)
            elif f.key.startswith(rules.CUSTOM_PREFIX):
                contacts.parse_custom_value(f.kind, labels[f.key], value, list(f.choices))
            else:
                contacts.clean_name(value, labels[f.key])
        except ValueError as error:
            problems.append(str(error))
    if problems:
        raise Refused(" ".join(problems))


def sign_up(values: dict[str, str], *, join_code: str = "", referral_code: str = "", sms_consent: bool = False,
            email_consent: bool = False, client: str = "") -> Outcome:
    """A new customer with a card of the link's template, or the neutral answer.
    ``Refused``: an unknown link, a missing or invalid field, a full rate limit."""
    target = _target(join_code, referral_code)
    if target is None:
        raise Refused(INVALID_LINK)
    if (values.get(rules.HONEYPOT_FIELD) or "").strip():
        return Outcome(Answer.DONE)  # a bot: it learns nothing and nothing is made
    with tenant_session(target.merchant_id) as session:
        merchant = session.get(Merchant, target.merchant_id)
        template = session.get(CardTemplate, target.template_id)
        fields = _fields(session, template)
        _check(fields, values, merchant.default_country)
        limits = signup_limits.Limits(merchant.signup_ip_per_hour, merchant.signup_code_per_day,
                                      merchant.signup_template_per_day)
        if not signup_limits.admit(target.merchant_id, limits, client=client, template_id=template.id,
                                   referral_code=target.referral_code):
            raise Refused(rules.LIMITED)
        known = _existing(session, merchant.default_country, values, {f.key for f in fields})
        if known is not None:
            customer, channel = known
            contact = (customer.phone if channel == Channel.SMS else customer.email) or ""
            if contact_codes.queue_code(session, target.merchant_id, customer, CodePurpose.RESTORE, channel,
                                        business=merchant.name, template_id=template.id):
                session.commit()
            return Outcome(Answer.DONE, contact=contact)
        hold, business = merchant.verify_contact_for_bonus, merchant.name
    asked = {f.key for f in fields}
    text = {k: (values.get(k) or "").strip() if k in asked else "" for k in (*StandardField, *asked)}
    data = CustomerInput(text[StandardField.FIRST_NAME], text[StandardField.LAST_NAME], text[StandardField.PHONE],
                         text[StandardField.EMAIL], text[StandardField.BIRTHDATE],
                         {k.removeprefix(rules.CUSTOM_PREFIX): v for k, v in text.items()
                          if k.startswith(rules.CUSTOM_PREFIX)},
                         sms_consent=sms_consent, email_consent=email_consent)
    try:
        customer_id = save_customer(target.merchant_id, data)
    except RecordError:
        return Outcome(Answer.DONE)  # checked above: only a phone/email saved a moment ago is left
    utm = "referral" if target.referrer_card_id else "join"
    with tenant_session(target.merchant_id) as session:
        customer = session.get(Customer, customer_id)
        customer.utm = utm
        session.add(customer)
        card = cards.issue_card(session, customer_id, session.get(CardTemplate, target.template_id),
                                IssueOptions(welcome_bonus=not hold), utm=utm,
                                referred_by_card_id=target.referrer_card_id, source="join")
        card.bonus_hold = hold
        session.add(card)
        if hold:
            channel = Channel.SMS if customer.phone else Channel.EMAIL
            contact_codes.queue_code(session, target.merchant_id, customer, CodePurpose.VERIFY, channel,
                                     business=business, card_id=card.id, template_id=target.template_id)
        session.commit()
        token = card.install_token
    return Outcome(Answer.VERIFY if hold else Answer.CARD, token)

