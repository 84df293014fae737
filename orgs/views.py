"""Setup pages of the orgs app: home, users, profiles, permission sets, audit trail."""

from datetime import timedelta
from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from orgs import help, home_panels, permissions, setup_tree
from orgs.access import (
    SSO_ORG_SESSION_KEY,
    get_for_member,
    memberships_of,
    org_member_required,
    require_org_perm,
    visible_to_member,
)
from orgs.csv_export import csv_response
from orgs.forms import (
    AssignPermissionSetForm,
    FederationIdForm,
    MemberDetailsForm,
    MemberPermissionSetForm,
    NewUserForm,
    PermissionSetForm,
    PermissionSetPermissionsForm,
    PermissionSetPropertiesForm,
    ProfileChoiceForm,
    ProfileCreateForm,
    ProfileEditForm,
)
from orgs.http import OrgRequest
from orgs.models import AuditEvent, AuditEventQuerySet, Membership, PermissionSet, Profile
from orgs.services import logins, members, permission_sets, profiles

MANAGE_USERS = permissions.MODIFY_ALL_DATA.full
AUDIT_MONTHS = 6
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
        "recent_changes": list(_audit_events(request)[:RECENT_CHANGES]) if can_audit else None,
    }
    return render(request, "orgs/setup_home.html", ctx)


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
            return redirect("orgs:user-detail", request.org.public_id, membership.uuid)
    return render(request, "orgs/user_form.html", {"form": form}, status=_status(form))


@require_GET
@org_member_required
def user_detail(request: OrgRequest, member: str) -> HttpResponse:
    membership = get_for_member(
        request, Membership.objects.select_related("user", "profile"), MANAGE_USERS, uuid=member
    )
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
    membership = get_for_member(
        request, Membership.objects.select_related("user", "profile"), MANAGE_USERS, uuid=member
    )
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
    return redirect("orgs:user-detail", request.org.public_id, membership.uuid)


@require_POST
@org_member_required
def user_assign_permission_set(request: OrgRequest, member: str) -> HttpResponse:
    membership = get_for_member(
        request, Membership.objects.select_related("user", "profile"), MANAGE_USERS, uuid=member
    )
    form = MemberPermissionSetForm(request.POST, membership=membership)
    if form.is_valid():
        pset = form.cleaned_data["permission_set"]
        permission_sets.assign_permission_set(
            membership=membership, pset=pset, acting_user=request.user
        )
        messages.success(request, f"Assigned {pset.label} to {membership.user.get_username()}.")
    else:
        messages.error(request, "Choose a permission set of this org that is not yet assigned.")
    return redirect("orgs:user-detail", request.org.public_id, membership.uuid)


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
def permission_set_create(request: OrgRequest) -> HttpResponse:
    require_org_perm(request, MANAGE_USERS)
    form = PermissionSetForm(request.POST or None)
    if form.is_valid():
        try:
            pset = permission_sets.create_permission_set(
                org=request.org, acting_user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Created permission set {pset.label}.")
            return redirect(pset)
    return render(request, "orgs/permission_set_form.html", {"form": form}, status=_status(form))


@require_GET
@org_member_required
def permission_set_detail(request: OrgRequest, pset: str) -> HttpResponse:
    permission_set = get_for_member(request, PermissionSet.objects.all(), MANAGE_USERS, uuid=pset)
    ctx = {
        "pset": permission_set,
        "members": list(permission_set.memberships.select_related("user", "profile")),
        "permissions_form": PermissionSetPermissionsForm(
            initial={"permission_codes": permission_set.permissions}
        ),
        "assign_form": AssignPermissionSetForm(pset=permission_set),
    }
    return render(request, "orgs/permission_set_detail.html", ctx)


@require_POST
@org_member_required
def permission_set_edit(request: OrgRequest, pset: str) -> HttpResponse:
    permission_set = get_for_member(request, PermissionSet.objects.all(), MANAGE_USERS, uuid=pset)
    form = PermissionSetPermissionsForm(request.POST)
    if form.is_valid():
        permission_sets.update_permission_set(
            pset=permission_set,
            permission_codes=form.cleaned_data["permission_codes"],
            acting_user=request.user,
        )
        messages.success(request, f"Saved the permissions of {permission_set.label}.")
    else:
        messages.error(request, "Choose permissions from the list.")
    return redirect(permission_set)


@require_POST
@org_member_required
def permission_set_assign(request: OrgRequest, pset: str) -> HttpResponse:
    permission_set = get_for_member(request, PermissionSet.objects.all(), MANAGE_USERS, uuid=pset)
    form = AssignPermissionSetForm(request.POST, pset=permission_set)
    if form.is_valid():
        membership = form.cleaned_data["membership"]
        permission_sets.assign_permission_set(
            membership=membership, pset=permission_set, acting_user=request.user
        )
        messages.success(
            request, f"Assigned {permission_set.label} to {membership.user.get_username()}."
        )
    else:
        messages.error(request, "Choose a user of this org who does not hold it yet.")
    return redirect(permission_set)


@require_POST
@org_member_required
def permission_set_remove(request: OrgRequest, pset: str, member: str) -> HttpResponse:
    permission_set = get_for_member(request, PermissionSet.objects.all(), MANAGE_USERS, uuid=pset)
    membership = get_for_member(
        request, Membership.objects.select_related("user", "profile"), MANAGE_USERS, uuid=member
    )
    if permission_sets.remove_permission_set(
        membership=membership, pset=permission_set, acting_user=request.user
    ):
        messages.success(
            request, f"Removed {permission_set.label} from {membership.user.get_username()}."
        )
    return redirect(permission_set)


def _member(request: OrgRequest, member: str) -> Membership:
    return get_for_member(
        request, Membership.objects.select_related("user", "profile"), MANAGE_USERS, uuid=member
    )


def _back_to(request: OrgRequest, membership: Membership) -> HttpResponse:
    return redirect("orgs:user-detail", request.org.public_id, membership.uuid)


@require_http_methods(["GET", "POST"])
@org_member_required
def user_federation_id(request: OrgRequest, member: str) -> HttpResponse:
    membership = _member(request, member)
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
            return redirect("orgs:user-detail", request.org.public_id, membership.uuid)
    ctx = {"form": form, "member": membership}
    return render(request, "orgs/user_federation_id.html", ctx, status=_status(form))


@require_http_methods(["GET", "POST"])
@org_member_required
def user_edit(request: OrgRequest, member: str) -> HttpResponse:
    membership = _member(request, member)
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
    return render(request, "orgs/user_edit.html", ctx, status=_status(form))


@require_http_methods(["GET", "POST"])
@org_member_required
def user_deactivate(request: OrgRequest, member: str) -> HttpResponse:
    """Confirmation page, then the deactivation (SPEC 10: destructive actions are confirmed)."""
    membership = _member(request, member)
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
    membership = _member(request, member)
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
    membership = _member(request, member)
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


def _profile(request: OrgRequest, profile: str) -> Profile:
    return get_for_member(request, Profile.objects.all(), MANAGE_USERS, uuid=profile)


@require_http_methods(["GET", "POST"])
@org_member_required
def profile_create(request: OrgRequest) -> HttpResponse:
    require_org_perm(request, MANAGE_USERS)
    form = ProfileCreateForm(request.POST or None, org=request.org)
    if form.is_valid():
        try:
            profile = profiles.create_profile(
                org=request.org, acting_user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Created profile {profile.name}.")
            return redirect(profile)
    return render(request, "orgs/profile_create.html", {"form": form}, status=_status(form))


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
            profiles.update_profile(profile=found, acting_user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Saved profile {found.name}.")
            return redirect(found)
    ctx = {"form": form, "profile": found}
    return render(request, "orgs/profile_edit.html", ctx, status=_status(form))


@require_http_methods(["GET", "POST"])
@org_member_required
def profile_delete(request: OrgRequest, profile: str) -> HttpResponse:
    found = _profile(request, profile)
    if request.method == "POST":
        try:
            profiles.delete_profile(profile=found, acting_user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(found)
        messages.success(request, f"Deleted profile {found.name}.")
        return redirect("orgs:profile-list", request.org.public_id)
    ctx = {"profile": found, "holders": found.memberships.count()}
    return render(request, "orgs/profile_delete.html", ctx)


def _pset(request: OrgRequest, pset: str) -> PermissionSet:
    return get_for_member(request, PermissionSet.objects.all(), MANAGE_USERS, uuid=pset)


@require_http_methods(["GET", "POST"])
@org_member_required
def permission_set_rename(request: OrgRequest, pset: str) -> HttpResponse:
    found = _pset(request, pset)
    initial = {"label": found.label, "api_name": found.api_name, "description": found.description}
    form = PermissionSetPropertiesForm(request.POST or None, initial=initial)
    if form.is_valid():
        try:
            permission_sets.rename_permission_set(
                pset=found, acting_user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Saved permission set {found.label}.")
            return redirect(found)
    ctx = {"form": form, "pset": found}
    return render(request, "orgs/permission_set_rename.html", ctx, status=_status(form))


@require_http_methods(["GET", "POST"])
@org_member_required
def permission_set_delete(request: OrgRequest, pset: str) -> HttpResponse:
    found = _pset(request, pset)
    if request.method == "POST":
        try:
            permission_sets.delete_permission_set(pset=found, acting_user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(found)
        messages.success(request, f"Deleted permission set {found.label}.")
        return redirect("orgs:profile-list", request.org.public_id)
    holders = list(found.memberships.select_related("user").order_by("user__username"))
    return render(request, "orgs/permission_set_delete.html", {"pset": found, "holders": holders})


def _audit_events(request: OrgRequest) -> AuditEventQuerySet:
    since = timezone.now() - timedelta(days=AUDIT_MONTHS * 31)
    events = visible_to_member(request, AuditEvent.objects.all(), MANAGE_USERS)
    return events.since(since).select_related("organization")


@require_GET
@org_member_required
def audit_trail(request: OrgRequest) -> HttpResponse:
    page = Paginator(_audit_events(request), 50).get_page(request.GET.get("page"))
    return render(request, "orgs/audit_trail.html", {"page": page})


@require_GET
@org_member_required
def audit_trail_csv(request: OrgRequest) -> StreamingHttpResponse:
    events = _audit_events(request).values_list(
        "created_at", "actor_name", "section", "action", "message"
    )
    tz = request.org.tzinfo
    rows = (
        (created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z"), *rest)
        for created_at, *rest in events.iterator(chunk_size=2000)
    )
    header = ["Date", "User", "Section", "Action", "Description"]
    return csv_response(f"SetupAuditTrail_{request.org.public_id}.csv", header, rows)


def _status(form: object) -> int:
    return 400 if getattr(form, "is_bound", False) and getattr(form, "errors", None) else 200
