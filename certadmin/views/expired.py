"""Expired Certificates, the guided replacement of a used certificate, and Renew (SPEC 7, 2.2).

Every page needs Manage Certificates. Moving a use is part of rotating the certificate, so it
does not also ask for the permission of the page that owns the use.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from certadmin import usage
from certadmin.forms.expired import ExpiredSelectionForm
from certadmin.forms.replace import CertificateReplaceForm, RenewForm
from certadmin.models import Certificate
from certadmin.services import expired as services
from certadmin.services import replace
from certadmin.views.rows import expired_rows
from orgs.access import get_for_member, org_member_required, require_org_perm
from orgs.http import OrgRequest
from orgs.listing import ListState
from orgs.pagination import KeysFirstPaginator
from orgs.permissions import MANAGE_CERTIFICATES
from orgs.wording import count

PERM = MANAGE_CERTIFICATES.full
# The table's sortable columns (querysets.SORT_COLUMNS) and their headings.
COLUMNS = {
    "label": "Label",
    "unique_name": "Unique Name",
    "key": "Key",
    "expires": "Expiration Date",
    "used": "Used By",
}
WINDOWS = (30, 60, 90)
DEFAULT_WINDOW = 60


@require_GET
@org_member_required
def expired_list(request: OrgRequest) -> HttpResponse:
    require_org_perm(request, PERM)
    window = request.GET.get("within", "")
    days = int(window) if window in {str(d) for d in WINDOWS} else DEFAULT_WINDOW
    now = timezone.now()
    state = ListState.read(request.GET, columns=COLUMNS, default_sort="expires")
    certificates = (
        services.expired_or_expiring(request.org, days=days, now=now)
        .search(state.q)
        .sorted_by(state.ordering, now=now)
    )
    page = KeysFirstPaginator(certificates, state.size).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    uses = usage.uses_by_certificate(c.pk for c in rows)
    ctx = {
        "page": page,
        "rows": expired_rows(rows, org=request.org.public_id, uses=uses, now=now),
        "days": days,
        "windows": WINDOWS,
        "state": state,
        "headers": state.headers(),
        "links": state.links(page),
        "sizes": state.sizes(),
    }
    return render(request, "certadmin/expired_list.html", ctx)


@require_POST
@org_member_required
def expired_delete(request: OrgRequest) -> HttpResponse:
    """Step 1 (no `confirm`): the preview page. Step 2 (`confirm`): delete."""
    require_org_perm(request, PERM)
    form = ExpiredSelectionForm(request.POST, org=request.org)
    if not form.is_valid():
        errors = form.errors.get("certificates") or ["Choose again."]
        messages.error(request, " ".join(str(error) for error in errors))
        return redirect("certadmin:certificate-expired", request.org.public_id)
    uuids = [c.uuid for c in form.cleaned_data["certificates"]]
    if "confirm" not in request.POST:
        plan = services.plan_expired_deletion(org=request.org, uuids=uuids)
        return render(request, "certadmin/expired_delete.html", {"plan": plan})
    try:
        plan = services.delete_expired_certificates(
            org=request.org, uuids=uuids, acting_user=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if plan.deletable:
            names = ", ".join(c.unique_name for c in plan.deletable)
            messages.success(
                request,
                f"Deleted {count(len(plan.deletable), 'certificate', 'certificates')}: {names}.",
            )
        for certificate, reason in plan.kept:
            messages.warning(request, f"Kept {certificate.unique_name}: {reason}.")
    return redirect("certadmin:certificate-expired", request.org.public_id)


@require_http_methods(["GET", "POST"])
@org_member_required
def certificate_replace(request: OrgRequest, certificate: str) -> HttpResponse:
    old = get_for_member(request, Certificate.objects.all(), PERM, uuid=certificate)
    uses = usage.uses_of(old)
    choices = replace.replacement_choices(org=request.org, old=old, uses=uses)
    form = CertificateReplaceForm(
        request.POST or None, choices=choices, initial={"delete_old": old.is_expired()}
    )
    if uses and form.is_valid():
        try:
            result = replace.replace_certificate(
                org=request.org,
                old=old,
                new=form.cleaned_data["certificate"],
                delete_old=form.cleaned_data["delete_old"],
                acting_user=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            new = result.certificate
            messages.success(
                request,
                f"Switched {count(len(result.moved), 'use', 'uses')} of {old.unique_name} to "
                f"{new.unique_name}"
                f"{' (new self-signed certificate)' if result.created else ''}"
                f"{f'; deleted {result.deleted}' if result.deleted else ''}.",
            )
            return redirect(new)
    status = 400 if form.is_bound else 200
    ctx = {"certificate": old, "uses": uses, "form": form}
    return render(request, "certadmin/expired_replace.html", ctx, status=status)


@require_http_methods(["GET", "POST"])
@org_member_required
def certificate_renew(request: OrgRequest, certificate: str) -> HttpResponse:
    old = get_for_member(request, Certificate.objects.all(), PERM, uuid=certificate)
    if old.is_awaiting_signature:
        messages.error(request, "Upload the signed certificate first: there is nothing to renew.")
        return redirect(old)
    initial = {"label": replace.renewal_label(old), "unique_name": replace.renewal_name(old)}
    form = RenewForm(request.POST or None, initial=initial)
    if form.is_valid():
        try:
            result = replace.renew_certificate(
                certificate=old, acting_user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            new = result.certificate
            text = f"Renewed {old.unique_name} as {new.unique_name}"
            if result.moved:
                text += f"; {count(len(result.moved), 'use', 'uses')} switched to it"
            elif new.is_awaiting_signature:
                text += ". Upload its signed certificate, then Replace moves the uses to it"
            messages.success(request, text + ".")
            return redirect(new)
    status = 400 if form.is_bound else 200
    ctx = {"certificate": old, "uses": usage.uses_of(old), "form": form}
    return render(request, "certadmin/certificate_renew.html", ctx, status=status)
