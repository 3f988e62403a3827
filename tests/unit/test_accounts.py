"""Logins: hashing, throttling, one-time tickets, expiring sessions, logout."""

import datetime as dt
import subprocess
import sys

import pytest

from perkstar_ui.services import accounts

PASSWORD = "correct-horse"




BROWSER = "this-browser"


def _session_for(email: str, password: str = PASSWORD, **kwargs):
    ticket = accounts.log_in(email, password, browser=BROWSER, **kwargs)
    token, _ = accounts.redeem_ticket(ticket, browser=BROWSER, **kwargs)
    return token


def test_password_is_stored_as_argon2_hash(owner):
    assert owner.password_hash.startswith("$argon2id$")
    assert PASSWORD not in owner.password_hash


def test_short_passwords_are_refused(unique):
    with pytest.raises(ValueError, match="at least 8"):
        accounts.create_merchant("Shop", f"x-{unique}@shop.test", "short")


def test_duplicate_email_is_refused_case_insensitively(owner):
    with pytest.raises(accounts.AccountError, match="already exists"):
        accounts.create_merchant("Copy", owner.email.upper(), PASSWORD)


def test_login_gives_a_session_for_the_right_merchant(owner):
    context = accounts.resolve_session(_session_for(owner.email.upper()))
    assert context.merchant_id == owner.merchant_id
    assert context.staff_user_id == owner.id


@pytest.mark.parametrize("email_suffix,password", [("", "wrong-password"), ("x", PASSWORD)])
def test_wrong_email_or_password_is_refused_with_one_message(owner, email_suffix, password):
    with pytest.raises(accounts.AccountError, match="Wrong email or password"):
        accounts.log_in(owner.email + email_suffix, password)


def test_ticket_works_once_and_only_while_fresh(owner):
    now = dt.datetime.now(dt.timezone.utc)
    ticket = accounts.log_in(owner.email, PASSWORD, browser=BROWSER, now=now)
    assert accounts.redeem_ticket(ticket, browser=BROWSER, now=now) is not None
    assert accounts.redeem_ticket(ticket, browser=BROWSER, now=now) is None  # second use
    stale = accounts.log_in(owner.email, PASSWORD, browser=BROWSER, now=now)
    assert accounts.redeem_ticket(stale, browser=BROWSER, now=now + dt.timedelta(minutes=2)) is None
    assert accounts.redeem_ticket("made-up", browser=BROWSER, now=now) is None


def test_session_expires(owner):
    now = dt.datetime.now(dt.timezone.utc)
    token = _session_for(owner.email, now=now)
    assert accounts.resolve_session(token, now=now + dt.timedelta(hours=11)) is not None
    assert accounts.resolve_session(token, now=now + dt.timedelta(hours=12, seconds=1)) is None


def test_logout_ends_the_session(owner):
    token = _session_for(owner.email)
    accounts.log_out(token)
    assert accounts.resolve_session(token) is None
    assert accounts.resolve_session(None) is None


def test_a_success_resets_the_failure_count(owner):
    now = dt.datetime.now(dt.timezone.utc)
    for second in range(4):
        with pytest.raises(accounts.AccountError):
            accounts.log_in(owner.email, "nope-nope", now=now + dt.timedelta(seconds=second))
    accounts.log_in(owner.email, PASSWORD, now=now + dt.timedelta(seconds=5))
    for second in range(4):
        with pytest.raises(accounts.AccountError, match="Wrong"):
            accounts.log_in(owner.email, "nope-nope", now=now + dt.timedelta(seconds=10 + second))


def test_cli_create_merchant_refuses_an_existing_email(owner):
    result = subprocess.run(
        [sys.executable, "-m", "perkstar_ui.cli", "create-merchant", "--name", "Dup",
         "--email", owner.email, "--password", PASSWORD],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode != 0
    assert "already exists" in result.stderr
