"""The campaigns of a benchmark run: one ``send()`` to a list at Tropo's enforced rate,
on one number (:class:`CampaignRun`) or on a pool of numbers (:class:`PoolRun`, which
then measures how sticky each recipient's number is).

Each runs in a thread beside the other cases with its own emulator host, app server
and database: at one SMS a second per number it mostly waits.
"""

from __future__ import annotations

import contextlib
import threading

from benchmarks import loadgen, services
from benchmarks.services import log
from benchmarks.settings import NUMBER, TOKEN, pool_numbers

#: The campaign backend's lease (rtropo's default): a row unconfirmed this long is resent.
LEASE = 300
#: Longest the stickiness phase waits for the timed cases to end before it runs anyway.
QUIET_TIMEOUT = 3600


class CampaignRun:
    """One ``send()`` to ``count`` recipients from ``numbers`` with Tropo's rate enforced.

    At one SMS a second per number this takes recipients ÷ numbers seconds (the
    ideal), so it runs in a thread. ``tropo_send_queued`` runs every
    ``campaign_sweep`` seconds meanwhile, as the deployment guide says (every minute).
    :meth:`join` returns the figures, or the settings and ``error`` if it failed.
    """

    name = "campaign"
    backend = "tropo_campaign"
    path = "/tropo-campaign/"

    def __init__(self, url: str, sizes: dict, args, count: int = 0, numbers: list | None = None):
        """``count`` defaults to ``sizes["campaign"]``, ``numbers`` to the one ``NUMBER``."""
        self.url, self.args = url, args
        self.count = count or sizes["campaign"]
        self.numbers = numbers or [NUMBER]
        self.interval, self.sweep = sizes["campaign_interval"], sizes["campaign_sweep"]
        self.results: dict = {
            "count": self.count,
            "numbers": len(self.numbers),
            "from_numbers": self.numbers,
            "rate_interval": self.interval,
            "sweep_interval": self.sweep,
        }
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def start(self) -> CampaignRun:
        self._thread.start()
        return self

    def join(self) -> dict:
        self._thread.join()
        return self.results

    def _run(self) -> None:
        try:
            self.results.update(self._measure())
        except Exception as exc:
            log(f"{self.name} failed: {exc}")
            self.results["error"] = str(exc)[-2000:]

    def _measure(self) -> dict:
        log(
            f"{self.name}: {self.count} recipients on {len(self.numbers)} number(s), "
            f"one SMS per {self.interval:g} s per number enforced"
        )
        services.recreate_database(self.url)
        services.run_worker(services.base_env(self.url), "migrate")
        try:
            return self._phases()
        finally:
            services.drop_database(self.url)

    def _phases(self) -> dict:
        """The timed campaign, with its ideal time and rate."""
        with self._serving(self.numbers, self.interval) as serving:
            figures = self._campaign(*serving, self.interval)
        figures["ideal_seconds"] = ideal_seconds(self.count, len(self.numbers), self.interval)
        figures["msgs_per_s"] = self.count / figures["seconds"]
        log(f"{self.name}: done in {figures['seconds']:.0f} s")
        return figures

    @contextlib.contextmanager
    def _serving(self, numbers: list, interval: float):
        """An emulator host holding ``numbers``, each at one SMS per ``interval`` seconds
        (0: no rate, the backend's ``sms_per_second`` too), and the app server pointed
        at it; yields ``(env, emulator, app)``. The database is kept."""
        emulator = services.EmulatorHost(
            TOKEN, 0, history=2 * self.count + 1000, rate_interval=interval, numbers=numbers
        )
        try:
            env = services.base_env(self.url, emulator.session_api_url)
            env["BENCH_SMS_PER_SECOND"] = str(round(1 / interval)) if interval else "0"
            env["BENCH_POOL_NUMBERS"] = ",".join(numbers)
            app = services.AppServer(env, self.args.results.parent / f"gunicorn-{self.name}.log")
            try:
                yield env, emulator, app
            finally:
                app.stop()
        finally:
            emulator.stop()

    def _campaign(self, env: dict, emulator, app, interval: float) -> dict:
        """Reset the emulator, run the ``campaign`` worker case, return its figures."""
        emulator.reset(f"{app.url}{self.path}?secret={loadgen.SECRET}")
        # The ideal time (at no rate, that of a slow machine's 100 SMS/s), one lease (if
        # it outlasts one) for the last results, two sweeps and 30 s: a campaign still
        # unsettled then is resending what Tropo never confirmed.
        ideal = ideal_seconds(self.count, len(self.numbers), interval) or self.count / 100
        timeout = 1.1 * ideal + min(LEASE, ideal) + 2 * self.sweep + 30
        return services.run_worker(
            env,
            "campaign",
            *("--backend", self.backend, "--count", str(self.count)),
            *("--timeout", str(timeout), "--sweep", str(self.sweep)),
            *("--control-port", str(emulator.control_port)),
            timeout=timeout + 120,
        )


def ideal_seconds(count: int, numbers: int, interval: float) -> float:
    """The time ``count`` SMS take on ``numbers`` numbers at one per ``interval`` s each."""
    return count * interval / numbers


class PoolRun(CampaignRun):
    """The campaign on a pool of ``pool_numbers`` numbers, then its stickiness.

    Stickiness is a count, not a time: once ``quiet`` is set (the timed cases of the
    run are over), two more campaigns to the same recipients and a ``ping`` from each
    of ``pool_replies`` of them to the number they heard from (answered inline) run
    at no rate; then one number is added and one more campaign runs.
    ``results["stickiness"]`` says how many recipients heard from more than one number
    over the first three campaigns and the replies, and how many moved once the
    number was added.
    """

    name = "pool"
    backend = "tropo_pool"
    path = "/tropo-pool/"

    def __init__(self, url: str, sizes: dict, args, quiet: threading.Event):
        numbers = pool_numbers(sizes["pool_numbers"])
        super().__init__(url, sizes, args, count=sizes["pool"], numbers=numbers)
        self.replies, self.quiet = sizes["pool_replies"], quiet
        #: Each campaign's recipients -> the numbers they heard from, in order.
        self.heard: list[dict] = []

    def _phases(self) -> dict:
        figures = super()._phases()
        self.quiet.wait(timeout=QUIET_TIMEOUT)
        try:
            figures["stickiness"] = self._stickiness()
        except Exception as exc:
            log(f"{self.name}: stickiness failed: {exc}")
            figures["stickiness"] = {"error": str(exc)[-2000:]}
        return figures

    def _campaign(self, env: dict, emulator, app, interval: float) -> dict:
        figures = super()._campaign(env, emulator, app, interval)
        self.heard.append(senders(emulator))
        return figures

    def _stickiness(self) -> dict:
        """The campaigns and replies at no rate, then the grown pool; their counts."""
        log(f"{self.name}: stickiness, {self.count} recipients, {self.replies} replies")
        with self._serving(self.numbers, 0) as serving:
            campaigns = [self._campaign(*serving, 0) for _ in range(2)]
            replies, replied_from = self._replies(*serving)
        before = merged([*self.heard, replied_from])
        sticky_campaigns = len(self.heard)
        grown = pool_numbers(len(self.numbers) + 1)
        with self._serving(grown, 0) as serving:
            campaigns.append(self._campaign(*serving, 0))
        after = self.heard[-1]
        moved = sum(1 for phone, numbers in after.items() if numbers != before.get(phone))
        log(f"{self.name}: stickiness done, {moved} moved")
        return {
            "recipients": len(before),
            "campaigns": sticky_campaigns,
            "replies": replies,
            "more_than_one_number": sum(1 for numbers in before.values() if len(numbers) > 1),
            "numbers_after": len(grown),
            "added_number": grown[-1],
            "moved": moved,
            "moved_share": moved / max(1, len(before)),
            "per_number_after": campaigns[-1]["per_number"],
            "delivered": [figures["delivered"] for figures in campaigns],
            "unsettled": sum(1 for figures in campaigns if not figures["settled"]),
        }

    def _replies(self, env: dict, emulator, app) -> tuple[dict, dict]:
        """``ping`` from every n-th recipient of the last campaign to the number it heard
        from; returns the figures and the replies' recipients -> sending numbers."""
        last = self.heard[-1]
        phones = sorted(last)[:: max(1, len(last) // self.replies)][: self.replies]
        emulator.reset(f"{app.url}{self.path}?secret={loadgen.SECRET}")
        body = {
            "texts": [[phone, last[phone][0]] for phone in phones],
            "text": "ping",
            "concurrency": 4,
            "timeout": 60,
        }
        figures = emulator.call("POST", "/texts", body)
        return figures, senders(emulator)


def senders(emulator) -> dict:
    """The emulator's recipients -> sorted sending numbers since its reset; raises
    RuntimeError when its history forgot some deliveries (a count would be wrong)."""
    found = emulator.call("GET", "/senders")
    if not found["complete"]:
        raise RuntimeError("the emulator's history forgot deliveries: size it to the run")
    return found["senders"]


def merged(heard: list[dict]) -> dict:
    """Each recipient -> every number it heard from in any of ``heard``, sorted."""
    found: dict = {}
    for senders_ in heard:
        for phone, numbers in senders_.items():
            found.setdefault(phone, set()).update(numbers)
    return {phone: sorted(numbers) for phone, numbers in found.items()}
