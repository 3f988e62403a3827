"""The SMTP and SMS providers against real local servers (aiosmtpd; a Twilio-style HTTP API)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from perkstar_ui.config import Settings
from perkstar_ui.domain.messages import Channel
from perkstar_ui.services.providers.base import Outbound
from perkstar_ui.services.providers.sms import SmsProvider, request_signature, signature_valid
from perkstar_ui.services.providers.smtp import SmtpProvider
from tests.messaging_servers import SmsApi, SmtpInbox, twilio_signature


def _email(message_id: int, to: str, *, body: str = "Hello Ada, 3 stamps to go", unsubscribe: str = "") -> Outbound:
    return Outbound(id=message_id, merchant_id=1, merchant_name="Café Zoë", channel=Channel.EMAIL, recipient=to,
                    subject="Your October treat", body=body, unsubscribe_url=unsubscribe)


def _sms(message_id: int, to: str, body: str = "Hi Ada: 2 stamps to your free coffee") -> Outbound:
    return Outbound(id=message_id, merchant_id=1, merchant_name="Café", channel=Channel.SMS, recipient=to,
                    subject=None, body=body)


def _smtp_settings(server: SmtpInbox, **extra: str) -> Settings:
    return Settings(SMTP_HOST=server.host, SMTP_PORT=server.port, SMTP_TLS="none", SMTP_FROM="news@perkstar.test",
                    **extra)


def _sms_settings(api: SmsApi) -> Settings:
    return Settings(SMS_API_BASE=api.base_url, SMS_ACCOUNT_SID=api.account_sid, SMS_AUTH_TOKEN=api.auth_token,
                    SMS_FROM="+447700900000", PERKSTAR_PUBLIC_URL="https://shop.example")


# --- SMTP ----------------------------------------------------------------------------------


def test_smtp_sends_a_batch_over_one_connection_with_one_click_unsubscribe(inbox: SmtpInbox) -> None:
    provider = SmtpProvider(_smtp_settings(inbox))
    link = "https://shop.example/unsubscribe/abc"
    results = provider.send_batch([_email(1, "ada@example.test", unsubscribe=link),
                                   _email(2, "bob@example.test", body="Hi Bob", unsubscribe=link + "2"),
                                   _email(3, "cy@example.test", body="Hi Cy")])
    more = provider.send_batch([_email(4, "dee@example.test")])  # the next batch reuses it too
    provider.close()

    assert [r.accepted for r in results + more] == [True] * 4
    assert all(r.provider_message_id.startswith("<") for r in results)
    received = inbox.received()
    assert [r.perkstar_id for r in received] == [1, 2, 3, 4]
    assert len({r.peer for r in received}) == 1, "one SMTP connection for both batches"
    first = received[0]
    assert first.rcpt_tos == ["ada@example.test"]
    assert first.mail_from == "news@perkstar.test"
    assert first.message["Subject"] == "Your October treat"
    assert first.message["From"].addresses[0].display_name == "Café Zoë"
    assert first.message["List-Unsubscribe"] == f"<{link}>"
    assert first.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Hello Ada, 3 stamps to go" in first.text
    assert link in first.text  # the footer link for people
    assert "List-Unsubscribe" not in received[2].message  # no link given, no header


def test_smtp_5xx_is_permanent_4xx_is_retryable_and_the_batch_goes_on(inbox: SmtpInbox) -> None:
    inbox.refuse = {"bounce": "550 5.1.1 No such user", "busy": "451 4.3.0 Try later"}
    provider = SmtpProvider(_smtp_settings(inbox))
    results = provider.send_batch([_email(1, "bounce@example.test"), _email(2, "busy@example.test"),
                                   _email(3, "fine@example.test")])
    provider.close()
    assert (results[0].accepted, results[0].permanent) == (False, True)
    assert "550" in results[0].error and "No such user" in results[0].error
    assert (results[1].accepted, results[1].permanent) == (False, False)
    assert "451" in results[1].error
    assert results[2].accepted
    assert [r.perkstar_id for r in inbox.received()] == [3]


def test_smtp_server_down_is_retryable() -> None:
    server = SmtpInbox()  # never started: nothing listens on its port
    results = SmtpProvider(_smtp_settings(server)).send_batch([_email(1, "ada@example.test")])
    assert (results[0].accepted, results[0].permanent) == (False, False)
    assert "ConnectionRefused" in results[0].error


def test_smtp_reconnects_when_the_server_dropped_the_idle_connection(inbox: SmtpInbox) -> None:
    provider = SmtpProvider(_smtp_settings(inbox))
    assert provider.send_batch([_email(1, "ada@example.test")])[0].accepted
    provider._connection.sock.close()  # the server timed us out between batches
    assert provider.send_batch([_email(2, "ada@example.test")])[0].accepted
    provider.close()
    assert [r.perkstar_id for r in inbox.received()] == [1, 2]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_logs_in_with_the_configured_user() -> None:
    server = SmtpInbox(credentials=("mailer", "s3cret")).start()
    try:
        good = SmtpProvider(_smtp_settings(server, SMTP_USER="mailer", SMTP_PASSWORD="s3cret"))
        assert good.send_batch([_email(1, "ada@example.test")])[0].accepted
        good.close()
        bad = SmtpProvider(_smtp_settings(server, SMTP_USER="mailer", SMTP_PASSWORD="wrong"))
        result = bad.send_batch([_email(2, "ada@example.test")])[0]
        assert not result.accepted and "535" in result.error
        assert [(r.perkstar_id, r.login) for r in server.received()] == [(1, "mailer")]
    finally:
        server.stop()


@pytest.fixture
def localhost_certificate(tmp_path, monkeypatch):
    """A self-signed certificate for 127.0.0.1, trusted through SSL_CERT_FILE (which the
    provider's default, verifying TLS context reads)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


def test_smtp_starttls_then_login(localhost_certificate) -> None:
    server = SmtpInbox(credentials=("mailer", "s3cret"), tls_context=localhost_certificate).start()
    try:
        config = _smtp_settings(server, SMTP_USER="mailer", SMTP_PASSWORD="s3cret")
        config.smtp_tls = "starttls"
        provider = SmtpProvider(config)
        assert provider.send_batch([_email(1, "ada@example.test")])[0].accepted
        provider.close()
        assert [(r.perkstar_id, r.login) for r in server.received()] == [(1, "mailer")]
        config.smtp_tls = "none"  # without STARTTLS the server offers no login: refused, and said why
        result = SmtpProvider(config).send_batch([_email(2, "ada@example.test")])[0]
        assert not result.accepted and "AUTH" in result.error
    finally:
        server.stop()


def test_smtp_without_host_is_not_configured() -> None:
    assert not SmtpProvider(Settings(SMTP_HOST="")).configured()


# --- SMS ------------------------------------------------------------------------------------


def test_sms_posts_the_twilio_form_with_basic_auth_and_keeps_the_sid(sms_api: SmsApi) -> None:
    provider = SmsProvider(_sms_settings(sms_api))
    results = provider.send_batch([_sms(1, "+447700900001"), _sms(2, "+447700900002", "Two")])
    provider.close()
    assert [r.accepted for r in results] == [True, True]
    first, second = sms_api.sent()
    assert first.authorised and first.account == sms_api.account_sid
    assert first.form == {"To": "+447700900001", "From": "+447700900000", "Body": "Hi Ada: 2 stamps to your free coffee",
                          "StatusCallback": "https://shop.example/api/sms/status"}
    assert results[0].provider_message_id == first.sid and first.sid.startswith("SM")
    assert results[1].provider_message_id == second.sid


def test_sms_400_fails_for_good_with_the_providers_message_500_is_retryable(sms_api: SmsApi) -> None:
    sms_api.script = {"+447700900400": [400], "+447700900500": [500]}
    results = SmsProvider(_sms_settings(sms_api)).send_batch([_sms(1, "+447700900400"), _sms(2, "+447700900500")])
    assert (results[0].accepted, results[0].permanent) == (False, True)
    assert "is not a valid phone number" in results[0].error and "21211" in results[0].error
    assert (results[1].accepted, results[1].permanent) == (False, False)
    assert "500" in results[1].error


def test_sms_wrong_credentials_are_refused_by_the_provider(sms_api: SmsApi) -> None:
    config = _sms_settings(sms_api)
    config.sms_auth_token = "not-the-token"
    result = SmsProvider(config).send_batch([_sms(1, "+447700900001")])[0]
    assert not result.accepted and result.permanent and "401" in result.error
    assert sms_api.sent() == []


def test_sms_provider_down_is_retryable() -> None:
    api = SmsApi()
    api.stop()  # nothing listens on its port
    result = SmsProvider(_sms_settings(api)).send_batch([_sms(1, "+447700900001")])[0]
    assert (result.accepted, result.permanent) == (False, False)
    assert "unreachable" in result.error


def test_signature_matches_the_providers_own_signing() -> None:
    params = {"MessageSid": "SM1", "MessageStatus": "delivered", "To": "+447700900001"}
    url = "https://shop.example/api/sms/status"
    assert request_signature("tok", url, params) == twilio_signature("tok", url, params)
    assert signature_valid("tok", url, params, twilio_signature("tok", url, params))
    assert not signature_valid("tok", url, {**params, "MessageStatus": "failed"}, twilio_signature("tok", url, params))
    assert not signature_valid("", url, params, twilio_signature("", url, params))


def test_sms_without_base_or_credentials_is_not_configured() -> None:
    assert not SmsProvider(Settings(SMS_API_BASE="")).configured()
    assert not SmsProvider(Settings(SMS_API_BASE="http://x", SMS_ACCOUNT_SID="AC1", SMS_AUTH_TOKEN="")).configured()


def test_smtp_a_message_that_cannot_be_built_fails_alone_and_the_batch_goes_on(inbox: SmtpInbox) -> None:
    provider = SmtpProvider(_smtp_settings(inbox))
    results = provider.send_batch([_email(1, "a@example.test\nBcc: everyone@example.test"), _email(2, "fine@example.test")])
    provider.close()
    assert (results[0].accepted, results[0].permanent) == (False, True)
    assert "linefeed" in results[0].error
    assert results[1].accepted
    assert [r.perkstar_id for r in inbox.received()] == [2]


def test_sms_a_2xx_answer_that_is_not_an_object_is_accepted_without_sid() -> None:
    """A provider answering 201 with a JSON list: accepted (it was sent), no sid, no crash."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = b'["queued"]'
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = Settings(SMS_API_BASE=f"http://127.0.0.1:{server.server_port}", SMS_ACCOUNT_SID="AC" + "0" * 32,
                          SMS_AUTH_TOKEN="token", SMS_FROM="+447700900000", PERKSTAR_PUBLIC_URL="https://shop.example")
        provider = SmsProvider(config)
        results = provider.send_batch([_sms(1, "+447700900001"), _sms(2, "+447700900002")])
        provider.close()
    finally:
        server.shutdown()
        server.server_close()
    assert [(r.accepted, r.provider_message_id) for r in results] == [(True, None), (True, None)]
