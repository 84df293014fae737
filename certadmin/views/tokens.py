"""API Tokens (My Settings): every member makes and revokes their own; admins any of the org's.

A new token is shown once, on the page that answers the POST (no redirect, not cached), and
only its SHA-256 digest is stored.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from certadmin.forms.tokens import ApiTokenForm
from certadmin.models import ApiToken
from certadmin.services import tokens as services
from orgs.access import get_for_member, org_member_required, require_org_perm, visible_to_member
from orgs.http import OrgRequest
from orgs.permissions import ENFORCE_MUTUAL_AUTHENTICATION, MODIFY_ALL_DATA


@require_http_methods(["GET", "POST"])
@org_member_required
def token_list(request: OrgRequest) -> HttpResponse:
    is_admin = MODIFY_ALL_DATA.codename in request.perms
    members = (
        # Superusers are left out: a token of theirs would carry more than this admin holds.
        User.objects.filter(
            memberships__organization=request.org,
            memberships__is_active=True,
            is_active=True,
            is_superuser=False,
        ).order_by("username")
        if is_admin
        else None
    )
    form = ApiTokenForm(request.POST or None, members=members)
    new_token = None
    if form.is_valid():
        try:
            new_token = services.create_api_token(
                org=request.org,
                user=form.cleaned_data.get("user") or request.user,
                name=form.cleaned_data["name"],
                expires_in_days=form.expires_in_days,
                acting_user=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            form = ApiTokenForm(members=members)
    tokens = visible_to_member(request, ApiToken.objects.select_related("user"), None)
    if not is_admin:
        tokens = tokens.filter(user=request.user)
    page = Paginator(tokens.order_by("-created_at"), 50).get_page(request.GET.get("page"))
    now = timezone.now()
    ctx = {
        "form": form,
        "new_token": new_token,
        "page": page,
        "rows": [{"t": t, "status": t.status(now)} for t in page.object_list],
        "is_admin": is_admin,
        "enforced": ENFORCE_MUTUAL_AUTHENTICATION.codename in request.perms,
        "mtls_url": settings.CERTADMIN_MTLS_URL,
    }
    status = 400 if form.is_bound and form.errors else 200
    response = render(request, "certadmin/token_list.html", ctx, status=status)
    if new_token is not None:
        response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@org_member_required
def token_revoke(request: OrgRequest, token: str) -> HttpResponse:
    api_token = get_for_member(request, ApiToken.objects.select_related("user"), None, uuid=token)
    if api_token.user_id != request.user.pk:
        require_org_perm(request, MODIFY_ALL_DATA.full)
    if request.method == "POST":
        if services.revoke_api_token(token=api_token, acting_user=request.user):
            messages.success(request, f"Revoked API token {api_token.name}.")
        else:
            messages.info(request, f"The API token {api_token.name} was already revoked.")
        return redirect("certadmin:token-list", request.org.public_id)
    return render(request, "certadmin/token_revoke.html", {"token": api_token})
