"""Login hardened (issue 13): growing delays per email and per IP, a known browser not
slowed by strangers, attempts reserved before the password check (40 threads), tickets
bound to the browser, the replaced session ended, cookies, the nightly purge, two-factor
sign-in with TOTP and recovery codes, and logins in the audit log."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pyotp
import pytest
import sqlalchemy as sa
from sqlmodel import select

from perkstar_ui import config
from perkstar_ui.api.login_cookies import BROWSER_COOKIE, DEVICE_COOKIE, host_is_local
from perkstar_ui.api.routes import SESSION_COOKIE
from perkstar_ui.db.models import AuditEntry, LoginAttempt, LoginSession, StaffUser
from perkstar_ui.db.tenancy import system_session, tenant_session
from perkstar_ui.domain import security
from perkstar_ui.services import accounts, two_factor, worker
from tests.helpers import TEST_BROWSER, api_client

PASSWORD = "correct-horse"
T0 = dt.datetime(2030, 1, 1, 12, tzinfo=dt.timezone.utc)






def _at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def _fail(email: str, at: dt.datetime, **kwargs) -> str:
    with pytest.raises(accounts.AccountError) as refusal:
        accounts.log_in(email, "wrong-password", now=at, **kwargs)
    return str(refusal.value)


# --- the policy ---------------------------------------------------------------------


def test_delays_double_after_the_free_failures_up_to_a_cap():
    policy = security.ThrottlePolicy(free_failures=5, max_delay=dt.timedelta(seconds=60))
    assert [policy.delay(n).total_seconds() for n in range(4, 13)] == [0, 1, 2, 4, 8, 16, 32, 60, 60]
    failures = [_at(s) for s in range(5)]
    assert policy.retry_after(failures, _at(4.5)) == dt.timedelta(seconds=0.5)  # 1 s after the 5th
    assert policy.retry_after(failures, _at(5)) is None
    assert policy.retry_after(failures[:4], _at(4)) is None
    assert policy.retry_after(failures, _at(5) + policy.window) is None  # all forgotten


def test_the_message_says_how_long_to_wait():
    assert security.throttle_message(dt.timedelta(seconds=0.2)) == "Too many failed attempts. Try again in 1 second."
    assert security.throttle_message(dt.timedelta(seconds=8)) == "Too many failed attempts. Try again in 8 seconds."
    assert security.throttle_message(dt.timedelta(seconds=61)) == "Too many failed attempts. Try again in 2 minutes."


# --- per email, per IP, known browsers ----------------------------------------------------


def test_failures_on_an_email_make_the_next_attempts_wait_longer_not_lock(owner):
    for second in range(5):
        assert "Wrong" in _fail(owner.email, _at(second))
    # Even the right password waits 1 s after the fifth failure, then 2 s after the sixth.
    with pytest.raises(accounts.AccountError, match="Try again in 1 second"):
        accounts.log_in(owner.email, PASSWORD, browser="b", now=_at(4.5))
    assert "Wrong" in _fail(owner.email, _at(5))
    assert "Try again in 2 seconds" in _fail(owner.email, _at(5.1))
    # Refused attempts are not counted: waiting the delay out is enough.
    assert accounts.log_in(owner.email, PASSWORD, browser="b", now=_at(7))
    assert "Wrong" in _fail(owner.email, _at(8))  # the success cleared the failures


def test_a_browser_that_logged_in_before_is_not_slowed_by_strangers(owner):
    device = accounts.known_device_cookie(owner.id)
    for second in range(8):
        _fail(owner.email, _at(second), ip="203.0.113.9")
    assert "Try again" in _fail(owner.email, _at(8), ip="198.51.100.1")  # a stranger's browser waits
    assert accounts.log_in(owner.email, PASSWORD, browser="b", ip="198.51.100.1", device=device, now=_at(8))
    # The cookie vouches for its own email only, and a forged one for nothing.
    assert accounts.known_device_for(device) == owner.email
    assert accounts.known_device_for(device[:-1] + ("0" if device[-1] != "0" else "1")) is None
    assert accounts.known_device_for("owner@x.test.deadbeef") is None


def test_failures_from_one_ip_slow_that_ip_on_every_email_but_not_others(owner, unique):
    ip = f"2001:db8:{unique[:4]}::1"  # its own /64: limits count per IPv6 /64
    for n in range(security.IP_THROTTLE.free_failures):  # 0 … 1.9 s, each on another email
        _fail(f"nobody-{n}-{unique}@shop.test", _at(n / 10), ip=ip)
    assert "Try again in 1 second" in _fail(f"someone-{unique}@shop.test", _at(2), ip=ip)
    with pytest.raises(accounts.AccountError, match="Try again"):
        accounts.log_in(owner.email, PASSWORD, browser="b", ip=ip, now=_at(2))
    assert accounts.log_in(owner.email, PASSWORD, browser="b", ip="198.51.100.7", now=_at(2))


def test_forty_parallel_attempts_get_no_more_password_checks_than_the_limit(owner):
    outcomes: list[str] = []
    start = threading.Barrier(40)

    def attempt() -> None:
        start.wait()
        try:
            accounts.log_in(owner.email, "wrong-password", ip=None)
            outcomes.append("ticket")
        except accounts.AccountError as refusal:
            outcomes.append("checked" if "Wrong" in str(refusal) else "throttled")

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("checked") == security.EMAIL_THROTTLE.free_failures
    assert outcomes.count("throttled") == 40 - security.EMAIL_THROTTLE.free_failures
    with system_session() as session:
        counted = session.exec(select(sa.func.count()).select_from(LoginAttempt)
                               .where(LoginAttempt.email == owner.email)).one()
    assert counted == security.EMAIL_THROTTLE.free_failures


# --- tickets, sessions, cookies ---------------------------------------------------------


def test_a_ticket_works_only_in_the_browser_that_typed_the_password(owner):
    ticket = accounts.log_in(owner.email, PASSWORD, browser="attacker-browser")
    assert accounts.redeem_ticket(ticket, browser="victim-browser") is None
    # Presented by the wrong browser the ticket is spent: not even its own browser can use it now.
    assert accounts.redeem_ticket(ticket, browser="attacker-browser") is None
    unbound = accounts.log_in(owner.email, PASSWORD)
    assert accounts.redeem_ticket(unbound, browser=None) is None
    assert accounts.redeem_ticket(accounts.log_in(owner.email, PASSWORD), browser="any") is None


def test_a_new_login_ends_the_session_it_replaces(owner):
    first = accounts.redeem_ticket(accounts.log_in(owner.email, PASSWORD, browser="b"), browser="b").token
    second = accounts.redeem_ticket(accounts.log_in(owner.email, PASSWORD, browser="b"), browser="b",
                                    replaces=first).token
    assert accounts.resolve_session(first) is None
    assert accounts.resolve_session(second).staff_user_id == owner.id
    with system_session() as session:
        assert session.exec(select(LoginSession).where(LoginSession.token_hash == security.token_hash(first))).first() is None


def test_the_session_route_binds_the_ticket_to_the_browser_cookie(owner):
    minted_elsewhere = accounts.log_in(owner.email, PASSWORD, browser="someone-else")
    client = api_client()
    refused = client.get(f"/api/session?ticket={minted_elsewhere}", follow_redirects=False)
    assert refused.headers["location"] == "/login" and SESSION_COOKIE not in client.cookies
    old = api_client(owner.email)
    old_token = old.cookies[SESSION_COOKIE]
    ticket = accounts.log_in(owner.email, PASSWORD, browser=TEST_BROWSER)
    answer = old.get(f"/api/session?ticket={ticket}", follow_redirects=False)
    assert answer.headers["location"] == "/customers"
    assert accounts.resolve_session(old_token) is None  # replaced, ended on the server
    cookies = answer.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith(f"{SESSION_COOKIE}="))
    assert "HttpOnly" in session_cookie and "samesite=strict" in session_cookie.lower()
    assert "Secure" not in session_cookie  # localhost
    assert any(c.startswith(f"{DEVICE_COOKIE}=") for c in cookies)


def test_every_browser_gets_a_pre_login_cookie_secure_except_on_localhost():
    remote = api_client().__class__(api_client().app, base_url="https://shop.example")
    first = remote.get("/api/session", follow_redirects=False).headers["set-cookie"]
    assert first.startswith(f"{BROWSER_COOKIE}=") and "HttpOnly" in first and "Secure" in first
    assert "samesite=lax" in first.lower()  # no credential: a link from an email keeps it
    local = api_client().__class__(api_client().app, base_url="http://127.0.0.1:3000")
    assert "Secure" not in local.get("/api/session", follow_redirects=False).headers["set-cookie"]
    # A browser that has one keeps it.
    assert "set-cookie" not in api_client().get("/api/session", follow_redirects=False).headers
    assert host_is_local("localhost:3000") and host_is_local("[::1]:80") and not host_is_local("shop.example")


def test_secure_cookies_can_be_forced_either_way(monkeypatch):
    monkeypatch.setenv("PERKSTAR_SECURE_COOKIES", "1")
    config.settings.cache_clear()
    try:
        local = api_client().__class__(api_client().app, base_url="http://localhost")
        assert "Secure" in local.get("/api/session", follow_redirects=False).headers["set-cookie"]
    finally:
        monkeypatch.delenv("PERKSTAR_SECURE_COOKIES")
        config.settings.cache_clear()


def test_logout_ends_the_session_and_is_audited(owner):
    client = api_client(owner.email)
    token = client.cookies[SESSION_COOKIE]
    assert client.post("/api/logout", follow_redirects=False).headers["location"] == "/login"
    assert accounts.resolve_session(token) is None
    with tenant_session(owner.merchant_id) as session:
        actions = session.exec(select(AuditEntry.action).where(AuditEntry.merchant_id == owner.merchant_id)
                               .order_by(AuditEntry.id)).all()
    assert actions[-2:] == ["login", "logout"]


def test_logins_and_failures_are_audited_with_the_ip(owner):
    _fail(owner.email, _at(0), ip="203.0.113.5")
    accounts.log_in(owner.email, PASSWORD, browser="b", ip="203.0.113.6", now=_at(1))
    with tenant_session(owner.merchant_id) as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.merchant_id == owner.merchant_id)
                            .order_by(AuditEntry.id)).all()
    assert [(r.action, r.ip, r.actor_email) for r in rows] == [
        ("login-failed", "203.0.113.5", owner.email), ("login", "203.0.113.6", owner.email)]


# --- nightly purge ----------------------------------------------------------------------


def test_the_nightly_job_purges_old_attempts_and_expired_sessions(owner, unique):
    now = dt.datetime.now(dt.timezone.utc)
    expired = accounts.redeem_ticket(
        accounts.log_in(owner.email, PASSWORD, browser="b", now=now - dt.timedelta(days=2)), browser="b",
        now=now - dt.timedelta(days=2)).token
    live = accounts.redeem_ticket(accounts.log_in(owner.email, PASSWORD, browser="b", now=now), browser="b",
                                  now=now).token
    _fail(f"gone-{unique}@shop.test", now - dt.timedelta(days=2))
    _fail(f"kept-{unique}@shop.test", now - dt.timedelta(hours=1))
    job = next(job for job in worker.JOBS if job.name == "purge-logins")
    assert job.period is worker.daily
    assert job.run(now) >= 2  # (other tests' old rows may go too)
    with system_session() as session:
        emails = set(session.exec(select(LoginAttempt.email).where(LoginAttempt.email.like(f"%-{unique}@shop.test"))))
        hashes = set(session.exec(select(LoginSession.token_hash).where(LoginSession.staff_user_id == owner.id)))
    assert emails == {f"kept-{unique}@shop.test", owner.email}
    assert security.token_hash(live) in hashes and security.token_hash(expired) not in hashes


# --- two-factor sign-in -------------------------------------------------------------------


def _turn_on(owner) -> tuple[pyotp.TOTP, list[str]]:  # noqa: ANN001
    setup = two_factor.begin_setup(owner.merchant_id, owner.id)
    assert setup.uri.startswith("otpauth://totp/") and setup.qr_data_uri.startswith("data:image/svg+xml")
    totp = pyotp.TOTP(setup.secret)
    with pytest.raises(two_factor.TwoFactorError, match="not right"):
        two_factor.confirm_setup(owner.merchant_id, owner.id, "000000" if totp.now() != "000000" else "111111")
    codes = two_factor.confirm_setup(owner.merchant_id, owner.id, totp.now())
    return totp, codes


def test_two_factor_needs_a_code_after_the_password(owner, secret_key):
    totp, codes = _turn_on(owner)
    assert len(codes) == two_factor.RECOVERY_CODE_COUNT == len(set(codes))
    with system_session() as session:
        stored = session.get(StaffUser, owner.id)
        assert stored.totp_enabled and stored.totp_secret_enc and totp.secret not in stored.totp_secret_enc
        assert not set(codes) & set(stored.recovery_code_hashes)  # only hashes are kept
    with pytest.raises(accounts.CodeRequired):
        accounts.log_in(owner.email, PASSWORD, browser="b")
    with pytest.raises(accounts.AccountError, match="Wrong"):
        accounts.log_in(owner.email, PASSWORD, browser="b", code="not-a-code")
    with pytest.raises(accounts.AccountError, match="Wrong"):
        accounts.log_in("x" + owner.email, PASSWORD, browser="b", code=totp.now())
    # The code that turned it on was spent then (test_two_factor_codes); the app's next one works.
    fresh = totp.at(time.time() + totp.interval)
    # A wrong password with the right code is still wrong (and spends nothing).
    with pytest.raises(accounts.AccountError, match="Wrong"):
        accounts.log_in(owner.email, "wrong-password", browser="b", code=fresh)
    ticket = accounts.log_in(owner.email, PASSWORD, browser="b", code=fresh)
    assert accounts.redeem_ticket(ticket, browser="b") is not None


def test_recovery_codes_work_once_each(owner, secret_key):
    _, codes = _turn_on(owner)
    assert accounts.log_in(owner.email, PASSWORD, browser="b", code=codes[0].upper())
    with pytest.raises(accounts.AccountError, match="Wrong"):
        accounts.log_in(owner.email, PASSWORD, browser="b", code=codes[0])
    assert two_factor.status(owner.merchant_id, owner.id) == two_factor.Status(True, len(codes) - 1)
    two_factor.disable(owner.merchant_id, owner.id, PASSWORD, codes[1])
    assert accounts.log_in(owner.email, PASSWORD, browser="b")  # off again: no code asked


def test_code_guesses_are_throttled_like_passwords(owner, secret_key):
    _turn_on(owner)
    for second in range(5):
        with pytest.raises(accounts.AccountError, match="Wrong"):
            accounts.log_in(owner.email, PASSWORD, code="12345678", now=_at(second))
    with pytest.raises(accounts.AccountError, match="Try again"):
        accounts.log_in(owner.email, PASSWORD, code="12345678", now=_at(4.5))


def test_an_owner_can_require_two_factor_for_managers(owner, secret_key, unique):
    with tenant_session(owner.merchant_id) as session:
        manager = StaffUser(merchant_id=owner.merchant_id, email=f"manager-{unique}@shop.test",
                            password_hash=security.hash_password(PASSWORD), role="manager")
        session.add(manager)
        session.commit()
        manager_id = manager.id
    with pytest.raises(two_factor.TwoFactorError, match="Only an owner"):
        two_factor.set_required_for_managers(owner.merchant_id, manager_id, True)
    two_factor.set_required_for_managers(owner.merchant_id, owner.id, True)
    with pytest.raises(accounts.AccountError, match="required for managers"):
        accounts.log_in(f"manager-{unique}@shop.test", PASSWORD, browser="b")
    assert accounts.log_in(owner.email, PASSWORD, browser="b")  # owners are not managers
    setup = two_factor.begin_setup(owner.merchant_id, manager_id)
    two_factor.confirm_setup(owner.merchant_id, manager_id, pyotp.TOTP(setup.secret).now())
    with pytest.raises(accounts.CodeRequired):
        accounts.log_in(f"manager-{unique}@shop.test", PASSWORD, browser="b")


def test_two_factor_needs_the_server_secret(owner, monkeypatch):
    monkeypatch.delenv("PERKSTAR_SECRET_KEY", raising=False)
    config.settings.cache_clear()
    with pytest.raises(two_factor.TwoFactorError, match="PERKSTAR_SECRET_KEY"):
        two_factor.begin_setup(owner.merchant_id, owner.id)
