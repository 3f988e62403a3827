"""SMS through a Twilio-style Messages API, configured by the ``SMS_*`` variables.

``POST {SMS_API_BASE}/2010-04-01/Accounts/{SMS_ACCOUNT_SID}/Messages.json`` with basic auth
(account sid, auth token) and the form fields To, From, Body, StatusCallback. One pooled
``httpx.Client`` lives as long as the provider. 2xx: accepted, the answer's ``sid`` is kept
to match the status callback; 4xx (but 429): permanent, the provider's message is the
reason; 5xx, 429 and network errors: worth a retry.

The provider reports delivery to our status route (``/api/sms/status``), signed the Twilio
way: ``X-Twilio-Signature`` = base64(HMAC-SHA1(auth token, URL + each form field's name
and value, sorted by name)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

import httpx

from perkstar_ui.config import Settings, settings
from perkstar_ui.domain.messages import Channel
from perkstar_ui.services.providers.base import Outbound, SendResult

STATUS_CALLBACK_PATH = "/api/sms/status"
SIGNATURE_HEADER = "X-Twilio-Signature"
TIMEOUT_SECONDS = 15
RETRYABLE_CLIENT_ERRORS = {408, 429}


def status_callback_url(config: Settings) -> str:
    """The public URL the provider posts delivery reports to (and that it signs)."""
    return config.public_urls[0].rstrip("/") + STATUS_CALLBACK_PATH


def request_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_valid(auth_token: str, url: str, params: Mapping[str, str], signature: str) -> bool:
    if not auth_token or not signature:
        return False
    return hmac.compare_digest(request_signature(auth_token, url, params), signature)


def _provider_error(response: httpx.Response) -> str:
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    detail = answer.get("message") if isinstance(answer, dict) else None
    code = answer.get("code") if isinstance(answer, dict) else None
    text = detail or response.text[:200] or response.reason_phrase
    return (f"SMS provider {response.status_code}" + (f" (error {code})" if code else "") + f": {text}")[:500]


class SmsProvider:
    channel = Channel.SMS

    def __init__(self, config: Settings | None = None) -> None:
        self._config = config or settings()
        self._client: httpx.Client | None = None

    def configured(self) -> bool:
        config = self._config
        return bool(config.sms_api_base and config.sms_account_sid and config.sms_auth_token)

    @property
    def messages_path(self) -> str:
        return f"/2010-04-01/Accounts/{self._config.sms_account_sid}/Messages.json"

    def _http(self) -> httpx.Client:
        if self._client is None:
            config = self._config
            self._client = httpx.Client(
                base_url=config.sms_api_base.rstrip("/"),
                auth=(config.sms_account_sid, config.sms_auth_token),
                timeout=TIMEOUT_SECONDS,
                limits=httpx.Limits(max_keepalive_connections=10, max_connections=20),
            )
        return self._client

    def _send_one(self, message: Outbound) -> SendResult:
        form = {"To": message.recipient, "From": self._config.sms_from, "Body": message.body,
                "StatusCallback": status_callback_url(self._config)}
        try:
            response = self._http().post(self.messages_path, data=form)
        except httpx.HTTPError as error:
            return SendResult(message.id, False, error=f"SMS provider unreachable: {error.__class__.__name__}: {error}"[:500])
        if response.is_success:
            try:
                answer = response.json()
            except ValueError:
                answer = None
            sid = answer.get("sid") if isinstance(answer, dict) else None
            return SendResult(message.id, True, provider_message_id=str(sid) if sid else None)
        permanent = response.is_client_error and response.status_code not in RETRYABLE_CLIENT_ERRORS
        return SendResult(message.id, False, error=_provider_error(response), permanent=permanent)

    def send_batch(self, messages: list[Outbound]) -> list[SendResult]:
        results = []
        for message in messages:
            try:
                results.append(self._send_one(message))
            except Exception as error:  # noqa: BLE001 - one message's bug must not fail the others
                results.append(SendResult(message.id, False, error=f"SMS: {error.__class__.__name__}: {error}"[:500]))
        return results

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()
