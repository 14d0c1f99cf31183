"""SMS facts the emulator needs: phone number forms and message part counting."""

import math
import re
from collections.abc import Iterable

#: The app's number when none is given (a US 555 number: never a real phone).
DEFAULT_APP_NUMBER = "+15555550000"

# GSM 03.38 default alphabet (one septet each) and its extension table (two septets each:
# the escape character plus the character itself).
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "^{}\\[~]|€\f"
_GSM_BASIC = frozenset(GSM_BASIC)
_GSM_EXTENSION = frozenset(GSM_EXTENSION)
_FORMATTING = str.maketrans("", "", " -.()\t")
_DIALABLE = re.compile(r"\+\d{1,15}")
US_NATIONAL_LENGTH = 10


def count_parts(text: str) -> int:
    """Number of SMS a carrier bills for ``text``.

    Text that fits the GSM 7-bit alphabet is counted in septets (extension characters
    such as ``€`` or ``{`` count two): up to 160 is one SMS, longer text is split into
    parts of 153. Any other text travels as UCS-2, counted in UTF-16 code units: up to
    70 is one SMS, longer text is split into parts of 67. Empty text is one SMS.
    """
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENSION for ch in text):
        length = sum(2 if ch in _GSM_EXTENSION else 1 for ch in text)
        single, part = 160, 153
    else:
        length = len(text.encode("utf-16-le")) // 2
        single, part = 70, 67
    if length <= single:
        return 1
    return math.ceil(length / part)


def e164(number: object) -> str:
    """A number as Tropo dialled it: "+", country code, no formatting (``+14155551212``).

    Spaces, dashes, dots and parentheses are removed and a ``tel:`` prefix dropped; a
    10-digit number without "+" is a US number (``4075551212`` is ``+14075551212``).
    """
    number = str(number).strip()
    if number.lower().startswith("tel:"):
        number = number[4:]
    number = number.translate(_FORMATTING)
    if number.startswith("+"):
        return number
    if len(number) == US_NATIONAL_LENGTH and number.isdigit():
        return "+1" + number
    return "+" + number


def digits(number: object) -> str:
    """A number as Tropo wrote it in session objects: country code, no "+" (``15555550001``)."""
    return e164(number)[1:]


def dialable(number: object) -> bool:
    """Whether Tropo could text ``number``: up to 15 digits once formatting is removed."""
    return bool(_DIALABLE.fullmatch(e164(number)))


def phone(number: object) -> dict:
    """Tropo's ``to``/``from`` object for an SMS endpoint."""
    number = digits(number)
    return {"id": number, "e164Id": number, "name": None, "channel": "TEXT", "network": "SMS"}


def pool(number: object = None, numbers: Iterable | None = None) -> tuple:
    """The application's numbers (with "+", first one first, each once) from ``number``
    or ``numbers``; neither is a pool of ``DEFAULT_APP_NUMBER``. Giving both, an empty
    ``numbers`` or an undialable number raises ``ValueError``."""
    if number is not None and numbers is not None:
        raise ValueError("give number or numbers, not both")
    given = [DEFAULT_APP_NUMBER if number is None else number] if numbers is None else numbers
    if isinstance(given, str):
        raise ValueError("numbers must be a list of phone numbers, not a string")
    result = tuple(dict.fromkeys(e164(n) for n in given))
    if not result:
        raise ValueError("an application needs at least one number")
    for entry in result:
        if not dialable(entry):
            raise ValueError(f"{entry!r} is not a phone number")
    return result
