"""Named Credentials (issue 17). Every page needs Customize Application."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from certadmin.forms.callout import NamedCredentialForm
from certadmin.models import NamedCredential
from certadmin.services import callout as services
from orgs.access import get_for_member, org_member_required, require_org_perm, visible_to_member
from orgs.http import OrgRequest
from orgs.permissions import CUSTOMIZE_APPLICATION

PERM = CUSTOMIZE_APPLICATION.full
PAGE_SIZE = 50


def _credentials(request: OrgRequest) -> QuerySet[NamedCredential]:
    return visible_to_member(
        request, NamedCredential.objects.select_related("organization", "certificate"), PERM
    )


def _get(request: OrgRequest, credential: str) -> NamedCredential:
    return get_for_member(
        request,
        NamedCredential.objects.select_related("organization", "certificate"),
        PERM,
        uuid=credential,
    )


@require_GET
@org_member_required
def credential_list(request: OrgRequest) -> HttpResponse:
    credentials = _credentials(request).order_by(Lower("label"), "name")
    page = Paginator(credentials, PAGE_SIZE).get_page(request.GET.get("page"))
    ctx = {"page": page, "credentials": list(page.object_list)}
    return render(request, "certadmin/named_credential_list.html", ctx)


def _form_page(
    request: OrgRequest, form: NamedCredentialForm, credential: NamedCredential | None
) -> HttpResponse:
    status = 400 if form.is_bound else 200
    ctx = {
        "form": form,
        "credential": credential,
        "no_certificates": not form.certificates.exists(),
    }
    return render(request, "certadmin/named_credential_form.html", ctx, status=status)


@require_http_methods(["GET", "POST"])
@org_member_required
def credential_create(request: OrgRequest) -> HttpResponse:
    require_org_perm(request, PERM)
    form = NamedCredentialForm(request.POST or None, request.FILES or None, org=request.org)
    if form.is_valid():
        try:
            credential = services.create_named_credential(
                org=request.org, data=form.settings(), acting_user=request.user
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Created named credential {credential.name}.")
            return redirect(credential)
    return _form_page(request, form, None)


@require_http_methods(["GET", "POST"])
@org_member_required
def credential_edit(request: OrgRequest, credential: str) -> HttpResponse:
    found = _get(request, credential)
    initial = {
        "label": found.label,
        "name": found.name,
        "url": found.url,
        "certificate": found.certificate,
        "trust": found.trust,
        "sign_requests": found.sign_requests,
    }
    form = NamedCredentialForm(
        request.POST or None,
        request.FILES or None,
        org=request.org,
        credential=found,
        initial=initial,
    )
    if form.is_valid():
        try:
            services.update_named_credential(
                credential=found, data=form.settings(), acting_user=request.user
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Saved named credential {found.name}.")
            return redirect(found)
        found.refresh_from_db()
    return _form_page(request, form, found)


@require_http_methods(["GET", "POST"])
@org_member_required
def credential_detail(request: OrgRequest, credential: str) -> HttpResponse:
    """The credential; POST runs "Test connection" and shows what happened."""
    found = _get(request, credential)
    report = services.check_connection(found) if request.method == "POST" else None
    ctx = {
        "credential": found,
        "report": report,
        "trusted_cas": services.trusted_cas(found),
        "key_id": services.key_id(found.certificate),
        "used_by": services.users_of(found),
    }
    return render(request, "certadmin/named_credential_detail.html", ctx)


@require_http_methods(["GET", "POST"])
@org_member_required
def credential_delete(request: OrgRequest, credential: str) -> HttpResponse:
    found = _get(request, credential)
    error = ""
    if request.method == "POST":
        try:
            services.delete_named_credential(credential=found, acting_user=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, f"Deleted named credential {found.name}.")
            return redirect("certadmin:named-credential-list", request.org.public_id)
    ctx = {"credential": found, "error": error, "used_by": services.users_of(found)}
    return render(
        request, "certadmin/named_credential_delete.html", ctx, status=400 if error else 200
    )
