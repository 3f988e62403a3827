"""Two-factor codes are spent once (issue 13 review): a recovery code by one of several
simultaneous logins only, a TOTP code once within its window (nor an older one after it);
turning it off needs the current password and a code, and like new recovery codes is
throttled as a login and audited. Threads against the real database (both backends)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pyotp
import pytest
from sqlmodel import select

from perkstar_ui.db.models import AuditEntry, LoginAttempt, StaffUser
from perkstar_ui.db.tenancy import system_session, tenant_session
from perkstar_ui.domain import security
from perkstar_ui.services import accounts, two_factor
from perkstar_ui.services.audit import Action

PASSWORD = "correct-horse"
T0 = dt.datetime(2032, 6, 1, 9, tzinfo=dt.timezone.utc)
PARALLEL = security.EMAIL_THROTTLE.free_failures  # all of them reach the check






def _at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def _turn_on(owner) -> tuple[pyotp.TOTP, list[str]]:  # noqa: ANN001
    totp = pyotp.TOTP(two_factor.begin_setup(owner.merchant_id, owner.id).secret)
    return totp, two_factor.confirm_setup(owner.merchant_id, owner.id, totp.at(T0), now=T0)


def _together(count: int, attempt: Callable[[], object]) -> list[str]:
    """Run ``attempt`` in ``count`` threads released at once: "ok" or the refusal, each."""
    outcomes: list[str] = []
    start = threading.Barrier(count)

    def run() -> None:
        start.wait()
        try:
            attempt()
            outcomes.append("ok")
        except (accounts.AccountError, two_factor.TwoFactorError) as refusal:
            outcomes.append(str(refusal))

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _changes(merchant_id: int) -> list[tuple[str, str | None]]:
    with tenant_session(merchant_id) as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.action == Action.STAFF_UPDATE.value)
                            .order_by(AuditEntry.id)).all()
    return [(row.detail.get("change"), row.ip) for row in rows]


# --- spent once ----------------------------------------------------------------------------


def test_simultaneous_logins_spend_a_recovery_code_once(owner, secret_key):
    _, codes = _turn_on(owner)
    outcomes = _together(PARALLEL, lambda: accounts.log_in(owner.email, PASSWORD, browser="b", code=codes[0],
                                                           now=_at(60)))
    assert outcomes.count("ok") == 1, outcomes
    assert all("Wrong" in outcome for outcome in outcomes if outcome != "ok")
    assert two_factor.status(owner.merchant_id, owner.id).recovery_codes_left == len(codes) - 1
    # The other codes still work, each once.
    assert accounts.log_in(owner.email, PASSWORD, browser="b", code=codes[1], now=_at(61))


def test_simultaneous_logins_accept_a_totp_code_once(owner, secret_key):
    totp, _ = _turn_on(owner)
    code = totp.at(_at(60))
    outcomes = _together(PARALLEL, lambda: accounts.log_in(owner.email, PASSWORD, browser="b", code=code,
                                                           now=_at(60)))
    assert outcomes.count("ok") == 1, outcomes


def test_a_totp_code_is_accepted_once_and_never_an_older_one(owner, secret_key):
    totp, _ = _turn_on(owner)
    # The code that turned it on does not sign in, not even a few seconds later.
    with pytest.raises(accounts.AccountError, match="Wrong"):
        accounts.log_in(owner.email, PASSWORD, browser="b", code=totp.at(T0), now=_at(5))
    assert accounts.log_in(owner.email, PASSWORD, browser="b", code=totp.at(_at(60)), now=_at(60))
    with pytest.raises(accounts.AccountError, match="Wrong"):  # the same code again, same window
        accounts.log_in(owner.email, PASSWORD, browser="b", code=totp.at(_at(60)), now=_at(70))
    with pytest.raises(accounts.AccountError, match="Wrong"):  # the step before: still in the drift window
        accounts.log_in(owner.email, PASSWORD, browser="b", code=totp.at(_at(30)), now=_at(75))
    assert accounts.log_in(owner.email, PASSWORD, browser="b", code=totp.at(_at(90)), now=_at(95))
    with system_session() as session:
        assert session.get(StaffUser, owner.id).totp_last_step == totp.timecode(_at(90))


# --- turning it off, new recovery codes ------------------------------------------------------


def test_turning_off_needs_the_current_password_and_a_code_and_is_audited(owner, secret_key):
    totp, codes = _turn_on(owner)
    with pytest.raises(two_factor.TwoFactorError, match="not right"):  # a session alone is not enough
        two_factor.disable(owner.merchant_id, owner.id, "", totp.at(_at(60)), now=_at(60))
    with pytest.raises(two_factor.TwoFactorError, match="not right"):
        two_factor.disable(owner.merchant_id, owner.id, "wrong-password", codes[0], now=_at(61))
    assert two_factor.status(owner.merchant_id, owner.id) == two_factor.Status(True, len(codes))  # nothing spent
    with pytest.raises(two_factor.TwoFactorError, match="not right"):
        two_factor.disable(owner.merchant_id, owner.id, PASSWORD, "123456", now=_at(62))
    two_factor.disable(owner.merchant_id, owner.id, PASSWORD, totp.at(_at(63)), ip="203.0.113.77", now=_at(63))
    assert two_factor.status(owner.merchant_id, owner.id) == two_factor.Status(False, 0)
    assert _changes(owner.merchant_id)[-1] == ("two-factor-off", "203.0.113.77")
    with system_session() as session:
        outcomes = session.exec(select(LoginAttempt.succeeded).where(LoginAttempt.email == owner.email)
                                .order_by(LoginAttempt.id)).all()
    assert outcomes == [False, False, False, True]  # each try counted as a login attempt


def test_guesses_at_turning_off_wait_like_login_guesses(owner, secret_key):
    totp, _ = _turn_on(owner)
    for second in range(security.EMAIL_THROTTLE.free_failures):
        with pytest.raises(two_factor.TwoFactorError, match="not right"):
            two_factor.disable(owner.merchant_id, owner.id, PASSWORD, "000000", now=_at(60 + second / 10))
    with pytest.raises(two_factor.TwoFactorError, match="Try again"):
        two_factor.disable(owner.merchant_id, owner.id, PASSWORD, totp.at(_at(61)), now=_at(61))
    with pytest.raises(accounts.AccountError, match="Try again"):  # the same delays as the login form
        accounts.log_in(owner.email, PASSWORD, browser="b", code=totp.at(_at(61)), now=_at(61))
    assert two_factor.status(owner.merchant_id, owner.id).enabled


def test_strangers_failing_logins_on_the_email_do_not_block_the_owners_known_browser(owner, secret_key):
    """As at the login form: the browser that signed in before (its known-device cookie) may
    turn it off and renew codes while others' failed logins on the email make them wait."""
    totp, codes = _turn_on(owner)
    for second in range(security.EMAIL_THROTTLE.free_failures + 1):  # a stranger, from many addresses
        with pytest.raises(accounts.AccountError, match="Wrong|Try again"):
            accounts.log_in(owner.email, "guess", browser="x", ip=f"203.0.113.{second + 1}", now=_at(60 + second / 10))
    device = accounts.known_device_cookie(owner.id)
    other_device = accounts.known_device_cookie(_colleague(owner).id)  # vouches for another email
    for refused in (None, other_device, device[:-1] + ("0" if device[-1] != "0" else "1")):
        with pytest.raises(two_factor.TwoFactorError, match="Try again"):
            two_factor.regenerate_recovery_codes(owner.merchant_id, owner.id, codes[0], ip="198.51.100.9",
                                                 device=refused, now=_at(61))
    new = two_factor.regenerate_recovery_codes(owner.merchant_id, owner.id, codes[0], ip="198.51.100.9",
                                               device=device, now=_at(61))
    two_factor.disable(owner.merchant_id, owner.id, PASSWORD, new[0], ip="198.51.100.9", device=device, now=_at(62))
    assert two_factor.status(owner.merchant_id, owner.id) == two_factor.Status(False, 0)


def _colleague(owner) -> StaffUser:  # noqa: ANN001
    with system_session() as session:
        user = StaffUser(merchant_id=owner.merchant_id, email=f"colleague-{owner.id}@shop.test",
                         password_hash=security.hash_password(PASSWORD), role="staff")
        session.add(user)
        session.commit()
        session.refresh(user)
        return user


def test_new_recovery_codes_replace_the_old_ones_and_are_audited(owner, secret_key):
    totp, old = _turn_on(owner)
    with pytest.raises(two_factor.TwoFactorError, match="not right"):
        two_factor.regenerate_recovery_codes(owner.merchant_id, owner.id, "123456", now=_at(60))
    new = two_factor.regenerate_recovery_codes(owner.merchant_id, owner.id, totp.at(_at(61)), now=_at(61))
    assert len(new) == two_factor.RECOVERY_CODE_COUNT and not set(new) & set(old)
    with pytest.raises(accounts.AccountError, match="Wrong"):
        accounts.log_in(owner.email, PASSWORD, browser="b", code=old[0], now=_at(62))
    assert accounts.log_in(owner.email, PASSWORD, browser="b", code=new[0], now=_at(63))
    assert [change for change, _ in _changes(owner.merchant_id)] == ["two-factor-on", "two-factor-recovery-codes"]
    with tenant_session(owner.merchant_id) as session:
        trail = " ".join(str(row.detail) for row in session.exec(select(AuditEntry)).all())
    assert not any(code in trail for code in new + old)
