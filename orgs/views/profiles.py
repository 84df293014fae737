"""Profiles and Permission Sets: the list of both, and the profiles made by an org's admins."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from orgs.access import get_for_member, org_member_required, require_org_perm, visible_to_member
from orgs.forms import ProfileCreateForm, ProfileEditForm
from orgs.http import OrgRequest, form_status
from orgs.models import PermissionSet, Profile
from orgs.services import profiles as services
from orgs.views.gate import MANAGE_USERS


def _profile(request: OrgRequest, profile: str) -> Profile:
    return get_for_member(request, Profile.objects.all(), MANAGE_USERS, uuid=profile)


@require_GET
@org_member_required
def profile_list(request: OrgRequest) -> HttpResponse:
    profiles = visible_to_member(request, Profile.objects.all(), MANAGE_USERS)
    psets = visible_to_member(request, PermissionSet.objects.all(), MANAGE_USERS)
    ctx = {
        "profiles": list(profiles.annotate(holders=Count("memberships"))),
        "permission_sets": list(psets),
    }
    return render(request, "orgs/profile_list.html", ctx)


@require_http_methods(["GET", "POST"])
@org_member_required
def profile_create(request: OrgRequest) -> HttpResponse:
    require_org_perm(request, MANAGE_USERS)
    form = ProfileCreateForm(request.POST or None, org=request.org)
    if form.is_valid():
        try:
            profile = services.create_profile(
                org=request.org, acting_user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Created profile {profile.name}.")
            return redirect(profile)
    return render(request, "orgs/profile_create.html", {"form": form}, status=form_status(form))


@require_GET
@org_member_required
def profile_detail(request: OrgRequest, profile: str) -> HttpResponse:
    found = _profile(request, profile)
    members = found.memberships.select_related("user").order_by("user__username")
    ctx = {"profile": found, "members": list(members[:200]), "holders": members.count()}
    return render(request, "orgs/profile_detail.html", ctx)


@require_http_methods(["GET", "POST"])
@org_member_required
def profile_edit(request: OrgRequest, profile: str) -> HttpResponse:
    found = _profile(request, profile)
    initial = {
        "name": found.name,
        "description": found.description,
        "permission_codes": found.permissions,
    }
    form = ProfileEditForm(request.POST or None, initial=initial)
    if not found.is_standard and form.is_valid():
        try:
            services.update_profile(profile=found, acting_user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Saved profile {found.name}.")
            return redirect(found)
    ctx = {"form": form, "profile": found}
    return render(request, "orgs/profile_edit.html", ctx, status=form_status(form))


@require_http_methods(["GET", "POST"])
@org_member_required
def profile_delete(request: OrgRequest, profile: str) -> HttpResponse:
    found = _profile(request, profile)
    if request.method == "POST":
        try:
            services.delete_profile(profile=found, acting_user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(found)
        messages.success(request, f"Deleted profile {found.name}.")
        return redirect("orgs:profile-list", request.org.public_id)
    ctx = {"profile": found, "holders": found.memberships.count()}
    return render(request, "orgs/profile_delete.html", ctx)
