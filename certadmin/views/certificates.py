"""The Certificate and Key Management pages (SPEC 2)."""

from dataclasses import replace

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from certadmin import usage
from certadmin.forms.acme import DeleteForm
from certadmin.forms.certificates import (
    FILTERS,
    CASignedForm,
    NamesForm,
    SelfSignedForm,
    SignedCertificateUploadForm,
)
from certadmin.models import AcmeCertificate, Certificate
from certadmin.querysets import CertificateFilter
from certadmin.services import certificates as services
from certadmin.services import sso as sso_services
from certadmin.services.acme import orders as acme_orders
from certadmin.views import dashboard
from certadmin.views.mutual_auth import mutual_auth_section
from certadmin.views.rows import certificate_rows
from orgs.access import get_for_member, org_member_required, require_org_perm, visible_to_member
from orgs.http import OrgRequest
from orgs.listing import ListState
from orgs.pagination import KeysFirstPaginator
from orgs.permissions import MANAGE_CERTIFICATES

PERM = MANAGE_CERTIFICATES.full


# The page's filter links (forms.certificates.FILTERS) in the criteria the API's list takes too.
PAGE_FILTERS = {
    "": CertificateFilter(),
    "expired": CertificateFilter(expired=True),
    "10": CertificateFilter(expiring_within_days=10),
    "30": CertificateFilter(expiring_within_days=30),
    "60": CertificateFilter(expiring_within_days=60),
    "awaiting": CertificateFilter(status="awaiting_signature"),
    Certificate.Kind.SELF_SIGNED: CertificateFilter(kind=Certificate.Kind.SELF_SIGNED),
    Certificate.Kind.CA_SIGNED: CertificateFilter(kind=Certificate.Kind.CA_SIGNED),
    "sso": CertificateFilter(used_by="sso"),
    "idp": CertificateFilter(used_by="idp"),
}
# The table's sortable columns (querysets.SORT_COLUMNS) and their headings.
COLUMNS = {
    "label": "Label",
    "unique_name": "Unique Name",
    "type": "Type",
    "key": "Key",
    "exportable": "Exportable Private Key",
    "expires": "Expiration Date",
    "status": "Status",
    "used": "Used By",
}


@require_GET
@org_member_required
def certificate_list(request: OrgRequest) -> HttpResponse:
    """The list: filter links, month of expiry (the chart's links), search, sort, page size
    and page, all read from the URL (orgs.listing) and carried by every link."""
    require_org_perm(request, PERM)
    now = timezone.now()
    filter_key = request.GET.get("filter", "") if request.GET.get("filter") in FILTERS else ""
    state = ListState.read(request.GET, columns=COLUMNS, default_sort="expires")
    month = dashboard.month_of(request.GET.get("month", ""), now, request.org.tzinfo)
    criteria = replace(PAGE_FILTERS[filter_key], search=state.q)
    certificates = (
        visible_to_member(request, Certificate.objects.all(), PERM)
        .filtered(criteria, now=now)
        .filter(dashboard.month_q(month) if month else Q())
        .sorted_by(state.ordering, now=now)
        .defer("private_key", "csr_pem", "chain_pem", "subject_fields")
    )
    page = KeysFirstPaginator(certificates, state.size).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    uses = usage.uses_by_certificate(c.pk for c in rows)
    ctx = {
        "page": page,
        "rows": certificate_rows(rows, org=request.org.public_id, uses=uses, now=now),
        "filters": FILTERS,
        "filter_key": filter_key,
        "month": month,
        "state": state,
        "headers": state.headers(),
        "links": state.links(page),
        "sizes": state.sizes(),
        "chart": dashboard.expiry_chart(request, now=now),
        **mutual_auth_section(request, q=state.q),
        # Configurations still signing with the retired default proxy certificate (SPEC 7).
        "proxy_uses": sso_services.proxy_uses(request.org),
    }
    return render(request, "certadmin/certificate_list.html", ctx)


@require_http_methods(["GET", "POST"])
@org_member_required
def certificate_create_self_signed(request: OrgRequest) -> HttpResponse:
    require_org_perm(request, PERM)
    form = SelfSignedForm(request.POST or None)
    if form.is_valid():
        try:
            certificate = services.create_self_signed(
                org=request.org, acting_user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Created self-signed certificate {certificate.unique_name}.")
            return redirect(certificate)
    return _form_page(
        request, "certadmin/certificate_create.html", form, "Create Self-Signed Certificate"
    )


@require_http_methods(["GET", "POST"])
@org_member_required
def certificate_create_ca_signed(request: OrgRequest) -> HttpResponse:
    require_org_perm(request, PERM)
    form = CASignedForm(request.POST or None)
    if form.is_valid():
        data = form.cleaned_data
        subject = services.SubjectFields(
            **{f: data.pop(f) for f in list(services.SubjectFields.__dataclass_fields__)}
        )
        try:
            certificate = services.create_ca_signed(
                org=request.org, acting_user=request.user, subject=subject, **data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                f"Created {certificate.unique_name}. Download the certificate signing request, "
                "have your certificate authority sign it, then upload the signed certificate.",
            )
            return redirect(certificate)
    return _form_page(
        request, "certadmin/certificate_create.html", form, "Create CA-Signed Certificate"
    )


def _form_page(request: OrgRequest, template: str, form: object, title: str) -> HttpResponse:
    status = 400 if getattr(form, "is_bound", False) else 200
    return render(request, template, {"form": form, "title": title}, status=status)


@require_GET
@org_member_required
def certificate_detail(request: OrgRequest, certificate: str) -> HttpResponse:
    cert = get_for_member(
        request,
        # acme__account: the ACME card (issue 18), in the same query.
        Certificate.objects.select_related(
            "created_by", "modified_by", "replaced_by", "acme__account"
        ),
        PERM,
        uuid=certificate,
    )
    uses = usage.uses_of(cert)
    ctx = {
        "certificate": cert,
        "badge": cert.badge(),
        "uses": uses,
        "chain": _chain_facts(cert),
    }
    return render(request, "certadmin/certificate_detail.html", ctx)


def _chain_facts(cert: Certificate) -> list[object]:
    from certadmin.crypto import display, parsing

    if not cert.chain_pem:
        return []
    return [display.describe(c) for c in parsing.parse_certificates(cert.chain_pem.encode())]


@require_http_methods(["GET", "POST"])
@org_member_required
def certificate_edit(request: OrgRequest, certificate: str) -> HttpResponse:
    cert = get_for_member(request, Certificate.objects.all(), PERM, uuid=certificate)
    initial = {"label": cert.label, "unique_name": cert.unique_name}
    form = NamesForm(request.POST or None, initial=initial)
    if form.is_valid():
        try:
            services.rename_certificate(
                certificate=cert, acting_user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Saved {cert.unique_name}.")
            return redirect(cert)
    status = 400 if form.is_bound else 200
    return render(
        request,
        "certadmin/certificate_edit.html",
        {"form": form, "certificate": cert},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@org_member_required
def certificate_delete(request: OrgRequest, certificate: str) -> HttpResponse:
    cert = get_for_member(request, Certificate.objects.all(), PERM, uuid=certificate)
    uses = usage.uses_of(cert)
    # Issue 18: a certificate obtained from ACME may be revoked at its CA first.
    revocable = AcmeCertificate.objects.filter(certificate=cert, revoked_at__isnull=True).exists()
    form = DeleteForm(request.POST or None) if revocable else None
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            if form is not None and form.cleaned_data["revoke"]:
                acme_orders.revoke_certificate(
                    certificate=cert, reason=form.cleaned_data["reason"], acting_user=request.user
                )
            services.delete_certificate(certificate=cert, acting_user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(cert)
        messages.success(request, f"Deleted certificate {cert.unique_name}.")
        return redirect("certadmin:certificate-list", request.org.public_id)
    ctx = {"certificate": cert, "uses": uses, "form": form}
    return render(request, "certadmin/certificate_delete.html", ctx)


@require_http_methods(["GET", "POST"])
@org_member_required
def certificate_upload_signed(request: OrgRequest, certificate: str) -> HttpResponse:
    cert = get_for_member(request, Certificate.objects.all(), PERM, uuid=certificate)
    if cert.kind != Certificate.Kind.CA_SIGNED:
        messages.error(request, "Only CA-signed certificates take a signed certificate upload.")
        return redirect(cert)
    form = SignedCertificateUploadForm(request.POST or None, request.FILES or None)
    if form.is_valid():
        try:
            result = services.upload_signed_certificate(
                certificate=cert, data=form.cleaned_data["certificate"], acting_user=request.user
            )
        except ValidationError as exc:
            form.add_error("certificate", exc)
        else:
            messages.success(request, f"Saved the signed certificate of {cert.unique_name}.")
            for note in result.notes:
                messages.info(request, note)
            for warning in result.warnings:
                messages.warning(request, warning)
            return redirect(cert)
    cert.refresh_from_db()  # a refused upload leaves the page showing what is stored
    status = 400 if form.is_bound else 200
    return render(
        request,
        "certadmin/certificate_upload.html",
        {"form": form, "certificate": cert},
        status=status,
    )


@require_GET
@org_member_required
def certificate_download(request: OrgRequest, certificate: str) -> HttpResponse:
    cert = get_for_member(request, Certificate.objects.all(), PERM, uuid=certificate)
    if not cert.chain_pem:
        messages.error(
            request, "This certificate is awaiting its signed certificate: nothing to download yet."
        )
        return redirect(cert)
    return _attachment(cert.chain_pem, cert.download_name, "application/x-pem-file")


@require_GET
@org_member_required
def certificate_csr_download(request: OrgRequest, certificate: str) -> HttpResponse:
    cert = get_for_member(request, Certificate.objects.all(), PERM, uuid=certificate)
    if not cert.csr_pem:
        messages.error(request, "Self-signed certificates have no certificate signing request.")
        return redirect(cert)
    return _attachment(cert.csr_pem, cert.csr_download_name, "application/pkcs10")


def _attachment(text: str, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(text, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
