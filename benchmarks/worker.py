"""The Django side of the benchmarks, one case per process so that peak memory is per case.

``python -m benchmarks.worker CASE ...`` prints one JSON line with the figures.
Cases: ``migrate``, ``burst``, ``campaign``, ``send-cost``, ``fill``, ``drain``, ``settle``.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import resource
import time


def _setup() -> None:
    import django

    django.setup()


def _peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _wait(control_port: int, count: int, timeout: float) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", control_port, timeout=timeout + 30)
    conn.request("GET", f"/wait?count={count}&timeout={timeout}")
    result = json.loads(conn.getresponse().read())
    conn.close()
    return result


def _clear_tables() -> None:
    from rapidsms.backends.database.models import BackendMessage

    from rtropo.models import InboundSession, Launch, OutboundMessage

    for model in (OutboundMessage, Launch, InboundSession, BackendMessage):
        model.objects.all().delete()


def identities(count: int) -> list[str]:
    """Distinct recipient numbers."""
    return [f"+1555{i:07d}" for i in range(count)]


def connections(backend_name: str, numbers: list[str]) -> list:
    """RapidSMS connections for ``numbers`` on ``backend_name``, created in bulk."""
    from rapidsms.models import Backend, Connection

    backend, _ = Backend.objects.get_or_create(name=backend_name)
    known = set(
        Connection.objects.filter(backend=backend, identity__in=numbers).values_list(
            "identity", flat=True
        )
    )
    Connection.objects.bulk_create(
        [Connection(backend=backend, identity=n) for n in numbers if n not in known]
    )
    by_identity = {
        c.identity: c for c in Connection.objects.filter(backend=backend, identity__in=numbers)
    }
    return [by_identity[n] for n in numbers]


def _outcome(backend_name: str) -> dict:
    from django.db.models import Count, Sum

    from rtropo.models import Launch, OutboundMessage

    Status = OutboundMessage.Status
    rows = OutboundMessage.objects.filter(backend_name=backend_name)
    by_status = dict(rows.values_list("status").annotate(n=Count("id")).order_by())
    return {
        "rows": rows.count(),
        "rows_not_sent": rows.exclude(status__in=[Status.SENT, Status.CONFIRMED]).count(),
        "rows_by_status": by_status,
        "unconfirmed_resends": rows.aggregate(n=Sum("unconfirmed_count"))["n"] or 0,
        "launch_rows": Launch.objects.filter(backend_name=backend_name).count(),
    }


def _final_counters(args) -> dict:
    """The emulator's totals once every launch of the case has settled (late duplicates too)."""
    _settle_until(lambda: True, args.timeout)
    return _wait(args.control_port, 0, 0)


def burst(args) -> dict:
    """``count`` messages through ``rapidsms.router.send()``, until Tropo has them all."""
    from django.conf import settings
    from rapidsms.router import get_router, send

    if args.variant == "tropo02":
        from benchmarks import legacy

        legacy.point_at(settings.API_URL)
    _clear_tables()
    targets = connections(args.variant, identities(args.count))
    get_router()
    text = "Campaign: the clinic opens at 8 tomorrow."
    start = time.time()
    if args.shape == "singles":
        for target in targets:
            send(text, [target])
    else:
        send(text, targets)
    sent = time.time()
    result = {"send_seconds": sent - start, "peak_rss_kib": _peak_rss_kib()}
    if args.variant == "noop":
        result.update(seconds=sent - start)
        return result
    if args.variant == "db":
        from rapidsms.backends.database.models import BackendMessage

        result.update(delivered=BackendMessage.objects.count(), seconds=sent - start)
        return result
    emulator = _wait(args.control_port, args.count, args.timeout)
    final = _final_counters(args)
    result.update(
        delivered=final["deliveries"],
        recipients=final["recipients"],
        duplicates=final["duplicates"],
        launches=final["created_launches"],
        callbacks=final["callbacks"],
        seconds=(emulator["last_delivery"] or time.time()) - start,
    )
    if args.variant == "tropo":
        result.update(_outcome("tropo"))
    return result


def campaign(args) -> dict:
    """One ``send()`` to ``count`` recipients on ``--backend`` at Tropo's rate, until
    every row is settled; ``per_number`` counts the deliveries by sending number.

    As a deployment does, ``tropo_send_queued`` runs every ``--sweep`` seconds
    meanwhile (it also turns rows whose result did not come within the lease
    unconfirmed, and resends them). Settled: no row queued, launched or sent but
    unconfirmed, so that resends (and their duplicate deliveries) are counted too.
    The tables are cleared first, but not a pool's sticky numbers: campaigns to the
    same recipients keep them.
    """
    from django.core.management import call_command
    from rapidsms.router import get_router, send

    from rtropo.models import OutboundMessage

    Status = OutboundMessage.Status
    backend = args.backend
    _clear_tables()
    targets = connections(backend, identities(args.count))
    get_router()
    rows = OutboundMessage.objects.filter(backend_name=backend)
    sweeps = []

    def sweep():
        call_command("tropo_send_queued", stdout=io.StringIO())
        sweeps.append(time.time())

    start = time.time()
    send("Campaign: vaccination day is Saturday.", targets)
    sent = time.time()
    settled = _settle_until(
        lambda: not rows.filter(status__in=[Status.QUEUED, Status.LAUNCHED, Status.SENT]).exists(),
        args.timeout,
        tick=(sweep, args.sweep),
    )
    final = _wait(args.control_port, 0, 0)
    return {
        "count": args.count,
        "send_seconds": sent - start,
        "seconds": (final["last_delivery"] or time.time()) - start,
        "settled": settled,
        "sweeps": len(sweeps),
        "delivered": final["deliveries"],
        "recipients": final["recipients"],
        "duplicates": final["duplicates"],
        "launches": final["created_launches"],
        "results": final["results"],
        "per_number": final["by_sender"],
        **_outcome(backend),
    }


def send_cost(args) -> dict:
    """Per-message cost of ``backend.send()``: TropoBackend and DatabaseBackend, one loop."""
    from rapidsms.router import get_router

    _clear_tables()
    router = get_router()
    backends = [router.backends["tropo"], router.backends["db"]]
    numbers = identities(args.count + args.warmup)
    spent = {backend.name: 0 for backend in backends}
    for i, number in enumerate(numbers):
        order = backends if i % 2 == 0 else backends[::-1]
        for backend in order:
            began = time.perf_counter_ns()
            backend.send(i, "Reminder: your appointment is tomorrow.", [number])
            if i >= args.warmup:
                spent[backend.name] += time.perf_counter_ns() - began
    emulator = _wait(args.control_port, len(numbers), args.timeout)
    return {
        "tropo_us": spent["tropo"] / args.count / 1000,
        "database_us": spent["db"] / args.count / 1000,
        "delivered": emulator["deliveries"],
        "launches": emulator["created_launches"],
        **_outcome("tropo"),
    }


def fill(args) -> dict:
    """Queue ``count`` rows directly (bulk insert), as a campaign import would."""
    from django.utils import timezone

    from rtropo.models import OutboundMessage

    _clear_tables()
    now = timezone.now()
    for begin in range(0, args.count, 5000):
        OutboundMessage.objects.bulk_create(
            [
                OutboundMessage(
                    backend_name="tropo",
                    identity=number,
                    to_number=number,
                    text="Campaign: vaccination day is Saturday.",
                    next_attempt_at=now,
                    created_at=now,
                )
                for number in identities(min(args.count, begin + 5000))[begin:]
            ]
        )
    return {"queued": OutboundMessage.objects.count()}


def drain(args) -> dict:
    """Run ``tropo_send_queued`` once and wait until Tropo has every queued message."""
    from django.core.management import call_command

    from rtropo.models import OutboundMessage

    queued = OutboundMessage.objects.filter(status=OutboundMessage.Status.QUEUED).count()
    start = time.time()
    call_command("tropo_send_queued", stdout=io.StringIO())
    commanded = time.time()
    result = {"queued": queued, "command_seconds": commanded - start}
    if queued:
        emulator = _wait(args.control_port, queued, args.timeout)
        result.update(
            delivered=emulator["deliveries"],
            launches=emulator["created_launches"],
            seconds=(emulator["last_delivery"] or time.time()) - start,
            **_outcome("tropo"),
        )
    result["peak_rss_kib"] = _peak_rss_kib()
    return result


def _settle_until(done, timeout: float, tick: tuple | None = None) -> bool:
    """Wait until no launch is pending, no row is waiting to be sent and ``done()``.

    ``tick``: ``(action, seconds)``, run ``action()`` every ``seconds`` meanwhile.
    """
    from django.db import close_old_connections
    from django.utils import timezone

    from rtropo.models import Launch, OutboundMessage

    start = time.time()
    next_tick = start + tick[1] if tick else None
    while True:
        close_old_connections()
        pending = Launch.objects.filter(
            status=Launch.Status.PENDING, expires_at__gt=timezone.now()
        ).exists()
        unsent = OutboundMessage.objects.filter(
            status__in=[OutboundMessage.Status.QUEUED, OutboundMessage.Status.LAUNCHED]
        ).exists()
        if not pending and not unsent and done():
            return True
        if time.time() - start > timeout:
            return False
        if next_tick is not None and time.time() >= next_tick:
            tick[0]()
            next_tick = time.time() + tick[1]
        time.sleep(0.05 if tick is None else 0.2)


def settle(args) -> dict:
    """Wait until no launch is pending and every row is sent, so the next case starts clean.

    A launch made after a case ends (the launcher waits ``launch_delay`` first)
    must be answered before the emulator is reset: a reset forgets it, it would
    stay pending for its whole lease, and later sends would join it.
    """
    from django.utils import timezone

    from rtropo.models import Launch, OutboundMessage

    start = time.time()
    settled = _settle_until(lambda: True, args.timeout)
    return {
        "settled": settled,
        "waited": time.time() - start,
        "pending_launches": Launch.objects.filter(
            status=Launch.Status.PENDING, expires_at__gt=timezone.now()
        ).count(),
        "unsent": OutboundMessage.objects.filter(
            status__in=[OutboundMessage.Status.QUEUED, OutboundMessage.Status.LAUNCHED]
        ).count(),
    }


def migrate(args) -> dict:
    """Create the tables of the benchmark project."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return {"migrated": True}


CASES = {
    "migrate": migrate,
    "burst": burst,
    "campaign": campaign,
    "send-cost": send_cost,
    "fill": fill,
    "drain": drain,
    "settle": settle,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker")
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("--variant", choices=["tropo", "tropo02", "db", "noop"], default="tropo")
    parser.add_argument("--shape", choices=["singles", "multi"], default="singles")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--sweep", type=float, default=60.0, help="campaign: tropo_send_queued")
    parser.add_argument(
        "--backend", choices=["tropo_campaign", "tropo_pool"], default="tropo_campaign"
    )
    args = parser.parse_args()
    _setup()
    print(json.dumps(CASES[args.case](args)))


if __name__ == "__main__":
    main()
