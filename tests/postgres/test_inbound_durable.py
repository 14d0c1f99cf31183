"""The durable-inbound tests on PostgreSQL: a SIGKILLed routing, a reply INSERT that
fails, repeats, and two sweeps claiming with ``SKIP LOCKED`` at once."""

import pytest

from tests.test_inbound_durable import (  # noqa: F401
    apps,
    test_a_process_killed_while_routing_leaves_the_session_received_and_the_sweep_routes_it,
    test_a_repeat_after_the_claim_ran_out_routes_the_session_now,
    test_a_repeat_while_the_claim_is_live_is_a_hangup_without_routing,
    test_a_reply_that_cannot_be_stored_is_a_503_and_the_sms_is_routed_again_later,
    test_an_app_that_raises_is_a_500_and_the_sms_is_routed_again_later,
    test_an_inbound_without_reply_is_one_insert_and_one_update,
    test_two_sweeps_at_once_route_each_session_once,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.test_inbound_durable"),
]
