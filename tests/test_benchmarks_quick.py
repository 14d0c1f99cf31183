"""The benchmark command runs end to end (``benchmarks/run.py --quick``).

Checks that it completes and writes its report (which the docs' appendix can
render), and the behaviour it observes (every message delivered once, replies
inline without a launch, every inline answer's result posted and accepted, the
rate-limited campaign confirmed without a resend, the campaign on a pool spread
over its numbers and each recipient kept on one number); never its timings. A
broken figure must show as a FAIL in the report.
"""

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks import appendix
from benchmarks import report as bench_report

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmark_runs_and_reports(tmp_path):
    results, plot = tmp_path / "quick.json", tmp_path / "quick.png"
    done = subprocess.run(  # noqa: S603 - our own script
        [
            sys.executable,
            "benchmarks/run.py",
            "--quick",
            "--results",
            str(results),
            "--plot",
            str(plot),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "## Targets" in done.stdout
    assert plot.stat().st_size > 0
    report = json.loads(results.read_text())
    (sqlite,) = report["databases"]
    tropo = [
        case for case in sqlite["burst"] + sqlite["burst_delayed"] if case["variant"] == "tropo"
    ]
    assert tropo
    assert all(case["delivered"] == case["count"] for case in tropo)
    assert all(case["recipients"] == case["count"] for case in tropo)
    assert all(case["duplicates"] == 0 for case in tropo)
    assert all(case["rows_not_sent"] == 0 for case in tropo)
    assert all(case["errors"] == 0 for case in sqlite["inbound"])
    by_path = {(c["path"], c["text"]): c for c in sqlite["inbound"]}
    confirmed, unconfirmed = by_path[("/tropo/", "ping")], by_path[("/tropo-noconfirm/", "ping")]
    assert confirmed["results_posted"] == confirmed["requests"]
    assert unconfirmed["results_posted"] == 0
    (scaled,) = sqlite["inbound_2_workers"]
    assert (scaled["workers"], scaled["errors"]) == (2, 0)
    campaign = report["campaign"]
    assert "error" not in campaign
    assert campaign["delivered"] == campaign["recipients"] == campaign["count"]
    assert campaign["rows_by_status"] == {"confirmed": campaign["count"]}
    assert campaign["unconfirmed_resends"] == 0
    assert campaign["sweeps"] >= 1  # the enforced rate makes it outlast one sweep interval
    _pool_is_sane(report["pool"], report["sizes"])
    assert all(case["rounds"] == report["sizes"]["inbound_rounds"] for case in sqlite["inbound"])
    assert {case["shape"] for case in sqlite["burst"] if case["variant"] == "noop"} == {
        "singles",
        "multi",
    }
    inline = sqlite["conversations"]["inline"]
    assert inline["replied"] == inline["count"]
    assert inline["launches"] == 0
    assert sqlite["conversations"]["launch"]["launches"] > 0
    assert sqlite["large_queue"]["full"]["delivered"] == report["sizes"]["large_queue"]
    page = appendix.render(report, results)
    assert all(section.title in page for section in bench_report.sections(report))
    _broken_figures_fail(report)


def _pool_is_sane(pool, sizes):
    """Every recipient once from one of the pool's numbers, the replies answered, none
    moved; the spread and the times are targets, not checked here."""
    assert "error" not in pool
    assert pool["numbers"] == sizes["pool_numbers"]
    assert pool["delivered"] == pool["recipients"] == pool["count"] == sizes["pool"]
    assert pool["duplicates"] == 0
    assert sum(pool["per_number"].values()) == pool["count"]
    assert len(pool["per_number"]) <= pool["numbers"]
    assert pool["rows_by_status"] == {"confirmed": pool["count"]}
    assert pool["unconfirmed_resends"] == 0
    sticky = pool["stickiness"]
    assert "error" not in sticky
    assert sticky["recipients"] == pool["count"]
    assert sticky["campaigns"] == 3
    assert sticky["delivered"] == [pool["count"]] * 3
    assert sticky["unsettled"] == 0
    assert sticky["replies"] == {
        "count": sizes["pool_replies"],
        "errors": 0,
        "delivered": sizes["pool_replies"],
    }
    assert sum(sticky["per_number_after"].values()) == pool["count"]
    assert sticky["numbers_after"] == pool["numbers"] + 1
    assert sticky["more_than_one_number"] == 0
    assert sticky["moved"] == 0


def _broken_figures_fail(results):
    """A case that crashed or was not measured is a FAIL, and the report still renders."""
    broken = copy.deepcopy(results)
    settings = ("count", "rate_interval", "sweep_interval")
    broken["campaign"] = {key: results["campaign"][key] for key in settings}
    broken["campaign"]["error"] = "worker failed\nboom"
    broken["pool"] = {key: results["pool"][key] for key in ("numbers", *settings)}
    broken["pool"]["error"] = "worker failed\nbang"
    (sqlite,) = broken["databases"]
    del sqlite["inbound_2_workers"]
    sqlite["inbound"] = [c for c in sqlite["inbound"] if c["path"] != "/tropo-noconfirm/"]
    sqlite["burst"][0]["duplicates"] = None
    targets = bench_report.targets(broken)
    failed = {t["target"] for t in targets if not t["passed"]}
    assert {
        "campaign at 1 SMS/s: recipients not reached exactly once",
        "campaign at 1 SMS/s: rows not confirmed",
        "campaign at 1 SMS/s: unconfirmed resends",
        "pool at 1 SMS/s per number: recipients not reached exactly once",
        "pool at 1 SMS/s per number: most a number strays from recipients ÷ numbers",
        "pool stickiness: recipients who heard from more than one number",
        "pool stickiness: share of recipients moved once a number is added",
        "gunicorn 2 workers x 4 threads: inbound cases measured",
        "ping → pong inline, confirmation off ≥ 0.9x GenericHttpBackendView's",
        "no message stranded, undelivered or duplicated (local emulator)",
    } <= failed
    broken["targets"] = targets
    page = bench_report.markdown(broken)
    assert "The case failed: `boom`" in page
    assert "The case failed: `bang`" in page
    unsticky = copy.deepcopy(results)
    unsticky["pool"]["stickiness"] = {"error": "worker failed\nbonk"}
    failed = {t["target"] for t in bench_report.targets(unsticky) if not t["passed"]}
    assert "pool stickiness: recipients who heard from more than one number" in failed
    unsticky["targets"] = bench_report.targets(unsticky)
    assert "The case failed: `bonk`" in bench_report.markdown(unsticky)


def test_the_statement_count_tool_counts_the_commits_of_each_request():
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.inbound_queries", "--json"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": ""},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    commits = {case["case"]: case["tropo"]["commits"] for case in json.loads(done.stdout)["cases"]}
    assert commits["hello"] == 2, "the record, then the routed mark"
    # The record, the reply (durable before send() returns), then routed and sent together.
    assert commits["ping inline, confirmation on"] == 3
    assert commits["launch callback answer"] == 1
