"""A paced sender for the soak: ``rapidsms.router.send`` at a steady rate.

``python -m tests.soak.sender TEXT NUMBER... --count N --rate R`` sends the
messages ``"TEXT #1"`` .. ``"TEXT #N"``, each to every number, R messages a
second, through the example project's Tropo backend.
"""

import argparse
import logging
import time


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("text")
    parser.add_argument("numbers", nargs="+")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--rate", type=float, required=True, help="messages a second")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    import django

    django.setup()
    from rapidsms.router import lookup_connections, send

    connections = lookup_connections("tropo", args.numbers)
    started = time.monotonic()
    for n in range(1, args.count + 1):
        send(f"{args.text} #{n}", connections)
        time.sleep(max(0.0, started + n / args.rate - time.monotonic()))
    logging.getLogger("tests.soak.sender").info(
        "Sent %d message(s) to %d number(s)", args.count, len(connections)
    )


if __name__ == "__main__":
    main()
