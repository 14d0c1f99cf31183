"""The outbound queue, the sessions we launched, and the inbound sessions (data only)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Launch(models.Model):
    """One Tropo session we asked for, identified towards Tropo by ``reference``."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        ANSWERED = "answered", _("answered")
        FAILED = "failed", _("failed")

    backend_name = models.CharField(max_length=100)
    reference = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    session_id = models.CharField(max_length=64, blank=True)
    size = models.PositiveIntegerField(default=0, help_text=_("Messages taken at launch."))
    join_count = models.PositiveIntegerField(
        default=0, help_text=_("Sends that relied on this launch instead of launching.")
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    program = models.BooleanField(
        default=False, help_text=_("Whether it carries a Tropo program instead of messages.")
    )
    number = models.CharField(
        max_length=16, blank=True, help_text=_("The pool number its messages are texted from.")
    )

    class Meta:
        verbose_name = _("launch")
        verbose_name_plural = _("launches")
        indexes = [models.Index(fields=["backend_name", "status", "expires_at"])]

    def __str__(self):
        return f"launch {self.pk} ({self.status})"


class OutboundQuerySet(models.QuerySet):
    """The rows of the outbound queue by where they are in their lifecycle."""

    def of_backend(self, name: str):
        return self.filter(backend_name=name)

    def due(self, until=None):
        """Queued rows whose next attempt is due by ``until`` (default: now)."""
        return self.filter(
            status=OutboundMessage.Status.QUEUED, next_attempt_at__lte=until or timezone.now()
        )

    def awaiting_result(self):
        """Sent rows whose latest send asked Tropo for a result that has not come."""
        return self.filter(status=OutboundMessage.Status.SENT, result_requested=True)

    def in_flight(self):
        """Rows launched, or sent and awaiting a result (the in-flight window)."""
        return self.filter(
            models.Q(status=OutboundMessage.Status.LAUNCHED)
            | models.Q(status=OutboundMessage.Status.SENT, result_requested=True)
        )


class OutboundMessage(models.Model):
    """One SMS to one recipient, or one Tropo ``program``, from queued to sent, then
    confirmed by Tropo, or failed."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        LAUNCHED = "launched", _("launched")
        SENT = "sent", _("sent")
        CONFIRMED = "confirmed", _("confirmed")
        UNCONFIRMED = "unconfirmed", _("unconfirmed")
        FAILED = "failed", _("failed")

    backend_name = models.CharField(max_length=100)
    identity = models.CharField(max_length=100, help_text=_("The RapidSMS identity."))
    to_number = models.CharField(max_length=16, help_text=_("+ and digits."))
    from_number = models.CharField(
        max_length=16,
        blank=True,
        help_text=_("The pool number that texts it; empty until it is chosen, at its launch."),
    )
    text = models.TextField()
    message_id = models.CharField(max_length=64, blank=True)
    in_response_to = models.CharField(max_length=64, blank=True)
    external_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    launch = models.ForeignKey(
        Launch, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    session_id = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    result_requested = models.BooleanField(
        default=False, help_text=_("Whether its latest send asked Tropo for a result.")
    )
    result_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When Tropo's result confirmed or failed the row.")
    )
    unconfirmed_count = models.PositiveIntegerField(
        default=0,
        help_text=_("Sends that Tropo never confirmed (each may have reached the phone)."),
    )
    program = models.JSONField(
        null=True,
        blank=True,
        help_text=_("A Tropo program to run instead of a message (execute_tropo_program)."),
    )

    objects = OutboundQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["backend_name", "status", "next_attempt_at"]),
            models.Index(fields=["status", "sent_at"]),
            models.Index(fields=["backend_name", "result_at"], name="rtropo_out_result_at"),
        ]

    def __str__(self):
        return f"{self.to_number}: {self.text[:40]}"


class NumberAssignment(models.Model):
    """The pool number that texts ``recipient`` (sticky): chosen at the first message to it,
    or the number it texted since."""

    backend_name = models.CharField(max_length=100)
    recipient = models.CharField(max_length=16, help_text=_("+ and digits."))
    number = models.CharField(max_length=16, help_text=_("One of the backend's numbers."))
    assigned_at = models.DateTimeField()

    class Meta:
        verbose_name = _("number assignment")
        verbose_name_plural = _("number assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["backend_name", "recipient"], name="rtropo_one_number_per_recipient"
            )
        ]
        indexes = [models.Index(fields=["backend_name", "number"], name="rtropo_assigned_number")]

    def __str__(self):
        return f"{self.recipient} → {self.number}"


class AnswerReference(models.Model):
    """One answer that asked Tropo for its result, and the rows it carried.

    Only the SHA-256 ``digest`` of its reference is stored; it stays valid while
    the rows are neither ``confirmed`` nor ``failed``.
    """

    backend_name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    session_id = models.CharField(max_length=64)
    message_ids = models.JSONField(help_text=_("Ids of the messages the answer carried."))
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self):
        return f"answer in session {self.session_id}"


class InboundSession(models.Model):
    """An inbound SMS session: ``received`` when recorded, ``routed`` once the apps returned.

    ``claimed_until`` is the lease of whoever routes it; ``attempts`` counts the routings begun.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", _("received")
        ROUTED = "routed", _("routed")
        FAILED = "failed", _("failed")

    backend_name = models.CharField(max_length=100)
    session_id = models.CharField(max_length=64, unique=True)
    identity = models.CharField(max_length=16)
    text = models.TextField()
    to_number = models.CharField(max_length=16, blank=True)
    account_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField()
    routed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["received_at"]),
            models.Index(fields=["backend_name", "status", "claimed_until"]),
        ]

    def __str__(self):
        return f"{self.identity} ({self.session_id})"


class BackendHealth(models.Model):
    """What the view, the launches and the periodic command last saw of one backend.

    ``last_launch_at`` and ``last_refusal_at`` are the last launches Tropo accepted and
    refused: a refusal is current while it is the later. ``refused_requests`` counts the
    requests the view refused since ``refused_since``; ``last_run_at`` is the last run of
    ``tropo_send_queued`` (or its task).
    """

    backend_name = models.CharField(max_length=100, unique=True)
    last_callback_at = models.DateTimeField(null=True, blank=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    last_launch_at = models.DateTimeField(null=True, blank=True)
    last_refusal_at = models.DateTimeField(null=True, blank=True)
    last_refusal_reason = models.TextField(blank=True)
    refused_requests = models.PositiveIntegerField(default=0)
    refused_since = models.DateTimeField(null=True, blank=True)
    last_refused_request_at = models.DateTimeField(null=True, blank=True)
    last_refused_request_reason = models.TextField(blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("backend health")
        verbose_name_plural = _("backend health")

    def __str__(self):
        return f"health of {self.backend_name}"
