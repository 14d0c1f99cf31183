"""Phones texting the app through the emulator while the app server is being killed."""

from __future__ import annotations

import dataclasses
import http.client
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from rtropo.emulator import Emulator


@dataclasses.dataclass(frozen=True)
class Texted:
    """One inbound SMS: who sent it, what it said, the reply it asks for, the app's status."""

    number: str
    text: str
    reply: str
    session_id: str | None
    status: int | None


def texts(count: int) -> list[tuple[str, str]]:
    """``count`` distinct (text, reply) pairs for the demo's echo handler."""
    return [(f"echo reply {n}", f"reply {n}") for n in range(1, count + 1)]


def text_in_parallel(
    emulator: Emulator, numbers: list[str], count: int, wait_until_up: Callable[[int], int]
) -> list[Texted]:
    """Each number texts its share of ``count`` SMS in turn, all numbers at once.

    Before each SMS a phone waits until the app server is up; after an SMS that got
    no answer, until the next server is (``wait_until_up(after_start)`` returns the
    start number of the server that is up). The SMS is not sent again: Tropo did
    not retry.
    """
    pairs = texts(count)

    def phone(index: int) -> list[Texted]:
        number = numbers[index]
        sent, after_start = [], 0
        for text, reply in pairs[index :: len(numbers)]:
            server = wait_until_up(after_start)
            try:
                result = emulator.send_sms(number, text)
                session_id, status = result.session_id, result.status
            except http.client.HTTPException:  # the answer was cut off mid-way
                session_id, status = None, None
            sent.append(Texted(number, text, reply, session_id, status))
            after_start = server if status is None else 0  # no answer: wait for the next
        return sent

    with ThreadPoolExecutor(max_workers=len(numbers)) as pool:
        return [texted for share in pool.map(phone, range(len(numbers))) for texted in share]
