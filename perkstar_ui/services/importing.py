"""Customer import: preview, apply in one transaction, undo (the upload itself is kept by
``uploads``; the export lives in ``exporting``).

The uploaded file is kept in a private folder per merchant (never under Reflex's public
upload folder) and read again on confirm, so what is applied is checked against the
database as it is at that moment. Rows that match an existing customer (phone first,
then email) only fill that customer's empty fields (spec Q9). Balances become ledger
transactions with source ``import``. A re-import of the same file finds every row
unchanged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import select

from perkstar_ui.db.models import (
    Card,
    CardTemplate,
    CardTransaction,
    CustomFieldDefinition,
    CustomFieldValue,
    Customer,
    CustomerRfm,
    ImportBatch,
    ImportChange,
    Merchant,
    Review,
    StaffUser,
    as_utc,
    utcnow,
)
from perkstar_ui.db.bulk import bulk_insert, bulk_insert_dicts, reserve_ids
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain import card_rules, contacts, importing
from perkstar_ui.domain import ledger as L
from perkstar_ui.domain.card_rules import IssueOptions
from perkstar_ui.domain.card_types import BALANCE_UNITS, BalanceUnit, CardType, validate_settings
from perkstar_ui.domain.ledger import CardState
from perkstar_ui.domain.serials import random_code, random_serial
from perkstar_ui.services import audit, dashboard
from perkstar_ui.services.codes import unused_codes
from perkstar_ui.services.refusals import ImportRefused
from perkstar_ui.services.uploads import read_upload, upload_path

FILLABLE = ("phone", "email", "birthdate", "gender")
MAX_BALANCE_UNITS = 2_000_000_000  # card balances are 32-bit integers on PostgreSQL

log = logging.getLogger(__name__)


# --- planning -------------------------------------------------------------------------------


@dataclass
class RowPlan:
    row: importing.CleanRow
    action: str  # create / update / unchanged
    customer_id: int | None = None
    fill: dict[str, object] = field(default_factory=dict)  # customer fields to fill
    fill_custom: dict[int, str] = field(default_factory=dict)  # field id → value
    issue_card: bool = False
    owner: sa.Row | None = None  # the matched customer's columns (names, phone, email…)


@dataclass
class ImportPlan:
    rows: list[RowPlan]
    rejected: list[importing.Rejection]
    template_id: int | None
    card_type: str | None

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)


def custom_specs(session) -> tuple[list[importing.CustomFieldSpec], dict[str, int]]:  # noqa: ANN001
    definitions = session.exec(
        select(CustomFieldDefinition).order_by(CustomFieldDefinition.position, CustomFieldDefinition.id)
    ).all()
    specs = [importing.CustomFieldSpec(d.key, d.label, d.field_type, tuple(d.choices or [])) for d in definitions]
    return specs, {d.key: d.id for d in definitions}


@contextmanager
def _gc_paused() -> Iterator[None]:
    """A 100k-row import makes ~1M short-lived objects without cycles; the cyclic GC
    would walk all of them again and again (as in ``importing.check_rows``)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _chunks(values: list, size: int = 900) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


_CACHE_FORMAT = 3  # bump when the cached rows' layout changes


def _checked_rows(merchant_id: int, token: str, raw: bytes, specs, region: str) -> importing.CheckedRows:  # noqa: ANN001
    """Parse and check the file once: the preview's result is kept beside the upload
    (same private folder) and reused by the confirm while the field set is the same.

    Rows are stored as plain JSON lists in ``CleanRow`` field order (not dicts of every
    field name): a tenth of the encoding work and half the size for 100k rows."""
    cache = upload_path(merchant_id, token).with_suffix(".checked.json")
    key = [_CACHE_FORMAT, hashlib.sha256(raw).hexdigest(), region, [dataclasses.astuple(s) for s in specs],
           dt.date.today().isoformat()]
    if cache.exists():
        stored = json.loads(cache.read_text())  # plain data: nothing in it can run
        if stored.get("key") == json.loads(json.dumps(key)):
            date = dt.date.fromisoformat
            return importing.CheckedRows(
                [importing.CleanRow(line, first, last, phone, email, date(birth) if birth else None, gender, balance, custom,
                                    sms, mail)
                 for line, first, last, phone, email, birth, gender, balance, custom, sms, mail in stored["rows"]],
                [importing.Rejection(line, reason) for line, reason in stored["rejected"]],
            )
    table = importing.read_table(raw)
    mapping = importing.match_columns([str(c) for c in table.columns], specs)
    checked = importing.check_rows(table, mapping, specs, region)
    del table
    cache.write_text(json.dumps({
        "key": key,
        "rows": [[r.line, r.first_name, r.last_name, r.phone, r.email, r.birthdate.isoformat() if r.birthdate else None,
                  r.gender, r.balance, r.custom, r.sms_consent, r.email_consent] for r in checked.rows],
        "rejected": [[r.line, r.reason] for r in checked.rejected],
    }, ensure_ascii=False, separators=(",", ":")))
    return checked


_MATCH_COLUMNS = (Customer.id, Customer.first_name, Customer.last_name, Customer.phone, Customer.email,
                  Customer.birthdate, Customer.gender, Customer.sms_consent, Customer.email_consent)


def plan_import(session, merchant_id: int, token: str, template_id: int | None) -> ImportPlan:  # noqa: ANN001
    """Parse, check and match the file against the database; raises ``ImportFileError``."""
    raw = read_upload(merchant_id, token)
    region = session.get(Merchant, merchant_id).default_country
    specs, field_ids = custom_specs(session)
    checked = _checked_rows(merchant_id, token, raw, specs, region)
    template = session.get(CardTemplate, template_id) if template_id else None
    if template_id and template is None:
        raise importing.ImportFileError("The chosen card template no longer exists.")
    card_type = template.card_type if template else None

    rows, rejected = [], list(checked.rejected)
    if card_type:
        unit = BALANCE_UNITS[CardType(card_type)]
        scale = 100 if unit in (BalanceUnit.CENTS, BalanceUnit.CENTIPOINTS) else 1
        for row in checked.rows:
            if row.balance and "." in row.balance and unit == BalanceUnit.COUNT:
                rejected.append(importing.Rejection(row.line, f"Balance “{row.balance}” must be a whole number for a {card_type} card."))
            elif row.balance and Decimal(row.balance) * scale > MAX_BALANCE_UNITS:
                rejected.append(importing.Rejection(row.line, f"Balance “{row.balance}” is too large."))
            else:
                rows.append(row)
    else:
        rows = checked.rows

    phones = [r.phone for r in rows if r.phone]
    emails = [r.email for r in rows if r.email]
    existing: dict[int, sa.Row] = {}  # the columns matching and filling need, not ORM objects
    by_phone: dict[str, int] = {}
    by_email: dict[str, int] = {}
    known = session.exec(select(sa.func.count()).select_from(Customer)).one() if phones or emails else 0
    if known and known <= len(phones) + len(emails):
        # A big file against a smaller customer base (e.g. a first import): one pass over
        # the merchant's customers costs less than hundreds of IN (…900 values…) look-ups.
        wanted_phones, wanted_emails = set(phones), set(emails)
        for customer in session.exec(select(*_MATCH_COLUMNS)).all():
            if customer.phone in wanted_phones:
                existing[customer.id] = customer
                by_phone[customer.phone] = customer.id
            if customer.email in wanted_emails:
                existing[customer.id] = customer
                by_email[customer.email] = customer.id
    elif known:
        for column, values, index in ((Customer.phone, phones, by_phone), (Customer.email, emails, by_email)):
            for chunk in _chunks(values):
                for customer in session.exec(select(*_MATCH_COLUMNS).where(column.in_(chunk))).all():
                    existing[customer.id] = customer
                    index[getattr(customer, column.key)] = customer.id
    ids = list(existing)
    filled_custom: dict[int, set[int]] = {}
    holders: set[int] = set()
    for chunk in _chunks(ids):
        for customer_id, field_id in session.exec(
            select(CustomFieldValue.customer_id, CustomFieldValue.field_id).where(CustomFieldValue.customer_id.in_(chunk))
        ).all():
            filled_custom.setdefault(customer_id, set()).add(field_id)
        if template_id:
            holders.update(
                session.exec(select(Card.customer_id).where(Card.customer_id.in_(chunk), Card.template_id == template_id)).all()
            )

    plans: list[RowPlan] = []
    matched: dict[int, int] = {}  # existing customer id → the file row that matched it
    for row in rows:
        phone_owner = by_phone.get(row.phone) if row.phone else None
        email_owner = by_email.get(row.email) if row.email else None
        if phone_owner and email_owner and phone_owner != email_owner:
            a, b = existing[phone_owner], existing[email_owner]
            rejected.append(importing.Rejection(
                row.line, f"The phone belongs to {a.first_name} {a.last_name} and the email to {b.first_name} {b.last_name}."))
            continue
        owner_id = phone_owner or email_owner
        if owner_id is None:
            plans.append(RowPlan(row, "create", issue_card=bool(template_id)))
            continue
        owner = existing[owner_id]
        if owner_id in matched:
            # One row per customer: a second one could fill the same fields differently.
            rejected.append(importing.Rejection(
                row.line, f"Same customer as row {matched[owner_id]} ({owner.first_name} {owner.last_name})."))
            continue
        matched[owner_id] = row.line
        fill = {}
        for name in FILLABLE:
            value = getattr(row, name)
            if value is not None and getattr(owner, name) in (None, ""):
                # The email/phone may belong to someone else already: never steal it.
                if name == "phone" and value in by_phone:
                    continue
                if name == "email" and value in by_email:
                    continue
                fill[name] = value
        for name in importing.CONSENT_COLUMNS:
            # A stated consent is the merchant's record and replaces the stored one (a
            # "no" withdraws); a blank cell leaves it as it is.
            value = getattr(row, name)
            if value is not None and value != getattr(owner, name):
                fill[name] = value
        fill_custom = {
            field_ids[key]: value for key, value in row.custom.items()
            if field_ids[key] not in filled_custom.get(owner_id, set())
        }
        issue = bool(template_id) and owner_id not in holders
        action = "update" if (fill or fill_custom or issue) else "unchanged"
        plans.append(RowPlan(row, action, owner_id, fill, fill_custom, issue, owner))
        if issue:
            holders.add(owner_id)  # a second row for the same customer issues no second card
    rejected.sort(key=lambda r: r.line)
    return ImportPlan(plans, rejected, template_id, card_type)


@dataclass
class Preview:
    create: int
    update: int
    unchanged: int
    rejected: list[importing.Rejection]


def preview(merchant_id: int, token: str, template_id: int | None) -> Preview:
    with tenant_session(merchant_id) as session, _gc_paused():
        plan = plan_import(session, merchant_id, token, template_id)
    return Preview(plan.count("create"), plan.count("update"), plan.count("unchanged"), plan.rejected)


# --- applying -------------------------------------------------------------------------------


@dataclass
class Summary:
    batch_id: int
    created: int
    updated: int
    unchanged: int
    rejected: int

    @property
    def text(self) -> str:
        return f"Created {self.created}, updated {self.updated}, rejected {self.rejected}"


def _opening_amount(card_type: str, balance: str) -> int:
    """The Balance column (§10) in the card type's unit: stamps and visits as counts, points
    and money ×100; coupon and membership ignore it (cards.md §6.4, §7.5)."""
    amount = Decimal(balance or "0")
    if card_type in ("stamp", "multipass"):
        return int(amount)
    if card_type in ("cashback", "reward", "gift", "discount"):
        return int(amount * 100)
    return 0


def apply_import(
    merchant_id: int, staff_user_id: int | None, token: str, file_name: str, template_id: int | None,
    progress: Callable[[float], None] | None = None,
) -> Summary:
    """Everything or nothing: one database transaction for the whole file."""
    progress = progress or (lambda _fraction: None)
    now = utcnow()
    with tenant_session(merchant_id) as session, _gc_paused():
        plan = plan_import(session, merchant_id, token, template_id)
        template = session.get(CardTemplate, template_id) if template_id else None
        settings = validate_settings(template.card_type, template.settings) if template else None
        batch = ImportBatch(
            staff_user_id=staff_user_id, file_name=file_name[:255], template_id=template_id,
            created_count=plan.count("create"), updated_count=plan.count("update"),
            unchanged_count=plan.count("unchanged"), rejected_count=len(plan.rejected), created_at=now,
        )
        session.add(batch)
        session.flush()
        creates = [p for p in plan.rows if p.action == "create"]
        updates = [p for p in plan.rows if p.action == "update"]
        _, field_ids = custom_specs(session)
        total_steps = max(1, len(creates) + len(updates))
        done = 0
        folded: dict[tuple[str, str], str] = {}  # search_fold is pure: each name pair once
        for chunk in _chunks(creates, 10_000):
            ids = reserve_ids(session, "customer", len(chunk))
            records = []
            for p, customer_id in zip(chunk, ids, strict=True):
                row = p.row
                name = folded.get((row.first_name, row.last_name))
                if name is None:
                    name = folded[row.first_name, row.last_name] = contacts.search_fold(f"{row.first_name} {row.last_name}")
                records.append((
                    customer_id, merchant_id, row.first_name, row.last_name, name,
                    contacts.search_text(row.first_name, row.last_name, row.email, row.phone, name),
                    row.phone, row.email, row.birthdate, row.gender, "import", now, now,
                    bool(row.sms_consent), bool(row.email_consent),
                ))
                p.customer_id = customer_id
                p.fill_custom = {field_ids[k]: v for k, v in row.custom.items()}
            bulk_insert(session, Customer.__table__, _CUSTOMER_COLUMNS, records)
            done += len(chunk)
            progress(done / total_steps * 0.8)
        _fill_customers(session, merchant_id, [p for p in updates if p.fill], now)
        done += len(updates)
        progress(0.85)
        bulk_insert(session, CustomFieldValue.__table__, ["merchant_id", "customer_id", "field_id", "value"], [
            (merchant_id, p.customer_id, fid, value) for p in creates + updates for fid, value in p.fill_custom.items()
        ])
        cards = _issue_cards(session, merchant_id, staff_user_id, template, settings, [p for p in plan.rows if p.issue_card], now)
        progress(0.95)
        bulk_insert(session, ImportChange.__table__, ["merchant_id", "batch_id", "customer_id", "action", "filled", "card_id"], [
            (merchant_id, batch.id, p.customer_id, "created" if p.action == "create" else "updated",
             _jsonable({**p.fill, **{f"cf:{fid}": v for fid, v in p.fill_custom.items()}}), cards.get(p.customer_id))
            for p in creates + updates
        ])
        audit.record(merchant_id, audit.Action.IMPORT, staff_user_id=staff_user_id, session=session, detail={
            "batch": batch.id, "file": batch.file_name, "created": batch.created_count,
            "updated": batch.updated_count, "rejected": batch.rejected_count})
        session.commit()
    if creates or cards:
        try:
            dashboard.note_late_rows(merchant_id)  # the grid's total and the tiles count the new rows at once
        except Exception:  # noqa: BLE001  the import stands; the counts heal at their next recount (a minute)
            log.exception("import %s of merchant %s: settled counts not voided", batch.id, merchant_id)
    progress(1.0)
    return Summary(batch.id, batch.created_count, batch.updated_count, batch.unchanged_count, batch.rejected_count)


_CUSTOMER_COLUMNS = ["id", "merchant_id", "first_name", "last_name", "search_name", "search_text", "phone", "email",
                     "birthdate", "gender", "utm", "created_at", "updated_at", "sms_consent", "email_consent"]


def _fill_customers(session, merchant_id: int, plans: list[RowPlan], now: dt.datetime) -> None:  # noqa: ANN001
    """Fill the empty fields of matched customers: one executemany per set of filled
    columns (Core UPDATE by id, the merchant in the WHERE), search text recomputed."""
    table = Customer.__table__
    groups: dict[tuple[str, ...], list[dict]] = {}
    for p in plans:
        owner = p.owner
        email = p.fill.get("email", owner.email)
        phone = p.fill.get("phone", owner.phone)
        params = {f"v_{name}": value for name, value in p.fill.items()}
        params["v_id"] = p.customer_id
        params["v_search_text"] = contacts.search_text(owner.first_name, owner.last_name, email, phone)
        groups.setdefault(tuple(sorted(p.fill)), []).append(params)
    for names, params in groups.items():
        statement = (
            sa.update(table)
            .where(table.c.id == sa.bindparam("v_id"), table.c.merchant_id == merchant_id)
            .values({**{name: sa.bindparam(f"v_{name}") for name in names},
                     "search_text": sa.bindparam("v_search_text"), "updated_at": now})
        )
        session.connection().execute(statement, params)


def _jsonable(values: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in values.items()}


def _issue_cards(session, merchant_id, staff_user_id, template, settings, plans: list[RowPlan], now) -> dict[int, int]:  # noqa: ANN001
    """One card of the chosen template per customer, opened by the card rules exactly as a
    bulk issue would (welcome stamps, membership start, the Balance as an import entry)."""
    if template is None or not plans:
        return {}
    card_type = CardType(template.card_type)
    expires = settings.expiration.expires_on(now.date())
    opened: dict[int, tuple[list, CardState]] = {}  # by amount: every card opens at the same time

    def opening(amount: int) -> tuple[list, CardState]:
        if amount not in opened:
            entries = card_rules.opening_entries(card_type, settings, IssueOptions(starting_balance=amount), now)
            state, afters = L.initial_state(card_type, settings), []
            for entry in entries:
                L.fold(state, entry, card_type, settings)
                afters.append(state.balance)
            opened[amount] = (list(zip(entries, afters)), state)
        return opened[amount]

    issued: dict[int, int] = {}
    for chunk in _chunks(plans, 2000):
        rows, ledger, openings = [], [], []
        serials = unused_codes(random_serial, Card.serial, len(chunk))
        referral_codes = unused_codes(lambda: random_code(8), Card.referral_code, len(chunk))
        for p, serial, referral_code in zip(chunk, serials, referral_codes, strict=True):
            entries, state = opening(_opening_amount(template.card_type, p.row.balance))
            openings.append(entries)
            rows.append({
                "merchant_id": merchant_id, "customer_id": p.customer_id, "template_id": template.id,
                "card_type": template.card_type, "serial": serial, "status": "uninstalled",
                "utm": "import", "issued_at": now, "expires_on": expires,
                "install_token": random_code(32), "referral_code": referral_code, "balance": state.balance,
                "rewards_available": state.rewards_available, "spend_total_cents": state.spend_total_cents,
                "ltv_cents": state.ltv_cents, "tier": state.tier, "metrics": state.metrics_json(), "version": 0,
            })
        card_ids = reserve_ids(session, "card", len(rows))
        for row, card_id in zip(rows, card_ids, strict=True):
            row["id"] = card_id
        bulk_insert_dicts(session, Card.__table__, rows)
        for p, card_id, entries in zip(chunk, card_ids, openings, strict=True):
            issued[p.customer_id] = card_id
            key = f"import-{card_id}"
            for entry, balance_after in entries:
                ledger.append({
                    "merchant_id": merchant_id, "card_id": card_id, "customer_id": p.customer_id,
                    "kind": entry.kind, "value_delta": entry.value_delta, "rewards_delta": entry.rewards_delta,
                    "points_delta": entry.points_delta, "spend_delta_cents": entry.spend_delta_cents,
                    "purchase_cents": entry.purchase_cents, "balance_after": balance_after, "source": "import",
                    "staff_user_id": staff_user_id, "detail": entry.detail, "lot_expires_on": entry.lot_expires_on,
                    "action_key": key, "created_at": now,
                    "comment": "Opening balance from import" if entry.kind == L.IMPORT_BALANCE else None,
                })
        bulk_insert_dicts(session, CardTransaction.__table__, ledger)
    return issued


# --- history and undo -------------------------------------------------------------------------


@dataclass
class BatchView:
    id: int
    file_name: str
    created_at: str
    staff: str
    created: int
    updated: int
    unchanged: int
    rejected: int
    status: str


def list_batches(merchant_id: int, limit: int = 20) -> list[BatchView]:
    with tenant_session(merchant_id) as session:
        rows = session.exec(
            select(ImportBatch, StaffUser.email)
            .outerjoin(StaffUser, StaffUser.id == ImportBatch.staff_user_id)
            .order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc())
            .limit(limit)
        ).all()
    return [
        BatchView(b.id, b.file_name, as_utc(b.created_at).strftime("%Y-%m-%d %H:%M"), email or "", b.created_count,
                  b.updated_count, b.unchanged_count, b.rejected_count, b.status)
        for b, email in rows
    ]


@dataclass
class UndoReport:
    removed: int
    restored: int
    kept: list[tuple[str, str]]  # (customer name, why)


def undo_import(merchant_id: int, batch_id: int, *, staff_user_id: int | None = None) -> UndoReport:
    """Take an import back, except for customers with activity since (reported)."""
    report = UndoReport(0, 0, [])
    with tenant_session(merchant_id) as session:
        batch = session.get(ImportBatch, batch_id)
        if batch is None or batch.status != "applied":
            raise ImportRefused("This import was already undone or does not exist.")
        dashboard.note_deletion(session, merchant_id)  # the merchant row first, as every writer locks it
        since = as_utc(batch.created_at)
        changes = session.exec(select(ImportChange).where(ImportChange.batch_id == batch_id)).all()
        customer_ids = [c.customer_id for c in changes]
        active = _customers_with_activity(session, customer_ids, since)
        delete_customers, delete_cards = [], []
        for change in changes:
            customer = session.get(Customer, change.customer_id)
            if customer is None:
                continue
            name = f"{customer.first_name} {customer.last_name}"
            if change.customer_id in active:
                report.kept.append((name, active[change.customer_id]))
                continue
            if change.action == "created":
                delete_customers.append(change.customer_id)
                report.removed += 1
                continue
            for key, value in change.filled.items():
                if key.startswith("cf:"):
                    session.execute(sa.delete(CustomFieldValue).where(
                        CustomFieldValue.customer_id == customer.id, CustomFieldValue.field_id == int(key[3:]),
                        CustomFieldValue.value == value))
                elif key in importing.CONSENT_COLUMNS:
                    if getattr(customer, key) == value:  # recorded only when it changed: flip it back
                        setattr(customer, key, not value)
                elif _same(getattr(customer, key), value):
                    setattr(customer, key, None)
            customer.search_text = contacts.search_text(customer.first_name, customer.last_name, customer.email, customer.phone)
            session.add(customer)
            if change.card_id:
                delete_cards.append(change.card_id)
            report.restored += 1
        for chunk in _chunks(delete_cards):
            session.execute(sa.delete(CardTransaction).where(CardTransaction.card_id.in_(chunk)))
            session.execute(sa.delete(Card).where(Card.id.in_(chunk)))
        for chunk in _chunks(delete_customers):
            for model in (CardTransaction, Review, CustomFieldValue, ImportChange, CustomerRfm):
                session.execute(sa.delete(model).where(model.customer_id.in_(chunk)))
            session.execute(sa.delete(Card).where(Card.customer_id.in_(chunk)))
            session.execute(sa.delete(Customer).where(Customer.id.in_(chunk)))
        batch.status, batch.undone_at = "undone", utcnow()
        session.add(batch)
        audit.record(merchant_id, audit.Action.IMPORT_UNDO, staff_user_id=staff_user_id, session=session, detail={
            "batch": batch.id, "removed": report.removed, "restored": report.restored, "kept": len(report.kept)})
        session.commit()
    return report


def _same(current: object, stored: object) -> bool:
    if isinstance(current, dt.date):
        return current.isoformat() == stored
    return current == stored


def _customers_with_activity(session, customer_ids: list[int], since: dt.datetime) -> dict[int, str]:  # noqa: ANN001
    """Customers touched after the import: a transaction not from it, a review, an edit."""
    active: dict[int, str] = {}
    for chunk in _chunks(customer_ids):
        for customer_id in session.exec(
            select(CardTransaction.customer_id).where(
                CardTransaction.customer_id.in_(chunk), CardTransaction.source != "import",
                CardTransaction.created_at >= since,
            ).distinct()
        ).all():
            active[customer_id] = "has card transactions since the import"
        for customer_id in session.exec(
            select(Review.customer_id).where(Review.customer_id.in_(chunk), Review.created_at >= since).distinct()
        ).all():
            active.setdefault(customer_id, "left a review since the import")
        for customer_id in session.exec(
            select(Customer.id).where(Customer.id.in_(chunk), Customer.updated_at > since)
        ).all():
            active.setdefault(customer_id, "was edited since the import")
        for customer_id in session.exec(
            select(Card.customer_id).where(
                Card.customer_id.in_(chunk), sa.or_(Card.issued_at > since, Card.installed_at >= since)
            ).distinct()
        ).all():
            active.setdefault(customer_id, "has a card issued or installed since the import")
    return active



# --- template ---------------------------------------------------------------------


def template_rows(merchant_id: int) -> tuple[list[str], list[str]]:
    with tenant_session(merchant_id) as session:
        specs, _ = custom_specs(session)
    return importing.template_csv_header(specs), importing.template_example(specs)


def list_templates(merchant_id: int) -> list[tuple[int, str, str]]:
    """The merchant's active templates as (id, name, card type): the card pickers of the
    import and bulk-issue dialogs."""
    with tenant_session(merchant_id) as session:
        return [
            (t.id, t.name, t.card_type)
            for t in session.exec(select(CardTemplate).where(CardTemplate.active).order_by(CardTemplate.id)).all()
        ]
