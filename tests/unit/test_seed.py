"""Demo data: idempotent top-up, all eight card types, ledgers that add up."""

import sqlalchemy as sa
from sqlmodel import select

from perkstar_ui import config
from perkstar_ui.db.models import Card, CardTransaction, Customer
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.services import accounts, seed


def test_seed_is_idempotent_and_tops_up():
    first = seed.seed_demo(40)  # other tests may have seeded more already
    assert seed.seed_demo(first.total_customers).created_customers == 0
    grown = seed.seed_demo(first.total_customers + 20)
    assert grown.merchant_id == first.merchant_id
    assert grown.created_customers == 20
    with tenant_session(first.merchant_id) as session:
        assert session.exec(select(sa.func.count()).select_from(Customer)).one() == first.total_customers + 20
    # The demo login works with the documented password.
    assert accounts.log_in(config.DEMO_EMAIL, config.DEMO_PASSWORD)


def test_demo_cards_cover_all_types_and_balances_match_their_ledgers():
    result = seed.seed_demo(40)
    with tenant_session(result.merchant_id) as session:
        types = set(session.exec(select(Card.card_type)).all())
        assert types == {"stamp", "multipass", "cashback", "gift", "reward", "coupon", "membership", "discount"}
        mismatched = session.exec(
            select(Card.id)
            .outerjoin(CardTransaction, CardTransaction.card_id == Card.id)
            .group_by(Card.id, Card.balance)
            .having(sa.func.coalesce(sa.func.sum(CardTransaction.value_delta), 0) != Card.balance)
        ).all()
        assert mismatched == []
        last_balance = session.exec(
            select(CardTransaction.balance_after, Card.balance)
            .join(Card, Card.id == CardTransaction.card_id)
            .order_by(CardTransaction.card_id, CardTransaction.created_at.desc())
        ).first()
        assert last_balance[0] == last_balance[1]
        assert session.exec(select(sa.func.min(Card.balance))).one() >= 0


def test_every_demo_card_cache_is_the_replay_of_its_ledger():
    from perkstar_ui.services import cards

    result = seed.seed_demo(40)
    with tenant_session(result.merchant_id) as session:
        card_ids = session.exec(select(Card.id).order_by(Card.id).limit(120)).all()
    for card_id in card_ids:
        cache, replayed = cards.verify_cache(result.merchant_id, card_id)
        assert cache == replayed, card_id
