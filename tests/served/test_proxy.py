"""Slow clients without the secret, against gunicorn alone and behind the docs' nginx site.

Real SMS are POSTed as Tropo does, giving up after Tropo's 10 seconds, while
clients that send their bodies a byte at a time hold connections. gunicorn
alone hands each connection to a thread, which the slow clients fill; nginx
(docs/deployment.rst, ``sample-nginx``) reads each body in full before it
passes the request on.
"""

import concurrent.futures
import json
import urllib.error
import urllib.request

import pytest

from tests.served import SECRET
from tests.support.nginx import Nginx, nginx_binary
from tests.support.payloads import inbound_payload
from tests.support.project import DIRECT, free_port
from tests.support.services import skip_or_fail
from tests.support.slow_clients import SlowClients, request_head, stalled_after

# More than the threads of the docs' gunicorn (2 workers of 8), however they spread.
SLOW_CLIENTS = 48
# Bytes of each slow body: 20 s at one byte per 0.5 s, longer than Tropo waits.
SLOW_BODY = 40
SMS = 10
TROPO_TIMEOUT = 10.0
# Longer than the site's client_header_timeout and client_body_timeout.
STALL_LIMIT = 20.0


@pytest.fixture
def nginx(gunicorn, tmp_path):
    """nginx serving the docs' site in front of ``gunicorn`` on loopback; its port."""
    if nginx_binary() is None:
        skip_or_fail("nginx is not installed (apt-get install nginx-light)")
    port = free_port()
    proxy = Nginx(site(gunicorn.port, port, tmp_path), tmp_path)
    proxy.start(port)
    proxy.port = port
    yield proxy
    proxy.stop()


def site(upstream: int, port: int, tmp_path) -> str:
    """The docs' nginx site on loopback: ports and log path substituted, without TLS."""
    from tests.test_docs import sample

    text = sample("sample-nginx")
    substitutions = {
        "listen 443 ssl;": f"listen 127.0.0.1:{port};",
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{upstream};",
        "/var/log/nginx/rapidsms.access.log": str(tmp_path / "nginx-access.log"),
    }
    for old, new in substitutions.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith("ssl_"))


def text_ping(port: int, number: int) -> str:
    """One SMS as Tropo posts it: "answered" when the app's reply came within Tropo's wait."""
    payload = inbound_payload(
        text="ping", from_id=f"1555555{number:04d}", session_id=f"{number + 1:032x}"
    )
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/tropo/?secret={SECRET}",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with DIRECT.open(request, timeout=TROPO_TIMEOUT) as response:
            return "answered" if b"pong" in response.read() else "answered without the reply"
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except (TimeoutError, urllib.error.URLError) as error:
        if isinstance(getattr(error, "reason", error), TimeoutError):
            return "Tropo gave up"
        raise


def text_all(port: int) -> list[str]:
    with concurrent.futures.ThreadPoolExecutor(SMS) as pool:
        return list(pool.map(lambda number: text_ping(port, number), range(SMS)))


def test_slow_clients_starve_gunicorn_alone(gunicorn):
    with SlowClients(gunicorn.port, "/tropo/", SLOW_CLIENTS, SLOW_BODY):
        outcomes = text_all(gunicorn.port)
    assert "Tropo gave up" in outcomes


def test_behind_nginx_slow_clients_starve_no_sms(gunicorn, nginx, tmp_path):
    stalls = concurrent.futures.ThreadPoolExecutor(2)
    stalled = [
        stalls.submit(stalled_after, nginx.port, data, STALL_LIMIT)
        for data in (b"POST /tropo/ HTTP/1.1\r\nHost: 127.0.0.1\r\n", request_head("/", 9) + b"{")
    ]
    with SlowClients(nginx.port, "/tropo/", SLOW_CLIENTS, SLOW_BODY):
        outcomes = text_all(nginx.port)
        too_large = stalled_after(nginx.port, request_head("/tropo/", 64 * 1024 + 1), STALL_LIMIT)
    assert outcomes == ["answered"] * SMS
    # nginx closed the stalled connections: they never reached gunicorn.
    assert [future.result() is not None for future in stalled] == [True, True]
    stalls.shutdown()
    assert too_large.startswith(b"HTTP/1.1 413 ")
    gunicorn.stop()
    access = gunicorn.access_log.read_text(encoding="utf-8")
    assert access.count('"POST /tropo/ HTTP/1.0" 200') == SMS
    assert access.count("POST") == SMS
    assert SECRET not in access + (tmp_path / "nginx-access.log").read_text(encoding="utf-8")


def test_nginx_error_log_quotes_the_request_line_with_the_secret(gunicorn, nginx):
    gunicorn.stop()
    assert text_ping(nginx.port, 0) == "HTTP 502"
    nginx.stop()
    assert f'request: "POST /tropo/?secret={SECRET} HTTP/1.1"' in nginx.errors()
