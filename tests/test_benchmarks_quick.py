"""The benchmark command runs end to end (``benchmarks/run.py --quick``).

Checks that it completes and writes its report, and the behaviour it observes
(every message delivered, replies inline without a launch); never its timings.
"""

import json
import subprocess
import sys
from pathlib import Path

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
    assert all(case["rows_not_sent"] == 0 for case in tropo)
    assert all(case["errors"] == 0 for case in sqlite["inbound"])
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
