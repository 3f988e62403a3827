"""Issue 15: started by Reflex's own flags on an arbitrary port, the app logs in and shows
the grid; the websocket accepts any origin that is the request's own Host (also one that
PERKSTAR_PUBLIC_URL does not list: the conftest lists 127.0.0.1 and localhost only, for
the SMS status callback) and refuses others; a refused connection shows the banner."""

from __future__ import annotations

import base64
import os
import socket
from urllib.parse import urlsplit

from playwright.sync_api import Page, WebSocketRoute, expect

from tests.e2e.conftest import PASSWORD, goto, log_in

HANDSHAKE = "/_event/?EIO=4&transport=websocket"
REFUSED = 403  # engine.io's "not an accepted origin", as the ASGI server answers an upgrade


def _handshake_status(base_url: str, origin: str, host: str | None = None) -> int:
    """The HTTP status of a raw websocket upgrade to Reflex's event endpoint."""
    parts = urlsplit(base_url)
    request = (
        f"GET {HANDSHAKE} HTTP/1.1\r\n"
        f"Host: {host or parts.netloc}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        f"Origin: {origin}\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(request.encode())
        status_line = connection.recv(4096).split(b"\r\n", 1)[0].decode()
    return int(status_line.split()[1])


def test_started_with_only_reflex_flags_the_app_logs_in_and_shows_the_grid(page: Page, shop):  # noqa: ANN001
    log_in(page, shop[1], PASSWORD)
    expect(page.get_by_test_id("customer-grid")).to_be_visible()
    expect(page.get_by_test_id("tile-total-customers")).to_be_visible()
    expect(page.get_by_test_id("connection-lost")).to_have_count(0)


def test_the_websocket_accepts_its_own_origin_and_refuses_others(base_url: str):
    own = base_url  # http://127.0.0.1:<port>
    port = urlsplit(base_url).port
    assert _handshake_status(base_url, own) == 101
    assert _handshake_status(base_url, f"http://localhost:{port}", host=f"localhost:{port}") == 101
    # a name no setting lists: accepted because it is the request's own Host (a fresh
    # start on any host or port needs no configuration)
    assert _handshake_status(base_url, f"http://counter-7.shop.test:{port}", host=f"counter-7.shop.test:{port}") == 101
    assert _handshake_status(base_url, "http://evil.example") == REFUSED
    assert _handshake_status(base_url, f"http://127.0.0.1:{port + 1}") == REFUSED  # another port
    other = f"http://counter-7.shop.test:{port}"
    assert _handshake_status(base_url, other, host=f"counter-8.shop.test:{port}") == REFUSED  # Host disagrees


def test_a_refused_connection_shows_the_banner(page: Page, shop):  # noqa: ANN001
    log_in(page, shop[1], PASSWORD)
    expect(page.get_by_test_id("connection-lost")).to_have_count(0)

    def refuse(ws: WebSocketRoute) -> None:
        ws.close(code=1008, reason="not an accepted origin")

    page.route_web_socket("**/_event/**", refuse)
    page.reload()
    banner = page.get_by_test_id("connection-lost")
    expect(banner).to_be_visible(timeout=30_000)
    expect(banner).to_have_attribute("role", "alert")
    fresh = page.context.new_page()  # not routed: connects again, no banner
    goto(fresh, "/customers")
    expect(fresh.get_by_test_id("customer-grid")).to_be_visible()
    expect(fresh.get_by_test_id("connection-lost")).to_have_count(0)
