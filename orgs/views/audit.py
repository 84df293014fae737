"""The Setup Audit Trail: the page and its CSV download."""

from datetime import timedelta

from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from orgs.access import org_member_required, visible_to_member
from orgs.csv_export import csv_response
from orgs.http import OrgRequest
from orgs.models import AuditEvent, AuditEventQuerySet
from orgs.views.gate import MANAGE_USERS

AUDIT_MONTHS = 6


def audit_events(request: OrgRequest) -> AuditEventQuerySet:
    since = timezone.now() - timedelta(days=AUDIT_MONTHS * 31)
    events = visible_to_member(request, AuditEvent.objects.all(), MANAGE_USERS)
    return events.since(since).select_related("organization")


@require_GET
@org_member_required
def audit_trail(request: OrgRequest) -> HttpResponse:
    page = Paginator(audit_events(request), 50).get_page(request.GET.get("page"))
    return render(request, "orgs/audit_trail.html", {"page": page})


@require_GET
@org_member_required
def audit_trail_csv(request: OrgRequest) -> StreamingHttpResponse:
    events = audit_events(request).values_list(
        "created_at", "actor_name", "section", "action", "message"
    )
    tz = request.org.tzinfo
    rows = (
        (created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z"), *rest)
        for created_at, *rest in events.iterator(chunk_size=2000)
    )
    header = ["Date", "User", "Section", "Action", "Description"]
    return csv_response(f"SetupAuditTrail_{request.org.public_id}.csv", header, rows)
