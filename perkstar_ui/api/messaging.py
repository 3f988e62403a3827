"""The SMS provider's delivery reports (no login: the provider calls us).

``POST /api/sms/status`` with Twilio's form fields (MessageSid, MessageStatus, ErrorCode)
marks a sent SMS ``delivered`` or ``failed``. Only requests signed with our auth token are
believed (``X-Twilio-Signature`` over the callback URL we gave the provider and the form
fields); the answer is the same empty 204 whether or not the message is known. Requests
with a bad signature are refused and rate-limited per client; genuine reports are not, as
a provider sends many from few addresses.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from perkstar_ui.api.guard import public_route
from perkstar_ui.api.rate_limit import RateLimiter
from perkstar_ui.config import settings
from perkstar_ui.services import outbox
from perkstar_ui.services.providers import sms

BAD_SIGNATURES = RateLimiter("sms-status-refused", limit=20, window_seconds=60)
MAX_FORM_FIELDS = 50


@public_route
async def sms_status(request: Request) -> Response:
    """``POST /api/sms/status``: a delivery report for one SMS."""
    config = settings()
    async with request.form(max_fields=MAX_FORM_FIELDS, max_files=0) as form:
        params = {name: str(value) for name, value in form.items()}
    signature = request.headers.get(sms.SIGNATURE_HEADER, "")
    if not sms.signature_valid(config.sms_auth_token, sms.status_callback_url(config), params, signature):
        if not await BAD_SIGNATURES.admit(request):
            return BAD_SIGNATURES.refusal()
        return PlainTextResponse("Bad signature.", status_code=403)
    await asyncio.to_thread(
        outbox.apply_delivery_report,
        params.get("MessageSid", "")[:120], params.get("MessageStatus", ""), params.get("ErrorCode", "")[:20],
    )
    return Response(status_code=204)


ROUTES = [Route(sms.STATUS_CALLBACK_PATH, sms_status, methods=["POST"])]
