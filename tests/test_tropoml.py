import json

from rtropo import tropoml


def test_answer_is_utf8_json_ending_with_a_hangup():
    response = tropoml.answer([tropoml.message_verb("+15555550001", "Jambo 🙂", "+15555550000")])
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert "🙂".encode() in response.content
    assert json.loads(response.content)["tropo"][-1] == {"hangup": {}}


def test_work_after_the_answer_runs_when_the_server_closes_it(caplog):
    done = []
    response = tropoml.answer([])
    response.after_sent(lambda: done.append("launched"))
    response.after_sent(lambda: 1 / 0)
    response.after_sent(lambda: done.append("still runs"))
    assert done == []
    response.close()
    assert done == ["launched", "still runs"]
    assert "Work after a TropoML answer failed" in caplog.text
