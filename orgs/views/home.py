"""The pages around Setup: the org switcher, Setup Home, the help pages, the health check."""

from typing import cast

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from orgs import help, home_panels, permissions, setup_tree
from orgs.access import SSO_ORG_SESSION_KEY, memberships_of, org_member_required
from orgs.http import OrgRequest
from orgs.views.audit import audit_events
from orgs.views.gate import MANAGE_USERS

RECENT_CHANGES = 10  # audit trail entries on Setup Home


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The org switcher; straight to Setup when the user is in exactly one org."""
    # LoginRequiredMiddleware has let no anonymous user in.
    memberships = list(memberships_of(cast(User, request.user)))
    if pinned := request.session.get(SSO_ORG_SESSION_KEY):  # logged in by an org's SSO
        memberships = [m for m in memberships if m.organization.public_id == pinned]
    if len(memberships) == 1:
        return redirect(memberships[0].organization)
    return render(request, "orgs/org_switcher.html", {"memberships": memberships})


@require_GET
@login_not_required
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@require_GET
def help_page(request: HttpRequest, page: str) -> HttpResponse:
    """A page of docs/, rendered: where every Setup page's "Help for this page" leads."""
    if page not in help.pages():
        raise Http404("No such help page.")
    links = {name: reverse("help", args=[name]) for name in help.pages()}
    return render(request, "orgs/help_page.html", {"doc": help.render(page, links)})


@require_GET
@org_member_required
def setup_home(request: OrgRequest) -> HttpResponse:
    can_audit = MANAGE_USERS.removeprefix("orgs.") in request.perms
    ctx = {
        "membership": request.membership,
        "permission_labels": [permissions.label_of(code) for code in sorted(request.perms)],
        "notices": setup_tree.home_notices(request),
        # The apps' panels (the certificates dashboard), then the last changes.
        "panels": home_panels.for_member(request),
        "recent_changes": list(audit_events(request)[:RECENT_CHANGES]) if can_audit else None,
    }
    return render(request, "orgs/setup_home.html", ctx)
