"""Public HTTP routes of the card page (no login): the per-card web app manifest and the
offline copy of the card that the service worker (assets/sw.js) keeps for the counter."""

from __future__ import annotations

import asyncio
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from perkstar_ui.api.guard import public_route
from perkstar_ui.services import public_card


@public_route
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


# The offline copy is self-contained (inline style, the QR as a data URI): nothing else loads.
_OFFLINE_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_OFFLINE_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:0;background:#f5f5f7;color:#111}"
    "main{max-width:420px;margin:0 auto;padding:16px}"
    ".card{background:#f4f0ff;border-radius:12px;padding:20px}"
    ".label{font-size:12px;color:#666;margin-top:12px}.value{font-size:20px;font-weight:700}"
    ".qr{display:block;margin:20px auto;width:220px;height:220px;image-rendering:pixelated;background:#fff}"
    ".note{font-size:13px;color:#666;text-align:center}li{margin:6px 0}"
)


def _field(label: str, value: str, testid: str) -> str:
    if not value:
        return ""
    return (f'<div class="label">{escape(label)}</div>'
            f'<div class="value" data-testid="{testid}">{escape(value)}</div>')


def offline_page(card: public_card.PublicCard, messages: list[public_card.CardMessage]) -> str:
    """The card as plain HTML, readable with no network and no server."""
    qr = f'<img class="qr" alt="QR code of card number {escape(card.serial)}" src="{escape(card.qr_svg_data_uri)}">' \
        if card.qr_svg_data_uri else ""
    recent = "".join(f"<li>{escape(m.text)} <small>{escape(m.sent_at)}</small></li>" for m in messages[:5])
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{escape(card.business)} · {escape(card.template_name)}</title>'
        f"<style>{_OFFLINE_STYLE}</style></head><body><main>"
        f'<div class="card" data-testid="card-offline"><div data-testid="card-business">{escape(card.business)}</div>'
        f"<h1>{escape(card.template_name)}</h1>"
        + _field("Card holder", card.holder, "card-holder")
        + _field(card.balance_label, card.balance if card.balance_label else "", "card-balance")
        + _field(card.tier_label, card.tier, "card-tier")
        + _field("Card number", card.serial, "card-serial")
        + _field("Valid until", card.expiration, "card-expiration")
        + _field("Status", card.status, "card-status")
        + f"</div>{qr}"
        + (f"<h2>Messages</h2><ul>{recent}</ul>" if recent else "")
        + '<p class="note">Offline copy: balances may have changed since it was saved.</p>'
        "</main></body></html>"
    )


@public_route
async def card_offline_page(request: Request) -> Response:
    """``GET /api/cards/public/{token}/offline.html``: fetched by the service worker while
    online and shown by it when the network is down."""
    token = request.path_params["token"]
    card = await asyncio.to_thread(public_card.load_public_card, token)
    if card is None:
        return PlainTextResponse("Card not found.", status_code=404)
    messages = await asyncio.to_thread(public_card.card_messages, token, 5)
    return HTMLResponse(
        offline_page(card, messages),
        headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex", "Content-Security-Policy": _OFFLINE_POLICY},
    )


ROUTES = [
    Route("/api/cards/public/{token}/manifest.webmanifest", card_manifest, methods=["GET"]),
    Route("/api/cards/public/{token}/offline.html", card_offline_page, methods=["GET"]),
]
