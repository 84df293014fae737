"""Manage Users: the list, a new user, a user's page and what an admin changes there."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from orgs.access import org_member_required, require_org_perm, visible_to_member
from orgs.forms import (
    FederationIdForm,
    MemberDetailsForm,
    MemberPermissionSetForm,
    NewUserForm,
    ProfileChoiceForm,
)
from orgs.http import OrgRequest, form_status
from orgs.models import Membership
from orgs.services import logins, members, permission_sets
from orgs.views.gate import MANAGE_USERS, get_member


def _back_to(request: OrgRequest, membership: Membership) -> HttpResponse:
    return redirect("orgs:user-detail", request.org.public_id, membership.uuid)


@require_GET
@org_member_required
def user_list(request: OrgRequest) -> HttpResponse:
    memberships = visible_to_member(request, Membership.objects.all(), MANAGE_USERS)
    memberships = memberships.select_related("user", "profile").prefetch_related("permission_sets")
    page = Paginator(memberships.order_by("user__username"), 50).get_page(request.GET.get("page"))
    return render(request, "orgs/user_list.html", {"page": page})


@require_http_methods(["GET", "POST"])
@org_member_required
def user_create(request: OrgRequest) -> HttpResponse:
    require_org_perm(request, MANAGE_USERS)
    form = NewUserForm(request.POST or None, org=request.org)
    if form.is_valid():
        try:
            membership = members.create_user(
                org=request.org, acting_user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Created user {membership.user.username}.")
            return _back_to(request, membership)
    return render(request, "orgs/user_form.html", {"form": form}, status=form_status(form))


@require_GET
@org_member_required
def user_detail(request: OrgRequest, member: str) -> HttpResponse:
    membership = get_member(request, member)
    ctx = {
        "member": membership,
        "profile_form": ProfileChoiceForm(
            org=request.org, initial={"profile": membership.profile_id}
        ),
        "pset_form": MemberPermissionSetForm(membership=membership),
        "assigned": list(membership.permission_sets.all()),
        "login_managed_here": logins.login_managed_here(membership),
        "is_self": membership.user_id == request.user.pk,
    }
    return render(request, "orgs/user_detail.html", ctx)


@require_POST
@org_member_required
def user_change_profile(request: OrgRequest, member: str) -> HttpResponse:
    membership = get_member(request, member)
    form = ProfileChoiceForm(request.POST, org=request.org)
    if form.is_valid():
        try:
            members.change_profile(
                membership=membership,
                profile=form.cleaned_data["profile"],
                acting_user=request.user,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                f"{membership.user.get_username()} now has the "
                f"{form.cleaned_data['profile'].name} profile.",
            )
    else:
        messages.error(request, "Choose one of this org's profiles.")
    return _back_to(request, membership)


@require_POST
@org_member_required
def user_assign_permission_set(request: OrgRequest, member: str) -> HttpResponse:
    membership = get_member(request, member)
    form = MemberPermissionSetForm(request.POST, membership=membership)
    if form.is_valid():
        pset = form.cleaned_data["permission_set"]
        permission_sets.assign_permission_set(
            membership=membership, pset=pset, acting_user=request.user
        )
        messages.success(request, f"Assigned {pset.label} to {membership.user.get_username()}.")
    else:
        messages.error(request, "Choose a permission set of this org that is not yet assigned.")
    return _back_to(request, membership)


@require_http_methods(["GET", "POST"])
@org_member_required
def user_federation_id(request: OrgRequest, member: str) -> HttpResponse:
    membership = get_member(request, member)
    initial = {"federation_id": membership.federation_id}
    form = FederationIdForm(request.POST or None, initial=initial)
    if form.is_valid():
        try:
            members.set_federation_id(
                membership=membership,
                federation_id=form.cleaned_data["federation_id"],
                acting_user=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Saved the Federation ID of {membership.user.username}.")
            return _back_to(request, membership)
    ctx = {"form": form, "member": membership}
    return render(request, "orgs/user_federation_id.html", ctx, status=form_status(form))


@require_http_methods(["GET", "POST"])
@org_member_required
def user_edit(request: OrgRequest, member: str) -> HttpResponse:
    membership = get_member(request, member)
    user = membership.user
    initial = {"first_name": user.first_name, "last_name": user.last_name, "email": user.email}
    managed = logins.login_managed_here(membership)
    form = MemberDetailsForm((request.POST or None) if managed else None, initial=initial)
    if form.is_valid():
        try:
            changes = logins.update_member_details(
                membership=membership, acting_user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            done = f"Saved {user.get_username()}." if changes else "Nothing to save."
            messages.success(request, done)
            return _back_to(request, membership)
    ctx = {"form": form, "member": membership, "managed": managed}
    return render(request, "orgs/user_edit.html", ctx, status=form_status(form))


@require_http_methods(["GET", "POST"])
@org_member_required
def user_deactivate(request: OrgRequest, member: str) -> HttpResponse:
    """Confirmation page, then the deactivation (SPEC 10: destructive actions are confirmed)."""
    membership = get_member(request, member)
    if request.method == "POST":
        try:
            members.deactivate_member(membership=membership, acting_user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Deactivated {membership.user.get_username()}.")
        return _back_to(request, membership)
    return render(request, "orgs/user_deactivate.html", {"member": membership})


@require_POST
@org_member_required
def user_reactivate(request: OrgRequest, member: str) -> HttpResponse:
    membership = get_member(request, member)
    try:
        members.reactivate_member(membership=membership, acting_user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Reactivated {membership.user.get_username()}.")
    return _back_to(request, membership)


@require_http_methods(["GET", "POST"])
@org_member_required
def user_reset_password(request: OrgRequest, member: str) -> HttpResponse:
    membership = get_member(request, member)
    if request.method == "POST":
        try:
            address = logins.reset_member_password(
                membership=membership,
                domain=request.get_host(),
                use_https=request.is_secure(),
                acting_user=request.user,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                f"Reset the password of {membership.user.get_username()}: a link to set a new "
                f"one was sent to {address}.",
            )
        return _back_to(request, membership)
    ctx = {
        "member": membership,
        "managed": logins.login_managed_here(membership),
        "timeout_days": settings.PASSWORD_RESET_TIMEOUT // 86400,
    }
    return render(request, "orgs/user_reset_password.html", ctx)
