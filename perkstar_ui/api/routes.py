"""HTTP endpoints beside the Reflex app (mounted through ``api_transformer``).

Only plain HTTP lives here: the login cookie exchange and logout now; CSV downloads
and the Stripe webhook later. Each route declares its permission with ``api.guard``
(``route_requires`` resolves the login from the session cookie and checks the role; nothing
here trusts the browser for who it is) or is declared ``public_route``.
"""

from __future__ import annotations

import asyncio
import functools

from starlette.applications import Starlette
from starlette.concurrency import iterate_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.middleware import Middleware
from starlette.routing import Route

from perkstar_ui import config
from perkstar_ui.api import consent as consent_routes
from perkstar_ui.api import login_cookies
from perkstar_ui.api import messaging as messaging_routes
from perkstar_ui.api import ops as ops_routes
from perkstar_ui.api import public_card as public_card_routes
from perkstar_ui.api import push as push_routes
from perkstar_ui.api import stripe_webhook as stripe_routes
from perkstar_ui.api import audit_csv as audit_routes
from perkstar_ui.api.client_address import request_ip
from perkstar_ui.api.guard import SESSION_COOKIE, login_of, public_route, route_requires
from perkstar_ui.api.csv_stream import csv_lines
from perkstar_ui.domain import filters
from perkstar_ui.domain.permissions import Permission
from perkstar_ui.logs import RequestIdMiddleware
from perkstar_ui.services import accounts, customer_profile, exporting, importing, uploads


@public_route  # the one-time ticket and the pre-login cookie are the credentials
async def start_session(request: Request) -> Response:
    """``GET /api/session?ticket=…``: trade the one-time login ticket for the cookie, only in
    the browser that typed the password (its pre-login cookie); the session this browser
    had before ends on the server."""
    ticket = request.query_params.get("ticket", "")
    redeemed = await asyncio.to_thread(
        functools.partial(accounts.redeem_ticket, ticket, browser=request.cookies.get(login_cookies.BROWSER_COOKIE),
                          replaces=request.cookies.get(SESSION_COOKIE))
    ) if ticket else None
    if redeemed is None:
        return RedirectResponse("/login", status_code=303)
    token, staff_user_id = redeemed
    response = RedirectResponse("/customers", status_code=303)
    # HttpOnly (never readable by page scripts), SameSite=Strict, Secure except on localhost.
    login_cookies.set_private_cookie(response, request, SESSION_COOKIE, token, int(config.session_hours() * 3600))
    device = await asyncio.to_thread(accounts.known_device_cookie, staff_user_id)
    login_cookies.set_private_cookie(response, request, login_cookies.DEVICE_COOKIE, device,
                                     login_cookies.LONG_LIVED_SECONDS)
    return response


@public_route  # ends whatever session the cookie names, if any
async def end_session(request: Request) -> Response:
    """``POST /api/logout``: delete the server session and the cookie."""
    await asyncio.to_thread(functools.partial(accounts.log_out, request.cookies.get(SESSION_COOKIE),
                                              ip=request_ip(request) or None))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=login_cookies.secure_for(request.url.hostname or ""))
    return response


def _csv_response(header: list[str], rows, filename: str, *, neutralised: bool = False) -> StreamingResponse:  # noqa: ANN001
    return StreamingResponse(
        iterate_in_threadpool(csv_lines(header, rows, neutralised=neutralised)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@route_requires(Permission.EXPORT)  # a download is an export: not for staff (the counter role)
async def card_history_csv(request: Request) -> Response:
    """``GET /api/cards/{card_id}/history.csv``: one card's whole history, streamed (audited)."""
    login = login_of(request)
    found = await asyncio.to_thread(functools.partial(
        customer_profile.iter_card_history, login.merchant_id, request.path_params["card_id"],
        staff_user_id=login.staff_user_id, ip=request_ip(request) or None))
    if found is None:  # no such card, or another merchant's
        return PlainTextResponse("No such card.", status_code=404)
    serial, rows = found
    return _csv_response(customer_profile.HISTORY_COLUMNS, (row.as_csv() for row in rows), f"card-{serial}-history.csv")


@route_requires(Permission.IMPORT)
async def import_template_csv(request: Request) -> Response:
    """``GET /api/customers/import-template.csv``: Q8 columns + custom fields + an example."""
    merchant_id = login_of(request).merchant_id
    header, example = await asyncio.to_thread(importing.template_rows, merchant_id)
    return _csv_response(header, [example], "perkstar-import-template.csv")


MAX_FILTER_CHARS = 200_000  # 20 conditions × 50 listed values fit with room to spare


@route_requires(Permission.EXPORT)
async def export_customers_csv(request: Request) -> Response:
    """``GET /api/customers/export.csv[?search=…]`` or ``POST`` with form fields ``search`` and
    ``filter`` (domain.filters JSON; the app posts, since a large filter outgrows a URL):
    everyone matching the search and the filter, streamed; 400 with the reason for a bad filter."""
    merchant_id = login_of(request).merchant_id
    fields = await request.form(max_part_size=MAX_FILTER_CHARS) if request.method == "POST" else request.query_params
    search = str(fields.get("search", ""))[:100]
    try:
        raw_filter = str(fields.get("filter", ""))
        if len(raw_filter) > MAX_FILTER_CHARS:
            raise filters.FilterError("The filter is too large to export.")
        spec = filters.from_json(raw_filter)
        header, rows = await asyncio.to_thread(
            functools.partial(exporting.export_rows, merchant_id, search, spec,
                              staff_user_id=login_of(request).staff_user_id,
                              ip=request_ip(request) or None))
    except filters.FilterError as error:
        return PlainTextResponse(str(error), status_code=400)
    return _csv_response(header, rows, "perkstar-customers.csv", neutralised=True)


@route_requires(Permission.IMPORT, json=True)
async def upload_import(request: Request) -> Response:
    """``POST /api/imports`` (raw CSV body): stored privately; answers an upload token.

    The body goes to disk as it arrives; the size limit and the merchant's cap on pending
    uploads are enforced on the server while it streams in (413 / 429 with a message).
    """
    merchant_id = login_of(request).merchant_id
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > uploads.MAX_UPLOAD_BYTES:
        return JSONResponse({"error": uploads.TOO_LARGE_MESSAGE}, status_code=413)
    try:
        token, size = await uploads.receive_upload(merchant_id, request.stream())
    except uploads.TooManyUploads as refusal:
        return JSONResponse({"error": str(refusal)}, status_code=429)
    except importing.ImportRefused as refusal:
        return JSONResponse({"error": str(refusal)}, status_code=413)
    return JSONResponse({"token": token, "size": size})


@route_requires(Permission.IMPORT)
async def import_errors_csv(request: Request) -> Response:
    """``GET /api/imports/{token}/errors.csv``: the rejected rows of a preview, with reasons."""
    merchant_id = login_of(request).merchant_id
    template = request.query_params.get("template", "")
    try:
        result = await asyncio.to_thread(
            importing.preview, merchant_id, request.path_params["token"], int(template) if template.isdigit() else None
        )
    except (importing.ImportRefused, ValueError) as refusal:
        return PlainTextResponse(str(refusal), status_code=404)
    return _csv_response(["Row", "Problem"], ([r.line, r.reason] for r in result.rejected), "import-errors.csv")


api = Starlette(
    routes=[
        Route("/api/session", start_session, methods=["GET"]),
        Route("/api/logout", end_session, methods=["POST"]),
        Route("/api/cards/{card_id:int}/history.csv", card_history_csv, methods=["GET"]),
        Route("/api/customers/import-template.csv", import_template_csv, methods=["GET"]),
        Route("/api/customers/export.csv", export_customers_csv, methods=["GET", "POST"]),
        Route("/api/imports", upload_import, methods=["POST"]),
        Route("/api/imports/{token}/errors.csv", import_errors_csv, methods=["GET"]),
        *public_card_routes.ROUTES,
        *push_routes.ROUTES,
        *consent_routes.ROUTES,
        *messaging_routes.ROUTES,
        *stripe_routes.ROUTES,
        *audit_routes.ROUTES,
        *ops_routes.ROUTES,
    ],
    middleware=[Middleware(RequestIdMiddleware)],
)
# Every browser gets its pre-login cookie with its first page (login CSRF: login_cookies).
api.add_middleware(login_cookies.BrowserCookieMiddleware)
