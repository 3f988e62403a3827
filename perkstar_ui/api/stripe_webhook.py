"""Stripe's webhook (issue 12; no login: Stripe calls us, the signature says it is Stripe).

``POST /api/stripe/webhook`` (the contract path) is signed with the installation's
``STRIPE_WEBHOOK_SECRET``; ``POST /api/stripe/webhook/{token}`` is a merchant's own endpoint
(shown on /settings), signed with that merchant's saved signing secret and reaching only
that merchant's cards. The raw body is checked before anything is parsed; a bad or
missing signature is 400 and nothing is stored. Everything else is 200 once stored
(``services.stripe_webhook``), so Stripe stops redelivering what we already keep.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from perkstar_ui.api.bodies import read_capped
from perkstar_ui.api.guard import public_route
from perkstar_ui.services import stripe_webhook
from perkstar_ui.services.stripe_account import WEBHOOK_PATH

SIGNATURE_HEADER = "stripe-signature"
MAX_BODY_BYTES = 1_000_000  # Stripe's events are a few kB; anything this large is not one


@public_route
async def stripe_event(request: Request) -> Response:
    body = await read_capped(request, MAX_BODY_BYTES)
    if body is None:
        return JSONResponse({"error": "too large"}, status_code=413)
    receipt = await asyncio.to_thread(
        stripe_webhook.receive, body, request.headers.get(SIGNATURE_HEADER),
        merchant_token=request.path_params.get("token"),
    )
    if receipt.status_code != 200:
        return JSONResponse({"error": receipt.outcome}, status_code=receipt.status_code)
    return JSONResponse({"received": True, "outcome": receipt.outcome})


ROUTES = [
    Route(WEBHOOK_PATH, stripe_event, methods=["POST"]),
    Route(WEBHOOK_PATH + "/{token}", stripe_event, methods=["POST"]),
]
