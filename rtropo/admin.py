"""Django admin for the outbound queue, the launches and the inbound sessions."""

import django
from django.contrib import admin, messages
from django.db.models.constants import LOOKUP_SEP
from django.utils.translation import gettext_lazy as _

from rtropo import queue
from rtropo.models import InboundSession, Launch, OutboundMessage


class RecordAdmin(admin.ModelAdmin):
    """An admin for rows that only the backend writes: no add form, every field read-only.

    Fields in ``exclude`` (references and their digests) are neither shown nor
    reachable by a URL lookup (``?reference__regex=`` would reveal one).
    """

    def has_add_permission(self, request):
        return False

    def get_readonly_fields(self, request, obj=None):
        excluded = set(self.exclude or ())
        return [f.name for f in self.model._meta.fields if f.name not in excluded]

    def lookup_allowed(self, lookup, value, request=None):
        """Refuse every URL lookup on an excluded field."""
        if lookup.split(LOOKUP_SEP)[0] in set(self.exclude or ()):
            return False
        if django.VERSION < (5, 0):
            return super().lookup_allowed(lookup, value)
        return super().lookup_allowed(lookup, value, request)


class UnconfirmedFilter(admin.SimpleListFilter):
    """Messages with at least one send that Tropo never confirmed (sent twice, perhaps)."""

    title = _("unconfirmed sends")
    parameter_name = "unconfirmed_sends"

    def lookups(self, request, model_admin):
        return [("yes", _("at least one")), ("no", _("none"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(unconfirmed_count__gt=0)
        if self.value() == "no":
            return queryset.filter(unconfirmed_count=0)
        return queryset


@admin.register(OutboundMessage)
class OutboundMessageAdmin(RecordAdmin):
    list_display = (
        "id",
        "to_number",
        "short_text",
        "status",
        "attempts",
        "next_attempt_at",
        "backend_name",
        "created_at",
        "sent_at",
        "result_at",
        "unconfirmed_count",
    )
    list_filter = ("status", UnconfirmedFilter, "backend_name")
    search_fields = ("to_number", "identity", "message_id", "session_id")
    date_hierarchy = "created_at"
    actions = ["retry_now"]

    @admin.display(description=_("text"))
    def short_text(self, obj):
        return obj.text[:60]

    @admin.action(
        description=_("Retry now (queued, failed and unconfirmed messages)"),
        permissions=["change"],
    )
    def retry_now(self, request, queryset):
        count = queue.retry_now(queryset)
        self.message_user(
            request,
            _("%(count)d message(s) will go out at the next run of tropo_send_queued.")
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(Launch)
class LaunchAdmin(RecordAdmin):
    list_display = (
        "id",
        "backend_name",
        "status",
        "session_id",
        "size",
        "join_count",
        "created_at",
    )
    list_filter = ("status", "backend_name")
    search_fields = ("session_id",)
    exclude = ("reference",)


@admin.register(InboundSession)
class InboundSessionAdmin(RecordAdmin):
    list_display = (
        "session_id",
        "identity",
        "text",
        "status",
        "attempts",
        "backend_name",
        "received_at",
        "routed_at",
    )
    list_filter = ("status", "backend_name")
    search_fields = ("identity", "session_id")
