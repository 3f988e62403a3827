"""Public HTTP route of the card page (no login): the per-card web app manifest."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from perkstar_ui.services import public_card


async def card_manifest(request: Request) -> Response:
    """``GET /api/cards/public/{token}/manifest.webmanifest``: installs the card page as a PWA."""
    manifest = await asyncio.to_thread(public_card.card_manifest, request.path_params["token"])
    if manifest is None:
        return PlainTextResponse("Card not found.", status_code=404)
    return JSONResponse(
        manifest,
        media_type="application/manifest+json",
        headers={"Cache-Control": "no-cache", "X-Robots-Tag": "noindex"},
    )


ROUTES = [
    Route("/api/cards/public/{token}/manifest.webmanifest", card_manifest, methods=["GET"]),
]
