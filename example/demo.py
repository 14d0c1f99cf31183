"""Run the demo: the example RapidSMS project and the Tropo emulator, wired together.

``make demo`` runs this with the project's virtualenv. It migrates the SQLite
database, creates a demo admin user, starts the project on Django's threaded
development server and the emulator in this process, launches sessions for
queued messages every ``--interval`` seconds (as cron would run
``manage.py tropo_send_queued``), and serves until Ctrl-C.

Ports come from ``--port`` / ``--emulator-port`` or ``DEMO_PORT`` /
``DEMO_EMULATOR_PORT`` (8000 and 8088).
"""

import argparse
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

EXAMPLE_DIR = Path(__file__).resolve().parent
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"  # noqa: S105 - the demo's well-known local password
STARTUP_TIMEOUT = 60.0

logger = logging.getLogger("demo")


def show(text=""):
    """Console output of the demo."""
    print(text, flush=True)  # noqa: T201 - the demo talks to its user


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("DEMO_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", "8000")))
    parser.add_argument(
        "--emulator-port", type=int, default=int(os.environ.get("DEMO_EMULATOR_PORT", "8088"))
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=30.0,
        help="seconds between runs of the queued-message sender (default 30)",
    )
    return parser.parse_args(argv)


def port_in_use(host, port):
    """Whether a server could not bind ``host:port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def check_ports(host, ports):
    """Exit with a clear message when a port is taken."""
    for flag, port in ports.items():
        if port_in_use(host, port):
            sys.exit(
                f"Port {port} on {host} is already in use (another demo still running?). "
                f"Stop that process or pick another port, e.g. "
                f"python example/demo.py {flag} {port + 1}"
            )


def prepare_database():
    """Migrate and make sure the demo admin user exists."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    users = get_user_model().objects
    if not users.filter(username=ADMIN_USERNAME).exists():
        users.create_superuser(ADMIN_USERNAME, "admin@example.com", ADMIN_PASSWORD)


def bypass_proxies_for(host):
    """Talk to our own servers directly, even where an HTTP proxy is configured."""
    for name in ("no_proxy", "NO_PROXY"):
        os.environ[name] = ",".join(filter(None, [os.environ.get(name), host, "localhost"]))


def start_project(host, port):
    """Django's threaded development server for the project, in a subprocess."""
    command = [sys.executable, str(EXAMPLE_DIR / "manage.py"), "runserver", "--noreload"]
    return subprocess.Popen([*command, f"{host}:{port}"], cwd=EXAMPLE_DIR)  # noqa: S603


def wait_until_serving(server, url):
    """Wait until ``url`` answers HTTP (any status); exit if the server died."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"The project's server exited with status {server.returncode}.")
        try:
            with opener.open(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"The project's server did not answer at {url} within {STARTUP_TIMEOUT:.0f}s.")


def send_queued():
    """One run of what ``manage.py tropo_send_queued`` does; report what it did."""
    from django.db import DatabaseError

    from rtropo import periodic

    try:
        done = periodic.send_all_queued()
    except DatabaseError as exc:
        logger.warning("Sending queued messages failed: %s", exc)
        return
    for name, progress in done.items():
        if progress.launches or progress.released or progress.failed_launches:
            logger.info(
                "%s: %d message(s) in %d launch(es), %d requeued, %d failed launch(es)",
                name,
                progress.messages,
                progress.launches,
                progress.released,
                progress.failed_launches,
            )


def stop_server(server):
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def banner(host, port, emulator_port, number):
    python = os.path.relpath(sys.executable)
    env = "" if emulator_port == 8088 else f"DEMO_EMULATOR_PORT={emulator_port} "
    show()
    show("=" * 72)
    show(f"  Tropo emulator (the phones):  http://{host}:{emulator_port}/")
    show(f"  RapidSMS project admin:       http://{host}:{port}/admin/")
    show(f"      user {ADMIN_USERNAME!r}, password {ADMIN_PASSWORD!r} (demo only)")
    show()
    show(f"  Open the emulator page, and text the app ({number}) from any number:")
    show('      "ping"     -> the app answers "pong"')
    show('      "echo hi"  -> the app answers "hi"')
    show("      anything else gets RapidSMS's default response.")
    show()
    show("  Send from the app to phones:")
    show(f'      {env}{python} example/manage.py demo_send "Hello" +15555550001 +15555550002')
    show("  Press Ctrl-C to stop.")
    show("=" * 72)
    show()


def serve(server, interval):
    """Send queued messages every ``interval`` seconds until the server exits."""
    while True:
        try:
            server.wait(timeout=interval)
        except subprocess.TimeoutExpired:
            send_queued()
        else:
            sys.exit(f"The project's server exited with status {server.returncode}.")


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    args = parse_args(argv)
    check_ports(args.host, {"--port": args.port, "--emulator-port": args.emulator_port})
    bypass_proxies_for(args.host)
    os.environ["DEMO_EMULATOR_HOST"] = args.host
    os.environ["DEMO_EMULATOR_PORT"] = str(args.emulator_port)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_project.settings")
    sys.path.insert(0, str(EXAMPLE_DIR))
    signal.signal(signal.SIGTERM, _interrupt)

    import django

    django.setup()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("rtropo.emulator").setLevel(logging.WARNING)
    from rtropo.conf import get_config
    from rtropo.emulator import Emulator

    prepare_database()
    config = get_config("tropo")
    project_url = f"http://{args.host}:{args.port}"
    with contextlib.ExitStack() as running:
        running.enter_context(
            Emulator(
                f"{project_url}/tropo/?secret={config.inbound_secrets[0]}",
                config.messaging_token,
                number=config.number,
                host=args.host,
                port=args.emulator_port,
                hint='The demo app understands "ping" (it answers "pong") and "echo <words>".',
            )
        )
        server = start_project(args.host, args.port)
        running.callback(stop_server, server)
        try:
            wait_until_serving(server, f"{project_url}/admin/login/")
            banner(args.host, args.port, args.emulator_port, config.number)
            serve(server, args.interval)
        except KeyboardInterrupt:
            show("\nStopping the demo...")
    show("Demo stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
