"""The inbound-spool tests on PostgreSQL: an SMS spooled while every insert fails and
routed once after, a replay SIGKILLed part-way, an unwritable spool, and an entry
that PostgreSQL refuses."""

import pytest

from tests.test_inbound_spool import (  # noqa: F401
    counts,
    spool_dir,
    test_a_replay_killed_part_way_records_nothing_twice_and_loses_nothing,
    test_a_run_while_the_database_still_refuses_fails_and_keeps_the_spool,
    test_an_entry_the_database_refuses_is_kept_and_the_others_are_routed,
    test_an_entry_whose_session_is_recorded_already_is_removed_without_routing,
    test_an_sms_the_database_cannot_record_is_answered_and_routed_once_when_it_is_back,
    test_an_unwritable_spool_is_a_503_and_an_error_line,
    test_sms_spooled_during_an_outage_reach_the_apps_oldest_first,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.test_inbound_durable"),
]
