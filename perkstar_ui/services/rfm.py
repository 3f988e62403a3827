"""RFM segments per merchant (rfm.md): rebuild ``customer_rfm`` from the ledger, read the
tab's summary, a customer's segment and the merchant's RFM settings. No Reflex.

One run = one aggregate query (a ``GROUP BY`` customer over the merchant's ledger, left
joined to all the merchant's customers), ``domain.rfm.score`` in pandas, then only the
differences written: the stored rows are read in the writing transaction, compared with
the run's (``domain.rfm.changes``) and the new, changed and gone rows inserted, updated
and deleted. Rows hold the day of the last visit, not the recency in days, so a second
run on unchanged data writes no row and the nightly run only the customers whose scores,
visits or segment moved. When the merchant's rows were last computed is one column of
the merchant (``rfm_computed_at``). Running it again is harmless, so the nightly job, the
Recalculate button and the import hook may all run it whenever they like.

What the query counts (rfm.md "Inputs"):
- a *visit* is an entry of ``ledger.ACTIVITY_KINDS``; one action that writes several such
  entries counts once (distinct ``action_key``; entries without a key count one each);
- monetary is the sum of ``purchase_cents`` in the window: purchases are positive and
  refunds (``purchase_refunded``) negative, so refunds subtract; floored at 0;
- corrections never count, and neither does the action a correction reversed (the
  merchant said it did not happen): a corrected purchase adds no visit and no money.
- The window is the last ``rfm_window_days`` days with today as day 0, in UTC (from
  midnight of today − (N − 1)), like the filters' "in the last N days"
  (``filter_sql.first_of_last``). Unlike RFM, the filters' visit counts do include a
  corrected visit (as Total visits does, spec README Q5).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import sqlalchemy as sa

from perkstar_ui.db import locks
from perkstar_ui.db.bulk import bulk_insert
from perkstar_ui.db.models import (
    CardTransaction,
    Customer,
    CustomerRfm,
    Merchant,
    as_utc,
    utcnow,
)
from perkstar_ui.db.tenancy import system_session, tenant_session
from perkstar_ui.domain import ledger
from perkstar_ui.domain import rfm as rule
from perkstar_ui.services import audit

WINDOW_DAYS_RANGE = (30, 1825)
NEW_CUSTOMER_DAYS_RANGE = (1, 365)

_LEDGER = CardTransaction.__table__
_CUSTOMER = Customer.__table__
_RFM = CustomerRfm.__table__
_MERCHANT = Merchant.__table__
# customer_rfm's columns in the order of ``domain.rfm.STORED``.
_VALUE_COLUMNS = ["last_visit_on", "frequency", "monetary_cents", "r", "f", "m", "fm", "segment"]
_UPDATE = (
    sa.update(_RFM)
    .where(_RFM.c.customer_id == sa.bindparam("b_customer_id"), _RFM.c.merchant_id == sa.bindparam("b_merchant_id"))
    .values(**{name: sa.bindparam(f"b_{name}") for name in _VALUE_COLUMNS})
)
_DELETE = sa.delete(_RFM).where(_RFM.c.customer_id == sa.bindparam("b_customer_id"),
                                _RFM.c.merchant_id == sa.bindparam("b_merchant_id"))

Progress = Callable[[float], None]


class SettingsError(ValueError):
    """A refused RFM setting; the message is shown to the merchant as is."""


@dataclass(frozen=True)
class RfmSettings:
    window_days: int
    new_customer_days: int


@dataclass(frozen=True)
class RfmRun:
    merchant_id: int
    counts: dict[str, int]  # segment name → customers, every segment listed
    customers: int  # all the merchant's customers, with or without a segment
    computed_at: dt.datetime
    duration_s: float
    written: int = 0  # customer_rfm rows inserted, updated or deleted (0: nothing changed)
    stored: bool = True  # False: a run that read the ledger later had stored its figures


@dataclass(frozen=True)
class SegmentShare:
    segment: str
    count: int
    share: str  # of all the merchant's customers, e.g. "12.5%"


@dataclass(frozen=True)
class RfmSummary:
    segments: list[SegmentShare]
    customers: int
    cells: dict[tuple[int, int], int] = field(default_factory=dict)  # (R, FM) → customers scored there
    computed_at: dt.datetime | None = None


# --- settings ---------------------------------------------------------------------------


def get_settings(merchant_id: int) -> RfmSettings:
    with system_session() as session:  # the merchant row itself is not tenant data
        row = session.connection().execute(
            sa.select(_MERCHANT.c.rfm_window_days, _MERCHANT.c.rfm_new_customer_days).where(_MERCHANT.c.id == merchant_id)
        ).one()
    return RfmSettings(row.rfm_window_days, row.rfm_new_customer_days)


def _whole_number(text: str, label: str, bounds: tuple[int, int]) -> int:
    low, high = bounds
    cleaned = str(text).strip()
    if not cleaned.isdigit() or not cleaned.isascii():
        raise SettingsError(f"{label} must be a whole number of days from {low} to {high}.")
    value = int(cleaned)
    if not low <= value <= high:
        raise SettingsError(f"{label} must be from {low} to {high} days.")
    return value


def parse_settings(window_text: str, new_customer_text: str) -> RfmSettings:
    return RfmSettings(
        _whole_number(window_text, "RFM window", WINDOW_DAYS_RANGE),
        _whole_number(new_customer_text, "New customer days", NEW_CUSTOMER_DAYS_RANGE),
    )


def save_settings(merchant_id: int, window_text: str, new_customer_text: str, *,
                  staff_user_id: int | None = None) -> RfmSettings:
    """Check and store the merchant's settings (audited as ``settings-update``);
    ``SettingsError`` says what is wrong."""
    settings = parse_settings(window_text, new_customer_text)
    with system_session() as session:
        session.connection().execute(
            sa.update(_MERCHANT).where(_MERCHANT.c.id == merchant_id)
            .values(rfm_window_days=settings.window_days, rfm_new_customer_days=settings.new_customer_days)
        )
        audit.record(merchant_id, audit.Action.SETTINGS_UPDATE, staff_user_id=staff_user_id, session=session,
                     detail={"changed": "rfm", "window_days": settings.window_days,
                             "new_customer_days": settings.new_customer_days})
        session.commit()
    return settings


# --- the run ----------------------------------------------------------------------------


def window_start(today: dt.date, window_days: int) -> dt.datetime:
    """Midnight UTC of the window's first day (today is day 0 of ``window_days``)."""
    first = today - dt.timedelta(days=window_days - 1)
    return dt.datetime.combine(first, dt.time(), tzinfo=dt.timezone.utc)


def _days_before(today: dt.date, column, dialect: str):  # noqa: ANN001, ANN202
    """Whole UTC days from the timestamp's day to ``today``, computed by the database: an
    integer per row is far cheaper to fetch than a timestamp parsed in Python."""
    if dialect == "postgresql":
        return sa.literal(today, sa.Date) - sa.cast(sa.func.timezone("UTC", column), sa.Date)
    # SQLite stores UTC timestamps as ISO text; julianday reads it.
    return sa.cast(sa.func.julianday(today.isoformat()) - sa.func.julianday(sa.func.date(column)), sa.Integer)


def aggregate_statement(merchant_id: int, today: dt.date, window_days: int, dialect: str) -> sa.Select:
    """One row per customer of the merchant: days since creation, days since the last visit
    ever, visits and monetary in the window (NULLs without live ledger entries)."""
    since = window_start(today, window_days)
    t = _LEDGER
    correction, original = _LEDGER.alias("correction"), _LEDGER.alias("original")
    # "> 0" rather than IS NOT NULL: SQLite reads a range of the correction_of_id index for
    # it (the few corrections) instead of scanning the whole ledger, twice.
    is_correction = sa.and_(correction.c.correction_of_id > 0, correction.c.merchant_id == merchant_id,
                            correction.c.kind == ledger.CORRECTION)
    corrected_ids = sa.select(correction.c.correction_of_id).where(is_correction)
    corrected_keys = (
        sa.select(original.c.action_key)
        .select_from(correction.join(original, original.c.id == correction.c.correction_of_id))
        .where(is_correction, original.c.merchant_id == merchant_id, original.c.action_key.is_not(None))
    )
    live = sa.and_(
        t.c.merchant_id == merchant_id,
        t.c.kind != ledger.CORRECTION,
        t.c.id.not_in(corrected_ids),
        sa.or_(t.c.action_key.is_(None), t.c.action_key.not_in(corrected_keys)),
    )
    visit = t.c.kind.in_(sorted(ledger.ACTIVITY_KINDS))
    in_window = t.c.created_at >= since
    visit_in_window = sa.and_(visit, in_window)
    per_customer = (
        sa.select(
            t.c.customer_id,
            sa.func.max(sa.case((visit, t.c.created_at))).label("last_visit_at"),
            (sa.func.count(sa.distinct(sa.case((visit_in_window, t.c.action_key))))
             + sa.func.sum(sa.case((sa.and_(visit_in_window, t.c.action_key.is_(None)), 1), else_=0))).label("visits"),
            sa.func.sum(sa.case((in_window, sa.func.coalesce(t.c.purchase_cents, 0)), else_=0)).label("monetary"),
        )
        .where(live)
        .group_by(t.c.customer_id)
        .subquery("per_customer")
    )
    c = _CUSTOMER
    return (
        sa.select(c.c.id, _days_before(today, c.c.created_at, dialect), _days_before(today, per_customer.c.last_visit_at, dialect),
                  per_customer.c.visits, per_customer.c.monetary)
        .select_from(c.outerjoin(per_customer, per_customer.c.customer_id == c.c.id))
        .where(c.c.merchant_id == merchant_id)
    )


def inputs_frame(rows: list, window_days: int, today: dt.date) -> pd.DataFrame:
    """The aggregate rows as ``domain.rfm.score``'s input, with the day of the last visit
    ever (``LAST_VISIT_DAY``, what is stored)."""
    # Column by column: building a frame from 100k row objects costs several times more.
    ids, created_days, since_last, visits, monetary = (list(column) for column in zip(*rows)) if rows else ([],) * 5

    def numbers(values: list) -> pd.Series:  # None → NaN
        return pd.Series(values, dtype="float64")

    since = numbers(since_last)
    return pd.DataFrame({
        rule.CUSTOMER_ID: pd.Series(ids, dtype="int64"),
        rule.CREATED_DAYS: numbers(created_days).astype("int64"),
        rule.RECENCY_DAYS: since.where(since < window_days),
        rule.FREQUENCY: numbers(visits).fillna(0).astype("int64"),
        rule.MONETARY_CENTS: numbers(monetary).fillna(0).clip(lower=0).astype("int64"),
        rule.EVER_VISITED: since.notna(),
        rule.LAST_VISIT_DAY: rule.day_number(today) - since,
    })


def _nullable_ints(series: pd.Series) -> list:
    """Float/nullable numbers as Python ints, missing ones as None."""
    return [None if value != value else int(value) for value in series.astype("float64").tolist()]  # NaN != NaN


def _values(merchant_id: int, frame: pd.DataFrame) -> list[dict]:
    """Rows of ``domain.rfm.changes`` as parameters of ``_UPDATE`` / ``bulk_insert``."""
    columns = {
        "customer_id": frame[rule.CUSTOMER_ID].astype("int64").tolist(),
        "last_visit_on": [None if day is None else rule.day_of(day) for day in _nullable_ints(frame[rule.LAST_VISIT_DAY])],
        "frequency": frame[rule.FREQUENCY].astype("int64").tolist(),
        "monetary_cents": frame[rule.MONETARY_CENTS].astype("int64").tolist(),
        **{name: _nullable_ints(frame[name]) for name in (rule.R, rule.F, rule.M, rule.FM)},
        "segment": frame[rule.SEGMENT].tolist(),
    }
    names = list(columns)
    return [{**dict(zip(names, values)), "merchant_id": merchant_id} for values in zip(*columns.values())]


def _day_number(column, dialect: str):  # noqa: ANN001, ANN202
    """``domain.rfm.day_number`` of a date column, computed by the database (an integer per
    row is cheaper to fetch and compare than a date object)."""
    epoch = dt.date(1970, 1, 1)
    if dialect == "postgresql":
        return column - sa.literal(epoch, sa.Date)
    return sa.cast(sa.func.julianday(column) - sa.func.julianday(epoch.isoformat()), sa.Integer)


def _stored(connection, merchant_id: int) -> pd.DataFrame:  # noqa: ANN001
    """The merchant's customer_rfm rows as ``domain.rfm.changes`` compares them."""
    r = _RFM
    rows = connection.execute(
        sa.select(r.c.customer_id, _day_number(r.c.last_visit_on, connection.dialect.name), r.c.frequency,
                  r.c.monetary_cents, r.c.r, r.c.f, r.c.m, r.c.fm, r.c.segment).where(r.c.merchant_id == merchant_id)
    ).all()
    # Column by column, like inputs_frame.
    ids, last_visit, frequency, monetary, *scores, segment = (list(c) for c in zip(*rows)) if rows else ([],) * 9
    return pd.DataFrame({
        rule.CUSTOMER_ID: pd.Series(ids, dtype="int64"),
        rule.LAST_VISIT_DAY: pd.Series(last_visit, dtype="float64"),
        rule.FREQUENCY: pd.Series(frequency, dtype="int64"),
        rule.MONETARY_CENTS: pd.Series(monetary, dtype="int64"),
        **{name: pd.Series(values, dtype="float64") for name, values in zip((rule.R, rule.F, rule.M, rule.FM), scores)},
        rule.SEGMENT: pd.Series(segment, dtype=object),
    })


def _store(merchant_id: int, rows: pd.DataFrame, computed_at: dt.datetime) -> int | None:
    """Write the differences between the stored rows and the run's ``rows`` and note when
    they were computed; the number of rows written, or None when a run that read the ledger
    later has stored its own (the slower, older run loses: newer figures stay)."""
    with tenant_session(merchant_id) as session:
        connection = session.connection()
        # Two runs at once (button and nightly job) must not both apply their differences
        # to the same stored rows: the merchant's row lock queues them (FOR NO KEY UPDATE:
        # card actions and new customers, which reference the merchant, do not wait).
        locks.merchant_row(session, merchant_id)
        stored_at = connection.execute(
            sa.select(_MERCHANT.c.rfm_computed_at).where(_MERCHANT.c.id == merchant_id)).scalar_one()
        if stored_at is not None and as_utc(stored_at) > computed_at:
            return None
        diff = rule.changes(rows, _stored(connection, merchant_id))
        if diff.deletes:
            connection.execute(_DELETE, [{"b_customer_id": i, "b_merchant_id": merchant_id} for i in diff.deletes])
        if len(diff.updates):
            connection.execute(_UPDATE, [{f"b_{name}": value for name, value in row.items()}
                                         for row in _values(merchant_id, diff.updates)])
        if len(diff.inserts):
            inserts = _values(merchant_id, diff.inserts)
            names = list(inserts[0])
            bulk_insert(session, _RFM, names, [tuple(row.values()) for row in inserts])
        connection.execute(sa.update(_MERCHANT).where(_MERCHANT.c.id == merchant_id).values(rfm_computed_at=computed_at))
        session.commit()
        return diff.count


def recompute(merchant_id: int, progress: Progress | None = None, *, now: dt.datetime | None = None) -> RfmRun:
    """Bring the merchant's ``customer_rfm`` rows up to date with the ledger (idempotent)."""
    started = time.perf_counter()
    report = progress or (lambda _fraction: None)
    now = now or utcnow()
    today = now.astimezone(dt.timezone.utc).date()
    settings = get_settings(merchant_id)
    with tenant_session(merchant_id) as session:
        connection = session.connection()
        rows = connection.execute(
            aggregate_statement(merchant_id, today, settings.window_days, connection.dialect.name)
        ).all()
    report(0.5)
    inputs = inputs_frame(rows, settings.window_days, today)
    scored = rule.score(inputs, today, settings.new_customer_days)
    report(0.7)
    written = _store(merchant_id, rule.stored_rows(inputs, scored, today), now)
    report(1.0)
    found = scored[rule.SEGMENT].value_counts()
    counts = {segment.value: int(found.get(segment.value, 0)) for segment in rule.Segment}
    return RfmRun(merchant_id, counts, len(inputs), now, time.perf_counter() - started,
                  written=written or 0, stored=written is not None)


def recompute_all(now: dt.datetime | None = None) -> list[RfmRun]:
    """Every merchant, one after the other (the nightly job)."""
    with system_session() as session:
        merchant_ids = session.connection().execute(sa.select(_MERCHANT.c.id).order_by(_MERCHANT.c.id)).scalars().all()
    return [recompute(merchant_id, now=now) for merchant_id in merchant_ids]


# --- reading ----------------------------------------------------------------------------


def _share(count: int, total: int) -> str:
    return f"{count * 100 / total:.1f}%" if total else "0.0%"


def summary(merchant_id: int) -> RfmSummary:
    """Per segment count and share of *all* the merchant's customers, the R × FM cell counts
    and when the last run stored its rows (``None``: never run)."""
    r = _RFM
    mine = r.c.merchant_id == merchant_id
    with tenant_session(merchant_id) as session:
        connection = session.connection()
        customers = connection.execute(
            sa.select(sa.func.count()).select_from(_CUSTOMER).where(_CUSTOMER.c.merchant_id == merchant_id)
        ).scalar_one()
        by_segment = dict(connection.execute(
            sa.select(r.c.segment, sa.func.count()).where(mine, r.c.segment.is_not(None)).group_by(r.c.segment)
        ).all())
        cells = {(row.r, row.fm): row.n for row in connection.execute(
            sa.select(r.c.r, r.c.fm, sa.func.count().label("n")).where(mine, r.c.r.is_not(None)).group_by(r.c.r, r.c.fm)
        )}
        computed_at = connection.execute(
            sa.select(_MERCHANT.c.rfm_computed_at).where(_MERCHANT.c.id == merchant_id)).scalar_one()
    segments = [SegmentShare(s.value, by_segment.get(s.value, 0), _share(by_segment.get(s.value, 0), customers))
                for s in rule.Segment]
    return RfmSummary(segments, customers, cells, None if computed_at is None else as_utc(computed_at))


def segment_of(merchant_id: int, customer_id: int) -> str:
    """The customer's segment from the last run, or "" when none."""
    with tenant_session(merchant_id) as session:
        segment = session.connection().execute(
            sa.select(_RFM.c.segment).where(_RFM.c.merchant_id == merchant_id, _RFM.c.customer_id == customer_id)
        ).scalar_one_or_none()
    return segment or ""
