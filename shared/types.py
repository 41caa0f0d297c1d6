"""Value types of the public contract: countries, currencies, phones and money.

Used by every service's request schemas so that "a country" or "an amount" is
validated the same way everywhere.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated

import pycountry
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from shared.errors import InvalidInput

_PHONE_PUNCTUATION = re.compile(r"[\s\-().]")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def _country(value: str) -> str:
    code = value.strip().upper()
    if pycountry.countries.get(alpha_2=code) is None:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code, e.g. 'DE'")
    return code


def _currency(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise ValueError("must be an ISO 4217 currency code, e.g. 'EUR'")
    return code


def normalise_phone(value: str) -> str:
    """E.164 from common formattings ('+49 30 1234-567' -> '+49301234567')."""
    compact = _PHONE_PUNCTUATION.sub("", value)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not _E164.match(compact):
        raise ValueError("must be an E.164 phone number, e.g. '+4930123456'")
    return compact


CountryCode = Annotated[str, AfterValidator(_country)]
CurrencyCode = Annotated[str, AfterValidator(_currency)]
PhoneNumber = Annotated[str, AfterValidator(normalise_phone)]


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
    currency: CurrencyCode = Field(examples=["EUR"])

    @classmethod
    def of(cls, amount: Decimal, currency: str) -> Money:
        """Money as stored (databases pad decimals), shown with the currency's own decimal places."""
        return cls(amount=amount.quantize(Decimal(1).scaleb(-minor_units(currency))), currency=currency)


def minor_units(currency: str) -> int:
    """Decimal places of a currency (JPY 0, EUR 2, KWD 3)."""
    return {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "TND": 3}.get(
        currency, 2
    )


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
