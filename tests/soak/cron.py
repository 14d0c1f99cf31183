"""Cron's part in the soak: ``manage.py tropo_send_queued`` every ``--interval`` seconds.

Run as ``python -m tests.soak.cron`` with the example project's settings; stops
after the run in progress when it gets SIGTERM.
"""

import argparse
import logging
import signal
import time

logger = logging.getLogger("tests.soak.cron")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    stopping = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))

    import django

    django.setup()
    from django.core.management import CommandError, call_command

    runs = 0
    while not stopping:
        runs += 1
        try:
            call_command("tropo_send_queued")
        except CommandError as exc:
            logger.info("Run %d: %s", runs, exc)
        deadline = time.monotonic() + args.interval
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.05)
    logger.info("Stopped after %d run(s)", runs)


if __name__ == "__main__":
    main()
