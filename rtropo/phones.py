"""Phone numbers: the plain ``+digits`` form Tropo gives inbound, and E.164 for sending,
checked with phonenumbers (Google's libphonenumber data)."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, ValidationResult

_NUMBER_CHARS = re.compile(r"^\+?[0-9 \t().\-]+$")

_LENGTH_PROBLEMS = {
    ValidationResult.INVALID_COUNTRY_CODE: "has no known country code",
    ValidationResult.TOO_SHORT: "is too short for its country",
    ValidationResult.TOO_LONG: "is too long for its country",
    ValidationResult.INVALID_LENGTH: "has a length its country does not use",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "has no area code (it can only be dialled locally)",
}
_PARSE_PROBLEMS = {
    NumberParseException.INVALID_COUNTRY_CODE: "has no known country code",
    NumberParseException.TOO_SHORT_NSN: "is too short to be a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "is too short to be a phone number",
    NumberParseException.TOO_LONG: "is too long to be a phone number",
}


class NotAPhoneNumber(ValueError):
    """Why a value cannot be sent to: the message completes a sentence about the value."""


def known_region(value: object) -> str | None:
    """``value`` upper-cased if it is a region phonenumbers knows (ISO 3166-1 alpha-2,
    such as ``"NG"``), else None."""
    if not isinstance(value, str) or value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        return None
    return value.upper()


def plain_number(value: object) -> str | None:
    """``value`` as ``+`` and 3 to 15 ASCII digits, or None: spaces, dashes, dots and
    parentheses are dropped; the country code comes first, so a leading ``0`` is refused.
    Inbound numbers (as Tropo gives them) and connection identities use this form."""
    digits = _ascii_digits(value)
    if digits is None or not 3 <= len(digits) <= 15 or digits.startswith("0"):
        return None
    return "+" + digits


def to_e164(value: object, region: str | None = None) -> str:
    """``value`` in E.164 if phonenumbers finds it a possible number (its length fits its
    country; not necessarily assigned), else raise NotAPhoneNumber saying why. A value with
    ``+`` is international; without, it is national in ``region`` or, with no region, its
    digits are read as international (``15555550001`` is ``+15555550001``)."""
    digits = _ascii_digits(value)
    if digits is None:
        raise NotAPhoneNumber("is not ASCII digits with spaces, dashes, dots or parentheses")
    text = str(value).strip()
    if not text.startswith("+") and region is None:
        if digits.startswith("0"):
            raise NotAPhoneNumber("is national: it needs '+' and a country code, or default_region")
        text = "+" + digits
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else region)
    except NumberParseException as exc:
        problem = _PARSE_PROBLEMS.get(exc.error_type, "is not a phone number")
        raise NotAPhoneNumber(problem) from None
    possible = phonenumbers.is_possible_number_with_reason(parsed)
    if possible != ValidationResult.IS_POSSIBLE:
        raise NotAPhoneNumber(_LENGTH_PROBLEMS.get(possible, "is not a possible phone number"))
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _ascii_digits(value: object) -> str | None:
    """The digits of an int, or of a string of ASCII digits with an optional leading ``+``,
    spaces, dashes, dots and parentheses; None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _NUMBER_CHARS.match(value.strip()):
        return None
    return re.sub(r"[^0-9]", "", value)
