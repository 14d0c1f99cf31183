"""Run ``tropo_status`` and ``tropo_send_queued`` as cron or a monitoring plugin would see them."""

import dataclasses
from io import StringIO

from django.core.management import CommandError, call_command


@dataclasses.dataclass(frozen=True)
class Run:
    """A command's exit status and output."""

    code: int
    stdout: str
    stderr: str


def run_command(name: str, *args) -> Run:
    """Run management command ``name``; exit status as ``manage.py`` would give it."""
    out, err = StringIO(), StringIO()
    try:
        call_command(name, *args, stdout=out, stderr=err)
    except CommandError as exc:
        err.write(f"CommandError: {exc}\n")
        return Run(exc.returncode, out.getvalue(), err.getvalue())
    except SystemExit as exc:
        return Run(exc.code, out.getvalue(), err.getvalue())
    return Run(0, out.getvalue(), err.getvalue())


def tropo_status(*args) -> Run:
    return run_command("tropo_status", *args)


def send_queued(*args) -> Run:
    return run_command("tropo_send_queued", *args)


def problem_codes(run: Run) -> list[tuple[str, str]]:
    """(level, code) of each problem line of a ``tropo_status`` or ``tropo_send_queued`` run."""
    found = []
    for line in (run.stdout + run.stderr).splitlines():
        words = line.replace("CommandError: ", "").split()
        if words and words[0].endswith(":") and len(words) > 2:
            words = words[1:]  # tropo_send_queued's lines start with the backend
        if len(words) > 1 and words[0] in ("warning", "critical"):
            found.append((words[0], words[1].rstrip(":")))
    return found
