"""The Setup page "Expiration Notifications" (SPEC 4): who receives what, and the record."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from notifications import preview, recipients, services, windows
from notifications.forms import ChannelForm, MemberForm
from notifications.models import (
    ChannelDelivery,
    ExpiryNotice,
    NotificationChannel,
    NotificationRun,
    NotificationRunOrg,
)
from notifications.schedules import CHANNEL_RETRIES, EXPIRY_NOTICES
from notifications.services import channels as channel_services
from notifications.sources import source
from orgs.access import get_for_member, org_member_required, require_org_perm
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
        "schedule": EXPIRY_NOTICES,
        "retry_schedule": CHANNEL_RETRIES,
        "notices": [
            {"notice": n, "url": _notice_url(org, n), "gone": _is_gone(n)} for n in notices
        ],
        **_channels(org),
    }


def _notice_url(org: Organization, notice: ExpiryNotice) -> str:
    src = source(notice.source)
    return path_builder(src.url)(org.public_id, notice.object_uuid) if src else ""


def _is_gone(notice: ExpiryNotice) -> bool:
    """The certificate was deleted (known for kinds that keep a foreign key)."""
    src = source(notice.source)
    return bool(src and src.fk_field and getattr(notice, f"{src.fk_field}_id") is None)


# --- webhook channels (issue 17) --------------------------------------------------------------

RECENT_DELIVERIES = 20


def _channels(org: Organization) -> dict[str, Any]:
    channels = list(
        NotificationChannel.objects.filter(organization=org)
        .select_related("named_credential")
        .order_by("name")
    )
    deliveries = list(
        ChannelDelivery.objects.filter(channel__organization=org)
        .select_related("channel")
        .order_by("-created_at", "-id")[:RECENT_DELIVERIES]
    )
    return {"channels": channels, "deliveries": deliveries}


def _get_channel(request: OrgRequest, channel: str) -> NotificationChannel:
    return get_for_member(
        request,
        NotificationChannel.objects.select_related("organization", "named_credential"),
        PERM,
        uuid=channel,
    )


def _channel_page(
    request: OrgRequest, form: ChannelForm, channel: NotificationChannel | None
) -> HttpResponse:
    status = 400 if form.is_bound else 200
    return render(
        request,
        "notifications/channel_form.html",
        {"form": form, "channel": channel},
        status=status,
    )


def _settings_of(form: ChannelForm) -> channel_services.ChannelSettings:
    data = form.cleaned_data
    return channel_services.ChannelSettings(
        name=data["name"].strip(),
        format=data["format"],
        url=data["url"] or "",
        named_credential=data["named_credential"],
        enabled=data["enabled"],
    )


@require_http_methods(["GET", "POST"])
@org_member_required
def channel_create(request: OrgRequest) -> HttpResponse:
    require_org_perm(request, PERM)
    form = ChannelForm(request.POST or None, org=request.org)
    if form.is_valid():
        try:
            channel = channel_services.create_channel(
                org=request.org, data=_settings_of(form), acting_user=request.user
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Created notification channel {channel.name}.")
            return redirect("notifications:settings", request.org.public_id)
    return _channel_page(request, form, None)


@require_http_methods(["GET", "POST"])
@org_member_required
def channel_edit(request: OrgRequest, channel: str) -> HttpResponse:
    found = _get_channel(request, channel)
    initial = {
        "name": found.name,
        "format": found.format,
        "send_via": "credential" if found.named_credential_id else "url",
        "url": found.url,
        "named_credential": found.named_credential,
        "enabled": found.enabled,
    }
    form = ChannelForm(request.POST or None, org=request.org, initial=initial)
    if form.is_valid():
        try:
            channel_services.update_channel(
                channel=found, data=_settings_of(form), acting_user=request.user
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Saved notification channel {found.name}.")
            return redirect("notifications:settings", request.org.public_id)
        found.refresh_from_db()
    return _channel_page(request, form, found)


@require_http_methods(["GET", "POST"])
@org_member_required
def channel_delete(request: OrgRequest, channel: str) -> HttpResponse:
    found = _get_channel(request, channel)
    if request.method == "POST":
        channel_services.delete_channel(channel=found, acting_user=request.user)
        messages.success(request, f"Deleted notification channel {found.name}.")
        return redirect("notifications:settings", request.org.public_id)
    return render(request, "notifications/channel_delete.html", {"channel": found})


@require_POST
@org_member_required
def channel_test(request: OrgRequest, channel: str) -> HttpResponse:
    found = _get_channel(request, channel)
    delivery = channel_services.send_test(channel=found, acting_user=request.user)
    if delivery.state == ChannelDelivery.State.SENT:
        messages.success(
            request,
            f"Test message delivered to {found.name} (HTTP {delivery.last_status}).",
        )
    else:
        messages.error(request, f"Test message to {found.name} failed: {delivery.last_error}")
    return redirect("notifications:settings", request.org.public_id)
