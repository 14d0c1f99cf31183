"""The documentation builds, and every sample in it is exercised.

Each ``.. code-block::`` in docs/*.rst either carries a ``:name:`` that a
checker below handles, or is a console block whose commands are checked.
"""

import ast
import configparser
import importlib.util
import json
import logging.config
import re
import shlex
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import django
import pytest
import tomllib
from django.core.management import get_commands, load_command_class
from django.db.utils import ConnectionHandler
from django.urls import URLResolver
from django.urls.resolvers import RegexPattern
from django.utils.module_loading import import_string

from rtropo import tropoml
from rtropo.conf import BackendConfig
from rtropo.emulator import Faults
from rtropo.emulator.testing import tropo_emulator  # noqa: F401  (the fixture the docs use)
from rtropo.models import OutboundMessage
from rtropo.outbox import client, launching, queue
from rtropo.views import message_received
from tests.support import rst_blocks

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
BACKEND = "my-tropo-backend"
_DIRECTIVE = re.compile(r"^(?P<indent> *)\.\. code-block:: *(?P<lang>\S+)\s*$")


def code_blocks():
    """Every code block of the docs: (page, language, name or None, dedented text)."""
    blocks = []
    for page in sorted(DOCS.glob("*.rst")):
        lines = page.read_text(encoding="utf-8").splitlines()
        for index, line in enumerate(lines):
            match = _DIRECTIVE.match(line)
            if not match:
                continue
            indent, name, body = len(match["indent"]), None, []
            cursor = index + 1
            while cursor < len(lines) and lines[cursor].strip().startswith(":"):
                option = lines[cursor].strip()
                if option.startswith(":name:"):
                    name = option.split(":", 2)[2].strip()
                cursor += 1
            for text in lines[cursor:]:
                if text.strip() and len(text) - len(text.lstrip()) <= indent:
                    break
                body.append(text)
            text = textwrap.dedent("\n".join(body)).strip()
            blocks.append((page.name, match["lang"], name, text))
    return blocks


def sample(name):
    [text] = [text for _, _, block_name, text in code_blocks() if block_name == name]
    return text


def run_sample(name, namespace=None):
    namespace = {} if namespace is None else namespace
    exec(compile(sample(name), f"<docs sample {name}>", "exec"), namespace)  # noqa: S102
    return namespace


def settings_sample(name):
    """A settings sample, run after a project's own settings (it adds to INSTALLED_APPS)."""
    return run_sample(name, {"INSTALLED_APPS": []})


def sample_module(name, module_name):
    """The sample as an importable module (for settings that name it by path)."""
    module = types.ModuleType(module_name)
    run_sample(name, module.__dict__)
    sys.modules[module_name] = module
    return module


@pytest.fixture
def docs_project(settings):
    """The quickstart's urls.py and handler, as the test project's own."""
    sample_module("sample-urls", "docs_sample_urls")
    sample_module("sample-handler", "docs_sample_handlers")
    settings.ROOT_URLCONF = "docs_sample_urls"
    settings.RAPIDSMS_HANDLERS = ["docs_sample_handlers.HelloHandler"]
    yield
    del sys.modules["docs_sample_urls"], sys.modules["docs_sample_handlers"]


@pytest.fixture
def docs_backend(settings):
    """The quickstart's backend, pointed at the test Session API, launching at once."""
    entry = settings_sample("sample-settings-nested")["INSTALLED_BACKENDS"][BACKEND]
    entry["config"]["api_url"] = "https://tropo.test/1.0/sessions"
    entry["config"]["launch_delay"] = 0
    settings.INSTALLED_BACKENDS = {**settings.INSTALLED_BACKENDS, BACKEND: entry}


# -- settings and URLs -------------------------------------------------------------


def test_nested_and_flat_settings_give_the_same_config():
    nested = settings_sample("sample-settings-nested")
    flat = settings_sample("sample-settings-flat")
    assert "rtropo" in nested["INSTALLED_APPS"]
    assert nested["DEFAULT_AUTO_FIELD"] == "django.db.models.AutoField"
    configs = [
        BackendConfig.from_entry(BACKEND, ns["INSTALLED_BACKENDS"][BACKEND])
        for ns in (nested, flat)
    ]
    assert configs[0] == configs[1]
    assert configs[0].number == "+15555550000"
    assert import_string(nested["INSTALLED_BACKENDS"][BACKEND]["ENGINE"]).__name__ == (
        "TropoBackend"
    )


#: Keys the all-keys sample shows at their default: the recommended value is the default.
DEFAULTS_SHOWN = {
    "messaging_token",
    "number",
    "api_url",
    "timeout",
    "inline_replies",
    "confirm_delivery",
    "resend_unconfirmed",
}


#: The config field each documented key sets, where it is not its name.
FIELDS = {"inbound_secret": "inbound_secrets", "number": "numbers"}


def test_the_all_keys_sample_sets_every_key_to_a_non_default():
    entry = run_sample("sample-settings-all")["INSTALLED_BACKENDS"][BACKEND]
    config = BackendConfig.from_entry(BACKEND, entry)
    fields = {f.name for f in config.__dataclass_fields__.values()} - {"name"}
    documented = {FIELDS.get(k, k) for k in entry["config"]}
    assert documented == fields
    defaults = BackendConfig(name=BACKEND, messaging_token="t", numbers=("+1555",))
    unchanged = {
        field
        for field in fields - DEFAULTS_SHOWN
        if getattr(config, field) == getattr(defaults, field)
    }
    assert unchanged == set()
    assert config.inbound_secrets == tuple(entry["config"]["inbound_secret"])


def test_the_key_table_lists_every_key_and_its_default():
    text = (DOCS / "configuration.rst").read_text(encoding="utf-8")
    table = text[text.index(":name: backend-keys") : text.index("Numbers must be")]
    keys = re.findall(r"^   \* - ``(\w+)``", table, flags=re.M)
    defaults = BackendConfig(name="x", messaging_token="t", numbers=("+1555",))
    fields = {f for f in defaults.__dataclass_fields__ if f != "name"}
    assert {FIELDS.get(k, k) for k in keys} == fields
    for key in ("timeout", "batch_size", "max_attempts", "max_body_bytes", "api_url"):
        row = table[table.index(f"``{key}``") :].split("* - ``")[0]
        shown = re.findall(r"``([^`]+)``", row)[1]
        assert ast.literal_eval(shown) == getattr(defaults, key), key
    for key in ("lease", "retry_base", "retry_cap"):
        row = table[table.index(f"``{key}``") :].split("* - ``")[0]
        assert float(re.findall(r"``([^`]+)``", row)[1]) == getattr(defaults, key), key


def test_the_urls_sample_routes_to_the_view_with_the_backend_name():
    module = types.SimpleNamespace(urlpatterns=run_sample("sample-urls")["urlpatterns"])
    match = URLResolver(RegexPattern(r"^/"), module).resolve("/tropo/")
    assert match.func is message_received
    assert match.kwargs == {"backend_name": BACKEND}
    assert URLResolver(RegexPattern(r"^/"), module).resolve("/admin/").app_name == "admin"


def test_the_handler_settings_name_the_sample_handler():
    handler_path = sample("sample-handler").splitlines()[0].removeprefix("# ")
    handler_class = re.search(r"^class (\w+)", sample("sample-handler"), flags=re.M)[1]
    namespace = run_sample("sample-settings-handlers", {"INSTALLED_APPS": ["rtropo"]})
    module = handler_path.removesuffix(".py").replace("/", ".")
    assert namespace["RAPIDSMS_HANDLERS"] == [f"{module}.{handler_class}"]
    assert namespace["INSTALLED_APPS"] == ["rtropo", "rapidsms.contrib.handlers", "myapp"]


def test_the_postgres_sample_is_a_postgresql_database():
    database = run_sample("sample-postgres")["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert importlib.util.find_spec("django.db.backends.postgresql")


def journal_mode(database: dict, prepare=None) -> str:
    """The journal mode of a fresh connection to ``database``."""
    connection = ConnectionHandler({"default": database})["default"]
    try:
        connection.ensure_connection()
        if prepare:
            prepare(sender=type(connection), connection=connection)
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            return cursor.fetchone()[0]
    finally:
        connection.close()


@pytest.mark.skipif(django.VERSION < (5, 1), reason="init_command for SQLite is Django 5.1+")
def test_the_wal_settings_sample_opens_sqlite_in_wal_mode(tmp_path, django_db_blocker):
    database = run_sample("sample-sqlite-wal", {"BASE_DIR": tmp_path})["DATABASES"]["default"]
    with django_db_blocker.unblock():
        assert journal_mode(database) == "wal"


def test_the_wal_signal_sample_opens_sqlite_in_wal_mode(tmp_path, django_db_blocker):
    namespace = run_sample("sample-sqlite-wal-signal", {"__name__": "mysite.apps"})
    database = {"ENGINE": "django.db.backends.sqlite3", "NAME": tmp_path / "db.sqlite3"}
    with django_db_blocker.unblock():
        assert journal_mode(database) == "delete"
        assert journal_mode(database, prepare=namespace["use_wal"]) == "wal"
    assert namespace["MySiteConfig"].name == "mysite"


def test_the_celery_sample_names_the_router_and_our_task():
    celery = run_sample("sample-celery")
    assert import_string(celery["RAPIDSMS_ROUTER"]).__name__ == "CeleryRouter"
    assert "rapidsms.router.celery" in celery["INSTALLED_APPS"]
    from rtropo.tasks import send_queued

    [entry] = celery["CELERY_BEAT_SCHEDULE"].values()
    assert entry["task"] == send_queued.name


def test_the_logging_sample_configures_the_rtropo_logger(settings):
    config = run_sample("sample-logging")["LOGGING"]
    try:
        logging.config.dictConfig(config)
        assert logging.getLogger("rtropo.views").getEffectiveLevel() == logging.INFO
    finally:
        logging.getLogger("rtropo").handlers.clear()
        logging.getLogger("rtropo").setLevel(logging.NOTSET)
        logging.config.dictConfig(settings.LOGGING)


def test_the_wire_samples_match_what_the_code_sends():
    config = BackendConfig(name="x", messaging_token="T", numbers=("+15555551212",))
    launch = json.loads(sample("sample-launch-body"))
    assert launch.keys() == client.build_launch_request(config, "ref")["json"].keys()
    answer = json.loads(sample("sample-tropoml-answer"))
    [verb, *handlers] = answer["tropo"]
    message = verb["message"]
    to, text, name = message["to"], message["say"]["value"], message["name"]
    built = tropoml.answer(
        [tropoml.message_verb(to, text, config.number, name)], result_url=handlers[0]["on"]["next"]
    )
    assert json.loads(built.content) == answer


# -- sending, answering, signals ---------------------------------------------------------


def test_the_sending_sample_queues_and_launches(
    tropo, docs_backend, db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run_sample("sample-send")
    [row] = OutboundMessage.objects.all()
    assert (row.backend_name, row.to_number, row.status) == (BACKEND, "+15555550001", "launched")
    assert len(tropo.launches) == 1


def test_the_program_sample_stores_and_launches_the_reminder(
    tropo, docs_backend, db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run_sample("sample-tropo-program")
    [row] = OutboundMessage.objects.all()
    assert (row.backend_name, row.to_number, row.status) == (BACKEND, "+15555550001", "launched")
    assert row.program["tropo"] == [
        {"call": {"to": "+15555550001"}},
        {"say": {"value": "Your clinic appointment is tomorrow at 9:00."}},
    ]
    assert len(tropo.launches) == 1


def test_the_handler_sample_answers_inline(docs_project, docs_backend, client, db):
    from tests.support.payloads import inbound_payload

    secret = settings_sample("sample-settings-nested")["INSTALLED_BACKENDS"][BACKEND]["config"][
        "inbound_secret"
    ]
    response = client.post(
        f"/tropo/?secret={secret}",
        data=json.dumps(inbound_payload("hello Ada")),
        content_type="application/json",
    )
    [verb] = [verb for verb in response.json()["tropo"] if "message" in verb]
    assert verb["message"]["say"]["value"] == "Hello, Ada!"


def test_the_signal_sample_logs_a_failed_message(
    tropo, db, backend_settings, caplog, django_capture_on_commit_callbacks
):
    from rtropo.conf import get_config
    from rtropo.signals import message_failed

    namespace = run_sample("sample-signal")
    try:
        backend_settings(max_attempts=1)
        tropo.fail_with((500, {}, ""))
        config = get_config("tropo")
        queue.enqueue(config, [queue.Recipient("+15555550001", "+15555550001")], "hi")
        with (
            caplog.at_level(logging.ERROR, logger="myproject.sms"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            launching.launch_due(config, config.number)
    finally:
        message_failed.disconnect(namespace["report_failed_sms"], sender=OutboundMessage)
    assert any(
        r.name == "myproject.sms" and "failed: Session API answered HTTP 500" in r.getMessage()
        for r in caplog.records
    )


# -- the emulator samples: a project's own tests, run for real ------------------------------


def test_the_emulator_samples_pass_against_the_emulator(
    docs_project,
    tropo_emulator,  # noqa: F811
    live_server,
    settings,
):
    namespace = run_sample("sample-emulator-conftest")
    assert namespace["pytest_plugins"] == ["rtropo.emulator.testing"]
    tropo = namespace["tropo"].__wrapped__(
        settings=settings, live_server=live_server, tropo_emulator=tropo_emulator
    )
    run_sample("sample-emulator-tests", namespace)
    tests = [name for name in namespace if name.startswith("test_")]
    assert len(tests) == 3
    for name in tests:
        tropo.reset()
        namespace[name](tropo)


def test_the_fault_curl_samples_are_valid_fault_specs():
    commands = [c for c in console_commands("emulator.rst") if c[0] == "curl"]
    assert len(commands) == 3
    for command in commands:
        assert command[-2] == "-d" and command[-1].startswith("{")
        assert command[command.index("-X") + 2].endswith("/emulator/api/faults")
        Faults().configure(json.loads(command[-1]))


# -- commands, cron, systemd ------------------------------------------------------------------


def console_commands(page=None):
    """Every ``$ `` command of the docs' console blocks, split like a shell would."""
    commands = []
    for block_page, lang, _, text in code_blocks():
        if lang == "console" and page in (None, block_page):
            commands += [
                shlex.split(line[2:], comments=True)
                for line in text.splitlines()
                if line[:2] == "$ "
            ]
    return commands


def check_manage_py(argv):
    """``manage.py NAME ARGS``: the command exists and takes these arguments."""
    name, args = argv[0], argv[1:]
    parser = load_command_class(get_commands()[name], name).create_parser("manage.py", name)
    parser.parse_args(args)


def test_every_console_command_is_known():
    checked = set()
    for command in console_commands():
        if command[:2] == ["python", "manage.py"]:
            check_manage_py(command[2:])
        elif command[:3] == ["python", "-m", "rtropo.emulator"]:
            check_emulator_command(command[3:])
        elif command[0] == "gunicorn":
            from gunicorn.config import Config

            options = Config().parser().parse_args(command[1:])
            assert options.threads > 1
        elif command[:2] == ["python", "benchmarks/run.py"]:
            assert set(command[2:]) <= {"--quick"}
            assert (ROOT / command[1]).is_file()
        elif command[:2] == ["python", "benchmarks/appendix.py"]:
            assert (ROOT / command[1]).is_file()
            assert [(ROOT / path).is_file() for path in command[2:]] == [True]
        elif command[:3] == ["pip", "install", "-r"]:
            assert all((ROOT / path).is_file() for path in command[3::2])
        elif command[:2] == ["git", "clone"]:
            assert command[2].endswith("/rapidsms-tropo.git")
        elif command[:2] == ["pip", "install"]:
            assert command[-1].split("[")[0] == "./rapidsms-tropo"
            pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
            assert pyproject["project"]["name"] == "rapidsms-tropo"
        elif command[:2] == ["make", "demo"]:
            assert re.search(r"^demo:", (ROOT / "Makefile").read_text(), flags=re.M)
        elif command[0] == "curl":
            pass  # test_the_fault_curl_samples_are_valid_fault_specs
        else:
            pytest.fail(f"no check for the documented command {command}")
        checked.add(command[0])
    assert {"python", "gunicorn", "pip", "make", "curl", "git"} <= checked


def check_emulator_command(args):
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "rtropo.emulator", *args, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    options = {arg.split("=")[0] for arg in args if arg.startswith("--")}
    assert options <= set(re.findall(r"--[\w-]+", result.stdout))


def test_the_crontab_runs_known_commands_at_sane_times():
    lines = [line for line in sample("sample-crontab").splitlines() if line.strip()]
    assert len(lines) == 2
    for line in lines:
        fields = line.split(None, 5)
        assert all(re.fullmatch(r"[\d*/,-]+", field) for field in fields[:5])
        command = shlex.split(fields[5].split("&&")[-1])
        assert command[1] == "manage.py"
        check_manage_py(command[2:])


def test_the_systemd_units_run_the_command_every_minute():
    service, timer = configparser.ConfigParser(), configparser.ConfigParser()
    service.read_string(sample("sample-systemd-service"))
    timer.read_string(sample("sample-systemd-timer"))
    assert service["Service"]["Type"] == "oneshot"
    command = shlex.split(service["Service"]["ExecStart"])
    assert command[1] == "manage.py"
    check_manage_py(command[2:])
    assert timer["Timer"]["OnCalendar"] == "*-*-* *:*:00"


# -- log lines quoted in the docs ---------------------------------------------------------------


def _patterns(path, call):
    """Regexes of the messages that ``call`` (e.g. ``logger.info``) logs in a source file."""
    patterns = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        func = ast.unparse(node.func)
        if call is None and not func.startswith("logger."):
            continue
        if call is not None and func != call:
            continue
        message = node.args[0] if call is None else node.args[1]
        if isinstance(message, ast.Constant) and isinstance(message.value, str):
            regex = re.escape(message.value)
            regex = re.sub(r"%\\?[sd]|%d|%s", ".+", regex)
        elif isinstance(message, ast.JoinedStr):
            regex = "".join(
                re.escape(part.value) if isinstance(part, ast.Constant) else ".+"
                for part in message.values
            )
        else:
            continue
        level = func.split(".")[-1].upper() if call is None else None
        patterns.append((level, re.compile(regex)))
    return patterns


@pytest.mark.parametrize(
    "name",
    [
        "sample-log-inbound",
        "sample-log-launch",
        "sample-log-token",
        "sample-log-status",
        "sample-log-phone",
    ],
)
def test_documented_log_lines_are_what_the_code_logs(name):
    lines = sample(name).splitlines()
    if name == "sample-log-token":
        lines += [sample("sample-log-secret")]
    for line in lines:
        logger_name, level, message = line.split(" ", 2)
        source = ROOT / (logger_name.replace(".", "/") + ".py")
        patterns = _patterns(source, None)
        assert any(lvl == level and p.fullmatch(message) for lvl, p in patterns), line


@pytest.mark.parametrize("name", ["sample-debugger-inbound", "sample-debugger-launch"])
def test_documented_debugger_lines_are_what_the_emulator_writes(name):
    patterns = _patterns(ROOT / "rtropo/emulator/engine.py", "self._log")
    for line in sample(name).splitlines():
        timestamp, message = line.split(" ", 1)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", timestamp)
        assert any(p.fullmatch(message) for _, p in patterns), line


# -- what a reader pastes ------------------------------------------------------------------------

#: Blocks that quote what the code writes: the emulator shortens secrets with "…" there.
QUOTED_OUTPUT = ("sample-debugger-", "sample-log-")


def pasted_lines(block):
    """The lines of ``block`` a reader types or pastes: not a console's output lines, not a
    quoted log."""
    if block.name and block.name.startswith(QUOTED_OUTPUT):
        return []
    numbered = [(block.line + offset, text) for offset, text in enumerate(block.lines)]
    if block.language == "console":
        return [(number, text) for number, text in numbered if text.lstrip().startswith("$ ")]
    return numbered


def test_pasted_lines_are_ascii():
    """A "…" in a placeholder breaks the URL or setting it is pasted into."""
    pages = [ROOT / "README.rst", *sorted(DOCS.glob("*.rst"))]
    blocks = [block for page in pages for block in rst_blocks.code_blocks(page)]
    assert {block.language for block in blocks} >= {"", "console", "python", "text"}
    found = [
        f"{block.path.name}:{number}: {text.strip()}"
        for block in blocks
        for number, text in pasted_lines(block)
        if not text.isascii()
    ]
    assert found == []


# -- completeness and the build ---------------------------------------------------------------

CHECKED = {
    "sample-settings-nested",
    "sample-sqlite-wal",
    "sample-sqlite-wal-signal",
    "sample-settings-flat",
    "sample-settings-handlers",
    "sample-settings-all",
    "sample-urls",
    "sample-send",
    "sample-tropo-program",
    "sample-handler",
    "sample-launch-body",
    "sample-tropoml-answer",
    "sample-emulator-conftest",
    "sample-emulator-tests",
    "sample-postgres",
    "sample-celery",
    "sample-crontab",
    "sample-systemd-service",
    "sample-systemd-timer",
    "sample-logging",
    "sample-debugger-inbound",
    "sample-debugger-launch",
    "sample-log-inbound",
    "sample-log-launch",
    "sample-log-token",
    "sample-log-secret",
    "sample-log-phone",
    "sample-log-status",
    "sample-status-output",
    "sample-signal",
    # Run by tests/served: gunicorn serves with the config, nginx with the site.
    "sample-gunicorn-conf",
    "sample-nginx",
}


def test_every_code_sample_is_checked():
    blocks = code_blocks()
    named = [name for _, _, name, _ in blocks if name]
    assert len(named) == len(set(named)), "duplicate sample names"
    assert set(named) == CHECKED
    unnamed = [(page, lang) for page, lang, name, _ in blocks if not name and lang != "console"]
    assert unnamed == []


def test_sphinx_builds_without_warnings(tmp_path):
    build = ["-W", "--keep-going", "-q", "-b", "html", "-d", str(tmp_path / "doctrees")]
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-m", "sphinx", *build, str(DOCS), str(tmp_path / "html")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "html" / "how-it-works.html").exists()
    doubled = [
        f"{page.name}: ...{before}{title}"
        for page in sorted((tmp_path / "html").glob("*.html"))
        for before, title in _DOC_LINK.findall(page.read_text(encoding="utf-8"))
        if _doubles(before, title)
    ]
    assert doubled == []


#: A link to a page, with the 40 characters of text before it.
_DOC_LINK = re.compile(
    r'([^<>]{0,40})<a class="reference internal" [^>]*><span class="doc">([^<]+)'
)


def _doubles(before: str, title: str) -> bool:
    """Whether a page title reads wrongly where it is linked: "the The Tropo emulator"."""
    words = before.split()
    if not words:
        return False
    first = title.split()[0]
    mid_sentence = not words[-1].endswith((".", ":", "!", "?"))
    return words[-1].lower() == first.lower() or (mid_sentence and first == "The")
