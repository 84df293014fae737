"""Mutual Authentication Certificates: upload, detail, download, delete (SPEC 5)."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from certadmin.crypto import display, parsing
from certadmin.forms.mutual_auth import MutualAuthUploadForm
from certadmin.models import MutualAuthCertificate
from certadmin.services import mutual_auth as services
from certadmin.views.rows import mutual_auth_rows
from orgs.access import (
    get_for_member,
    org_member_required,
    require_org_perm,
    visible_to_member,
)
from orgs.http import OrgRequest
from orgs.listing import ListState
from orgs.pagination import KeysFirstPaginator
from orgs.permissions import MANAGE_CERTIFICATES

PERM = MANAGE_CERTIFICATES.full
# The section's sortable columns (querysets.MUTUAL_AUTH_COLUMNS) and their headings.
COLUMNS = {
    "label": "Label",
    "unique_name": "Unique Name",
    "subject": "Subject",
    "issuer": "Issuer",
    "expires": "Expiration Date",
}


def mutual_auth_section(request: OrgRequest, *, q: str = "") -> dict[str, Any]:
    """Context of the "Mutual Authentication Certificates" section of the list page: searched
    by the page's search box (`q`), sorted and paged by its own `msort`, `mdir`, `mpage`.

    Two queries whatever the number of rows; the caller has already checked Manage Certificates.
    """
    state = ListState.read(request.GET, columns=COLUMNS, default_sort="expires", prefix="m")
    found = (
        visible_to_member(request, MutualAuthCertificate.objects.defer("chain_pem"), PERM)
        .search(q)
        .sorted_by(state.ordering)
    )
    page = KeysFirstPaginator(found, state.size).get_page(request.GET.get(state.page_param))
    rows = mutual_auth_rows(page.object_list, org=request.org.public_id, now=timezone.now())
    return {
        "mutual_auth_rows": rows,
        "mutual_auth_page": page,
        "mutual_auth_state": state,
        "mutual_auth_headers": state.headers(),
        "mutual_auth_links": state.links(page),
    }


@require_http_methods(["GET", "POST"])
@org_member_required
def mutual_auth_upload(request: OrgRequest) -> HttpResponse:
    require_org_perm(request, PERM)
    form = MutualAuthUploadForm(request.POST or None, request.FILES or None)
    if form.is_valid():
        try:
            result = services.upload_mutual_auth_certificate(
                org=request.org,
                acting_user=request.user,
                label=form.cleaned_data["label"],
                unique_name=form.cleaned_data["unique_name"],
                data=form.cleaned_data["certificate"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                f"Uploaded mutual authentication certificate {result.certificate.unique_name}.",
            )
            for warning in result.warnings:
                messages.warning(request, warning)
            return redirect(result.certificate)
    status = 400 if form.is_bound else 200
    return render(request, "certadmin/mutual_auth_upload.html", {"form": form}, status=status)


@require_GET
@org_member_required
def mutual_auth_detail(request: OrgRequest, mutual_auth: str) -> HttpResponse:
    cert = get_for_member(
        request, MutualAuthCertificate.objects.select_related("created_by"), PERM, uuid=mutual_auth
    )
    chain = [display.describe(c) for c in parsing.parse_certificates(cert.chain_pem.encode())]
    ctx = {"certificate": cert, "badge": cert.badge(), "chain": chain}
    return render(request, "certadmin/mutual_auth_detail.html", ctx)


@require_GET
@org_member_required
def mutual_auth_download(request: OrgRequest, mutual_auth: str) -> HttpResponse:
    cert = get_for_member(request, MutualAuthCertificate.objects.all(), PERM, uuid=mutual_auth)
    response = HttpResponse(cert.chain_pem, content_type="application/x-pem-file")
    response["Content-Disposition"] = f'attachment; filename="{cert.download_name}"'
    return response


@require_http_methods(["GET", "POST"])
@org_member_required
def mutual_auth_delete(request: OrgRequest, mutual_auth: str) -> HttpResponse:
    cert = get_for_member(request, MutualAuthCertificate.objects.all(), PERM, uuid=mutual_auth)
    if request.method == "POST":
        services.delete_mutual_auth_certificate(certificate=cert, acting_user=request.user)
        messages.success(request, f"Deleted mutual authentication certificate {cert.unique_name}.")
        return redirect("certadmin:certificate-list", request.org.public_id)
    return render(request, "certadmin/mutual_auth_delete.html", {"certificate": cert})
