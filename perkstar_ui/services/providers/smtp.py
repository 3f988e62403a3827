"""Email over SMTP (smtplib + email.message), configured by the ``SMTP_*`` variables.

One connection serves every message of a batch and is kept for the next batch while the
server keeps it open (``close()`` hangs up; a dropped connection is reopened once). Each
email carries the merchant's name as display name, our ``X-Perkstar-Message`` id, and the
unsubscribe link twice: as RFC 8058 one-click headers (``List-Unsubscribe`` +
``List-Unsubscribe-Post``) and as a footer line for people.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from perkstar_ui.config import Settings, SmtpSecurity, settings
from perkstar_ui.domain.messages import Channel
from perkstar_ui.services.providers.base import Outbound, SendResult

MESSAGE_ID_HEADER = "X-Perkstar-Message"
ONE_CLICK = "List-Unsubscribe=One-Click"
FOOTER = "\n\n--\nTo stop these emails: {url}\n"
TIMEOUT_SECONDS = 20
FALLBACK_FROM = "perkstar@localhost"


def build_email(message: Outbound, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = formataddr((message.merchant_name, sender))
    email["To"] = message.recipient
    email["Subject"] = message.subject or message.merchant_name
    email["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    email[MESSAGE_ID_HEADER] = str(message.id)
    body = message.body
    if message.unsubscribe_url:
        email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = ONE_CLICK
        body += FOOTER.format(url=message.unsubscribe_url)
    email.set_content(body)
    return email


def _is_permanent(error: smtplib.SMTPException) -> bool:
    """5xx replies (unknown mailbox, rejected content) will not change on a retry; 4xx will."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    code = getattr(error, "smtp_code", None)
    return isinstance(code, int) and code >= 500


def _describe(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(error.recipients.values()))
        return f"SMTP {code}: {text.decode(errors='replace') if isinstance(text, bytes) else text}"
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        return f"SMTP {error.smtp_code}: {text}"
    return f"SMTP: {error.__class__.__name__}: {error}"[:500]


class SmtpProvider:
    channel = Channel.EMAIL

    def __init__(self, config: Settings | None = None) -> None:
        self._config = config or settings()
        self._connection: smtplib.SMTP | None = None

    def configured(self) -> bool:
        return bool(self._config.smtp_host)

    @property
    def sender(self) -> str:
        return self._config.smtp_from or FALLBACK_FROM

    def _connect(self) -> smtplib.SMTP:
        config = self._config
        if config.smtp_tls == SmtpSecurity.TLS:
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                config.smtp_host, config.smtp_port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
            )
        else:
            connection = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=TIMEOUT_SECONDS)
            if config.smtp_tls == SmtpSecurity.STARTTLS:
                connection.starttls(context=ssl.create_default_context())
        if config.smtp_user:
            connection.login(config.smtp_user, config.smtp_password)
        return connection

    def _send_one(self, email: EmailMessage) -> None:
        if self._connection is None:
            self._connection = self._connect()
        try:
            self._connection.send_message(email)
        except smtplib.SMTPServerDisconnected:
            # The server hung up while we were idle (or between batches): reconnect once.
            self._connection = self._connect()
            self._connection.send_message(email)

    def send_batch(self, messages: list[Outbound]) -> list[SendResult]:
        results = []
        for message in messages:
            try:
                email = build_email(message, self.sender)
                self._send_one(email)
            except smtplib.SMTPException as error:
                if isinstance(error, smtplib.SMTPServerDisconnected):
                    self._connection = None
                elif not isinstance(error, (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError,
                                            smtplib.SMTPSenderRefused)):
                    self.close()  # a broken session (TLS, login): start over next time
                results.append(SendResult(message.id, False, error=_describe(error), permanent=_is_permanent(error)))
            except OSError as error:  # connection refused, reset, timeout: worth a retry
                self._connection = None
                results.append(SendResult(message.id, False, error=_describe(error)))
            except ValueError as error:  # an address or header nobody can use: a retry cannot help
                results.append(SendResult(message.id, False, error=_describe(error), permanent=True))
            except Exception as error:  # noqa: BLE001 - one message's bug must not fail the others
                self.close()  # the session's state is unknown: start over with the next one
                results.append(SendResult(message.id, False, error=_describe(error)))
            else:
                results.append(SendResult(message.id, True, provider_message_id=email["Message-ID"]))
        return results

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.quit()
            except (smtplib.SMTPException, OSError):
                connection.close()
