"""Fixtures shared by the unit tests: real local servers for the message providers."""

from __future__ import annotations

import pytest

from tests.messaging_servers import SmsApi, SmtpInbox


@pytest.fixture
def inbox():
    """A real SMTP server (aiosmtpd) that keeps what it receives."""
    server = SmtpInbox().start()
    yield server
    server.stop()


@pytest.fixture
def sms_api():
    """A local HTTP server speaking the Twilio-style Messages API."""
    server = SmsApi().start()
    yield server
    server.stop()
