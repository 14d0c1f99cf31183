"""What ``tropo_status`` (and the admin) report of a backend: its facts and its problems."""

import dataclasses
from datetime import datetime

from django.utils import timezone

from rtropo.conf import BackendConfig
from rtropo.status import problems
from rtropo.status.facts import Facts, gather
from rtropo.status.problems import CRITICAL, WARNING, Problem

#: Levels, from best to worst; a status's exit code is its level's index.
LEVELS = ("ok", WARNING, CRITICAL)


@dataclasses.dataclass(frozen=True)
class BackendStatus:
    """A backend's facts and problems; ``level`` is the worst problem's (``ok`` when none)."""

    facts: Facts
    problems: list[Problem]

    @property
    def backend(self) -> str:
        return self.facts.backend

    @property
    def level(self) -> str:
        return max((p.level for p in self.problems), key=LEVELS.index, default=LEVELS[0])

    @property
    def exit_code(self) -> int:
        """0 healthy, 1 warning, 2 critical, as monitoring plugins expect."""
        return LEVELS.index(self.level)

    def as_dict(self) -> dict:
        return {
            "backend": self.backend,
            "level": self.level,
            **self.facts.as_dict(),
            "problems": [problem.as_dict() for problem in self.problems],
        }


def backend_status(config: BackendConfig, now: datetime | None = None) -> BackendStatus:
    """The facts and problems of ``config``'s backend at ``now`` (default: the present)."""
    facts = gather(config, now or timezone.now())
    found = [rule(config, facts) for rule in problems.RULES]
    return BackendStatus(facts, [problem for problem in found if problem is not None])
