"""The audit trail (contract v2 "Accounts, staff and audit"): who did what, when, from where.

``audit_log`` is append-only: ``record`` inserts, nothing here updates or deletes a row.
Pass the caller's ``session`` to write the entry in the same transaction as the change it
describes (it commits or rolls back with it); without one the entry is written and
committed in its own short transaction. The actor's email is copied onto the row so the
trail still names a user that was later removed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Session, select

from perkstar_ui.db.models import AuditEntry, StaffUser, utcnow
from perkstar_ui.db.tenancy import tenant_session

PAGE_SIZE = 50
STREAM_CHUNK = 1000
CSV_HEADER = ["Time (UTC)", "Action", "Actor", "IP", "Detail"]
MAX_IP = 64


class Action(StrEnum):
    """The contract's action names (``data-action`` on ``audit-row``)."""

    LOGIN = "login"
    LOGIN_FAILED = "login-failed"
    LOGOUT = "logout"
    EXPORT = "export"
    IMPORT = "import"
    IMPORT_UNDO = "import-undo"
    CUSTOMER_CREATE = "customer-create"
    CUSTOMER_UPDATE = "customer-update"
    CUSTOMER_DELETE = "customer-delete"
    CARD_ISSUE = "card-issue"
    CARD_ACTION = "card-action"
    CARD_CORRECTION = "card-correction"
    CARD_DELETE = "card-delete"
    TEMPLATE_UPDATE = "template-update"
    SETTINGS_UPDATE = "settings-update"
    STAFF_INVITE = "staff-invite"
    STAFF_UPDATE = "staff-update"
    CAMPAIGN_SEND = "campaign-send"
    # Beyond the contract's list (issue 13 review): the rest of the merchant's configuration.
    TEMPLATE_CREATE = "template-create"
    CUSTOM_FIELD_UPDATE = "custom-field-update"  # detail "change": added / renamed / moved / removed
    SEGMENT_UPDATE = "segment-update"  # detail "change": created / updated / renamed / duplicated / deleted


def secret_hint(value: str) -> str:
    """What the trail may say about a secret: its last four characters, never more."""
    return f"…{value[-4:]}" if len(value) > 8 else "…"


@dataclass(frozen=True)
class AuditFilter:
    """The list's filters: actor email (exact, case-insensitive), action, and a UTC
    calendar-day range (both ends included). Empty means "any"."""

    actor: str = ""
    action: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None


ANY = "any"


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip()) if text and text.strip() else None
    except ValueError:
        return None


def filter_from_text(actor: str = "", action: str = "", date_from: str = "", date_to: str = "") -> AuditFilter:
    """The list's filter from form or query text; "any", an unknown action or a bad date
    means no condition on it."""
    known = {a.value for a in Action}
    return AuditFilter(actor="" if actor == ANY else actor, action=action if action in known else "",
                       date_from=_day(date_from), date_to=_day(date_to))


@dataclass(frozen=True)
class AuditRow:
    id: int
    created_at: dt.datetime
    action: str
    actor: str
    ip: str
    detail: dict


def _actor_email(session: Session, staff_user_id: int | None, actor_email: str) -> str:
    if actor_email or staff_user_id is None:
        return (actor_email or "").strip().lower()
    user = session.get(StaffUser, staff_user_id)
    return user.email if user is not None else ""


def _entry(session: Session, merchant_id: int, action: Action | str, staff_user_id: int | None,
           actor_email: str, detail: dict | None, ip: str | None) -> AuditEntry:
    return AuditEntry(
        merchant_id=merchant_id,
        staff_user_id=staff_user_id,
        actor_email=_actor_email(session, staff_user_id, actor_email),
        action=str(Action(action)),  # refuses a name outside the contract
        detail=dict(detail or {}),
        ip=(ip or None) and str(ip)[:MAX_IP],
        created_at=utcnow(),
    )


def record(merchant_id: int, action: Action | str, *, staff_user_id: int | None = None,
           actor_email: str = "", detail: dict | None = None, ip: str | None = None,
           session: Session | None = None) -> None:
    """Append one entry. With ``session`` it joins that transaction (the caller commits);
    without, it commits on its own. ``detail`` must be JSON-serialisable."""
    if session is not None:
        session.add(_entry(session, merchant_id, action, staff_user_id, actor_email, detail, ip))
        return
    with tenant_session(merchant_id) as own:
        own.add(_entry(own, merchant_id, action, staff_user_id, actor_email, detail, ip))
        own.commit()


def _where(flt: AuditFilter) -> list:
    conditions = []
    if flt.actor.strip():
        conditions.append(AuditEntry.actor_email == flt.actor.strip().lower())
    if flt.action:
        conditions.append(AuditEntry.action == str(Action(flt.action)))
    if flt.date_from is not None:
        conditions.append(AuditEntry.created_at >= dt.datetime.combine(flt.date_from, dt.time.min,
                                                                        tzinfo=dt.timezone.utc))
    if flt.date_to is not None:
        end = dt.datetime.combine(flt.date_to + dt.timedelta(days=1), dt.time.min, tzinfo=dt.timezone.utc)
        conditions.append(AuditEntry.created_at < end)
    return conditions


def _row(entry: AuditEntry) -> AuditRow:
    return AuditRow(id=entry.id, created_at=entry.created_at, action=entry.action,
                    actor=entry.actor_email, ip=entry.ip or "", detail=dict(entry.detail or {}))


def _ordered(flt: AuditFilter):
    return (select(AuditEntry).where(*_where(flt))
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()))


def list_entries(merchant_id: int, flt: AuditFilter = AuditFilter(), page: int = 1,
                 page_size: int = PAGE_SIZE) -> tuple[list[AuditRow], int]:
    """One page, newest first, and the number of matching entries."""
    with tenant_session(merchant_id) as session:
        total = session.exec(select(sa.func.count()).select_from(AuditEntry).where(*_where(flt))).one()
        entries = session.exec(_ordered(flt).offset((max(page, 1) - 1) * page_size).limit(page_size)).all()
        return [_row(e) for e in entries], int(total)


def actors(merchant_id: int) -> list[str]:
    """The distinct actor emails in the merchant's trail (for the filter's choices)."""
    with tenant_session(merchant_id) as session:
        emails = session.exec(select(AuditEntry.actor_email).where(AuditEntry.actor_email != "")
                              .distinct().order_by(AuditEntry.actor_email)).all()
        return list(emails)


def csv_row(row: AuditRow) -> list[object]:
    detail = "; ".join(f"{key}={value}" for key, value in sorted(row.detail.items()))
    return [row.created_at.isoformat(timespec="seconds"), row.action, row.actor, row.ip, detail]


def iter_entries(merchant_id: int, flt: AuditFilter = AuditFilter()) -> Iterator[AuditRow]:
    """Every matching entry, newest first, streamed in chunks (the CSV download)."""
    with tenant_session(merchant_id) as session:
        for entry in session.exec(_ordered(flt).execution_options(yield_per=STREAM_CHUNK)):
            yield _row(entry)
