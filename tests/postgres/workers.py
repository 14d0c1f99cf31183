"""What the child processes of the PostgreSQL tests run.

Each child is a fresh interpreter ('spawn'): it points ``tests.settings`` at the
test database, sets up Django, waits at a barrier so that all children start
together, plays its role and puts ``(role, index, error, outcome)`` on the
results queue.
"""

import json
import os
import random
import time
import traceback

SECRET = "new-secret"


def main(role, index, db_url, backends, barrier, done, results, kwargs):
    """Entry point of one child process."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ["DATABASE_URL"] = db_url
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    settings.INSTALLED_BACKENDS = backends
    try:
        barrier.wait(timeout=120)
        outcome = ROLES[role](done=done, index=index, **kwargs)
        results.put((role, index, None, outcome))
    except BaseException:
        results.put((role, index, traceback.format_exc(), None))
    finally:
        connections.close_all()


def _config():
    from rtropo.conf import get_config

    return get_config("tropo")


def claim_each(references, done, index):
    """claim_for_callback for every reference in order: {reference: row ids or None}."""
    from rtropo.outbox import answers

    config = _config()
    claims = {}
    for n, reference in enumerate(references):
        rows = answers.claim_for_callback(config, reference, f"{index:04x}{n:028x}")
        claims[reference] = None if rows is None else [row.pk for row in rows]
    return claims


def release_each(references, done, index):
    """release() every launch in order: {reference: rows released}."""
    from rtropo.models import Launch
    from rtropo.outbox import release

    config = _config()
    launches = Launch.objects.in_bulk(references, field_name="reference")
    return {
        reference: release.release(config, launches[reference], "lease ran out")
        for reference in references
    }


def send(texts, done, index):
    """Send one message per text through the Tropo backend, outside any transaction.

    Each send commits its row; the backend's launcher then joins a pending
    launch with room or launches, as in a web or Celery worker.
    """
    from rapidsms.router import get_router

    backend = get_router().backends["tropo"]
    for n, text in enumerate(texts):
        backend.send(id_=f"{index}-{n}", text=text, identities=[f"+1555{index:03d}{n:04d}"])
        time.sleep(random.uniform(0, 0.005))
    return {"queued": len(texts)}


def launch_loop(done, index):
    """Run send_queued (as cron or celery beat would) until told to stop."""
    from rtropo import periodic

    config = _config()
    totals = {"released": 0, "launches": 0, "messages": 0, "failed_launches": 0}
    while not done.is_set():
        progress = periodic.send_queued(config)
        for key in totals:
            totals[key] += getattr(progress, key)
        time.sleep(0.05)
    return totals


def answer_loop(stub_url, done, index):
    """Play back every launch the stub listed as a callback to the view, once each.

    Returns the texts of the message verbs received and how many answers were
    a bare hangup.
    """
    import requests
    from django.test import Client

    from tests.support.payloads import callback_payload

    client = Client()
    answered, texts, hangups = set(), [], 0
    while not done.is_set():
        listed = requests.get(f"{stub_url}/launches", timeout=5).json()
        new = [reference for reference in listed if reference not in answered]
        if not new:
            time.sleep(0.02)
            continue
        for reference in new:
            answered.add(reference)
            session = callback_payload(reference, session_id=f"{index:04x}{len(answered):028x}")
            response = client.post(
                f"/tropo/?secret={SECRET}", json.dumps(session), content_type="application/json"
            )
            assert response.status_code == 200, response.status_code
            verbs = response.json()["tropo"]
            got = [verb["message"]["say"]["value"] for verb in verbs if "message" in verb]
            texts.extend(got)
            hangups += not got
    return {"texts": texts, "hangups": hangups, "callbacks": len(answered)}


def inline_loop(done, index):
    """Answer a few random queued rows inline, as an inbound session's answer would."""
    from rtropo.models import OutboundMessage
    from rtropo.outbox import answers

    config = _config()
    texts, sessions = [], 0
    while not done.is_set():
        queued = list(
            OutboundMessage.objects.filter(status=OutboundMessage.Status.QUEUED).values_list(
                "pk", flat=True
            )[:50]
        )
        if queued:
            sessions += 1
            picked = random.sample(queued, min(3, len(queued)))
            held = OutboundMessage.objects.in_bulk(picked)
            rows = answers.claim_inline(config, held, f"{index:04x}{sessions:028x}", config.number)
            texts.extend(row.text for row in rows)
        time.sleep(0.02)
    return {"texts": texts, "sessions": sessions}


def confirm_each(digests, done, index):
    """record_result, all delivered, for the answer of each digest: {digest: confirmed}."""
    from rtropo.outbox import results
    from rtropo.outbox.results import ResultReading, Verdict

    config = _config()
    delivered = ResultReading({}, Verdict(True))
    answers = [results.answer_of(config, digest) for digest in digests]
    return {
        answer.digest: results.record_result(config, answer, delivered).confirmed
        for answer in answers
    }


ROLES = {
    "claim_each": claim_each,
    "confirm_each": confirm_each,
    "release_each": release_each,
    "send": send,
    "launch_loop": launch_loop,
    "answer_loop": answer_loop,
    "inline_loop": inline_loop,
}
