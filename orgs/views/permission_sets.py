"""A permission set's pages: new, its page, what it grants, who holds it, rename, delete."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from orgs.access import get_for_member, org_member_required, require_org_perm
from orgs.forms import (
    AssignPermissionSetForm,
    PermissionSetForm,
    PermissionSetPermissionsForm,
    PermissionSetPropertiesForm,
)
from orgs.http import OrgRequest, form_status
from orgs.models import PermissionSet
from orgs.services import permission_sets as services
from orgs.views.gate import MANAGE_USERS, get_member


def _pset(request: OrgRequest, pset: str) -> PermissionSet:
    return get_for_member(request, PermissionSet.objects.all(), MANAGE_USERS, uuid=pset)


@require_http_methods(["GET", "POST"])
@org_member_required
def permission_set_create(request: OrgRequest) -> HttpResponse:
    require_org_perm(request, MANAGE_USERS)
    form = PermissionSetForm(request.POST or None)
    if form.is_valid():
        try:
            pset = services.create_permission_set(
                org=request.org, acting_user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Created permission set {pset.label}.")
            return redirect(pset)
    return render(
        request, "orgs/permission_set_form.html", {"form": form}, status=form_status(form)
    )


@require_GET
@org_member_required
def permission_set_detail(request: OrgRequest, pset: str) -> HttpResponse:
    permission_set = _pset(request, pset)
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
    permission_set = _pset(request, pset)
    form = PermissionSetPermissionsForm(request.POST)
    if form.is_valid():
        services.update_permission_set(
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
    permission_set = _pset(request, pset)
    form = AssignPermissionSetForm(request.POST, pset=permission_set)
    if form.is_valid():
        membership = form.cleaned_data["membership"]
        services.assign_permission_set(
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
    permission_set = _pset(request, pset)
    membership = get_member(request, member)
    if services.remove_permission_set(
        membership=membership, pset=permission_set, acting_user=request.user
    ):
        messages.success(
            request, f"Removed {permission_set.label} from {membership.user.get_username()}."
        )
    return redirect(permission_set)


@require_http_methods(["GET", "POST"])
@org_member_required
def permission_set_rename(request: OrgRequest, pset: str) -> HttpResponse:
    found = _pset(request, pset)
    initial = {"label": found.label, "api_name": found.api_name, "description": found.description}
    form = PermissionSetPropertiesForm(request.POST or None, initial=initial)
    if form.is_valid():
        try:
            services.rename_permission_set(
                pset=found, acting_user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Saved permission set {found.label}.")
            return redirect(found)
    ctx = {"form": form, "pset": found}
    return render(request, "orgs/permission_set_rename.html", ctx, status=form_status(form))


@require_http_methods(["GET", "POST"])
@org_member_required
def permission_set_delete(request: OrgRequest, pset: str) -> HttpResponse:
    found = _pset(request, pset)
    if request.method == "POST":
        try:
            services.delete_permission_set(pset=found, acting_user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(found)
        messages.success(request, f"Deleted permission set {found.label}.")
        return redirect("orgs:profile-list", request.org.public_id)
    holders = list(found.memberships.select_related("user").order_by("user__username"))
    return render(request, "orgs/permission_set_delete.html", {"pset": found, "holders": holders})
