"""tox.ini's matrix is the package's: an environment for every Django the classifiers claim, on
the Python the Makefile gives it, and the benchmarks' dependencies only where benchmarks run.

Read from the files, without running tox: its factor syntax is expanded here for the few forms
tox.ini uses (``name{a,b}{,-c}`` sections, ``f1-!f2:`` conditional lines).
"""

import configparser
import itertools
import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).parents[1]
TOX = configparser.ConfigParser(interpolation=None)
TOX.read(ROOT / "tox.ini", encoding="utf-8")
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
CONDITION = re.compile(r"^([\w!,-]+):\s+(.*)$")


def expand(pattern: str) -> list[str]:
    """The environment names of a section name such as ``django{42,52}{,-quick}``."""
    parts = re.split(r"\{([^}]*)\}", pattern)
    choices = [[part] if i % 2 == 0 else part.split(",") for i, part in enumerate(parts)]
    return ["".join(names) for names in itertools.product(*choices)]


def sections() -> dict[str, str]:
    """Every environment tox.ini defines, and its section."""
    found = {}
    for section in TOX.sections():
        if section.startswith("testenv:"):
            found |= dict.fromkeys(expand(section.removeprefix("testenv:")), section)
    return found


def matches(condition: str, env: str) -> bool:
    """Whether ``env``'s factors satisfy ``a-!b`` (and) or ``a,b`` (or)."""
    factors = set(env.split("-"))

    def holds(factor: str) -> bool:
        return factor[1:] not in factors if factor.startswith("!") else factor in factors

    return any(all(map(holds, part.split("-"))) for part in condition.split(","))


def lines(env: str, key: str) -> list[str]:
    """The lines of ``key`` that apply to ``env`` (its section's, else [testenv]'s)."""
    section = sections()[env]
    value = TOX.get(section, key, fallback=None)
    if value is None:
        value = TOX.get("testenv", key, fallback="")
    applying = []
    for line in filter(None, (line.strip() for line in value.splitlines())):
        conditional = CONDITION.match(line)
        if conditional is None:
            applying.append(line)
        elif matches(conditional[1], env):
            applying.append(conditional[2])
    return applying


def requirements(path: Path) -> set[str]:
    """The package names a requirements file pins, following its ``-r`` includes."""
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            names |= requirements(path.parent / line[3:].strip())
        elif line:
            names.add(re.split(r"[\[=<>]", line)[0].lower().replace("_", "-"))
    return names


def installed(env: str) -> set[str]:
    """What ``env``'s deps install."""
    names = set()
    for dep in lines(env, "deps"):
        assert dep.startswith("-r "), f"{env}: {dep} is not pinned in requirements/"
        names |= requirements(ROOT / dep[3:].strip())
    return names


def claimed_djangos() -> list[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    classifiers = pyproject["project"]["classifiers"]
    return [c.rsplit(" ", 1)[1] for c in classifiers if c.startswith("Framework :: Django :: ")]


def makefile_python(django: str) -> str:
    version = re.search(rf"^PYTHON_FOR_{django.replace('.', '')} := (\S+)$", MAKEFILE, re.M)
    assert version, f"the Makefile gives Django {django} no Python"
    return version[1]


def test_every_claimed_django_has_a_full_and_a_quick_environment_on_the_makefiles_python():
    djangos = claimed_djangos()
    assert djangos == ["4.2", "5.2", "6.0", "6.1"]
    for django in djangos:
        for env in (f"django{django.replace('.', '')}", f"django{django.replace('.', '')}-quick"):
            assert env in sections(), env
            assert lines(env, "base_python") == [f"python{makefile_python(django)}"], env
            pin = f"requirements/django{django.replace('.', '')}.txt"
            assert f"-r {pin}" in lines(env, "deps"), env
            assert re.fullmatch(
                rf"Django=={re.escape(django)}\.\d+\n", (ROOT / pin).read_text("utf-8")
            )


def test_the_python_classifiers_are_the_pythons_tox_uses():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    claimed = {
        c.rsplit(" ", 1)[1]
        for c in pyproject["project"]["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    }
    used = {makefile_python(django) for django in claimed_djangos()}
    assert used == claimed


def test_benchmark_dependencies_stay_out_of_the_test_environments():
    bench = requirements(ROOT / "requirements/bench.txt") - requirements(
        ROOT / "requirements/test.txt"
    )
    assert {"matplotlib", "numpy"} <= bench
    test_envs = [env for env in sections() if env.startswith("django")]
    assert len(test_envs) == 8
    for env in test_envs:
        assert not installed(env) & bench, env
        assert {"pytest", "sphinx", "django"} <= installed(env), env
    for env in ("bench-tests", "bench"):
        assert bench <= installed(env), env


def test_the_quick_benchmark_runs_in_bench_tests_only():
    module = "tests/test_benchmarks_quick.py"
    for env in sections():
        if env.startswith("django"):
            pytest_runs = [c for c in lines(env, "commands") if "pytest" in c]
            sqlite = [c for c in pytest_runs if "DATABASE_URL" in c]
            assert len(sqlite) == 1 and f"--ignore={module}" in sqlite[0], env
            assert all(module not in c.replace(f"--ignore={module}", "") for c in pytest_runs)
    assert any(module in command for command in lines("bench-tests", "commands"))


def test_quick_environments_leave_out_the_slow_passes():
    for django in claimed_djangos():
        env = f"django{django.replace('.', '')}"
        full, quick = " ".join(lines(env, "commands")), " ".join(lines(f"{env}-quick", "commands"))
        for slow in ("tests/soak", "tests/faults", "tests/served"):
            assert f"--ignore={slow}" in quick, (env, slow)
            assert f"--ignore={slow}" not in full, (env, slow)
        assert "not browser" in quick and "not browser" not in full
        assert "tests/faults" in full and "tests/celery_worker" in quick


def test_coverage_is_measured_and_floored_on_the_full_django_52_run_only():
    for env in sections():
        commands = " ".join(lines(env, "commands"))
        if env == "django52":
            assert commands.count("--cov=rtropo") == 2
            assert "--cov-append" in commands
            assert "coverage report --fail-under={env:COVERAGE_FLOOR:" in commands
        else:
            assert "--cov" not in commands and "coverage" not in commands, env


def test_environments_live_in_the_checkout_and_see_the_services():
    assert TOX.get("testenv", "envdir") == "{toxinidir}/.venv-{envname}"
    passed = set(TOX.get("testenv", "pass_env").split())
    assert {"DATABASE_URL", "REDIS_URL", "RTROPO_*", "CI", "PYENV*", "HOME"} <= passed
