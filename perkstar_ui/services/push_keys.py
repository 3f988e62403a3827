"""The installation's VAPID key pair (RFC 8292) for Web Push: made on first use, kept.

Browsers bind every push subscription to the public key they were given, so the pair
must never change once a card page has subscribed: it is stored in ``system_setting``
and only ever created once. Several workers may start together; each generates a
candidate and inserts it, the primary key lets exactly one insert win, and everyone
then reads the stored pair.
"""

from __future__ import annotations

import functools

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid
from py_vapid.utils import b64urlencode
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from perkstar_ui import config
from perkstar_ui.db.models import SystemSetting
from perkstar_ui.db.tenancy import system_session

PRIVATE_KEY_SETTING = "vapid_private_key"


def _new_private_key() -> str:
    """A fresh P-256 private key as the raw 32-byte scalar, base64url (py_vapid's form)."""
    vapid = Vapid()
    vapid.generate_keys()
    number = vapid.private_key.private_numbers().private_value
    return b64urlencode(number.to_bytes(32, "big"))


def _stored_or_created() -> str:
    with system_session() as session:
        stored = session.exec(select(SystemSetting.value).where(SystemSetting.key == PRIVATE_KEY_SETTING)).first()
        if stored:
            return stored
        session.add(SystemSetting(key=PRIVATE_KEY_SETTING, value=_new_private_key()))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # another worker stored its key first: use that one
        return session.exec(select(SystemSetting.value).where(SystemSetting.key == PRIVATE_KEY_SETTING)).one()


@functools.lru_cache(maxsize=8)
def _vapid_for(database_url: str) -> Vapid:
    return Vapid.from_string(_stored_or_created())


def vapid() -> Vapid:
    """The signing key (cached per database: it never changes once stored)."""
    return _vapid_for(config.database_url())


def public_key() -> str:
    """The public key as browsers want it for ``applicationServerKey``: the uncompressed
    P-256 point, base64url without padding."""
    point = vapid().public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64urlencode(point)

