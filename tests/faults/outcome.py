"""What a fault run lost, repeated and left unsettled, against what was sent.

The emulator's deliveries are the truth for outbound messages; the recorder's
store is the truth for what reached the apps.
"""

from __future__ import annotations

import collections
import dataclasses

from .phones import Texted

#: Where an outbound row may rest once everything settled.
SETTLED = frozenset({"confirmed"})


@dataclasses.dataclass
class Outcome:
    """The observations of one run, and what they add up to."""

    texted: list[Texted]
    recorded: list[str]
    received: collections.Counter
    sent: list[tuple[str, str]]
    rows: list[tuple]
    delivered: collections.Counter

    @property
    def accepted(self) -> set[str]:
        """Inbound texts the backend recorded or answered with a 200: it took them on."""
        return set(self.recorded) | {t.text for t in self.texted if t.status == 200}

    @property
    def inbound_lost(self) -> list[str]:
        """Accepted inbound texts that never reached the apps."""
        return sorted(text for text in self.accepted if not self.received[text])

    @property
    def inbound_repeats(self) -> int:
        """Times an inbound text reached the apps again."""
        return sum(count - 1 for count in self.received.values() if count > 1)

    @property
    def expected(self) -> set[tuple[str, str]]:
        """Every (number, text) that must reach a phone: the reply to each accepted
        inbound SMS, everything sent, and every row in the queue."""
        replies = {(t.number, t.reply) for t in self.texted if t.text in self.accepted}
        rows = {(to, text) for to, text, *_ in self.rows}
        return replies | set(self.sent) | rows

    @property
    def outbound_lost(self) -> list[tuple[str, str]]:
        return sorted(key for key in self.expected if not self.delivered[key])

    @property
    def outbound_duplicates(self) -> int:
        return sum(count - 1 for count in self.delivered.values() if count > 1)

    @property
    def unexpected(self) -> list[tuple[str, str]]:
        return sorted(key for key in self.delivered if key not in self.expected)

    @property
    def statuses(self) -> collections.Counter:
        return collections.Counter(status for _, _, status, _ in self.rows)

    @property
    def unsettled(self) -> collections.Counter:
        """Rows in a status other than :data:`SETTLED` (``sent`` forever is one)."""
        return collections.Counter(
            {status: n for status, n in self.statuses.items() if status not in SETTLED}
        )

    def settled(self) -> bool:
        return not self.inbound_lost and not self.outbound_lost and not self.unsettled
