"""Campaign rules, pure: placeholders, SMS segments (GSM-7, extension, UCS-2), checks, schedule."""

import datetime as dt

import pytest

from perkstar_ui.domain import campaigns as rules
from perkstar_ui.domain.campaigns import CampaignError
from perkstar_ui.domain.messages import Channel

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)


def test_render_fills_every_placeholder_and_keeps_the_rest():
    values = {"first_name": "Ada", "last_name": "Lovelace", "balance": "7", "install_link": "https://x/card/t",
              "referral_link": "https://x/r/c", "card_name": "Coffee Club"}
    text = "Hi {first_name} {last_name}: {balance} on {card_name}. {install_link} {referral_link} {first_name}!"
    assert rules.render(text, values) == (
        "Hi Ada Lovelace: 7 on Coffee Club. https://x/card/t https://x/r/c Ada!")
    assert rules.render("{ first_name }, no card: [{balance}]", {"first_name": "Bo"}) == "Bo, no card: []"
    assert rules.parse("Hello {first_name}").used == {"first_name"}


def test_an_unknown_placeholder_is_named():
    with pytest.raises(CampaignError, match=r"Unknown placeholder \{firstname\}") as refusal:
        rules.render("Hi {firstname}", {})
    assert refusal.value.field == "message"
    with pytest.raises(CampaignError, match=r"\{\}"):
        rules.parse("empty {} braces")


@pytest.mark.parametrize(("text", "segments"), [
    ("", 0),
    ("a" * 160, 1),
    ("a" * 161, 2),
    ("a" * 306, 2),
    ("a" * 307, 3),
    ("€" * 80, 1),  # extension characters take two septets: 160
    ("€" * 81, 2),
    ("a" * 152 + "€", 1),  # 154 septets still fit one part
    ("a" * 159 + "[", 2),  # 161 septets
    ("a" * 152 + "€" + "a" * 152, 3),  # 306 septets, but the escape pair is never split across parts
    ("ü" * 160, 1),  # ü is in the GSM basic set
    ("é" * 70 + "ć", 2),  # ć is not: the whole message becomes UCS-2 (71 units)
    ("ć" * 70, 1),
    ("ć" * 134, 2),
    ("ć" * 135, 3),
    ("😀" * 35, 1),  # an emoji is two UTF-16 units
    ("😀" * 36, 2),
])
def test_sms_segments(text, segments):
    assert rules.sms_segments(text) == segments


def test_encodings_and_hint():
    assert rules.sms_encoding("Hello {}[]~|^€\\") == "GSM-7"
    assert rules.sms_encoding("Grüße ć") == "UCS-2"
    assert rules.sms_segments_hint("a" * 161) == "2 SMS segments (GSM-7)"
    assert rules.sms_segments_hint("ć") == "1 SMS segment (UCS-2)"


def test_more_than_ten_segments_is_refused():
    rules.check_sms_length("a" * 1530)  # 10 × 153
    with pytest.raises(CampaignError, match="11 segments"):
        rules.check_sms_length("a" * 1531)
    with pytest.raises(CampaignError, match=r"11 segments \(UCS-2\)"):
        rules.check_sms_length("ć" * 671)


def test_message_checks():
    checked = rules.check_message(Channel.EMAIL, "  Hello   {first_name} ", " Body {balance} ")
    assert (checked.subject, checked.body) == ("Hello {first_name}", "Body {balance}")
    assert checked.subject_template.render({"first_name": "Ada"}) == "Hello Ada"
    assert rules.check_message(Channel.SMS, "ignored", "Hi").subject is None
    for channel, subject, body, field, text in [
        (Channel.SMS, "", "   ", "message", "Write the message"),
        (Channel.EMAIL, "", "Hi", "subject", "needs a subject"),
        (Channel.EMAIL, "x" * 201, "Hi", "subject", "at most 200"),
        (Channel.EMAIL, "Hi {nme}", "Hi", "subject", "Unknown placeholder"),
        (Channel.PUSH, "", "x" * 501, "message", "at most 500"),
        (Channel.SMS, "", "Hi {card}", "message", r"Unknown placeholder \{card\}"),
    ]:
        with pytest.raises(CampaignError, match=text) as refusal:
            rules.check_message(channel, subject, body)
        assert refusal.value.field == field


def test_send_at_is_local_time_in_the_merchants_zone():
    assert rules.parse_send_at("", "Europe/London", NOW) is None
    # 1 June: London is UTC+1, New York UTC-4.
    assert rules.parse_send_at("2026-06-02T09:30", "Europe/London", NOW) == dt.datetime(
        2026, 6, 2, 8, 30, tzinfo=dt.timezone.utc)
    assert rules.parse_send_at("2026-06-02T09:30", "America/New_York", NOW) == dt.datetime(
        2026, 6, 2, 13, 30, tzinfo=dt.timezone.utc)
    assert rules.parse_send_at("2026-06-02T09:30", "Not/AZone", NOW).hour == 9  # unknown zone: UTC
    assert rules.local_text(dt.datetime(2026, 6, 2, 8, 30), "Europe/London") == "2026-06-02 09:30"


@pytest.mark.parametrize("text", ["2026-06-01T12:00", "2026-06-01T12:30", "2025-12-24T09:00"])
def test_a_schedule_in_the_past_is_refused(text):
    # 12:30 in London on 1 June is 11:30 UTC: already past at 12:00 UTC.
    with pytest.raises(CampaignError, match="in the past") as refusal:
        rules.parse_send_at(text, "Europe/London", NOW)
    assert refusal.value.field == "send_at"


def test_a_malformed_or_far_schedule_is_refused():
    with pytest.raises(CampaignError, match="give a date and time"):
        rules.parse_send_at("tomorrow", "UTC", NOW)
    with pytest.raises(CampaignError, match="a year ahead"):
        rules.parse_send_at("2028-01-01T00:00", "UTC", NOW)


def test_name_and_progress():
    assert rules.campaign_name("Summer", "whatever") == "Summer"
    assert rules.campaign_name(None, "x" * 50) == "x" * 40
    assert rules.progress(0, 0) == 100 and rules.progress(1, 3) == 33 and rules.progress(299, 300) == 99
