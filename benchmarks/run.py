"""Run every benchmark of rapidsms-tropo in one go and report figures, ratios and targets.

Usage::

    python benchmarks/run.py            # full run (about 20 minutes on 2 cores)
    python benchmarks/run.py --quick    # small sizes, SQLite only: checks that it runs

Writes ``benchmarks/results/<timestamp>.json``, prints a Markdown table and the
targets with PASS/FAIL, and draws the throughput plot. A full run also redraws
``docs/_static/benchmark-throughput.png`` and regenerates ``docs/benchmark-tables.rst``
from its results. See docs/performance.rst.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import appendix, legacy, loadgen, report, services
from benchmarks.campaigns import CampaignRun, PoolRun
from benchmarks.services import log
from benchmarks.settings import TOKEN

INBOUND_CASES = [
    ("tropo", "/tropo/", "hello"),
    ("http", "/http/", "hello"),
    ("empty", "/empty/", "hello"),
    ("tropo", "/tropo/", "ping"),
    ("tropo", "/tropo-noconfirm/", "ping"),
    ("http", "/http/", "ping"),
    ("tropo", "/tropo-launch/", "ping"),
]
FULL = {
    "burst": 1000,
    "plot_sizes": [10, 100, 1000],
    "inbound": 2000,
    "inbound_rounds": 4,
    "conversations": 300,
    "large_queue": 100_000,
    "campaign": 1000,
    "campaign_interval": 1.0,
    "campaign_sweep": 60.0,
    # The campaign on a pool: recipients, numbers (each at campaign_interval), and the
    # recipients who text back in the stickiness phase.
    "pool": 10_000,
    "pool_numbers": 10,
    "pool_replies": 100,
    # Databases whose first ``scaled_cases`` inbound cases also run under 2 gunicorn workers.
    "scaled": ["postgresql"],
    "scaled_cases": len(INBOUND_CASES),
}
QUICK = {
    "burst": 40,
    "plot_sizes": [10, 40],
    "inbound": 50,
    "inbound_rounds": 1,
    "conversations": 20,
    "large_queue": 1000,
    "campaign": 20,
    "campaign_interval": 0.05,
    "campaign_sweep": 0.3,
    "pool": 40,
    "pool_numbers": 4,
    "pool_replies": 4,
    "scaled": ["sqlite"],
    "scaled_cases": 1,
}
SETTLE_PAUSE = 0.2  # seconds for the emulator to record the last answer's deliveries
VARIANT_PATHS = {"tropo": "/tropo/", "tropo02": "/tropo02/", "db": "/empty/", "noop": "/empty/"}
#: Variants that deliver nothing to the emulator: measured without network delay only.
LOCAL_ONLY = {"db", "noop"}
#: The cases of an inbound-only pass (SQLite's rollback journal, for comparison).
INBOUND_HELLO = [case for case in INBOUND_CASES if case[2] == "hello"]


class DatabaseRun:
    """Every case on one database, against one emulator host."""

    def __init__(
        self,
        label: str,
        url: str,
        sizes: dict,
        args,
        variants: list[str],
        inbound_only: bool = False,
    ):
        self.label, self.url, self.sizes, self.args = label, url, sizes, args
        self.variants = variants
        self.inbound_only = inbound_only
        self.results: dict = {"database": label, "inbound_only": inbound_only}
        self.logs = args.results.parent

    def run(self) -> dict:
        services.recreate_database(self.url)
        services.run_worker(services.base_env(self.url), "migrate")
        self.emulator = services.EmulatorHost(
            TOKEN, self.args.delay_ms, history=history(self.sizes)
        )
        try:
            if self.inbound_only:
                self._inbound_phase()
            else:
                self._local_phase()
                self._network_phase()
        finally:
            self.emulator.stop()
            services.drop_database(self.url)
        return self.results

    @contextlib.contextmanager
    def _app_server(self, api_url: str, log_name: str, workers: int = 1):
        """The benchmark project under gunicorn, its launches aimed at ``api_url``."""
        env = services.base_env(self.url, api_url)
        app = services.AppServer(env, self.logs / f"gunicorn-{log_name}.log", workers=workers)
        try:
            yield env, app
        finally:
            app.stop()

    def _inbound_phase(self) -> None:
        with self._app_server(self.emulator.session_api_url, self.label) as (_, app):
            self.results["inbound"] = self._inbound({1: app}, {1: INBOUND_HELLO})[1]

    def _local_phase(self) -> None:
        api = self.emulator.session_api_url
        with contextlib.ExitStack() as stack:
            env, app = stack.enter_context(self._app_server(api, self.label))
            servers = {1: app}
            if self.label in self.sizes["scaled"]:
                try:
                    servers[2] = stack.enter_context(
                        self._app_server(api, f"{self.label}-2-workers", workers=2)
                    )[1]
                except RuntimeError as exc:
                    log(f"{self.label}: no 2-worker server, its cases FAIL: {exc}")
            self.results["burst"] = self._bursts(env, app, delayed=False)
            self.results["send_cost"] = self._send_cost(env, app)
            scaled = INBOUND_CASES[: self.sizes["scaled_cases"]]
            inbound = self._inbound(servers, {1: INBOUND_CASES, 2: scaled})
            self.results["inbound"] = inbound[1]
            if 2 in inbound:
                self.results["inbound_2_workers"] = inbound[2]
            self.results["conversations"] = self._conversations(app)
            self.results["large_queue"] = self._large_queue(env, app)

    def _network_phase(self) -> None:
        delayed_api = self.emulator.delayed_session_api_url
        with self._app_server(delayed_api, f"{self.label}-delayed") as (env, app):
            self.results["burst_delayed"] = self._bursts(env, app, delayed=True)

    def _reset(self, app_url: str, delayed: bool = False) -> None:
        """Let the previous case finish its launches, then reset the emulator for the next."""
        settled = services.run_worker(services.base_env(self.url), "settle", "--timeout", "60")
        if not settled["settled"]:
            log(f"{self.label}: previous case did not settle: {settled}")
            self.results.setdefault("unsettled", []).append(settled)
        time.sleep(SETTLE_PAUSE)
        self.emulator.reset(f"{app_url}?secret={loadgen.SECRET}", delayed=delayed)

    def _bursts(self, env: dict, app, delayed: bool) -> list[dict]:
        main = self.sizes["burst"]
        cases = [(v, "singles", n) for n in self.sizes["plot_sizes"] for v in self.variants]
        cases += [(v, "multi", main) for v in self.variants]
        if self.label != "sqlite":
            cases = [case for case in cases if case[2] == main]
        results = []
        for variant, shape, count in cases:
            if delayed and variant in LOCAL_ONLY:
                continue
            log(f"{self.label}: burst {variant} {shape} x{count}{' delayed' if delayed else ''}")
            self._reset(app.url + VARIANT_PATHS[variant], delayed=delayed)
            figures = services.run_worker(
                env,
                "burst",
                "--variant",
                variant,
                "--shape",
                shape,
                "--count",
                str(count),
                "--control-port",
                str(self.emulator.control_port),
                "--timeout",
                "300",
            )
            figures.update(variant=variant, shape=shape, count=count)
            figures["msgs_per_s"] = count / figures["seconds"]
            if figures.get("launches") is not None:
                figures["launches_per_msg"] = figures["launches"] / count
            results.append(figures)
        return results

    def _send_cost(self, env: dict, app) -> dict:
        log(f"{self.label}: send() cost")
        self._reset(app.url + "/tropo/")
        figures = services.run_worker(
            env,
            "send-cost",
            "--count",
            str(self.sizes["burst"]),
            "--control-port",
            str(self.emulator.control_port),
        )
        figures["ratio"] = figures["tropo_us"] / figures["database_us"]
        return figures

    def _inbound(self, servers: dict, cases: dict) -> dict:
        """Each server's cases (both by gunicorn workers) in rounds, interleaved, so that
        a slow spell of the machine hits all; returns the cases' figures by server."""
        rounds = self.sizes["inbound_rounds"]
        count = self.sizes["inbound"] // rounds
        measured: dict = {(w, case): [] for w in servers for case in cases[w]}
        for number in range(1, rounds + 1):
            for workers, app in servers.items():
                for kind, path, text in cases[workers]:
                    log(
                        f"{self.label}: inbound {path} {text!r} x{count}, {workers} worker(s), "
                        f"round {number}/{rounds}"
                    )
                    self._reset(app.url + path)
                    runs = measured[(workers, (kind, path, text))]
                    runs.append(self._load(app, kind, path, text, count))
        results: dict = {workers: [] for workers in servers}
        for (workers, (kind, path, text)), runs in measured.items():
            figures = loadgen.combine(runs)
            figures.update(kind=kind, path=path, text=text, workers=workers, threads=4)
            results[workers].append(figures)
        return results

    def _load(self, app, kind: str, path: str, text: str, count: int) -> dict:
        return services.run_module(
            "loadgen",
            services.base_env(self.url),
            *("--port", str(app.port), "--kind", kind, "--path", path, "--text", text),
            *("--count", str(count), "--warmup", str(max(20, count // 20))),
            timeout=600,
        )

    def _conversations(self, app) -> dict:
        results = {}
        count = self.sizes["conversations"]
        for name, path in (("inline", "/tropo/"), ("launch", "/tropo-launch/")):
            log(f"{self.label}: request-reply {name} x{count}")
            self._reset(app.url + path)
            figures = self.emulator.call(
                "POST",
                "/conversations",
                {"count": count, "concurrency": 4, "text": "ping", "replies": 1, "timeout": 120},
            )
            latencies_ms = [1000 * latency for latency in figures.pop("latencies")]
            figures["p50_ms"] = loadgen.percentile(latencies_ms, 0.5)
            figures["p99_ms"] = loadgen.percentile(latencies_ms, 0.99)
            figures["replies_per_s"] = (
                figures["replied"] / (figures["last_delivery"] - figures["began"])
                if figures["last_delivery"]
                else 0.0
            )
            results[name] = figures
        return results

    def _large_queue(self, env: dict, app) -> dict:
        port = str(self.emulator.control_port)
        results = {}
        for name, count in (("empty", 0), ("full", self.sizes["large_queue"])):
            log(f"{self.label}: large queue, {count} rows")
            self._reset(app.url + "/tropo/")
            services.run_worker(env, "fill", "--count", str(count))
            app_before = app.worker_peak_kib()
            figures = services.run_worker(
                env, "drain", "--control-port", port, "--timeout", "600", timeout=900
            )
            figures.update(app_peak_before_kib=app_before, app_peak_after_kib=app.worker_peak_kib())
            if count:
                figures["msgs_per_s"] = count / figures["seconds"]
            results[name] = figures
        results["delta_mib"] = (
            results["full"]["peak_rss_kib"] - results["empty"]["peak_rss_kib"]
        ) / 1024
        results["app_delta_mib"] = (
            results["full"]["app_peak_after_kib"] - results["full"]["app_peak_before_kib"]
        ) / 1024
        return results


def history(sizes: dict) -> int:
    """Emulator records to keep so that no delivery of any case is forgotten."""
    return 2 * max(sizes["large_queue"], sizes["burst"], sizes["campaign"], 1000)


def machine() -> dict:
    """What the figures were measured on."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import django
    import rapidsms

    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "django": django.get_version(),
        "rapidsms": rapidsms.__version__,
        "platform": platform.platform(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, SQLite only")
    parser.add_argument("--results", type=Path, help="where to write the JSON results")
    parser.add_argument("--plot", type=Path, help="where to draw the throughput plot")
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--refetch", action="store_true", help="fetch 0.2.0 from PyPI again")
    parser.add_argument(
        "--delay-ms",
        type=float,
        default=20.0,
        help="network delay per request in the delayed burst (default 20)",
    )
    args = parser.parse_args()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    args.results = args.results or services.ROOT / "benchmarks" / "results" / f"{stamp}.json"
    args.results.parent.mkdir(parents=True, exist_ok=True)
    if args.plot is None:
        args.plot = (
            args.results.with_suffix(".png")
            if args.quick
            else services.ROOT / "docs" / "_static" / "benchmark-throughput.png"
        )
    sizes = QUICK if args.quick else FULL
    variants = ["tropo", "db", "noop"]
    log("fetching rapidsms-tropo 0.2.0 from PyPI")
    if legacy.fetch(services.CACHE, refetch=args.refetch):
        variants.insert(1, "tropo02")
    else:
        log("rapidsms-tropo 0.2.0 unavailable: its cases are skipped")
    databases = [("sqlite", "sqlite:" + str(services.CACHE / "bench.sqlite3"), False)]
    if not args.quick:
        rollback = "sqlite-rollback:" + str(services.CACHE / "bench-rollback.sqlite3")
        databases.append(("sqlite-rollback", rollback, True))
    if not (args.quick or args.no_postgres) and services.postgres_available():
        databases.append(("postgresql", services.POSTGRES_BENCH, False))
    started = time.time()
    campaign = CampaignRun(
        "sqlite:" + str(services.CACHE / "bench-campaign.sqlite3"), sizes, args
    ).start()
    quiet = threading.Event()  # set once the timed cases (all but the pool's) are over
    pool = PoolRun("sqlite:" + str(services.CACHE / "bench-pool.sqlite3"), sizes, args, quiet)
    pool.start()
    results = {
        "quick": args.quick,
        "machine": machine(),
        "sizes": sizes,
        "delay_ms": args.delay_ms,
        "databases": [
            DatabaseRun(label, url, sizes, args, variants, inbound_only).run()
            for label, url, inbound_only in databases
        ],
    }
    results["campaign"] = campaign.join()
    quiet.set()
    results["pool"] = pool.join()
    results["targets"] = report.targets(results)
    results["seconds"] = time.time() - started
    args.results.write_text(json.dumps(results, indent=2))
    report.plot(results, args.plot)
    if not args.quick:
        log(f"tables: {appendix.write(args.results)}")
    print(report.markdown(results))
    log(f"results: {args.results}; plot: {args.plot}; {results['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
