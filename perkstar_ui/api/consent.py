"""Public unsubscribe routes (no login; the link in every email).

``GET /unsubscribe/{token}`` only shows a page with an Unsubscribe button: mail scanners
and link previews follow links, so a GET must never withdraw anything.
``POST /unsubscribe/{token}`` withdraws email consent; it is also the RFC 8058 one-click
target named by the ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` header.
Both answer the same page whether or not the token is known, and are rate-limited per
client address.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from perkstar_ui.api.guard import public_route
from perkstar_ui.api.rate_limit import RateLimiter
from perkstar_ui.domain.messages import Channel
from perkstar_ui.services import consent

LIMIT = RateLimiter("unsubscribe", limit=30, window_seconds=60)

_HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
    "Referrer-Policy": "no-referrer",  # the token is in the URL
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem;color:#1c2024}}
button{{font:inherit;padding:.6rem 1.4rem;border-radius:.4rem;border:0;background:#1c2024;color:#fff;cursor:pointer}}
</style></head>
<body><h1>{title}</h1>{body}</body></html>
"""

_ASK = _PAGE.format(
    title="Unsubscribe",
    body=(
        "<p>Stop receiving marketing emails from this business?</p>"
        '<form method="post">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit" data-testid="unsubscribe-confirm">Unsubscribe</button>'
        "</form>"
    ),
)

_DONE = _PAGE.format(
    title="Unsubscribed",
    body='<p data-testid="unsubscribe-done">You will no longer receive marketing emails from this business.</p>',
)


@public_route
async def unsubscribe_page(request: Request) -> Response:
    """``GET /unsubscribe/{token}``: the confirmation page; changes nothing."""
    if not await LIMIT.admit(request):
        return LIMIT.refusal()
    return HTMLResponse(_ASK, headers=_HEADERS)


@public_route
async def unsubscribe(request: Request) -> Response:
    """``POST /unsubscribe/{token}``: withdraw email consent (the page's button, or a mail
    client's one-click POST); the same answer for any token."""
    if not await LIMIT.admit(request):
        return LIMIT.refusal()
    await asyncio.to_thread(consent.withdraw, request.path_params["token"], Channel.EMAIL)
    return HTMLResponse(_DONE, headers=_HEADERS)


ROUTES = [
    Route(consent.UNSUBSCRIBE_PATH + "/{token}", unsubscribe_page, methods=["GET"]),
    Route(consent.UNSUBSCRIBE_PATH + "/{token}", unsubscribe, methods=["POST"]),
]
