"""Real local servers the messaging tests (unit, E2E, bench) deliver to.

``SmtpInbox``: an aiosmtpd server on a free port keeping every email it received (parsed).
``SmsApi``: a Twilio-style Messages API (``POST /2010-04-01/Accounts/{sid}/Messages.json``,
basic auth) on ``http.server``, with scripted answers per recipient and the provider's
side of the status callback (signed the Twilio way, written here independently of the app).
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import secrets
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], bool], timeout: float = 30, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


# --- SMTP ------------------------------------------------------------------------------


@dataclass
class Received:
    peer: tuple
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str | None = None

    @property
    def perkstar_id(self) -> int | None:
        value = self.message.get("X-Perkstar-Message")
        return int(value) if value else None

    @property
    def text(self) -> str:
        return self.message.get_content()


class _Handler:
    def __init__(self, inbox: SmtpInbox) -> None:
        self.inbox = inbox

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, N802
        for marker, reply in self.inbox.refuse.items():
            if marker in address:
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
        if self.inbox.delay:
            time.sleep(self.inbox.delay)  # a slow server (blocks its loop, like a busy relay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        auth = getattr(session, "auth_data", None)
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        with self.inbox.lock:
            self.inbox.messages.append(Received(session.peer, envelope.mail_from, list(envelope.rcpt_tos), message, login))
        return "250 Message accepted for delivery"


class SmtpInbox:
    """An SMTP server keeping what it received. ``refuse`` maps a text found in a recipient
    address to the reply refusing it (e.g. ``{"bounce": "550 No such user"}``)."""

    def __init__(self, *, credentials: tuple[str, str] | None = None, tls_context=None) -> None:  # noqa: ANN001
        self.messages: list[Received] = []
        self.lock = threading.Lock()
        self.refuse: dict[str, str] = {}
        self.delay = 0.0
        self.port = free_port()
        self.host = "127.0.0.1"
        kwargs: dict = {}
        if credentials:
            def authenticate(server, session, envelope, mechanism, auth_data):  # noqa: ANN001
                ok = isinstance(auth_data, LoginPassword) and (auth_data.login.decode(), auth_data.password.decode()) == credentials
                return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

            kwargs.update(authenticator=authenticate, auth_require_tls=tls_context is not None, auth_required=True)
        if tls_context is not None:
            kwargs.update(tls_context=tls_context, require_starttls=True)
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port, **kwargs)

    def start(self) -> SmtpInbox:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.messages)

    def to(self, address: str) -> list[Received]:
        return [item for item in self.received() if address in item.rcpt_tos]

    def with_ids(self, ids: set[int]) -> list[Received]:
        return [item for item in self.received() if item.perkstar_id in ids]

    def wait_for(self, condition: Callable[[list[Received]], bool], timeout: float = 30) -> list[Received]:
        wait_until(lambda: condition(self.received()), timeout)
        return self.received()


# --- SMS (Twilio-style) ------------------------------------------------------------------


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """How Twilio signs a request: HMAC-SHA1 of the URL + sorted name/value pairs, base64."""
    data = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


@dataclass
class SmsRequest:
    account: str
    authorised: bool
    form: dict[str, str]
    status: int
    sid: str | None = None


@dataclass
class SmsApi:
    """The provider. ``script[to]`` lists the HTTP statuses to answer in turn for that
    number (then 201); ``delay`` slows every answer."""

    account_sid: str = "AC" + "0" * 32
    auth_token: str = field(default_factory=lambda: secrets.token_hex(16))
    script: dict[str, list[int]] = field(default_factory=dict)
    requests: list[SmsRequest] = field(default_factory=list)
    delay: float = 0.0

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler_class())
        self._server.daemon_threads = True

    def start(self) -> SmsApi:
        self._serving = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port (also before ``start``: then nothing listens)."""
        if getattr(self, "_serving", False):
            self._server.shutdown()
        self._server.server_close()

    def sent(self, to: str | None = None) -> list[SmsRequest]:
        with self.lock:
            return [r for r in self.requests if r.status < 300 and (to is None or r.form.get("To") == to)]

    def attempts(self, to: str) -> list[SmsRequest]:
        with self.lock:
            return [r for r in self.requests if r.form.get("To") == to]

    def status_report(self, request: SmsRequest, status: str, error_code: str = "") -> tuple[str, dict[str, str], dict[str, str]]:
        """What the provider posts to the request's StatusCallback: (url, form, headers)."""
        form = {"MessageSid": request.sid or "", "MessageStatus": status, "AccountSid": self.account_sid,
                "To": request.form["To"], "From": request.form.get("From", "")}
        if error_code:
            form["ErrorCode"] = error_code
        url = request.form["StatusCallback"]
        return url, form, {"X-Twilio-Signature": twilio_signature(self.auth_token, url, form)}

    def _answer(self, to: str) -> int:
        with self.lock:
            queue = self.script.get(to)
            return queue.pop(0) if queue else 201

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real provider
            disable_nagle_algorithm = True  # headers and body go out in two writes

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in urllib.parse.parse_qs(self.rfile.read(length).decode()).items()}
                parts = self.path.split("/")
                account = parts[3] if len(parts) == 5 and parts[4] == "Messages.json" else ""
                expected = "Basic " + base64.b64encode(f"{api.account_sid}:{api.auth_token}".encode()).decode()
                authorised = hmac.compare_digest(self.headers.get("Authorization", ""), expected)
                if api.delay:
                    time.sleep(api.delay)
                if not account or not authorised or account != api.account_sid:
                    status, body, sid = 401, {"code": 20003, "message": "Authenticate", "status": 401}, None
                else:
                    status = api._answer(form.get("To", ""))
                    sid = "SM" + secrets.token_hex(16) if status < 300 else None
                    if status < 300:
                        body = {"sid": sid, "status": "queued", "to": form.get("To"), "body": form.get("Body")}
                    elif status < 500:
                        body = {"code": 21211, "message": f"The 'To' number {form.get('To')} is not a valid phone number.",
                                "status": status}
                    else:
                        body = {"code": 20500, "message": "Internal Server Error", "status": status}
                with api.lock:
                    api.requests.append(SmsRequest(account, authorised, form, status, sid))
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler
