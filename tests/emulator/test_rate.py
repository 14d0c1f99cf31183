import itertools

from rtropo.emulator import running_emulator

from .conftest import message


def test_one_sms_per_interval_per_sender(app):
    app.answer = {
        "tropo": [
            message("+15555550001", "a"),
            message("+15555550002", "b"),
            message("+15555550003", "c", sender="+15555550009"),
        ]
    }
    with running_emulator(
        app_url=app.url, token="T", enforce_rate=True, rate_interval=0.3
    ) as tropo:
        tropo.send_sms("+15555550001", "go")
        tropo.send_sms("+15555550001", "again")
        deliveries = tropo.deliveries
    main = [d for d in deliveries if d.from_ == "+15555550000"]
    other = [d for d in deliveries if d.from_ == "+15555550009"]
    assert [d.text for d in main] == ["a", "b", "a", "b"]
    gaps = [b.delivered_at - a.delivered_at for a, b in itertools.pairwise(main)]
    assert all(gap >= 0.25 for gap in gaps), gaps
    assert len(other) == 2


def test_default_rate_is_one_per_second(app):
    app.answer = {"tropo": [message("+15555550001", "a"), message("+15555550002", "b")]}
    with running_emulator(app_url=app.url, token="T", enforce_rate=True) as tropo:
        first, second = tropo.send_sms("+15555550001", "go").deliveries
    assert second.delivered_at - first.delivered_at >= 0.9


def test_no_rate_by_default(emulator, app):
    app.answer = {"tropo": [message("+15555550001", str(i)) for i in range(5)]}
    result = emulator.send_sms("+15555550001", "go")
    assert [d.text for d in result.deliveries] == ["0", "1", "2", "3", "4"]
