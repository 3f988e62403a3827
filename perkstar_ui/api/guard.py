"""The one guard for our Starlette routes: every route declares what it needs.

- ``@route_requires(Permission.X)``: the login comes from the HttpOnly session cookie
  (session row, the staff user's ``active`` flag and role, the merchant); none → 401
  "Log in first.", a role without ``X`` → 403 "You don't have access.". The handler
  reads the resolved ``LoginContext`` with ``login_of(request)``.
- ``@public_route``: no login (public card files, push subscribe, unsubscribe, Stripe and
  SMS webhooks, health checks, the login cookie exchange itself): they authenticate by
  an unguessable token or a signature, or serve nothing private.

``tests/unit/test_guard_enumeration.py`` fails when a route of ``routes.api`` declares
neither. ``json=True`` answers refusals as ``{"error": …}`` for routes the app's scripts
read as JSON.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from perkstar_ui.domain.permissions import Declared, Permission, allowed, mark
from perkstar_ui.services.accounts import LoginContext, resolve_session

SESSION_COOKIE = "perkstar_session"
LOG_IN_FIRST = "Log in first."
NO_ACCESS = "You don't have access."
_LOGIN_KEY = "perkstar_login"

Endpoint = Callable[[Request], Awaitable[Response]]


def login_of(request: Request) -> LoginContext:
    """The login ``route_requires`` resolved for this request."""
    return getattr(request.state, _LOGIN_KEY)


def _refusal(message: str, status: int, json: bool) -> Response:
    return JSONResponse({"error": message}, status_code=status) if json else PlainTextResponse(message, status_code=status)


def route_requires(permission: Permission, *, json: bool = False) -> Callable[[Endpoint], Endpoint]:
    def decorate(fn: Endpoint) -> Endpoint:
        @functools.wraps(fn)
        async def guarded(request: Request) -> Response:
            context = await asyncio.to_thread(resolve_session, request.cookies.get(SESSION_COOKIE))
            if context is None:
                return _refusal(LOG_IN_FIRST, 401, json)
            if not allowed(context.role, permission):
                return _refusal(NO_ACCESS, 403, json)
            setattr(request.state, _LOGIN_KEY, context)
            return await fn(request)

        return mark(guarded, permission)

    return decorate


def public_route(fn: Endpoint) -> Endpoint:
    return mark(fn, Declared.PUBLIC)
