"""Signals sent once per message when it reaches a terminal status.

Both are sent with ``sender=OutboundMessage`` and ``message=<the row>``, after
the status change has been committed. ``message_failed`` also passes
``reason``, the last error text.
"""

from django.dispatch import Signal

message_sent = Signal()
message_failed = Signal()
