"""Customer search and filters for the rest of the app: the search box's condition, the
merchant's filter catalog, one WHERE for search AND filter (compiled by ``filter_sql``),
counts, and the selections bulk actions act on."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import select

from perkstar_ui.db.models import (
    Card,
    CardTemplate,
    Customer,
    CustomFieldDefinition,
    Merchant,
)
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain import contacts
from perkstar_ui.domain import filter_params as P
from perkstar_ui.domain import filters as F
from perkstar_ui.domain.serials import normalise_serial
from perkstar_ui.services.filter_sql import Context, compile_filter, escape_like


def search_condition(term: str, region_of_merchant) -> sa.ColumnElement | None:  # noqa: ANN001
    term = term.strip()
    if not term:
        return None
    e164 = contacts.phone_search_key(term, region_of_merchant)
    if e164:
        # A whole phone number names one customer: an indexed equality, no scan.
        return Customer.phone == e164
    pattern = contacts.search_pattern(term)
    if not pattern:
        return sa.false()  # e.g. only punctuation: nothing can match
    conditions = [Customer.search_text.like(f"%{escape_like(pattern)}%", escape="\\")]
    serial = normalise_serial(term)
    if len(serial) >= 4 and serial.isalnum():
        # A prefix range on the unique serial index, not a LIKE per customer row.
        conditions.append(
            Customer.id.in_(
                select(Card.customer_id).where(Card.serial >= serial, Card.serial < serial + "\uffff")
            )
        )
    return sa.or_(*conditions)


# --- what the rest of the app calls -----------------------------------------------------------


def params_in(session) -> tuple[dict[str, F.ParamSpec], dict[str, tuple[int, str]]]:  # noqa: ANN001
    """The merchant's filter catalog (custom fields, template names) and custom field ids."""
    definitions = session.exec(
        select(CustomFieldDefinition).order_by(CustomFieldDefinition.position, CustomFieldDefinition.id)
    ).all()
    templates = session.exec(select(CardTemplate.name).distinct().order_by(CardTemplate.name)).all()
    refs = [P.CustomFieldRef(d.key, d.label, d.field_type, tuple(d.choices or ())) for d in definitions]
    return P.catalog(refs, list(templates)), {d.key: (d.id, d.field_type) for d in definitions}


def params_for(merchant_id: int) -> dict[str, F.ParamSpec]:
    with tenant_session(merchant_id) as session:
        return params_in(session)[0]


def where_with(session, merchant_id: int, spec: F.Filter | None, params: dict[str, F.ParamSpec],  # noqa: ANN001
               custom_ids: dict[str, tuple[int, str]], today: dt.date | None = None, *,
               region: str | None = None) -> sa.ColumnElement | None:
    """The filter alone as one WHERE on customer, against a catalog already loaded by
    ``params_in`` (so many filters, e.g. the segments list, share one load); ``region``
    is the merchant's ``default_country`` (read here when not given). None for everyone.
    Raises ``FilterError`` naming the first bad condition."""
    if spec is None or spec.empty:
        return None
    checked = F.check(spec, params)
    if region is None:
        region = session.get(Merchant, merchant_id).default_country
    ctx = Context(merchant_id, today or dt.datetime.now(dt.timezone.utc).date(),
                  session.get_bind().dialect.name, region, custom_ids)
    return compile_filter(checked, ctx)  # None when only empty groups: everyone


def where_in(session, merchant_id: int, spec: F.Filter | None, search: str = "",  # noqa: ANN001
             today: dt.date | None = None) -> sa.ColumnElement | None:
    """The search AND the filter as one WHERE on customer, or None for everyone.
    Raises ``FilterError`` naming the first bad condition."""
    def region() -> str:  # read only when needed (a phone search, a filter): the session keeps it
        return session.get(Merchant, merchant_id).default_country

    parts = []
    found = search_condition(search, region)
    if found is not None:
        parts.append(found)
    if spec is not None and not spec.empty:
        params, custom_ids = params_in(session)
        where = where_with(session, merchant_id, spec, params, custom_ids, today, region=region())
        if where is not None:
            parts.append(where)
    return sa.and_(*parts) if parts else None


def validate(merchant_id: int, filter_json: str | dict) -> F.Filter:
    """The filter as stored, checked against this merchant's fields; ``FilterError`` if not."""
    spec = F.from_json(filter_json)
    F.check(spec, params_for(merchant_id))
    return spec


def count_matching(merchant_id: int, spec: F.Filter | None, search: str = "") -> int:
    with tenant_session(merchant_id) as session:
        where = where_in(session, merchant_id, spec, search)
        statement = select(sa.func.count()).select_from(Customer).where(Customer.merchant_id == merchant_id)
        return session.exec(statement if where is None else statement.where(where)).one()


def matching_ids_query(session, merchant_id: int, spec: F.Filter | None, search: str = "") -> sa.Select:  # noqa: ANN001
    """``SELECT customer.id`` of everyone matching: a subquery for bulk actions, so ids
    never travel to the browser or through Python."""
    where = where_in(session, merchant_id, spec, search)
    statement = select(Customer.id).where(Customer.merchant_id == merchant_id)
    return statement if where is None else statement.where(where)


@dataclass(frozen=True)
class Selection:
    """The customers a bulk action is for: picked rows, or everyone matching the grid's
    search and filter ("all 12,408 matching") without their ids ever leaving the server."""

    ids: tuple[int, ...] = ()
    every_match: bool = False
    filter: F.Filter | None = None
    search: str = ""

    @property
    def empty(self) -> bool:
        return not self.every_match and not self.ids


def selected_customers(merchant_id: int, selection: Selection) -> list[int] | sa.Select:
    """Picked ids as a list; every match as a ``SELECT customer.id`` subquery."""
    if not selection.every_match:
        return sorted({int(i) for i in selection.ids})
    with tenant_session(merchant_id) as session:
        return matching_ids_query(session, merchant_id, selection.filter, selection.search)
