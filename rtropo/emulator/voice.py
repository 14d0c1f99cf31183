"""Voice facts the emulator needs: where a voice ``call`` goes and whom it comes from.

Tropo's ``call`` reference: voice destinations are phone numbers (``+14155551212``,
``tel:+14155551212``, formatting removed before dialling) or SIP addresses
(``sip:user@host``); dialling options after a ``;`` (``;postd=1234;pause=5s``) are not
part of the address. A call without ``from`` has the caller id "unknown".
"""

from . import sms

#: The networks of a voice ``call`` the emulator places.
VOICE_NETWORKS = ("PSTN", "SIP")
UNKNOWN_CALLER = "unknown"


def destination(to: object) -> str | None:
    """The address a voice call to ``to`` rings: a ``sip:`` address as given, else the
    number as Tropo dialled it (``+14155551212``); None if it is neither."""
    address = str(to).strip().split(";", 1)[0]
    if address[:4].lower() == "sip:":
        user, at, host = address[4:].partition("@")
        return "sip:" + address[4:] if user and at and host else None
    return sms.e164(address) if sms.dialable(address) else None


def caller_id(from_: str | None) -> str:
    """The caller id a voice call shows: ``from`` as dialled, or "unknown" without one."""
    if from_ is None or not str(from_).strip():
        return UNKNOWN_CALLER
    return destination(from_) or str(from_)
