import os

import pytest
import requests
import responses

from rtropo.conf import BackendConfig
from rtropo.exceptions import TropoAPIError
from rtropo.outbox import client
from tests.support.payloads import API_URL, FIXTURES

TOKEN = "0123abcd" * 11
CONFIG = BackendConfig.from_entry(
    "t", {"messaging_token": TOKEN, "number": "+15555550000", "api_url": API_URL, "timeout": 3}
)


def reply(status=200, body="", content_type="application/json"):
    response = requests.Response()
    response.status_code = status
    response._content = body.encode() if isinstance(body, str) else body
    response.headers["Content-Type"] = content_type
    return response


def test_build_launch_request_is_a_json_post_with_token_action_and_reference_only():
    request = client.build_launch_request(CONFIG, "ref-1")
    assert request == {
        "method": "POST",
        "url": API_URL,
        "json": {"token": TOKEN, "action": "create", "rtropo_ref": "ref-1"},
        "headers": {"Accept": "application/json"},
        "timeout": 3.0,
    }


def test_json_success_strips_the_trailing_newline_of_real_session_ids():
    body = (FIXTURES / "session-launch-response.json").read_text()
    assert client.parse_launch_response(reply(body=body)) == ("5acf02a5867a557bd6b31212f47a5c56")


def test_xml_and_form_replies_are_understood():
    xml = "<session><success>true</success><token>T</token><id>abc\n</id></session>"
    assert client.parse_launch_response(reply(body=xml, content_type="text/xml")) == "abc"
    form = "success=true&token=T&id=def"
    assert client.parse_launch_response(reply(body=form, content_type="text/plain")) == "def"


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (200, '{"success": false, "token": "T", "reason": "FAILED TO ROUTE TOKEN"}', "ROUTE"),
        (200, '{"token": "T", "id": "abc"}', "refused"),
        (200, '{"success": true}', "no session id"),
        (200, '{"success": true, "id": "%s"}' % ("a" * 65), "over 64 characters"),
        (200, "<session><success>false</success></session>", "refused"),
        (200, "<session><success>true</success", "not JSON, XML"),
        (200, '<!DOCTYPE s [<!ENTITY e "true">]><session><success>&e;</success>', "not JSON"),
        (200, "", "not JSON, XML"),
        (200, "[1, 2]", "not JSON, XML"),
        (503, '{"success": true, "id": "x"}', "HTTP 503"),
    ],
)
def test_every_failure_shape_raises_with_the_response_attached(status, body, message):
    response = reply(status=status, body=body)
    with pytest.raises(TropoAPIError, match=message) as raised:
        client.parse_launch_response(response)
    assert raised.value.response is response


@responses.activate
def test_launch_session_posts_through_requests_with_the_timeout():
    responses.add(responses.POST, API_URL, json={"success": True, "token": TOKEN, "id": "abc\n"})
    assert client.launch_session(CONFIG, "ref-9") == "abc"
    sent = responses.calls[0].request
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["User-Agent"].startswith("rapidsms-tropo/")
    assert sent.req_kwargs["timeout"] == 3.0


@responses.activate
@pytest.mark.parametrize("error", [requests.ConnectTimeout(), requests.ConnectionError()])
def test_unreachable_api_raises_without_the_token(error):
    responses.add(responses.POST, API_URL, body=error)
    with pytest.raises(TropoAPIError) as raised:
        client.launch_session(CONFIG, "ref")
    assert raised.value.response is None
    assert raised.value.__cause__ is error
    assert TOKEN not in str(raised.value)


@responses.activate
def test_an_error_after_the_reply_began_keeps_the_response():
    partial = reply(status=200, body="{")
    error = requests.exceptions.ChunkedEncodingError(response=partial)
    responses.add(responses.POST, API_URL, body=error)
    with pytest.raises(TropoAPIError) as raised:
        client.launch_session(CONFIG, "ref")
    assert raised.value.response is partial
    assert raised.value.__cause__ is error


def test_one_http_session_per_process():
    assert client.http_session() is client.http_session()


def test_a_forked_child_gets_a_session_of_its_own():
    parent = client.http_session()
    pid = os.fork()
    if pid == 0:
        child = client.http_session()
        os._exit(0 if child is not parent and child is client.http_session() else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert client.http_session() is parent
