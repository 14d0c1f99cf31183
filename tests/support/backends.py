"""A project's own Tropo backend, named by dotted path in the tests' settings."""

from rtropo.outgoing import TropoBackend

#: The dotted path of :class:`ProjectTropoBackend`, as a project writes its ENGINE.
ENGINE = "tests.support.backends.ProjectTropoBackend"


class ProjectTropoBackend(TropoBackend):
    """A subclass, as a project writes one to add its own behaviour."""
