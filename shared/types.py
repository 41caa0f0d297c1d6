"""Value types of the public contract: countries, currencies, phones and money.

Used by every service's request schemas so that "a country" or "an amount" is
validated the same way everywhere, and documented exactly as validated: the JSON Schema
of each type (an enum of the ISO codes, the amount's pattern, the decimals each currency
allows) is the check the server makes, so a client can validate before it sends.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated

import pycountry
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from shared.errors import InvalidInput


def _not_a_boolean(value: object) -> object:
    """JSON's true and false are no numbers, though Python counts them as 1 and 0; 3.0 is still 3."""
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true or false")
    return value


# For whole numbers as JSON Schema's integer means them: ``Annotated[int, Field(...), NotBoolean]``.
NotBoolean = BeforeValidator(_not_a_boolean)

_PHONE_PUNCTUATION = re.compile(r"[\s\-().]")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


COUNTRY_CODES: tuple[str, ...] = tuple(sorted(str(c.alpha_2) for c in pycountry.countries))
CURRENCY_CODES: tuple[str, ...] = tuple(sorted(str(c.alpha_3) for c in pycountry.currencies))
_COUNTRIES = frozenset(COUNTRY_CODES)
_CURRENCIES = frozenset(CURRENCY_CODES)


def _country(value: str) -> str:
    # Exactly the code, upper case: what the schema's enum lists is what the server takes.
    if value not in _COUNTRIES:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code in upper case, e.g. 'DE'")
    return value


def _currency(value: str) -> str:
    if value not in _CURRENCIES:
        raise ValueError("must be an ISO 4217 currency code in upper case, e.g. 'EUR'")
    return value


def _known_currency(value: str) -> str:
    # Money as services build it from stored rows and events carry it: any case, stored upper.
    return _currency(value.strip().upper())


def normalise_phone(value: str) -> str:
    """E.164 from common formattings ('+49 30 1234-567' -> '+49301234567')."""
    if len(value) > 40:
        raise ValueError("must be at most 40 characters")
    compact = _PHONE_PUNCTUATION.sub("", value)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not _E164.match(compact):
        raise ValueError("must be an E.164 phone number, e.g. '+4930123456'")
    return compact


# What normalise_phone takes, as a pattern: "+" or "00", then 7 to 15 digits (the first not 0), with
# spaces, dashes, dots and brackets anywhere between them.
_PUNCTUATION = r"[\s\-().]*"
PHONE_PATTERN = rf"^{_PUNCTUATION}(\+|0{_PUNCTUATION}0){_PUNCTUATION}[1-9]({_PUNCTUATION}[0-9]){{6,14}}{_PUNCTUATION}$"

# RFC 3339 as the schema's "date" and "date-time" formats mean it; pydantic alone would also take
# a number (as seconds since 1970) or other spellings the document does not promise.
_DATE_TEXT = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_TIMESTAMP_TEXT = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$")


def _date_text(value: object) -> object:
    if isinstance(value, date) or (isinstance(value, str) and _DATE_TEXT.match(value)):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


def _timestamp_text(value: object) -> object:
    if isinstance(value, datetime) or (isinstance(value, str) and _TIMESTAMP_TEXT.match(value)):
        return value
    raise ValueError("must be an RFC 3339 time with its offset, e.g. 2026-01-31T09:30:00Z")


IsoDate = Annotated[date, BeforeValidator(_date_text)]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_timestamp_text)]

CountryCode = Annotated[str, AfterValidator(_country), WithJsonSchema(
    {"type": "string", "enum": list(COUNTRY_CODES), "description": "ISO 3166-1 alpha-2, upper case."})]
CurrencyCode = Annotated[str, AfterValidator(_currency), WithJsonSchema(
    {"type": "string", "enum": list(CURRENCY_CODES), "description": "ISO 4217, upper case."})]
PhoneNumber = Annotated[str, AfterValidator(normalise_phone), WithJsonSchema(
    {"type": "string", "pattern": PHONE_PATTERN, "maxLength": 40,
     "description": "E.164; spaces, dashes, dots and brackets are accepted and removed."})]


def _decimal(value: object) -> Decimal:
    if isinstance(value, float):
        raise ValueError("give amounts as decimal strings, e.g. \"1234.50\", not floats")
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError("must be a decimal number written as a string") from exc
    if not amount.is_finite():
        raise ValueError("must be a finite number")
    return amount


Amount = Annotated[Decimal, BeforeValidator(_decimal), PlainSerializer(lambda d: format(d, "f"), return_type=str)]


class Money(BaseModel):
    """``{"amount": "1234.50", "currency": "EUR"}``: a decimal string and an ISO 4217 code."""

    model_config = ConfigDict(extra="forbid")

    amount: Amount = Field(description="Decimal string.", examples=["1234.50"])
    currency: Annotated[str, AfterValidator(_known_currency)] = Field(examples=["EUR"])

    @classmethod
    def of(cls, amount: Decimal, currency: str) -> Money:
        """Money as stored (databases pad decimals), shown with the currency's own decimal places."""
        return cls(amount=amount.quantize(Decimal(1).scaleb(-minor_units(currency))), currency=currency)


_MINOR_UNITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "TND": 3}


def minor_units(currency: str) -> int:
    """Decimal places of a currency (JPY 0, EUR 2, KWD 3)."""
    return _MINOR_UNITS.get(currency, 2)


# A request's amount: a plain non-negative decimal string below 10^15 (15 integer digits), no sign,
# exponent, leading zero or spaces. Its decimals are then bounded by the currency (MoneyIn).
_INTEGER_PART = r"(0|[1-9][0-9]{0,14})"
AMOUNT_PATTERN = rf"^{_INTEGER_PART}(\.[0-9]{{1,3}})?$"
_AMOUNT = re.compile(AMOUNT_PATTERN)


def _amount_pattern(places: int) -> str:
    return rf"^{_INTEGER_PART}$" if places == 0 else rf"^{_INTEGER_PART}(\.[0-9]{{1,{places}}})?$"


def _strict_amount(value: object) -> Decimal:
    if not isinstance(value, str) or not _AMOUNT.match(value):
        raise ValueError('must be a non-negative decimal string below 10^15, e.g. "1234.50"')
    return Decimal(value)


AmountIn = Annotated[Decimal, BeforeValidator(_strict_amount),
                     PlainSerializer(lambda d: format(d, "f"), return_type=str),
                     WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["1234.50"]})]


def _decimals_by_currency(schema: dict[str, object]) -> None:
    """The amount's decimals per currency class, so that the schema refuses what the money rule refuses."""
    by_places: dict[int, list[str]] = {}
    for code in CURRENCY_CODES:
        by_places.setdefault(minor_units(code), []).append(code)
    schema["anyOf"] = [
        {"properties": {"currency": {"enum": codes}, "amount": {"pattern": _amount_pattern(places)}}}
        for places, codes in sorted(by_places.items())
    ]


class MoneyIn(BaseModel):
    """Money in a request: ``{"amount": "1234.50", "currency": "EUR"}``, at most the currency's decimal places."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_decimals_by_currency)

    # The currency first, so that the amount's check knows its decimal places.
    currency: CurrencyCode = Field(examples=["EUR"])
    amount: AmountIn

    @field_validator("amount")
    @classmethod
    def _places(cls, amount: Decimal, info: ValidationInfo) -> Decimal:
        # Written digits count: "1.0" is refused for JPY as the schema's pattern refuses it.
        currency = info.data.get("currency")
        if currency is None:
            return amount  # the currency's own error says what is wrong
        exponent = amount.as_tuple().exponent
        written = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        if written > minor_units(currency):
            raise ValueError(f"{currency} has {minor_units(currency)} decimal places")
        return amount


# Above this an amount is a typo; the money columns (Numeric(20, 4)) hold 16 integer digits.
MONEY_LIMIT = Decimal(10) ** 15


def check_money(amount: Decimal, currency: str, field: str) -> Decimal:
    """The one money rule: non-negative, no more decimals than the currency has, below 10^15.

    Returns the amount with the currency's decimal places; ``field`` names it in errors.
    """
    if amount < 0:
        raise InvalidInput.on(field, "must not be negative")
    places = minor_units(currency)
    exact = amount.quantize(Decimal(1).scaleb(-places))
    if amount != exact:
        raise InvalidInput.on(field, f"{currency} has {places} decimal places")
    if amount >= MONEY_LIMIT:
        raise InvalidInput.on(field, "is too large")
    return exact
