"""The filter engine on the real database (SQLite and PostgreSQL): every built-in parameter
with every operator it allows, custom fields of every type, NULLs, relative dates around
midnight UTC, AND/OR and groups, the search box, and tenant isolation.

One small dataset is built per module, through the real services, for two merchants with
identical data; every case asserts the exact customers of each merchant that match.

The dataset, with TODAY = 2026-06-15 (the engine gets ``today`` passed in):

=====  ==================  =========  ======  =========  ===================  ============================
name   phone / email       birthdate  gender  utm        registered (UTC)     cards (ledger, days before TODAY)
=====  ==================  =========  ======  =========  ===================  ============================
Ann    +447911123451 /     1990-06-20 female  instagram  TODAY-30 12:00       stamp, Apple Wallet: +1 stamp
       ann@example.com                                                        at -40, -10, -1 (5.50 spent);
                                                                              +2 rewards at -40 (not a visit)
Ben    +447911123452 / —   1988-02-29 male    dashboard  TODAY-200            gift, uninstalled: +12.50 at -5
Cara   — / cara@…org       —          —       —          TODAY-1 23:59:59     none
Dan    — / dan@…com        1979-12-31 other   dashboard  TODAY 00:00:00       cashback, Google Wallet: 20.00
                                                                              purchase at -100 (0.20 points);
                                                                              stamp card, deleted, empty
Eve    — / eve@…com        1995-01-02 female  dashboard  TODAY-7 08:00        stamp, PWA, expired TODAY-1:
                                                                              +1 at -20, +1 at -2 (corrected)
Finn   — / finn@…com       2000-03-01 male    dashboard  TODAY-90             multipass: +5 visits at -60,
                                                                              2 redeemed at -30; coupon
                                                                              expiring TODAY+5
Gia    — / gia@…com        1992-02-28 —       dashboard  TODAY-400            none
       (Gia Gómez)
=====  ==================  =========  ======  =========  ===================  ============================

Custom fields: Favourite drink (text) Ann "Flat White", Dan "Tea"; Shoe size (number)
Ann 7.5, Ben 9.5, Dan 11; Joined club (date) Ann TODAY-3, Dan 2026-01-10; Tier (choice)
Ann Gold, Ben Silver, Dan Bronze. RFM: Ann Champions, Ben At-Risk Customers, Dan Lost
Customers; the others have no RFM row.

"-N" is N days before TODAY. "In the last N days" are TODAY and the N-1 days before it
(from midnight UTC of TODAY-(N-1)), like RFM's window: "in the last 7 days" reaches back
to TODAY-6, so a day -7 event needs N = 8; "not in the last N days" is everything before
that; "in the next N days" is TODAY … TODAY+(N-1). N = 0 is refused.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from sqlmodel import select

from perkstar_ui.db.models import Card, CardTemplate, CardTransaction, Customer, CustomerRfm
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain import filter_params as P
from perkstar_ui.domain import filters as F
from perkstar_ui.domain import ledger
from perkstar_ui.domain.card_rules import Action, IssueOptions
from perkstar_ui.domain.filters import Condition, Filter, Group, Match
from perkstar_ui.services import accounts, cards, custom_fields, customer_filters, customer_records, public_card
from tests.helpers import add_customer, give_card

TODAY = dt.date(2026, 6, 15)
NAMES = ("Ann", "Ben", "Cara", "Dan", "Eve", "Finn", "Gia")
EVERYONE = frozenset(NAMES)
_WHERE_IN = customer_filters.where_in


def day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def at(days_before: int, hour: int = 10, minute: int = 0, second: int = 0) -> dt.datetime:
    moment = dt.datetime.combine(TODAY - dt.timedelta(days=days_before), dt.time(hour, minute, second))
    return moment.replace(tzinfo=dt.timezone.utc)


# --- the dataset ------------------------------------------------------------------------


@dataclass(frozen=True)
class Shop:
    merchant_id: int
    ids: dict[str, int]  # name → customer id
    serials: dict[str, str]  # name → serial of the customer's first card

    def names(self, ids) -> frozenset[str]:  # noqa: ANN001
        by_id = {v: k for k, v in self.ids.items()}
        return frozenset(by_id.get(i, f"<customer {i} of another merchant>") for i in ids)


def _issue(merchant_id: int, customer_id: int, card_type: str, *, device: str | None = None,
           expires_on: dt.date | None = None) -> tuple[int, str]:
    with tenant_session(merchant_id) as session:
        template = session.exec(select(CardTemplate).where(CardTemplate.card_type == card_type)).first()
        card = cards.issue_card(session, customer_id, template, IssueOptions(expires_on=expires_on), now=at(200))
        session.commit()
        card_id, serial, token = card.id, card.serial, card.install_token
    if device:
        public_card.install_card(token, device)
    return card_id, serial


def _act(merchant_id: int, card_id: int, days_before: int, verb: str, value: int = 0, **extra) -> None:  # noqa: ANN003
    cards.perform_action(merchant_id, card_id, Action(verb, value, **extra), now=at(days_before))


def _build(merchant_id: int) -> Shop:
    custom_fields.add_custom_field(merchant_id, "Favourite drink", "text")
    custom_fields.add_custom_field(merchant_id, "Shoe size", "number")
    custom_fields.add_custom_field(merchant_id, "Joined club", "date")
    custom_fields.add_custom_field(merchant_id, "Tier", "choice", ["Gold", "Silver", "Bronze"])
    ids = {
        "Ann": add_customer(merchant_id, "Ann", "Archer", "07911 123451", "ann@example.com", "1990-06-20",
                            **{"favourite-drink": "Flat White", "shoe-size": "7,5", "joined-club": day(-3),
                               "tier": "Gold"}),
        "Ben": add_customer(merchant_id, "Ben", "Baker", "07911 123452", "", "1988-02-29",
                            **{"shoe-size": "9.5", "tier": "Silver"}),
        "Cara": add_customer(merchant_id, "Cara", "Cole", "", "cara@example.org"),
        "Dan": add_customer(merchant_id, "Dan", "Diaz", "", "dan@example.com", "1979-12-31",
                            **{"favourite-drink": "Tea", "shoe-size": "11", "joined-club": "2026-01-10",
                               "tier": "Bronze"}),
        "Eve": add_customer(merchant_id, "Eve", "Evans", "", "eve@example.com", "1995-01-02"),
        "Finn": add_customer(merchant_id, "Finn", "Ford", "", "finn@example.com", "2000-03-01"),
        "Gia": add_customer(merchant_id, "Gia", "Gómez", "", "gia@example.com", "1992-02-28"),
    }
    # The customer form has no gender and stamps utm "dashboard" and created_at "now": the
    # import sets gender, and the registration moments must be exact (the midnight cases
    # and the relative-date windows hang on them), so these columns are set directly.
    facts = {
        "Ann": ("female", "instagram", at(30, 12)),
        "Ben": ("male", "dashboard", at(200)),
        "Cara": (None, None, at(1, 23, 59, 59)),
        "Dan": ("other", "dashboard", at(0, 0)),
        "Eve": ("female", "dashboard", at(7, 8)),
        "Finn": ("male", "dashboard", at(90)),
        "Gia": (None, "dashboard", at(400)),
    }
    with tenant_session(merchant_id) as session:
        for name, (gender, utm, created) in facts.items():
            session.execute(sa.update(Customer).where(Customer.id == ids[name])
                            .values(gender=gender, utm=utm, created_at=created))
        session.commit()

    serials: dict[str, str] = {}
    m = merchant_id
    ann, serials["Ann"] = _issue(m, ids["Ann"], "stamp", device="apple_wallet")
    _act(m, ann, 40, "add-stamps", 1)
    _act(m, ann, 40, "add-reward", 2)
    _act(m, ann, 10, "add-stamps", 1)
    _act(m, ann, 1, "add-stamps", 1, purchase_cents=550)

    ben, serials["Ben"] = _issue(m, ids["Ben"], "gift")
    _act(m, ben, 5, "add-balance", 1250)

    dan, serials["Dan"] = _issue(m, ids["Dan"], "cashback", device="google_wallet")
    _act(m, dan, 100, "add-amount", 2000)
    dan_stamp, _ = _issue(m, ids["Dan"], "stamp")
    customer_records.delete_card(m, dan_stamp)

    eve, serials["Eve"] = _issue(m, ids["Eve"], "stamp", device="pwa", expires_on=TODAY - dt.timedelta(days=1))
    _act(m, eve, 20, "add-stamps", 1)
    _act(m, eve, 2, "add-stamps", 1)
    with tenant_session(m) as session:
        last = session.exec(select(CardTransaction.id).where(CardTransaction.card_id == eve)
                            .order_by(CardTransaction.id.desc())).first()
    cards.correct_transaction(m, last, now=at(2, 12))

    finn, serials["Finn"] = _issue(m, ids["Finn"], "multipass")
    _act(m, finn, 60, "add-visits", 5)
    _act(m, finn, 30, "redeem-visits", 2)
    _issue(m, ids["Finn"], "coupon", expires_on=TODAY + dt.timedelta(days=5))

    # RFM rows as the nightly run would leave them (the run itself is tested in test_rfm_service).
    with tenant_session(m) as session:
        for name, segment in (("Ann", "Champions"), ("Ben", "At-Risk Customers"), ("Dan", "Lost Customers")):
            session.add(CustomerRfm(customer_id=ids[name], merchant_id=m, segment=segment, frequency=1))
        session.commit()
    return Shop(merchant_id, ids, serials)


def _new_merchant(name: str) -> int:
    suffix = uuid.uuid4().hex[:10]
    return accounts.create_merchant(f"{name} {suffix}", f"{name.lower()}-{suffix}@shop.test", "correct-horse")


@pytest.fixture(scope="module")
def shops() -> tuple[Shop, Shop]:
    """Two merchants with identical customers, cards, fields and segments."""
    return _build(_new_merchant("Filters")), _build(_new_merchant("Twin"))


def test_the_dataset_is_what_the_cases_assume(shops):
    shop = shops[0]
    with tenant_session(shop.merchant_id) as session:
        rows = session.exec(select(Card.customer_id, Card.card_type, Card.status, Card.device, Card.balance,
                                   Card.rewards_available, Card.ltv_cents, Card.expires_on, Card.last_activity_at)
                            .order_by(Card.id)).all()
        visits = dict(session.exec(select(CardTransaction.customer_id, sa.func.count())
                                   .where(CardTransaction.kind.in_(sorted(ledger.ACTIVITY_KINDS)))
                                   .group_by(CardTransaction.customer_id)).all())
    names = {v: k for k, v in shop.ids.items()}
    cards_by_name = [(names[r[0]], *r[1:8]) for r in rows]
    assert cards_by_name == [
        ("Ann", "stamp", "installed", "apple_wallet", 3, 2, 550, None),
        ("Ben", "gift", "uninstalled", None, 1250, 0, 0, None),
        ("Dan", "cashback", "installed", "google_wallet", 20, 0, 2000, None),
        ("Dan", "stamp", "deleted", None, 0, 0, 0, None),
        ("Eve", "stamp", "installed", "pwa", 1, 0, 0, TODAY - dt.timedelta(days=1)),
        ("Finn", "multipass", "uninstalled", None, 3, 0, 0, None),
        ("Finn", "coupon", "uninstalled", None, 0, 0, 0, TODAY + dt.timedelta(days=5)),
    ]
    last_visits = {names[r[0]]: r[8] for r in rows if r[8] is not None}
    assert {k: v.date() for k, v in last_visits.items()} == {
        "Ann": TODAY - dt.timedelta(days=1), "Ben": TODAY - dt.timedelta(days=5),
        "Dan": TODAY - dt.timedelta(days=100), "Eve": TODAY - dt.timedelta(days=2),
        "Finn": TODAY - dt.timedelta(days=30)}
    # Eve's corrected stamp is still a ledger row; the correction itself is not a visit.
    assert {names[k]: v for k, v in visits.items()} == {"Ann": 3, "Ben": 1, "Dan": 1, "Eve": 2, "Finn": 2}


# --- the cases ------------------------------------------------------------------------------


def c(field: str, op: str, value: str = "", value_to: str = "", days: str = "") -> Condition:
    return Condition(field, op, value, value_to, days)


def case(name: str, conditions, expected, *, today: dt.date = TODAY, search: str = "", match: Match = Match.ALL):  # noqa: ANN001, ANN201
    items = conditions if isinstance(conditions, tuple) else (conditions,)
    if isinstance(expected, tuple) and expected[0] == BUT:
        expected = EVERYONE - set(expected[1:])
    return pytest.param(Filter(match, items), frozenset(expected), today, search, id=name)


BUT = "all but"
CASES = [
    # Name: folded like the search (case and accents); LIKE wildcards are literal.
    case("name-contains", c("name", "contains", "AN"), {"Ann", "Dan", "Eve"}),
    case("name-contains-accent-folded", c("name", "contains", "Gómez"), {"Gia"}),
    case("name-contains-percent-is-literal", c("name", "contains", "%"), set()),
    case("name-contains-underscore-is-literal", c("name", "contains", "_"), set()),
    case("name-equals", c("name", "equals", "ann ARCHER"), {"Ann"}),
    case("name-not-equals", c("name", "not_equals", "Ann Archer"), (BUT, "Ann")),
    case("name-any-of", c("name", "any_of", "Ann Archer, gia gomez"), {"Ann", "Gia"}),
    case("name-is-empty", c("name", "is_empty"), set()),
    case("name-not-empty", c("name", "not_empty"), EVERYONE),
    # Phone: digits for contains, a whole number in any format for the rest; NULLs.
    case("phone-contains-digits", c("phone", "contains", "7911 1234"), {"Ann", "Ben"}),
    case("phone-contains", c("phone", "contains", "123451"), {"Ann"}),
    case("phone-equals-national-format", c("phone", "equals", "07911 123452"), {"Ben"}),
    case("phone-not-equals-includes-no-phone", c("phone", "not_equals", "+44 7911 123452"), (BUT, "Ben")),
    case("phone-any-of", c("phone", "any_of", "07911123451, +447911123452"), {"Ann", "Ben"}),
    case("phone-is-empty", c("phone", "is_empty"), (BUT, "Ann", "Ben")),
    case("phone-not-empty", c("phone", "not_empty"), {"Ann", "Ben"}),
    # Email: Ben has none.
    case("email-contains-domain", c("email", "contains", "@Example.com"), {"Ann", "Dan", "Eve", "Finn", "Gia"}),
    case("email-equals-any-case", c("email", "equals", "CARA@example.org"), {"Cara"}),
    case("email-not-equals-includes-no-email", c("email", "not_equals", "cara@example.org"), (BUT, "Cara")),
    case("email-any-of", c("email", "any_of", "ann@example.com, dan@example.com"), {"Ann", "Dan"}),
    case("email-is-empty", c("email", "is_empty"), {"Ben"}),
    case("email-not-empty", c("email", "not_empty"), (BUT, "Ben")),
    # Gender: no gender is Unknown.
    case("gender-equals", c("gender", "equals", "Female"), {"Ann", "Eve"}),
    case("gender-equals-other", c("gender", "equals", "other"), {"Dan"}),
    case("gender-equals-unknown", c("gender", "equals", "Unknown"), {"Cara", "Gia"}),
    case("gender-not-equals-unknown", c("gender", "not_equals", "Unknown"), (BUT, "Cara", "Gia")),
    case("gender-not-equals-includes-unknown", c("gender", "not_equals", "Male"), (BUT, "Ben", "Finn")),
    case("gender-any-of", c("gender", "any_of", "Male, Unknown"), {"Ben", "Finn", "Cara", "Gia"}),
    # Birthday: relative operators are anniversaries; the rest compare the birth date.
    case("birthday-in-next", c("birthday", "in_next", "7"), {"Ann"}),
    case("birthday-in-next-across-year-end", c("birthday", "in_next", "7"), {"Dan", "Eve"}, today=dt.date(2026, 12, 28)),
    case("birthday-in-last", c("birthday", "in_last", "180"), {"Ben", "Dan", "Eve", "Finn", "Gia"}),
    case("birthday-in-last-short", c("birthday", "in_last", "7"), set()),
    case("birthday-29-feb-on-1-mar-without-leap-day", c("birthday", "in_next", "5"), {"Gia", "Ben", "Finn"},
         today=dt.date(2027, 2, 25)),
    case("birthday-29-feb-not-before-1-mar", c("birthday", "in_next", "4"), {"Gia"}, today=dt.date(2027, 2, 25)),
    case("birthday-29-feb-itself-in-a-leap-year", c("birthday", "in_next", "3"), {"Gia", "Ben"},
         today=dt.date(2028, 2, 27)),
    case("birthday-29-feb-has-passed-on-1-mar-of-a-leap-year", c("birthday", "in_next", "1"), {"Finn"},
         today=dt.date(2028, 3, 1)),
    case("birthday-in-next-1-is-today-only", c("birthday", "in_next", "1"), set(), today=dt.date(2026, 6, 19)),
    case("birthday-in-next-2-is-today-and-tomorrow", c("birthday", "in_next", "2"), {"Ann"}, today=dt.date(2026, 6, 19)),
    case("birthday-in-last-1-is-today-only", c("birthday", "in_last", "1"), set(), today=dt.date(2026, 6, 21)),
    case("birthday-in-last-2-is-yesterday-and-today", c("birthday", "in_last", "2"), {"Ann"}, today=dt.date(2026, 6, 21)),
    case("birthday-in-next-a-whole-year", c("birthday", "in_next", "365"), (BUT, "Cara")),
    case("birthday-equals", c("birthday", "equals", "1990-06-20"), {"Ann"}),
    case("birthday-after", c("birthday", "greater", "1995-01-01"), {"Eve", "Finn"}),
    case("birthday-before", c("birthday", "less", "1980-01-01"), {"Dan"}),
    case("birthday-between-inclusive", c("birthday", "between", "1988-02-29", "1992-02-28"), {"Ben", "Ann", "Gia"}),
    case("birthday-is-empty", c("birthday", "is_empty"), {"Cara"}),
    case("birthday-not-empty", c("birthday", "not_empty"), (BUT, "Cara")),
    # Birthday month: no birthday does not equal February either.
    case("birthday-month-equals", c("birthday_month", "equals", "February"), {"Ben", "Gia"}),
    case("birthday-month-not-equals", c("birthday_month", "not_equals", "February"), (BUT, "Ben", "Gia")),
    case("birthday-month-any-of", c("birthday_month", "any_of", "December, January"), {"Dan", "Eve"}),
    # Registration: calendar days in UTC; Cara 23:59:59 yesterday, Dan 00:00:00 today.
    # "The last N days" are today and the N-1 days before it (RFM's window).
    case("registered-in-last-1-is-today", c("registered", "in_last", "1"), {"Dan"}),
    case("registered-in-last-1-yesterday", c("registered", "in_last", "1"), {"Cara"}, today=TODAY - dt.timedelta(days=1)),
    case("registered-in-last-2", c("registered", "in_last", "2"), {"Cara", "Dan"}),
    case("registered-in-last-7-excludes-day-7", c("registered", "in_last", "7"), {"Cara", "Dan"}),
    case("registered-in-last-8-includes-day-7", c("registered", "in_last", "8"), {"Cara", "Dan", "Eve"}),
    case("registered-in-last-30-excludes-day-30", c("registered", "in_last", "30"), {"Cara", "Dan", "Eve"}),
    case("registered-in-last-31-includes-day-30", c("registered", "in_last", "31"), {"Ann", "Cara", "Dan", "Eve"}),
    case("registered-not-in-last-1", c("registered", "not_in_last", "1"), (BUT, "Dan")),
    case("registered-not-in-last-7-includes-day-7", c("registered", "not_in_last", "7"), {"Ann", "Ben", "Eve", "Finn", "Gia"}),
    case("registered-not-in-last-8", c("registered", "not_in_last", "8"), {"Ann", "Ben", "Finn", "Gia"}),
    case("registered-equals-today", c("registered", "equals", day(0)), {"Dan"}),
    case("registered-equals-yesterday", c("registered", "equals", day(-1)), {"Cara"}),
    case("registered-after-yesterday", c("registered", "greater", day(-1)), {"Dan"}),
    case("registered-before-today", c("registered", "less", day(0)), (BUT, "Dan")),
    case("registered-between", c("registered", "between", day(-30), day(-7)), {"Ann", "Eve"}),
    case("registered-is-empty", c("registered", "is_empty"), set()),
    case("registered-not-empty", c("registered", "not_empty"), EVERYONE),
    # UTM: Cara has none.
    case("utm-contains", c("utm", "contains", "INSTA"), {"Ann"}),
    case("utm-equals", c("utm", "equals", "dashboard"), {"Ben", "Dan", "Eve", "Finn", "Gia"}),
    case("utm-not-equals-includes-none", c("utm", "not_equals", "dashboard"), {"Ann", "Cara"}),
    case("utm-any-of", c("utm", "any_of", "instagram, facebook"), {"Ann"}),
    case("utm-is-empty", c("utm", "is_empty"), {"Cara"}),
    case("utm-not-empty", c("utm", "not_empty"), (BUT, "Cara")),
    # Card status: Expired from expires_on < today (Eve's installed card), Deleted wins.
    case("card-status-installed", c("card_status", "equals", "Installed"), {"Ann", "Dan"}),
    case("card-status-not-installed-alias", c("card_status", "equals", "Not installed"), {"Ben", "Finn"}),
    case("card-status-expired", c("card_status", "equals", "Expired"), {"Eve"}),
    case("card-status-not-expired-the-day-before", c("card_status", "equals", "Expired"), set(),
         today=TODAY - dt.timedelta(days=1)),
    case("card-status-deleted", c("card_status", "equals", "Deleted"), {"Dan"}),
    case("card-status-has-no-installed-card", c("card_status", "not_equals", "Installed"), (BUT, "Ann", "Dan")),
    case("card-status-any-of", c("card_status", "any_of", "Deleted, Expired"), {"Dan", "Eve"}),
    # Device: only installed cards have one.
    case("device-apple", c("device", "equals", "Apple Wallet"), {"Ann"}),
    case("device-google", c("device", "equals", "Google Wallet"), {"Dan"}),
    case("device-pwa", c("device", "equals", "PWA"), {"Eve"}),
    case("device-any-of", c("device", "any_of", "Apple Wallet, Google Wallet"), {"Ann", "Dan"}),
    case("device-has-no-card-on-it", c("device", "not_equals", "Apple Wallet"), (BUT, "Ann")),
    # Serial: any format of the customer's card; {serial:Name} is filled in per merchant.
    case("serial-equals-lower-case", c("serial", "equals", "{serial:Ann|lower}"), {"Ann"}),
    case("serial-contains", c("serial", "contains", "{serial:Ben|middle}"), {"Ben"}),
    case("serial-not-equals", c("serial", "not_equals", "{serial:Ann}"), (BUT, "Ann")),
    case("serial-any-of", c("serial", "any_of", "{serial:Ann}, {serial:Ben}"), {"Ann", "Ben"}),
    case("serial-is-empty-no-card", c("serial", "is_empty"), {"Cara", "Gia"}),
    case("serial-not-empty", c("serial", "not_empty"), (BUT, "Cara", "Gia")),
    # Card template and type: holds a live card of it (Dan's deleted stamp card is not held).
    case("template-equals", c("card_template", "equals", "Coffee stamp card"), {"Ann", "Eve"}),
    case("template-any-of", c("card_template", "any_of", "Gift card, 10-visit pass"), {"Ben", "Finn"}),
    case("template-not-equals", c("card_template", "not_equals", "Coffee stamp card"), {"Ben", "Cara", "Dan", "Finn", "Gia"}),
    case("card-type-equals", c("card_type", "equals", "Coupon"), {"Finn"}),
    case("card-type-any-of", c("card_type", "any_of", "Gift card, Cashback"), {"Ben", "Dan"}),
    case("card-type-not-equals", c("card_type", "not_equals", "Stamp"), {"Ben", "Cara", "Dan", "Finn", "Gia"}),
    # Card balance in display units: Ben 12.50 (1250 cents), Dan 0.20 points, coupons have none.
    case("balance-equals-money", c("card_balance", "equals", "12,5"), {"Ben"}),
    case("balance-equals-points", c("card_balance", "equals", "0.2"), {"Dan"}),
    case("balance-greater", c("card_balance", "greater", "2"), {"Ann", "Ben", "Finn"}),
    case("balance-not-in-hundredths", c("card_balance", "greater", "1000"), set()),
    case("balance-less", c("card_balance", "less", "1"), {"Dan"}),
    case("balance-between", c("card_balance", "between", "0,2", "1"), {"Dan", "Eve"}),
    case("balance-has-no-card-with", c("card_balance", "not_equals", "3"), (BUT, "Ann", "Finn")),
    # Stamps: stamp cards only.
    case("stamps-equals", c("stamps", "equals", "3"), {"Ann"}),
    case("stamps-greater", c("stamps", "greater", "0"), {"Ann", "Eve"}),
    case("stamps-less-live-cards-only", c("stamps", "less", "1"), set()),
    case("stamps-between", c("stamps", "between", "1", "3"), {"Ann", "Eve"}),
    case("stamps-has-no-stamp-card-with", c("stamps", "not_equals", "1"), (BUT, "Eve")),
    # Unused rewards: all cards together; no cards counts as 0.
    case("rewards-equals", c("unused_rewards", "equals", "2"), {"Ann"}),
    case("rewards-equals-0-includes-no-cards", c("unused_rewards", "equals", "0"), (BUT, "Ann")),
    case("rewards-not-equals-0", c("unused_rewards", "not_equals", "0"), {"Ann"}),
    case("rewards-greater", c("unused_rewards", "greater", "1"), {"Ann"}),
    case("rewards-less", c("unused_rewards", "less", "1"), (BUT, "Ann")),
    case("rewards-between", c("unused_rewards", "between", "0", "1"), (BUT, "Ann")),
    # Card expiration: Eve TODAY-1, Finn's coupon TODAY+5, every other card none.
    case("expiration-in-next", c("card_expiration", "in_next", "7"), {"Finn"}),
    case("expiration-in-next-5-is-short", c("card_expiration", "in_next", "5"), set()),
    case("expiration-in-next-6-includes-day-5", c("card_expiration", "in_next", "6"), {"Finn"}),
    case("expiration-in-last-1-is-today-only", c("card_expiration", "in_last", "1"), set()),
    case("expiration-in-last-2", c("card_expiration", "in_last", "2"), {"Eve"}),
    case("expiration-not-in-last-1", c("card_expiration", "not_in_last", "1"), {"Eve"}),
    case("expiration-not-in-last-2", c("card_expiration", "not_in_last", "2"), set()),
    case("expiration-equals", c("card_expiration", "equals", day(-1)), {"Eve"}),
    case("expiration-after", c("card_expiration", "greater", day(0)), {"Finn"}),
    case("expiration-before", c("card_expiration", "less", day(0)), {"Eve"}),
    case("expiration-between", c("card_expiration", "between", day(-1), day(5)), {"Eve", "Finn"}),
    case("expiration-is-empty-a-card-without", c("card_expiration", "is_empty"), {"Ann", "Ben", "Dan", "Finn"}),
    case("expiration-not-empty", c("card_expiration", "not_empty"), {"Eve", "Finn"}),
    # Uses: ACTIVITY_KINDS rows ever (rewards added and corrections are not visits); none is 0.
    case("uses-less-includes-no-visits", c("uses", "less", "3"), (BUT, "Ann")),
    case("uses-equals-0", c("uses", "equals", "0"), {"Cara", "Gia"}),
    case("uses-equals", c("uses", "equals", "2"), {"Eve", "Finn"}),
    case("uses-not-equals", c("uses", "not_equals", "1"), (BUT, "Ben", "Dan")),
    case("uses-greater", c("uses", "greater", "1"), {"Ann", "Eve", "Finn"}),
    case("uses-between", c("uses", "between", "1", "2"), {"Ben", "Dan", "Eve", "Finn"}),
    # Visits in the last N days (from midnight UTC N-1 days ago: today is day 0; default 90).
    # A corrected visit still counts (Eve at -2), as in Total visits (spec README Q5).
    case("visits-at-least-one-in-7", c("visits_in_days", "greater", "0", days="7"), {"Ann", "Ben", "Eve"}),
    case("visits-at-least-one-in-1-is-today-only", c("visits_in_days", "greater", "0,5", days="1"), set()),
    case("visits-at-least-one-in-2", c("visits_in_days", "greater", "0,5", days="2"), {"Ann"}),
    case("visits-at-least-one-in-5-excludes-day-5", c("visits_in_days", "greater", "0", days="5"), {"Ann", "Eve"}),
    case("visits-at-least-one-in-6-includes-day-5", c("visits_in_days", "greater", "0", days="6"), {"Ann", "Ben", "Eve"}),
    case("visits-counted-in-5-excludes-day-5", c("visits_in_days", "equals", "1", days="5"), {"Ann", "Eve"}),
    case("visits-counted-in-6-includes-day-5", c("visits_in_days", "equals", "1", days="6"), {"Ann", "Ben", "Eve"}),
    case("visits-equals-in-7", c("visits_in_days", "equals", "1", days="7"), {"Ann", "Ben", "Eve"}),
    case("visits-less-in-7-includes-none", c("visits_in_days", "less", "1", days="7"), {"Cara", "Dan", "Finn", "Gia"}),
    case("visits-greater-in-30", c("visits_in_days", "greater", "1", days="30"), {"Ann", "Eve"}),
    case("visits-between-in-30-excludes-day-30", c("visits_in_days", "between", "1", "1", days="30"), {"Ben"}),
    case("visits-between-in-31-from-midnight", c("visits_in_days", "between", "1", "1", days="31"), {"Ben", "Finn"}),
    case("visits-not-equals-in-30", c("visits_in_days", "not_equals", "2", days="30"), (BUT, "Ann", "Eve")),
    case("visits-default-90", c("visits_in_days", "greater", "1.5"), {"Ann", "Eve", "Finn"}),
    case("visits-less-default-90", c("visits_in_days", "less", "2"), {"Ben", "Cara", "Dan", "Gia"}),
    # Last visit: the latest activity on any card; never visited is empty.
    case("last-visit-in-last", c("last_visit", "in_last", "7"), {"Ann", "Ben", "Eve"}),
    case("last-visit-in-last-30-excludes-day-30", c("last_visit", "in_last", "30"), {"Ann", "Ben", "Eve"}),
    case("last-visit-in-last-31-includes-day-30", c("last_visit", "in_last", "31"), {"Ann", "Ben", "Eve", "Finn"}),
    case("last-visit-not-in-last-30-includes-day-30", c("last_visit", "not_in_last", "30"), {"Dan", "Finn"}),
    case("last-visit-not-in-last-31", c("last_visit", "not_in_last", "31"), {"Dan"}),
    case("last-visit-equals", c("last_visit", "equals", day(-5)), {"Ben"}),
    case("last-visit-after", c("last_visit", "greater", day(-3)), {"Ann", "Eve"}),
    case("last-visit-before", c("last_visit", "less", day(-29)), {"Dan", "Finn"}),
    case("last-visit-between", c("last_visit", "between", day(-30), day(-5)), {"Ben", "Finn"}),
    case("last-visit-is-empty", c("last_visit", "is_empty"), {"Cara", "Gia"}),
    case("last-visit-not-empty", c("last_visit", "not_empty"), (BUT, "Cara", "Gia")),
    # Total spend: purchase amounts (LTV) of all cards; no cards is 0.
    case("spend-greater", c("total_spend", "greater", "5"), {"Ann", "Dan"}),
    case("spend-equals-cents", c("total_spend", "equals", "5,50"), {"Ann"}),
    case("spend-equals-0", c("total_spend", "equals", "0"), (BUT, "Ann", "Dan")),
    case("spend-not-equals-0", c("total_spend", "not_equals", "0"), {"Ann", "Dan"}),
    case("spend-less-includes-no-cards", c("total_spend", "less", "10"), (BUT, "Dan")),
    case("spend-between", c("total_spend", "between", "5.5", "20"), {"Ann", "Dan"}),
    # RFM segment: no row is no segment.
    case("rfm-equals", c("rfm_segment", "equals", "Champions"), {"Ann"}),
    case("rfm-any-of", c("rfm_segment", "any_of", "Champions, Lost Customers"), {"Ann", "Dan"}),
    case("rfm-not-equals-includes-no-row", c("rfm_segment", "not_equals", "Champions"), (BUT, "Ann")),
    # Custom text.
    case("cf-text-contains", c("cf:favourite-drink", "contains", "white"), {"Ann"}),
    case("cf-text-equals", c("cf:favourite-drink", "equals", "tea"), {"Dan"}),
    case("cf-text-not-equals-includes-empty", c("cf:favourite-drink", "not_equals", "Tea"), (BUT, "Dan")),
    case("cf-text-any-of", c("cf:favourite-drink", "any_of", "Tea, Mocha"), {"Dan"}),
    case("cf-text-is-empty", c("cf:favourite-drink", "is_empty"), (BUT, "Ann", "Dan")),
    case("cf-text-not-empty", c("cf:favourite-drink", "not_empty"), {"Ann", "Dan"}),
    # Custom number: compared as numbers (11 > 9.5), decimals with a comma.
    case("cf-number-greater", c("cf:shoe-size", "greater", "9"), {"Ben", "Dan"}),
    case("cf-number-greater-decimal", c("cf:shoe-size", "greater", "9,5"), {"Dan"}),
    case("cf-number-less", c("cf:shoe-size", "less", "8"), {"Ann"}),
    case("cf-number-equals", c("cf:shoe-size", "equals", "11.0"), {"Dan"}),
    case("cf-number-between", c("cf:shoe-size", "between", "7,5", "9.5"), {"Ann", "Ben"}),
    case("cf-number-not-equals-includes-empty", c("cf:shoe-size", "not_equals", "9.5"), (BUT, "Ben")),
    # Custom date.
    case("cf-date-in-last", c("cf:joined-club", "in_last", "7"), {"Ann"}),
    case("cf-date-in-last-3-excludes-day-3", c("cf:joined-club", "in_last", "3"), set()),
    case("cf-date-in-last-4-includes-day-3", c("cf:joined-club", "in_last", "4"), {"Ann"}),
    case("cf-date-not-in-last", c("cf:joined-club", "not_in_last", "30"), {"Dan"}),
    case("cf-date-in-next", c("cf:joined-club", "in_next", "7"), set()),
    case("cf-date-in-next-from-before", c("cf:joined-club", "in_next", "7"), {"Ann"}, today=TODAY - dt.timedelta(days=5)),
    case("cf-date-equals", c("cf:joined-club", "equals", "2026-01-10"), {"Dan"}),
    case("cf-date-after", c("cf:joined-club", "greater", "2026-01-10"), {"Ann"}),
    case("cf-date-before", c("cf:joined-club", "less", "2026-01-11"), {"Dan"}),
    case("cf-date-between", c("cf:joined-club", "between", "2026-01-01", "2026-01-31"), {"Dan"}),
    case("cf-date-is-empty", c("cf:joined-club", "is_empty"), (BUT, "Ann", "Dan")),
    case("cf-date-not-empty", c("cf:joined-club", "not_empty"), {"Ann", "Dan"}),
    # Custom choice.
    case("cf-choice-equals", c("cf:tier", "equals", "gold"), {"Ann"}),
    case("cf-choice-any-of", c("cf:tier", "any_of", "Gold, Silver"), {"Ann", "Ben"}),
    case("cf-choice-not-equals-includes-empty", c("cf:tier", "not_equals", "Gold"), (BUT, "Ann")),
    # AND, OR and one level of groups.
    case("and", (c("card_status", "equals", "Installed"), c("device", "equals", "Apple Wallet"),
                 c("registered", "in_last", "31")), {"Ann"}),
    case("or", (c("gender", "equals", "Unknown"), c("email", "is_empty")), {"Cara", "Gia", "Ben"}, match=Match.ANY),
    case("and-with-an-or-group", (c("uses", "greater", "0"),
                                  Group(Match.ANY, (c("gender", "equals", "Female"), c("card_type", "equals", "Gift card")))),
         {"Ann", "Ben", "Eve"}),
    case("or-with-an-and-group", (c("name", "contains", "gia"),
                                  Group(Match.ALL, (c("card_status", "equals", "Installed"), c("total_spend", "greater", "10")))),
         {"Gia", "Dan"}, match=Match.ANY),
    case("empty-group-is-ignored", (Group(Match.ANY, ()), c("gender", "equals", "Male")), {"Ben", "Finn"}),
    case("only-empty-groups-is-everyone", (Group(Match.ANY, ()), Group(Match.ALL, ())), EVERYONE),
    case("only-empty-groups-and-search", (Group(Match.ANY, ()),), {"Gia"}, search="gómez"),
    # The search box AND the filter.
    case("search-and-filter", c("gender", "equals", "Female"), {"Ann", "Eve"}, search="example.com"),
    case("search-accent-and-filter", c("birthday_month", "equals", "February"), {"Gia"}, search="gomez"),
    case("search-phone-and-filter", c("card_status", "equals", "Installed"), {"Ann"}, search="07911 123451"),
    case("search-serial-and-filter", c("card_type", "equals", "Gift card"), {"Ben"}, search="{serial:Ben}"),
    case("search-excludes-what-the-filter-excludes", c("card_status", "not_equals", "Installed"), set(), search="ann"),
]


def _fill(text: str, shop: Shop) -> str:
    """``{serial:Name}``, ``{serial:Name|lower}``, ``{serial:Name|middle}`` for this merchant."""
    while "{serial:" in text:
        start = text.index("{serial:")
        end = text.index("}", start)
        name, _, how = text[start + 8:end].partition("|")
        serial = shop.serials[name]
        serial = serial.lower() if how == "lower" else serial[1:7] if how == "middle" else serial
        text = text[:start] + serial + text[end + 1:]
    return text


def _for(spec: Filter, shop: Shop) -> Filter:
    def one(condition: Condition) -> Condition:
        return Condition(condition.field, condition.op, _fill(condition.value, shop), condition.value_to, condition.days)

    return Filter(spec.match, tuple(Group(i.match, tuple(one(x) for x in i.conditions)) if isinstance(i, Group) else one(i)
                                    for i in spec.items))


def _matching(shop: Shop, spec: Filter, search: str) -> tuple[frozenset[str], frozenset[str], int]:
    """Names by matching_ids_query in a tenant session, by the same statement on a bare
    connection (no tenant criteria added: the compiler's own merchant scoping), and
    count_matching."""
    with tenant_session(shop.merchant_id) as session:
        query = customer_filters.matching_ids_query(session, shop.merchant_id, spec, search)
        scoped = session.exec(query).all()
        bare = session.connection().execute(query).scalars().all()
    count = customer_filters.count_matching(shop.merchant_id, spec, search)
    return shop.names(scoped), shop.names(bare), count


@pytest.mark.parametrize("spec, expected, today, search", CASES)
def test_filter_matches_exactly(shops, monkeypatch, spec, expected, today, search):
    # count_matching and matching_ids_query take "today" from the clock; the cases need a fixed day.
    monkeypatch.setattr(customer_filters, "where_in", functools.partial(_WHERE_IN, today=today))
    for shop in shops:  # identical data: each merchant matches its own customers, never the other's
        local_spec, local_search = _for(spec, shop), _fill(search, shop)
        scoped, bare, count = _matching(shop, local_spec, local_search)
        assert scoped == expected
        assert bare == expected
        assert count == len(expected)


def test_every_parameter_and_operator_has_a_case():
    covered = {(cond.field, cond.op) for param in CASES for item in param.values[0].items
               for cond in (item.conditions if isinstance(item, Group) else (item,))}
    kinds = {"cf:favourite-drink": "text", "cf:shoe-size": "number", "cf:joined-club": "date", "cf:tier": "choice"}
    params = P.catalog([P.CustomFieldRef(k[3:], k, t, ("Gold",)) for k, t in kinds.items()])
    wanted = {(key, op.value) for key, spec in params.items() for op in spec.operators}
    assert wanted - covered == set()
    assert {spec.key for spec in P.BUILT_IN} <= {field for field, _ in covered}


def test_another_merchants_serial_and_template_do_not_match(shops):
    mine, other = shops
    spec = Filter(Match.ANY, (c("serial", "equals", other.serials["Ann"]), c("serial", "contains", other.serials["Ben"])))
    assert _matching(mine, spec, "")[:2] == (frozenset(), frozenset())
    # The other merchant's customers are not in this merchant's negations either.
    with tenant_session(mine.merchant_id) as session:
        query = customer_filters.matching_ids_query(session, mine.merchant_id, Filter(Match.ALL, (c("uses", "less", "100"),)))
        assert set(session.connection().execute(query).scalars()) == set(mine.ids.values())


def test_where_in_without_a_filter_or_search_is_everyone(shops):
    shop = shops[0]
    with tenant_session(shop.merchant_id) as session:
        assert customer_filters.where_in(session, shop.merchant_id, None) is None
        assert customer_filters.where_in(session, shop.merchant_id, Filter()) is None
    assert customer_filters.count_matching(shop.merchant_id, None) == len(NAMES)


def test_bad_conditions_are_refused_naming_the_condition(shops):
    shop = shops[0]
    with pytest.raises(F.FilterError, match=r"Condition 2 \(cf:gone\): the custom field “gone” no longer exists\."):
        customer_filters.count_matching(shop.merchant_id, Filter(Match.ALL, (c("uses", "less", "3"),
                                                                             c("cf:gone", "equals", "x"))))
    with pytest.raises(F.FilterError, match="is not one of"):
        customer_filters.validate(shop.merchant_id, '{"items": [{"field": "card_template", "op": "equals", "value": "Nope"}]}')
    assert customer_filters.validate(shop.merchant_id, Filter(Match.ALL, (c("cf:tier", "equals", "Gold"),)).dumps())


def test_selection_of_every_match_is_a_subquery(shops):
    shop = shops[0]
    selection = customer_filters.Selection(every_match=True, filter=Filter(Match.ALL, (c("rfm_segment", "equals", "Champions"),)))
    query = customer_filters.selected_customers(shop.merchant_id, selection)
    with tenant_session(shop.merchant_id) as session:
        assert session.exec(query).all() == [shop.ids["Ann"]]
    picked = customer_filters.Selection(ids=(shop.ids["Ben"], shop.ids["Ann"], shop.ids["Ben"]))
    assert customer_filters.selected_customers(shop.merchant_id, picked) == sorted([shop.ids["Ann"], shop.ids["Ben"]])


def test_presets_run(shops):
    shop = shops[0]
    expected = {"not-installed": EVERYONE - {"Ann", "Dan"}, "unknown-gender": {"Cara", "Gia"}, "empty-birthday": {"Cara"},
                "installed": {"Ann", "Dan"}, "apple-wallet": {"Ann"}, "wallet-passes": {"Ann", "Dan"},
                "google-pay": {"Dan"}, "pwa": {"Eve"}, "champions": {"Ann"}, "at-risk-customers": {"Ben"},
                "lost-customers": {"Dan"}}
    with tenant_session(shop.merchant_id) as session:
        for preset in F.PRESETS:
            where = customer_filters.where_in(session, shop.merchant_id, preset.filter, today=TODAY)
            found = session.exec(select(Customer.id).where(Customer.merchant_id == shop.merchant_id, where)).all()
            assert shop.names(found) == expected.get(preset.key, set()), preset.key


def test_any_of_a_template_whose_name_holds_a_comma():
    merchant_id = _new_merchant("Comma")
    with tenant_session(merchant_id) as session:
        session.execute(sa.update(CardTemplate).where(CardTemplate.card_type == "stamp").values(name="Coffee, tea"))
        session.commit()
    ids = {name: add_customer(merchant_id, name, "Comma") for name in ("Ann", "Ben", "Cy")}
    shop = Shop(merchant_id, ids, {})
    give_card(merchant_id, ids["Ann"], card_type="stamp")
    give_card(merchant_id, ids["Ben"], card_type="gift")

    def names(value: str) -> frozenset[str]:
        spec = Filter(Match.ALL, (c("card_template", "any_of", value),))
        with tenant_session(merchant_id) as session:
            return shop.names(session.exec(customer_filters.matching_ids_query(session, merchant_id, spec)).all())

    assert names('"Coffee, tea", Gift card') == {"Ann", "Ben"}
    assert names('"Coffee, tea"') == {"Ann"}
    assert names("Coffee, tea") == {"Ann"}  # one whole choice, unquoted: splitting matches nothing
    with pytest.raises(F.FilterError, match="in double quotes"):
        names("Coffee, tea, Gift card")
