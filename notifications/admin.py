"""Superuser admin: the send log and the runs (read-only), and a retry for failed notices."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from notifications import services
from notifications.models import ExpiryNotice, NotificationRun, NotificationRunOrg
from orgs.admin_site import ReadOnlyAdmin
from orgs.wording import count


@admin.register(ExpiryNotice)
class ExpiryNoticeAdmin(ReadOnlyAdmin[ExpiryNotice]):
    list_display = (
        "label",
        "kind_label",
        "organization",
        "expires_at",
        "threshold",
        "recipient_email",
        "state",
        "attempts",
        "sent_at",
    )
    list_filter = (
        "state",
        "threshold",
        ("organization", admin.RelatedOnlyFieldListFilter),
        "source",
    )
    list_select_related = ("organization",)
    search_fields = ("label", "recipient_email", "organization__name", "organization__public_id")
    date_hierarchy = "created_at"
    raw_id_fields = ("certificate", "recipient", "run")
    actions = ["retry_selected"]

    @admin.action(description="Retry the selected failed notices now")
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[ExpiryNotice]) -> None:
        ids = list(queryset.filter(state=ExpiryNotice.State.FAILED).values_list("pk", flat=True))
        if not ids:
            self.message_user(request, "None of the selected notices has failed.", messages.WARNING)
            return
        outcome = services.retry_notices(notice_ids=ids, acting_user=request.user)
        t = outcome.tally
        level = messages.ERROR if outcome.error or t.notices_failed else messages.SUCCESS
        self.message_user(
            request,
            f"Retried {count(len(ids), 'failed notice', 'failed notices')}: {t.notices_sent} sent"
            f" in {count(t.emails_sent, 'email', 'emails')}, {t.notices_failed} failed, "
            f"{t.superseded} superseded, "
            f"{t.suppressed} suppressed. {outcome.error}".strip(),
            level,
        )


class RunOrgInline(admin.TabularInline[NotificationRunOrg, NotificationRun]):
    model = NotificationRunOrg
    extra = 0
    can_delete = False
    fields = (
        "organization",
        "emails_sent",
        "notices_sent",
        "notices_failed",
        "superseded",
        "suppressed",
        "notices_lost",
    )
    readonly_fields = fields
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(NotificationRun)
class NotificationRunAdmin(ReadOnlyAdmin[NotificationRun]):
    list_display = (
        "started_at",
        "finished_at",
        "trigger",
        "status",
        "emails_sent",
        "notices_sent",
        "notices_failed",
        "superseded",
        "suppressed",
        "notices_lost",
    )
    list_filter = (
        "status",
        "trigger",
        ("org_results__organization", admin.RelatedOnlyFieldListFilter),
    )
    date_hierarchy = "started_at"
    inlines = [RunOrgInline]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        last = NotificationRun.objects.succeeded().first()
        subtitle = f"Last success: {last.started_at:%Y-%m-%d %H:%M:%S} UTC" if last else ""
        return super().changelist_view(
            request, {**(extra_context or {}), "subtitle": subtitle or "No success yet"}
        )
