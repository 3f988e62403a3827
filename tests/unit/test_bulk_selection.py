"""Bulk actions on "every customer the filter matches": resolved on the server as one
subquery, the merchant's own customers only, the deletion rules still applied."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa
from sqlmodel import select
from starlette.testclient import TestClient

from perkstar_ui.api.routes import api
from perkstar_ui.db.models import Card, CardTransaction, Customer
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain.filter_params import Op, Param
from perkstar_ui.domain.filters import Condition, Filter, Match
from perkstar_ui.services import bulk_issue, customer_records, importing
from perkstar_ui.services.bulk_issue import IssueRequest
from perkstar_ui.services.customer_filters import Selection, selected_customers
from tests.helpers import add_customer, api_client, give_card

AMELIAS = Filter(Match.ALL, (Condition(Param.NAME, Op.CONTAINS, "amelia"),))


def _names(merchant_id: int) -> set[str]:
    with tenant_session(merchant_id) as session:
        return set(session.exec(select(Customer.first_name)).all())


def _shop(merchant_id: int) -> dict[str, int]:
    ids = {
        "Amelia": add_customer(merchant_id, "Amelia", "Stone", "07400 100001"),
        "Amelia-Rose": add_customer(merchant_id, "Amelia-Rose", "Hart", "07400 100002"),
        "Amelia-Kept": add_customer(merchant_id, "Amelia-Kept", "Low", "07400 100003"),
        "Ben": add_customer(merchant_id, "Ben", "Amel", "07400 100004"),  # "amel", not "amelia"
        "Cara": add_customer(merchant_id, "Cara", "Smith", "07400 100005"),
    }
    give_card(merchant_id, ids["Amelia"], transactions=3)
    give_card(merchant_id, ids["Amelia-Kept"], status="installed", device="pwa")  # never deleted (§9)
    return ids


def test_delete_every_match_deletes_the_matches_with_their_ledger_and_keeps_the_rest(merchant, other_merchant):
    mine, theirs = _shop(merchant), _shop(other_merchant)
    selection = Selection(every_match=True, filter=AMELIAS)
    report = customer_records.delete_customers(merchant, selected_customers(merchant, selection))
    assert sorted(report.deleted) == ["Amelia Stone", "Amelia-Rose Hart"]
    assert [name for name, _ in report.refused] == ["Amelia-Kept Low"]
    assert _names(merchant) == {"Amelia-Kept", "Ben", "Cara"}
    assert _names(other_merchant) == set(theirs)  # the same filter never reaches another merchant
    with tenant_session(merchant) as session:
        left = session.exec(select(sa.func.count()).select_from(CardTransaction)
                            .where(CardTransaction.customer_id == mine["Amelia"])).one()
    assert left == 0


def test_every_match_follows_the_search_too(merchant):
    _shop(merchant)
    selection = Selection(every_match=True, filter=AMELIAS, search="rose")
    report = customer_records.delete_customers(merchant, selected_customers(merchant, selection))
    assert report.deleted == ["Amelia-Rose Hart"]


def test_picked_rows_stay_a_list_and_every_match_a_subquery(merchant):
    ids = _shop(merchant)
    assert selected_customers(merchant, Selection(ids=(ids["Cara"], ids["Ben"], ids["Cara"]))) == sorted(
        [ids["Ben"], ids["Cara"]])
    assert isinstance(selected_customers(merchant, Selection(every_match=True, filter=AMELIAS)), sa.Select)


def test_issue_to_every_match_issues_to_the_matches_only(merchant, other_merchant):
    mine, theirs = _shop(merchant), _shop(other_merchant)
    template_id = importing.list_templates(merchant)[1][0]  # a multipass: nobody holds one yet
    report = bulk_issue.issue_selected(merchant, Selection(every_match=True, filter=AMELIAS), template_id,
                                       IssueRequest(), delivery="none")
    assert report.issued == 3
    with tenant_session(merchant) as session:
        holders = set(session.exec(select(Card.customer_id).where(Card.template_id == template_id)).all())
    assert holders == {mine["Amelia"], mine["Amelia-Rose"], mine["Amelia-Kept"]}
    with tenant_session(other_merchant) as session:
        assert session.exec(select(sa.func.count()).select_from(Card)
                            .where(Card.customer_id.in_(list(theirs.values())))).one() == 2  # only _shop's own


def test_the_export_route_takes_the_filter_in_a_post_body_and_exports_only_the_matches(merchant, unique):
    _shop(merchant)
    client = api_client(f"owner-{unique}@shop.test")
    response = client.post("/api/customers/export.csv", data={"search": "", "filter": AMELIAS.dumps()})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert sorted(row[1] for row in rows[1:]) == ["Amelia", "Amelia-Kept", "Amelia-Rose"]
    bad = client.post("/api/customers/export.csv", data={"filter": '{"items": [{"field": "nope", "op": "equals"}]}'})
    assert bad.status_code == 400 and "Condition 1" in bad.text
    assert TestClient(api).post("/api/customers/export.csv", data={}).status_code == 401  # no login, no rows
