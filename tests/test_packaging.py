"""The built package: complete, one version, and claims that match what CI runs."""

import ast
import itertools
import re
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

import rtropo

ROOT = Path(__file__).parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
REPOSITORY = "https://github.com/rapidsms/rapidsms-tropo"


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """The sdist and the wheel built from it, as ``python -m build`` makes them."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [sdist] = out.glob("*.tar.gz")
    [wheel] = out.glob("*.whl")
    return sdist, wheel


@pytest.fixture(scope="module")
def sdist_names(dist):
    with tarfile.open(dist[0]) as archive:
        return {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}


@pytest.fixture(scope="module")
def metadata(dist):
    with zipfile.ZipFile(dist[1]) as wheel:
        [name] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        return Parser().parsestr(wheel.read(name).decode())


def ci_matrix():
    """{Django version: Python version} as the Makefile maps them, each run by .ci/run."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    pairs = re.findall(r"^PYTHON_FOR_(\d)(\d) := (\S+)$", makefile, flags=re.M)
    matrix = {f"{major}.{minor}": python for major, minor, python in pairs}
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    loops = re.findall(r"^for django in ([\d. ]+); do$", ci, flags=re.M)
    assert loops, "no Django loop in .ci/run"
    assert all(loop.split() == list(matrix) for loop in loops)
    return matrix


def tracked(*paths):
    """The files git tracks under ``paths``."""
    return subprocess.run(  # noqa: S603 - git and our own paths
        ["git", "ls-files", *paths],  # noqa: S607 - git from PATH
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()


def test_the_sdist_ships_docs_and_changelog_and_leaves_tests_out(sdist_names):
    assert {"README.rst", "CONTRIBUTING.rst", "LICENSE", "pyproject.toml"} <= sdist_names
    assert "setup.py" in sdist_names
    assert {"docs/conf.py", "docs/index.rst", "docs/changelog.rst"} <= sdist_names
    assert {"rtropo/migrations/0001_initial.py", "rtropo/emulator/testing.py"} <= sdist_names
    assert not [name for name in sdist_names if name.startswith("tests")]
    assert not [name for name in sdist_names if name.endswith((".pyc", ".sqlite3"))]


def test_the_wheel_holds_the_package_only(dist):
    with zipfile.ZipFile(dist[1]) as wheel:
        tops = {name.split("/")[0] for name in wheel.namelist()}
        assert "rtropo/migrations/0001_initial.py" in wheel.namelist()
    assert tops == {"rtropo", f"rapidsms_tropo-{rtropo.__version__}.dist-info"}


def test_the_wheel_holds_every_tracked_file_of_the_package_and_its_type_marker(dist):
    with zipfile.ZipFile(dist[1]) as wheel:
        shipped = {name for name in wheel.namelist() if name.startswith("rtropo/")}
    assert "rtropo/py.typed" in shipped
    assert shipped == set(tracked("rtropo"))


def test_the_version_is_written_once(metadata):
    assert metadata["Version"] == rtropo.__version__
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "rtropo.__version__"}
    for name in ("setup.py", "pyproject.toml"):
        assert rtropo.__version__ not in (ROOT / name).read_text(encoding="utf-8"), name


def test_setup_py_is_a_shim_without_metadata():
    module = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    calls = [node for node in ast.walk(module) if isinstance(node, ast.Call)]
    assert [ast.unparse(call) for call in calls] == ["setup()"]


def test_the_metadata_names_the_license_and_where_the_project_lives(metadata):
    assert metadata["License-Expression"] == "BSD-3-Clause"
    assert metadata.get_all("License-File") == ["LICENSE"]
    urls = dict(entry.split(", ", 1) for entry in metadata.get_all("Project-URL"))
    assert set(urls) == {"Homepage", "Documentation", "Source", "Changelog", "Issues"}
    assert urls["Homepage"] == urls["Source"] == REPOSITORY
    assert urls["Issues"] == f"{REPOSITORY}/issues"
    changelog = urls["Changelog"].removeprefix(f"{REPOSITORY}/blob/main/")
    assert (ROOT / changelog).is_file()


def release_headings():
    """The changelog's release headings (the lines above a ``---`` underline), newest first."""
    lines = (ROOT / "docs" / "changelog.rst").read_text(encoding="utf-8").splitlines()
    return [
        title
        for title, underline in itertools.pairwise(lines)
        if title and re.fullmatch(r"-+", underline) and len(underline) == len(title)
    ]


def test_every_release_in_the_changelog_is_dated_or_marked_unreleased_on_top():
    newest, *older = release_headings()
    assert re.fullmatch(
        rf"{re.escape(rtropo.__version__)} \((not released yet|\d{{4}}-\d\d-\d\d)\)", newest
    )
    assert all(re.fullmatch(r"\d+\.\d+\.\d+ \(\d{4}-\d\d-\d\d\)", title) for title in older)


def test_an_unreleased_version_does_not_claim_to_be_stable(metadata):
    [status] = [c for c in metadata.get_all("Classifier") if c.startswith("Development Status")]
    if release_headings()[0].endswith("(not released yet)"):
        assert status in {"Development Status :: 3 - Alpha", "Development Status :: 4 - Beta"}


def test_the_classifiers_claim_exactly_what_ci_runs(metadata):
    matrix = ci_matrix()
    classifiers = metadata.get_all("Classifier")
    djangos = {c.rsplit(" ", 1)[1] for c in classifiers if c.startswith("Framework :: Django ::")}
    pythons = {c.rsplit(" ", 1)[1] for c in classifiers if re.fullmatch(r"Programming .*3\.\d+", c)}
    assert djangos == set(matrix)
    assert pythons == set(matrix.values())
    assert SpecifierSet(metadata["Requires-Python"]) == SpecifierSet(f">={min(pythons)}")


def test_the_requirements_admit_every_ci_django_and_no_broken_tables2(metadata):
    requirements = [Requirement(line) for line in metadata.get_all("Requires-Dist")]
    requires = {r.name.lower(): r.specifier for r in requirements if not r.marker}
    for django in ci_matrix():
        pinned = (ROOT / f"requirements/django{django.replace('.', '')}.txt").read_text()
        assert pinned.strip().removeprefix("Django==") in requires["django"]
    assert "3.0.0" not in requires["django-tables2"]
    assert "2.8.0" in requires["django-tables2"]


def test_pyproject_names_its_build_backend():
    assert PYPROJECT["build-system"]["build-backend"] == "setuptools.build_meta"


def test_manifest_names_only_files_that_exist():
    for line in (ROOT / "MANIFEST.in").read_text(encoding="utf-8").splitlines():
        command, *paths = line.split()
        if command in {"include", "graft"}:
            assert all((ROOT / path).exists() for path in paths), line


def test_no_database_file_is_tracked():
    assert tracked("*.sqlite3") == []
