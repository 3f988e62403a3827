"""HTTP endpoints beside the Reflex app (mounted through ``api_transformer``).

Only plain HTTP lives here: the login cookie exchange and logout now; CSV downloads
and the Stripe webhook later. Each route resolves the merchant from the session cookie
itself; nothing here trusts the browser for who it is.
"""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from perkstar_ui import config
from perkstar_ui.services import accounts

SESSION_COOKIE = "perkstar_session"


async def start_session(request: Request) -> Response:
    """``GET /api/session?ticket=…``: trade the one-time login ticket for the cookie."""
    ticket = request.query_params.get("ticket", "")
    redeemed = await asyncio.to_thread(accounts.redeem_ticket, ticket) if ticket else None
    if redeemed is None:
        return RedirectResponse("/login", status_code=303)
    token, expires_at = redeemed
    response = RedirectResponse("/customers", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(config.session_hours() * 3600),
        path="/",
        httponly=True,  # never readable by page scripts
        samesite="strict",
        secure=config.secure_cookies(),
    )
    return response


async def end_session(request: Request) -> Response:
    """``POST /api/logout``: delete the server session and the cookie."""
    await asyncio.to_thread(accounts.log_out, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


api = Starlette(
    routes=[
        Route("/api/session", start_session, methods=["GET"]),
        Route("/api/logout", end_session, methods=["POST"]),
    ]
)
