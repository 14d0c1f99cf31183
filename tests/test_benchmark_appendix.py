"""docs/benchmark-tables.rst is what benchmarks/appendix.py renders from the committed results."""

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

from docutils import nodes
from docutils.core import publish_doctree
from docutils.parsers.rst import roles

from benchmarks import appendix, report

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "benchmark-tables.rst"


def committed_results() -> Path:
    """The results file the committed page names in its header."""
    match = re.search(r"``python benchmarks/appendix\.py (\S+)``", PAGE.read_text("utf-8"))
    assert match, "the page names the command that generated it"
    return ROOT / match[1]


def test_the_committed_page_is_what_the_committed_results_give(tmp_path):
    results = committed_results()
    assert results.parent == ROOT / "benchmarks" / "results"
    assert json.loads(results.read_text("utf-8"))["quick"] is False
    output = tmp_path / "benchmark-tables.rst"
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, "benchmarks/appendix.py", str(results), "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert output.read_text("utf-8") == PAGE.read_text("utf-8")


def test_the_performance_page_names_the_committed_results():
    performance = (ROOT / "docs" / "performance.rst").read_text("utf-8")
    assert str(committed_results().relative_to(ROOT)) in performance
    assert ":doc:`benchmark-tables`" in performance


def test_every_section_of_the_report_is_a_table_of_the_page():
    results = json.loads(committed_results().read_text("utf-8"))
    page = doctree(appendix.render(results, committed_results()))
    titles = [section[0].astext() for section in page.findall(nodes.section)]
    assert titles == [section.title for section in report.sections(results)]
    assert len(list(page.findall(nodes.table))) == len(titles)


def test_a_negative_figure_and_a_failed_case_render_as_text():
    results = json.loads(committed_results().read_text("utf-8"))
    broken = copy.deepcopy(results)
    broken["databases"][0]["large_queue"]["delta_mib"] = -0.5
    settings = ("count", "rate_interval", "sweep_interval")
    broken["campaign"] = {key: results["campaign"][key] for key in settings}
    broken["campaign"]["error"] = "worker failed\nboom"
    page = doctree(appendix.render(broken, committed_results()))
    cells = [entry.astext() for entry in page.findall(nodes.entry)]
    assert "-0.5" in cells
    assert not list(page.findall(nodes.bullet_list))
    campaign = next(s for s in page.findall(nodes.section) if s[0].astext().startswith("Campaign"))
    assert not list(campaign.findall(nodes.table))
    assert "The case failed: boom" in campaign.astext()
    assert [literal.astext() for literal in campaign.findall(nodes.literal)] == [
        "tropo_send_queued",
        "boom",
    ]


def doctree(text: str) -> nodes.document:
    """The page as docutils reads it; any warning fails the test."""
    roles.register_generic_role("doc", nodes.emphasis)  # Sphinx's role, for this parse
    settings = {"report_level": 2, "halt_level": 2, "warning_stream": False}
    return publish_doctree(text, settings_overrides=settings)
