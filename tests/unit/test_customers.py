"""Customer records service: grid search/sort/paging, create/edit rules, deletion, history."""

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlmodel import select

from perkstar_ui.db.models import Card, CardTransaction, Review
from perkstar_ui.services import custom_fields, customer_grid, customer_profile, customer_records, refusals
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain import ledger
from tests.helpers import add_customer as add
from tests.helpers import give_card


def test_create_normalises_and_the_grid_shows_it(merchant):
    customer_id = add(merchant, " Zoë ", "Müller", "07400 123456", "Zoe@Example.com", "1990-05-01")
    page = customer_grid.grid_page(merchant, customer_grid.GridQuery())
    assert page.total == 1 and page.page_info == "1–1 of 1"
    row = page.rows[0]
    assert (row.id, row.name, row.phone, row.birthdate) == (customer_id, "Zoë Müller", "+447400123456", "1990-05-01")
    profile = customer_profile.load_profile(merchant, customer_id)
    assert profile.email == "zoe@example.com"


def test_validation_errors_are_reported_per_field_and_nothing_is_saved(merchant):
    with pytest.raises(refusals.RecordError) as refused:
        add(merchant, "", "X", "123", "not-an-email", "2999-01-01")
    assert set(refused.value.errors) == {"first_name", "phone", "email", "birthdate"}
    assert customer_grid.grid_page(merchant, customer_grid.GridQuery()).total == 0


def test_duplicate_phone_in_another_format_is_refused_naming_the_customer(merchant, other_merchant):
    add(merchant, "Ada", "Lovelace", "+44 7400 123456", "ada@example.com")
    with pytest.raises(refusals.RecordError, match="already belongs to Ada Lovelace") as refused:
        add(merchant, "Eve", "Other", "07400-123-456")
    assert "phone" in refused.value.errors
    with pytest.raises(refusals.RecordError, match="email already belongs to Ada Lovelace"):
        add(merchant, "Eve", "Other", "", "ADA@example.com")
    assert add(other_merchant, "Eve", "Other", "07400 123456")  # another merchant is another list


def test_edit_keeps_own_phone_and_updates_fields(merchant):
    customer_id = add(merchant, "Ada", "Lovelace", "07400 123456")
    customer_records.save_customer(merchant, customer_records.CustomerInput("Ada", "King", "+447400123456", "", ""), customer_id)
    profile = customer_profile.load_profile(merchant, customer_id)
    assert profile.name == "Ada King" and profile.phone == "+447400123456"


def test_search_by_name_email_phone_and_serial(merchant):
    ada = add(merchant, "José", "Lovelace", "07400 123456", "ada@math.org")
    bob = add(merchant, "Bob", "Babbage", "07400 654321", "bob@engines.co")
    _, serial = give_card(merchant, bob)

    def found(term):
        return [r.id for r in customer_grid.grid_page(merchant, customer_grid.GridQuery(search=term)).rows]

    assert found("jose") == [ada]          # accent- and case-insensitive
    assert found("LOVE") == [ada]
    assert found("engines") == [bob]
    assert found("+44 7400 654321") == [bob]  # any formatting of the same number
    assert found("(07400) 654-321") == [bob]
    assert found("654321") == [bob]
    assert found(serial.lower()) == [bob]
    assert found(serial[:5]) == [bob]
    assert found("nobody") == []
    assert found("100%") == []


def test_sort_and_paging(merchant):
    names = ["Cara", "anna", "Ben", "Dave", "Éva"]
    for i, name in enumerate(names):
        add(merchant, name, "Test", birthdate=f"199{i}-01-01")
    by_name = customer_grid.grid_page(merchant, customer_grid.GridQuery(sort="name", descending=False, page_size=25))
    assert [r.name.split()[0] for r in by_name.rows] == ["anna", "Ben", "Cara", "Dave", "Éva"]
    by_birth = customer_grid.grid_page(merchant, customer_grid.GridQuery(sort="birthdate", descending=True, page_size=25))
    assert by_birth.rows[0].name.startswith("Éva")
    many = [add(merchant, f"P{i:03d}", "Page") for i in range(60)]
    first = customer_grid.grid_page(merchant, customer_grid.GridQuery(search="page", sort="name", descending=False, page=1, page_size=25))
    last = customer_grid.grid_page(merchant, customer_grid.GridQuery(search="page", sort="name", descending=False, page=3, page_size=25))
    beyond = customer_grid.grid_page(merchant, customer_grid.GridQuery(search="page", sort="name", descending=False, page=9, page_size=25))
    assert first.page_info == "1–25 of 60" and last.page_info == "51–60 of 60"
    assert [r.id for r in last.rows] == many[50:]
    assert beyond.page == 3  # clamped to the last page


def test_rating_device_and_cards_columns(merchant):
    customer_id = add(merchant, "Ada", "Lovelace")
    card_id, _ = give_card(merchant, customer_id, status="installed")
    with tenant_session(merchant) as session:
        session.execute(sa.update(Card).where(Card.id == card_id).values(device="apple_wallet"))
        session.add_all([Review(customer_id=customer_id, card_id=card_id, rating=r) for r in (4, 5)])
        session.commit()
    row = customer_grid.grid_page(merchant, customer_grid.GridQuery()).rows[0]
    assert (row.rating, row.device, row.cards) == ("4.5", "Apple Wallet", "Stamp (Installed)")
    assert customer_grid.grid_page(merchant, customer_grid.GridQuery(sort="rating")).rows[0].id == customer_id


def test_custom_fields_round_trip_and_sort(merchant):
    drink = custom_fields.add_custom_field(merchant, "Favourite drink", "choice", ["Oat latte", "Espresso"])
    visits = custom_fields.add_custom_field(merchant, "Visits per week", "number")
    a = add(merchant, "Ada", "A", **{"favourite-drink": "Espresso", "visits-per-week": "10"})
    b = add(merchant, "Bob", "B", **{"visits-per-week": "9"})
    with pytest.raises(refusals.RecordError, match="must be one of"):
        add(merchant, "Cy", "C", **{"favourite-drink": "Tea"})
    rows = customer_grid.grid_page(merchant, customer_grid.GridQuery(sort="cf:visits-per-week", descending=False)).rows
    assert [r.id for r in rows] == [b, a]  # numeric, not text, order
    assert [(c.key, c.value) for c in rows[1].custom] == [("favourite-drink", "Espresso"), ("visits-per-week", "10")]
    custom_fields.rename_custom_field(merchant, drink, "Usual order")
    custom_fields.move_custom_field(merchant, visits, -1)
    assert [f.label for f in custom_fields.list_custom_fields(merchant)] == ["Visits per week", "Usual order"]
    custom_fields.remove_custom_field(merchant, visits)
    assert [c.key for c in customer_grid.grid_page(merchant, customer_grid.GridQuery()).rows[0].custom] == ["favourite-drink"]


def test_installed_card_blocks_delete_until_the_card_is_deleted(merchant):
    keep = add(merchant, "Ina", "Installed")
    card_id, _ = give_card(merchant, keep, status="installed")
    free = add(merchant, "Una", "Uninstalled")
    give_card(merchant, free)
    report = customer_records.delete_customers(merchant, [keep, free])
    assert report.deleted == ["Una Uninstalled"]
    assert report.refused[0][0] == "Ina Installed" and "Delete the card first" in report.refused[0][1]
    customer_records.delete_card(merchant, card_id)
    assert customer_profile.load_profile(merchant, keep).cards[0].status == "Deleted"
    assert customer_records.delete_customers(merchant, [keep]).deleted == ["Ina Installed"]
    assert customer_profile.load_profile(merchant, keep) is None
    with tenant_session(merchant) as session:
        assert session.exec(select(Card).where(Card.customer_id == keep)).all() == []


def test_other_merchants_cannot_read_or_delete(merchant, other_merchant):
    customer_id = add(merchant, "Ada", "Lovelace")
    assert customer_profile.load_profile(other_merchant, customer_id) is None
    assert customer_records.delete_customers(other_merchant, [customer_id]).deleted == []
    assert customer_profile.load_profile(merchant, customer_id) is not None


def test_history_is_newest_first_with_units(merchant):
    customer_id = add(merchant, "Ada", "Lovelace")
    card_id, serial = give_card(merchant, customer_id, card_type="gift")
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    with tenant_session(merchant) as session:
        session.add(CardTransaction(card_id=card_id, customer_id=customer_id, kind="balance_added", value_delta=5000,
                                    balance_after=5000, purchase_cents=5000, created_at=t0))
        session.add(CardTransaction(card_id=card_id, customer_id=customer_id, kind="balance_redeemed", value_delta=-1250,
                                    balance_after=3750, comment="=HYPERLINK()", created_at=t0 + dt.timedelta(hours=1)))
        session.commit()
    rows, total = customer_profile.card_history(merchant, card_id)
    assert total == 2
    assert [(r.kind, r.amount, r.balance_after) for r in rows] == [
        ("balance_redeemed", "-12.50", "37.50"), ("balance_added", "+50.00", "50.00")]
    found_serial, streamed = customer_profile.iter_card_history(merchant, card_id)
    assert found_serial == serial and [r.id for r in streamed] == [r.id for r in rows]
    assert customer_profile.iter_card_history(merchant, card_id + 10_000) is None


def test_history_pages_carry_the_whole_count(merchant, other_merchant):
    """Every page, a page past the end, a card with no entries and another merchant's card
    each say the card's whole count (a short first page is counted by its length)."""
    customer_id = add(merchant, "Ada", "Lovelace")
    card_id, _ = give_card(merchant, customer_id, card_type="gift")
    empty_card, _ = give_card(merchant, customer_id, card_type="gift")
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    with tenant_session(merchant) as session:
        for i in range(5):
            session.add(CardTransaction(card_id=card_id, customer_id=customer_id, kind="balance_added", value_delta=100,
                                        balance_after=100 * (i + 1), created_at=t0 + dt.timedelta(minutes=i)))
        session.commit()
    pages = [customer_profile.card_history(merchant, card_id, page=p, page_size=2) for p in (1, 2, 3)]
    assert [total for _, total in pages] == [5, 5, 5]
    assert [[r.balance_after for r in rows] for rows, _ in pages] == [["5.00", "4.00"], ["3.00", "2.00"], ["1.00"]]
    assert customer_profile.card_history(merchant, card_id, page=4, page_size=2) == ([], 5)
    assert customer_profile.card_history(merchant, empty_card) == ([], 0)
    assert customer_profile.card_history(other_merchant, card_id) == ([], 0)


def test_history_marks_corrected_entries_across_merchants(merchant, other_merchant):
    """The reversed entry loses its Correct button, the other keeps it; the shared alias of
    the ledger is scoped to each merchant in turn (the statement cache never mixes them)."""
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    for shop in (merchant, other_merchant, merchant):
        customer_id = add(shop, "Ada", "Lovelace")
        card_id, _ = give_card(shop, customer_id, card_type="gift")
        with tenant_session(shop) as session:
            kept = CardTransaction(card_id=card_id, customer_id=customer_id, kind="balance_added", value_delta=100,
                                   balance_after=100, created_at=t0)
            undone = CardTransaction(card_id=card_id, customer_id=customer_id, kind="balance_added", value_delta=200,
                                     balance_after=300, created_at=t0 + dt.timedelta(minutes=1))
            session.add_all([kept, undone])
            session.commit()
            session.add(CardTransaction(card_id=card_id, customer_id=customer_id, kind=ledger.CORRECTION,
                                        detail="balance_added", value_delta=-200, balance_after=100,
                                        correction_of_id=undone.id, created_at=t0 + dt.timedelta(minutes=2)))
            session.commit()
            kept_id, undone_id = kept.id, undone.id
        rows, total = customer_profile.card_history(shop, card_id)
        assert total == 3
        flags = {r.id: r.correctable for r in rows}
        assert flags[kept_id] is True and flags[undone_id] is False


def test_the_card_list_alone_is_the_profiles_and_scoped_to_the_merchant(merchant, other_merchant):
    customer_id = add(merchant, "Ada", "Lovelace")
    give_card(merchant, customer_id)
    give_card(merchant, customer_id)
    cards = customer_profile.load_cards(merchant, customer_id)
    assert len(cards) == 2 and cards == customer_profile.load_profile(merchant, customer_id).cards
    assert customer_profile.load_cards(other_merchant, customer_id) is None
    assert customer_records.delete_customers(merchant, [customer_id]).deleted == ["Ada Lovelace"]
    assert customer_profile.load_cards(merchant, customer_id) is None
