"""Campaigns on the real database: audiences, skips with reasons, one transaction,
scheduling (queue_due exactly once across threads), cancel, tenancy, counts by status."""

import datetime as dt
import threading

import pytest
import sqlalchemy as sa
from sqlmodel import select

from perkstar_ui.db.models import Campaign, Card, CardTemplate, Message
from perkstar_ui.db.tenancy import system_session, tenant_session
from perkstar_ui.domain.campaigns import Audience, CampaignError
from perkstar_ui.domain.filters import Condition, Filter, Match, Op, Param
from perkstar_ui.domain.messages import Channel, MessageStatus, SkipReason
from perkstar_ui.services import campaign_reports, campaigns, consent, segments
from perkstar_ui.services.campaign_audience import SEGMENT_GONE, Target
from tests.helpers import add_customer, give_card

NAMED_ADA = Filter(Match.ALL, (Condition(Param.NAME.value, Op.CONTAINS.value, "Ada"),))
NOW = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
LATER = NOW + dt.timedelta(days=30)
LATER_TEXT = LATER.strftime("%Y-%m-%dT%H:%M")  # the merchant's zone is UTC by default
DUE = LATER + dt.timedelta(minutes=1)


def _customer(merchant_id: int, first: str, *, phone: str = "", email: str = "", sms: bool = False,
              mail: bool = False) -> int:
    customer_id = add_customer(merchant_id, first, "Test", phone, email)
    consent.set_consent(merchant_id, customer_id, sms, mail)
    return customer_id


def _people(merchant_id: int) -> dict[str, int]:
    """Ada: both consents and addresses; Bob: email without consent; Cy: consent, no email."""
    return {
        "ada": _customer(merchant_id, "Ada", phone="+447400123451", email="ada@example.com", sms=True, mail=True),
        "bob": _customer(merchant_id, "Bob", phone="+447400123452", email="bob@example.com"),
        "cy": _customer(merchant_id, "Cy", phone="", email="", sms=True, mail=True),
    }


def _messages(merchant_id: int, campaign_id: int) -> dict[int, Message]:
    with tenant_session(merchant_id) as session:
        rows = session.exec(select(Message).where(Message.campaign_id == campaign_id)).all()
    return {m.customer_id: m for m in rows}


def _count(model, merchant_id: int) -> int:  # noqa: ANN001
    with system_session() as session:
        return session.exec(select(sa.func.count()).select_from(model).where(model.merchant_id == merchant_id)).one()


def _email(target: Target, body: str = "Hi {first_name}, {balance} on {card_name}: {install_link}",
           send_at: str = "") -> campaigns.Draft:
    return campaigns.Draft(Channel.EMAIL, target, "News for {first_name}", body, send_at)


def test_selected_customers_by_email_with_skips_and_reasons(merchant):
    people = _people(merchant)
    card_id, serial = give_card(merchant, people["ada"], transactions=3)
    result = campaigns.send(merchant, _email(Target(Audience.SELECTED, ids=tuple(people.values()))))
    assert (result.recipients, result.queued, result.skipped) == (3, 1, 2)
    rows = _messages(merchant, result.campaign_id)
    ada, bob, cy = rows[people["ada"]], rows[people["bob"]], rows[people["cy"]]
    assert (ada.status, ada.recipient, ada.card_id, ada.channel) == ("queued", "ada@example.com", card_id, "email")
    with tenant_session(merchant) as session:
        token = session.get(Card, card_id).install_token
    assert ada.body == f"Hi Ada, 3 on {_template_name(merchant, card_id)}: {campaigns.base_url()}/card/{token}"
    assert ada.subject == "News for Ada"
    assert (bob.status, bob.reason) == ("skipped", SkipReason.NO_CONSENT.value)
    assert (cy.status, cy.reason) == ("skipped", SkipReason.NO_EMAIL.value)
    assert cy.body == "Hi Cy,  on : "  # no card: card placeholders are empty
    assert serial


def _template_name(merchant_id: int, card_id: int) -> str:
    with tenant_session(merchant_id) as session:
        return session.get(CardTemplate, session.get(Card, card_id).template_id).name


def test_sms_uses_phone_and_sms_consent(merchant):
    people = _people(merchant)
    nobody = _customer(merchant, "Dee", email="dee@example.com", sms=True)
    ids = (*people.values(), nobody)
    result = campaigns.send(merchant, campaigns.Draft(Channel.SMS, Target(Audience.SELECTED, ids=ids), "", "Hi"))
    rows = _messages(merchant, result.campaign_id)
    assert (rows[people["ada"]].status, rows[people["ada"]].recipient) == ("queued", "+447400123451")
    assert rows[people["ada"]].subject is None
    assert rows[people["bob"]].reason == SkipReason.NO_CONSENT.value
    assert rows[nobody].reason == SkipReason.NO_PHONE.value


def test_push_reaches_installed_cards_only(merchant):
    people = _people(merchant)
    installed_id, installed_serial = give_card(merchant, people["ada"], status="installed")
    give_card(merchant, people["bob"], status="uninstalled")
    result = campaigns.send(merchant, campaigns.Draft(Channel.PUSH, Target(Audience.SELECTED, ids=tuple(people.values())),
                                                      "", "Double stamps today"))
    rows = _messages(merchant, result.campaign_id)
    assert (rows[people["ada"]].status, rows[people["ada"]].recipient, rows[people["ada"]].card_id) == (
        "queued", installed_serial, installed_id)
    assert rows[people["bob"]].reason == rows[people["cy"]].reason == SkipReason.NOT_INSTALLED.value
    assert (result.queued, result.skipped) == (1, 2)


def test_push_prefers_an_installed_card(merchant):
    ada = _customer(merchant, "Ada")
    installed_id, _ = give_card(merchant, ada, status="installed")
    give_card(merchant, ada, card_type="cashback", status="uninstalled", transactions=2)  # more recent activity
    result = campaigns.send(merchant, campaigns.Draft(Channel.PUSH, Target(Audience.SELECTED, ids=(ada,)), "", "Hi"))
    assert _messages(merchant, result.campaign_id)[ada].card_id == installed_id


def test_every_match_of_a_filter_and_the_current_filter(merchant):
    people = _people(merchant)
    _customer(merchant, "Adam", email="adam@example.com", mail=True)
    selection = Target(Audience.SELECTED, every_match=True, filter_json=NAMED_ADA.dumps())
    assert campaigns.count_recipients(merchant, selection) == 2  # Ada and Adam, no ids needed
    result = campaigns.send(merchant, _email(selection))
    assert (result.recipients, result.queued) == (2, 2)
    searched = Target(Audience.FILTER, filter_json=NAMED_ADA.dumps(), search="adam")
    assert campaigns.count_recipients(merchant, searched) == 1
    assert campaigns.count_recipients(merchant, Target(Audience.FILTER)) == 4  # no filter: everyone
    assert people


def test_segment_audience_and_a_deleted_segment_is_refused(merchant):
    _people(merchant)
    segment_id = segments.save_segment(merchant, "Adas", NAMED_ADA.dumps())
    target = Target(Audience.SEGMENT, segment_id=segment_id)
    assert campaigns.count_recipients(merchant, target) == 1
    assert campaigns.send(merchant, _email(target)).queued == 1
    segments.delete_segment(merchant, segment_id)
    with pytest.raises(CampaignError, match="segment no longer exists") as refusal:
        campaigns.send(merchant, _email(target))
    assert refusal.value.field == "segment"
    assert _count(Campaign, merchant) == 1 and _count(Message, merchant) == 1


def test_card_holders_of_a_template_with_live_cards(merchant):
    people = _people(merchant)
    card_id, _ = give_card(merchant, people["ada"])
    deleted_id, _ = give_card(merchant, people["bob"])
    give_card(merchant, people["cy"], card_type="cashback")
    with tenant_session(merchant) as session:
        template_id = session.get(Card, card_id).template_id
        deleted = session.get(Card, deleted_id)
        deleted.status = "deleted"
        session.add(deleted)
        session.commit()
    target = Target(Audience.TEMPLATE, template_id=template_id)
    assert campaigns.count_recipients(merchant, target) == 1
    result = campaigns.send(merchant, _email(target))
    assert list(_messages(merchant, result.campaign_id)) == [people["ada"]]
    with pytest.raises(CampaignError, match="card template"):
        campaigns.count_recipients(merchant, Target(Audience.TEMPLATE))


def test_bad_input_queues_nothing(merchant):
    people = _people(merchant)
    target = Target(Audience.SELECTED, ids=tuple(people.values()))
    for draft, text in [
        (campaigns.Draft(Channel.EMAIL, target, "S", "  "), "Write the message"),
        (campaigns.Draft(Channel.EMAIL, target, "S", "Hi {name}"), "Unknown placeholder"),
        (campaigns.Draft(Channel.SMS, target, "", "x" * 1500 + "{install_link}"), "segments"),
        (campaigns.Draft(Channel.EMAIL, target, "S", "Hi", "2020-01-01T09:00"), "in the past"),
        (campaigns.Draft(Channel.EMAIL, Target(Audience.SELECTED), "S", "Hi"), "Select the customers"),
        (campaigns.Draft("fax", target, "S", "Hi"), "Choose SMS, Email or Push"),
    ]:
        with pytest.raises(CampaignError, match=text):
            campaigns.send(merchant, draft)
    assert _count(Campaign, merchant) == 0 and _count(Message, merchant) == 0


def test_one_transaction_a_failure_midway_queues_nothing(merchant):
    """The third recipient's filled-in message is too long: neither the campaign nor the
    first two recipients' rows are written."""
    ids = [_customer(merchant, name, email=f"{name}@example.com", mail=True) for name in ("Al", "Bea")]
    ids.append(add_customer(merchant, "L" * 100, "Long", "", "long@example.com"))
    body = "{first_name}" * 21  # 2 100 characters for the long name only
    with pytest.raises(CampaignError, match="too long"):
        campaigns.send(merchant, _email(Target(Audience.SELECTED, ids=tuple(ids)), body=body))
    assert _count(Campaign, merchant) == 0 and _count(Message, merchant) == 0


def test_schedule_then_queue_due_once_from_two_threads(merchant):
    people = _people(merchant)
    result = campaigns.send(merchant, _email(Target(Audience.SELECTED, ids=tuple(people.values())),
                                             send_at=LATER_TEXT), now=NOW)
    with tenant_session(merchant) as session:
        campaign = session.get(Campaign, result.campaign_id)
    assert campaign.status == "scheduled" and _count(Message, merchant) == 0
    assert campaigns.queue_due(NOW) == 0  # not due yet
    due = DUE
    outcomes: list[int] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        barrier.wait()
        outcomes.append(campaigns.queue_due(due))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [0, 1]
    assert _count(Message, merchant) == 3
    assert campaigns.queue_due(due) == 0
    row = campaign_reports.campaign_detail(merchant, result.campaign_id).campaign
    assert (row.status, row.counts["queued"], row.counts["skipped"]) == ("sending", 1, 2)


def test_a_scheduled_segment_deleted_before_it_is_due_fails_with_the_reason(merchant):
    _people(merchant)
    segment_id = segments.save_segment(merchant, "Adas", NAMED_ADA.dumps())
    result = campaigns.send(merchant, _email(Target(Audience.SEGMENT, segment_id=segment_id),
                                             send_at=LATER_TEXT))
    segments.delete_segment(merchant, segment_id)
    assert campaigns.queue_due(DUE) == 0
    row = campaign_reports.list_campaigns(merchant)[0]
    assert (row.id, row.status, row.problem) == (result.campaign_id, "failed", SEGMENT_GONE)
    assert _count(Message, merchant) == 0


def test_cancel_a_scheduled_campaign(merchant):
    people = _people(merchant)
    target = Target(Audience.SELECTED, ids=tuple(people.values()))
    scheduled = campaigns.send(merchant, _email(target, send_at=LATER_TEXT))
    campaigns.cancel(merchant, scheduled.campaign_id)
    assert campaigns.queue_due(DUE) == 0
    assert _count(Message, merchant) == 0
    assert campaign_reports.list_campaigns(merchant)[0].status == "cancelled"
    with pytest.raises(CampaignError, match="Only a scheduled campaign"):
        campaigns.cancel(merchant, scheduled.campaign_id)
    now = campaigns.send(merchant, _email(target))
    with pytest.raises(CampaignError, match="Only a scheduled campaign"):
        campaigns.cancel(merchant, now.campaign_id)


def test_tenant_isolation(merchant, other_merchant):
    mine = _people(merchant)
    theirs = _customer(other_merchant, "Eve", email="eve@example.com", mail=True)
    their_segment = segments.save_segment(other_merchant, "Theirs", NAMED_ADA.dumps())
    result = campaigns.send(merchant, _email(Target(Audience.SELECTED, ids=(mine["ada"], theirs))))
    assert list(_messages(merchant, result.campaign_id)) == [mine["ada"]]
    with pytest.raises(CampaignError, match="segment no longer exists"):
        campaigns.count_recipients(merchant, Target(Audience.SEGMENT, segment_id=their_segment))
    scheduled = campaigns.send(other_merchant, _email(Target(Audience.SELECTED, ids=(theirs,)),
                                                      send_at=LATER_TEXT))
    with pytest.raises(CampaignError, match="no longer exists"):
        campaigns.cancel(merchant, scheduled.campaign_id)
    assert campaign_reports.campaign_detail(merchant, scheduled.campaign_id) is None
    assert [row.id for row in campaign_reports.list_campaigns(merchant)] == [result.campaign_id]
    assert campaigns.preview(merchant, _email(Target(Audience.SELECTED, ids=(theirs,))), theirs) is None


def test_counts_by_status_progress_and_recipient_pages(merchant):
    people = _people(merchant)
    result = campaigns.send(merchant, _email(Target(Audience.SELECTED, ids=tuple(people.values()))))
    with tenant_session(merchant) as session:  # the outbox worker's outcome for Ada
        session.execute(sa.update(Message).where(Message.campaign_id == result.campaign_id,
                                                 Message.customer_id == people["ada"])
                        .values(status=MessageStatus.DELIVERED.value))
        session.commit()
    row = campaign_reports.list_campaigns(merchant)[0]
    assert row.counts == {"queued": 0, "sent": 0, "delivered": 1, "failed": 0, "skipped": 2}
    assert (row.status, row.progress, row.total, row.name, row.channel) == ("done", 100, 3, "News for {first_name}",
                                                                            "Email")
    detail = campaign_reports.campaign_detail(merchant, result.campaign_id, page_size=2)
    assert detail.pages == 2 and [r.customer_id for r in detail.recipients] == [people["ada"], people["bob"]]
    assert (detail.recipients[1].status, detail.recipients[1].reason) == ("skipped", "no consent")
    second = campaign_reports.campaign_detail(merchant, result.campaign_id, page=2, page_size=2)
    assert [r.customer_id for r in second.recipients] == [people["cy"]]


def test_preview_for_one_recipient(merchant):
    people = _people(merchant)
    card_id, serial = give_card(merchant, people["ada"], transactions=2)
    target = Target(Audience.FILTER, filter_json=NAMED_ADA.dumps())
    assert campaigns.preview_choices(merchant, target) == [(people["ada"], "Ada Test")]
    shown = campaigns.preview(merchant, campaigns.Draft(Channel.SMS, target, "", "{first_name}: {balance}"),
                              people["ada"])
    assert (shown.body, shown.segments) == ("Ada: 2", "1 SMS segment (GSM-7)")
    assert serial in shown.card_note
    assert campaigns.preview(merchant, campaigns.Draft(Channel.SMS, target, "", "Hi"), people["bob"]) is None
    assert card_id


def test_test_send_to_named_customers_keeps_consent(merchant):
    people = _people(merchant)
    draft = _email(Target(Audience.FILTER))
    result = campaigns.test_send(merchant, draft, "ADA@example.com, 07400 123452")
    rows = _messages(merchant, result.campaign_id)
    assert rows[people["ada"]].status == "queued"
    assert rows[people["bob"]].reason == SkipReason.NO_CONSENT.value
    assert campaign_reports.list_campaigns(merchant) == []  # tests are not listed as campaigns
    assert len(campaign_reports.list_campaigns(merchant, include_tests=True)) == 1
    with pytest.raises(CampaignError, match="nobody@example.com"):
        campaigns.test_send(merchant, draft, "nobody@example.com")
    with pytest.raises(CampaignError, match="at least one"):
        campaigns.test_send(merchant, draft, " , ")
