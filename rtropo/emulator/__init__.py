"""A stand-in for the discontinued Tropo WebAPI (Session API, callbacks, SMS and voice calls).

Standard library only; it shares no code with the backend, they meet over HTTP::

    with running_emulator(app_url="http://127.0.0.1:8000/tropo/", token="TOKEN") as tropo:
        ...  # point the backend's session API URL at tropo.session_api_url
        tropo.wait_for_deliveries(1)
"""

from .engine import InboundResult
from .faults import FAULT_KINDS, Faults
from .runner import Emulator, running_emulator
from .sms import DEFAULT_APP_NUMBER
from .store import DEFAULT_HISTORY, Delivery, LaunchRecord, PhoneCall, WaitTimeout

__all__ = [
    "DEFAULT_APP_NUMBER",
    "DEFAULT_HISTORY",
    "FAULT_KINDS",
    "Delivery",
    "Emulator",
    "Faults",
    "InboundResult",
    "LaunchRecord",
    "PhoneCall",
    "WaitTimeout",
    "running_emulator",
]
