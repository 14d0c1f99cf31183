"""CONTRIBUTING.rst names only make targets, options, tox environments, paths and markers that
exist, and tells how to run every tox environment."""

import re
from pathlib import Path

import tomllib

from tests.test_tox import sections

ROOT = Path(__file__).parents[1]
TEXT = (ROOT / "CONTRIBUTING.rst").read_text(encoding="utf-8")
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")


def test_every_make_target_and_option_named_is_the_makefiles():
    targets = set(re.findall(r"``make (?:-s )?([\w-]+)", TEXT)) | set(
        re.findall(r"\$\(make -s ([\w-]+)\)", TEXT)
    )
    assert targets == {"test", "test-envs", "docs", "bench", "bench-quick", "database-url"}
    for target in targets:
        assert re.search(rf"^{re.escape(target)}:", MAKEFILE, flags=re.M), target
    for option in ("DJANGO", "QUICK", "DATABASE_URL", "REDIS_URL"):
        assert f"``{option}=" in TEXT
        assert f"$({option})" in MAKEFILE


def test_every_path_named_exists_or_is_an_ignored_output():
    named = re.findall(r"(?<![\w/])((?:tests|benchmarks|docs|\.ci)/[\w./-]*\w)", TEXT)
    assert {"tests/soak", ".ci/run", "benchmarks/results"} <= set(named)
    ignored = [
        line
        for line in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
        if line.startswith("/") and line.endswith("/")
    ]
    for path in named:
        output = any(f"/{path}/".startswith(directory) for directory in ignored)
        assert (ROOT / path).exists() or output, path


def test_every_marker_named_is_registered():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    markers = {line.split(":")[0] for line in pyproject["tool"]["pytest"]["ini_options"]["markers"]}
    named = set(re.findall(r"``-m (\w+)``", TEXT))
    assert named
    assert named <= markers


def test_the_readme_links_it():
    readme = (ROOT / "README.rst").read_text(encoding="utf-8")
    assert "/blob/main/CONTRIBUTING.rst>`_" in readme


def test_every_tox_environment_is_told_and_every_one_named_exists():
    environments = set(sections())
    named = set(re.findall(r"tox (?:exec )?-e ([\w-]+)", TEXT))
    named |= {word for word in re.findall(r"``([\w-]+)``", TEXT) if word in environments}
    assert set(re.findall(r"tox (?:exec )?-e ([\w-]+)", TEXT)) <= environments
    # The other Djangos' environments are told as "django42 and so on".
    others = {env for env in environments if env.startswith("django") and "52" not in env}
    assert environments - others <= named
    assert {"django42", "django42-quick"} <= named


def test_the_coverage_floor_it_gives_is_tox_inis():
    (floor,) = re.findall(r"a floor of (\d+) per cent", TEXT)
    tox_ini = (ROOT / "tox.ini").read_text(encoding="utf-8")
    assert f"--fail-under={{env:COVERAGE_FLOOR:{floor}}}" in tox_ini
    assert "``COVERAGE_FLOOR``" in TEXT
