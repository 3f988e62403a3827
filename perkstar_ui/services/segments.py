"""My Segments (customers.md §13.2, README Q12): a name and a saved filter.

Segments are dynamic: only the filter is stored (``domain.filters`` JSON) and it is
evaluated whenever the segment is used, so the list's counts, the grid and (later)
campaigns always see today's customers. A stored filter may stop applying (its custom
field was removed): listing says so instead of failing, using it raises ``FilterError``.
Creating, changing, duplicating and deleting one are audited as ``segment-update``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from perkstar_ui.db.models import Customer, Merchant, Segment, utcnow
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain import filters
from perkstar_ui.services import audit, customer_filters
from perkstar_ui.services.refusals import RecordError

MAX_NAME = 120
NAME_FIELD = "name"
FILTER_FIELD = "filter"
NO_FILTER = "Apply a filter first"
NOT_FOUND = "This segment no longer exists."
COPY_WORD = "copy"
# "Name (copy)" or "Name (copy 3)": duplicating a copy counts on instead of nesting.
_COPY_SUFFIX = re.compile(rf" \({COPY_WORD}(?: \d+)?\)$")


@dataclass(frozen=True)
class SegmentRow:
    """One line of the list: ``count`` is None (and ``problem`` says why) when the
    stored filter no longer applies."""

    id: int
    name: str
    summary: str
    count: int | None
    problem: str = ""


@dataclass(frozen=True)
class SegmentDetail:
    id: int
    name: str
    filter_json: str
    summary: str


def _clean_name(name: str) -> str:
    cleaned = " ".join(str(name or "").split())
    if not cleaned:
        raise RecordError("Give the segment a name.", {NAME_FIELD: "Required"})
    if len(cleaned) > MAX_NAME:
        raise RecordError(f"A segment name has at most {MAX_NAME} characters.", {NAME_FIELD: "Too long"})
    return cleaned


def _find(session: Session, merchant_id: int, segment_id: int) -> Segment:
    """The merchant's segment or a refusal; the merchant is named as well as the scope
    so an id from the browser can never reach another merchant's row."""
    segment = session.exec(
        select(Segment).where(Segment.merchant_id == merchant_id, Segment.id == int(segment_id))
    ).first()
    if segment is None:
        raise RecordError(NOT_FOUND)
    return segment


def _names_taken(session: Session, merchant_id: int, except_id: int | None = None) -> set[str]:
    statement = select(Segment.name).where(Segment.merchant_id == merchant_id)
    if except_id is not None:
        statement = statement.where(Segment.id != except_id)
    return {name.casefold() for name in session.exec(statement).all()}


def _refuse_taken(name: str, taken: set[str]) -> None:
    if name.casefold() in taken:
        raise RecordError(f"A segment named “{name}” already exists.", {NAME_FIELD: "Already used"})


def _audit(session: Session, merchant_id: int, staff_user_id: int | None, change: str, name: str,
           segment_id: int | None = None) -> None:
    detail = {"change": change, "name": name} | ({"segment": segment_id} if segment_id is not None else {})
    audit.record(merchant_id, audit.Action.SEGMENT_UPDATE, staff_user_id=staff_user_id, session=session, detail=detail)


def _commit(session: Session, name: str) -> None:
    """The unique (merchant, name) constraint catches a same-named save that raced ours."""
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise RecordError(f"A segment named “{name}” already exists.", {NAME_FIELD: "Already used"}) from None


def _checked_filter(merchant_id: int, filter_json: str | dict) -> filters.Filter:
    try:
        spec = customer_filters.validate(merchant_id, filter_json)
    except filters.FilterError as error:
        raise RecordError(str(error), {FILTER_FIELD: str(error)}) from None
    if spec.empty:
        raise RecordError(NO_FILTER, {FILTER_FIELD: NO_FILTER})
    return spec


# --- reading ---------------------------------------------------------------------------


def list_segments(merchant_id: int) -> list[SegmentRow]:
    """Every segment by name with its live count: the catalog loaded once, then one COUNT
    per segment, in one session."""
    rows: list[SegmentRow] = []
    with tenant_session(merchant_id) as session:
        params, custom_ids = customer_filters.params_in(session)
        region = session.exec(select(Merchant.default_country).where(Merchant.id == merchant_id)).one()
        segments = session.exec(
            select(Segment).where(Segment.merchant_id == merchant_id).order_by(sa.func.lower(Segment.name), Segment.id)
        ).all()
        everyone = select(sa.func.count()).select_from(Customer).where(Customer.merchant_id == merchant_id)
        for segment in segments:
            summary = ""
            try:
                spec = filters.from_json(segment.criteria)
                summary = filters.describe(spec, params)
                where = customer_filters.where_with(session, merchant_id, spec, params, custom_ids, region=region)
            except filters.FilterError as error:
                rows.append(SegmentRow(segment.id, segment.name, summary, None, str(error)))
                continue
            count = session.exec(everyone if where is None else everyone.where(where)).one()
            rows.append(SegmentRow(segment.id, segment.name, summary, count))
    return rows


def get_segment(merchant_id: int, segment_id: int) -> SegmentDetail:
    """Name and stored filter (as JSON text), even when the filter no longer applies."""
    with tenant_session(merchant_id) as session:
        segment = _find(session, merchant_id, segment_id)
        params, _ = customer_filters.params_in(session)
        try:
            spec = filters.from_json(segment.criteria)
        except filters.FilterError:
            spec = filters.Filter()
        return SegmentDetail(segment.id, segment.name, spec.dumps(), filters.describe(spec, params))


def segment_filter(merchant_id: int, segment_id: int) -> filters.Filter:
    """The segment's filter checked against today's fields, for whoever targets the
    segment (the grid, campaigns). ``RecordError`` if it is gone, ``FilterError`` if it
    no longer applies."""
    with tenant_session(merchant_id) as session:
        criteria = _find(session, merchant_id, segment_id).criteria
    return customer_filters.validate(merchant_id, criteria)


# --- changing ----------------------------------------------------------------------------


def save_segment(merchant_id: int, name: str, filter_json: str | dict, segment_id: int | None = None, *,
                 staff_user_id: int | None = None) -> int:
    """Create a segment, or overwrite name and filter of ``segment_id``; its id."""
    cleaned = _clean_name(name)
    spec = _checked_filter(merchant_id, filter_json)
    with tenant_session(merchant_id) as session:
        if segment_id is None:
            segment = Segment(merchant_id=merchant_id, name=cleaned, criteria=spec.to_json())
        else:
            segment = _find(session, merchant_id, segment_id)
            segment.name, segment.criteria, segment.updated_at = cleaned, spec.to_json(), utcnow()
        _refuse_taken(cleaned, _names_taken(session, merchant_id, except_id=segment.id))
        session.add(segment)
        _audit(session, merchant_id, staff_user_id, "created" if segment_id is None else "updated", cleaned,
               segment.id)
        _commit(session, cleaned)
        return segment.id


def rename_segment(merchant_id: int, segment_id: int, name: str, *, staff_user_id: int | None = None) -> None:
    cleaned = _clean_name(name)
    with tenant_session(merchant_id) as session:
        segment = _find(session, merchant_id, segment_id)
        _refuse_taken(cleaned, _names_taken(session, merchant_id, except_id=segment.id))
        segment.name, segment.updated_at = cleaned, utcnow()
        session.add(segment)
        _audit(session, merchant_id, staff_user_id, "renamed", cleaned, segment.id)
        _commit(session, cleaned)


def copy_name(name: str, taken: set[str]) -> str:
    """``X (copy)``, then ``X (copy 2)``, … the first one free (case-insensitively),
    shortening X so the name stays within the limit."""
    base = _COPY_SUFFIX.sub("", name)
    number = 1
    while True:
        suffix = f" ({COPY_WORD})" if number == 1 else f" ({COPY_WORD} {number})"
        candidate = base[: MAX_NAME - len(suffix)].rstrip() + suffix
        if candidate.casefold() not in taken:
            return candidate
        number += 1


def duplicate_segment(merchant_id: int, segment_id: int, *, staff_user_id: int | None = None) -> int:
    """A copy with the same stored filter (copied as is, even if it no longer applies)."""
    with tenant_session(merchant_id) as session:
        source = _find(session, merchant_id, segment_id)
        name = copy_name(source.name, _names_taken(session, merchant_id))
        copy = Segment(merchant_id=merchant_id, name=name, criteria=dict(source.criteria))
        session.add(copy)
        _audit(session, merchant_id, staff_user_id, "duplicated", name, source.id)
        _commit(session, name)
        return copy.id


def delete_segment(merchant_id: int, segment_id: int, *, staff_user_id: int | None = None) -> None:
    with tenant_session(merchant_id) as session:
        segment = _find(session, merchant_id, segment_id)
        _audit(session, merchant_id, staff_user_id, "deleted", segment.name, segment.id)
        session.delete(segment)
        session.commit()
