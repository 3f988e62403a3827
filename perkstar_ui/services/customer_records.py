"""Customer records: create and edit (all-or-nothing, duplicates refused), deletion."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from perkstar_ui.db.models import (
    Card,
    CardTransaction,
    Customer,
    CustomerRfm,
    CustomFieldValue,
    Merchant,
    Message,
    Review,
    utcnow,
)
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain import contacts
from perkstar_ui.domain.deletion import customer_deletion_refusal
from perkstar_ui.services import audit, dashboard
from perkstar_ui.services.consent import new_customer_consent
from perkstar_ui.services.custom_fields import list_custom_fields_in
from perkstar_ui.services.refusals import RecordError


@dataclass(frozen=True)
class CustomerInput:
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    email: str = ""
    birthdate: str = ""
    custom: dict[str, str] = field(default_factory=dict)  # by field key
    # Marketing consent as ticked; None = unchanged on edit, no consent on create.
    # On create the ticks count only if the merchant collects consent at sign-up
    # (services.consent.new_customer_consent).
    sms_consent: bool | None = None
    email_consent: bool | None = None


def save_customer(merchant_id: int, data: CustomerInput, customer_id: int | None = None, *,
                  staff_user_id: int | None = None) -> int:
    """Create (``customer_id`` None) or update a customer; all-or-nothing.

    Raises ``RecordError`` with one message per invalid field; a phone or email that
    another customer of this merchant has is refused naming that customer.
    """
    with tenant_session(merchant_id) as session:
        merchant = session.get(Merchant, merchant_id)
        region = merchant.default_country
        definitions = list_custom_fields_in(session)
        errors: dict[str, str] = {}
        values: dict[str, object] = {}
        for name, label, parse in (
            ("first_name", "First name", lambda v: contacts.clean_name(v, "First name")),
            ("last_name", "Last name", lambda v: contacts.clean_name(v, "Last name")),
            ("phone", "Phone", lambda v: contacts.normalise_phone(v, region)),
            ("email", "Email", contacts.normalise_email),
            ("birthdate", "Date of birth", contacts.parse_birthdate),
        ):
            try:
                values[name] = parse(getattr(data, name))
            except ValueError as error:
                errors[name] = str(error)
        custom_values: dict[int, str | None] = {}
        for definition in definitions:
            try:
                custom_values[definition.id] = contacts.parse_custom_value(
                    definition.field_type, definition.label, data.custom.get(definition.key), definition.choices
                )
            except ValueError as error:
                errors[f"cf:{definition.key}"] = str(error)
        for name in ("phone", "email"):
            if values.get(name) and name not in errors:
                other = session.exec(
                    select(Customer).where(getattr(Customer, name) == values[name], Customer.id != (customer_id or 0))
                ).first()
                if other is not None:
                    what = "phone number" if name == "phone" else "email"
                    errors[name] = (
                        f"This {what} already belongs to "
                        f"{contacts.full_name(other.first_name, other.last_name)}."
                    )
        if errors:
            raise RecordError(" ".join(errors.values()), errors)

        if customer_id is None:
            customer = Customer(utm="dashboard")
        else:
            customer = session.get(Customer, customer_id)
            if customer is None:
                raise RecordError("This customer no longer exists.")
        for name, value in values.items():
            setattr(customer, name, value)
        _apply_consent(customer, data, merchant.consent_at_signup, created=customer_id is None)
        customer.search_name = contacts.search_fold(f"{customer.first_name} {customer.last_name}")
        customer.search_text = contacts.search_text(customer.first_name, customer.last_name, customer.email, customer.phone)
        customer.updated_at = utcnow()
        session.add(customer)
        try:
            session.flush()
            _store_custom_values(session, customer.id, custom_values)
            audit.record(merchant_id, audit.Action.CUSTOMER_CREATE if customer_id is None else audit.Action.CUSTOMER_UPDATE,
                         staff_user_id=staff_user_id, session=session, detail={"customer": customer.id})
            session.commit()
        except IntegrityError:
            # Another tablet saved the same phone/email a moment ago.
            session.rollback()
            raise RecordError(
                "Another customer with this phone number or email was just saved.",
                {"phone": "Another customer with this phone number or email was just saved."},
            ) from None
        return customer.id


def _apply_consent(customer: Customer, data: CustomerInput, consent_at_signup: bool, *, created: bool) -> None:
    if created:
        customer.sms_consent, customer.email_consent = new_customer_consent(
            consent_at_signup, bool(data.sms_consent), bool(data.email_consent)
        )
        return
    if data.sms_consent is not None:
        customer.sms_consent = data.sms_consent
    if data.email_consent is not None:
        customer.email_consent = data.email_consent


def _store_custom_values(session, customer_id: int, values: dict[int, str | None]) -> None:  # noqa: ANN001
    existing = {
        v.field_id: v
        for v in session.exec(select(CustomFieldValue).where(CustomFieldValue.customer_id == customer_id)).all()
    }
    for field_id, value in values.items():
        row = existing.get(field_id)
        if value is None:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(CustomFieldValue(customer_id=customer_id, field_id=field_id, value=value))
        elif row.value != value:
            row.value = value
            session.add(row)


@dataclass
class DeleteReport:
    deleted: list[str]
    refused: list[tuple[str, str]]  # (name, reason)


DELETE_CHUNK = 5_000  # ids per statement: PostgreSQL takes at most 65,535 parameters


def delete_customers(merchant_id: int, customers: list[int] | sa.Select, *,
                     staff_user_id: int | None = None) -> DeleteReport:
    """Delete what may be deleted, permanently with cards and ledger; report the rest.
    ``customers``: picked ids, or a SELECT of ids (everyone a filter matches)."""
    report = DeleteReport([], [])
    with tenant_session(merchant_id) as session:
        people = session.exec(
            select(Customer.id, Customer.first_name, Customer.last_name, Customer.search_name)
            .where(Customer.id.in_(customers))
        ).all()
        statuses: dict[int, list[str]] = defaultdict(list)
        for customer_id, status in session.exec(
            select(Card.customer_id, Card.status).where(Card.customer_id.in_(customers))
        ).all():
            statuses[customer_id].append(status)
        deletable = []
        for customer_id, first, last, _ in sorted(people, key=lambda c: (c.search_name, c.id)):
            name = contacts.full_name(first, last)
            refusal = customer_deletion_refusal(statuses[customer_id])
            if refusal:
                report.refused.append((name, refusal))
            else:
                deletable.append(customer_id)
                report.deleted.append(name)
        if deletable:  # the merchant row first, as every writer locks it (no deadlock with an RFM run)
            dashboard.note_deletion(session, merchant_id)
        for start in range(0, len(deletable), DELETE_CHUNK):
            chunk = deletable[start:start + DELETE_CHUNK]
            # Children first: correct on databases without ON DELETE CASCADE too.
            for model in (CardTransaction, Review, CustomFieldValue, Message, CustomerRfm):
                session.execute(sa.delete(model).where(model.customer_id.in_(chunk)))
            card_ids = select(Card.id).where(Card.customer_id.in_(chunk)).scalar_subquery()
            session.execute(
                sa.update(Card).where(Card.referred_by_card_id.in_(card_ids)).values(referred_by_card_id=None)
            )
            session.execute(sa.delete(Card).where(Card.customer_id.in_(chunk)))
            session.execute(sa.delete(Customer).where(Customer.id.in_(chunk)))
        if deletable:
            audit.record(merchant_id, audit.Action.CUSTOMER_DELETE, staff_user_id=staff_user_id, session=session,
                         detail={"deleted": len(deletable), "refused": len(report.refused)})
        session.commit()
    return report


def delete_card(merchant_id: int, card_id: int, *, staff_user_id: int | None = None) -> None:
    """The card stops working and stays on the profile as Deleted (customers.md §9)."""
    with tenant_session(merchant_id) as session:
        updated = session.execute(
            sa.update(Card)
            .where(Card.id == card_id)
            .values(status="deleted", version=Card.version + 1)
        )
        if updated.rowcount != 1:
            raise RecordError("This card no longer exists.")
        audit.record(merchant_id, audit.Action.CARD_DELETE, staff_user_id=staff_user_id, session=session,
                     detail={"card": card_id})
        session.commit()
