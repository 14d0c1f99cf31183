"""Django admin for the outbound queue, the launches, the inbound sessions and the numbers
of the pool each recipient is texted from."""

from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured
from django.db import Error as DatabaseError
from django.db.models.constants import LOOKUP_SEP
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from rtropo.conf import get_config, tropo_backend_names
from rtropo.models import InboundSession, Launch, NumberAssignment, OutboundMessage
from rtropo.outbox import release
from rtropo.status.problems import CRITICAL
from rtropo.status.report import backend_status

#: Characters shown in the changelists (a session id is 32: shown whole).
TEXT_SHOWN = 40
ERROR_SHOWN = 60
SESSION_ID_SHOWN = 64


def compact_time(value):
    """``value`` in the site's time zone as ``2026-12-06 21:09``."""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.strftime("%Y-%m-%d %H:%M")


def shortened(text: str, length: int):
    """``text`` cut to ``length`` characters, whole on hover (None when empty); it wraps
    anywhere, so that a long word cannot widen its column."""
    if not text:
        return None
    html = '<span title="{}" style="overflow-wrap: anywhere">{}</span>'
    return format_html(html, text, Truncator(text).chars(length))


def show_status(request) -> None:
    """Add each Tropo backend's problems, as ``tropo_status`` words them, to the page."""
    for name in tropo_backend_names():
        try:
            report = backend_status(get_config(name))
        except ImproperlyConfigured as exc:
            messages.error(request, str(exc))
        except DatabaseError as exc:
            messages.error(request, f"{name}: its state cannot be read ({type(exc).__name__})")
        else:
            for problem in report.problems:
                level = messages.ERROR if problem.level == CRITICAL else messages.WARNING
                messages.add_message(request, level, problem.line(name))


class RecordAdmin(admin.ModelAdmin):
    """Rows only the backend writes: view-only pages, no add form, and the backends'
    problems above each list. Fields in ``exclude`` are neither shown nor reachable by a
    URL lookup (``?reference__regex=`` would reveal one)."""

    def has_add_permission(self, request):
        return False

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET":
            show_status(request)
        return super().changelist_view(request, extra_context)

    def has_change_permission(self, request, obj=None):
        # A row's page is view-only; the change permission still allows the actions.
        return obj is None and super().has_change_permission(request)

    def lookup_allowed(self, lookup, value, *request):
        # Django 5.0 added ``request``.
        if lookup.split(LOOKUP_SEP)[0] in set(self.exclude or ()):
            return False
        return super().lookup_allowed(lookup, value, *request)

    @admin.display(description=_("text"))
    def short_text(self, obj):
        return shortened(obj.text, TEXT_SHOWN)

    @admin.display(description=_("session id"), ordering="session_id")
    def session(self, obj):
        return shortened(obj.session_id, SESSION_ID_SHOWN)


class UnconfirmedFilter(admin.SimpleListFilter):
    """Messages with at least one send that Tropo never confirmed."""

    title = _("unconfirmed sends")
    parameter_name = "unconfirmed_sends"

    def lookups(self, request, model_admin):
        return [("yes", _("at least one")), ("no", _("none"))]

    def queryset(self, request, queryset):
        lookups = {"yes": {"unconfirmed_count__gt": 0}, "no": {"unconfirmed_count": 0}}
        return queryset.filter(**lookups.get(self.value(), {}))


@admin.register(OutboundMessage)
class OutboundMessageAdmin(RecordAdmin):
    list_display = (
        "recipient",
        "from_number",
        "short_text",
        "status_shown",
        "next_attempt",
        "short_error",
    )
    list_filter = ("status", UnconfirmedFilter, "backend_name", "from_number")
    search_fields = ("to_number", "identity", "message_id", "session_id")
    date_hierarchy = "created_at"
    actions = ["retry_now"]

    @admin.display(description=_("to number"), ordering="to_number")
    def recipient(self, obj):
        """The number, and for a row that carries a Tropo program, that it does."""
        if obj.program is None:
            return obj.to_number
        return format_html("{}<br>{}", obj.to_number or "-", _("Tropo program"))

    @admin.display(description=_("status"), ordering="status")
    def status_shown(self, obj):
        """The status, then the attempts and unconfirmed sends when there are any."""
        lines = [obj.get_status_display()]
        if obj.attempts:
            lines.append(
                ngettext("%(count)d attempt", "%(count)d attempts", obj.attempts)
                % {"count": obj.attempts}
            )
        if obj.unconfirmed_count:
            lines.append(_("%(count)d unconfirmed") % {"count": obj.unconfirmed_count})
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))

    @admin.display(description=_("next attempt"), ordering="next_attempt_at")
    def next_attempt(self, obj):
        """When a queued row goes out next; nothing for other rows."""
        if obj.status != OutboundMessage.Status.QUEUED:
            return None
        return compact_time(obj.next_attempt_at)

    @admin.display(description=_("last error"))
    def short_error(self, obj):
        return shortened(obj.last_error, ERROR_SHOWN)

    @admin.action(
        description=_("Retry now (queued, failed and unconfirmed messages)"),
        permissions=["change"],
    )
    def retry_now(self, request, queryset):
        count = release.retry_now(queryset)
        self.message_user(
            request,
            _("%(count)d message(s) will go out at the next run of tropo_send_queued.")
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(Launch)
class LaunchAdmin(RecordAdmin):
    list_display = ("id", "status", "number", "session", "size", "join_count", "program", "created")
    list_filter = ("status", "backend_name")
    search_fields = ("session_id",)
    exclude = ("reference",)

    @admin.display(description=_("created"), ordering="created_at")
    def created(self, obj):
        return compact_time(obj.created_at)


@admin.register(InboundSession)
class InboundSessionAdmin(RecordAdmin):
    list_display = ("session", "identity", "short_text", "status", "attempts", "received")
    list_filter = ("status", "backend_name")
    search_fields = ("identity", "session_id")

    @admin.display(description=_("received"), ordering="received_at")
    def received(self, obj):
        return compact_time(obj.received_at)


@admin.register(NumberAssignment)
class NumberAssignmentAdmin(RecordAdmin):
    list_display = ("recipient", "number", "backend_name", "assigned")
    list_filter = ("backend_name", "number")
    search_fields = ("recipient",)

    @admin.display(description=_("assigned"), ordering="assigned_at")
    def assigned(self, obj):
        return compact_time(obj.assigned_at)
