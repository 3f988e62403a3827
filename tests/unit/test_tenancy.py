"""Tenant scoping: one merchant's session can neither see nor touch another's rows."""

import re

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

from perkstar_ui.db.engine import get_engine
from perkstar_ui.db.models import Card, CardTemplate, Customer, Review, TenantScoped
from perkstar_ui.db.tenancy import TenantScopeError, system_session, tenant_session
from perkstar_ui.services.dashboard import load_tiles
from tests.helpers import recorded_statements


@pytest.fixture
def two_shops(merchant, other_merchant):
    ids = {}
    for shop, names in ((merchant, ["Ann", "Bob"]), (other_merchant, ["Cid"])):
        with tenant_session(shop) as session:
            for name in names:
                customer = Customer(first_name=name, last_name="Shop")
                session.add(customer)
                session.commit()
                ids[name] = customer.id
                session.add(Review(rating=5 if shop == merchant else 1, customer_id=customer.id))
            session.commit()
    return merchant, other_merchant, ids


def test_select_sees_only_own_rows(two_shops):
    mine, theirs, _ = two_shops
    with tenant_session(mine) as session:
        assert sorted(c.first_name for c in session.exec(select(Customer)).all()) == ["Ann", "Bob"]
    with tenant_session(theirs) as session:
        assert [c.first_name for c in session.exec(select(Customer)).all()] == ["Cid"]


def test_get_by_id_of_another_merchant_finds_nothing(two_shops):
    mine, _, ids = two_shops
    with tenant_session(mine) as session:
        assert session.get(Customer, ids["Cid"]) is None
        assert session.get(Customer, ids["Ann"]) is not None


def test_counts_joins_and_aggregates_are_scoped(two_shops):
    mine, theirs, _ = two_shops
    with tenant_session(mine) as session:
        assert session.exec(select(sa.func.count()).select_from(Customer)).one() == 2
        joined = session.exec(select(sa.func.count()).select_from(Review).join(Customer, Customer.id == Review.customer_id)).one()
        assert joined == 2
        assert session.exec(select(sa.func.avg(Review.rating))).one() == 5
    assert load_tiles(mine).total_customers == 2
    assert load_tiles(theirs).feedback_rating_text == "1.0"


def test_bulk_update_and_delete_are_scoped(two_shops):
    mine, theirs, ids = two_shops
    with tenant_session(mine) as session:
        session.execute(sa.update(Customer).values(last_name="Changed"))
        session.execute(sa.delete(Review))
        session.commit()
    with tenant_session(theirs) as session:
        cid = session.get(Customer, ids["Cid"])
        assert cid.last_name == "Shop"
        assert session.exec(select(sa.func.count()).select_from(Review)).one() == 1


def test_writing_another_merchants_row_is_refused(two_shops):
    mine, theirs, ids = two_shops
    with tenant_session(theirs) as session:
        cid = session.get(Customer, ids["Cid"])
    with tenant_session(mine) as session:
        cid.first_name = "Hijacked"
        session.add(cid)
        with pytest.raises(TenantScopeError):
            session.commit()
        session.rollback()
        session.add(Customer(merchant_id=theirs, first_name="Planted", last_name="Row"))
        with pytest.raises(TenantScopeError):
            session.commit()


def test_new_rows_take_the_sessions_merchant(merchant):
    with tenant_session(merchant) as session:
        customer = Customer(first_name="New", last_name="Row")
        session.add(customer)
        session.commit()
        assert customer.merchant_id == merchant


def test_unscoped_session_cannot_touch_merchant_data(two_shops):
    with Session(get_engine()) as session:
        with pytest.raises(TenantScopeError):
            session.exec(select(Customer)).all()
        with pytest.raises(TenantScopeError):
            session.execute(sa.update(Card).values(balance=0))
        session.add(Customer(merchant_id=two_shops[0], first_name="X", last_name="Y"))
        with pytest.raises(TenantScopeError):
            session.commit()


def test_system_session_sees_everything(two_shops):
    mine, theirs, _ = two_shops
    with system_session() as session:
        merchants = set(session.exec(select(Customer.merchant_id)).all())
    assert {mine, theirs} <= merchants


def test_every_merchant_gets_one_template_per_card_type(merchant):
    with tenant_session(merchant) as session:
        types = sorted(t.card_type for t in session.exec(select(CardTemplate)).all())
    assert types == sorted(["stamp", "multipass", "cashback", "gift", "reward", "coupon", "membership", "discount"])


@pytest.mark.parametrize("bad", [0, -1, None, "1"])
def test_tenant_session_needs_a_real_merchant_id(bad):
    with pytest.raises(TenantScopeError):
        with tenant_session(bad):
            pass


def test_aliases_are_scoped_and_the_statement_cache_never_mixes_merchants(two_shops):
    mine, theirs, _ = two_shops
    for shop, expected in ((mine, 2), (theirs, 1), (mine, 2)):
        other = sa.orm.aliased(Review)
        with tenant_session(shop) as session:
            count = session.exec(
                select(sa.func.count()).select_from(Customer).outerjoin(other, other.customer_id == Customer.id)
            ).one()
        assert count == expected


# Every mapped table that carries the marker: the one criterion on the base must reach each.
TENANT_MODELS = sorted((m.class_ for m in SQLModel._sa_registry.mappers if issubclass(m.class_, TenantScoped)),
                       key=lambda c: c.__name__)


def _sql_of(merchant_id: int, statement) -> str:  # noqa: ANN001
    with recorded_statements() as seen, tenant_session(merchant_id) as session:
        session.execute(statement)
        session.rollback()
    return seen[-1]


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda c: c.__name__)
def test_every_tenant_table_is_filtered_in_every_statement_shape(model, merchant):
    table = model.__table__.name
    # (statement, table name in the SQL, how many "merchant_id =" it names without the scope)
    shapes = {
        "select": (select(model.merchant_id), table, 0),
        "alias": (select(sa.orm.aliased(model).merchant_id), f"{table}_1", 0),
        "subquery": (select(sa.func.count()).select_from(select(model.merchant_id).subquery()), table, 0),
        "exists": (select(sa.exists(select(model.merchant_id))), table, 0),
        # A write that matches nothing (and is rolled back) names merchant_id once itself.
        "update": (sa.update(model).where(model.merchant_id == -1).values(merchant_id=model.merchant_id), table, 1),
        "delete": (sa.delete(model).where(model.merchant_id == -1), table, 1),
    }
    for shape, (statement, name, own) in shapes.items():
        sql = _sql_of(merchant, statement)
        assert len(re.findall(rf"\b{name}\.merchant_id = ", sql)) == own + 1, (shape, sql)


def test_there_are_tenant_tables_to_check():
    assert len(TENANT_MODELS) >= 18 and {Card, Customer, Review} <= set(TENANT_MODELS)


def test_subqueries_ctes_and_unions_are_scoped(two_shops):
    mine, _, ids = two_shops
    with tenant_session(mine) as session:
        reviewed = select(Review.customer_id)
        assert session.exec(select(sa.func.count()).select_from(reviewed.subquery())).one() == 2
        assert session.exec(select(sa.func.count()).select_from(reviewed.cte("r"))).one() == 2
        assert session.exec(select(sa.exists(select(Review.id).where(Review.rating == 1)))).one() is False
        union = sa.union(select(Customer.id), select(Review.customer_id)).subquery()
        assert sorted(session.exec(select(union.c.id)).all()) == sorted([ids["Ann"], ids["Bob"]])
        assert session.exec(select(Customer.id).where(
            Customer.id.in_(select(Review.customer_id).where(Review.rating == 1)))).all() == []
