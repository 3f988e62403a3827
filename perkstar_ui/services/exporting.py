"""The customer export: everyone matching a search and filter, streamed as CSV rows, every
cell safe for spreadsheets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import sqlalchemy as sa

from perkstar_ui.db.models import Card, CustomFieldValue, Customer
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain.csv_safety import FORMULA_TRIGGERS, neutralise
from perkstar_ui.domain.filters import Filter
from perkstar_ui.domain.formatting import card_status_label, device_label
from perkstar_ui.services import audit
from perkstar_ui.services.customer_filters import where_in
from perkstar_ui.services.importing import custom_specs

EXPORT_COLUMNS = ["Customer name", "First name", "Last name", "Phone", "Email", "Date of birth", "Date created",
                  "Card status", "Card serial number", "Device type", "UTM tag", "SMS consent", "Email consent"]
YES_NO = {True: "yes", False: "no"}


EXPORT_BATCH = 5_000  # customers per keyset page: bounded memory, few round trips


def _day_columns(dialect: str) -> tuple:
    """Date of birth and the UTC day of creation as ISO text, computed by the database:
    cheaper than a datetime object per row only to print its date."""
    if dialect == "postgresql":
        created = sa.func.to_char(sa.func.timezone("UTC", Customer.created_at), "YYYY-MM-DD")
        birth = sa.func.to_char(Customer.birthdate, "YYYY-MM-DD")
    else:  # SQLite keeps both as ISO text, timestamps in UTC
        created = sa.func.substr(sa.type_coerce(Customer.created_at, sa.String), 1, 10)
        birth = sa.type_coerce(Customer.birthdate, sa.String)
    return birth, created


def _safe(text: str) -> str:
    """Formula injection (csv_safety) checked only where text comes from people: the
    export neutralises its own rows, so the stream does not look at every cell again."""
    return neutralise(text) if text[:1] in FORMULA_TRIGGERS else text


def export_rows(merchant_id: int, search: str = "", spec: Filter | None = None, *, staff_user_id: int | None = None,
                ip: str | None = None) -> tuple[list[str], Iterator[list[str]]]:
    """Header and rows of the export of everyone matching the search and filter, streamed
    in id order (one row per customer), every cell already safe for spreadsheets
    (``csv_lines(..., neutralised=True)``). A filter that cannot apply raises
    ``FilterError`` here, before any row is sent. When the stream ends (or is abandoned) an
    ``export`` audit entry records the rows sent."""
    with tenant_session(merchant_id) as session:
        specs, field_ids = custom_specs(session)
        condition = where_in(session, merchant_id, spec, search)
    header = EXPORT_COLUMNS + [s.label for s in specs]

    def audited() -> Iterator[list[str]]:
        sent, complete = 0, False
        try:
            for row in rows():
                sent += 1
                yield row
            complete = True
        finally:
            audit.record(merchant_id, audit.Action.EXPORT, staff_user_id=staff_user_id, ip=ip,
                         detail={"rows": sent, "complete": complete, "search": bool(search), "filter": spec is not None})

    def rows() -> Iterator[list[str]]:
        today = dt.date.today()
        field_order = [field_ids[s.key] for s in specs]
        statuses: dict[tuple, str] = {}  # (status, expires_on) → label: few distinct pairs
        with tenant_session(merchant_id) as session:
            connection = session.connection()
            birth, created = _day_columns(connection.dialect.name)
            # Core on the session's connection (no ORM rows), every statement naming the merchant.
            statement = (
                sa.select(Customer.id, Customer.first_name, Customer.last_name, Customer.phone, Customer.email,
                          birth, created, Customer.utm, Customer.sms_consent, Customer.email_consent)
                .where(Customer.merchant_id == merchant_id)
                .order_by(Customer.id)
            )
            if condition is not None:
                statement = statement.where(condition)
            # One query streamed from a server-side cursor (PostgreSQL) / the stepping
            # SQLite cursor, EXPORT_BATCH rows at a time. Keyset pages (id > last LIMIT n)
            # made SQLite re-read and re-sort every remaining row of the merchant through
            # its merchant index for each page: quadratic in the number of customers.
            result = connection.execution_options(stream_results=True, yield_per=EXPORT_BATCH).execute(statement)
            for customers in result.partitions(EXPORT_BATCH):
                # Cards and custom values of the batch: without a search or filter the
                # batch is a whole id range, read by range (indexed merchant + customer)
                # instead of IN (…5,000 ids…); otherwise only its hits (the range could be wide).
                low, high = customers[0][0], customers[-1][0]

                def batch(column):  # noqa: ANN001, ANN202
                    if condition is None:  # the whole id range is this batch
                        return sa.and_(column >= low, column <= high)
                    return column.in_([c[0] for c in customers])  # a search or filter: only its hits

                cards: dict[int, list] = {}
                for row in connection.execute(
                    sa.select(Card.customer_id, Card.status, Card.expires_on, Card.serial, Card.device)
                    .where(Card.merchant_id == merchant_id, batch(Card.customer_id)).order_by(Card.issued_at, Card.id)
                ).all():
                    cards.setdefault(row[0], []).append(row)
                values: dict[int, dict[int, str]] = {}
                if field_order:
                    for customer_id, field_id, value in connection.execute(
                        sa.select(CustomFieldValue.customer_id, CustomFieldValue.field_id, CustomFieldValue.value)
                        .where(CustomFieldValue.merchant_id == merchant_id, batch(CustomFieldValue.customer_id))
                    ).all():
                        values.setdefault(customer_id, {})[field_id] = _safe(value or "")
                no_values: dict[int, str] = {}
                for customer_id, first, last, phone, email, birthdate, created_day, utm, sms, mail in customers:
                    held = cards.get(customer_id)
                    if held:
                        labels = []
                        for h in held:
                            label = statuses.get((h[1], h[2]))
                            if label is None:
                                label = statuses[h[1], h[2]] = card_status_label(h[1], h[2], today)
                            labels.append(label)
                        card_cells = ["; ".join(labels), "; ".join(h[3] for h in held),
                                      "; ".join(sorted({device_label(h[4]) for h in held if h[4]}))]
                    else:
                        card_cells = ["", "", ""]
                    email, utm = email or "", utm or ""
                    row = [
                        _safe(f"{first} {last}"), _safe(first), _safe(last),
                        phone or "",  # E.164 (+ and digits): validated on every way in, a number not a formula
                        _safe(email),
                        birthdate or "", created_day, *card_cells, _safe(utm), YES_NO[bool(sms)], YES_NO[bool(mail)],
                    ]
                    if field_order:
                        held_values = values.get(customer_id, no_values)
                        row.extend(held_values.get(field_id, "") for field_id in field_order)
                    yield row

    return header, audited()
