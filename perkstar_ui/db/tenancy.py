"""Tenant scoping in one place.

Every ORM session is opened either for one merchant (``tenant_session``) or explicitly
for cross-merchant system work (``system_session``: login, CLI, webhooks). For tenant
sessions an ``do_orm_execute`` hook adds ``merchant_id = :merchant`` to every SELECT,
UPDATE and DELETE touching a ``TenantScoped`` table (joins and relationships included),
and a ``before_flush`` hook refuses to write a row of another merchant. A session that
is neither refuses to query tenant tables at all, so a forgotten scope fails loudly
instead of leaking data.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlmodel import Session as SQLModelSession

from perkstar_ui.db.engine import get_engine
from perkstar_ui.db.models import TenantScoped

_MERCHANT = "perkstar_merchant_id"
_SYSTEM = "perkstar_system"


class TenantScopeError(RuntimeError):
    """A query on merchant data without a merchant, or a write across merchants."""


def _touches_tenant_table(state: ORMExecuteState) -> bool:
    for mapper in state.all_mappers:
        if issubclass(mapper.class_, TenantScoped):
            return True
    return False


@event.listens_for(Session, "do_orm_execute")
def _scope_statement(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    info = state.session.info
    if info.get(_SYSTEM):
        return
    merchant_id = info.get(_MERCHANT)
    if merchant_id is None:
        if _touches_tenant_table(state):
            raise TenantScopeError(
                "merchant data queried outside tenant_session() or system_session()"
            )
        return
    state.statement = state.statement.options(*_criteria_for(merchant_id))


# SQLAlchemy analyses the criterion's lambda once against the base itself: give the marker
# a stand-in column to read then (each table's own column replaces it when compiled). Set
# here, after every table class exists: in models.py each table would warn that it shadows it.
TenantScoped.merchant_id = sa.column("merchant_id")  # type: ignore[misc]


@functools.lru_cache(maxsize=4096)
def _criteria_for(merchant_id: int) -> tuple:
    """One criterion on the ``TenantScoped`` base: SQLAlchemy applies it to every tenant
    table (not only those named in the statement), so joins, subqueries and relationship
    loads are covered too. A lambda (not an expression) so aliases are filtered as well;
    built once per merchant because analysing the lambda costs more than the query itself.
    One option, not one per table: every query's cache key walks its options."""
    return (with_loader_criteria(TenantScoped, lambda cls: cls.merchant_id == merchant_id, include_aliases=True),)


@event.listens_for(Session, "before_flush")
def _check_written_rows(session: Session, _flush_context, _instances) -> None:  # noqa: ANN001
    if session.info.get(_SYSTEM):
        return
    merchant_id = session.info.get(_MERCHANT)
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, TenantScoped):
            if merchant_id is None:
                raise TenantScopeError("merchant data written outside a tenant session")
            if obj.merchant_id is None and obj in session.new:
                obj.merchant_id = merchant_id  # new rows default to the session's merchant
            elif obj.merchant_id != merchant_id:
                raise TenantScopeError(
                    f"row of merchant {obj.merchant_id} written in merchant {merchant_id}'s session"
                )


@contextmanager
def tenant_session(merchant_id: int) -> Iterator[SQLModelSession]:
    if not isinstance(merchant_id, int) or merchant_id <= 0:
        raise TenantScopeError(f"invalid merchant id {merchant_id!r}")
    with SQLModelSession(get_engine(), expire_on_commit=False) as session:
        session.info[_MERCHANT] = merchant_id
        yield session


@contextmanager
def system_session() -> Iterator[SQLModelSession]:
    """Unscoped: only for work that is about no single merchant or about all of them."""
    with SQLModelSession(get_engine(), expire_on_commit=False) as session:
        session.info[_SYSTEM] = True
        yield session


def merchant_of(session: Session) -> int | None:
    return session.info.get(_MERCHANT)
