"""Public Web Push routes of the card page (no login; the install token is the secret).

``GET /api/push/key``: the VAPID public key the browser subscribes with.
``POST /api/push/subscribe``: ``{"token": <install token>, "subscription": <PushSubscription JSON>}``
stores the browser's subscription for that card (upsert by endpoint).
"""

from __future__ import annotations

import asyncio
import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from perkstar_ui.api.bodies import read_capped
from perkstar_ui.api.guard import public_route
from perkstar_ui.api.rate_limit import RateLimiter
from perkstar_ui.services import push_keys, push_subscriptions
from perkstar_ui.services.public_card import CardRefused

# A phone subscribes once per card; a few retries are plenty.
SUBSCRIBE_LIMIT = RateLimiter("push-subscribe", limit=10, window_seconds=60)
MAX_BODY_BYTES = 4096


@public_route
async def public_key(request: Request) -> Response:
    key = await asyncio.to_thread(push_keys.public_key)
    return JSONResponse({"publicKey": key}, headers={"Cache-Control": "public, max-age=3600"})


@public_route
async def subscribe(request: Request) -> Response:
    if not await SUBSCRIBE_LIMIT.admit(request):
        return SUBSCRIBE_LIMIT.refusal()
    body = await read_capped(request, MAX_BODY_BYTES)
    if body is None:
        return JSONResponse({"error": "Request too large."}, status_code=413)
    try:
        data = json.loads(body)
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str):
            raise push_subscriptions.SubscriptionRefused("Expected the card token and a subscription.")
        subscription = push_subscriptions.BrowserSubscription.from_json(data.get("subscription"))
        await asyncio.to_thread(push_subscriptions.subscribe, token, subscription)
    except push_subscriptions.SubscriptionRefused as refusal:
        return JSONResponse({"error": str(refusal)}, status_code=400)
    except ValueError:  # not JSON (or not UTF-8)
        return JSONResponse({"error": "Invalid JSON."}, status_code=400)
    except CardRefused as refusal:
        return JSONResponse({"error": str(refusal)}, status_code=404)
    return JSONResponse({"subscribed": True}, status_code=201)


ROUTES = [
    Route("/api/push/key", public_key, methods=["GET"]),
    Route("/api/push/subscribe", subscribe, methods=["POST"]),
]
