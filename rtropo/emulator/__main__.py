"""``python -m rtropo.emulator``: run the Tropo emulator in the foreground."""

import argparse
import logging
import sys
import threading

from .app_client import checked_app_url
from .runner import Emulator
from .sms import DEFAULT_APP_NUMBER
from .store import DEFAULT_HISTORY


def positive(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line's options."""
    parser = argparse.ArgumentParser(
        prog="python -m rtropo.emulator", description="Run a local Tropo WebAPI emulator."
    )
    parser.add_argument("--app-url", required=True, help="the app's Tropo messaging URL")
    parser.add_argument("--token", required=True, help="the app's messaging token")
    parser.add_argument(
        "--number",
        action="append",
        default=[],
        help=f"one of the app's phone numbers (repeatable; default {DEFAULT_APP_NUMBER})",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8085)
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        help="another Host name the page and control API answer to (repeatable)",
    )
    parser.add_argument(
        "--history",
        type=positive,
        default=DEFAULT_HISTORY,
        help="sessions, launches and messages kept (older ones are forgotten)",
    )
    parser.add_argument("--hint", default="", help="what to text the app, shown on the page")
    parser.add_argument(
        "--enforce-rate", action="store_true", help="at most one SMS per second per sender"
    )
    parser.add_argument("--log-level", default="INFO")
    return parser


def main(argv: list | None = None) -> int:
    """Parse arguments (refusing an ``--app-url`` the emulator cannot send to, exit
    status 2) and serve until interrupted."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        checked_app_url(args.app_url)
    except ValueError as exc:
        parser.error(f"argument --app-url: {exc}")
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    emulator = Emulator(
        args.app_url,
        args.token,
        numbers=args.number or [DEFAULT_APP_NUMBER],
        host=args.host,
        port=args.port,
        enforce_rate=args.enforce_rate,
        history=args.history,
        allowed_hosts=tuple(args.allowed_host),
        hint=args.hint,
    )
    emulator.start()
    print(f"Tropo emulator page: {emulator.url}/", flush=True)
    print(f"Session API: {emulator.session_api_url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
