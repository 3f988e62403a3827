"""The client's address behind reverse proxies (issue 13 review): X-Forwarded-For is read
only with PERKSTAR_TRUSTED_PROXY_HOPS > 0, and then exactly that many entries from the
right; the same rule for the Starlette routes, the Reflex handlers (login) and Reflex's own
router; IPv6 clients are limited per /56."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
from types import SimpleNamespace

import pytest
from reflex.app import EventNamespace
from reflex.istate.data import RouterData
from reflex_base.config import get_config, reload_config
from sqlmodel import select
from starlette.testclient import TestClient

from perkstar_ui import config
from perkstar_ui.api.client_address import router_ip
from perkstar_ui.api.consent import LIMIT
from perkstar_ui.api.login_cookies import BROWSER_COOKIE
from perkstar_ui.api.routes import api
from perkstar_ui.db.models import LoginAttempt
from perkstar_ui.db.tenancy import system_session
from perkstar_ui.domain import security
from perkstar_ui.domain.client_address import client_ip, limit_key
from perkstar_ui.services import accounts
from perkstar_ui.state.login import LoginState

PROXY = "10.0.0.2"
T0 = dt.datetime(2031, 1, 1, 12, tzinfo=dt.timezone.utc)


def _at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
def hops(monkeypatch):
    """Set PERKSTAR_TRUSTED_PROXY_HOPS for one test (Reflex's config reloaded with it)."""

    def set_hops(value: int) -> None:
        monkeypatch.setenv("PERKSTAR_TRUSTED_PROXY_HOPS", str(value))
        config.settings.cache_clear()
        reload_config()

    yield set_hops
    monkeypatch.delenv("PERKSTAR_TRUSTED_PROXY_HOPS", raising=False)
    config.settings.cache_clear()
    reload_config()


# --- the rule --------------------------------------------------------------------------


def test_with_no_trusted_proxy_the_header_is_never_read():
    assert client_ip(PROXY, "198.51.100.7", 0) == PROXY
    assert client_ip(PROXY, "198.51.100.7, 203.0.113.9", 0) == PROXY
    assert client_ip("", "198.51.100.7", 0) == ""


def test_with_one_hop_the_right_most_entry_is_the_client():
    # The client sent "1.2.3.4" itself; the proxy appended what it saw.
    assert client_ip(PROXY, "1.2.3.4, 198.51.100.7", 1) == "198.51.100.7"
    assert client_ip(PROXY, " 198.51.100.7 ", 1) == "198.51.100.7"
    assert client_ip(PROXY, "1.2.3.4, 203.0.113.9, 198.51.100.7", 2) == "203.0.113.9"
    # Fewer entries than hops (the chain was bypassed), none, or a non-address: the peer.
    assert client_ip(PROXY, "198.51.100.7", 2) == PROXY
    assert client_ip(PROXY, "", 1) == PROXY
    assert client_ip(PROXY, "1.2.3.4, unknown", 1) == PROXY
    # Ports and IPv6 brackets some proxies add.
    assert client_ip(PROXY, "198.51.100.7:51234", 1) == "198.51.100.7"
    assert client_ip(PROXY, "[2001:db8::7]:443", 1) == "2001:db8::7"
    assert client_ip(PROXY, "2001:DB8::7", 1) == "2001:db8::7"


def test_ipv6_clients_are_limited_per_56_network():
    # One subscriber's /56 (its /64 networks 2001:db8:1:0 … 2001:db8:1:ff) is one key.
    assert (limit_key("2001:db8:1:2:aaaa::1") == limit_key("2001:db8:1:2:ffff:1:2:3") == limit_key("2001:db8:1::1")
            == limit_key("2001:db8:1:ff:ffff:ffff:ffff:ffff") == "2001:db8:1::/56")
    assert limit_key("2001:db8:1:100::1") == "2001:db8:1:100::/56"  # the next subscriber
    assert limit_key("198.51.100.7") == "198.51.100.7"
    assert limit_key("::ffff:198.51.100.7") == "198.51.100.7"
    assert limit_key("") == "" and limit_key(None) == ""


def test_the_setting_is_validated(monkeypatch):
    monkeypatch.setenv("PERKSTAR_TRUSTED_PROXY_HOPS", "-1")
    with pytest.raises(ValueError):
        config.Settings()
    monkeypatch.setenv("PERKSTAR_TRUSTED_PROXY_HOPS", "2")
    assert config.Settings().trusted_proxy_hops == 2
    monkeypatch.delenv("PERKSTAR_TRUSTED_PROXY_HOPS")
    assert config.Settings().trusted_proxy_hops == 0


# --- the Starlette routes ----------------------------------------------------------------


def _behind_proxy(forwarded_for: str) -> TestClient:
    """A browser whose requests arrive from the proxy's address with this header."""
    client = TestClient(api, client=(PROXY, 40000), headers={"X-Forwarded-For": forwarded_for})
    client.cookies.set(BROWSER_COOKIE, "b")
    return client


def _flood(client: TestClient) -> list[int]:
    return [client.post("/unsubscribe/" + "D" * 43).status_code for _ in range(LIMIT.limit + 1)]


def test_public_route_limits_count_each_client_behind_one_proxy(hops, unique):
    hops(1)
    first = f"198.51.{int(unique[:2], 16)}.{int(unique[2:4], 16)}"
    assert _flood(_behind_proxy(f"1.1.1.1, {first}")) == [200] * LIMIT.limit + [429]
    # Another client behind the same proxy is not refused for the first one's requests...
    assert _behind_proxy(f"198.18.{int(unique[:2], 16)}.1").post("/unsubscribe/" + "D" * 43).status_code == 200
    # ...and the first cannot escape its limit by writing another address in front.
    assert _behind_proxy(f"9.9.9.9, {first}").post("/unsubscribe/" + "D" * 43).status_code == 429


def test_a_spoofed_header_is_ignored_without_trusted_proxies(hops, unique):
    hops(0)
    peer = f"10.77.{int(unique[:2], 16)}.{int(unique[2:4], 16)}"
    statuses = []
    for n in range(LIMIT.limit + 1):  # a new made-up address in every request
        client = TestClient(api, client=(peer, 40000), headers={"X-Forwarded-For": f"203.0.113.{n}"})
        statuses.append(client.post("/unsubscribe/" + "E" * 43).status_code)
    assert statuses == [200] * LIMIT.limit + [429]


def test_ipv6_clients_of_one_56_share_a_route_limit(hops, unique):
    hops(1)
    line = f"2001:db8:{unique[:4]}:{unique[4:6]}"  # a subscriber's /56: its /64s are {line}00 … {line}ff
    statuses = [_behind_proxy(f"{line}{n:02x}::{n + 1:x}").post("/unsubscribe/" + "F" * 43).status_code
                for n in range(LIMIT.limit + 1)]
    assert statuses == [200] * LIMIT.limit + [429]
    next_line = f"2001:db8:{unique[:4]}:{(int(unique[4:6], 16) + 1) % 256:02x}00::1"
    assert _behind_proxy(next_line).post("/unsubscribe/" + "F" * 43).status_code == 200


# --- the Reflex side -----------------------------------------------------------------------


def _reflex_router(peer: str, forwarded_for: str) -> RouterData:
    """The router Reflex builds for a websocket from this handshake (its own code); the
    client also sends a made-up ``asgi-scope-client`` header, which Reflex overwrites."""
    headers = [(b"x-forwarded-for", forwarded_for.encode()), (b"asgi-scope-client", b"6.6.6.6"),
               (b"cookie", f"{BROWSER_COOKIE}=b".encode())]
    data = EventNamespace._build_static_router_data(None, "sid", {"asgi.scope": {"client": (peer, 50000),  # noqa: SLF001
                                                                                 "headers": headers}})
    return RouterData.from_router_data(data)


def test_rxconfig_gives_reflex_the_same_hops_and_both_agree(hops):
    for value, expected in ((0, PROXY), (1, "198.51.100.7"), (2, "1.2.3.4")):
        hops(value)
        assert get_config().trusted_proxy_hops == value
        router = _reflex_router(PROXY, "1.2.3.4, 198.51.100.7")
        assert router_ip(router) == router.session.client_ip == expected


def test_a_client_sent_asgi_scope_client_header_is_never_the_address(hops):
    """Reflex writes the peer over the handshake's ``asgi-scope-client`` header only when the
    ASGI scope names a client; without one (REMOTE_ADDR, or Reflex's "0.0.0.0") the header
    the client made up stays in the router's headers and must not count."""
    headers = [(b"asgi-scope-client", b"6.6.6.6"), (b"x-forwarded-for", b"1.2.3.4, 198.51.100.7")]

    def router(environ: dict) -> RouterData:  # noqa: ANN202
        data = EventNamespace._build_static_router_data(None, "sid", {"asgi.scope": {"headers": headers},  # noqa: SLF001
                                                                      **environ})
        return RouterData.from_router_data(data)

    for environ, peer in (({"REMOTE_ADDR": PROXY}, PROXY), ({}, "0.0.0.0")):
        hops(0)
        assert router(environ).headers.raw_headers["asgi-scope-client"] == "6.6.6.6"  # the made-up header is there
        assert router_ip(router(environ)) == peer
        hops(1)
        assert router_ip(router(environ)) == "198.51.100.7"


def _log_in_over_websocket(email: str, router: RouterData) -> None:
    tab = SimpleNamespace(router=router, form_error="", busy=False, needs_code=False)

    async def run() -> None:
        async for _ in LoginState.log_in.fn(tab, {"email": email, "password": "wrong-password"}):
            pass

    asyncio.run(run())
    assert "Wrong" in tab.form_error


def _attempt_ips(email: str) -> list[str | None]:
    with system_session() as session:
        return list(session.exec(select(LoginAttempt.ip).where(LoginAttempt.email == email)
                                 .order_by(LoginAttempt.id)))


def test_the_login_throttle_counts_the_forwarded_client_and_ipv6_per_56(hops, unique):
    email = f"nobody-{unique}@shop.test"
    hops(0)
    _log_in_over_websocket(email, _reflex_router(PROXY, "203.0.113.50"))
    hops(1)
    _log_in_over_websocket(email, _reflex_router(PROXY, "203.0.113.50, 198.51.100.60"))
    _log_in_over_websocket(email, _reflex_router(PROXY, f"2001:db8:{unique[:4]}:1:aaaa::5"))
    network = str(ipaddress.IPv6Network(f"2001:db8:{unique[:4]}::/56"))  # (a leading zero dropped)
    assert _attempt_ips(email) == [PROXY, "198.51.100.60", network]


def test_login_delays_per_ip_reach_the_whole_56_but_not_the_next(unique):
    line = f"2001:db8:{unique[:4]}:{unique[4:6]}"  # a subscriber's /56
    for n in range(security.IP_THROTTLE.free_failures):  # each from another /64 of the /56
        with pytest.raises(accounts.AccountError, match="Wrong"):
            accounts.log_in(f"x{n}-{unique}@shop.test", "wrong-password", ip=f"{line}{n:02x}::{n + 1:x}", now=_at(n))
    with pytest.raises(accounts.AccountError, match="Try again"):
        accounts.log_in(f"y-{unique}@shop.test", "wrong-password", ip=f"{line}ff:ffff:ffff:ffff:fffe", now=_at(5))
    next_line = f"2001:db8:{unique[:4]}:{(int(unique[4:6], 16) + 1) % 256:02x}00::1"
    with pytest.raises(accounts.AccountError, match="Wrong"):  # the next /56 is someone else
        accounts.log_in(f"z-{unique}@shop.test", "wrong-password", ip=next_line, now=_at(5))
