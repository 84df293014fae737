"""The Setup page "Expiration Notifications" (SPEC 4): who receives what, and the record."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from notifications import preview, recipients, services, windows
from notifications.forms import MemberForm
from notifications.models import ExpiryNotice, NotificationRun, NotificationRunOrg
from notifications.schedules import SCHEDULES
from notifications.sources import source
from orgs.access import org_member_required, require_org_perm
from orgs.http import OrgRequest
from orgs.links import path_builder
from orgs.models import Organization
from orgs.permissions import MANAGE_CERTIFICATES

PERM = MANAGE_CERTIFICATES.full
RECENT_NOTICES = 20
RECENT_RUNS = 10


@require_GET
@org_member_required
def notification_settings(request: OrgRequest) -> HttpResponse:
    require_org_perm(request, PERM)
    ctx = _page(request.org, now=timezone.now())
    return render(request, "notifications/settings.html", ctx)


@require_POST
@org_member_required
def notification_assign(request: OrgRequest) -> HttpResponse:
    require_org_perm(request, PERM)
    form = MemberForm(request.POST, org=request.org)
    if not form.is_valid():
        messages.error(request, "Choose a user of this org.")
        return redirect("notifications:settings", request.org.public_id)
    membership = form.cleaned_data["member"]
    name = membership.user.get_username()
    try:
        changed = services.grant_expiration_notifications(
            membership=membership, acting_user=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if changed:
            messages.success(request, f"{name} now receives every expiration notice.")
        else:
            messages.info(request, f"{name} already had the {services.PERMISSION_SET_LABEL} set.")
    return redirect("notifications:settings", request.org.public_id)


@require_POST
@org_member_required
def notification_remove(request: OrgRequest) -> HttpResponse:
    require_org_perm(request, PERM)
    form = MemberForm(request.POST, org=request.org)
    if not form.is_valid():
        messages.error(request, "Choose a user of this org.")
        return redirect("notifications:settings", request.org.public_id)
    membership = form.cleaned_data["member"]
    services.revoke_expiration_notifications(membership=membership, acting_user=request.user)
    member = _member(request.org, membership.user_id)
    name = membership.user.get_username()
    if member is not None and recipients.RECEIVE in member.codes:
        messages.warning(
            request,
            f"{name} still holds Receive Certificate Expiration Notifications through "
            f"{', '.join(member.receive_via)}: change it under Profiles and Permission Sets.",
        )
    else:
        messages.success(
            request, f"{name} no longer holds Receive Certificate Expiration Notifications."
        )
    return redirect("notifications:settings", request.org.public_id)


def _member(org: Organization, user_id: int) -> recipients.Member | None:
    members = recipients.active_members([org.pk]).get(org.pk, [])
    return next((m for m in members if m.user_id == user_id), None)


def _page(org: Organization, *, now: datetime) -> dict[str, Any]:
    """Everything the page shows, in a fixed number of queries."""
    thresholds = windows.normalize(settings.EXPIRY_NOTICE_DAYS)
    members = recipients.active_members([org.pk]).get(org.pk, [])
    holders = [m for m in members if recipients.RECEIVE in m.codes]
    who = recipients.apply_rules(members, thresholds)
    situation = recipients.situation(members)
    pset = services.notification_permission_set(org)
    rows, total = preview.preview(org, now=now, thresholds=thresholds, recipients=who)
    notices = list(ExpiryNotice.objects.for_org(org)[:RECENT_NOTICES])
    return {
        "thresholds": thresholds,
        "urgent": sorted(windows.urgent(thresholds), reverse=True),
        "recipients": who,
        "situation": situation,
        "cases": {
            "nobody": recipients.CASE_NOBODY,
            "admin_holds": recipients.CASE_ADMIN_HOLDS,
            "only_non_admins": recipients.CASE_ONLY_NON_ADMINS,
        },
        "holders": [
            {
                "member": m,
                "removable": pset is not None and f"Permission set {pset.label}" in m.receive_via,
            }
            for m in holders
        ],
        "assign_form": MemberForm(org=org, exclude_user_ids=[m.user_id for m in holders]),
        "can_assign": len(members) > len(holders),
        "pset": pset,
        "preview": rows,
        "preview_total": total,
        "org_runs": list(
            NotificationRunOrg.objects.filter(organization=org)
            .select_related("run")
            .order_by("-run__started_at", "-id")[:RECENT_RUNS]
        ),
        "last_run": NotificationRun.objects.first(),
        "last_success": NotificationRun.objects.succeeded().first(),
        "schedules": SCHEDULES,
        "notices": [
            {"notice": n, "url": _notice_url(org, n), "gone": _is_gone(n)} for n in notices
        ],
    }


def _notice_url(org: Organization, notice: ExpiryNotice) -> str:
    src = source(notice.source)
    return path_builder(src.url)(org.public_id, notice.object_uuid) if src else ""


def _is_gone(notice: ExpiryNotice) -> bool:
    """The certificate was deleted (known for kinds that keep a foreign key)."""
    src = source(notice.source)
    return bool(src and src.fk_field and getattr(notice, f"{src.fk_field}_id") is None)
