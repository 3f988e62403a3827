"""``GET /api/audit.csv[?actor=…&action=…&from=YYYY-MM-DD&to=YYYY-MM-DD]``: the merchant's
audit trail, newest first, streamed (owners only)."""

from __future__ import annotations

from starlette.concurrency import iterate_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from perkstar_ui.api.csv_stream import csv_lines
from perkstar_ui.api.guard import login_of, route_requires
from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import audit

ROUTE = "/api/audit.csv"


@route_requires(Permission.VIEW_AUDIT)
async def audit_csv(request: Request) -> Response:
    merchant_id = login_of(request).merchant_id
    query = request.query_params
    flt = audit.filter_from_text(query.get("actor", ""), query.get("action", ""), query.get("from", ""), query.get("to", ""))
    rows = (audit.csv_row(row) for row in audit.iter_entries(merchant_id, flt))
    return StreamingResponse(
        iterate_in_threadpool(csv_lines(audit.CSV_HEADER, rows)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="perkstar-audit.csv"', "Cache-Control": "no-store"},
    )


ROUTES = [Route(ROUTE, audit_csv, methods=["GET"])]
