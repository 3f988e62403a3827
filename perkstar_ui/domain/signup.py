"""Public sign-up rules (issue 14): a template's issuing form, confirmation codes, limits.

Plain Python: no Reflex, no database.

- **Issuing form** (customers.md §4, §12, spec Q25): each card template lists the fields
  its public join form asks for: standard fields (first/last name, phone, email, date of
  birth) and the merchant's custom fields (``cf:<key>``), each Required or optional;
  phone and email may be Unique (they identify the customer: one phone or email is one
  customer). A form must ask for a phone or an email, or a sign-up could identify nobody.
- **Codes**: six digits, only their SHA-256 stored, valid ``CODE_TTL``, at most
  ``CODE_ATTEMPTS`` wrong tries, then dead.
- **Neutral answers**: what a stranger sees never depends on whether a phone or email is
  a customer's (``NEUTRAL_DONE``).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import secrets

from pydantic import BaseModel, ConfigDict, model_validator

CODE_TTL = dt.timedelta(minutes=10)
CODE_ATTEMPTS = 5
CODE_DIGITS = 6
CUSTOM_PREFIX = "cf:"

# The one answer to a restore request, and to a sign-up with a phone or email that is
# already known: the same words whoever asks (nothing says who is a customer).
NEUTRAL_DONE = ("Thanks! If this phone number or email can receive a card from us, we have just sent it a "
                "6-digit code. Enter it below to open the card.")
WRONG_CODE = "That code is not right or has expired. Ask for a new one."
LIMITED = "Too many sign-ups from here just now. Please try again later."
TOO_MANY_TRIES = "Too many codes tried from here just now. Please try again later."
# Guessing across codes: wrong tries one customer's codes may take a day in all (each new
# code would otherwise bring CODE_ATTEMPTS more), and codes one address may try an hour.
FAILED_PER_CUSTOMER_DAY = 10
CONFIRMS_PER_ADDRESS_HOUR = 20
# Restore messages one merchant sends a day at most (a flood of requests for known
# contacts cannot run up the merchant's SMS bill); requests past it get the same answer.
RESTORES_PER_MERCHANT_DAY = 300
HONEYPOT_FIELD = "website"  # hidden from people; a bot that fills it gets the neutral answer
# Card.utm of the cards issued through the join page (a sign-up, a referral link, a
# restore that issued one): the first of them locks the template's issuing form.
JOIN_UTMS = ("join", "referral", "restore")


class StandardField(enum.StrEnum):
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    PHONE = "phone"
    EMAIL = "email"
    BIRTHDATE = "birthdate"


STANDARD_LABELS = {
    StandardField.FIRST_NAME: "First name",
    StandardField.LAST_NAME: "Last name",
    StandardField.PHONE: "Phone",
    StandardField.EMAIL: "Email",
    StandardField.BIRTHDATE: "Date of birth",
}
IDENTIFYING = frozenset({StandardField.PHONE.value, StandardField.EMAIL.value})


class CodePurpose(enum.StrEnum):
    RESTORE = "restore"  # open my card on this phone
    VERIFY = "verify"  # release the held welcome / referral bonus


class LimitScope(enum.StrEnum):
    IP = "ip"  # per client address, an hour
    CODE = "code"  # per referral code (the inviting card), a day
    TEMPLATE = "template"  # per card template, a day


LIMIT_WINDOWS = {LimitScope.IP: 3600, LimitScope.CODE: 86_400, LimitScope.TEMPLATE: 86_400}


class FormField(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str  # a StandardField value, or "cf:<custom field key>"
    required: bool = False
    unique: bool = False

    @model_validator(mode="after")
    def _check(self) -> FormField:
        if not self.key.startswith(CUSTOM_PREFIX) and self.key not in StandardField._value2member_map_:
            raise ValueError(f"unknown form field {self.key!r}")
        if self.unique and self.key not in IDENTIFYING:
            raise ValueError("only the phone and the email can be unique")
        return self


class IssuingForm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: tuple[FormField, ...] = (
        FormField(key="first_name", required=True),
        FormField(key="last_name", required=True),
        FormField(key="phone", required=True, unique=True),
        FormField(key="email"),
    )

    @model_validator(mode="after")
    def _check(self) -> IssuingForm:
        keys = [f.key for f in self.fields]
        if len(keys) != len(set(keys)):
            raise ValueError("a form field is listed twice")
        if not IDENTIFYING & set(keys):
            raise ValueError("the issuing form needs the phone or the email")
        for name in (StandardField.FIRST_NAME, StandardField.LAST_NAME):
            spec = self.field(name)
            if spec is None or not spec.required:  # a customer record always has both names
                raise ValueError(f"the issuing form must require the {STANDARD_LABELS[name].lower()}")
        return self

    def field(self, key: str) -> FormField | None:
        return next((f for f in self.fields if f.key == key), None)


def new_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(code: str) -> str:
    return hashlib.sha256((code or "").strip().encode()).hexdigest()


def code_matches(code: str, stored_hash: str) -> bool:
    return hmac.compare_digest(code_hash(code), stored_hash)


def code_usable(expires_at: dt.datetime, attempts: int, used_at: dt.datetime | None, now: dt.datetime) -> bool:
    return used_at is None and attempts < CODE_ATTEMPTS and now < expires_at


def code_message(business: str, code: str, purpose: CodePurpose) -> str:
    what = "open your card" if purpose == CodePurpose.RESTORE else "confirm your sign-up"
    return f"{business}: your code to {what} is {code}. It expires in {int(CODE_TTL.total_seconds() // 60)} minutes."
