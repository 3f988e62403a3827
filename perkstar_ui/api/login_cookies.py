"""The cookies of signing in: the pre-login browser cookie, the known-device cookie, and
whether cookies are ``Secure``.

``perkstar_browser`` is a random id every browser gets with its first page (set by
``BrowserCookieMiddleware`` on any HTTP response to a request without it, so the login
page's websocket already carries it). The login handler binds its one-time ticket to the
hash of this cookie; ``/api/session`` redeems the ticket only when the same cookie comes
with it (login CSRF: a ticket minted elsewhere logs no one in). ``perkstar_device`` is
signed by the server after a login and names the email: that browser is not slowed by
strangers' failed attempts on the email. Both are HttpOnly and SameSite=Strict.
"""

from __future__ import annotations

from http.cookies import SimpleCookie

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from perkstar_ui import config
from perkstar_ui.domain import security

BROWSER_COOKIE = "perkstar_browser"
DEVICE_COOKIE = "perkstar_device"
LONG_LIVED_SECONDS = 400 * 24 * 3600  # browsers cap cookie lifetimes near 400 days
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def host_is_local(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") else host
    return name.lower() in LOCAL_HOSTS


def secure_for(host: str) -> bool:
    """``Secure`` unless the request is to this machine; ``PERKSTAR_SECURE_COOKIES`` overrides."""
    forced = config.secure_cookies()
    return forced if forced is not None else not host_is_local(host)


def cookie_from_header(cookie_header: str, name: str) -> str | None:
    jar = SimpleCookie()
    try:
        jar.load(cookie_header or "")
    except Exception:  # noqa: BLE001  a malformed header is the same as no cookie
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


def set_private_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="strict",
                        secure=secure_for(request.url.hostname or ""))


def _browser_cookie_header(host: str) -> str:
    response = Response()
    # Lax, not Strict: it is no credential (a ticket minted in another browser is bound to
    # that browser's value), and a Strict cookie missing on a link from an email made the
    # middleware issue a new one under an open login tab, whose ticket then failed.
    response.set_cookie(BROWSER_COOKIE, security.new_token(), max_age=LONG_LIVED_SECONDS, path="/",
                        httponly=True, samesite="lax", secure=secure_for(host))
    return response.headers["set-cookie"]


class BrowserCookieMiddleware:
    """Gives every browser its pre-login cookie with the first HTTP response it gets."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if cookie_from_header(headers.get(b"cookie", b"").decode("latin-1"), BROWSER_COOKIE):
            await self.app(scope, receive, send)
            return
        host = headers.get(b"host", b"").decode("latin-1")

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("set-cookie", _browser_cookie_header(host))
            await send(message)

        await self.app(scope, receive, send_with_cookie)
